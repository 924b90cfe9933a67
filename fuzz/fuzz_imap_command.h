/*
 * fuzz_imap_command - what the IMAP argument-parser targets share: frame
 * the input as one command line with imap_parser_parse, literals counted
 * as acknowledged as a session would after "+". true with *cmd (free with
 * imap_command_free), false when the input is not one whole command.
 */
#ifndef DEVMAIL_FUZZ_IMAP_COMMAND_H
#define DEVMAIL_FUZZ_IMAP_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_parser.h"

#define FUZZ_MAX_LINE 4096
#define FUZZ_MAX_LITERAL 1024

static inline bool fuzz_imap_command(const uint8_t *data, size_t size, struct imap_command *cmd) {
    struct imap_parser p;
    imap_parser_init(&p, FUZZ_MAX_LINE, FUZZ_MAX_LITERAL);
    size_t used = 0;
    enum imap_parse_result r;
    for (int acks = 0; (r = imap_parser_parse(&p, (const char *)data, size, cmd, &used)) == IMAP_PARSE_NEED_LITERAL;
         acks++) {
        imap_command_free(cmd);
        if (acks > 16) return false;
        imap_parser_literal_acked(&p);
    }
    if (r != IMAP_PARSE_COMPLETE) {
        imap_command_free(cmd);
        return false;
    }
    return true;
}

#endif
