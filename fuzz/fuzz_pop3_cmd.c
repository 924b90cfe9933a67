/*
 * fuzz_pop3_cmd - libFuzzer target for the POP3 command-line parser and
 * the RETR/TOP encoder. The first byte picks a TOP line count; the rest
 * is split into lines as the session does, each line parsed, and the
 * whole input also encoded as a message. Checks: every error has a
 * reason, arguments lie inside the line, the encoder's output has no bare
 * LF and no unstuffed line ".", and ends with ".\r\n".
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "pop3/pop3_parser.h"

static void check_line(const char *line, size_t len) {
    struct pop3_cmd c;
    const char *err = NULL;
    if (pop3_cmd_parse(line, len, &c, &err) != 0) {
        if (!err) abort();
        return;
    }
    if (c.nargs > POP3_MAX_ARGS || strlen(c.keyword) < 3 || strlen(c.keyword) > POP3_MAX_KEYWORD) abort();
    for (size_t i = 0; i < c.nargs; i++)
        if (c.args[i] < line || c.args[i] + c.arg_lens[i] > line + len || c.arg_lens[i] == 0) abort();
    if (c.rest < line || c.rest + c.rest_len > line + len) abort();
    uint32_t n;
    if (c.nargs && pop3_parse_number(c.args[0], c.arg_lens[0], &n) == 0 && n > POP3_MAX_NUMBER) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    int64_t top = data[0] == 0xff ? -1 : data[0] % 8;
    const char *p = (const char *)data + 1;
    size_t len = size - 1;
    size_t off = 0;
    while (off < len) {
        size_t ll, used;
        enum pop3_line_result r = pop3_line_find(p + off, len - off, POP3_MAX_LINE, &ll, &used);
        if (r == POP3_LINE_NEED_MORE) break;
        if (r == POP3_LINE_TOO_LONG) {
            const char *nl = memchr(p + off, '\n', len - off);
            if (!nl) break;
            off = (size_t)(nl - p) + 1;
            continue;
        }
        if (used == 0 || ll >= used) abort();
        check_line(p + off, ll);
        off += used;
    }
    struct pop3_encoder e;
    buf_t out = BUF_INIT;
    pop3_encoder_init(&e, top);
    size_t half = len / 2;
    if (!pop3_encoder_feed(&e, p, half, &out)) pop3_encoder_feed(&e, p + half, len - half, &out);
    pop3_encoder_finish(&e, &out);
    if (out.len < 3 || memcmp(out.data + out.len - 3, ".\r\n", 3) != 0) abort();
    for (size_t i = 0; i < out.len; i++) {
        if (out.data[i] == '\n' && (i == 0 || out.data[i - 1] != '\r')) abort();
        /* a line "." may only be the terminator */
        if (i + 3 < out.len && out.data[i] == '\n' && out.data[i + 1] == '.' && out.data[i + 2] == '\r' &&
            out.data[i + 3] == '\n' && i + 4 != out.len)
            abort();
    }
    buf_free(&out);
    return 0;
}
