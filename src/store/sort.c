/*
 * sort - SORT and THREAD reads of the index's sort_keys table (see sort.h
 * and store/index.c), a narrow row per message, so a SORT does not read
 * the wide message rows. The SQL is built only from fixed column names
 * chosen by enum; UIDs travel as bound parameters.
 */
#include "store/sort.h"
#include "store/store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <sqlite3.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "store/index.h"
#include "store/store.h"
#include "store/summary.h"

/* At most this many UIDs are named in the query itself; a larger search
 * result is filtered while reading the whole mailbox in order. */
#define SORT_MAX_BOUND_UIDS 500
/* Rows given their sort keys per index transaction when filling. */
#define SORT_FILL_BATCH 500

/* Columns of the index's sort_keys table (store/index.c): text keys are
 * stored i;unicode-casemap folded, so SQLite's byte order is the
 * comparator's; sent is the RFC 5256 2.2 sent date. */
static const char *sort_column(enum store_sort_key k) {
    switch (k) {
    case STORE_SORT_ARRIVAL: return "arrival";
    case STORE_SORT_CC: return "scc";
    case STORE_SORT_DATE: return "sent";
    case STORE_SORT_FROM: return "sfrom";
    case STORE_SORT_SIZE: return "size";
    case STORE_SORT_SUBJECT: return "subject";
    case STORE_SORT_TO: return "sto";
    case STORE_SORT_DISPLAYFROM: return "dfrom";
    case STORE_SORT_DISPLAYTO: return "dto";
    }
    return "uid";
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static bool uid_wanted(const uint32_t *uids, size_t n, uint32_t uid) {
    return bsearch(&uid, uids, n, sizeof *uids, cmp_u32) != NULL;
}

/* "FROM sort_keys WHERE mailbox_id=?1 [AND uid IN (?2,...)]" */
static void where_uids(buf_t *q, size_t n) {
    buf_append_str(q, " FROM sort_keys WHERE mailbox_id=?1");
    if (n == 0 || n > SORT_MAX_BOUND_UIDS) return;
    buf_append_str(q, " AND uid IN (");
    for (size_t i = 0; i < n; i++) buf_printf(q, "%s?%zu", i ? "," : "", i + 2);
    buf_append_char(q, ')');
}

static void bind_uids(sqlite3_stmt *st, int64_t mailbox_id, const uint32_t *uids, size_t n) {
    sqlite3_bind_int64(st, 1, mailbox_id);
    if (n > SORT_MAX_BOUND_UIDS) return;
    for (size_t i = 0; i < n; i++) sqlite3_bind_int64(st, (int)i + 2, uids[i]);
}

int store_sort_uids(struct store *s, int64_t mailbox_id, const struct store_sort_criterion *crit, size_t ncrit,
                    const uint32_t *uids, size_t n, uint32_t *out, size_t *nout) {
    *nout = 0;
    if (n == 0) return 0;
    buf_t q = BUF_INIT;
    buf_append_str(&q, "SELECT uid");
    where_uids(&q, n);
    buf_append_str(&q, " ORDER BY ");
    for (size_t i = 0; i < ncrit; i++)
        buf_printf(&q, "%s%s", sort_column(crit[i].key), crit[i].reverse ? " DESC, " : ", ");
    buf_append_str(&q, "uid");
    sqlite3 *db = index_db(s->idx);
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, buf_cstr(&q), -1, &st, NULL);
    buf_free(&q);
    if (rc != SQLITE_OK) {
        log_error("store: cannot prepare SORT of mailbox %lld: %s", (long long)mailbox_id, sqlite3_errmsg(db));
        return -EIO;
    }
    bind_uids(st, mailbox_id, uids, n);
    size_t k = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint32_t uid = (uint32_t)sqlite3_column_int64(st, 0);
        if (k < n && uid_wanted(uids, n, uid)) out[k++] = uid;
    }
    if (rc != SQLITE_DONE) {
        log_error("store: SORT of mailbox %lld failed: %s", (long long)mailbox_id, sqlite3_errmsg(db));
        sqlite3_finalize(st);
        return -EIO;
    }
    sqlite3_finalize(st);
    *nout = k;
    return 0;
}

static const char *chunk_text(GStringChunk *c, sqlite3_stmt *st, int col) {
    const char *v = (const char *)sqlite3_column_text(st, col);
    return g_string_chunk_insert_const(c, v ? v : "");
}

int store_thread_load(struct store *s, int64_t mailbox_id, const uint32_t *uids, size_t n,
                      struct store_thread_set *out) {
    memset(out, 0, sizeof *out);
    if (n == 0) return 0;
    buf_t q = BUF_INIT;
    buf_append_str(&q, "SELECT uid, sent, message_id, in_reply_to, refs, subject, reply");
    where_uids(&q, n);
    buf_append_str(&q, " ORDER BY uid");
    sqlite3 *db = index_db(s->idx);
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, buf_cstr(&q), -1, &st, NULL);
    buf_free(&q);
    if (rc != SQLITE_OK) {
        log_error("store: cannot prepare THREAD of mailbox %lld: %s", (long long)mailbox_id, sqlite3_errmsg(db));
        return -EIO;
    }
    bind_uids(st, mailbox_id, uids, n);
    GStringChunk *strings = g_string_chunk_new(64 * 1024);
    struct store_thread_msg *msgs = xcalloc(n, sizeof *msgs);
    size_t k = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint32_t uid = (uint32_t)sqlite3_column_int64(st, 0);
        if (k >= n || !uid_wanted(uids, n, uid)) continue;
        struct store_thread_msg *m = &msgs[k++];
        m->uid = uid;
        m->date = sqlite3_column_int64(st, 1);
        m->message_id = chunk_text(strings, st, 2);
        m->in_reply_to = chunk_text(strings, st, 3);
        m->references = chunk_text(strings, st, 4);
        m->subject = chunk_text(strings, st, 5);
        m->reply = sqlite3_column_int(st, 6) != 0;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        log_error("store: THREAD read of mailbox %lld failed: %s", (long long)mailbox_id, sqlite3_errmsg(db));
        free(msgs);
        g_string_chunk_free(strings);
        return -EIO;
    }
    out->msgs = msgs;
    out->n = k;
    out->strings = strings;
    return 0;
}

void store_thread_set_free(struct store_thread_set *set) {
    free(set->msgs);
    if (set->strings) g_string_chunk_free(set->strings);
    memset(set, 0, sizeof *set);
}

int store_sort_keys_fill(struct store *s) {
    sqlite3 *db = index_db(s->idx);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT m.id FROM messages m LEFT JOIN sort_keys k ON k.id = m.id WHERE k.id IS NULL "
                           "ORDER BY m.id",
                           -1, &st, NULL) != SQLITE_OK) {
        log_error("store: cannot look for rows without sort keys: %s", sqlite3_errmsg(db));
        return -1;
    }
    GArray *rows = g_array_new(FALSE, FALSE, sizeof(int64_t));
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t row = sqlite3_column_int64(st, 0);
        g_array_append_val(rows, row);
    }
    sqlite3_finalize(st);
    int filled = 0, unreadable = 0;
    if (rows->len) log_info("store: computing SORT/THREAD keys of %u messages indexed before they existed", rows->len);
    for (guint i = 0; i < rows->len; i++) {
        if (i % SORT_FILL_BATCH == 0) {
            if (i) index_commit(s->idx);
            index_begin(s->idx);
        }
        int64_t row = g_array_index(rows, int64_t, i);
        struct store_msg m;
        struct msg_summary sum;
        if (store_msg_get(s, row, &m) < 0) continue;
        /* an unreadable file still gets (empty) keys: it is not read again */
        if (summary_from_file(m.path, &sum) < 0) unreadable++;
        if (index_set_sort_keys(s->idx, row, m.mailbox_id, m.uid, m.internaldate, m.size, &sum) == 0) filled++;
        summary_free(&sum);
        store_msg_free(&m);
    }
    if (rows->len) {
        index_commit(s->idx);
        log_info("store: SORT/THREAD keys computed for %d messages (%d files unreadable)", filled, unreadable);
    }
    g_array_free(rows, TRUE);
    return filled;
}
