/*
 * text_fold - the one case folding of every text search (IMAP SEARCH and
 * the JSON API's search alike): Unicode full case folding between two
 * NFKC normalisations (so folding twice changes nothing), so "ÉQUIPE" and "équipe", "STRASSE" and "straße",
 * a precomposed "é" and "e" + combining accent all fold to the same text.
 * Accents are kept: "equipe" does not find "équipe" (as in Dovecot and
 * Mailpit).
 *
 * Pure: bytes in, bytes out. Invalid UTF-8 (and NUL) is replaced (U+FFFD) first.
 * ASCII-only text takes a fast path (a lower-cased copy) and gives what
 * the Unicode path would.
 */
#ifndef DEVMAIL_CORE_TEXT_FOLD_H
#define DEVMAIL_CORE_TEXT_FOLD_H

#include <stdbool.h>
#include <stddef.h>

/* The folded form of s[0..len): malloc'd, NUL-terminated, length in
 * *out_len (may be NULL). */
char *text_fold(const char *s, size_t len, size_t *out_len);
/* Whether hay, once folded, contains needle; needle must already be
 * folded (text_fold). An empty needle matches. */
bool text_fold_contains(const char *hay, size_t hlen, const char *needle, size_t nlen);

#endif
