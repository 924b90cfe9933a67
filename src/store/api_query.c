/*
 * api_query - the JSON API's queries and bulk changes on the index. See
 * api_query.h for the contract.
 *
 * Every query is "<select> FROM messages JOIN mailboxes WHERE <INBOX of
 * ?1, or all when ?1 IS NULL> [AND (<extra>)] [AND (<search>)] <tail>":
 * extra's own parameters are ?2.., the compiled search's follow them.
 * Every prepare, bind and step is checked; a failure is logged once with
 * SQLite's reason and returned as -1.
 */
#include "store/api_query.h"
#include "store/store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>

#include <event2/event.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "store/index.h"
#include "store/search_compile.h"
#include "store/store_watch.h"

#define SCOPE_SQL                                                                                                  \
    " FROM messages JOIN mailboxes ON mailboxes.id = messages.mailbox_id"                                         \
    " WHERE mailboxes.name = 'INBOX' AND (?1 IS NULL OR mailboxes.account = ?1)"

#define SUMMARY_COLS                                                                                               \
    "SELECT messages.id, messages.api_id, messages.flags, messages.keywords, messages.internaldate,"              \
    " messages.size, messages.rcpts, messages.hdr_from, messages.hdr_to, messages.hdr_cc, messages.hdr_bcc,"      \
    " messages.hdr_reply_to, messages.subject, messages.message_id, messages.attachments, messages.snippet,"      \
    " messages.mail_from, messages.sent_date, mailboxes.account, messages.auth_user"

#define ORDER_NEWEST " ORDER BY messages.internaldate DESC, messages.id DESC"

/* keywords is space separated: a whole word, ASCII-case-insensitively;
 * ?2 is the keyword with LIKE's "_", "%" and "\\" escaped (like_escaped) */
#define HAS_TAG "(' ' || messages.keywords || ' ') LIKE ('% ' || ?2 || ' %') ESCAPE '\\'"

/* tag with LIKE's wildcards escaped: "a_b" is not "axb". Caller frees. */
static char *like_escaped(const char *tag) {
    buf_t b = BUF_INIT;
    for (const char *p = tag; *p; p++) {
        if (*p == '_' || *p == '%' || *p == '\\') buf_append_char(&b, '\\');
        buf_append_char(&b, *p);
    }
    return buf_steal(&b);
}

static sqlite3 *db(struct store *s) {
    return index_db(s->idx);
}

static const char *col_text(sqlite3_stmt *st, int i) {
    const char *t = (const char *)sqlite3_column_text(st, i);
    return t ? t : "";
}

/* A compiled search, or none. */
struct scope_search {
    bool set;
    struct search_sql sql;
};

static void search_begin(struct store *s, const struct search_query *q, struct scope_search *ss) {
    ss->set = q != NULL;
    if (!q) return;
    search_compile(q, &ss->sql);
    /* deliveries queue their search text; it must be in FTS5 before a text search */
    if (ss->sql.uses_fts) index_fts_flush(s->idx, 0);
}

static void search_end(struct scope_search *ss) {
    if (ss->set) search_sql_free(&ss->sql);
}

/* Prepare a scoped query (see the top of the file) with ?1 bound; extra
 * has nextra parameters of its own (?2..), bound by the caller. NULL on
 * an error (logged). */
static sqlite3_stmt *prepare_scoped(struct store *s, const char *account, const char *select, const char *extra,
                                    int nextra, const struct scope_search *ss, const char *tail) {
    buf_t q = BUF_INIT;
    buf_printf(&q, "%s%s", select, SCOPE_SQL);
    if (extra) buf_printf(&q, " AND (%s)", extra);
    if (ss && ss->set) buf_printf(&q, " AND (%s)", buf_cstr((buf_t *)&ss->sql.where));
    if (tail) buf_append_str(&q, tail);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db(s), buf_cstr(&q), -1, &st, NULL);
    buf_free(&q);
    if (rc != SQLITE_OK) {
        log_error("store: cannot prepare an API query: %s", sqlite3_errmsg(db(s)));
        return NULL;
    }
    rc = account ? sqlite3_bind_text(st, 1, account, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, 1);
    if (rc == SQLITE_OK && ss && ss->set && search_sql_bind(&ss->sql, st, 2 + nextra) < 0) rc = SQLITE_ERROR;
    if (rc != SQLITE_OK) {
        log_error("store: cannot bind an API query: %s", sqlite3_errmsg(db(s)));
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

static bool bind_ok(struct store *s, sqlite3_stmt *st, int rc) {
    if (rc == SQLITE_OK) return true;
    log_error("store: cannot bind an API query: %s", sqlite3_errmsg(db(s)));
    sqlite3_finalize(st);
    return false;
}

/* 1: a row, 0: done, -1: error (logged). */
static int step(struct store *s, sqlite3_stmt *st) {
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) return 1;
    if (rc == SQLITE_DONE) return 0;
    log_error("store: API query failed: %s", sqlite3_errmsg(db(s)));
    return -1;
}

/* Run a prepared query whose first column is a row id: 1 with *row_r, 0, -1. */
static int first_row(struct store *s, sqlite3_stmt *st, int64_t *row_r) {
    if (!st) return -1;
    int rc = step(s, st);
    if (rc == 1 && row_r) *row_r = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc;
}

/* ---- summaries ---------------------------------------------------------- */

static void summary_load(sqlite3_stmt *st, struct api_query_summary *m) {
    m->row = sqlite3_column_int64(st, 0);
    m->api_id = xstrdup(col_text(st, 1));
    m->flags = sqlite3_column_int(st, 2);
    m->keywords = xstrdup(col_text(st, 3));
    m->internaldate = sqlite3_column_int64(st, 4);
    m->size = sqlite3_column_int64(st, 5);
    m->rcpts = xstrdup(col_text(st, 6));
    m->hdr_from = xstrdup(col_text(st, 7));
    m->hdr_to = xstrdup(col_text(st, 8));
    m->hdr_cc = xstrdup(col_text(st, 9));
    m->hdr_bcc = xstrdup(col_text(st, 10));
    m->hdr_reply_to = xstrdup(col_text(st, 11));
    m->subject = xstrdup(col_text(st, 12));
    m->message_id = xstrdup(col_text(st, 13));
    m->attachments = sqlite3_column_int(st, 14);
    m->snippet = xstrdup(col_text(st, 15));
    m->mail_from = xstrdup(col_text(st, 16));
    m->sent_date = sqlite3_column_int64(st, 17);
    m->account = xstrdup(col_text(st, 18));
    m->auth_user = xstrdup(col_text(st, 19));
}

void api_query_summary_free(struct api_query_summary *m) {
    if (!m) return;
    char **strs[] = {&m->account, &m->api_id,  &m->keywords,     &m->mail_from, &m->rcpts,
                     &m->hdr_from, &m->hdr_to, &m->hdr_cc,       &m->hdr_bcc,   &m->hdr_reply_to,
                     &m->subject,  &m->message_id, &m->snippet,  &m->auth_user};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) free(*strs[i]);
    memset(m, 0, sizeof *m);
}

void api_query_list_free(struct api_query_summary *v, size_t n) {
    for (size_t i = 0; i < n; i++) api_query_summary_free(&v[i]);
    free(v);
}

int api_query_count(struct store *s, const char *account, const struct search_query *q, int64_t *total_r,
                    int64_t *unread_r) {
    *total_r = *unread_r = 0;
    struct scope_search ss;
    search_begin(s, q, &ss);
    sqlite3_stmt *st =
        prepare_scoped(s, account, "SELECT count(*), coalesce(sum((messages.flags & 1) = 0), 0)", NULL, 0, &ss, NULL);
    search_end(&ss);
    if (!st) return -1;
    int rc = step(s, st);
    if (rc == 1) {
        *total_r = sqlite3_column_int64(st, 0);
        *unread_r = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    return rc == 1 ? 0 : -1;
}

int api_query_list(struct store *s, const char *account, const struct search_query *q, int64_t start, int64_t limit,
                   struct api_query_summary **v_r, size_t *n_r) {
    *v_r = NULL;
    *n_r = 0;
    struct scope_search ss;
    search_begin(s, q, &ss);
    buf_t tail = BUF_INIT;
    buf_printf(&tail, ORDER_NEWEST " LIMIT %lld OFFSET %lld", (long long)limit, (long long)start);
    sqlite3_stmt *st = prepare_scoped(s, account, SUMMARY_COLS, NULL, 0, &ss, buf_cstr(&tail));
    buf_free(&tail);
    search_end(&ss);
    if (!st) return -1;
    struct api_query_summary *v = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = step(s, st)) == 1) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            v = xrealloc(v, cap * sizeof *v);
        }
        memset(&v[n], 0, sizeof v[n]);
        summary_load(st, &v[n++]);
    }
    sqlite3_finalize(st);
    if (rc < 0) {
        api_query_list_free(v, n);
        return -1;
    }
    *v_r = v;
    *n_r = n;
    return 0;
}

int api_query_summary(struct store *s, const char *account, int64_t row, struct api_query_summary *out) {
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = prepare_scoped(s, account, SUMMARY_COLS, "messages.id = ?2", 1, NULL, NULL);
    if (!st || !bind_ok(s, st, sqlite3_bind_int64(st, 2, row))) return -1;
    int rc = step(s, st);
    if (rc == 1) summary_load(st, out);
    sqlite3_finalize(st);
    return rc;
}

/* ---- lookups -------------------------------------------------------------- */

int api_query_find(struct store *s, const char *account, const char *api_id, int64_t *row_r) {
    sqlite3_stmt *st = prepare_scoped(s, account, "SELECT messages.id", "messages.api_id = ?2", 1, NULL, " LIMIT 1");
    if (!st || !bind_ok(s, st, sqlite3_bind_text(st, 2, api_id, -1, SQLITE_TRANSIENT))) return -1;
    return first_row(s, st, row_r);
}

int api_query_latest(struct store *s, const char *account, int64_t *row_r) {
    return first_row(s, prepare_scoped(s, account, "SELECT messages.id", NULL, 0, NULL, ORDER_NEWEST " LIMIT 1"),
                     row_r);
}

int api_query_matches(struct store *s, const char *account, const struct search_query *q, int64_t after,
                      int64_t upto) {
    struct scope_search ss;
    search_begin(s, q, &ss);
    sqlite3_stmt *st = prepare_scoped(s, account, "SELECT messages.id", "messages.id > ?2 AND messages.id <= ?3", 2,
                                      &ss, " LIMIT 1");
    search_end(&ss);
    if (!st || !bind_ok(s, st, sqlite3_bind_int64(st, 2, after)) || !bind_ok(s, st, sqlite3_bind_int64(st, 3, upto)))
        return -1;
    return first_row(s, st, NULL);
}

/* ---- watches (store_watch.h) --------------------------------------------
 * The event loop adds and removes watches; the commit thread prepares
 * their statements on its own connection (connections are not shared
 * between threads) and steps them once per committed batch. Everything
 * the two share is under the registry's lock; a removed watch whose
 * statement the commit thread made is finalized by it at its next pass. */

struct api_query_watch {
    struct store_watches *reg;
    char *account;          /* NULL: every account */
    bool has_search;
    struct search_sql sql;  /* the search, bound at prepare */
    sqlite3_stmt *st;       /* on the matching connection, made there */
    atomic_bool hit;
    bool removed;
    struct api_query_watch *next;
};

struct store_watches {
    pthread_mutex_t lock;
    struct api_query_watch *list;
    size_t n;
    /* the matching thread's: rows of the batch being committed, rows
     * committed and not matched yet, and no matching pass before next_us */
    int64_t lo, hi, pend_lo, pend_hi, next_us;
    struct event *hit_ev; /* made active when a watch is hit */
    void (*hit_fn)(void *arg);
    void *hit_arg;
};

static void hit_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    struct store_watches *r = arg;
    if (r->hit_fn) r->hit_fn(r->hit_arg);
}

void api_query_watch_on_hit(struct store *s, void (*fn)(void *arg), void *arg) {
    s->watches->hit_fn = fn;
    s->watches->hit_arg = arg;
}


void store_watches_init(struct store *s, struct event_base *base) {
    s->watches = xcalloc(1, sizeof *s->watches);
    pthread_mutex_init(&s->watches->lock, NULL);
    if (base) s->watches->hit_ev = event_new(base, -1, 0, hit_cb, s->watches);
}

static void watch_free(struct api_query_watch *w) {
    if (w->st) sqlite3_finalize(w->st);
    if (w->has_search) search_sql_free(&w->sql);
    free(w->account);
    free(w);
}

void store_watches_free(struct store *s) {
    struct store_watches *r = s->watches;
    if (!r) return;
    while (r->list) {
        struct api_query_watch *w = r->list;
        r->list = w->next;
        watch_free(w);
    }
    if (r->hit_ev) event_free(r->hit_ev);
    pthread_mutex_destroy(&r->lock);
    free(r);
    s->watches = NULL;
}

struct api_query_watch *api_query_watch_add(struct store *s, const char *account, const struct search_query *q) {
    struct api_query_watch *w = xcalloc(1, sizeof *w);
    w->reg = s->watches;
    w->account = account ? xstrdup(account) : NULL;
    if (q) {
        w->has_search = true;
        search_compile(q, &w->sql);
    }
    atomic_init(&w->hit, false);
    pthread_mutex_lock(&w->reg->lock);
    w->next = w->reg->list;
    w->reg->list = w;
    w->reg->n++;
    pthread_mutex_unlock(&w->reg->lock);
    return w;
}

bool api_query_watch_hit(const struct api_query_watch *w) {
    return atomic_load(&w->hit);
}

void api_query_watch_remove(struct api_query_watch *w) {
    if (!w) return;
    struct store_watches *r = w->reg;
    pthread_mutex_lock(&r->lock);
    if (w->st) {
        w->removed = true; /* its statement is the matching thread's to finalize */
        w = NULL;
    } else {
        for (struct api_query_watch **p = &r->list; *p; p = &(*p)->next) {
            if (*p == w) {
                *p = w->next;
                r->n--;
                break;
            }
        }
    }
    pthread_mutex_unlock(&r->lock);
    if (w) watch_free(w);
}

void store_watches_batch_row(struct store *s, int64_t row) {
    struct store_watches *r = s->watches;
    if (!row) return;
    if (!r->lo || row < r->lo) r->lo = row;
    if (row > r->hi) r->hi = row;
}

static sqlite3_stmt *watch_prepare(struct index *idx, struct api_query_watch *w) {
    sqlite3 *conn = index_db(idx);
    buf_t q = BUF_INIT;
    /* the batch's rows by their ids first (CROSS JOIN keeps messages the
     * outer loop): a step reads those rows only, however large the INBOX */
    buf_append_str(&q, "SELECT messages.id FROM messages CROSS JOIN mailboxes ON mailboxes.id = messages.mailbox_id"
                       " WHERE messages.id BETWEEN ?2 AND ?3 AND mailboxes.name = 'INBOX'"
                       " AND (?1 IS NULL OR mailboxes.account = ?1)");
    if (w->has_search) buf_printf(&q, " AND (%s)", buf_cstr(&w->sql.where));
    buf_append_str(&q, " LIMIT 1");
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(conn, buf_cstr(&q), -1, &st, NULL);
    buf_free(&q);
    if (rc == SQLITE_OK)
        rc = w->account ? sqlite3_bind_text(st, 1, w->account, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, 1);
    if (rc == SQLITE_OK && w->has_search && search_sql_bind(&w->sql, st, 4) < 0) rc = SQLITE_ERROR;
    if (rc != SQLITE_OK) {
        log_error("store: cannot prepare a wait's search: %s", sqlite3_errmsg(conn));
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

void store_watches_match_here(struct store *s, struct index *idx, int64_t lo, int64_t hi) {
    struct store_watches *r = s->watches;
    pthread_mutex_lock(&r->lock);
    for (struct api_query_watch *w = r->list; w; w = w->next) {
        if (w->removed || atomic_load(&w->hit)) continue;
        sqlite3_stmt *st = watch_prepare(idx, w);
        if (!st) continue;
        if (w->has_search && w->sql.uses_fts) index_fts_flush(idx, 0);
        if (sqlite3_bind_int64(st, 2, lo) == SQLITE_OK && sqlite3_bind_int64(st, 3, hi) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            atomic_store(&w->hit, true);
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&r->lock);
}

/* A pass costs one step per watch: a pass waits WATCH_COST_FACTOR times
 * the last one's time after it (at most WATCH_MAX_DELAY_MS), so matching
 * takes at most about a fiftieth of the matching thread (one of two cores
 * here, shared with the event loop), whose batches go
 * on meanwhile; rows not matched yet are matched with the next batch or
 * when the thread is idle. */
#define WATCH_COST_FACTOR 49
#define WATCH_MAX_DELAY_MS 500

void store_watches_match(struct store *s, struct index *idx, bool now) {
    struct store_watches *r = s->watches;
    if (r->lo) {
        if (!r->pend_lo || r->lo < r->pend_lo) r->pend_lo = r->lo;
        if (r->hi > r->pend_hi) r->pend_hi = r->hi;
        r->lo = r->hi = 0;
    }
    int64_t t0 = clock_mono_us();
    if (!now && t0 < r->next_us) return;
    int64_t lo = r->pend_lo, hi = r->pend_hi;
    r->pend_lo = r->pend_hi = 0;
    bool hits = false;
    pthread_mutex_lock(&r->lock);
    bool flushed = false;
    for (struct api_query_watch **p = &r->list; *p;) {
        struct api_query_watch *w = *p;
        if (w->removed) {
            *p = w->next;
            r->n--;
            watch_free(w);
            continue;
        }
        p = &w->next;
        if (!lo || atomic_load(&w->hit)) continue;
        if (!w->st && !(w->st = watch_prepare(idx, w))) continue;
        /* deliveries queue their search text: in FTS5 before a text search */
        if (w->has_search && w->sql.uses_fts && !flushed) {
            index_fts_flush(idx, 0);
            flushed = true;
        }
        sqlite3_reset(w->st);
        if (sqlite3_bind_int64(w->st, 2, lo) != SQLITE_OK || sqlite3_bind_int64(w->st, 3, hi) != SQLITE_OK) continue;
        int rc = sqlite3_step(w->st);
        if (rc == SQLITE_ROW) {
            atomic_store(&w->hit, true);
            hits = true;
        } else if (rc != SQLITE_DONE) {
            log_error("store: a wait's search failed: %s", sqlite3_errmsg(index_db(idx)));
        }
        sqlite3_reset(w->st); /* no read transaction is held between batches */
    }
    pthread_mutex_unlock(&r->lock);
    /* in microseconds: a pass over 100 watches takes well under 1 ms, and
     * counted in whole milliseconds it cost nothing and was never paced */
    int64_t t1 = clock_mono_us(), delay = (t1 - t0) * WATCH_COST_FACTOR;
    r->next_us = t1 + (delay < WATCH_MAX_DELAY_MS * 1000 ? delay : WATCH_MAX_DELAY_MS * 1000);
    if (hits && r->hit_ev) event_active(r->hit_ev, EV_READ, 0);
}

bool store_watches_pending(const struct store *s) {
    return s->watches->pend_lo != 0;
}

/* Append every row id of a prepared query's first column. 0 or -1. */
static int collect_rows(struct store *s, sqlite3_stmt *st, int64_t **rows_r, size_t *n_r) {
    *rows_r = NULL;
    *n_r = 0;
    if (!st) return -1;
    int64_t *v = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = step(s, st)) == 1) {
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            v = xrealloc(v, cap * sizeof *v);
        }
        v[n++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    if (rc < 0) {
        free(v);
        return -1;
    }
    *rows_r = v;
    *n_r = n;
    return 0;
}

int api_query_rows(struct store *s, const char *account, const struct search_query *q, int64_t **rows_r,
                   size_t *n_r) {
    struct scope_search ss;
    search_begin(s, q, &ss);
    sqlite3_stmt *st = prepare_scoped(s, account, "SELECT messages.id", NULL, 0, &ss, NULL);
    search_end(&ss);
    return collect_rows(s, st, rows_r, n_r);
}

/* ---- tags ---------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b) {
    return strcasecmp(*(char *const *)a, *(char *const *)b);
}

int api_query_tags(struct store *s, const char *account, char ***tags_r, size_t *n_r) {
    *tags_r = NULL;
    *n_r = 0;
    sqlite3_stmt *st =
        prepare_scoped(s, account, "SELECT DISTINCT messages.keywords", "messages.keywords != ''", 0, NULL, NULL);
    if (!st) return -1;
    char **v = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = step(s, st)) == 1) {
        const char *k = col_text(st, 0);
        while (*k) {
            size_t l = strcspn(k, " ");
            if (l) {
                bool dup = false;
                for (size_t i = 0; i < n && !dup; i++)
                    if (strlen(v[i]) == l && !strncmp(v[i], k, l)) dup = true;
                if (!dup) {
                    if (n == cap) {
                        cap = cap ? cap * 2 : 16;
                        v = xrealloc(v, cap * sizeof *v);
                    }
                    v[n++] = xstrndup(k, l);
                }
            }
            k += l;
            while (*k == ' ') k++;
        }
    }
    sqlite3_finalize(st);
    if (rc < 0) {
        api_query_tags_free(v, n);
        return -1;
    }
    if (n) qsort(v, n, sizeof *v, cmp_str);
    *tags_r = v;
    *n_r = n;
    return 0;
}

void api_query_tags_free(char **tags, size_t n) {
    for (size_t i = 0; i < n; i++) free(tags[i]);
    free(tags);
}

int api_query_tag_counts(struct store *s, const char *account, char ***tags_r, int64_t **counts_r, size_t *n_r) {
    *tags_r = NULL;
    *counts_r = NULL;
    *n_r = 0;
    /* one pass: each distinct keyword list once, with how many carry it */
    sqlite3_stmt *st = prepare_scoped(s, account, "SELECT messages.keywords, count(*)", "messages.keywords != ''", 0,
                                      NULL, " GROUP BY messages.keywords");
    if (!st) return -1;
    char **v = NULL;
    int64_t *c = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = step(s, st)) == 1) {
        const char *k = col_text(st, 0);
        int64_t cnt = sqlite3_column_int64(st, 1);
        while (*k) {
            size_t l = strcspn(k, " ");
            if (l) {
                size_t i = 0;
                while (i < n && !(strlen(v[i]) == l && !strncmp(v[i], k, l))) i++;
                if (i == n) {
                    if (n == cap) {
                        cap = cap ? cap * 2 : 16;
                        v = xrealloc(v, cap * sizeof *v);
                        c = xrealloc(c, cap * sizeof *c);
                    }
                    v[n] = xstrndup(k, l);
                    c[n++] = 0;
                }
                c[i] += cnt;
            }
            k += l;
            while (*k == ' ') k++;
        }
    }
    sqlite3_finalize(st);
    if (rc < 0) {
        api_query_tags_free(v, n);
        free(c);
        return -1;
    }
    *tags_r = v;
    *counts_r = c;
    *n_r = n;
    return 0;
}

int api_query_tag_count(struct store *s, const char *account, const char *tag, int64_t *count_r) {
    *count_r = 0;
    sqlite3_stmt *st = prepare_scoped(s, account, "SELECT count(*)", HAS_TAG, 1, NULL, NULL);
    char *esc = like_escaped(tag);
    bool bound = st && bind_ok(s, st, sqlite3_bind_text(st, 2, esc, -1, SQLITE_TRANSIENT));
    free(esc);
    if (!bound) return -1;
    return first_row(s, st, count_r) == 1 ? 0 : -1;
}

char *api_query_keywords_edit(const char *keywords, const char *remove, const char *add) {
    buf_t b = BUF_INIT;
    const char *k = keywords ? keywords : "";
    bool have_add = false;
    while (*k) {
        size_t l = strcspn(k, " ");
        bool drop = remove && strlen(remove) == l && !strncmp(k, remove, l);
        if (add && strlen(add) == l && !strncmp(k, add, l)) {
            if (have_add) drop = true;
            have_add = true;
        }
        if (l && !drop) {
            if (b.len) buf_append_char(&b, ' ');
            buf_append(&b, k, l);
        }
        k += l;
        while (*k == ' ') k++;
    }
    if (add && !have_add) {
        if (b.len) buf_append_char(&b, ' ');
        buf_append_str(&b, add);
    }
    if (!b.data) buf_append_str(&b, "");
    return buf_steal(&b);
}

/* ---- bulk changes ----------------------------------------------------------- */

/* One message's change: what it becomes, and what it was (for undo). */
struct change {
    int64_t row;
    int flags, old_flags;
    char *keywords;     /* NULL: unchanged */
    char *old_keywords;
    bool applied;
};

static void changes_free(struct change *c, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(c[i].keywords);
        free(c[i].old_keywords);
    }
    free(c);
}

static struct change *change_add(struct change **c, size_t *n, size_t *cap) {
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *c = xrealloc(*c, *cap * sizeof **c);
    }
    struct change *x = &(*c)[(*n)++];
    memset(x, 0, sizeof *x);
    return x;
}

/* Apply changes inside the caller's transaction, all or nothing: on an
 * error the index is rolled back to before the first change and the
 * files already renamed get their old names back. 0 or -errno. */
static int changes_apply(struct store *s, struct change *c, size_t n) {
    int rc = 0;
    index_savepoint(s->idx);
    for (size_t i = 0; i < n && rc == 0; i++) {
        int r = store_set_flags(s, c[i].row, c[i].flags, c[i].keywords);
        if (r == -ENOENT) continue; /* expunged meanwhile, or its file is gone */
        if (r < 0) rc = r;
        else c[i].applied = true;
    }
    if (rc == 0) {
        if (index_savepoint_end(s->idx, true) < 0) rc = -EIO;
        if (rc == 0) return 0;
    } else if (index_savepoint_end(s->idx, false) < 0) {
        log_error("store: cannot roll back a bulk flag change: %s", sqlite3_errmsg(db(s)));
    }
    /* The index is as before; put back the file names it records. */
    for (size_t i = 0; i < n; i++) {
        if (!c[i].applied) continue;
        if (store_set_flags(s, c[i].row, c[i].old_flags, c[i].old_keywords) < 0)
            log_error("store: cannot undo the flag change of message %lld", (long long)c[i].row);
    }
    log_error("store: bulk flag change of %zu messages failed: %s", n, strerror(-rc));
    return rc;
}

/* Build and apply one change per row from each message as stored now.
 * keywords: the new list (NULL: unchanged); read: -1 keep, else \Seen. */
static int rows_change(struct store *s, const int64_t *rows, size_t n, int read, const char *keywords) {
    struct change *c = NULL;
    size_t nc = 0, cap = 0;
    index_begin(s->idx);
    for (size_t i = 0; i < n; i++) {
        struct store_msg m;
        if (store_msg_get(s, rows[i], &m) < 0) continue; /* gone already */
        int flags = read < 0 ? m.flags : read ? (m.flags | MSG_SEEN) : (m.flags & ~MSG_SEEN);
        if (read < 0 || flags != m.flags) {
            struct change *x = change_add(&c, &nc, &cap);
            x->row = rows[i];
            x->flags = flags;
            x->old_flags = m.flags;
            x->keywords = keywords ? xstrdup(keywords) : NULL;
            x->old_keywords = xstrdup(m.keywords);
        }
        store_msg_free(&m);
    }
    int rc = changes_apply(s, c, nc);
    if (index_commit(s->idx) < 0 && rc == 0) rc = -EIO;
    changes_free(c, nc);
    return rc;
}

int api_query_mark_read(struct store *s, const int64_t *rows, size_t n, bool read) {
    return rows_change(s, rows, n, read ? 1 : 0, NULL);
}

int api_query_set_tags(struct store *s, const int64_t *rows, size_t n, const char *keywords) {
    return rows_change(s, rows, n, -1, keywords ? keywords : "");
}

/* Is the keyword k[0..l) in the space-separated list (ASCII case folded,
 * as tags compare)? */
static bool keyword_listed(const char *list, const char *k, size_t l) {
    const char *p = list ? list : "";
    while (*p) {
        size_t pl = strcspn(p, " ");
        if (pl == l && !strncasecmp(p, k, l)) return true;
        p += pl;
        while (*p == ' ') p++;
    }
    return false;
}

char *api_query_keywords_add_remove(const char *keywords, const char *add, const char *remove) {
    buf_t b = BUF_INIT;
    for (int pass = 0; pass < 2; pass++) {
        const char *k = pass == 0 ? (keywords ? keywords : "") : (add ? add : "");
        while (*k) {
            size_t l = strcspn(k, " ");
            bool keep = l && !keyword_listed(remove, k, l) && !keyword_listed(buf_cstr(&b), k, l);
            if (keep) {
                if (b.len) buf_append_char(&b, ' ');
                buf_append(&b, k, l);
            }
            k += l;
            while (*k == ' ') k++;
        }
    }
    if (!b.data) buf_append_str(&b, "");
    return buf_steal(&b);
}

int api_query_edit_tags(struct store *s, const int64_t *rows, size_t n, const char *add, const char *remove) {
    struct change *c = NULL;
    size_t nc = 0, cap = 0;
    index_begin(s->idx);
    for (size_t i = 0; i < n; i++) {
        struct store_msg m;
        if (store_msg_get(s, rows[i], &m) < 0) continue; /* gone already */
        char *kw = api_query_keywords_add_remove(m.keywords, add, remove);
        if (strcmp(kw, m.keywords ? m.keywords : "") != 0) {
            struct change *x = change_add(&c, &nc, &cap);
            x->row = rows[i];
            x->flags = x->old_flags = m.flags;
            x->keywords = kw;
            x->old_keywords = xstrdup(m.keywords ? m.keywords : "");
        } else {
            free(kw);
        }
        store_msg_free(&m);
    }
    int rc = changes_apply(s, c, nc);
    if (index_commit(s->idx) < 0 && rc == 0) rc = -EIO;
    changes_free(c, nc);
    return rc;
}

int api_query_retag(struct store *s, const char *account, const char *tag, const char *rename_to) {
    index_begin(s->idx);
    sqlite3_stmt *st =
        prepare_scoped(s, account, "SELECT messages.id, messages.flags, messages.keywords", HAS_TAG, 1, NULL, NULL);
    char *esc = like_escaped(tag);
    bool bound = st && bind_ok(s, st, sqlite3_bind_text(st, 2, esc, -1, SQLITE_TRANSIENT));
    free(esc);
    if (!bound) {
        index_commit(s->idx);
        return -EIO;
    }
    struct change *c = NULL;
    size_t nc = 0, cap = 0;
    int rc;
    while ((rc = step(s, st)) == 1) {
        struct change *x = change_add(&c, &nc, &cap);
        x->row = sqlite3_column_int64(st, 0);
        x->flags = x->old_flags = sqlite3_column_int(st, 1);
        x->old_keywords = xstrdup(col_text(st, 2));
        x->keywords = api_query_keywords_edit(x->old_keywords, tag, rename_to);
    }
    sqlite3_finalize(st);
    rc = rc < 0 ? -EIO : changes_apply(s, c, nc);
    if (index_commit(s->idx) < 0 && rc == 0) rc = -EIO;
    changes_free(c, nc);
    return rc;
}

int api_query_delete(struct store *s, const int64_t *rows, size_t n) {
    int rc = 0;
    index_begin(s->idx);
    for (size_t i = 0; i < n && rc == 0; i++) {
        int r = store_expunge(s, rows[i]);
        if (r < 0 && r != -ENOENT) rc = r;
    }
    if (index_commit(s->idx) < 0 && rc == 0) rc = -EIO;
    if (rc < 0) log_error("store: deleting %zu messages failed: %s", n, strerror(-rc));
    return rc;
}

/* ---- totals ---------------------------------------------------------------- */

int api_query_store_totals(struct store *s, int64_t *messages_r, int64_t *bytes_r) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db(s), "SELECT count(*), coalesce(sum(size), 0) FROM messages", -1, &st, NULL) !=
        SQLITE_OK) {
        log_error("store: cannot prepare the totals query: %s", sqlite3_errmsg(db(s)));
        return -1;
    }
    int rc = step(s, st);
    if (rc == 1) {
        if (messages_r) *messages_r = sqlite3_column_int64(st, 0);
        if (bytes_r) *bytes_r = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    return rc == 1 ? 0 : -1;
}
