/*
 * retention - expunge old mail: by arrival time (INTERNALDATE) and/or
 * beyond a count per mailbox, oldest first. Removal goes through
 * store_expunge, so IMAP sessions get EXPUNGE, and the API and the web
 * page stop listing the messages at once.
 *
 * Used two ways: a timer inside the server (config `retention`,
 * `retention_count`) and `devmail purge` on demand, which may run while
 * the server does (the index is SQLite in WAL mode; see
 * retention_store_open).
 */
#ifndef DEVMAIL_RETENTION_H
#define DEVMAIL_RETENTION_H

#include <stdint.h>

#include "core/buf.h"
#include "store/store.h"

/* Rows expunged per index transaction, so a large purge does not hold
 * the write lock against the running server for long. */
#define RETENTION_BATCH 256
/* Timer bounds: run every retention/10, but not more often than this ... */
#define RETENTION_MIN_INTERVAL_MS 500
/* ... and not less often than this (nor than RETENTION_COUNT_INTERVAL_MS
 * when a count limit is set, since new mail can exceed it at any time). */
#define RETENTION_MAX_INTERVAL_MS (3600 * 1000)
#define RETENTION_COUNT_INTERVAL_MS (60 * 1000)

/* Expunge messages that arrived at least older_than_seconds ago (< 0:
 * no age limit; 0: everything that has arrived) and then, per mailbox,
 * all but the newest keep_count (<= 0: no count limit).
 * mailbox_filter: NULL for every mailbox of every account, "NAME" for
 * that mailbox in every account (INBOX case-insensitively), "user@domain"
 * for every mailbox of one account, "user@domain:NAME" for one mailbox.
 * *removed gets the number expunged. 0, or -1 on an index error. */
int retention_run(struct store *s, int64_t older_than_seconds, int64_t keep_count, const char *mailbox_filter,
                  int *removed);

/* Open the store of a data directory for a tool running beside the
 * server: the index only, without re-syncing Maildirs (the server may be
 * between publishing a message and indexing it). Close with store_close. */
struct store *retention_store_open(const char *data_dir, const char *hostname, buf_t *err);

/* --- the server's timer ------------------------------------------------ */

struct retention_timer;
struct event_base;

/* A periodic retention run over every mailbox: first about a second after
 * start, then every retention_interval_ms(). Here older_than_seconds <= 0
 * and keep_count <= 0 each disable their limit (config `retention = 0`);
 * with both off the timer stays idle until retention_timer_set. */
struct retention_timer *retention_timer_new(struct event_base *base, struct store *s, int64_t older_than_seconds,
                                            int64_t keep_count);
/* Change the limits (SIGHUP reload) and reschedule; NULL is a no-op. */
void retention_timer_set(struct retention_timer *t, int64_t older_than_seconds, int64_t keep_count);
/* The interval chosen for given limits, in milliseconds (0: disabled). */
int64_t retention_interval_ms(int64_t older_than_seconds, int64_t keep_count);
void retention_timer_free(struct retention_timer *t);

#endif
