/*
 * tag_filter - Mailpit's tag filters (its --tag "tags=query" rules) for
 * new messages, judged before the message is indexed, so its tags go in
 * with the same insert. Pure: a search (core/search_query.h) is matched
 * against the summary in memory, as Mailpit's SQL LIKE does (ASCII case
 * folded substrings), and, as Mailpit also does, a rule matches when the
 * lowercased raw message contains its query text.
 */
#ifndef DEVMAIL_TAG_FILTER_H
#define DEVMAIL_TAG_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/tags.h"
#include "store/summary.h"

/* What a new message offers to the rules. */
struct tag_filter_msg {
    const struct msg_summary *summary;
    const char *rcpts;     /* envelope recipients */
    const char *keywords;  /* its keywords so far (automatic tags) */
    int64_t size;
    int64_t internaldate;
    const char *raw_lower; /* the message, lowercased (NUL-terminated), or NULL */
};

/* Does search q match m? */
bool tag_filter_matches(const struct search_query *q, const struct tag_filter_msg *m);
/* Add to kw (space separated keywords) the tags of every rule m matches. */
void tag_filter_apply(const struct tag_rule *rules, size_t n, const struct tag_filter_msg *m, buf_t *kw);

#endif
