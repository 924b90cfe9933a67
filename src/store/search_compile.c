/*
 * search_compile - Mailpit search terms to an SQLite WHERE fragment. See
 * search_compile.h. Every term becomes fixed SQL text with `?` where its
 * value goes; the values are collected as parameters in the same order.
 */
#include "store/search_compile.h"

#include <stdlib.h>
#include <string.h>

#include "core/tags.h"
#include "core/text_fold.h"
#include "core/xalloc.h"
#include "store/index.h"

static void param_text(struct search_sql *s, buf_t *text) {
    s->params = xrealloc(s->params, (s->nparams + 1) * sizeof *s->params);
    struct search_sql_param *p = &s->params[s->nparams++];
    p->type = SEARCH_SQL_PARAM_TEXT;
    p->text_len = text->len;
    p->text = buf_steal(text);
    p->num = 0;
}

static void param_int(struct search_sql *s, int64_t v) {
    s->params = xrealloc(s->params, (s->nparams + 1) * sizeof *s->params);
    struct search_sql_param *p = &s->params[s->nparams++];
    p->type = SEARCH_SQL_PARAM_INT;
    p->text = NULL;
    p->text_len = 0;
    p->num = v;
}

static void sql_fold(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
    const char *t = (const char *)sqlite3_value_text(argv[0]);
    if (!t) {
        sqlite3_result_null(ctx);
        return;
    }
    size_t n;
    char *f = text_fold(t, (size_t)sqlite3_value_bytes(argv[0]), &n);
    sqlite3_result_text(ctx, f, (int)n, free);
}

static void sql_contains(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
    const char *t = (const char *)sqlite3_value_text(argv[0]);
    const char *needle = (const char *)sqlite3_value_text(argv[1]);
    if (!t || !needle) {
        sqlite3_result_int(ctx, 0);
        return;
    }
    sqlite3_result_int(ctx, text_fold_contains(t, (size_t)sqlite3_value_bytes(argv[0]), needle,
                                               (size_t)sqlite3_value_bytes(argv[1])));
}

int search_sql_functions(sqlite3 *db) {
    int fl = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
    if (sqlite3_create_function_v2(db, "devmail_fold", 1, fl, NULL, sql_fold, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_create_function_v2(db, "devmail_contains", 2, fl, NULL, sql_contains, NULL, NULL, NULL) != SQLITE_OK)
        return -1;
    return 0;
}

/* The term's value folded, for devmail_contains() (each `?` of sql). */
static void contains_clause(struct search_sql *s, const char *sql, const struct search_query_term *t) {
    buf_append_str(&s->where, sql);
    for (const char *p = sql; *p; p++) {
        if (*p != '?') continue;
        size_t n;
        char *f = text_fold(t->value, t->value_len, &n);
        buf_t v = BUF_INIT;
        buf_append(&v, f, n);
        free(f);
        param_text(s, &v);
    }
}

/* "%value%" with LIKE's wildcards and the escape character escaped. */
static void like_pattern(buf_t *b, const char *v, size_t n, const char *around) {
    buf_append_str(b, "%");
    buf_append_str(b, around);
    for (size_t i = 0; i < n; i++) {
        if (v[i] == '%' || v[i] == '_' || v[i] == '\\') buf_append_char(b, '\\');
        buf_append_char(b, v[i]);
    }
    buf_append_str(b, around);
    buf_append_str(b, "%");
}

/* One clause with `?` placeholders that all take the same LIKE pattern. */
static void like_clause(struct search_sql *s, const char *sql, const struct search_query_term *t,
                        const char *around) {
    buf_append_str(&s->where, sql);
    for (const char *p = sql; *p; p++) {
        if (*p != '?') continue;
        buf_t pat = BUF_INIT;
        like_pattern(&pat, t->value, t->value_len, around);
        param_text(s, &pat);
    }
}

#define LIKE " LIKE ? ESCAPE '\\'"
#define HAS(col) "devmail_contains(" col ", ?)"

static void term_clause(struct search_sql *s, const struct search_query_term *t) {
    buf_t *w = &s->where;
    switch (t->kind) {
    case SEARCH_QUERY_FROM: contains_clause(s, HAS("messages.hdr_from"), t); break;
    case SEARCH_QUERY_TO: contains_clause(s, HAS("messages.hdr_to"), t); break;
    case SEARCH_QUERY_CC: contains_clause(s, HAS("messages.hdr_cc"), t); break;
    case SEARCH_QUERY_REPLY_TO: contains_clause(s, HAS("messages.hdr_reply_to"), t); break;
    case SEARCH_QUERY_SUBJECT: contains_clause(s, HAS("messages.subject"), t); break;
    case SEARCH_QUERY_MESSAGE_ID: contains_clause(s, HAS("messages.message_id"), t); break;
    case SEARCH_QUERY_BCC:
        /* Mailpit's Bcc: the Bcc header, or envelope recipients not in To/Cc. */
        contains_clause(s,
                        "(" HAS("messages.hdr_bcc") " OR (" HAS("messages.rcpts") " AND NOT " HAS("messages.hdr_to")
                        " AND NOT " HAS("messages.hdr_cc") "))",
                        t);
        break;
    case SEARCH_QUERY_ADDRESSED:
        contains_clause(s,
                        "(" HAS("messages.hdr_to") " OR " HAS("messages.hdr_from") " OR " HAS("messages.hdr_cc")
                        " OR " HAS("messages.hdr_bcc") " OR " HAS("messages.hdr_reply_to") " OR "
                        HAS("messages.rcpts") ")",
                        t);
        break;
    case SEARCH_QUERY_TAG:
        /* keywords is space separated: match a whole word, ASCII-case-insensitively. */
        /* a tag's spaces are "+" in its keyword (core/tags.h) */
        {
            char *v = xstrndup(t->value ? t->value : "", t->value_len);
            buf_t kw = BUF_INIT;
            tag_to_keyword(v, &kw);
            struct search_query_term k = *t;
            k.value = (char *)buf_cstr(&kw);
            k.value_len = kw.len;
            like_clause(s, "(' ' || messages.keywords || ' ')" LIKE, &k, " ");
            buf_free(&kw);
            free(v);
        }
        break;
    case SEARCH_QUERY_IS_READ: buf_printf(w, "(messages.flags & %d) != 0", MSG_SEEN); break;
    case SEARCH_QUERY_IS_UNREAD: buf_printf(w, "(messages.flags & %d) = 0", MSG_SEEN); break;
    case SEARCH_QUERY_IS_TAGGED: buf_append_str(w, "messages.keywords != ''"); break;
    case SEARCH_QUERY_HAS_ATTACHMENT: buf_append_str(w, "messages.attachments > 0"); break;
    case SEARCH_QUERY_HAS_INLINE: buf_append_str(w, "messages.inlines > 0"); break;
    case SEARCH_QUERY_LARGER:
        buf_append_str(w, "messages.size > ?");
        param_int(s, t->number);
        break;
    case SEARCH_QUERY_SMALLER:
        buf_append_str(w, "messages.size < ?");
        param_int(s, t->number);
        break;
    case SEARCH_QUERY_BEFORE:
        buf_append_str(w, "messages.internaldate < ?");
        param_int(s, t->number);
        break;
    case SEARCH_QUERY_AFTER:
        buf_append_str(w, "messages.internaldate >= ?");
        param_int(s, t->number);
        break;
    case SEARCH_QUERY_TEXT: break; /* handled by fts_clause */
    }
}

/* All text terms of one polarity as a single FTS5 expression: each value
 * a quoted phrase (inner quotes doubled, so FTS5 syntax in it is inert)
 * with a prefix star, close to Mailpit's substring match. */
static void fts_clause(struct search_sql *s, const struct search_query *q, bool negated) {
    buf_t expr = BUF_INIT;
    for (size_t i = 0; i < q->count; i++) {
        const struct search_query_term *t = &q->terms[i];
        if (t->kind != SEARCH_QUERY_TEXT || t->negated != negated) continue;
        if (expr.len) buf_append_str(&expr, negated ? " OR " : " AND ");
        buf_append_char(&expr, '"');
        size_t fl;
        char *f = text_fold(t->value, t->value_len, &fl); /* as the indexed text is */
        for (size_t k = 0; k < fl; k++) {
            if (f[k] == '"') buf_append_char(&expr, '"');
            buf_append_char(&expr, f[k]);
        }
        free(f);
        buf_append_str(&expr, "\"*");
    }
    if (expr.len == 0) return;
    if (s->where.len) buf_append_str(&s->where, " AND ");
    buf_append_str(&s->where, negated ? "messages.id NOT IN" : "messages.id IN");
    buf_append_str(&s->where, " (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)");
    param_text(s, &expr);
    buf_free(&expr);
    s->uses_fts = true;
}

void search_compile(const struct search_query *q, struct search_sql *out) {
    buf_init(&out->where);
    out->params = NULL;
    out->nparams = 0;
    out->uses_fts = false;
    fts_clause(out, q, false);
    fts_clause(out, q, true);
    for (size_t i = 0; i < q->count; i++) {
        const struct search_query_term *t = &q->terms[i];
        if (t->kind == SEARCH_QUERY_TEXT) continue;
        if (out->where.len) buf_append_str(&out->where, " AND ");
        if (t->negated) buf_append_str(&out->where, "NOT (");
        term_clause(out, t);
        if (t->negated) buf_append_str(&out->where, ")");
    }
    if (out->where.len == 0) buf_append_str(&out->where, "1");
}

void search_sql_free(struct search_sql *s) {
    buf_free(&s->where);
    for (size_t i = 0; i < s->nparams; i++) free(s->params[i].text);
    free(s->params);
    s->params = NULL;
    s->nparams = 0;
    s->uses_fts = false;
}

int search_sql_bind(const struct search_sql *s, sqlite3_stmt *st, int first) {
    int idx = first;
    for (size_t i = 0; i < s->nparams; i++, idx++) {
        const struct search_sql_param *p = &s->params[i];
        int rc = p->type == SEARCH_SQL_PARAM_INT
                     ? sqlite3_bind_int64(st, idx, p->num)
                     : sqlite3_bind_text(st, idx, p->text, (int)p->text_len, SQLITE_TRANSIENT);
        if (rc != SQLITE_OK) return -1;
    }
    return idx;
}
