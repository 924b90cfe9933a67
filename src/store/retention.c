/*
 * retention - expunge by age and count; see retention.h. The selection is
 * SQL over the index (arrival time is messages.internaldate); removal is
 * store_expunge, one row at a time, in bounded transactions.
 */
#include "store/retention.h"
#include "store/store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <event2/event.h>

#include "core/log.h"
#include "core/xalloc.h"

/* Delay of the timer's first run after start-up. */
#define RETENTION_FIRST_RUN_MS 1000

struct row_list {
    int64_t *v;
    size_t n, cap;
};

static void rows_add(struct row_list *l, int64_t row) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = row;
}

/* The WHERE clause for a mailbox filter over "mailboxes b"; binds start at
 * parameter index first. */
struct mbox_filter {
    const char *sql;
    char *account;
    char *name;
};

static void filter_parse(const char *f, struct mbox_filter *out) {
    memset(out, 0, sizeof *out);
    out->sql = "1";
    if (!f || !*f) return;
    const char *at = strchr(f, '@');
    if (!at) {
        out->name = xstrdup(strcasecmp(f, "INBOX") == 0 ? "INBOX" : f);
        out->sql = "b.name = ?";
        return;
    }
    const char *colon = strchr(at, ':');
    if (!colon) {
        out->account = xstrdup(f);
        out->sql = "b.account = ? COLLATE NOCASE";
        return;
    }
    out->account = xstrndup(f, (size_t)(colon - f));
    out->name = xstrdup(strcasecmp(colon + 1, "INBOX") == 0 ? "INBOX" : colon + 1);
    out->sql = "b.account = ? COLLATE NOCASE AND b.name = ?";
}

static void filter_free(struct mbox_filter *f) {
    free(f->account);
    free(f->name);
}

static int filter_bind(const struct mbox_filter *f, sqlite3_stmt *st, int i) {
    if (f->account) sqlite3_bind_text(st, i++, f->account, -1, SQLITE_STATIC);
    if (f->name) sqlite3_bind_text(st, i++, f->name, -1, SQLITE_STATIC);
    return i;
}

static int select_rows(sqlite3 *db, sqlite3_stmt *st, struct row_list *out) {
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) rows_add(out, sqlite3_column_int64(st, 0));
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        log_error("retention: index query failed: %s", sqlite3_errmsg(db));
        return -1;
    }
    return 0;
}

static int expunge_rows(struct store *s, const struct row_list *rows, int *removed) {
    for (size_t i = 0; i < rows->n; i += RETENTION_BATCH) {
        index_begin(s->idx);
        for (size_t k = i; k < rows->n && k < i + RETENTION_BATCH; k++) {
            int rc = store_expunge(s, rows->v[k]);
            if (rc == 0) (*removed)++;
            else if (rc != -ENOENT) log_warn("retention: cannot expunge message %lld: %s", (long long)rows->v[k], strerror(-rc));
        }
        index_commit(s->idx);
    }
    return 0;
}

int retention_run(struct store *s, int64_t older_than_seconds, int64_t keep_count, const char *mailbox_filter,
                  int *removed) {
    *removed = 0;
    sqlite3 *db = index_db(s->idx);
    struct mbox_filter f;
    filter_parse(mailbox_filter, &f);
    int rc = 0;
    buf_t q = BUF_INIT;
    sqlite3_stmt *st;
    if (older_than_seconds >= 0) {
        struct row_list rows = {0};
        int64_t cutoff = (int64_t)time(NULL) - older_than_seconds;
        buf_printf(&q,
                   "SELECT m.id FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id"
                   " WHERE m.internaldate <= ? AND %s ORDER BY m.internaldate, m.id",
                   f.sql);
        if (sqlite3_prepare_v2(db, buf_cstr(&q), -1, &st, NULL) != SQLITE_OK) {
            log_error("retention: %s", sqlite3_errmsg(db));
            rc = -1;
        } else {
            sqlite3_bind_int64(st, 1, cutoff);
            filter_bind(&f, st, 2);
            rc = select_rows(db, st, &rows);
        }
        if (rc == 0) expunge_rows(s, &rows, removed);
        free(rows.v);
    }
    if (rc == 0 && keep_count > 0) {
        struct row_list boxes = {0}, rows = {0};
        buf_reset(&q);
        buf_printf(&q,
                   "SELECT b.id FROM mailboxes b WHERE %s AND"
                   " (SELECT count(*) FROM messages WHERE mailbox_id = b.id) > ?",
                   f.sql);
        if (sqlite3_prepare_v2(db, buf_cstr(&q), -1, &st, NULL) != SQLITE_OK) {
            log_error("retention: %s", sqlite3_errmsg(db));
            rc = -1;
        } else {
            int i = filter_bind(&f, st, 1);
            sqlite3_bind_int64(st, i, keep_count);
            rc = select_rows(db, st, &boxes);
        }
        for (size_t b = 0; rc == 0 && b < boxes.n; b++) {
            /* everything but the newest keep_count, by arrival then UID */
            if (sqlite3_prepare_v2(db,
                                   "SELECT id FROM messages WHERE mailbox_id = ?"
                                   " ORDER BY internaldate DESC, uid DESC LIMIT -1 OFFSET ?",
                                   -1, &st, NULL) != SQLITE_OK) {
                rc = -1;
                break;
            }
            sqlite3_bind_int64(st, 1, boxes.v[b]);
            sqlite3_bind_int64(st, 2, keep_count);
            rc = select_rows(db, st, &rows);
        }
        if (rc == 0) expunge_rows(s, &rows, removed);
        free(boxes.v);
        free(rows.v);
    }
    buf_free(&q);
    filter_free(&f);
    return rc;
}

struct store *retention_store_open(const char *data_dir, const char *hostname, buf_t *err) {
    struct stat st;
    if (stat(data_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        buf_printf(err, "%s: %s", data_dir, stat(data_dir, &st) < 0 ? strerror(errno) : "not a directory");
        return NULL;
    }
    struct store *s = xcalloc(1, sizeof *s);
    s->data_dir = xstrdup(data_dir);
    s->hostname = xstrdup(hostname);
    buf_t path = BUF_INIT;
    buf_printf(&path, "%s/index.sqlite", data_dir);
    int rc = index_open(&s->idx, buf_cstr(&path), err);
    buf_free(&path);
    if (rc < 0) {
        free(s->data_dir);
        free(s->hostname);
        free(s);
        return NULL;
    }
    return s;
}

/* --- the server's timer ------------------------------------------------ */

struct retention_timer {
    struct store *store;
    struct event *ev;
    int64_t older_than;
    int64_t keep_count;
};

int64_t retention_interval_ms(int64_t older_than_seconds, int64_t keep_count) {
    int64_t ms = 0;
    if (older_than_seconds > 0) {
        ms = older_than_seconds > RETENTION_MAX_INTERVAL_MS ? RETENTION_MAX_INTERVAL_MS : older_than_seconds * 100;
        if (ms < RETENTION_MIN_INTERVAL_MS) ms = RETENTION_MIN_INTERVAL_MS;
        if (ms > RETENTION_MAX_INTERVAL_MS) ms = RETENTION_MAX_INTERVAL_MS;
    }
    if (keep_count > 0 && (ms == 0 || ms > RETENTION_COUNT_INTERVAL_MS)) ms = RETENTION_COUNT_INTERVAL_MS;
    return ms;
}

static void timer_schedule(struct retention_timer *t, int64_t ms) {
    evtimer_del(t->ev);
    if (ms <= 0) return;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    evtimer_add(t->ev, &tv);
}

static void timer_fire(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    struct retention_timer *t = arg;
    int removed = 0;
    int64_t older = t->older_than > 0 ? t->older_than : -1;
    if (retention_run(t->store, older, t->keep_count, NULL, &removed) < 0)
        log_error("retention: run failed; will retry");
    else if (removed > 0)
        log_info("retention: expunged %d message%s (retention %llds, keep %lld per mailbox)", removed,
                 removed == 1 ? "" : "s", (long long)t->older_than, (long long)t->keep_count);
    timer_schedule(t, retention_interval_ms(t->older_than, t->keep_count));
}

struct retention_timer *retention_timer_new(struct event_base *base, struct store *s, int64_t older_than_seconds,
                                            int64_t keep_count) {
    struct retention_timer *t = xcalloc(1, sizeof *t);
    t->store = s;
    t->ev = evtimer_new(base, timer_fire, t);
    retention_timer_set(t, older_than_seconds, keep_count);
    return t;
}

void retention_timer_set(struct retention_timer *t, int64_t older_than_seconds, int64_t keep_count) {
    if (!t) return;
    t->older_than = older_than_seconds;
    t->keep_count = keep_count;
    int64_t ms = retention_interval_ms(older_than_seconds, keep_count);
    timer_schedule(t, ms > RETENTION_FIRST_RUN_MS ? RETENTION_FIRST_RUN_MS : ms);
}

void retention_timer_free(struct retention_timer *t) {
    if (!t) return;
    event_free(t->ev);
    free(t);
}
