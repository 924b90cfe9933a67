/*
 * store - the mail store as protocols see it: accounts' Maildirs under
 * the data directory, the index, durable delivery with group commit, and
 * change notifications (so IMAP IDLE, the web page and waiting API
 * requests learn of new mail at once).
 */
#ifndef DEVMAIL_STORE_H
#define DEVMAIL_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "store/maildir.h"
#include "store/summary.h"

struct event_base;

/* STORE_EV_CHANGED: a resync found changes made outside devmail in a
 * mailbox's Maildir (files added, removed or re-flagged); observers reload
 * what they show of it. STORE_EV_MAILBOX: a mailbox was created, deleted
 * or renamed; STORE_EV_SUBSCRIPTION: a name was subscribed or unsubscribed
 * (both carry the name, see below). */
enum store_event_type {
    STORE_EV_NEW,
    STORE_EV_UPDATE,
    STORE_EV_EXPUNGE,
    STORE_EV_MAILBOX,
    STORE_EV_CHANGED,
    STORE_EV_SUBSCRIPTION,
};

struct store_event {
    enum store_event_type type;
    const char *account;
    int64_t mailbox_id;
    int64_t row;  /* messages.id (0 for mailbox-level events) */
    uint32_t uid;
    const char *api_id; /* the message's API id (NULL for mailbox-level events) */
    /* who made the change: what the caller named in store_origin_begin
     * (a session, the HTTP server), NULL for the store's own (deliveries,
     * retention, Maildir resyncs). Observers skip their own changes by it. */
    const void *origin;
    /* STORE_EV_MAILBOX and STORE_EV_SUBSCRIPTION: the mailbox name (as the
     * store names it); old_name the name before a rename, else NULL; gone
     * a deletion (STORE_EV_MAILBOX) or an unsubscription. */
    const char *name;
    const char *old_name;
    bool gone;
};

typedef void (*store_observer_fn)(const struct store_event *ev, void *arg);

/* Opaque outside src/store/ (store_internal.h has its members). */
struct store;

/* Flag bits, shared by IMAP, POP3 and the API. */
enum {
    MSG_SEEN = 1 << 0,
    MSG_ANSWERED = 1 << 1,
    MSG_FLAGGED = 1 << 2,
    MSG_DELETED = 1 << 3,
    MSG_DRAFT = 1 << 4,
};

/* Open (creating) the data directory and index; sync every account's
 * Maildir folders with the index and sweep stale tmp/ files: with an
 * event loop (base) in the background, a slice at a time (see
 * store_when_ready), without one before returning. */
struct store *store_open(struct event_base *base, const char *data_dir, const char *hostname, buf_t *err);

/* --- start-up indexing (store_warmup.c) --------------------------------- */
void store_warmup_start(struct store *s, struct event_base *base);
void store_warmup_free(struct store *s);
/* Is every mailbox found at start of this account (NULL: of every
 * account), or this one mailbox, indexed? */
bool store_account_ready(struct store *s, const char *account);
bool store_mailbox_ready(struct store *s, const char *account, const char *mailbox);
/* Mailboxes found at start that are not indexed yet (0: indexing at
 * start is done), and messages added by it so far (may be NULL). */
size_t store_warmup_pending(const struct store *s, uint64_t *added);
/* true when the mailbox (NULL: every mailbox) of the account (NULL: of
 * every account) is indexed now; else false, and fn(arg) is called on the
 * loop once it is (those mailboxes go first), unless
 * store_when_ready_cancel(s, fn, arg) was called before. */
bool store_when_ready(struct store *s, const char *account, const char *mailbox, void (*fn)(void *arg),
                      void *arg);
void store_when_ready_cancel(struct store *s, void (*fn)(void *arg), void *arg);
void store_close(struct store *s);
/* Mailpit's tag filters (config key tag, "tags=query" rules, see
 * core/tags.h) for the deliveries from now on; call before the first.
 * 0, or -1 with err (the rules are not changed). */
int store_set_tag_rules(struct store *s, const char *spec, buf_t *err);
/* Did the index's last commits succeed (false: disk full, I/O error)? */
bool store_index_writable(const struct store *s);
/* The data directory, and its index file's path (malloc'd). */
const char *store_data_dir(const struct store *s);
char *store_index_path(const struct store *s);
/* Messages and bytes stored since start; group commits and the files
 * they made durable (0 without a commit thread). */
void store_stats(const struct store *s, uint64_t *delivered, uint64_t *delivered_bytes, uint64_t *batches,
                 uint64_t *files);
/* API id of a message: the Maildir unique name up to the first ','. */
void store_api_id(const char *base, buf_t *out);

/* Maildir path of an account's mailbox. */
void store_mailbox_path(struct store *s, const char *account, const char *mailbox, buf_t *out);
/* List accounts that have a Maildir ("user@domain"), malloc'd, NULL-terminated. */
char **store_accounts(struct store *s);
void store_strv_free(char **v);
/* Maildir++ folder names of an account (without INBOX), NULL-terminated. */
char **store_folders(struct store *s, const char *account);
/* Bring one mailbox's index in line with its Maildir if its new/ or cur/
 * changed since the last look (cheap when nothing changed: two stat()s);
 * changes found are announced to every observer (STORE_EV_CHANGED).
 * Returns the number of changes found, 0 when none, -1 on error. */
int store_sync_mailbox(struct store *s, const char *account, const char *mailbox);
/* Sync one account's mailboxes (all folders) with their Maildirs. */
int store_sync_account(struct store *s, const char *account);

void store_subscribe(struct store *s, store_observer_fn fn, void *arg);
void store_unsubscribe(struct store *s, store_observer_fn fn, void *arg);
/* Announce a change; ev->origin NULL: the current origin. */
void store_notify(struct store *s, const struct store_event *ev);
/* Changes made from here to store_origin_end carry origin in their
 * events (a session or server passes itself), so each observer can tell
 * its own changes from others'. Nests: end restores what begin returned. */
const void *store_origin_begin(struct store *s, const void *origin);
void store_origin_end(struct store *s, const void *prev);

/* --- messages -------------------------------------------------------- */

struct store_msg {
    int64_t row;          /* messages.id */
    int64_t mailbox_id;
    uint32_t uid;
    char *account;
    char *mailbox;        /* "INBOX", "Sent", "a.b" */
    char *path;           /* current file path */
    char *api_id;
    int flags;            /* MSG_* bits */
    char *keywords;       /* space separated */
    int64_t size;         /* RFC822 size (CRLF) */
    int64_t internaldate;
    uint64_t modseq;
};

/* Load one message by row id. 0, or -1 if there is no such row. */
int store_msg_get(struct store *s, int64_t row, struct store_msg *out);
/* Find by API id (Maildir unique name); 0 or -1. */
int store_msg_find_api_id(struct store *s, const char *api_id, struct store_msg *out);
void store_msg_free(struct store_msg *m);
/* Set flags (and keywords unless NULL): the file moves to cur/ with the
 * Maildir info letters ":2,DFRST" and a letter a-z per keyword (named in
 * the folder's dovecot-keywords), the index row gets a new MODSEQ and
 * observers hear STORE_EV_UPDATE. 0 or -errno. */
int store_set_flags(struct store *s, int64_t row, int flags, const char *keywords);
/* How store_update_flags changes a message's flags and keywords. */
enum store_flags_op { STORE_FLAGS_ADD, STORE_FLAGS_REMOVE, STORE_FLAGS_REPLACE };

/* A message's flags as stored. */
struct store_flags {
    int flags;      /* MSG_* bits */
    char *keywords; /* space separated, "" when none; malloc'd */
    uint64_t modseq;
};
#define STORE_FLAGS_MODIFIED 1

/* Change flags and keywords (NULL: none) as one read-modify-write in one
 * index transaction, starting from what is stored (not from what a caller
 * saw earlier): ADD sets them, REMOVE clears them, REPLACE makes them the
 * whole set. With unchangedsince (RFC 7162 UNCHANGEDSINCE), nothing is
 * changed when the stored MODSEQ is greater. Nothing is written when the
 * result equals what is stored. out (may be NULL; free with
 * store_flags_free) gets the stored result. Returns 0,
 * STORE_FLAGS_MODIFIED (out: the stored values), or -errno (-ENOENT: no
 * such message). */
int store_update_flags(struct store *s, int64_t row, enum store_flags_op op, int flags, const char *keywords,
                       const uint64_t *unchangedsince, struct store_flags *out);
void store_flags_free(struct store_flags *f);
/* store_update_flags for n messages (IMAP STORE of a set), grouped in one
 * index transaction. Each message is still its own change, as RFC 3501
 * STORE is per message: one that cannot be changed (expunged meanwhile,
 * its file not renamable) is left as it was and the others change.
 * rcs[i] gets store_update_flags' result for rows[i], and out[i] (n
 * entries, may be NULL; free each with store_flags_free) its values. */
void store_update_flags_set(struct store *s, const int64_t *rows, size_t n, enum store_flags_op op, int flags,
                            const char *keywords, const uint64_t *unchangedsince, int *rcs, struct store_flags *out);
/* Remove a message for good: unlink, drop the row, STORE_EV_EXPUNGE. */
int store_expunge(struct store *s, int64_t row);
/* IMAP EXPUNGE: remove those of rows whose stored flags have \Deleted
 * (another session may have cleared it since the caller looked), in one
 * index transaction. Returns how many were removed. */
size_t store_expunge_deleted(struct store *s, const int64_t *rows, size_t n);
/* Remove the given messages for good (MOVE's sources once copied), in one
 * index transaction; those gone already are skipped. Returns how many
 * were removed. */
size_t store_expunge_set(struct store *s, const int64_t *rows, size_t n);
/* Copy a message into another mailbox of the same account (hard link
 * when possible); returns 0 with the new row and UID. */
int store_copy(struct store *s, int64_t row, const char *dest_mailbox, int64_t *new_row, uint32_t *new_uid);
/* Copy n messages of one account into dest_mailbox as one change: every
 * copy is made or none is. Returns 0 with the new UIDs and rows (in order,
 * either may be NULL), -ESTALE when a message has been expunged meanwhile
 * (a message whose file has vanished is expunged now, so that sessions are
 * told), -ENOENT when dest_mailbox does not exist, or another -errno. The
 * destination directory is not synced: the caller makes the copies durable
 * with store_sync_mailbox_dir(). */
int store_copy_set(struct store *s, const int64_t *rows, size_t n, const char *dest_mailbox, uint32_t *uids_out,
                   int64_t *rows_out);
/* fsync a mailbox's cur/ directory on the commit thread, then cb(result,
 * arg) on the event loop (synchronously when there is no commit thread). */
void store_sync_mailbox_dir(struct store *s, const char *account, const char *mailbox, void (*cb)(int, void *),
                            void *arg);
/* Store a complete message (CRLF or LF line ends; kept with LF) in a
 * mailbox durably (IMAP APPEND). internaldate 0 means now. */
int store_append(struct store *s, const char *account, const char *mailbox, const char *data, size_t len, int flags,
                 const char *keywords, int64_t internaldate, int64_t *new_row, uint32_t *new_uid);
/* One message of store_append_set. */
struct store_append_msg {
    const char *data; /* CRLF or LF line ends; kept with LF */
    size_t len;
    int flags;             /* MSG_* */
    const char *keywords;  /* space separated, may be NULL */
    int64_t internaldate;  /* 0: now */
};
/* Store n messages in a mailbox, all or nothing (IMAP MULTIAPPEND): every
 * file is written and synced first, then all rows are added in one index
 * change; if any step fails nothing is kept (files removed, rows rolled
 * back). uids_out/rows_out (n each, may be NULL) get the new UIDs/rows.
 * 0 or -errno. */
int store_append_set(struct store *s, const char *account, const char *mailbox, const struct store_append_msg *msgs,
                     size_t n, uint32_t *uids_out, int64_t *rows_out);
/* Create / delete / rename a Maildir++ folder with its index entry. */
int store_mailbox_create(struct store *s, const char *account, const char *mailbox);
int store_mailbox_delete(struct store *s, const char *account, const char *mailbox);
int store_mailbox_rename(struct store *s, const char *account, const char *from, const char *to);

/* --- delivery ---------------------------------------------------------- */

/* One message being delivered into one or more accounts' INBOX. */
struct store_delivery {
    struct store *store;
    size_t n;
    char **accounts;
    struct maildir_file *files;
    char *mail_from;
    char *rcpts;
    struct msg_summary summary; /* filled on the commit thread */
    int64_t *rows;              /* per account: index row and UID, set on */
    uint32_t *uids;             /* the commit thread (0 if indexing failed) */
    int64_t *mailbox_ids;
    bool *in_sync;              /* mailbox index matched its Maildir at begin */
    int64_t internaldate;
    void (*done)(struct store_delivery *d, int result, void *arg);
    void *arg;
    int result;
};

/* Start: one tmp file per account. 0 or -errno (then d is cleaned up). */
int store_delivery_begin(struct store *s, struct store_delivery *d, char *const *accounts, size_t n,
                         const char *mail_from, const char *rcpts);
/* Account-specific header lines (Delivered-To...) before the common data. */
void store_delivery_write_one(struct store_delivery *d, size_t i, const void *p, size_t len);
/* Data common to every copy. */
void store_delivery_write(struct store_delivery *d, const void *p, size_t len);
/* Make durable (group commit), index, notify; then done() on the loop. */
void store_delivery_commit(struct store_delivery *d, void (*done)(struct store_delivery *d, int result, void *arg),
                           void *arg);
void store_delivery_abort(struct store_delivery *d);
/* Free after done() ran. */
void store_delivery_free(struct store_delivery *d);

#endif
