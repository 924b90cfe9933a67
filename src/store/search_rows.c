/*
 * search_rows - a cursor over the index columns of a mailbox that IMAP
 * SEARCH matches (see search_rows.h).
 */
#include "store/search_rows.h"

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
    int done; /* 1 after the last row, -EIO after an error */
};

struct store_search_rows *store_search_rows_open(struct store *s, int64_t mailbox_id) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(index_db(s->idx),
                           "SELECT uid, id, internaldate, sent_date, size, subject, hdr_from, hdr_to, hdr_cc, hdr_bcc, sent_tz "
                           "FROM messages WHERE mailbox_id=? ORDER BY uid",
                           -1, &st, NULL) != SQLITE_OK) {
        log_error("store: cannot prepare the SEARCH read of mailbox %lld: %s", (long long)mailbox_id,
                  sqlite3_errmsg(index_db(s->idx)));
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
    out->uid = (uint32_t)sqlite3_column_int64(c->st, 0);
    out->row = sqlite3_column_int64(c->st, 1);
    out->internaldate = sqlite3_column_int64(c->st, 2);
    out->sent_date = sqlite3_column_int64(c->st, 3);
    out->size = sqlite3_column_int64(c->st, 4);
    out->subject = text_column(c->st, 5);
    out->from = text_column(c->st, 6);
    out->to = text_column(c->st, 7);
    out->cc = text_column(c->st, 8);
    out->bcc = text_column(c->st, 9);
    out->sent_tz_known = sqlite3_column_type(c->st, 10) != SQLITE_NULL;
    out->sent_tz = (int32_t)sqlite3_column_int(c->st, 10);
    return 1;
}

void store_search_rows_close(struct store_search_rows **c) {
    if (!*c) return;
    sqlite3_finalize((*c)->st);
    free(*c);
    *c = NULL;
}
