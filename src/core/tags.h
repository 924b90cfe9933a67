/*
 * tags - Mailpit's message tags over IMAP keywords, pure.
 *
 * A Mailpit tag is 1-100 characters of [A-Za-z0-9 _.@-] (Mailpit's
 * CleanTag: other characters become spaces, runs of white space one
 * space, the ends trimmed). devmail keeps tags as IMAP keywords, which
 * cannot hold a space: a space is stored as "+" (a character a Mailpit
 * tag never has), so "Tag 1" is the keyword "Tag+1" and back.
 */
#ifndef DEVMAIL_TAGS_H
#define DEVMAIL_TAGS_H

#include <stddef.h>

#include "core/buf.h"

/* Longest tag, in bytes (Mailpit's). */
#define TAG_MAX_LEN 100

/* Mailpit's CleanTag of s[0..len): the tag, possibly "" (no tag). Caller frees. */
char *tag_clean(const char *s, size_t len);
/* Append the keyword of a (clean) tag. */
void tag_to_keyword(const char *tag, buf_t *out);
/* The tag a keyword kw[0..len) shows as. Caller frees. */
char *tag_from_keyword(const char *kw, size_t len);
/* Clean tag s[0..len) and add its keyword to the space-separated list kw
 * unless empty or already there (keywords compare case-insensitively). */
void tags_add_keyword(buf_t *kw, const char *s, size_t len);
/* The tags named in an X-Tags header value (comma separated) and in the
 * plus part of addresses ("user+a+b@x" -> a, b), added to kw. */
void tags_from_x_tags(buf_t *kw, const char *value);
void tags_from_plus_address(buf_t *kw, const char *addr);

#endif
