/*
 * summary - what the index keeps about a message, extracted with GMime:
 * decoded (RFC 2047, charset-converted) addresses and subject, the
 * Message-ID, the Date header, IMAP SORT/THREAD keys (base subject,
 * first addresses, In-Reply-To, References), attachment counts, a text
 * snippet and a bounded body text for full-text search. Safe to call on any thread
 * once summary_init() ran.
 */
#ifndef DEVMAIL_SUMMARY_H
#define DEVMAIL_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

/* Body text kept for search per message; longer bodies are cut. */
#define SUMMARY_MAX_TEXT (256 * 1024)
/* Characters of text in a snippet (as Mailpit's ~250). */
#define SUMMARY_SNIPPET_CHARS 250
/* Message-IDs kept from a References header (the last ones: the nearest
 * ancestors); threading needs no more to place a message. */
#define SUMMARY_MAX_REFERENCES 128

struct msg_summary {
    char *hdr_from;     /* "Name <a@b>" list, decoded UTF-8 */
    char *hdr_to;
    char *hdr_cc;
    char *hdr_bcc;
    char *hdr_reply_to;
    char *subject;
    char *message_id;   /* without <> */
    int64_t sent_date;  /* Date: header as unix time, 0 if absent/bad */
    int32_t sent_tz;    /* its zone as written, seconds east of UTC */
    int attachments;
    int inlines;
    char *snippet;
    char *text;         /* plain text (or text of the HTML), bounded */
    char *return_path;  /* Return-Path: address (envelope sender), no <> */
    char *original_to;  /* X-Original-To: values, comma separated (envelope recipients) */
    /* IMAP SORT (RFC 5256, RFC 5957) and THREAD keys, i;unicode-casemap
     * folded (core/base_subject.h): compared byte-wise, never re-parsed */
    char *sort_subject;  /* base subject (RFC 5256 2.1) */
    int subject_is_reply; /* base subject extraction removed Re:/Fwd: etc. */
    char *sort_from;     /* addr-mailbox of the first From address ("" none) */
    char *sort_to;
    char *sort_cc;
    char *sort_display_from; /* display name of the first From, else its addr-spec */
    char *sort_display_to;
    char *in_reply_to;   /* first Message-ID of In-Reply-To, without <> */
    char *references;    /* References: Message-IDs without <>, space separated */
    char *auth_user;    /* "(Authenticated sender: X)" of the topmost Received: (devmail's own,
                         * as Postfix writes it), or "" */
    char *auto_tags;    /* keywords of Mailpit's automatic tags (core/tags.h): the
                         * X-Tags header and +tag in From/To/Cc/Bcc addresses */
};

/* Process-wide GMime initialisation; call once before any thread uses it. */
void summary_init(void);
/* 0, or -1 if the file cannot be read (a malformed message still gives a summary). */
int summary_from_file(const char *path, struct msg_summary *s);
int summary_from_bytes(const char *data, size_t len, struct msg_summary *s);
void summary_free(struct msg_summary *s);

#endif
