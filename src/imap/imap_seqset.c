/*
 * imap_seqset - sequence set parsing, membership and iteration; see
 * imap_seqset.h.
 */
#include "imap/imap_seqset.h"

#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

void imap_seqset_init(struct imap_seqset *s) {
    memset(s, 0, sizeof(*s));
}

void imap_seqset_free(struct imap_seqset *s) {
    free(s->r);
    memset(s, 0, sizeof(*s));
}

void imap_seqset_add(struct imap_seqset *s, uint64_t lo, uint64_t hi) {
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4;
        s->r = xrealloc(s->r, s->cap * sizeof(*s->r));
    }
    s->r[s->n].lo = lo;
    s->r[s->n].hi = hi;
    s->n++;
}

/* seq-number = nz-number / "*" */
static bool parse_num(const char *t, size_t len, size_t *i, uint64_t *out) {
    if (*i < len && t[*i] == '*') {
        (*i)++;
        *out = IMAP_SEQSET_STAR;
        return true;
    }
    uint64_t v = 0;
    size_t d0 = *i;
    while (*i < len && t[*i] >= '0' && t[*i] <= '9') {
        v = v * 10 + (uint64_t)(t[*i] - '0');
        if (v > UINT32_MAX) return false;
        (*i)++;
    }
    if (*i == d0 || v == 0 || t[d0] == '0') return false;
    *out = v;
    return true;
}

bool imap_seqset_parse(const char *text, size_t len, struct imap_seqset *s) {
    imap_seqset_init(s);
    size_t i = 0;
    if (len == 0) return false;
    for (;;) {
        uint64_t lo, hi;
        if (!parse_num(text, len, &i, &lo)) goto bad;
        hi = lo;
        if (i < len && text[i] == ':') {
            i++;
            if (!parse_num(text, len, &i, &hi)) goto bad;
        }
        if (s->n >= IMAP_SEQSET_MAX_RANGES) goto bad;
        imap_seqset_add(s, lo, hi);
        if (i == len) return true;
        if (text[i] != ',') goto bad;
        i++;
    }
bad:
    imap_seqset_free(s);
    return false;
}

static void range_resolve(uint64_t lo, uint64_t hi, uint32_t star, uint64_t *olo, uint64_t *ohi) {
    if (lo == IMAP_SEQSET_STAR) lo = star;
    if (hi == IMAP_SEQSET_STAR) hi = star;
    if (lo > hi) {
        uint64_t t = lo;
        lo = hi;
        hi = t;
    }
    *olo = lo;
    *ohi = hi;
}

bool imap_seqset_contains(const struct imap_seqset *s, uint32_t n, uint32_t star) {
    for (size_t k = 0; k < s->n; k++) {
        uint64_t lo, hi;
        range_resolve(s->r[k].lo, s->r[k].hi, star, &lo, &hi);
        if (lo == 0 && hi == 0) continue; /* "*" of an empty mailbox */
        if (n >= lo && n <= hi) return true;
    }
    return false;
}

static int range_cmp(const void *a, const void *b) {
    const struct imap_seq_range *x = a, *y = b;
    if (x->lo != y->lo) return x->lo < y->lo ? -1 : 1;
    if (x->hi != y->hi) return x->hi < y->hi ? -1 : 1;
    return 0;
}

void imap_seqset_resolve(struct imap_seqset *s, uint32_t star) {
    size_t w = 0;
    for (size_t k = 0; k < s->n; k++) {
        uint64_t lo, hi;
        range_resolve(s->r[k].lo, s->r[k].hi, star, &lo, &hi);
        if (hi == 0) continue;
        if (lo == 0) lo = 1;
        s->r[w].lo = lo;
        s->r[w].hi = hi;
        w++;
    }
    s->n = w;
    if (s->n < 2) return;
    qsort(s->r, s->n, sizeof(*s->r), range_cmp);
    w = 0;
    for (size_t k = 1; k < s->n; k++) {
        if (s->r[k].lo <= s->r[w].hi || s->r[k].lo - 1 == s->r[w].hi) {
            if (s->r[k].hi > s->r[w].hi) s->r[w].hi = s->r[k].hi;
        } else {
            s->r[++w] = s->r[k];
        }
    }
    s->n = w + 1;
}

bool imap_seqset_clip(struct imap_seqset *s, uint32_t max) {
    bool dropped = false;
    size_t w = 0;
    for (size_t k = 0; k < s->n; k++) {
        if (s->r[k].lo > max) {
            dropped = true;
            continue;
        }
        s->r[w] = s->r[k];
        if (s->r[w].hi > max) {
            s->r[w].hi = max;
            dropped = true;
        }
        w++;
    }
    s->n = w;
    return dropped;
}

uint64_t imap_seqset_count(const struct imap_seqset *s) {
    uint64_t c = 0;
    for (size_t k = 0; k < s->n; k++) c += (uint64_t)s->r[k].hi - s->r[k].lo + 1;
    return c;
}

static void fmt_num(buf_t *out, uint64_t v) {
    if (v == IMAP_SEQSET_STAR)
        buf_append_char(out, '*');
    else
        buf_printf(out, "%llu", (unsigned long long)v);
}

void imap_seqset_format(const struct imap_seqset *s, buf_t *out) {
    for (size_t k = 0; k < s->n; k++) {
        if (k) buf_append_char(out, ',');
        fmt_num(out, s->r[k].lo);
        if (s->r[k].hi != s->r[k].lo) {
            buf_append_char(out, ':');
            fmt_num(out, s->r[k].hi);
        }
    }
}

bool imap_seqset_has_star(const struct imap_seqset *s) {
    for (size_t k = 0; k < s->n; k++)
        if (s->r[k].lo == IMAP_SEQSET_STAR || s->r[k].hi == IMAP_SEQSET_STAR) return true;
    return false;
}

void imap_seqset_append_list(buf_t *out, const uint32_t *v, size_t n) {
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && v[j + 1] == v[j] + 1) j++;
        buf_printf(out, "%s%u", i ? "," : "", v[i]);
        if (j > i) buf_printf(out, ":%u", v[j]);
        i = j + 1;
    }
}
