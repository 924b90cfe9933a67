/*
 * http_router - route patterns ("/api/v1/message/{ID}/part/{PartID}",
 * "/view/{ID}.html", "/api/v1/tags/{Tag...}") and Go-style path cleaning.
 * Pure functions over strings: no I/O, no allocation beyond the results.
 */
#include "http/http_router.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xalloc.h"

void http_params_free(struct http_params *p) {
    for (size_t i = 0; i < p->n; i++) free(p->v[i].value);
    p->n = 0;
}

const char *http_params_get(const struct http_params *p, const char *name) {
    size_t l = strlen(name);
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i].name_len == l && !memcmp(p->v[i].name, name, l)) return p->v[i].value;
    return NULL;
}

static bool add_param(struct http_params *p, const char *name, size_t name_len, const char *v, size_t vl) {
    if (p->n == HTTP_ROUTE_MAX_PARAMS) return false;
    p->v[p->n].name = name;
    p->v[p->n].name_len = name_len;
    p->v[p->n].value = xstrndup(v, vl);
    p->n++;
    return true;
}

/* Match one pattern segment pat[0..pl) against one path segment s[0..sl). */
static bool match_segment(const char *pat, size_t pl, const char *s, size_t sl, struct http_params *p) {
    const char *open = memchr(pat, '{', pl);
    if (!open) return pl == sl && !memcmp(pat, s, sl);
    const char *close = memchr(open, '}', pl - (size_t)(open - pat));
    if (!close) return false; /* a broken pattern matches nothing */
    size_t pre = (size_t)(open - pat), suf = pl - (size_t)(close + 1 - pat);
    if (sl < pre + suf + 1) return false;
    if (memcmp(pat, s, pre) != 0 || memcmp(close + 1, s + sl - suf, suf) != 0) return false;
    return add_param(p, open + 1, (size_t)(close - open - 1), s + pre, sl - pre - suf);
}

bool http_route_match(const char *pattern, const char *path, struct http_params *p) {
    p->n = 0;
    if (pattern[0] == '~') return pattern[1] == '/' && !strcasecmp(pattern + 1, path);
    if (pattern[0] != '/' || path[0] != '/') return false;
    const char *a = pattern + 1, *b = path + 1;
    for (;;) {
        size_t al = strcspn(a, "/");
        /* {name...}: the rest of the path */
        if (!a[al] && al > 5 && a[0] == '{' && !memcmp(a + al - 4, "...}", 4)) {
            if (!*b) break;
            if (!add_param(p, a + 1, al - 5, b, strlen(b))) break;
            return true;
        }
        size_t bl = strcspn(b, "/");
        if (!match_segment(a, al, b, bl, p)) break;
        a += al;
        b += bl;
        if (!*a && !*b) return true;
        if (!*a || !*b) break;
        a++;
        b++;
    }
    http_params_free(p);
    return false;
}

char *http_path_clean(const char *path) {
    if (path[0] != '/') return xstrdup(path);
    size_t n = strlen(path);
    /* segments are copied over in place; out never gets longer than path */
    char *out = xmalloc(n + 2);
    size_t o = 0;
    const char *s = path;
    while (*s) {
        while (*s == '/') s++;
        size_t l = strcspn(s, "/");
        if (l == 0) break;
        if (l == 1 && s[0] == '.') {
            /* drop */
        } else if (l == 2 && s[0] == '.' && s[1] == '.') {
            while (o > 0 && out[o - 1] != '/') o--; /* back to the last slash */
            if (o > 0) o--;                          /* and before it */
        } else {
            out[o++] = '/';
            memcpy(out + o, s, l);
            o += l;
        }
        s += l;
    }
    if (o == 0) out[o++] = '/';
    else if (path[n - 1] == '/') out[o++] = '/';
    out[o] = '\0';
    return out;
}

void http_path_escape(const char *path, buf_t *out) {
    static const char hexd[] = "0123456789ABCDEF";
    for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            strchr("-_.~$&+,/:;=@", *c)) {
            buf_append_char(out, (char)*c);
        } else {
            buf_append_char(out, '%');
            buf_append_char(out, hexd[*c >> 4]);
            buf_append_char(out, hexd[*c & 15]);
        }
    }
}
