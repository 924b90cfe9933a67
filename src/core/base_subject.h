/*
 * base_subject - the "base subject" of a message (RFC 5256 2.1) and the
 * i;unicode-casemap comparison key (RFC 5051) that IMAP SORT (SUBJECT),
 * SORT=DISPLAY (RFC 5957) and THREAD compare.
 *
 * Input is the Subject already decoded from RFC 2047 to UTF-8 (the store
 * decodes it once, at delivery). Pure functions: no I/O, no global state;
 * any bytes are accepted (invalid UTF-8 is replaced, NULs end the text).
 */
#ifndef DEVMAIL_CORE_BASE_SUBJECT_H
#define DEVMAIL_CORE_BASE_SUBJECT_H

#include <stdbool.h>
#include <stddef.h>

/* Longest subject looked at; the rest is ignored (a subject this long
 * sorts by its first BASE_SUBJECT_MAX_INPUT bytes). */
#define BASE_SUBJECT_MAX_INPUT (16 * 1024)

/* RFC 5256 2.1 steps (1)-(7): white space runs become one space, then
 * trailing "(fwd)", leading "Re:"/"Fw:"/"Fwd:" (with "[blob]"s before
 * them), leading "[blob]"s that leave text, and a "[fwd: ...]" wrapper
 * are removed until nothing more matches. *is_reply_r (may be NULL) is
 * set when a subj-refwd, a "(fwd)" trailer or a "[fwd: ]" wrapper was
 * removed (RFC 5256 section 4: "reply or forward"); a list "[blob]" alone
 * does not count. Returns a malloc'd string (possibly ""), never NULL. */
char *base_subject_extract(const char *subject, size_t len, bool *is_reply_r);

/* The i;unicode-casemap key of a UTF-8 string (RFC 5051): each character
 * mapped to its titlecase, then fully decomposed (NFKD; decomposed before
 * titlecasing too, so ligatures fold letter by letter). Two strings are
 * equal under the comparator exactly when their keys are byte-equal, and
 * memcmp() of keys orders them as the comparator does. malloc'd. */
char *base_subject_casemap(const char *s, size_t len);

/* base_subject_casemap(base_subject_extract(...)): the SORT (SUBJECT)
 * and THREAD key of a decoded Subject. malloc'd. */
char *base_subject_key(const char *subject, size_t len, bool *is_reply_r);

#endif
