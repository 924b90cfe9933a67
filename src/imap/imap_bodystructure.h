/*
 * imap_bodystructure - the MIME side of FETCH: ENVELOPE, BODY and
 * BODYSTRUCTURE strings (RFC 3501 7.4.2) and BODY[section] byte ranges,
 * for one message given as bytes.
 *
 * Byte exactness: BODY[section]<partial>, RFC822.SIZE and the sizes and
 * line counts inside BODYSTRUCTURE must all speak of the same bytes, so the
 * MIME tree is found by our own scanner over the raw bytes (header blocks,
 * multipart boundaries, message/rfc822 bodies), never by re-serializing
 * GMime objects. GMime parses the header values that need real MIME
 * grammar: Content-Type and Content-Disposition parameters, including
 * RFC 2231 continuations and charsets (values that are not ASCII after
 * decoding are written back as RFC 2231 "name*" "utf-8''..." pairs, as
 * Dovecot shows them). ENVELOPE strings are the raw header values unfolded
 * (RFC 2047 words stay encoded, as in Dovecot); addresses are split by a
 * small RFC 5322 parser here.
 *
 * Pass the message as the client sees it: Maildir files hold LF line ends
 * but IMAP speaks CRLF, so convert with imap_bodystructure_crlf() first
 * (sizes then agree with RFC822.SIZE). Bare LF input also parses.
 *
 * Strings are written quoted (with \ and " escaped) unless they contain
 * CR, LF, NUL or 8-bit bytes, which are sent as literals {n}.
 * Output was checked against Dovecot 2.3 on the fixtures in
 * tests/unit/messages/ (differences: Dovecot also uses literals for
 * strings with " or \ and for folded header values).
 *
 * GMime: imap_bodystructure_init() runs g_mime_init() once (pthread_once);
 * imap_bodystructure_parse() calls it itself, so no separate setup is
 * needed, and a process-wide g_mime_init() elsewhere is harmless.
 *
 * Bounds: MIME nesting deeper than IMAP_BODYSTRUCTURE_MAX_DEPTH or more
 * than IMAP_BODYSTRUCTURE_MAX_PARTS parts: the rest is shown as opaque
 * application/octet-stream leaves. Recursion is bounded by the depth limit.
 */
#ifndef DEVMAIL_IMAP_BODYSTRUCTURE_H
#define DEVMAIL_IMAP_BODYSTRUCTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Nesting of multiparts and message/rfc822 parts. */
#define IMAP_BODYSTRUCTURE_MAX_DEPTH 32
/* MIME parts in one message. */
#define IMAP_BODYSTRUCTURE_MAX_PARTS 5000
/* Part numbers in a section specification ("1.2.3"). */
#define IMAP_SECTION_MAX_PARTS IMAP_BODYSTRUCTURE_MAX_DEPTH
/* Field names in HEADER.FIELDS (...). */
#define IMAP_SECTION_MAX_FIELDS 256

struct imap_bodystructure; /* a parsed message; refers to the caller's bytes */

void imap_bodystructure_init(void);
/* Scan a message; data must stay valid and unchanged until _free. Never
 * fails: malformed MIME gives a best-effort tree (as Dovecot). */
struct imap_bodystructure *imap_bodystructure_parse(const char *data, size_t len);
void imap_bodystructure_free(struct imap_bodystructure *bs);

/* Append "(date subject from sender reply-to to cc bcc in-reply-to
 * message-id)" for the top-level message. */
void imap_bodystructure_envelope(const struct imap_bodystructure *bs, buf_t *out);
/* Append the BODYSTRUCTURE (extended true) or BODY (extended false)
 * parenthesized list. */
void imap_bodystructure_write(const struct imap_bodystructure *bs, bool extended, buf_t *out);

/* A BODY[section] result: data/len point into the message bytes, or into
 * owned (HEADER.FIELDS builds its answer). */
struct imap_section {
    const char *data;
    size_t len;
    bool found;  /* false: the part does not exist (data is "") */
    /* the body of a numbered part that is neither multipart nor an
     * embedded message (BINARY decodes it): its Content-Transfer-Encoding
     * as written, NULL if none (pointer into the parsed tree) */
    bool leaf_body;
    const char *cte;
    buf_t owned;
};

/* Resolve a section spec (the text between [ and ]): "", "HEADER",
 * "TEXT", "HEADER.FIELDS (A B)", "HEADER.FIELDS.NOT (A)", "1", "1.2",
 * "1.2.MIME", "2.HEADER", "2.TEXT", ... (case-insensitive, spacing
 * tolerant). A part that does not exist gives found = false and an empty
 * result (the session may answer NIL or ""). false only for a malformed spec (reply BAD);
 * *reason then says why. Free out with imap_section_free. */
bool imap_bodystructure_section(const struct imap_bodystructure *bs, const char *spec, size_t spec_len,
                                struct imap_section *out, const char **reason);
void imap_section_free(struct imap_section *s);
/* Apply <offset.count> to a section: adjusts data/len in place. */
void imap_section_partial(struct imap_section *s, uint64_t offset, uint64_t count);

/* Append a string as an IMAP quoted string or literal; nstring: NULL -> NIL. */
void imap_bodystructure_append_string(buf_t *out, const char *s, size_t len);
void imap_bodystructure_append_nstring(buf_t *out, const char *s);
/* Convert line ends to CRLF (bare LF -> CRLF, CRLF kept), appending to out. */
void imap_bodystructure_crlf(const char *data, size_t len, buf_t *out);

#endif
