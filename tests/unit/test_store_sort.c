/*
 * test_store_sort - the SORT / THREAD reads of the index (store/sort.h):
 * keys stored at delivery (base subject, first addresses, display names,
 * sent date with the INTERNALDATE fallback, References), every sort key
 * both ways with UID order for ties, a subset of UIDs named in the query
 * and one filtered while reading (more than SORT_MAX_BOUND_UIDS), the
 * threading data, keys that follow their message (copied, expunged,
 * gone with a deleted mailbox), and rows from before the keys existed
 * filled by store_sort_keys_fill. Each test works in its own mkdtemp directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sqlite3.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "store/sort.h"
#include "store/store.h"
#include "store/view.h"
#include "unit_dir.h"

#define ACCT "sort@example.com"

static const char *const MSGS[] = {
    "From: \"Zed\" <b@x.org>\r\nTo: c@x.org\r\nCc: a@x.org\r\nSubject: Re: beta\r\n"
    "Date: Mon, 02 Jan 2023 10:00:00 +0000\r\nMessage-ID: <one@x>\r\n\r\nxx\r\n",
    "From: a@x.org\r\nTo: \"Anna\" <z@x.org>\r\nSubject: alpha\r\nDate: Sun, 01 Jan 2023 23:00:00 -0500\r\n"
    "Message-ID: <two@x>\r\nReferences: <one@x> <gone@x>\r\nIn-Reply-To: <gone@x>\r\n\r\nxxxxxxxxxxxxxxxxxxxx\r\n",
    "From: =?utf-8?q?=C3=89mile?= <m@x.org>\r\nTo: b@x.org\r\nSubject: =?utf-8?q?=5Blist=5D_Fwd:_Gamma?=\r\n"
    "In-Reply-To: <one@x>\r\n\r\nx\r\n",
};
/* INTERNALDATEs: message 3 has no Date header and sorts by this one */
static const int64_t DATES[] = {1673100000, 1672900000, 1672000000};

static struct store *store_with_msgs(const char *dir, int64_t mailbox_id_out[1]) {
    struct store *s = open_store(dir);
    assert_int_equal(store_mailbox_create(s, ACCT, "INBOX"), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(store_append(s, ACCT, "INBOX", MSGS[i], strlen(MSGS[i]), 0, NULL, DATES[i], NULL, NULL), 0);
    struct store_mailbox_info info;
    assert_int_equal(store_mailbox_info(s, ACCT, "INBOX", false, &info), 0);
    mailbox_id_out[0] = info.id;
    return s;
}

static void expect_sort(struct store *s, int64_t mb, enum store_sort_key k, bool reverse, const char *want) {
    static const uint32_t all[] = {1, 2, 3};
    struct store_sort_criterion c = {k, reverse};
    uint32_t out[3];
    size_t n = 9;
    assert_int_equal(store_sort_uids(s, mb, &c, 1, all, 3, out, &n), 0);
    char got[32] = "";
    for (size_t i = 0; i < n; i++) snprintf(got + strlen(got), sizeof got - strlen(got), "%s%u", i ? " " : "", out[i]);
    if (strcmp(got, want) != 0) fail_msg("key %d%s: [%s], expected [%s]", k, reverse ? " reversed" : "", got, want);
}

static void test_store_sort_keys(void **state) {
    int64_t mb;
    struct store *s = store_with_msgs(*state, &mb);
    expect_sort(s, mb, STORE_SORT_SUBJECT, false, "2 1 3");    /* ALPHA BETA GAMMA */
    expect_sort(s, mb, STORE_SORT_SUBJECT, true, "3 1 2");
    expect_sort(s, mb, STORE_SORT_DATE, false, "3 2 1");       /* 3: INTERNALDATE; 2 is Jan 2 04:00 UTC */
    expect_sort(s, mb, STORE_SORT_ARRIVAL, false, "3 2 1");
    expect_sort(s, mb, STORE_SORT_SIZE, false, "3 1 2");
    expect_sort(s, mb, STORE_SORT_FROM, false, "2 1 3");       /* a b m */
    expect_sort(s, mb, STORE_SORT_TO, false, "3 1 2");         /* b c z */
    expect_sort(s, mb, STORE_SORT_CC, false, "2 3 1");         /* "" "" a: ties in UID order */
    expect_sort(s, mb, STORE_SORT_CC, true, "1 2 3");
    expect_sort(s, mb, STORE_SORT_DISPLAYFROM, false, "2 3 1"); /* A@X.ORG, EMILE, ZED */
    expect_sort(s, mb, STORE_SORT_DISPLAYTO, false, "2 3 1");   /* ANNA, B@X.ORG, C@X.ORG */
    /* two criteria; a subset; an expunged UID is left out */
    struct store_sort_criterion two[] = {{STORE_SORT_CC, false}, {STORE_SORT_SIZE, true}};
    static const uint32_t all[] = {1, 2, 3};
    uint32_t out[3];
    size_t n;
    assert_int_equal(store_sort_uids(s, mb, two, 2, all, 3, out, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(out[0], 2);
    assert_int_equal(out[1], 3);
    static const uint32_t some[] = {1, 3, 7};
    assert_int_equal(store_sort_uids(s, mb, two, 1, some, 3, out, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(out[0], 3);
    assert_int_equal(out[1], 1);
    store_close(s);
}

static void test_store_thread_load(void **state) {
    int64_t mb;
    struct store *s = store_with_msgs(*state, &mb);
    static const uint32_t all[] = {1, 2, 3};
    struct store_thread_set set;
    assert_int_equal(store_thread_load(s, mb, all, 3, &set), 0);
    assert_int_equal(set.n, 3);
    assert_string_equal(set.msgs[0].message_id, "one@x");
    assert_string_equal(set.msgs[0].subject, "BETA");
    assert_true(set.msgs[0].reply);
    assert_int_equal(set.msgs[0].date, 1672653600);
    assert_string_equal(set.msgs[1].references, "one@x gone@x");
    assert_string_equal(set.msgs[1].in_reply_to, "gone@x");
    assert_false(set.msgs[1].reply);
    assert_string_equal(set.msgs[2].message_id, "");
    assert_string_equal(set.msgs[2].in_reply_to, "one@x");
    assert_true(set.msgs[2].reply); /* the "Fwd:" after the list tag */
    assert_int_equal(set.msgs[2].date, DATES[2]);
    store_thread_set_free(&set);
    store_close(s);
}

/* More UIDs than are named in a query: the mailbox is read and filtered. */
static void test_store_sort_many(void **state) {
    struct store *s = open_store(*state);
    assert_int_equal(store_mailbox_create(s, ACCT, "INBOX"), 0);
    enum { N = 700 };
    for (int i = 0; i < N; i++) {
        buf_t m = BUF_INIT;
        buf_printf(&m, "Subject: s%03d\r\nMessage-ID: <m%d@x>\r\n\r\nx\r\n", (i * 3) % N, i);
        assert_int_equal(store_append(s, ACCT, "INBOX", m.data, m.len, 0, NULL, 1700000000 + i, NULL, NULL), 0);
        buf_free(&m);
    }
    struct store_mailbox_info info;
    assert_int_equal(store_mailbox_info(s, ACCT, "INBOX", false, &info), 0);
    uint32_t *uids = malloc(N * sizeof *uids), *out = malloc(N * sizeof *out);
    size_t k = 0;
    for (int i = 1; i <= N; i++)
        if (i % 10) uids[k++] = (uint32_t)i;
    struct store_sort_criterion c = {STORE_SORT_SUBJECT, false};
    size_t n;
    assert_int_equal(store_sort_uids(s, info.id, &c, 1, uids, k, out, &n), 0);
    assert_int_equal(n, k);
    for (size_t i = 1; i < n; i++) {
        /* subject of uid u is s%03d of ((u-1)*3)%N: ascending */
        assert_true(((out[i - 1] - 1) * 3) % N < ((out[i] - 1) * 3) % N);
        assert_true(out[i] % 10 != 0);
    }
    struct store_thread_set set;
    assert_int_equal(store_thread_load(s, info.id, uids, k, &set), 0);
    assert_int_equal(set.n, k);
    assert_int_equal(set.msgs[k - 1].uid, N - 1);
    store_thread_set_free(&set);
    free(uids);
    free(out);
    store_close(s);
}

/* Rows indexed before the sort columns existed get them at the next open. */
static void test_store_sort_keys_fill(void **state) {
    int64_t mb;
    struct store *s = store_with_msgs(*state, &mb);
    store_close(s);
    buf_t p = BUF_INIT;
    buf_printf(&p, "%s/index.sqlite", (char *)*state);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(buf_cstr(&p), &db), SQLITE_OK);
    /* an index from before the table: rows in messages only */
    assert_int_equal(sqlite3_exec(db, "DROP TABLE sort_keys", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    buf_free(&p);
    s = open_store(*state);
    expect_sort(s, mb, STORE_SORT_SUBJECT, false, "2 1 3");
    expect_sort(s, mb, STORE_SORT_DISPLAYFROM, false, "2 3 1");
    assert_int_equal(store_sort_keys_fill(s), 0); /* nothing left to fill */
    static const uint32_t all[] = {1, 2, 3};
    struct store_thread_set set;
    assert_int_equal(store_thread_load(s, mb, all, 3, &set), 0);
    assert_string_equal(set.msgs[1].references, "one@x gone@x");
    assert_true(set.msgs[0].reply);
    store_thread_set_free(&set);
    store_close(s);
}

static int count_sort_keys(const char *dir) {
    buf_t p = BUF_INIT;
    buf_printf(&p, "%s/index.sqlite", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(buf_cstr(&p), &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM sort_keys", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    buf_free(&p);
    return n;
}

/* Keys go with their message: expunged, copied, or its mailbox deleted. */
static void test_store_sort_keys_follow_messages(void **state) {
    int64_t mb;
    struct store *s = store_with_msgs(*state, &mb);
    assert_int_equal(count_sort_keys(*state), 3);
    assert_int_equal(store_mailbox_create(s, ACCT, "Other"), 0);
    struct store_view_msg *v;
    size_t n;
    assert_int_equal(store_view_load(s, mb, 0, &v, &n), 0);
    assert_int_equal(n, 3);
    int64_t rows[2] = {v[0].row, v[2].row};
    assert_int_equal(store_copy_set(s, rows, 2, "Other", NULL, NULL), 0);
    assert_int_equal(count_sort_keys(*state), 5);
    struct store_mailbox_info other;
    assert_int_equal(store_mailbox_info(s, ACCT, "Other", false, &other), 0);
    static const uint32_t two[] = {1, 2};
    struct store_sort_criterion c = {STORE_SORT_DISPLAYFROM, false};
    uint32_t out[2];
    size_t k;
    assert_int_equal(store_sort_uids(s, other.id, &c, 1, two, 2, out, &k), 0);
    assert_int_equal(k, 2);
    assert_int_equal(out[0], 2); /* Émile before Zed */
    assert_int_equal(store_expunge(s, v[1].row), 0);
    assert_int_equal(count_sort_keys(*state), 4);
    store_view_free(&v, n);
    assert_int_equal(store_mailbox_delete(s, ACCT, "Other"), 0);
    assert_int_equal(count_sort_keys(*state), 2);
    store_close(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_sort_keys, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_store_thread_load, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_store_sort_many, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_store_sort_keys_fill, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_store_sort_keys_follow_messages, setup_dir, teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
