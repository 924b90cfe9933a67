/*
 * fetch_data - what IMAP FETCH reads of a message from the index besides
 * its flags: INTERNALDATE, RFC822.SIZE and the cached ENVELOPE, BODY and
 * BODYSTRUCTURE strings (kept after a message's first FETCH, as Dovecot's
 * cache does, so header listings do not reopen and reparse files).
 *
 * A cursor keeps its statements prepared for a whole FETCH, which may run
 * over many event loop turns; it holds no read transaction between calls.
 */
#ifndef DEVMAIL_STORE_FETCH_DATA_H
#define DEVMAIL_STORE_FETCH_DATA_H

#include <stdint.h>

struct store;
struct store_fetch_cursor;

struct store_fetch_data {
    int64_t internaldate;
    int64_t size;        /* RFC822 size (CRLF) */
    char *envelope;      /* cached IMAP strings, NULL when not cached yet; */
    char *body;          /* malloc'd */
    char *bodystructure;
};

/* A cursor on the store's index connection. NULL (logged) on error. Free
 * it before the store is closed. */
struct store_fetch_cursor *store_fetch_cursor_new(struct store *s);
void store_fetch_cursor_free(struct store_fetch_cursor **c);
/* Read one message (messages.id row): 0 with out filled (free with
 * store_fetch_data_free), -ENOENT (out zeroed: no such row), -EIO. */
int store_fetch_data_get(struct store_fetch_cursor *c, int64_t row, struct store_fetch_data *out);
void store_fetch_data_free(struct store_fetch_data *d);
/* Keep the three IMAP strings of a message for later FETCHes (a message's
 * bytes never change, so neither do they). 0 (also when the row is gone
 * meanwhile) or -EIO. */
int store_fetch_cache_set(struct store_fetch_cursor *c, int64_t row, const char *envelope, const char *body,
                          const char *bodystructure);

#endif
