/*
 * fuzz_imap_notify - libFuzzer target for NOTIFY's argument parser
 * (imap/imap_notify.h): the input is framed as one IMAP command line by
 * imap_parser_parse, then its arguments go to imap_notify_parse as the
 * session does. Checks: an error carries a reason and keeps nothing; a
 * success has groups that ask for something, mailbox names where the
 * filter takes them, only message events for the selected mailbox (with
 * fetch attributes only there), and "unsupported" only for events devmail
 * does not offer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "imap/imap_notify.h"
#include "fuzz_imap_command.h"
#include "imap/imap_parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct imap_command cmd;
    if (!fuzz_imap_command(data, size, &cmd)) return 0;
    struct imap_notify_request req;
    const char *why = NULL;
    if (imap_notify_parse(cmd.args, cmd.nargs, &req, &why)) {
        if (req.none && (req.ngroups || req.selected)) abort();
        if (req.selected_events & ~(unsigned)IMAP_NOTIFY_MESSAGE_EVENTS) abort();
        if (req.fetch && (!req.selected || req.fetch->type != IMAP_ARG_LIST || req.fetch->nlist == 0)) abort();
        if (req.unsupported & IMAP_NOTIFY_SUPPORTED) abort();
        for (size_t i = 0; i < req.ngroups; i++) {
            const struct imap_notify_group *g = &req.groups[i];
            if (!g->events) abort();
            bool named = g->filter == IMAP_NOTIFY_SUBTREE || g->filter == IMAP_NOTIFY_MAILBOXES;
            if (named != (g->nnames > 0)) abort();
            for (size_t k = 0; k < g->nnames; k++)
                if (!imap_arg_is_astring(&g->names[k])) abort();
        }
        imap_notify_request_free(&req);
    } else if (!why || req.groups) {
        abort();
    }
    imap_command_free(&cmd);
    return 0;
}
