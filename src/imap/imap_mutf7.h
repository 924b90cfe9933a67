/*
 * imap_mutf7 - modified UTF-7 mailbox names (RFC 3501 5.1.3) and the
 * mailbox-name validator that keeps every name inside the account's
 * Maildir++ tree (hierarchy separator ".").
 *
 * Decoding is strict: printable ASCII must appear literally (never inside a
 * base64 run), "&" only as "&-", base64 runs must be non-empty, end with
 * "-", carry whole UTF-16 units with zero padding bits and valid surrogate
 * pairs. Encoding takes valid UTF-8 only.
 */
#ifndef DEVMAIL_IMAP_MUTF7_H
#define DEVMAIL_IMAP_MUTF7_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

/* Longest mailbox name (decoded UTF-8 bytes). Maildir++ folder names
 * become directory names ".a.b" limited by NAME_MAX (255). */
#define IMAP_MAILBOX_MAX_NAME 200
/* Hierarchy levels in one name. */
#define IMAP_MAILBOX_MAX_LEVELS 16
/* The hierarchy separator. */
#define IMAP_MAILBOX_SEP '.'

/* Decode modified UTF-7 to UTF-8, appended to out. false if invalid (out
 * may then hold partial output). */
bool imap_mutf7_decode(const char *in, size_t len, buf_t *out);
/* Encode UTF-8 to modified UTF-7, appended to out. false if in is not
 * valid UTF-8. */
bool imap_mutf7_encode(const char *in, size_t len, buf_t *out);
/* Validate a decoded (UTF-8) mailbox name: not empty, bounded length and
 * depth, valid UTF-8, no control characters, no "/", no empty hierarchy
 * level (so no "..", no leading or trailing "."), and no level that is
 * "." or ".." or starts with "~". On failure *reason is a text for NO. */
bool imap_mailbox_name_valid(const char *name, size_t len, const char **reason);
/* Decode a client-sent name and validate it; out receives the UTF-8 name.
 * "INBOX" in any case is normalized to "INBOX". */
bool imap_mailbox_name_from_client(const char *in, size_t len, buf_t *out, const char **reason);

#endif
