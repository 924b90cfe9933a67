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
#include "core/search_query.h"

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

/* One rule of Mailpit's --tag option: "tag1,tag2=query". */
struct tag_rule {
    char *keywords;         /* the rule's tags as keywords, space separated */
    char *match;            /* the query text, lowercased */
    struct search_query q;  /* parsed */
};

/* Parse a --tag value: rules separated by spaces, a rule in double quotes
 * may hold spaces (the quotes are dropped, as Mailpit's ArgsParser does);
 * the tags before the first "=", the query after it (lowercased). A rule
 * whose tags all clean to nothing is dropped. 0 with *rules_r (free with
 * tag_rules_free), or -1 with a reason: a rule without "=", an empty or
 * unparseable query. */
int tag_rules_parse(const char *spec, struct tag_rule **rules_r, size_t *n_r, buf_t *err);
void tag_rules_free(struct tag_rule *rules, size_t n);

#endif
