/*
 * store_watch - the store's side of api_query_watch (api_query.h): the
 * registry of watches for new mail, and the hooks by which the commit
 * thread matches them once per committed batch. Only for src/store/.
 */
#ifndef DEVMAIL_STORE_WATCH_H
#define DEVMAIL_STORE_WATCH_H

#include <stdbool.h>
#include <stdint.h>

struct store;
struct index;

struct event_base;

/* base: the loop on which api_query_watch_on_hit's callback runs (NULL:
 * none). */
void store_watches_init(struct store *s, struct event_base *base);
/* After the thread that matches is gone (the commit thread stopped). */
void store_watches_free(struct store *s);
/* A row committed in the batch being built (the matching thread only). */
void store_watches_batch_row(struct store *s, int64_t row);
/* After the batch is committed, on the thread that owns idx: set the hit
 * flag of every watch a row committed since the last pass matches (now,
 * or when the pacing allows: then later, see store_watches_pending) and
 * finalize removed ones. */
void store_watches_match(struct store *s, struct index *idx, bool now);
/* Are committed rows waiting for a matching pass? */
bool store_watches_pending(const struct store *s);
/* Rows lo..hi added on the event loop (IMAP APPEND, COPY into an INBOX):
 * match every watch against them with one-off statements on idx. */
void store_watches_match_here(struct store *s, struct index *idx, int64_t lo, int64_t hi);

#endif
