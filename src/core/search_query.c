/*
 * search_query - Mailpit's search language: tokenizer and term
 * classifier. See search_query.h for the language and the contract.
 *
 * Parsing is one left-to-right pass over the bytes, no recursion: split
 * on unquoted whitespace, drop the quotes, then classify each token by
 * its (case-insensitive) prefix. Pure: no database, no I/O; the store
 * turns the terms into SQL (store/search_compile.c).
 */
#include "core/search_query.h"

#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

/* Prefixes whose value is matched as text. */
static const struct {
    const char *prefix;
    enum search_query_kind kind;
} text_prefixes[] = {
    {"from:", SEARCH_QUERY_FROM},       {"to:", SEARCH_QUERY_TO},
    {"cc:", SEARCH_QUERY_CC},           {"bcc:", SEARCH_QUERY_BCC},
    {"reply-to:", SEARCH_QUERY_REPLY_TO}, {"addressed:", SEARCH_QUERY_ADDRESSED},
    {"subject:", SEARCH_QUERY_SUBJECT}, {"message-id:", SEARCH_QUERY_MESSAGE_ID},
    {"tag:", SEARCH_QUERY_TAG},
};

/* Whole-token keywords. */
static const struct {
    const char *word;
    enum search_query_kind kind;
} flag_words[] = {
    {"is:read", SEARCH_QUERY_IS_READ},
    {"is:unread", SEARCH_QUERY_IS_UNREAD},
    {"is:tagged", SEARCH_QUERY_IS_TAGGED},
    {"has:attachment", SEARCH_QUERY_HAS_ATTACHMENT},
    {"has:attachments", SEARCH_QUERY_HAS_ATTACHMENT},
    {"has:inline", SEARCH_QUERY_HAS_INLINE},
    {"has:inlines", SEARCH_QUERY_HAS_INLINE},
};

static const char *const kind_names[] = {
    [SEARCH_QUERY_TEXT] = "text",
    [SEARCH_QUERY_FROM] = "from",
    [SEARCH_QUERY_TO] = "to",
    [SEARCH_QUERY_CC] = "cc",
    [SEARCH_QUERY_BCC] = "bcc",
    [SEARCH_QUERY_REPLY_TO] = "reply-to",
    [SEARCH_QUERY_ADDRESSED] = "addressed",
    [SEARCH_QUERY_SUBJECT] = "subject",
    [SEARCH_QUERY_MESSAGE_ID] = "message-id",
    [SEARCH_QUERY_TAG] = "tag",
    [SEARCH_QUERY_IS_READ] = "is:read",
    [SEARCH_QUERY_IS_UNREAD] = "is:unread",
    [SEARCH_QUERY_IS_TAGGED] = "is:tagged",
    [SEARCH_QUERY_HAS_ATTACHMENT] = "has:attachment",
    [SEARCH_QUERY_HAS_INLINE] = "has:inline",
    [SEARCH_QUERY_LARGER] = "larger",
    [SEARCH_QUERY_SMALLER] = "smaller",
    [SEARCH_QUERY_BEFORE] = "before",
    [SEARCH_QUERY_AFTER] = "after",
};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

const char *search_query_kind_name(enum search_query_kind kind) {
    if ((size_t)kind >= COUNT_OF(kind_names) || !kind_names[kind]) return "?";
    return kind_names[kind];
}

static bool is_space(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static bool is_digit(unsigned char c) {
    return c >= '0' && c <= '9';
}

static void trim(const char **p, size_t *n) {
    while (*n > 0 && is_space((unsigned char)(*p)[0])) {
        (*p)++;
        (*n)--;
    }
    while (*n > 0 && is_space((unsigned char)(*p)[*n - 1])) (*n)--;
}

/* ---- sizes: "10", "10K", "1.5 mb" ---------------------------------------- */

static bool parse_size(const char *s, size_t n, int64_t *out) {
    size_t i = 0;
    int64_t ip = 0;
    size_t digits = 0;
    while (i < n && is_digit((unsigned char)s[i])) {
        if (++digits > SEARCH_QUERY_MAX_SIZE_DIGITS) return false;
        ip = ip * 10 + (s[i] - '0');
        i++;
    }
    if (digits == 0) return false;
    int64_t frac = 0, frac_scale = 1;
    if (i < n && s[i] == '.') {
        i++;
        size_t fd = 0;
        while (i < n && is_digit((unsigned char)s[i])) {
            /* Nine digits are plenty; later ones only have to be digits. */
            if (fd < 9) {
                frac = frac * 10 + (s[i] - '0');
                frac_scale *= 10;
            }
            fd++;
            i++;
        }
        if (fd == 0) return false;
    }
    if (i < n && s[i] == ' ') i++;
    int64_t mult;
    size_t ulen = n - i;
    const char *u = s + i;
    if (ulen == 0) mult = 1;
    else if (mem_ieq(u, ulen, "b")) mult = 1;
    else if (mem_ieq(u, ulen, "k") || mem_ieq(u, ulen, "kb")) mult = 1024;
    else if (mem_ieq(u, ulen, "m") || mem_ieq(u, ulen, "mb")) mult = 1024 * 1024;
    else if (mem_ieq(u, ulen, "g") || mem_ieq(u, ulen, "gb")) mult = 1024 * 1024 * 1024;
    else return false;
    int64_t bytes;
    if (__builtin_mul_overflow(ip, mult, &bytes)) return false;
    /* frac < 10^9 and mult <= 2^30: the product fits easily. */
    if (__builtin_add_overflow(bytes, frac * mult / frac_scale, &bytes)) return false;
    *out = bytes;
    return true;
}

/* ---- dates: YYYY-MM-DD[(T| )HH:MM[:SS[.frac]][Z|+HH:MM|+HHMM|+HH]] ------- */

static bool take_digits(const char *s, size_t n, size_t *i, int count, int *out) {
    int v = 0;
    for (int k = 0; k < count; k++) {
        if (*i >= n || !is_digit((unsigned char)s[*i])) return false;
        v = v * 10 + (s[(*i)++] - '0');
    }
    *out = v;
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m) {
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return dim[m - 1];
}

bool search_query_parse_date(const char *s, size_t n, long tz_offset, int64_t *out, bool *zoneless) {
    size_t i = 0;
    *zoneless = true;
    int y, mo, d, h = 0, mi = 0, sec = 0;
    if (!take_digits(s, n, &i, 4, &y)) return false;
    if (i >= n || (s[i] != '-' && s[i] != '/')) return false;
    char sep = s[i++];
    if (!take_digits(s, n, &i, 2, &mo) || i >= n || s[i++] != sep || !take_digits(s, n, &i, 2, &d)) return false;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo)) return false;
    long offset = tz_offset;
    if (i < n) {
        if (s[i] != 'T' && s[i] != 't' && s[i] != ' ') return false;
        i++;
        if (!take_digits(s, n, &i, 2, &h) || i >= n || s[i++] != ':' || !take_digits(s, n, &i, 2, &mi)) return false;
        if (i < n && s[i] == ':') {
            i++;
            if (!take_digits(s, n, &i, 2, &sec)) return false;
            if (i < n && s[i] == '.') {
                i++;
                if (i >= n || !is_digit((unsigned char)s[i])) return false;
                while (i < n && is_digit((unsigned char)s[i])) i++;
            }
        }
        if (h > 23 || mi > 59 || sec > 60) return false;
        if (i < n) {
            if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == n) {
                offset = 0;
                *zoneless = false;
                i++;
            } else if (s[i] == '+' || s[i] == '-') {
                int sign = s[i++] == '-' ? -1 : 1;
                int oh, om = 0;
                if (!take_digits(s, n, &i, 2, &oh)) return false;
                if (i < n && s[i] == ':') i++;
                if (i < n && !take_digits(s, n, &i, 2, &om)) return false;
                if (oh > 23 || om > 59) return false;
                offset = sign * (oh * 3600L + om * 60L);
                *zoneless = false;
            } else {
                return false;
            }
        }
    }
    if (i != n) return false;
    *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset;
    return true;
}

/* ---- tokens and terms ----------------------------------------------------- */

static int add_term(struct search_query *q, enum search_query_kind kind, bool negated, const char *v, size_t vn,
                    int64_t number, buf_t *err) {
    if (q->count >= SEARCH_QUERY_MAX_TERMS) {
        buf_printf(err, "too many search terms (at most %d)", SEARCH_QUERY_MAX_TERMS);
        return -1;
    }
    /* Allocated once at the limit's size: a query is small and short-lived. */
    if (!q->terms) q->terms = xcalloc(SEARCH_QUERY_MAX_TERMS, sizeof *q->terms);
    struct search_query_term *t = &q->terms[q->count++];
    t->kind = kind;
    t->negated = negated;
    t->value = v ? xstrndup(v, vn) : NULL;
    t->value_len = v ? vn : 0;
    t->number = number;
    return 0;
}

/* Classify one token (quotes already removed). */
static int classify(struct search_query *q, const char *t, size_t n, long tz_offset, buf_t *err) {
    bool negated = false;
    if (n > 0 && (t[0] == '-' || t[0] == '!')) {
        negated = true;
        t++;
        n--;
    }
    trim(&t, &n);
    if (n == 0) return 0; /* a lone "-", or only spaces in quotes */

    for (size_t k = 0; k < COUNT_OF(flag_words); k++)
        if (mem_ieq(t, n, flag_words[k].word)) return add_term(q, flag_words[k].kind, negated, NULL, 0, 0, err);

    for (size_t k = 0; k < COUNT_OF(text_prefixes); k++) {
        size_t pl = strlen(text_prefixes[k].prefix);
        if (!mem_istarts(t, n, text_prefixes[k].prefix)) continue;
        const char *v = t + pl;
        size_t vn = n - pl;
        trim(&v, &vn);
        if (text_prefixes[k].kind == SEARCH_QUERY_MESSAGE_ID) {
            while (vn > 0 && v[0] == '<') {
                v++;
                vn--;
            }
            while (vn > 0 && v[vn - 1] == '>') vn--;
        }
        if (vn == 0) return 0; /* Mailpit ignores an empty value */
        return add_term(q, text_prefixes[k].kind, negated, v, vn, 0, err);
    }

    static const struct {
        const char *prefix;
        enum search_query_kind kind;
    } num_prefixes[] = {
        {"larger:", SEARCH_QUERY_LARGER},
        {"smaller:", SEARCH_QUERY_SMALLER},
        {"before:", SEARCH_QUERY_BEFORE},
        {"after:", SEARCH_QUERY_AFTER},
    };
    for (size_t k = 0; k < COUNT_OF(num_prefixes); k++) {
        size_t pl = strlen(num_prefixes[k].prefix);
        if (!mem_istarts(t, n, num_prefixes[k].prefix)) continue;
        const char *v = t + pl;
        size_t vn = n - pl;
        trim(&v, &vn);
        enum search_query_kind kind = num_prefixes[k].kind;
        int64_t number;
        if (kind == SEARCH_QUERY_LARGER || kind == SEARCH_QUERY_SMALLER) {
            /* Not a size: a plain word, as Mailpit does. */
            if (!parse_size(v, vn, &number)) break;
            return add_term(q, kind, negated, NULL, 0, number, err);
        }
        if (vn == 0) return 0;
        bool zoneless;
        if (!search_query_parse_date(v, vn, tz_offset, &number, &zoneless)) {
            buf_printf(err, "invalid date in %s", num_prefixes[k].prefix);
            buf_append(err, v, vn);
            buf_append_str(err, " (use YYYY-MM-DD or RFC 3339)");
            return -1;
        }
        if (add_term(q, kind, negated, NULL, 0, number, err) < 0) return -1;
        q->terms[q->count - 1].zoneless = zoneless;
        return 0;
    }

    return add_term(q, SEARCH_QUERY_TEXT, negated, t, n, 0, err);
}

int search_query_parse(const char *q, size_t len, long tz_offset, struct search_query *out, buf_t *err) {
    out->terms = NULL;
    out->count = 0;
    if (len > SEARCH_QUERY_MAX_BYTES) {
        buf_printf(err, "search query too long (at most %d bytes)", SEARCH_QUERY_MAX_BYTES);
        return -1;
    }
    if (len > 0 && memchr(q, '\0', len)) {
        buf_append_str(err, "search query contains a NUL byte");
        return -1;
    }
    buf_t tok = BUF_INIT;
    size_t i = 0;
    int rc = 0;
    while (rc == 0) {
        while (i < len && is_space((unsigned char)q[i])) i++;
        if (i >= len) break;
        buf_reset(&tok);
        while (i < len && !is_space((unsigned char)q[i])) {
            if (q[i] == '"') {
                /* A quoted section, spaces included; unterminated: to the end. */
                const char *end = memchr(q + i + 1, '"', len - i - 1);
                size_t stop = end ? (size_t)(end - q) : len;
                buf_append(&tok, q + i + 1, stop - i - 1);
                i = end ? stop + 1 : len;
            } else {
                buf_append_char(&tok, q[i++]);
            }
        }
        rc = classify(out, tok.data ? tok.data : "", tok.len, tz_offset, err);
    }
    buf_free(&tok);
    if (rc != 0) search_query_free(out);
    return rc;
}

void search_query_free(struct search_query *q) {
    for (size_t i = 0; i < q->count; i++) free(q->terms[i].value);
    free(q->terms);
    q->terms = NULL;
    q->count = 0;
}

int search_query_add_date(struct search_query *q, enum search_query_kind kind, int64_t t, bool zoneless, buf_t *err) {
    if (add_term(q, kind, false, NULL, 0, t, err) < 0) return -1;
    q->terms[q->count - 1].zoneless = zoneless;
    return 0;
}
