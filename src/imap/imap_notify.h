/*
 * imap_notify - the arguments of NOTIFY (RFC 5465) parsed from imap_parser
 * arguments, and which event group applies to a mailbox name. Pure: no
 * session, no store; mailbox names stay as the client wrote them (the
 * session decodes them).
 *
 *   notify          = "NOTIFY" SP (notify-set / notify-none)
 *   notify-none     = "NONE"
 *   notify-set      = "SET" [SP "STATUS"] SP event-group *(SP event-group)
 *   event-group     = "(" filter-mailboxes SP events ")"
 *   filter-mailboxes = "selected" / "selected-delayed" / "inboxes" /
 *                     "personal" / "subscribed" /
 *                     ("subtree" SP one-or-more-mailbox) /
 *                     ("mailboxes" SP one-or-more-mailbox)
 *   one-or-more-mailbox = mailbox / "(" mailbox *(SP mailbox) ")"
 *   events          = ("(" event *(SP event) ")") / "NONE"
 *   event           = ("MessageNew" [SP "(" fetch-att *(SP fetch-att) ")"]) /
 *                     "MessageExpunge" / "FlagChange" / "AnnotationChange" /
 *                     "MailboxName" / "SubscriptionChange" /
 *                     "MailboxMetadataChange" / "ServerMetadataChange" / atom
 *
 * BAD (RFC 5465 5, 6.1, 8): a second selected filter, events other than
 * message events with it, MessageNew without MessageExpunge or the other
 * way round, FlagChange without both, fetch attributes with a filter other
 * than selected, an empty list. For the other filters the MessageNew /
 * MessageExpunge / FlagChange pairing is not enforced: Dovecot accepts
 * "(mailboxes x (MessageExpunge))" and clients written against it send
 * such groups. Events that are well formed but not offered (ANNOTATE and
 * METADATA ones, unknown atoms) are reported as unsupported: the session
 * answers NO [BADEVENT (the events it offers)].
 */
#ifndef DEVMAIL_IMAP_NOTIFY_H
#define DEVMAIL_IMAP_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "imap/imap_parser.h"

enum {
    IMAP_NOTIFY_MESSAGE_NEW = 1 << 0,
    IMAP_NOTIFY_MESSAGE_EXPUNGE = 1 << 1,
    IMAP_NOTIFY_FLAG_CHANGE = 1 << 2,
    IMAP_NOTIFY_ANNOTATION_CHANGE = 1 << 3,
    IMAP_NOTIFY_MAILBOX_NAME = 1 << 4,
    IMAP_NOTIFY_SUBSCRIPTION_CHANGE = 1 << 5,
    IMAP_NOTIFY_MAILBOX_METADATA_CHANGE = 1 << 6,
    IMAP_NOTIFY_SERVER_METADATA_CHANGE = 1 << 7,
};
#define IMAP_NOTIFY_MESSAGE_EVENTS                                                                                    \
    (IMAP_NOTIFY_MESSAGE_NEW | IMAP_NOTIFY_MESSAGE_EXPUNGE | IMAP_NOTIFY_FLAG_CHANGE | IMAP_NOTIFY_ANNOTATION_CHANGE)
/* What devmail reports (no ANNOTATE, no METADATA). */
#define IMAP_NOTIFY_SUPPORTED                                                                                         \
    (IMAP_NOTIFY_MESSAGE_NEW | IMAP_NOTIFY_MESSAGE_EXPUNGE | IMAP_NOTIFY_FLAG_CHANGE | IMAP_NOTIFY_MAILBOX_NAME |    \
     IMAP_NOTIFY_SUBSCRIPTION_CHANGE)

enum imap_notify_filter {
    IMAP_NOTIFY_INBOXES,
    IMAP_NOTIFY_PERSONAL,
    IMAP_NOTIFY_SUBSCRIBED,
    IMAP_NOTIFY_SUBTREE,
    IMAP_NOTIFY_MAILBOXES,
};

/* One event group for mailboxes other than the selected one. */
struct imap_notify_group {
    enum imap_notify_filter filter;
    unsigned events;                /* IMAP_NOTIFY_* bits */
    const struct imap_arg *names;   /* SUBTREE / MAILBOXES: astrings, in the args */
    size_t nnames;
};

struct imap_notify_request {
    bool none;             /* NOTIFY NONE */
    bool status;           /* SET STATUS: a STATUS now for each mailbox watched */
    bool selected;         /* a selected or selected-delayed group was given */
    bool selected_delayed; /* selected-delayed: expunges wait for a command */
    unsigned selected_events;
    const struct imap_arg *fetch; /* MessageNew's fetch-att list (a LIST), or NULL */
    struct imap_notify_group *groups; /* malloc'd; free with imap_notify_request_free */
    size_t ngroups;
    unsigned unsupported; /* known events asked for that devmail does not offer */
    bool unknown;         /* an event name outside RFC 5465 (event-ext) */
};

/* Parse NOTIFY's arguments. true with *req filled (it points into args),
 * or false with *why set (answer BAD). */
bool imap_notify_parse(const struct imap_arg *args, size_t nargs, struct imap_notify_request *req,
                       const char **why);
void imap_notify_request_free(struct imap_notify_request *req);

/* The names of the events in bits, space separated, in RFC order. */
void imap_notify_event_names(unsigned bits, char *out, size_t outsz);

/* Does name fall under a subtree root (the root itself or below it, with
 * '.' as the hierarchy separator)? */
bool imap_notify_in_subtree(const char *root, const char *name);

#endif
