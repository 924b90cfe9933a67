/*
 * fetch_data - per-message FETCH data from the index and the cache of
 * IMAP's ENVELOPE/BODY/BODYSTRUCTURE strings (see fetch_data.h).
 */
#include "store/fetch_data.h"
#include "store/store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "store/store.h"

struct store_fetch_cursor {
    struct store *store;
    sqlite3_stmt *get; /* prepared at once */
    sqlite3_stmt *set; /* on the first cache write */
};

struct store_fetch_cursor *store_fetch_cursor_new(struct store *s) {
    struct store_fetch_cursor *c = xcalloc(1, sizeof *c);
    c->store = s;
    if (sqlite3_prepare_v2(index_db(s->idx),
                           "SELECT internaldate, size, env_cache, body_cache, bs_cache FROM messages WHERE id=?", -1,
                           &c->get, NULL) != SQLITE_OK) {
        log_error("store: cannot prepare the FETCH read: %s", sqlite3_errmsg(index_db(s->idx)));
        sqlite3_finalize(c->get);
        free(c);
        return NULL;
    }
    return c;
}

void store_fetch_cursor_free(struct store_fetch_cursor **c) {
    if (!*c) return;
    sqlite3_finalize((*c)->get);
    sqlite3_finalize((*c)->set);
    free(*c);
    *c = NULL;
}

void store_fetch_data_free(struct store_fetch_data *d) {
    free(d->envelope);
    free(d->body);
    free(d->bodystructure);
    memset(d, 0, sizeof *d);
}

static char *dup_column(sqlite3_stmt *st, int col) {
    const char *v = (const char *)sqlite3_column_text(st, col);
    return v ? xstrdup(v) : NULL;
}

int store_fetch_data_get(struct store_fetch_cursor *c, int64_t row, struct store_fetch_data *out) {
    memset(out, 0, sizeof *out);
    sqlite3_bind_int64(c->get, 1, row);
    int rc = sqlite3_step(c->get);
    if (rc == SQLITE_ROW) {
        out->internaldate = sqlite3_column_int64(c->get, 0);
        out->size = sqlite3_column_int64(c->get, 1);
        out->envelope = dup_column(c->get, 2);
        out->body = dup_column(c->get, 3);
        out->bodystructure = dup_column(c->get, 4);
    } else if (rc != SQLITE_DONE) {
        log_error("store: cannot read message %lld for FETCH: %s", (long long)row,
                  sqlite3_errmsg(index_db(c->store->idx)));
    }
    sqlite3_reset(c->get);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

int store_fetch_cache_set(struct store_fetch_cursor *c, int64_t row, const char *envelope, const char *body,
                          const char *bodystructure) {
    sqlite3 *db = index_db(c->store->idx);
    if (!c->set &&
        sqlite3_prepare_v2(db, "UPDATE messages SET env_cache=?, body_cache=?, bs_cache=? WHERE id=?", -1, &c->set,
                           NULL) != SQLITE_OK) {
        log_error("store: cannot prepare the FETCH cache write: %s", sqlite3_errmsg(db));
        sqlite3_finalize(c->set);
        c->set = NULL;
        return -EIO;
    }
    sqlite3_bind_text(c->set, 1, envelope, -1, SQLITE_STATIC);
    sqlite3_bind_text(c->set, 2, body, -1, SQLITE_STATIC);
    sqlite3_bind_text(c->set, 3, bodystructure, -1, SQLITE_STATIC);
    sqlite3_bind_int64(c->set, 4, row);
    int rc = sqlite3_step(c->set) == SQLITE_DONE ? 0 : -EIO;
    if (rc < 0) log_error("store: cannot cache the FETCH data of message %lld: %s", (long long)row, sqlite3_errmsg(db));
    sqlite3_reset(c->set);
    sqlite3_clear_bindings(c->set); /* the strings are the caller's */
    return rc;
}
