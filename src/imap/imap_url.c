/*
 * imap_url - IMAP URL parts for CATENATE; see imap_url.h.
 */
#include "imap/imap_url.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/xalloc.h"

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = (char)tolower((unsigned char)c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Percent-decode s[0..n); false on a bad escape or a control byte. */
static bool pct_decode(const char *s, size_t n, char **out) {
    buf_t b = BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n) goto bad;
            int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
            if (h < 0 || l < 0) goto bad;
            c = (char)(h * 16 + l);
            i += 2;
        }
        if ((unsigned char)c < 0x20 || c == 0x7f) goto bad;
        buf_append_char(&b, c);
    }
    *out = buf_steal(&b);
    return true;
bad:
    buf_free(&b);
    return false;
}

static bool parse_num(const char *s, size_t n, uint64_t max, uint64_t *out) {
    if (n == 0 || n > 20) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) return false;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (max - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* Does s[0..n) start with the key (case-insensitive)? */
static bool has_key(const char *s, size_t n, const char *key) {
    size_t k = strlen(key);
    return n >= k && strncasecmp(s, key, k) == 0;
}

/* Find "/;UID=" in s[0..n), case-insensitive; n if none. */
static size_t find_uid(const char *s, size_t n) {
    for (size_t i = 0; i + 6 <= n; i++)
        if (s[i] == '/' && has_key(s + i, n - i, "/;UID=")) return i;
    return n;
}

bool imap_url_parse(const char *s, size_t len, struct imap_url *out) {
    memset(out, 0, sizeof *out);
    if (len == 0 || len > IMAP_URL_MAX) return false;
    size_t i;
    if (s[0] == '/') {
        if (len >= 2 && s[1] == '/') return false; /* "//host": a network path */
        size_t u = find_uid(s, len);
        if (u == len) return false;
        /* the mailbox, with ;UIDVALIDITY= */
        const char *mb = s + 1;
        size_t mbl = u - 1;
        for (size_t k = 0; k < mbl; k++) {
            if (mb[k] != ';') continue;
            if (!has_key(mb + k, mbl - k, ";UIDVALIDITY=")) goto bad;
            uint64_t v;
            if (!parse_num(mb + k + 13, mbl - k - 13, UINT32_MAX, &v) || v == 0) goto bad;
            out->has_uidvalidity = true;
            out->uidvalidity = (uint32_t)v;
            mbl = k;
            break;
        }
        if (mbl == 0 || !pct_decode(mb, mbl, &out->mailbox)) goto bad;
        i = u + 1; /* at ";UID=" */
    } else {
        i = 0;
    }
    if (!has_key(s + i, len - i, ";UID=")) goto bad;
    i += 5;
    size_t e = i;
    while (e < len && s[e] != '/') e++;
    uint64_t v;
    if (!parse_num(s + i, e - i, UINT32_MAX, &v) || v == 0) goto bad;
    out->uid = (uint32_t)v;
    i = e;
    if (i < len && has_key(s + i, len - i, "/;SECTION=")) {
        i += 10;
        e = i;
        while (e < len && s[e] != '/') e++;
        if (e == i || !pct_decode(s + i, e - i, &out->section)) goto bad;
        i = e;
    }
    if (i < len && has_key(s + i, len - i, "/;PARTIAL=")) {
        i += 10;
        e = i;
        while (e < len && s[e] != '/' && s[e] != '.') e++;
        if (!parse_num(s + i, e - i, UINT64_MAX, &out->partial_offset)) goto bad;
        if (e < len && s[e] == '.') {
            size_t l0 = e + 1;
            e = l0;
            while (e < len && s[e] != '/') e++;
            if (!parse_num(s + l0, e - l0, UINT64_MAX, &out->partial_len) || out->partial_len == 0) goto bad;
        }
        out->has_partial = true;
        i = e;
    }
    if (i != len) goto bad; /* ;URLAUTH= and anything else */
    return true;
bad:
    imap_url_free(out);
    return false;
}

void imap_url_free(struct imap_url *u) {
    free(u->mailbox);
    free(u->section);
    memset(u, 0, sizeof *u);
}
