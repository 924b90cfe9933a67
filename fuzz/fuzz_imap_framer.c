/*
 * fuzz_imap_framer - differential libFuzzer target for the IMAP command
 * framer (imap_framer_feed). The first input byte seeds the piece sizes;
 * the rest is framed once whole and once in pieces, accepting every
 * literal, and both event sequences must equal a whole-buffer reference:
 * split at LF; a line (CR before LF removed) ending in "{digits}" or
 * "{digits+}" is followed by that many literal bytes, any other line ends
 * the command; a line longer than the limit is TOOBIG. Also checks that
 * positions only grow and stay in bounds, and that literal_total sums
 * the accepted literals.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "imap/imap_parser.h"

#define FUZZ_MAX_LINE 64
#define MAX_EVENTS 256

struct event {
    enum imap_frame_result r;
    uint64_t pos, size;
    bool sync;
};

struct run {
    struct event ev[MAX_EVENTS];
    size_t n;
};

static void record(struct run *out, enum imap_frame_result r, uint64_t pos, uint64_t size, bool sync) {
    if (out->n < MAX_EVENTS) out->ev[out->n++] = (struct event){r, pos, size, sync};
}

/* Frame in[0..len) in pieces; every COMPLETE starts a new command. */
static void run_framer(const char *in, size_t len, uint8_t mode, struct run *out) {
    struct imap_framer f;
    imap_framer_init(&f);
    uint64_t base = 0, total = 0;
    uint32_t seed = mode;
    size_t off = 0;
    out->n = 0;
    while (off < len && out->n < MAX_EVENTS) {
        size_t n = len - off;
        if (mode != 0xff) {
            seed = seed * 1103515245u + 12345u;
            n = 1 + (seed >> 16) % ((mode & 7) * 9 + 1);
            if (n > len - off) n = len - off;
        }
        size_t used = (size_t)-1;
        enum imap_frame_result r = imap_framer_feed(&f, in + off, n, FUZZ_MAX_LINE, &used);
        if (used > n) abort();
        if (base + f.pos != off + used) abort();
        off += used;
        if (r == IMAP_FRAME_NEED_MORE) {
            if (used != n) abort();
            continue;
        }
        if (r == IMAP_FRAME_TOOBIG_LINE) {
            record(out, r, off, 0, false);
            return; /* a session disconnects */
        }
        if (in[off - 1] != '\n') abort();
        if (r == IMAP_FRAME_LITERAL) {
            record(out, r, off, f.literal_size, f.literal_sync);
            if (f.literal_total != total) abort();
            total += f.literal_size;
            imap_framer_accept_literal(&f);
            if (f.literal_total != total) abort();
            continue;
        }
        record(out, r, off, 0, false);
        base = off;
        total = 0;
        imap_framer_init(&f);
    }
}

static bool line_literal(const char *p, size_t n, uint64_t *size, bool *sync) {
    if (n < 3 || p[n - 1] != '}') return false;
    size_t i = n - 1;
    *sync = true;
    if (p[i - 1] == '+') {
        *sync = false;
        i--;
    }
    size_t end = i;
    while (i > 0 && p[i - 1] >= '0' && p[i - 1] <= '9') i--;
    if (i == end || i == 0 || p[i - 1] != '{' || end - i > IMAP_PARSER_MAX_LITERAL_DIGITS) return false;
    uint64_t v = 0;
    for (size_t k = i; k < end; k++) v = v * 10 + (uint64_t)(p[k] - '0');
    *size = v;
    return true;
}

static void reference(const char *in, size_t len, struct run *out) {
    out->n = 0;
    size_t pos = 0;
    while (pos < len && out->n < MAX_EVENTS) {
        const char *nl = memchr(in + pos, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - (in + pos)) : len - pos;
        if (ll > FUZZ_MAX_LINE + 2) {
            /* the framer stops where the line passed the limit */
            record(out, IMAP_FRAME_TOOBIG_LINE, 0, 0, false);
            return;
        }
        if (!nl) return;
        size_t n = ll;
        if (n > 0 && in[pos + n - 1] == '\r') n--;
        uint64_t size;
        bool sync;
        bool lit = line_literal(in + pos, n, &size, &sync);
        pos += ll + 1;
        if (!lit) {
            record(out, IMAP_FRAME_COMPLETE, pos, 0, false);
            continue;
        }
        record(out, IMAP_FRAME_LITERAL, pos, size, sync);
        if (size > len - pos) return;
        pos += (size_t)size;
    }
}

static bool same(const struct run *a, const struct run *b, bool ignore_toobig_pos) {
    if (a->n != b->n) return false;
    for (size_t i = 0; i < a->n; i++) {
        if (a->ev[i].r != b->ev[i].r || a->ev[i].size != b->ev[i].size || a->ev[i].sync != b->ev[i].sync)
            return false;
        if (a->ev[i].pos != b->ev[i].pos && !(ignore_toobig_pos && a->ev[i].r == IMAP_FRAME_TOOBIG_LINE))
            return false;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t mode = data[0] == 0xff ? 0xfe : data[0];
    const char *in = (const char *)data + 1;
    size_t len = size - 1;
    static struct run whole, parts, ref;
    run_framer(in, len, 0xff, &whole);
    run_framer(in, len, mode, &parts);
    reference(in, len, &ref);
    if (!same(&whole, &parts, true)) abort();
    if (!same(&whole, &ref, true)) abort();
    /* the -v trace of the same bytes: bounded, and never the literals */
    buf_t t = BUF_INIT;
    imap_trace_command(in, len, 200, &t);
    if (t.len > 200 + 3 + 30 * (len / 4 + 1)) abort(); /* at most one "<n bytes>" per 4 input bytes */
    buf_free(&t);
    return 0;
}
