/*
 * text_fold - case folding for search; see text_fold.h.
 */
#include "core/text_fold.h"

#include <string.h>

#include <glib.h>

#include "core/xalloc.h"

/* ASCII without NUL (a NUL goes the Unicode way: replaced, as invalid) */
static bool is_ascii(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] >= 0x80 || s[i] == '\0') return false;
    return true;
}

char *text_fold(const char *s, size_t len, size_t *out_len) {
    if (!s) len = 0;
    if (is_ascii(s, len)) {
        char *out = xmalloc(len + 1);
        for (size_t i = 0; i < len; i++) {
            char c = s[i];
            out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        }
        out[len] = '\0';
        if (out_len) *out_len = len;
        return out;
    }
    /* GLib's functions stop at a NUL and need valid UTF-8 */
    char *valid = g_utf8_make_valid(s, (gssize)len);
    /* NFKC before and after the folding (Unicode's NFKC_Casefold closure),
     * so that folding folded text changes nothing: "ℌ" is "h", not "H" */
    char *pre = g_utf8_normalize(valid, -1, G_NORMALIZE_NFKC);
    char *cf = g_utf8_casefold(pre ? pre : valid, -1);
    /* GLib folds Cherokee to lower case and lower case back to upper:
     * lower case after folding gives one stable form */
    char *folded = g_utf8_strdown(cf, -1);
    g_free(cf);
    char *norm = g_utf8_normalize(folded, -1, G_NORMALIZE_NFKC);
    const char *res = norm ? norm : folded;
    size_t n = strlen(res);
    char *out = xmemdup(res, n + 1);
    g_free(norm);
    g_free(folded);
    g_free(pre);
    g_free(valid);
    if (out_len) *out_len = n;
    return out;
}

bool text_fold_contains(const char *hay, size_t hlen, const char *needle, size_t nlen) {
    if (nlen == 0) return true;
    if (!hay || hlen == 0) return false;
    if (is_ascii(hay, hlen)) {
        /* folded ASCII is its lower case: compare in place; a needle with
         * other characters cannot be in ASCII text */
        if (hlen < nlen) return false;
        for (size_t i = 0; i + nlen <= hlen; i++) {
            size_t k = 0;
            while (k < nlen) {
                char c = hay[i + k];
                if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
                if (c != needle[k]) break;
                k++;
            }
            if (k == nlen) return true;
        }
        return false;
    }
    size_t fl;
    char *f = text_fold(hay, hlen, &fl);
    bool r = fl >= nlen && memmem(f, fl, needle, nlen) != NULL;
    free(f);
    return r;
}
