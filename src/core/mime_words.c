/* mime_words: see mime_words.h. */
#include "core/mime_words.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include <glib.h>

#include "core/buf.h"

struct word {
    const char *start, *end;      /* the whole "=?...?=" */
    const char *charset;          /* up to '?' (a "*lang" suffix kept) */
    size_t charset_len;
    char enc;                     /* 'B' or 'Q' */
    const char *text;
    size_t text_len;
};

/* An encoded-word at p (RFC 2047 2): =?charset?B|Q?text?= with no white
 * space inside. */
static bool parse_word(const char *p, const char *end, struct word *w) {
    if (end - p < 8 || p[0] != '=' || p[1] != '?') return false;
    const char *cs = p + 2, *q = cs;
    while (q < end && *q != '?' && *q > ' ' && *q < 0x7f) q++;
    if (q == cs || q + 3 > end || *q != '?') return false;
    char e = (char)(q[1] & ~0x20);
    if ((e != 'B' && e != 'Q') || q[2] != '?') return false;
    const char *t = q + 3, *r = t;
    while (r + 1 < end && !(r[0] == '?' && r[1] == '=')) {
        if (*r <= ' ' || *r >= 0x7f) return false;
        r++;
    }
    if (r + 1 >= end) return false;
    w->start = p;
    w->end = r + 2;
    w->charset = cs;
    w->charset_len = (size_t)(q - cs);
    w->enc = e;
    w->text = t;
    w->text_len = (size_t)(r - t);
    return true;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Append the bytes a word encodes. */
static void word_bytes(const struct word *w, buf_t *out) {
    if (w->enc == 'Q') {
        for (size_t i = 0; i < w->text_len; i++) {
            char c = w->text[i];
            int h, l;
            if (c == '_') {
                buf_append_char(out, ' ');
            } else if (c == '=' && i + 2 < w->text_len && (h = hexval(w->text[i + 1])) >= 0 &&
                       (l = hexval(w->text[i + 2])) >= 0) {
                buf_append_char(out, (char)(h * 16 + l));
                i += 2;
            } else {
                buf_append_char(out, c);
            }
        }
        return;
    }
    /* base64, padding or not; g_base64_decode_step ignores what is not
     * in the alphabet */
    gint state = 0;
    guint save = 0;
    size_t cap = w->text_len * 3 / 4 + 3;
    guchar *tmp = g_malloc(cap);
    gsize n = g_base64_decode_step(w->text, w->text_len, tmp, &state, &save);
    buf_append(out, tmp, n);
    g_free(tmp);
}

static bool only_space(const char *a, const char *b) {
    for (; a < b; a++)
        if (*a != ' ' && *a != '\t' && *a != '\r' && *a != '\n') return false;
    return true;
}

char *mime_words_merge(const char *in, size_t len) {
    if (!in || len > MIME_WORDS_MAX_INPUT) return NULL;
    const char *end = in + len, *p = in, *copied = in;
    buf_t out = BUF_INIT;
    bool changed = false;
    while (p < end) {
        struct word first;
        if (!parse_word(p, end, &first)) {
            p++;
            continue;
        }
        /* the run of words sharing first's charset */
        struct word last = first, next;
        size_t count = 1;
        const char *q = first.end;
        for (;;) {
            const char *r = q;
            while (r < end && (*r == ' ' || *r == '\t' || *r == '\r' || *r == '\n')) r++;
            if (r == q || !parse_word(r, end, &next) || !only_space(q, r) || next.charset_len != first.charset_len ||
                strncasecmp(next.charset, first.charset, first.charset_len) != 0)
                break;
            last = next;
            count++;
            q = next.end;
        }
        if (count < 2) {
            p = first.end;
            continue;
        }
        buf_append(&out, copied, (size_t)(first.start - copied));
        buf_t bytes = BUF_INIT;
        for (const char *r = first.start; r < last.end;) {
            struct word w;
            if (parse_word(r, end, &w)) {
                word_bytes(&w, &bytes);
                r = w.end;
            } else {
                r++; /* the white space between words is dropped (RFC 2047 6.2) */
            }
        }
        gchar *b64 = g_base64_encode((const guchar *)(bytes.data ? bytes.data : ""), bytes.len);
        buf_printf(&out, "=?%.*s?B?%s?=", (int)first.charset_len, first.charset, b64);
        g_free(b64);
        buf_free(&bytes);
        copied = p = last.end;
        changed = true;
    }
    if (!changed) {
        buf_free(&out);
        return NULL;
    }
    buf_append(&out, copied, (size_t)(end - copied));
    return buf_steal(&out);
}
