/*
 * search_query - Mailpit's search language, parsed into a list of terms.
 *
 * Pure: bytes in, terms out (each a field, a value, a negation); the
 * terms of a query are ANDed, as in Mailpit, whose language has no OR.
 * No sockets, no database: the store compiles the terms into its own
 * query (store/search_compile.h). Used by GET/DELETE /api/v1/search and
 * PUT /api/v1/messages.
 *
 * Language (all terms ANDed, prefixes case-insensitive):
 *   word  "quoted phrase"         full text (subject, addresses, body)
 *   -term  !term                  negation
 *   from: to: cc: bcc: reply-to: subject: message-id:   substring match
 *   addressed:                    To, From, Cc, Bcc, Reply-To or envelope
 *                                 recipients (as Mailpit: all address fields)
 *   tag:X                         X is one of the message's keywords
 *   is:read is:unread is:tagged   has:attachment(s) has:inline(s)
 *   larger:10K smaller:1.5M       sizes in bytes, K/M/G = 1024-based
 *   before:2024-01-02 after:...   YYYY-MM-DD (or /), or RFC 3339 datetime
 *
 * Quotes group words (`from:"John Doe"`, `"subject:two words"`) and are
 * removed; an unterminated quote runs to the end of the input. An unknown
 * prefix (`foo:bar`, `is:foo`, `larger:abc`) is a plain word, as in
 * Mailpit. A prefix with an empty value (`from:`) is ignored, as in
 * Mailpit. Unlike Mailpit, an unparseable date is an error (Mailpit
 * ignores the term, which would turn DELETE /api/v1/search into "delete
 * everything").
 *
 * Errors (the API answers 400 with the reason): input longer than
 * SEARCH_QUERY_MAX_BYTES, more than SEARCH_QUERY_MAX_TERMS terms, a NUL
 * byte, a bad date. An empty query parses to zero terms; Mailpit's API
 * answers 400 for that, which is the caller's decision.
 */
#ifndef DEVMAIL_CORE_SEARCH_QUERY_H
#define DEVMAIL_CORE_SEARCH_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Longest query accepted, in bytes. */
#define SEARCH_QUERY_MAX_BYTES 8192
/* Most terms in one query (each costs a clause in the WHERE). */
#define SEARCH_QUERY_MAX_TERMS 64
/* Digits accepted in the integer part of a larger:/smaller: size. */
#define SEARCH_QUERY_MAX_SIZE_DIGITS 15

enum search_query_kind {
    SEARCH_QUERY_TEXT = 0,
    SEARCH_QUERY_FROM,
    SEARCH_QUERY_TO,
    SEARCH_QUERY_CC,
    SEARCH_QUERY_BCC,
    SEARCH_QUERY_REPLY_TO,
    SEARCH_QUERY_ADDRESSED,
    SEARCH_QUERY_SUBJECT,
    SEARCH_QUERY_MESSAGE_ID,
    SEARCH_QUERY_TAG,
    SEARCH_QUERY_IS_READ,
    SEARCH_QUERY_IS_UNREAD,
    SEARCH_QUERY_IS_TAGGED,
    SEARCH_QUERY_HAS_ATTACHMENT,
    SEARCH_QUERY_HAS_INLINE,
    SEARCH_QUERY_LARGER,
    SEARCH_QUERY_SMALLER,
    SEARCH_QUERY_BEFORE,
    SEARCH_QUERY_AFTER,
};

struct search_query_term {
    enum search_query_kind kind;
    bool negated;
    char *value;      /* text kinds: NUL-terminated, trimmed, never empty; else NULL */
    size_t value_len;
    int64_t number;   /* LARGER/SMALLER: bytes; BEFORE/AFTER: unix seconds */
    bool zoneless;    /* BEFORE/AFTER: the date named no zone (tz_offset was applied) */
};

struct search_query {
    struct search_query_term *terms;
    size_t count;
};

/* Parse q[0..len). tz_offset is seconds east of UTC applied to dates and
 * datetimes without an explicit zone (0: UTC). 0 on success (out owns the
 * terms; free with search_query_free), -1 with a reason appended to err. */
int search_query_parse(const char *q, size_t len, long tz_offset, struct search_query *out, buf_t *err);
void search_query_free(struct search_query *q);
/* One date as the before:/after: terms take it (YYYY-MM-DD, with / too, or
 * RFC 3339), tz_offset applied when it names no zone (*zoneless set).
 * false: not such a date. */
bool search_query_parse_date(const char *s, size_t n, long tz_offset, int64_t *out, bool *zoneless);
/* Append a BEFORE or AFTER term at unix time t (the API's before=
 * parameter). 0, or -1 with a reason (too many terms). */
int search_query_add_date(struct search_query *q, enum search_query_kind kind, int64_t t, bool zoneless, buf_t *err);
/* "text", "from", ..., "after": for logs and tests. */
const char *search_query_kind_name(enum search_query_kind kind);

#endif
