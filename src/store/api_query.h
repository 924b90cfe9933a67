/*
 * api_query - what the JSON API (Mailpit's) reads from and changes in the
 * store, as typed calls: message pages newest first, counts, lookups by
 * API id, search, tags, and bulk changes of read state, tags and
 * deletion. The SQL behind them lives here; callers never see it.
 *
 * Scope: every call that takes an account works on the INBOX mailboxes of
 * that account, or of every account when account is NULL (other folders
 * are IMAP's business). A search is a parsed core/search_query; NULL
 * means every message in scope. Queued full-text is flushed before a text
 * search, so a message delivered a moment ago is found.
 *
 * Errors: -1 (a lookup or list; the reason is logged) or -errno (a
 * change); the API answers 500 for both. All calls run on the event loop.
 */
#ifndef DEVMAIL_STORE_API_QUERY_H
#define DEVMAIL_STORE_API_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/search_query.h"
#include "store/store.h"

/* One message as the API lists it. Every string is malloc'd and never
 * NULL ("" when the index has nothing). Free with api_query_summary_free. */
struct api_query_summary {
    int64_t row;          /* messages.id */
    char *account;
    char *api_id;
    int flags;            /* MSG_* bits */
    char *keywords;       /* space separated */
    int64_t internaldate; /* arrival, unix seconds */
    int64_t sent_date;    /* Date: header, unix seconds; 0 when none */
    int64_t size;         /* RFC822 size (CRLF) */
    char *mail_from;      /* envelope sender */
    char *rcpts;          /* envelope recipients, comma separated */
    char *hdr_from, *hdr_to, *hdr_cc, *hdr_bcc, *hdr_reply_to; /* decoded address lists */
    char *subject;
    char *message_id;
    int attachments;
    char *snippet;
    char *auth_user;      /* who logged in to send it (SMTP AUTH, HTTP), or "" */
};

void api_query_summary_free(struct api_query_summary *m);
/* Free n summaries and the array (as api_query_list returns them). */
void api_query_list_free(struct api_query_summary *v, size_t n);

/* Messages in scope matching q, and how many of them are unread. 0 or -1. */
int api_query_count(struct store *s, const char *account, const struct search_query *q, int64_t *total_r,
                    int64_t *unread_r);
/* One page of messages in scope matching q, newest first (arrival time,
 * then row), at most limit from offset start. 0 with *v_r (malloc'd, NULL
 * when empty) and *n_r, or -1. */
int api_query_list(struct store *s, const char *account, const struct search_query *q, int64_t start, int64_t limit,
                   struct api_query_summary **v_r, size_t *n_r);
/* The summary of one row in scope: 1 (out filled), 0 (not in scope), -1. */
int api_query_summary(struct store *s, const char *account, int64_t row, struct api_query_summary *out);
/* Row of an API id in scope: 1 (*row_r set), 0 (unknown), -1. */
int api_query_find(struct store *s, const char *account, const char *api_id, int64_t *row_r);
/* Row of the newest message in scope: 1, 0 (none), -1. */
int api_query_latest(struct store *s, const char *account, int64_t *row_r);
/* Whether any row in (after, upto] is in scope and matches q: 1, 0, -1. */
int api_query_matches(struct store *s, const char *account, const struct search_query *q, int64_t after,
                      int64_t upto);
/* A watch for new mail, for a request that waits (?wait=): whether a row
 * in scope matching q (NULL: any row in scope) is committed after the
 * watch was added. Matching runs off the event loop, on the commit
 * thread, once per committed batch of deliveries: one step of a
 * statement prepared once per watch over that batch's rows only. Add the
 * watch before checking what is there already, so that nothing committed
 * in between is missed. Never NULL. */
struct api_query_watch;
struct api_query_watch *api_query_watch_add(struct store *s, const char *account, const struct search_query *q);
/* Has a matching row been committed since the watch was added? (The flag
 * is set before the batch's STORE_EV_NEW events are announced.) */
bool api_query_watch_hit(const struct api_query_watch *w);
/* Remove (and free) a watch; NULL is ignored. */
void api_query_watch_remove(struct api_query_watch *w);
/* fn(arg) on the event loop after a matching pass hit a watch (one call
 * for any number of hits). */
void api_query_watch_on_hit(struct store *s, void (*fn)(void *arg), void *arg);
/* Every row in scope matching q, in no particular order, for a bulk
 * change. 0 with *rows_r (malloc'd, NULL when empty) and *n_r, or -1. */
int api_query_rows(struct store *s, const char *account, const struct search_query *q, int64_t **rows_r,
                   size_t *n_r);

/* Every distinct tag (keyword) in scope, sorted case-insensitively. 0 with
 * *tags_r (malloc'd, NULL when empty; free with api_query_tags_free), or -1. */
int api_query_tags(struct store *s, const char *account, char ***tags_r, size_t *n_r);
void api_query_tags_free(char **tags, size_t n);
/* Every distinct tag (keyword) in scope with how many messages carry it,
 * in one pass over the index (no order; a keyword counts as spelled).
 * 0 with *tags_r (free with api_query_tags_free) and *counts_r (free), or -1. */
int api_query_tag_counts(struct store *s, const char *account, char ***tags_r, int64_t **counts_r, size_t *n_r);
/* How many messages in scope carry tag (a whole keyword, ASCII case
 * folded as SQLite's LIKE does). 0 or -1. */
int api_query_tag_count(struct store *s, const char *account, const char *tag, int64_t *count_r);
/* A keyword list with remove taken out and add put in once (at its first
 * place if present, else at the end); either may be NULL. Pure; malloc'd. */
char *api_query_keywords_edit(const char *keywords, const char *remove, const char *add);

/* keywords with those of remove taken out and those of add put in at the
 * end unless there already (ASCII case folded; duplicates dropped). Pure;
 * malloc'd. */
char *api_query_keywords_add_remove(const char *keywords, const char *add, const char *remove);

/* Bulk changes. Each is one index transaction; a message removed
 * meanwhile (or whose file has vanished) is skipped. Flag and tag changes
 * are all or nothing: on an error those already made are undone (index
 * rolled back, files renamed back) and -errno returned. Observers hear
 * STORE_EV_UPDATE / STORE_EV_EXPUNGE per message. */

/* Set or clear \Seen on rows (those already so are left alone). */
int api_query_mark_read(struct store *s, const int64_t *rows, size_t n, bool read);
/* Make keywords (space separated) the whole keyword list of each row. */
int api_query_set_tags(struct store *s, const int64_t *rows, size_t n, const char *keywords);
/* Add the keywords of add and take out those of remove (both space
 * separated; compared ASCII case folded) on each row, keeping the rest of
 * its keywords; rows left as they were are not touched. */
int api_query_edit_tags(struct store *s, const int64_t *rows, size_t n, const char *add, const char *remove);
/* Every message in scope carrying tag: drop it (rename_to NULL) or rename
 * it to rename_to. */
int api_query_retag(struct store *s, const char *account, const char *tag, const char *rename_to);
/* Remove rows for good (file and row). A removal cannot be undone, so on
 * an error the rows before it stay removed, the rest are kept, and
 * -errno is returned. */
int api_query_delete(struct store *s, const int64_t *rows, size_t n);

/* Every stored message, all accounts and mailboxes: how many, and their
 * total size in bytes (either pointer may be NULL). 0 or -1. */
int api_query_store_totals(struct store *s, int64_t *messages_r, int64_t *bytes_r);

#endif
