/*
 * tag_filter - Mailpit's tag filter rules judged in memory (see
 * tag_filter.h). No I/O.
 */
#include "store/tag_filter.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool has(const char *field, const char *v) {
    return field && v && strcasestr(field, v) != NULL;
}

static bool has_keyword(const char *kws, const char *tag) {
    buf_t k = BUF_INIT, list = BUF_INIT;
    tag_to_keyword(tag, &k);
    buf_printf(&list, " %s ", kws ? kws : "");
    buf_t pat = BUF_INIT;
    buf_printf(&pat, " %s ", buf_cstr(&k));
    bool hit = strcasestr(buf_cstr(&list), buf_cstr(&pat)) != NULL;
    buf_free(&k);
    buf_free(&list);
    buf_free(&pat);
    return hit;
}

static bool term_matches(const struct search_query_term *t, const struct tag_filter_msg *m) {
    const struct msg_summary *s = m->summary;
    const char *v = t->value;
    switch (t->kind) {
    case SEARCH_QUERY_TEXT:
        return has(s->subject, v) || has(s->hdr_from, v) || has(s->hdr_to, v) || has(s->hdr_cc, v) ||
               has(s->hdr_bcc, v) || has(s->hdr_reply_to, v) || has(s->text, v);
    case SEARCH_QUERY_FROM: return has(s->hdr_from, v);
    case SEARCH_QUERY_TO: return has(s->hdr_to, v);
    case SEARCH_QUERY_CC: return has(s->hdr_cc, v);
    case SEARCH_QUERY_BCC: return has(s->hdr_bcc, v) || (has(m->rcpts, v) && !has(s->hdr_to, v) && !has(s->hdr_cc, v));
    case SEARCH_QUERY_REPLY_TO: return has(s->hdr_reply_to, v);
    case SEARCH_QUERY_ADDRESSED:
        return has(s->hdr_to, v) || has(s->hdr_from, v) || has(s->hdr_cc, v) || has(s->hdr_bcc, v) ||
               has(s->hdr_reply_to, v) || has(m->rcpts, v);
    case SEARCH_QUERY_SUBJECT: return has(s->subject, v);
    case SEARCH_QUERY_MESSAGE_ID: return has(s->message_id, v);
    case SEARCH_QUERY_TAG: return has_keyword(m->keywords, v);
    case SEARCH_QUERY_IS_READ: return false; /* a new message is unread */
    case SEARCH_QUERY_IS_UNREAD: return true;
    case SEARCH_QUERY_IS_TAGGED: return m->keywords && *m->keywords;
    case SEARCH_QUERY_HAS_ATTACHMENT: return s->attachments > 0;
    case SEARCH_QUERY_HAS_INLINE: return s->inlines > 0;
    case SEARCH_QUERY_LARGER: return m->size > t->number;
    case SEARCH_QUERY_SMALLER: return m->size < t->number;
    case SEARCH_QUERY_BEFORE: return m->internaldate < t->number;
    case SEARCH_QUERY_AFTER: return m->internaldate >= t->number;
    }
    return false;
}

bool tag_filter_matches(const struct search_query *q, const struct tag_filter_msg *m) {
    for (size_t i = 0; i < q->count; i++)
        if (term_matches(&q->terms[i], m) == q->terms[i].negated) return false;
    return q->count > 0;
}

void tag_filter_apply(const struct tag_rule *rules, size_t n, const struct tag_filter_msg *m, buf_t *kw) {
    for (size_t i = 0; i < n; i++) {
        bool hit = (m->raw_lower && strstr(m->raw_lower, rules[i].match)) || tag_filter_matches(&rules[i].q, m);
        if (!hit) continue;
        const char *k = rules[i].keywords;
        while (*k) {
            size_t l = strcspn(k, " ");
            char *tag = tag_from_keyword(k, l);
            tags_add_keyword(kw, tag, strlen(tag));
            free(tag);
            k += l;
            while (*k == ' ') k++;
        }
    }
}
