/*
 * test_api_query - the store's typed queries and bulk changes for the
 * JSON API: scope (INBOX of one account or all), newest-first pages with
 * limit/offset, counts, lookups, search, tags, read state, retag,
 * deletion and totals, on a store in its own mkdtemp directory with
 * messages delivered synchronously.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/search_query.h"
#include "store/api_query.h"
#include "store/store.h"
#include "unit_dir.h"

struct fixture {
    char *dir;
    struct store *s;
    int64_t rows[4]; /* delivery order: a, b, c to all@, d to bob@ */
};

static void done_cb(struct store_delivery *d, int result, void *arg) {
    (void)d;
    *(int *)arg = result;
}

static int64_t deliver(struct store *s, const char *account, const char *subject, const char *from) {
    char *accounts[] = {(char *)account};
    struct store_delivery d;
    assert_int_equal(store_delivery_begin(s, &d, accounts, 1, from, account), 0);
    buf_t m = BUF_INIT;
    buf_printf(&m, "From: %s\nTo: %s\nSubject: %s\nMessage-ID: <%s@test>\n\nBody of %s.\n", from, account, subject,
               subject, subject);
    store_delivery_write(&d, m.data, m.len);
    buf_free(&m);
    int result = -1;
    store_delivery_commit(&d, done_cb, &result);
    assert_int_equal(result, 0);
    int64_t row = d.rows[0];
    store_delivery_free(&d);
    return row;
}

static int setup(void **state) {
    struct fixture *f = calloc(1, sizeof *f);
    if (!(f->dir = unit_dir_make())) return -1;
    f->s = open_store(f->dir);
    f->rows[0] = deliver(f->s, "all@example.com", "alpha", "ann@example.com");
    f->rows[1] = deliver(f->s, "all@example.com", "beta", "bob@shop.test");
    f->rows[2] = deliver(f->s, "all@example.com", "gamma", "ann@example.com");
    f->rows[3] = deliver(f->s, "bob@example.org", "delta", "carol@example.net");
    *state = f;
    return 0;
}

static int teardown(void **state) {
    struct fixture *f = *state;
    store_close(f->s);
    unit_dir_remove(f->dir);
    free(f);
    return 0;
}

static struct search_query parse(const char *q) {
    struct search_query sq;
    buf_t err = BUF_INIT;
    assert_int_equal(search_query_parse(q, strlen(q), 0, &sq, &err), 0);
    buf_free(&err);
    return sq;
}

static void test_api_query_scope_and_counts(void **state) {
    struct fixture *f = *state;
    int64_t total, unread;
    assert_int_equal(api_query_count(f->s, NULL, NULL, &total, &unread), 0);
    assert_int_equal(total, 4);
    assert_int_equal(unread, 4);
    assert_int_equal(api_query_count(f->s, "all@example.com", NULL, &total, &unread), 0);
    assert_int_equal(total, 3);
    assert_int_equal(api_query_count(f->s, "nobody@example.com", NULL, &total, &unread), 0);
    assert_int_equal(total, 0);
    struct search_query q = parse("from:ann");
    assert_int_equal(api_query_count(f->s, "all@example.com", &q, &total, &unread), 0);
    assert_int_equal(total, 2);
    search_query_free(&q);
    /* full text of messages just delivered (queued, flushed on demand) */
    q = parse("body gamma");
    assert_int_equal(api_query_count(f->s, NULL, &q, &total, &unread), 0);
    assert_int_equal(total, 1);
    assert_int_equal(api_query_matches(f->s, NULL, &q, f->rows[2] - 1, f->rows[2]), 1);
    assert_int_equal(api_query_matches(f->s, NULL, &q, f->rows[0], f->rows[1]), 0);
    assert_int_equal(api_query_matches(f->s, "bob@example.org", &q, 0, f->rows[3]), 0);
    assert_int_equal(api_query_matches(f->s, NULL, &q, 0, f->rows[3]), 1);
    search_query_free(&q);
    assert_int_equal(api_query_matches(f->s, "bob@example.org", NULL, 0, f->rows[3]), 1);
    int64_t messages, bytes;
    assert_int_equal(api_query_store_totals(f->s, &messages, &bytes), 0);
    assert_int_equal(messages, 4);
    assert_true(bytes > 0);
}

static void test_api_query_pages(void **state) {
    struct fixture *f = *state;
    struct api_query_summary *v;
    size_t n;
    assert_int_equal(api_query_list(f->s, "all@example.com", NULL, 0, 50, &v, &n), 0);
    assert_int_equal(n, 3);
    /* newest first: same second of arrival, so by row, descending */
    assert_int_equal(v[0].row, f->rows[2]);
    assert_int_equal(v[1].row, f->rows[1]);
    assert_int_equal(v[2].row, f->rows[0]);
    assert_string_equal(v[0].subject, "gamma");
    assert_string_equal(v[0].account, "all@example.com");
    assert_non_null(strstr(v[1].hdr_from, "bob@shop.test"));
    assert_string_equal(v[1].mail_from, "bob@shop.test");
    assert_string_equal(v[1].message_id, "beta@test");
    assert_string_equal(v[1].keywords, "");
    api_query_list_free(v, n);
    assert_int_equal(api_query_list(f->s, "all@example.com", NULL, 1, 1, &v, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].row, f->rows[1]);
    api_query_list_free(v, n);
    assert_int_equal(api_query_list(f->s, "all@example.com", NULL, 5, 10, &v, &n), 0);
    assert_int_equal(n, 0);
    assert_null(v);

    struct api_query_summary m;
    assert_int_equal(api_query_summary(f->s, "all@example.com", f->rows[0], &m), 1);
    assert_string_equal(m.subject, "alpha");
    int64_t row = 0;
    assert_int_equal(api_query_find(f->s, "all@example.com", m.api_id, &row), 1);
    assert_int_equal(row, f->rows[0]);
    assert_int_equal(api_query_find(f->s, "bob@example.org", m.api_id, &row), 0);
    api_query_summary_free(&m);
    assert_int_equal(api_query_summary(f->s, "all@example.com", f->rows[3], &m), 0);
    api_query_summary_free(&m);
    assert_int_equal(api_query_latest(f->s, "all@example.com", &row), 1);
    assert_int_equal(row, f->rows[2]);
    assert_int_equal(api_query_latest(f->s, "nobody@example.com", &row), 0);

    int64_t *rows;
    assert_int_equal(api_query_rows(f->s, NULL, NULL, &rows, &n), 0);
    assert_int_equal(n, 4);
    free(rows);
}

static void test_api_query_tags(void **state) {
    struct fixture *f = *state;
    char *kw = api_query_keywords_edit("a b a c", "b", "a");
    assert_string_equal(kw, "a c");
    free(kw);
    kw = api_query_keywords_edit("", NULL, "x");
    assert_string_equal(kw, "x");
    free(kw);
    kw = api_query_keywords_edit("x", "x", NULL);
    assert_string_equal(kw, "");
    free(kw);

    assert_int_equal(api_query_set_tags(f->s, f->rows, 2, "zeta Alpha"), 0);
    assert_int_equal(api_query_set_tags(f->s, &f->rows[3], 1, "beta"), 0);
    char **tags;
    size_t n;
    assert_int_equal(api_query_tags(f->s, "all@example.com", &tags, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(tags[0], "Alpha");
    assert_string_equal(tags[1], "zeta");
    api_query_tags_free(tags, n);
    assert_int_equal(api_query_tags(f->s, NULL, &tags, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(tags[1], "beta");
    api_query_tags_free(tags, n);
    int64_t count;
    assert_int_equal(api_query_tag_count(f->s, "all@example.com", "zeta", &count), 0);
    assert_int_equal(count, 2);
    assert_int_equal(api_query_tag_count(f->s, "all@example.com", "zet", &count), 0);
    assert_int_equal(count, 0);

    /* rename in one account's scope only, then drop */
    assert_int_equal(api_query_retag(f->s, "all@example.com", "zeta", "omega"), 0);
    struct store_msg m;
    assert_int_equal(store_msg_get(f->s, f->rows[0], &m), 0);
    assert_string_equal(m.keywords, "Alpha omega");
    store_msg_free(&m);
    assert_int_equal(api_query_retag(f->s, NULL, "Alpha", NULL), 0);
    assert_int_equal(store_msg_get(f->s, f->rows[1], &m), 0);
    assert_string_equal(m.keywords, "omega");
    store_msg_free(&m);
    struct search_query q = parse("tag:omega");
    int64_t total, unread;
    assert_int_equal(api_query_count(f->s, NULL, &q, &total, &unread), 0);
    assert_int_equal(total, 2);
    search_query_free(&q);
}

static void test_api_query_edit_tags(void **state) {
    struct fixture *f = *state;
    char *kw = api_query_keywords_add_remove("a B c", "b d d", "C");
    assert_string_equal(kw, "a B d"); /* B stays (case folded), d once, C removes c */
    free(kw);
    kw = api_query_keywords_add_remove("", "", "x");
    assert_string_equal(kw, "");
    free(kw);

    assert_int_equal(api_query_set_tags(f->s, f->rows, 1, "keep old"), 0);
    assert_int_equal(api_query_set_tags(f->s, &f->rows[1], 1, "old"), 0);
    /* one call over both rows: each keeps its own other keywords */
    assert_int_equal(api_query_edit_tags(f->s, f->rows, 2, "new+tag", "old"), 0);
    struct store_msg m;
    assert_int_equal(store_msg_get(f->s, f->rows[0], &m), 0);
    assert_string_equal(m.keywords, "keep new+tag");
    store_msg_free(&m);
    assert_int_equal(store_msg_get(f->s, f->rows[1], &m), 0);
    assert_string_equal(m.keywords, "new+tag");
    store_msg_free(&m);
    int64_t count;
    assert_int_equal(api_query_tag_count(f->s, NULL, "new+tag", &count), 0);
    assert_int_equal(count, 2);
    assert_int_equal(api_query_tag_count(f->s, NULL, "old", &count), 0);
    assert_int_equal(count, 0);

    /* every tag with its count in one pass, per scope */
    assert_int_equal(api_query_set_tags(f->s, &f->rows[3], 1, "keep"), 0);
    char **tags;
    int64_t *counts;
    size_t n;
    assert_int_equal(api_query_tag_counts(f->s, NULL, &tags, &counts, &n), 0);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(tags[i], "keep")) assert_int_equal(counts[i], 2);
        else if (!strcmp(tags[i], "new+tag")) assert_int_equal(counts[i], 2);
        else fail_msg("unexpected tag %s", tags[i]);
    }
    api_query_tags_free(tags, n);
    free(counts);
    assert_int_equal(api_query_tag_counts(f->s, "bob@example.org", &tags, &counts, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(tags[0], "keep");
    assert_int_equal(counts[0], 1);
    api_query_tags_free(tags, n);
    free(counts);
}

static void test_api_query_read_and_delete(void **state) {
    struct fixture *f = *state;
    assert_int_equal(api_query_mark_read(f->s, f->rows, 3, true), 0);
    int64_t total, unread;
    assert_int_equal(api_query_count(f->s, NULL, NULL, &total, &unread), 0);
    assert_int_equal(unread, 1);
    struct store_msg m;
    assert_int_equal(store_msg_get(f->s, f->rows[0], &m), 0);
    assert_true(m.flags & MSG_SEEN);
    assert_non_null(strstr(m.path, "/cur/"));
    assert_int_equal(access(m.path, F_OK), 0);
    store_msg_free(&m);
    assert_int_equal(api_query_mark_read(f->s, &f->rows[1], 1, false), 0);
    assert_int_equal(api_query_count(f->s, NULL, NULL, &total, &unread), 0);
    assert_int_equal(unread, 2);

    /* a row that is gone already is skipped */
    int64_t del[] = {f->rows[0], f->rows[2], 999999};
    assert_int_equal(api_query_delete(f->s, del, 3), 0);
    assert_int_equal(api_query_count(f->s, "all@example.com", NULL, &total, &unread), 0);
    assert_int_equal(total, 1);
    assert_int_equal(store_msg_get(f->s, f->rows[0], &m), -1);
    assert_int_equal(api_query_mark_read(f->s, del, 3, true), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_api_query_scope_and_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_query_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_query_tags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_query_edit_tags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_query_read_and_delete, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
