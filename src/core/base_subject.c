/*
 * base_subject - RFC 5256 2.1 base subject extraction and the RFC 5051
 * i;unicode-casemap key; see base_subject.h. Works on a private copy of
 * the text, moving two indexes inward: nothing is allocated per step.
 */
#include "core/base_subject.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <glib.h>

#include "core/xalloc.h"

/* WSP = SP / HTAB; tabs and line breaks were made spaces in step (1). */
static bool is_wsp(char c) {
    return c == ' ';
}

/* subj-blob = "[" *BLOBCHAR "]" *WSP ; BLOBCHAR: any CHAR except "[" "]".
 * Returns the length matched at s, or 0. */
static size_t match_blob(const char *s, size_t len) {
    if (len == 0 || s[0] != '[') return 0;
    size_t i = 1;
    while (i < len && s[i] != '[' && s[i] != ']') i++;
    if (i >= len || s[i] != ']') return 0;
    i++;
    while (i < len && is_wsp(s[i])) i++;
    return i;
}

/* subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":" */
static size_t match_refwd(const char *s, size_t len) {
    size_t i;
    if (len >= 2 && strncasecmp(s, "re", 2) == 0) i = 2;
    else if (len >= 3 && strncasecmp(s, "fwd", 3) == 0) i = 3;
    else if (len >= 2 && strncasecmp(s, "fw", 2) == 0) i = 2;
    else return 0;
    while (i < len && is_wsp(s[i])) i++;
    i += match_blob(s + i, len - i);
    if (i < len && s[i] == ':') return i + 1;
    return 0;
}

/* The (*subj-blob subj-refwd) form of subj-leader. */
static size_t match_leader(const char *s, size_t len) {
    size_t i = 0, b;
    while ((b = match_blob(s + i, len - i)) > 0) i += b;
    size_t r = match_refwd(s + i, len - i);
    return r ? i + r : 0;
}

/* Step (1): tabs, line breaks and runs of them become one space. */
static char *collapse_space(const char *in, size_t len, size_t *out_len) {
    char *out = xmalloc(len + 1);
    size_t n = 0;
    bool space = false;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            space = true;
            continue;
        }
        if (space) out[n++] = ' ';
        space = false;
        out[n++] = c;
    }
    if (space) out[n++] = ' ';
    out[n] = '\0';
    *out_len = n;
    return out;
}

char *base_subject_extract(const char *subject, size_t len, bool *is_reply_r) {
    bool reply = false;
    if (!subject) len = 0;
    len = len ? strnlen(subject, len) : 0;
    if (len > BASE_SUBJECT_MAX_INPUT) len = BASE_SUBJECT_MAX_INPUT;
    char *valid = g_utf8_make_valid(len ? subject : "", (gssize)len);
    size_t n;
    char *buf = collapse_space(valid, strlen(valid), &n);
    g_free(valid);
    const char *s = buf;
    for (;;) {
        /* (2) trailing subj-trailer = "(fwd)" / WSP, as often as it matches */
        for (;;) {
            if (n && is_wsp(s[n - 1])) n--;
            else if (n >= 5 && strncasecmp(s + n - 5, "(fwd)", 5) == 0) {
                n -= 5;
                reply = true;
            } else break;
        }
        /* (3), (4), repeated as (5) says */
        for (;;) {
            bool changed = false;
            for (;;) {
                /* (3) subj-leader = (*subj-blob subj-refwd) / WSP */
                size_t l;
                if (n && is_wsp(s[0])) l = 1;
                else if ((l = match_leader(s, n)) > 0) reply = true;
                else break;
                s += l;
                n -= l;
                changed = true;
            }
            /* (4) a leading subj-blob goes when text remains after it */
            size_t b = match_blob(s, n);
            if (b > 0 && b < n) {
                s += b;
                n -= b;
                changed = true;
            }
            if (!changed) break;
        }
        /* (6) subj-fwd-hdr "[fwd:" ... subj-fwd-trl "]": unwrap, back to (2) */
        if (n >= 6 && strncasecmp(s, "[fwd:", 5) == 0 && s[n - 1] == ']') {
            s += 5;
            n -= 6;
            reply = true;
            continue;
        }
        break;
    }
    char *out = xstrndup(s, n);
    free(buf);
    if (is_reply_r) *is_reply_r = reply;
    return out;
}

char *base_subject_casemap(const char *s, size_t len) {
    if (!s) len = 0;
    len = len ? strnlen(s, len) : 0;
    char *valid = g_utf8_make_valid(len ? s : "", (gssize)len);
    /* decomposed first too, so that a compatibility character such as the
     * "fi" ligature is titlecased letter by letter, as Dovecot does */
    char *pre = g_utf8_normalize(valid, -1, G_NORMALIZE_NFKD);
    g_free(valid);
    GString *t = g_string_sized_new(pre ? strlen(pre) + 8 : 8);
    for (const char *p = pre ? pre : ""; *p; p = g_utf8_next_char(p))
        g_string_append_unichar(t, g_unichar_totitle(g_utf8_get_char(p)));
    g_free(pre);
    char *nfkd = g_utf8_normalize(t->str, (gssize)t->len, G_NORMALIZE_NFKD);
    g_string_free(t, TRUE);
    char *out = xstrdup(nfkd ? nfkd : "");
    g_free(nfkd);
    return out;
}

char *base_subject_key(const char *subject, size_t len, bool *is_reply_r) {
    char *base = base_subject_extract(subject, len, is_reply_r);
    char *key = base_subject_casemap(base, strlen(base));
    free(base);
    return key;
}
