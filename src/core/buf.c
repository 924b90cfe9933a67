#include "core/buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xalloc.h"

void buf_init(buf_t *b) {
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void buf_free(buf_t *b) {
    free(b->data);
    buf_init(b);
}

void buf_reset(buf_t *b) {
    b->len = 0;
}

void buf_reserve(buf_t *b, size_t n) {
    /* +1 keeps room for the terminator buf_cstr() writes. */
    if (b->len + n + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + n + 1) cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
}

void buf_append(buf_t *b, const void *p, size_t n) {
    if (n == 0) return;
    buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void buf_append_str(buf_t *b, const char *s) {
    buf_append(b, s, strlen(s));
}

void buf_append_char(buf_t *b, char c) {
    buf_reserve(b, 1);
    b->data[b->len++] = c;
}

void buf_vprintf(buf_t *b, const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap2);
    va_end(ap2);
    if (n < 0) return;
    if ((size_t)n < sizeof tmp) {
        buf_append(b, tmp, (size_t)n);
        return;
    }
    buf_reserve(b, (size_t)n);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void buf_printf(buf_t *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void buf_consume(buf_t *b, size_t n) {
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

const char *buf_cstr(buf_t *b) {
    buf_reserve(b, 0);
    b->data[b->len] = '\0';
    return b->data;
}

char *buf_steal(buf_t *b) {
    buf_cstr(b);
    char *p = b->data;
    buf_init(b);
    return p;
}

bool mem_ieq(const char *p, size_t n, const char *s) {
    size_t sl = strlen(s);
    return sl == n && strncasecmp(p, s, n) == 0;
}

bool mem_istarts(const char *p, size_t n, const char *prefix) {
    size_t pl = strlen(prefix);
    return n >= pl && strncasecmp(p, prefix, pl) == 0;
}

int buf_load_file(buf_t *b, const char *path) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return -errno;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0) buf_append(b, chunk, n);
    int rc = ferror(fp) ? -EIO : 0;
    fclose(fp);
    return rc;
}

int buf_load_file_or_explain(buf_t *b, const char *path, buf_t *err) {
    int rc = buf_load_file(b, path);
    if (rc == 0) return 0;
    buf_printf(err, "%s: %s", path, strerror(-rc));
    return -1;
}
