/*
 * fuzz_smtp_data - differential libFuzzer target for the DATA state
 * machine and the BDAT CRLF converter. The first input byte seeds the
 * chunk sizes; the rest is fed once in one piece and once in chunks.
 * Any difference in output, completion, bytes consumed or sizes is a
 * bug (abort). Also checks the size counters against the output, and
 * DATA against a line-based reference model of RFC 5321 4.5.2: split
 * at LF, drop one CR before it; a line starts a line for the dot rules
 * only after the session's own kind of line end (the second input byte
 * picks CRLF or bare LF); there "." alone with that line end ends, "."
 * with the other is kept, and a leading dot goes.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "smtp/smtp_data.h"

struct data_run {
    buf_t out;
    bool done;
    size_t consumed;
    uint64_t crlf_size, lines;
};

static size_t next_chunk(uint32_t *seed, uint8_t mode) {
    *seed = *seed * 1103515245u + 12345u;
    switch (mode & 3) {
    case 0: return 1;
    case 1: return 2;
    case 2: return 1 + (*seed >> 16) % 7;
    default: return 1 + (*seed >> 16) % 300;
    }
}

static void run_data(const char *in, size_t len, uint8_t mode, bool crlf, struct data_run *r) {
    struct smtp_data d;
    smtp_data_init(&d, crlf);
    buf_init(&r->out);
    r->done = false;
    r->consumed = len;
    uint32_t seed = mode;
    size_t off = 0;
    while (off < len) {
        size_t n = mode == 0xff ? len : next_chunk(&seed, mode);
        if (n > len - off) n = len - off;
        size_t used = (size_t)-1;
        if (smtp_data_feed(&d, in + off, n, &r->out, &used)) {
            if (used == 0 || used > n) abort();
            r->done = true;
            r->consumed = off + used;
            break;
        }
        if (used != n) abort();
        off += n;
    }
    if (d.bytes != r->out.len) abort();
    uint64_t lf = 0;
    for (size_t i = 0; i < r->out.len; i++) lf += r->out.data[i] == '\n';
    if (lf != d.lines) abort();
    r->crlf_size = smtp_data_crlf_size(&d);
    r->lines = d.lines;
}

static void run_crlf(const char *in, size_t len, uint8_t mode, buf_t *out, struct smtp_crlf *c) {
    smtp_crlf_init(c);
    buf_init(out);
    uint32_t seed = mode;
    size_t off = 0;
    while (off < len) {
        size_t n = mode == 0xff ? len : next_chunk(&seed, mode);
        if (n > len - off) n = len - off;
        smtp_crlf_feed(c, in + off, n, out);
        off += n;
    }
    smtp_crlf_finish(c, out);
    if (c->pending_cr || c->bytes != out->len) abort();
}

/* The reference: whole lines only. Returns true and the bytes consumed
 * when the end line is found; out gets every complete line before it. */
static bool reference_data(const char *in, size_t len, bool crlf, buf_t *out, size_t *consumed) {
    size_t pos = 0;
    bool start = true; /* after the session's own kind of line end */
    while (pos < len) {
        const char *nl = memchr(in + pos, '\n', len - pos);
        if (!nl) break;
        size_t ll = (size_t)(nl - (in + pos));
        const char *line = in + pos;
        pos += ll + 1;
        bool line_crlf = ll > 0 && line[ll - 1] == '\r';
        if (line_crlf) ll--;
        bool own = line_crlf == crlf;
        bool was_start = start;
        start = own;
        if (!was_start) {
            buf_append(out, line, ll);
            buf_append_char(out, '\n');
            continue;
        }
        if (ll == 1 && line[0] == '.' && own) {
            *consumed = pos;
            return true;
        }
        if (ll > 1 && line[0] == '.') {
            line++;
            ll--;
        }
        buf_append(out, line, ll);
        buf_append_char(out, '\n');
    }
    *consumed = len;
    return false;
}

static bool same(const buf_t *a, const buf_t *b) {
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t mode = data[0] == 0xff ? 0xfe : data[0];
    bool crlf = (data[0] & 0x80) == 0;
    const char *in = (const char *)data + 1;
    size_t len = size - 1;

    struct data_run whole, parts;
    run_data(in, len, 0xff, crlf, &whole);
    run_data(in, len, mode, crlf, &parts);
    if (!same(&whole.out, &parts.out) || whole.done != parts.done || whole.consumed != parts.consumed ||
        whole.crlf_size != parts.crlf_size || whole.lines != parts.lines)
        abort();
    /* the output never holds more than the input, and a finished
     * message consumed its terminator ("." + LF at least) */
    if (whole.out.len > whole.consumed) abort();
    if (whole.done && (whole.consumed < 2 || in[whole.consumed - 1] != '\n')) abort();
    buf_t ref = BUF_INIT;
    size_t ref_consumed;
    bool ref_done = reference_data(in, len, crlf, &ref, &ref_consumed);
    if (ref_done != whole.done || ref_consumed != whole.consumed) abort();
    if (ref_done && !same(&ref, &whole.out)) abort();
    /* unfinished: the complete lines are a prefix of what was emitted */
    if (!ref_done && (ref.len > whole.out.len || (ref.len && memcmp(ref.data, whole.out.data, ref.len) != 0)))
        abort();
    buf_free(&ref);
    buf_free(&whole.out);
    buf_free(&parts.out);

    buf_t o1, o2;
    struct smtp_crlf c1, c2;
    run_crlf(in, len, 0xff, &o1, &c1);
    run_crlf(in, len, mode, &o2, &c2);
    if (!same(&o1, &o2) || c1.bytes != c2.bytes || c1.lines != c2.lines) abort();
    /* CRLF -> LF only shortens, by exactly the CRs removed */
    if (o1.len > len) abort();
    size_t npairs = 0;
    for (size_t i = 0; i + 1 < len; i++) npairs += in[i] == '\r' && in[i + 1] == '\n';
    if (o1.len + npairs != len) abort();
    buf_free(&o1);
    buf_free(&o2);
    return 0;
}
