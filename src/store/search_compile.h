/*
 * search_compile - a parsed Mailpit search (core/search_query.h) compiled
 * into an SQLite WHERE fragment over the index's `messages` table and its
 * FTS5 table `messages_fts` (store/index.c), with the parameters to bind.
 *
 * Store-internal: only src/store knows the schema. User text only ever
 * travels as a bound parameter; full-text values are wrapped as quoted
 * FTS5 phrases so FTS5 operators in user input are inert; LIKE patterns
 * escape % _ and \.
 *
 * Text folds for all of Unicode, as IMAP SEARCH does (core/text_fold.h):
 * field terms (from:, subject:, ...) are substring tests with
 * devmail_contains(); full-text terms are folded before they meet the
 * full-text index, which holds folded text (store/index.c).
 */
#ifndef DEVMAIL_STORE_SEARCH_COMPILE_H
#define DEVMAIL_STORE_SEARCH_COMPILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "core/buf.h"
#include "core/search_query.h"

enum search_sql_param_type { SEARCH_SQL_PARAM_TEXT, SEARCH_SQL_PARAM_INT };

struct search_sql_param {
    enum search_sql_param_type type;
    char *text;       /* PARAM_TEXT: NUL-terminated */
    size_t text_len;
    int64_t num;      /* PARAM_INT */
};

struct search_sql {
    buf_t where;      /* boolean SQL expression; "1" for no terms */
    struct search_sql_param *params; /* one per '?' in where, in order */
    size_t nparams;
    bool uses_fts;    /* reads messages_fts: flush queued text first */
};

/* The SQL functions the compiled text needs, on one connection (the
 * index registers them on each of its own):
 *   devmail_fold(text)              text folded as core/text_fold.h does
 *   devmail_contains(text, needle)  text, folded, contains needle (folded)
 * 0, or -1 if SQLite refused. */
int search_sql_functions(sqlite3 *db);

/* Compile q into out (free with search_sql_free); use as
 * `... WHERE <other> AND (<where>)`. Positive full-text terms share one
 * FTS5 MATCH, negative ones another; they come first, then the other
 * terms in query order. Never fails. */
void search_compile(const struct search_query *q, struct search_sql *out);
void search_sql_free(struct search_sql *s);
/* Bind the parameters to st starting at index first (1-based). Returns
 * the next free index, or -1 if SQLite refused a bind. */
int search_sql_bind(const struct search_sql *s, sqlite3_stmt *st, int first);

#endif
