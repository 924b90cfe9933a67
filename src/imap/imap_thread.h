/*
 * imap_thread - the RFC 5256 threading algorithms ORDEREDSUBJECT and
 * REFERENCES over a set of messages, and the THREAD response's
 * thread-list syntax (RFC 5256 5). Pure: the caller gives what the index
 * holds of each message; no I/O, no session.
 *
 * Hostile input is expected (References written by any client): loops,
 * duplicate and missing Message-IDs, self references and very long
 * chains. Every walk is iterative (no recursion over the tree), and a
 * link that would close a loop is never made, so the result is a forest.
 */
#ifndef DEVMAIL_IMAP_THREAD_H
#define DEVMAIL_IMAP_THREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* One message, in mailbox order (the order decides ties). */
struct imap_thread_msg {
    uint32_t id;             /* the number written: sequence number or UID */
    int64_t date;            /* sent date (RFC 5256 2.2) */
    const char *message_id;  /* without <>; "" or NULL when none */
    const char *in_reply_to; /* one Message-ID, used when references is empty */
    const char *references;  /* Message-IDs separated by spaces, oldest first */
    const char *subject;     /* base subject, i;unicode-casemap key */
    bool reply;              /* the subject was a reply or forward (RFC 5256 4) */
};

/* Append the threads of msgs[0..n) to out as RFC 5256 thread-lists
 * ("(1 2)(3 (4)(5))"); nothing for n == 0. The caller writes "* THREAD"
 * before it (and a space when out is not empty). */
void imap_thread_orderedsubject(const struct imap_thread_msg *msgs, size_t n, buf_t *out);
void imap_thread_references(const struct imap_thread_msg *msgs, size_t n, buf_t *out);

#endif
