/*
 * view - what a protocol session shows of a mailbox, as typed reads of the
 * index: a mailbox's identity and counters, its messages in UID order
 * (IMAP's snapshot, POP3's maildrop), the \Recent claim, STATUS counts
 * and subscriptions. Only src/store/ knows the SQL behind them.
 *
 * All calls are made on the event loop thread, on the store's own index
 * connection. Errors are logged here with what failed on what; callers
 * only decide what to answer.
 */
#ifndef DEVMAIL_STORE_VIEW_H
#define DEVMAIL_STORE_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

struct store;

/* A mailbox as the index knows it. */
struct store_mailbox_info {
    int64_t id;             /* mailboxes.id: never given out twice */
    uint32_t uidvalidity;
    uint32_t uidnext;
    uint64_t highestmodseq;
};

/* Look a mailbox up; with create, make its index entry when missing (the
 * Maildir folder is not touched). 0, or -ENOENT (-EIO when create failed). */
int store_mailbox_info(struct store *s, const char *account, const char *name, bool create,
                       struct store_mailbox_info *out);

/* One message of a mailbox view. */
struct store_view_msg {
    int64_t row;     /* messages.id; 0 in store_view_lookup: no such UID */
    uint32_t uid;
    int flags;       /* MSG_* */
    uint64_t modseq;
    char *keywords;  /* space separated, NULL when none; malloc'd */
    bool recent;     /* not yet claimed by a read-write session */
};

/* The messages of a mailbox with a UID above after_uid, in UID order, in
 * one read. 0 with *msgs_r (free with store_view_free; NULL when none)
 * and *n_r, or -EIO (nothing returned). */
int store_view_load(struct store *s, int64_t mailbox_id, uint32_t after_uid, struct store_view_msg **msgs_r,
                    size_t *n_r);
/* The stored state of the given UIDs: out[i] (n entries, caller's array)
 * gets the message with uids[i], or row 0 when it is gone. Keywords in
 * out are malloc'd (store_view_msg_clear each). 0 or -EIO (out cleared). */
int store_view_lookup(struct store *s, int64_t mailbox_id, const uint32_t *uids, size_t n,
                      struct store_view_msg *out);
/* Free keywords of one entry / of a whole array from store_view_load. */
void store_view_msg_clear(struct store_view_msg *m);
void store_view_free(struct store_view_msg **msgs, size_t n);

/* A read-write session claims \Recent (RFC 3501 2.3.2) for the messages
 * with after_uid < UID <= upto_uid: no other session will see them as
 * recent. One statement. Returns how many were claimed, or -EIO. */
int store_view_claim_recent(struct store *s, int64_t mailbox_id, uint32_t after_uid, uint32_t upto_uid);

/* The name of the mailbox with this id, appended to out: 0, -ENOENT (no
 * such mailbox now) or -EIO. */
int store_mailbox_name_of(struct store *s, int64_t mailbox_id, buf_t *out);

/* Counters of a mailbox (IMAP STATUS). */
struct store_mailbox_status {
    struct store_mailbox_info info;
    uint64_t messages, unseen, recent;
    uint64_t size; /* sum of RFC822 sizes */
};

/* 0, -ENOENT (no such mailbox) or -EIO. */
int store_mailbox_status(struct store *s, const char *account, const char *name, struct store_mailbox_status *out);

/* Subscriptions (IMAP SUBSCRIBE/LSUB, LIST (SUBSCRIBED)): a list of names
 * of its own (RFC 3501 6.3.6, RFC 9051): a name may be subscribed whether
 * or not a mailbox has it, and deleting a mailbox keeps its name
 * subscribed. 0 or -EIO. */
int store_mailbox_set_subscribed(struct store *s, const char *account, const char *name, bool on);
/* 1 subscribed, 0 not, -EIO. */
int store_mailbox_is_subscribed(struct store *s, const char *account, const char *name);
/* The subscribed names of an account, sorted, NULL-terminated (free with
 * store_strv_free); NULL on error. */
char **store_subscriptions(struct store *s, const char *account);

/* One message of an account's INBOX (POP3's maildrop). */
struct store_inbox_msg {
    int64_t row;
    uint32_t uid;
    uint32_t uidvalidity;
    int64_t size;   /* RFC822 size (CRLF) */
    char *api_id;   /* Maildir unique name; malloc'd */
};

/* The INBOX of an account as the index lists it now, in UID order. 0 with
 * *msgs_r (free with store_inbox_free; NULL when empty) and *n_r, or -EIO. */
int store_inbox_list(struct store *s, const char *account, struct store_inbox_msg **msgs_r, size_t *n_r);
void store_inbox_free(struct store_inbox_msg **msgs, size_t n);

#endif
