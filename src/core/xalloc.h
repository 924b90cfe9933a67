/*
 * xalloc - allocation that never returns NULL. Out of memory is logged
 * and fatal (as Postfix's mymalloc), so no caller has a NULL path to get wrong.
 */
#ifndef DEVMAIL_XALLOC_H
#define DEVMAIL_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmemdup(const void *p, size_t n);
/* Copy of n bytes (or the whole string) with ASCII letters lower-cased:
 * how account names, domains and map keys are compared. */
char *xstrndup_lower(const char *s, size_t n);
char *xstrdup_lower(const char *s);

#endif
