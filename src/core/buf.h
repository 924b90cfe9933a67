/*
 * buf - a growable byte buffer, the one string type of devmail.
 *
 * Lengths travel with the bytes; protocol data may contain NUL. The buffer
 * keeps one spare byte so buf_cstr() can always NUL-terminate for logging
 * and libc calls, but no code may rely on that for protocol bytes.
 * Allocation failure is fatal (see xalloc.h): callers never see NULL.
 */
#ifndef DEVMAIL_BUF_H
#define DEVMAIL_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct buf {
    char *data;
    size_t len;
    size_t cap;
} buf_t;

#define BUF_INIT {NULL, 0, 0}

void buf_init(buf_t *b);
void buf_free(buf_t *b);
void buf_reset(buf_t *b);
/* Make room for n more bytes. */
void buf_reserve(buf_t *b, size_t n);
void buf_append(buf_t *b, const void *p, size_t n);
void buf_append_str(buf_t *b, const char *s);
void buf_append_char(buf_t *b, char c);
void buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(buf_t *b, const char *fmt, va_list ap);
/* Remove the first n bytes. */
void buf_consume(buf_t *b, size_t n);
/* NUL-terminated view (valid until the next modification). */
const char *buf_cstr(buf_t *b);
/* Detach the contents as a malloc'd NUL-terminated string; b is reset. */
char *buf_steal(buf_t *b);

/* Append a whole file to b. 0, or -errno (b keeps what was read). */
int buf_load_file(buf_t *b, const char *path);
/* The same, appending "PATH: reason" to err when it fails; 0 or -1. */
int buf_load_file_or_explain(buf_t *b, const char *path, buf_t *err);

/* Case-insensitive comparison of a length-delimited byte string with a C string. */
bool mem_ieq(const char *p, size_t n, const char *s);
/* Case-insensitive prefix test. */
bool mem_istarts(const char *p, size_t n, const char *prefix);

#endif
