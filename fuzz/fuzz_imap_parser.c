/*
 * fuzz_imap_parser - libFuzzer target for the IMAP protocol layer: frames
 * the input into commands with imap_parser_parse (acknowledging literals
 * as a session would), then feeds every command's arguments to the SEARCH
 * parser and evaluator, the FETCH item splitter, the sequence-set parser
 * and the modified UTF-7 codec / mailbox-name validator.
 * Checks: parsing always progresses and stays in bounds, errors carry a
 * reason, a command parsed from a prefix is the same when more bytes
 * follow, and UTF-8 -> modified UTF-7 -> UTF-8 round-trips.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "imap/imap_mutf7.h"
#include "imap/imap_parser.h"
#include "imap/imap_search.h"
#include "imap/imap_seqset.h"

/* Small limits so TOOBIG paths are reached. */
#define FUZZ_MAX_LINE 1024
#define FUZZ_MAX_LITERAL 512
/* Literal acknowledgements per command (a session sends one "+" each). */
#define FUZZ_MAX_ACKS 64

static const char *hdr_cb(void *ctx, const char *name, size_t *len) {
    (void)name;
    *len = strlen((const char *)ctx);
    return ctx;
}

static const char *text_cb(void *ctx, size_t *len) {
    *len = strlen((const char *)ctx);
    return ctx;
}

static void check_mutf7(const char *s, size_t len) {
    buf_t dec = BUF_INIT, enc = BUF_INIT, back = BUF_INIT;
    if (imap_mutf7_decode(s, len, &dec)) {
        const char *why;
        buf_t name = BUF_INIT;
        bool ok = imap_mailbox_name_from_client(s, len, &name, &why);
        if (!ok && !why) abort();
        if (ok && (name.len == 0 || memchr(name.data, '/', name.len))) abort();
        buf_free(&name);
        if (!imap_mutf7_encode(dec.data ? dec.data : "", dec.len, &enc)) abort();
        if (!imap_mutf7_decode(enc.data ? enc.data : "", enc.len, &back)) abort();
        if (back.len != dec.len || (dec.len && memcmp(back.data, dec.data, dec.len) != 0)) abort();
    }
    buf_reset(&enc);
    buf_reset(&back);
    /* arbitrary bytes as UTF-8 */
    if (imap_mutf7_encode(s, len, &enc)) {
        if (!imap_mutf7_decode(enc.data ? enc.data : "", enc.len, &back)) abort();
        if (back.len != len || (len && memcmp(back.data, s, len) != 0)) abort();
    }
    buf_free(&dec);
    buf_free(&enc);
    buf_free(&back);
}

static void check_args(const struct imap_arg *args, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const struct imap_arg *a = &args[i];
        if (a->type == IMAP_ARG_LIST) {
            check_args(a->list, a->nlist); /* bounded by IMAP_PARSER_MAX_DEPTH */
            continue;
        }
        if (!a->str || a->str[a->len] != '\0') abort();
        if (a->type == IMAP_ARG_NIL && (a->len != 3 || strncasecmp(a->str, "NIL", 3) != 0)) abort();
        if (a->type == IMAP_ARG_ATOM) {
            struct imap_fetch_att fa;
            if (imap_parser_fetch_att(a->str, a->len, &fa)) {
                if (!fa.name || (fa.has_partial && fa.partial_count == 0)) abort();
                imap_fetch_att_free(&fa);
            }
            struct imap_seqset s;
            if (imap_seqset_parse(a->str, a->len, &s)) {
                if (s.n == 0) abort();
                imap_seqset_resolve(&s, 7);
                for (size_t k = 0; k < s.n; k++)
                    if (s.r[k].lo == 0 || s.r[k].lo > s.r[k].hi || (k && s.r[k].lo <= s.r[k - 1].hi)) abort();
                imap_seqset_free(&s);
            }
        }
        check_mutf7(a->str, a->len);
    }
}

static void check_search(const struct imap_command *cmd) {
    struct imap_search_program prog;
    const char *why;
    if (imap_search_parse(cmd->args, cmd->nargs, &prog, &why) != IMAP_SEARCH_OK) {
        if (!why) abort();
        return;
    }
    struct imap_search_msg m;
    memset(&m, 0, sizeof(m));
    m.seq = 2;
    m.uid = 5;
    m.seq_star = 3;
    m.uid_star = 9;
    m.flags = IMAP_SEARCH_F_SEEN;
    m.has_sent_date = true;
    m.sent_date = 1700000000;
    m.internal_date = 1700000000;
    m.size = 100;
    m.ctx = (void *)"Subject: hello World";
    m.get_header = hdr_cb;
    m.get_headers = text_cb;
    m.get_body = text_cb;
    (void)imap_search_match(&prog, &m);
    imap_search_program_free(&prog);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *buf = (const char *)data;
    size_t pos = 0;
    struct imap_parser p;
    imap_parser_init(&p, FUZZ_MAX_LINE, FUZZ_MAX_LITERAL);
    while (pos < size) {
        struct imap_command cmd;
        size_t used = 0;
        enum imap_parse_result r;
        int acks = 0;
        for (;;) {
            r = imap_parser_parse(&p, buf + pos, size - pos, &cmd, &used);
            if (r != IMAP_PARSE_NEED_LITERAL) break;
            if (cmd.literal_size > FUZZ_MAX_LITERAL || ++acks > FUZZ_MAX_ACKS) abort();
            imap_command_free(&cmd);
            imap_parser_literal_acked(&p);
        }
        if (used > size - pos) abort();
        if (r == IMAP_PARSE_NEED_MORE) {
            imap_command_free(&cmd);
            break;
        }
        if (r == IMAP_PARSE_COMPLETE) {
            if (used == 0 || !cmd.tag || !cmd.name) abort();
            if (buf[pos + used - 1] != '\n') abort();
            /* the same command with the rest cut off parses identically */
            struct imap_parser p2;
            imap_parser_init(&p2, FUZZ_MAX_LINE, FUZZ_MAX_LITERAL);
            p2.literals_acked = FUZZ_MAX_ACKS;
            struct imap_command c2;
            size_t used2;
            if (imap_parser_parse(&p2, buf + pos, used, &c2, &used2) != IMAP_PARSE_COMPLETE || used2 != used ||
                c2.nargs != cmd.nargs || strcmp(c2.tag, cmd.tag) != 0)
                abort();
            imap_command_free(&c2);
            check_args(cmd.args, cmd.nargs);
            check_search(&cmd);
        } else {
            if (!cmd.error) abort();
            if (used == 0) {
                imap_command_free(&cmd);
                break; /* TOOBIG_LINE without a line end: session disconnects */
            }
        }
        imap_command_free(&cmd);
        pos += used;
    }
    /* plain-line framing (IDLE DONE / AUTHENTICATE) */
    size_t ll, used;
    if (imap_parser_line(buf, size, FUZZ_MAX_LINE, &ll, &used) == IMAP_PARSE_COMPLETE) {
        if (ll > used || used > size) abort();
        (void)imap_parser_is_done(buf, ll);
    }
    return 0;
}
