/*
 * fuzz_http_query - differential libFuzzer target for the HTTP query and
 * percent decoding the API routes use (http_percent_decode,
 * http_query_get). The input is a raw query string; each is checked
 * against a small reference: "%" + two hex digits is one byte, "+" a space
 * (in queries), anything else itself; a parameter is the first "&"-part
 * whose decoded name matches, its value the text after the first "=".
 * Names looked up: the API's own and the first name in the input.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "http/http_parser.h"

static int hex(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* reference decoder: -1 on a bad escape */
static int ref_decode(const char *s, size_t n, bool plus, buf_t *out) {
    size_t i = 0;
    while (i < n) {
        if (s[i] == '%') {
            if (n - i < 3 || hex((unsigned char)s[i + 1]) < 0 || hex((unsigned char)s[i + 2]) < 0) return -1;
            buf_append_char(out, (char)(hex((unsigned char)s[i + 1]) * 16 + hex((unsigned char)s[i + 2])));
            i += 3;
        } else {
            buf_append_char(out, plus && s[i] == '+' ? ' ' : s[i]);
            i++;
        }
    }
    return 0;
}

static bool same(const buf_t *a, const buf_t *b) {
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static bool ref_get(const char *q, const char *name, size_t nl, buf_t *out) {
    const char *p = q;
    for (;;) {
        const char *amp = strchr(p, '&');
        size_t n = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        size_t kl = eq ? (size_t)(eq - p) : n;
        buf_t key = BUF_INIT;
        bool match = ref_decode(p, kl, true, &key) == 0 && key.len == nl && (nl == 0 || !memcmp(key.data, name, nl));
        buf_free(&key);
        if (match && n > 0) {
            buf_reset(out);
            return !eq || ref_decode(eq + 1, n - kl - 1, true, out) == 0;
        }
        if (!amp) return false;
        p = amp + 1;
    }
}

static void check_name(const char *q, const char *name) {
    buf_t a = BUF_INIT, b = BUF_INIT;
    bool got = http_query_get(q, name, &a);
    bool want = ref_get(q, name, strlen(name), &b);
    if (got != want || (got && !same(&a, &b))) abort();
    buf_free(&a);
    buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 4096) return 0;
    char *q = malloc(size + 1);
    memcpy(q, data, size);
    q[size] = '\0';
    size_t len = strlen(q); /* a query string never holds NUL */
    for (int plus = 0; plus < 2; plus++) {
        buf_t a = BUF_INIT, b = BUF_INIT;
        int ra = http_percent_decode(q, len, plus, &a);
        int rb = ref_decode(q, len, plus, &b);
        if (ra != rb || (ra == 0 && !same(&a, &b))) abort();
        if (ra == 0 && a.len > len) abort();
        buf_free(&a);
        buf_free(&b);
    }
    static const char *const names[] = {"query", "wait", "limit", "start", "tz", "kind", "id", "search"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) check_name(q, names[i]);
    /* the first name in the input, raw (it may contain escapes) */
    size_t kl = strcspn(q, "=&");
    buf_t first = BUF_INIT;
    if (kl > 0 && ref_decode(q, kl, true, &first) == 0 && !memchr(first.data, '\0', first.len)) {
        check_name(q, buf_cstr(&first));
    }
    buf_free(&first);
    free(q);
    return 0;
}
