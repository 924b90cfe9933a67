/*
 * fuzz_smtp_cmd - libFuzzer target for the SMTP command parser: frames
 * the input into lines with smtp_line_find, splits each with
 * smtp_cmd_parse and parses its argument as MAIL ("FROM:") and RCPT
 * ("TO:") paths. Checks: framing always progresses and stays in bounds,
 * errors always carry a complete reply, accepted addresses are valid
 * mailboxes (or the null path, or RCPT's <Postmaster>) and parameters
 * are well formed.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "smtp/smtp_parser.h"

/* Command line limit used while fuzzing: small, so TOO_LONG is reached. */
#define FUZZ_MAX_LINE 512

static void check_path(const char *arg, size_t len, const char *prefix) {
    struct smtp_path p;
    const char *reply = NULL;
    if (smtp_path_parse(arg, len, prefix, &p, &reply) != 0) {
        /* "5xx x.y.z text" */
        if (!reply || strlen(reply) < 10 || reply[0] != '5' || reply[3] != ' ') abort();
        if (p.addr || p.nparams) abort();
        return;
    }
    if (!p.addr || strlen(p.addr) > len) abort();
    /* RCPT TO:<Postmaster> (any case) is the one address without a domain */
    bool postmaster = !strcmp(prefix, "TO:") && !strcmp(p.addr, "postmaster");
    if (p.addr[0] && !postmaster && !smtp_addr_valid(p.addr, strlen(p.addr))) abort();
    if (p.nparams > SMTP_MAX_PARAMS) abort();
    for (size_t i = 0; i < p.nparams; i++) {
        const char *k = p.params[i].key;
        if (!k[0]) abort();
        for (const char *c = k; *c; c++)
            if (!(isupper((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '-')) abort();
        if (smtp_path_param(&p, k) == NULL) abort();
        if (p.params[i].value) {
            buf_t x = BUF_INIT;
            smtp_xtext_decode(p.params[i].value, &x);
            if (x.len > strlen(p.params[i].value)) abort();
            buf_free(&x);
        }
    }
    (void)smtp_addr_domain(p.addr);
    smtp_path_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *in = (const char *)data;
    size_t off = 0;
    while (off < size) {
        size_t line_len = 0, used = 0;
        enum smtp_line_result r = smtp_line_find(in + off, size - off, FUZZ_MAX_LINE, &line_len, &used);
        if (r == SMTP_LINE_NEED_MORE) {
            if (size - off >= FUZZ_MAX_LINE || memchr(in + off, '\n', size - off)) abort();
            /* what a session would do at EOF: treat the rest as one line */
            line_len = size - off;
            used = line_len;
        } else if (r == SMTP_LINE_TOO_LONG) {
            if (memchr(in + off, '\n', FUZZ_MAX_LINE)) abort();
            /* skip up to the next line end, as a session does */
            const char *nl = memchr(in + off, '\n', size - off);
            off = nl ? (size_t)(nl - in) + 1 : size;
            continue;
        } else {
            if (used == 0 || used > size - off || used > FUZZ_MAX_LINE || line_len >= used) abort();
            if (in[off + used - 1] != '\n') abort();
            if (memchr(in + off, '\n', line_len)) abort();
        }
        const char *line = in + off;
        struct smtp_cmd cmd;
        smtp_cmd_parse(line, line_len, &cmd);
        if (cmd.arg < line || cmd.arg + cmd.arg_len > line + line_len) abort();
        if (cmd.has_nul != (memchr(line, '\0', line_len) != NULL)) abort();
        if (cmd.arg_len && (cmd.arg[0] == ' ' || cmd.arg[cmd.arg_len - 1] == ' ')) abort();
        (void)smtp_verb_name(cmd.verb);
        check_path(cmd.arg, cmd.arg_len, "FROM:");
        check_path(cmd.arg, cmd.arg_len, "TO:");
        /* the whole line too, for inputs that are just a path */
        check_path(line, line_len, "FROM:");
        off += used;
    }
    return 0;
}
