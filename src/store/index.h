/*
 * index - the SQLite message index (<data_dir>/index.sqlite).
 *
 * Per mailbox it keeps what IMAP, POP3 and the API need: UIDVALIDITY,
 * UIDNEXT, HIGHESTMODSEQ, and per message its UID, Maildir file name,
 * flags, keywords, MODSEQ, arrival time, size and the decoded summary
 * (addresses, subject, snippet) plus an FTS5 table for search.
 *
 * The Maildir is the truth; the index is a cache of it that can be
 * rebuilt at any time (`devmail reindex`). WAL mode lets other processes
 * (devmail purge) read and write while the server runs. All calls are
 * made on the event loop thread.
 */
#ifndef DEVMAIL_INDEX_H
#define DEVMAIL_INDEX_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "core/buf.h"
#include "store/store.h"
#include "store/summary.h"

/* MSG_* flag bits: store.h */

struct index_mailbox {
    int64_t id;
    uint32_t uidvalidity;
    uint32_t uidnext;
    uint64_t highestmodseq;
};

struct index_new_msg {
    const char *base;     /* Maildir base name incl. ,S=, without :2, info */
    const char *subdir;   /* "new" or "cur" */
    int flags;
    const char *keywords; /* space separated, may be NULL */
    int64_t internaldate;
    int64_t size;
    const char *mail_from; /* envelope; NULL: summary's Return-Path */
    const char *rcpts;     /* envelope, comma separated; NULL: X-Original-To */
    const struct msg_summary *summary;
};

struct index;

int index_open(struct index **out, const char *path, buf_t *err);
/* Page cache of this connection in KiB (readers benefit, the commit
 * thread's appending connection does not). */
void index_set_cache_kb(struct index *idx, int kb);
/* Give back the page cache's unused pages (after a one-time bulk job such
 * as the start-up indexing, whose pages are not the sessions' working
 * set); the cache grows again to the cache size as reads need it. Only
 * from the connection's own thread. */
void index_release_memory(struct index *idx);
void index_close(struct index *idx);
/* index_open after a bounded PRAGMA quick_check: a damaged index is moved
 * aside (path.damaged-TIME) and an empty one created, *rebuilt set; the
 * caller then indexes the Maildir into it (index_check.c). */
int index_open_checked(struct index **out, const char *path, bool *rebuilt, buf_t *err);
sqlite3 *index_db(struct index *idx);
/* A prepared statement for sql, kept by the connection for the next use
 * of the same text (prepared once, not per call), or a temporary one when
 * the kept one is still running (an open cursor) or the cache is full.
 * Give it back with index_stmt_done (reset, bindings cleared, or
 * finalized when temporary), never sqlite3_finalize. NULL on error
 * (logged). */
sqlite3_stmt *index_stmt(struct index *idx, const char *sql);
void index_stmt_done(struct index *idx, sqlite3_stmt *st);

/* Transactions (nest-safe counter: only the outermost commits).
 * index_commit: 0, or -1 when the outermost COMMIT failed (logged). */
void index_begin(struct index *idx);
int index_commit(struct index *idx);
/* Did the last commit fail (disk full, I/O error)? */
bool index_write_failed(const struct index *idx);
/* A nested change that can be undone: index_savepoint_end(idx, false)
 * rolls back everything since index_savepoint(). 0 or -1. */
void index_savepoint(struct index *idx);
/* After deletions: give up to max_pages free pages back to the file
 * system (incremental vacuum) and checkpoint the WAL without blocking.
 * Cheap when nothing was deleted. Returns pages given back, or -1. */
int index_maintain(struct index *idx, int64_t max_pages);
/* Whether index_maintain has more work queued (a full-text merge under way). */
bool index_maintain_pending(const struct index *idx);
int index_savepoint_end(struct index *idx, bool keep);

/* Look up (and with create, make) a mailbox. 0 found/created, -1 missing. */
int index_mailbox_get(struct index *idx, const char *account, const char *name, bool create,
                      struct index_mailbox *out);
/* Add a message: assigns the next UID and MODSEQ. Returns 0 and the row id. */
int index_add_message(struct index *idx, int64_t mailbox_id, const struct index_new_msg *m, uint32_t *uid_out,
                      int64_t *row_out);
/* Move queued message text into the full-text index (all of it, or at
 * most max_rows). Call before any query on messages_fts. Returns rows moved. */
int index_fts_flush(struct index *idx, int max_rows);
/* Add a copy of row src (same bytes, new file base name) to a mailbox:
 * its summary, envelope, cached IMAP structures, flags and search text are
 * taken from src, so the file is not read again. Returns 0 and the new
 * row and UID, or -1. */
int index_copy_message(struct index *idx, int64_t src, int64_t mailbox_id, const char *base, const char *subdir,
                       uint32_t *uid_out, int64_t *row_out);
/* Store (or replace) the IMAP SORT/THREAD keys of message row (in the
 * sort_keys table, see store/sort.h) from its summary. index_add_message
 * does this itself; store_sort_keys_fill calls it for rows indexed before
 * the table existed. 0 or -1 (logged). */
int index_set_sort_keys(struct index *idx, int64_t row, int64_t mailbox_id, uint32_t uid, int64_t internaldate,
                        int64_t size, const struct msg_summary *s);
/* Remove a message row (and its search text). */
int index_delete_message(struct index *idx, int64_t row);
/* Next MODSEQ for a mailbox (increments HIGHESTMODSEQ). */
uint64_t index_next_modseq(struct index *idx, int64_t mailbox_id);

/* API id of a message: the Maildir unique name up to the first ','. */
void index_api_id(const char *base, buf_t *out);

/* Maildir info flags "DFRST" <-> bits. */
int index_flags_from_info(const char *info);
void index_flags_to_info(int flags, buf_t *out);

/* Bring one mailbox's rows in line with its Maildir directory: files not
 * indexed are added (new UIDs), rows whose file is gone are removed, and
 * flag changes made by other programs in file names are picked up.
 * Returns the number of changes, or -1. */
int index_sync_mailbox(struct index *idx, const char *account, const char *mailbox, const char *maildir_path);

/* The same in steps, so that a large Maildir can be indexed a slice at a
 * time while the server answers: index_sync_begin compares the directory
 * with the rows (removes rows whose file is gone, takes flag changes) and
 * lists the files to add (NULL on error); index_sync_step adds up to max
 * of them (0: all) in one transaction and returns how many are left;
 * index_sync_end frees and returns the number of changes. */
struct index_sync;
struct index_sync *index_sync_begin(struct index *idx, const char *account, const char *mailbox,
                                    const char *maildir_path);
size_t index_sync_step(struct index_sync *sy, size_t max);
size_t index_sync_left(const struct index_sync *sy);
int index_sync_end(struct index_sync *sy);

#endif
