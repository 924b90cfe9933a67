/*
 * color_scheme - see color_scheme.h. One pass over the bytes: each
 * "prefers-color-scheme" (any case), white space, ":", white space and
 * "dark" or "light" is replaced; a CSS comment inside the condition is
 * not looked through (such a condition stays as it is).
 */
#include "check/color_scheme.h"

#include <string.h>
#include <strings.h>

#define FEATURE "prefers-color-scheme"

static bool ws(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f';
}

/* The length of "dark"/"light" at s (n bytes), ending at a non-name
 * character; 0 when it is neither. */
static size_t value_len(const char *s, size_t n, bool *is_dark) {
    static const char *const names[] = {"dark", "light"};
    for (size_t k = 0; k < 2; k++) {
        size_t l = strlen(names[k]);
        if (n < l || strncasecmp(s, names[k], l) != 0) continue;
        if (n > l && (s[l] == '-' || s[l] == '_' || (s[l] >= 'a' && s[l] <= 'z') || (s[l] >= 'A' && s[l] <= 'Z') ||
                      (s[l] >= '0' && s[l] <= '9')))
            continue;
        *is_dark = k == 0;
        return l;
    }
    return 0;
}

size_t html_doctype_end(const char *html, size_t len) {
    size_t i = 0;
    for (;;) {
        while (i < len && ws(html[i])) i++;
        if (len - i >= 4 && !memcmp(html + i, "<!--", 4)) {
            const char *end = memmem(html + i + 4, len - i - 4, "-->", 3);
            if (!end) return 0;
            i = (size_t)(end - html) + 3;
            continue;
        }
        break;
    }
    if (len - i < 9 || strncasecmp(html + i, "<!doctype", 9) != 0) return 0;
    const char *gt = memchr(html + i, '>', len - i);
    return gt ? (size_t)(gt - html) + 1 : 0;
}

void html_force_color_scheme(const char *html, size_t len, bool dark, buf_t *out) {
    buf_printf(out, "<style>:root{color-scheme:%s}</style>", dark ? "dark" : "light");
    const size_t fl = strlen(FEATURE);
    size_t i = 0, copied = 0;
    while (i + fl <= len) {
        if ((html[i] != 'p' && html[i] != 'P') || strncasecmp(html + i, FEATURE, fl) != 0) {
            i++;
            continue;
        }
        size_t j = i + fl;
        while (j < len && ws(html[j])) j++;
        if (j >= len || html[j] != ':') {
            i = j;
            continue;
        }
        j++;
        while (j < len && ws(html[j])) j++;
        bool is_dark = false;
        size_t vl = value_len(html + j, len - j, &is_dark);
        if (!vl) {
            i = j;
            continue;
        }
        buf_append(out, html + copied, i - copied);
        buf_append_str(out, is_dark == dark ? COLOR_SCHEME_TRUE : COLOR_SCHEME_FALSE);
        i = copied = j + vl;
    }
    buf_append(out, html + copied, len - copied);
}
