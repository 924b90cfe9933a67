/*
 * fuzz_http_router - libFuzzer target for the HTTP router: path cleaning
 * and route patterns. The input is a request path (as the parser leaves
 * it: decoded, no NUL). Checked: a cleaned absolute path starts with "/",
 * has no empty, "." or ".." segment, keeps a trailing slash, is never
 * longer than the input and cleans to itself; and every match of the
 * API's patterns rebuilds the path from the pattern and its parameters.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "http/http_router.h"

static void check_clean(const char *path) {
    char *c = http_path_clean(path);
    if (path[0] != '/') {
        if (strcmp(c, path) != 0) abort();
        free(c);
        return;
    }
    size_t n = strlen(c);
    if (c[0] != '/' || n > strlen(path) + 1) abort();
    if (strstr(c, "//") || strstr(c, "/./") || strstr(c, "/../")) abort();
    if ((n >= 2 && !strcmp(c + n - 2, "/.")) || (n >= 3 && !strcmp(c + n - 3, "/.."))) abort();
    if (n > 1 && (c[n - 1] == '/') != (path[strlen(path) - 1] == '/')) abort();
    char *again = http_path_clean(c);
    if (strcmp(again, c) != 0) abort();
    free(again);
    free(c);
}

/* Rebuild a path from pattern and parameters; must equal path. */
static void check_rebuild(const char *pattern, const char *path, const struct http_params *p) {
    buf_t b = BUF_INIT;
    size_t k = 0;
    for (const char *s = pattern; *s;) {
        if (*s == '{') {
            const char *e = strchr(s, '}');
            if (!e || k >= p->n || !p->v[k].value[0]) abort();
            buf_append_str(&b, p->v[k++].value);
            s = e + 1;
        } else {
            buf_append_char(&b, *s++);
        }
    }
    if (k != p->n || strcmp(buf_cstr(&b), path) != 0) abort();
    buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 4096) return 0;
    char *path = malloc(size + 1);
    memcpy(path, data, size);
    path[size] = '\0';
    check_clean(path);
    static const char *const patterns[] = {
        "/api/v1/messages", "/api/v1/message/{ID}", "/api/v1/message/{ID}/part/{PartID}",
        "/api/v1/message/{ID}/part/{PartID}/thumb", "/view/{ID}.html", "/view/{ID}.txt",
        "/api/v1/tags/{Tag...}", "/x/a{A}b/{B}", "/",
    };
    for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++) {
        struct http_params p;
        if (http_route_match(patterns[i], path, &p)) {
            check_rebuild(patterns[i], path, &p);
            http_params_free(&p);
        } else if (p.n) {
            abort();
        }
    }
    free(path);
    return 0;
}
