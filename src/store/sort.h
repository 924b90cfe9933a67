/*
 * sort - what IMAP SORT (RFC 5256, RFC 5957 SORT=DISPLAY) and THREAD
 * (RFC 5256) read from the index: keys stored once per message when it
 * was indexed (summary.h), so no message file is opened per command.
 *
 * All calls are made on the event loop thread, on the store's own index
 * connection. Errors are logged here; callers only decide what to answer.
 */
#ifndef DEVMAIL_STORE_SORT_H
#define DEVMAIL_STORE_SORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

/* RFC 5256 sort-key (and RFC 5957's DISPLAYFROM / DISPLAYTO). */
enum store_sort_key {
    STORE_SORT_ARRIVAL,     /* INTERNALDATE */
    STORE_SORT_CC,          /* addr-mailbox of the first Cc */
    STORE_SORT_DATE,        /* Date: header (as UTC), else INTERNALDATE */
    STORE_SORT_FROM,
    STORE_SORT_SIZE,        /* RFC822.SIZE */
    STORE_SORT_SUBJECT,     /* base subject */
    STORE_SORT_TO,
    STORE_SORT_DISPLAYFROM, /* display name of the first From, else addr-spec */
    STORE_SORT_DISPLAYTO,
};

struct store_sort_criterion {
    enum store_sort_key key;
    bool reverse;
};

/* Sort the messages with the given UIDs (ascending; a SEARCH result) of a
 * mailbox by the criteria, in order; messages equal under all of them
 * stay in UID order (RFC 5256: "in ascending order by their order in the
 * mailbox"). Text keys compare i;unicode-casemap folded. out (n entries,
 * caller's) gets the sorted UIDs and *nout how many: fewer than n when
 * some were expunged from the index meanwhile. 0 or -EIO. */
int store_sort_uids(struct store *s, int64_t mailbox_id, const struct store_sort_criterion *crit, size_t ncrit,
                    const uint32_t *uids, size_t n, uint32_t *out, size_t *nout);

/* What THREAD needs of one message. Strings stay valid until
 * store_thread_set_free; "" when the message has none. */
struct store_thread_msg {
    uint32_t uid;
    int64_t date;            /* sent date: Date: header, else INTERNALDATE */
    const char *message_id;  /* without <> */
    const char *in_reply_to; /* first Message-ID of In-Reply-To */
    const char *references;  /* Message-IDs, space separated, oldest first */
    const char *subject;     /* base subject key (core/base_subject.h) */
    bool reply;              /* the subject was a reply or forward */
};

struct store_thread_set {
    struct store_thread_msg *msgs; /* in UID order */
    size_t n;
    void *strings; /* owns the strings */
};

/* The threading data of the given UIDs (ascending) of a mailbox, in UID
 * order; UIDs expunged from the index meanwhile are left out. 0 with *out
 * filled (free with store_thread_set_free), or -EIO. */
int store_thread_load(struct store *s, int64_t mailbox_id, const uint32_t *uids, size_t n,
                      struct store_thread_set *out);
void store_thread_set_free(struct store_thread_set *set);

/* Rows indexed before the sort keys existed get them now: their message
 * files are read once (store_open calls this). Returns how many rows were
 * filled, or -1. */
int store_sort_keys_fill(struct store *s);

#endif
