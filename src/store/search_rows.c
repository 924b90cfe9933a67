/*
 * search_rows - a cursor over the index columns of a mailbox that IMAP
 * SEARCH matches (see search_rows.h).
 */
#include "store/search_rows.h"
#include "store/store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "store/store.h"

struct store_search_rows {
    struct store *store;
    int64_t mailbox_id;
    sqlite3_stmt *st;
    sqlite3_stmt *one; /* store_search_rows_get, on its first use */
    int done; /* 1 after the last row, -EIO after an error */
};

#define SEARCH_COLUMNS "uid, id, internaldate, sent_date, size, subject, hdr_from, hdr_to, hdr_cc, hdr_bcc, sent_tz "

struct store_search_rows *store_search_rows_open(struct store *s, int64_t mailbox_id) {
    sqlite3_stmt *st = index_stmt(s->idx, "SELECT " SEARCH_COLUMNS "FROM messages WHERE mailbox_id=? ORDER BY uid");
    if (!st) {
        log_error("store: cannot prepare the SEARCH read of mailbox %lld", (long long)mailbox_id);
        return NULL;
    }
    sqlite3_bind_int64(st, 1, mailbox_id);
    struct store_search_rows *c = xcalloc(1, sizeof *c);
    c->store = s;
    c->mailbox_id = mailbox_id;
    c->st = st;
    return c;
}

static const char *text_column(sqlite3_stmt *st, int col) {
    const char *v = (const char *)sqlite3_column_text(st, col);
    return v ? v : "";
}

static void read_row(sqlite3_stmt *st, struct store_search_row *out) {
    out->uid = (uint32_t)sqlite3_column_int64(st, 0);
    out->row = sqlite3_column_int64(st, 1);
    out->internaldate = sqlite3_column_int64(st, 2);
    out->sent_date = sqlite3_column_int64(st, 3);
    out->size = sqlite3_column_int64(st, 4);
    out->subject = text_column(st, 5);
    out->from = text_column(st, 6);
    out->to = text_column(st, 7);
    out->cc = text_column(st, 8);
    out->bcc = text_column(st, 9);
    out->sent_tz_known = sqlite3_column_type(st, 10) != SQLITE_NULL;
    out->sent_tz = (int32_t)sqlite3_column_int(st, 10);
}

int store_search_rows_next(struct store_search_rows *c, struct store_search_row *out) {
    memset(out, 0, sizeof *out);
    if (c->done) return c->done > 0 ? 0 : c->done;
    int rc = sqlite3_step(c->st);
    if (rc == SQLITE_DONE) {
        c->done = 1;
        return 0;
    }
    if (rc != SQLITE_ROW) {
        log_error("store: SEARCH read of mailbox %lld failed: %s", (long long)c->mailbox_id,
                  sqlite3_errmsg(index_db(c->store->idx)));
        c->done = -EIO;
        return -EIO;
    }
    read_row(c->st, out);
    return 1;
}

int store_search_rows_get(struct store_search_rows *c, int64_t row, struct store_search_row *out) {
    memset(out, 0, sizeof *out);
    if (!c->one) {
        c->one = index_stmt(c->store->idx, "SELECT " SEARCH_COLUMNS "FROM messages WHERE id=? AND mailbox_id=?");
        if (!c->one) return -EIO;
    }
    sqlite3_reset(c->one);
    sqlite3_bind_int64(c->one, 1, row);
    sqlite3_bind_int64(c->one, 2, c->mailbox_id);
    int rc = sqlite3_step(c->one);
    if (rc == SQLITE_DONE) return 0;
    if (rc != SQLITE_ROW) {
        log_error("store: SEARCH read of message %lld failed: %s", (long long)row,
                  sqlite3_errmsg(index_db(c->store->idx)));
        return -EIO;
    }
    read_row(c->one, out);
    return 1;
}

void store_search_rows_close(struct store_search_rows **c) {
    if (!*c) return;
    index_stmt_done((*c)->store->idx, (*c)->st);
    index_stmt_done((*c)->store->idx, (*c)->one);
    free(*c);
    *c = NULL;
}
