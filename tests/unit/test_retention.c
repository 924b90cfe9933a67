/*
 * test_retention - expunging by arrival time and by count per mailbox on
 * a real store in a temporary directory: which messages go (oldest
 * first), that files and index rows are removed, that observers hear
 * STORE_EV_EXPUNGE, the mailbox filters, and the timer's interval rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/buf.h"
#include "store/retention.h"
#include "store/store_internal.h"
#include "store/store.h"

struct fixture {
    char dir[64];
    struct store *store;
    int expunges;
};

static void on_event(const struct store_event *ev, void *arg) {
    struct fixture *f = arg;
    if (ev->type == STORE_EV_EXPUNGE) f->expunges++;
}

static int setup(void **state) {
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/devmail-test-retention-XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    buf_t err = BUF_INIT;
    f->store = store_open(NULL, f->dir, "test.example", &err);
    if (!f->store) {
        fprintf(stderr, "store_open: %s\n", buf_cstr(&err));
        return -1;
    }
    buf_free(&err);
    store_subscribe(f->store, on_event, f);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    struct fixture *f = *state;
    store_close(f->store);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0) return -1;
    free(f);
    return 0;
}

static void done_cb(struct store_delivery *d, int result, void *arg) {
    *(int *)arg = result;
    store_delivery_free(d);
}

/* Deliver one message to account and give it an arrival time age seconds ago. */
static int64_t deliver(struct fixture *f, const char *account, int64_t age) {
    struct store_delivery d;
    char *accounts[] = {(char *)account};
    assert_int_equal(store_delivery_begin(f->store, &d, accounts, 1, "a@example.com", account), 0);
    const char *msg = "Subject: t\n\nbody\n";
    store_delivery_write(&d, msg, strlen(msg));
    int result = -1;
    store_delivery_commit(&d, done_cb, &result);
    assert_int_equal(result, 0);
    sqlite3 *db = index_db(f->store->idx);
    int64_t row = 0;
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db, "SELECT max(id) FROM messages", -1, &st, NULL);
    if (sqlite3_step(st) == SQLITE_ROW) row = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_prepare_v2(db, "UPDATE messages SET internaldate = ? WHERE id = ?", -1, &st, NULL);
    sqlite3_bind_int64(st, 1, (int64_t)time(NULL) - age);
    sqlite3_bind_int64(st, 2, row);
    sqlite3_step(st);
    sqlite3_finalize(st);
    return row;
}

static int count_rows(struct fixture *f) {
    sqlite3_stmt *st;
    sqlite3_prepare_v2(index_db(f->store->idx), "SELECT count(*) FROM messages", -1, &st, NULL);
    int n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    return n;
}

static bool row_exists(struct fixture *f, int64_t row) {
    struct store_msg m;
    if (store_msg_get(f->store, row, &m) < 0) return false;
    bool file = access(m.path, F_OK) == 0;
    store_msg_free(&m);
    assert_true(file); /* a row always has its file */
    return true;
}

static void test_by_age(void **state) {
    struct fixture *f = *state;
    int64_t old1 = deliver(f, "a@example.com", 10 * 86400);
    int64_t old2 = deliver(f, "b@example.com", 8 * 86400);
    int64_t young = deliver(f, "a@example.com", 3600);
    struct store_msg m;
    assert_int_equal(store_msg_get(f->store, old1, &m), 0);
    char *path = strdup(m.path);
    store_msg_free(&m);
    int removed = -1;
    assert_int_equal(retention_run(f->store, 7 * 86400, 0, NULL, &removed), 0);
    assert_int_equal(removed, 2);
    assert_int_equal(f->expunges, 2);
    assert_false(row_exists(f, old1));
    assert_false(row_exists(f, old2));
    assert_true(row_exists(f, young));
    assert_int_not_equal(access(path, F_OK), 0); /* the file is gone */
    free(path);
    /* nothing more to do */
    assert_int_equal(retention_run(f->store, 7 * 86400, 0, NULL, &removed), 0);
    assert_int_equal(removed, 0);
    /* 0: everything that has arrived */
    assert_int_equal(retention_run(f->store, 0, 0, NULL, &removed), 0);
    assert_int_equal(removed, 1);
    assert_int_equal(count_rows(f), 0);
}

static void test_by_count(void **state) {
    struct fixture *f = *state;
    int64_t rows[5];
    static const int64_t ages[5] = {100, 90, 80, 30, 20}; /* rows[4] newest */
    for (int i = 0; i < 5; i++) rows[i] = deliver(f, "a@example.com", ages[i]);
    int64_t other = deliver(f, "b@example.com", 1000);
    int removed = -1;
    assert_int_equal(retention_run(f->store, -1, 2, NULL, &removed), 0);
    assert_int_equal(removed, 3);
    for (int i = 0; i < 3; i++) assert_false(row_exists(f, rows[i]));
    assert_true(row_exists(f, rows[3]));
    assert_true(row_exists(f, rows[4]));
    assert_true(row_exists(f, other)); /* per mailbox: b has only one */
    /* both limits: age first, then count */
    assert_int_equal(retention_run(f->store, 35, 1, NULL, &removed), 0);
    assert_int_equal(removed, 2); /* b's (age) and rows[3] (count) */
    assert_true(row_exists(f, rows[4]));
    assert_false(row_exists(f, other));
}

static void test_filters(void **state) {
    struct fixture *f = *state;
    int64_t a = deliver(f, "a@example.com", 100);
    int64_t b = deliver(f, "b@example.com", 100);
    int removed = -1;
    assert_int_equal(retention_run(f->store, 10, 0, "Sent", &removed), 0);
    assert_int_equal(removed, 0);
    assert_int_equal(retention_run(f->store, 10, 0, "b@example.com:Sent", &removed), 0);
    assert_int_equal(removed, 0);
    assert_int_equal(retention_run(f->store, 10, 0, "B@Example.com", &removed), 0);
    assert_int_equal(removed, 1);
    assert_false(row_exists(f, b));
    assert_true(row_exists(f, a));
    assert_int_equal(retention_run(f->store, 10, 0, "a@example.com:inbox", &removed), 0);
    assert_int_equal(removed, 1);
    int64_t c = deliver(f, "c@example.com", 100);
    assert_int_equal(retention_run(f->store, 10, 0, "INBOX", &removed), 0);
    assert_int_equal(removed, 1);
    assert_false(row_exists(f, c));
}

static void test_interval(void **state) {
    (void)state;
    assert_int_equal(retention_interval_ms(0, 0), 0);
    assert_int_equal(retention_interval_ms(-1, 0), 0);
    assert_int_equal(retention_interval_ms(2, 0), RETENTION_MIN_INTERVAL_MS);
    assert_int_equal(retention_interval_ms(100, 0), 10000);
    assert_int_equal(retention_interval_ms(7 * 86400, 0), RETENTION_MAX_INTERVAL_MS);
    assert_int_equal(retention_interval_ms(INT64_MAX, 0), RETENTION_MAX_INTERVAL_MS);
    assert_int_equal(retention_interval_ms(0, 10), RETENTION_COUNT_INTERVAL_MS);
    assert_int_equal(retention_interval_ms(7 * 86400, 10), RETENTION_COUNT_INTERVAL_MS);
    assert_int_equal(retention_interval_ms(100, 10), 10000);
}

static void test_store_open_beside_server(void **state) {
    struct fixture *f = *state;
    int64_t row = deliver(f, "a@example.com", 100);
    buf_t err = BUF_INIT;
    struct store *s2 = retention_store_open(f->dir, "test.example", &err);
    assert_non_null(s2);
    int removed = -1;
    assert_int_equal(retention_run(s2, 50, 0, NULL, &removed), 0);
    assert_int_equal(removed, 1);
    store_close(s2);
    assert_false(row_exists(f, row));
    assert_null(retention_store_open("/nonexistent/devmail", "x", &err));
    assert_true(err.len > 0);
    buf_free(&err);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_by_age, setup, teardown),
        cmocka_unit_test_setup_teardown(test_by_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filters, setup, teardown),
        cmocka_unit_test(test_interval),
        cmocka_unit_test_setup_teardown(test_store_open_beside_server, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
