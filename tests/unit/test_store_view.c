/*
 * test_store_view - the typed reads protocol sessions make of the index
 * (store/view.h, store/fetch_data.h, store/search_rows.h) and the set
 * changes of store.h used by IMAP STORE and MOVE: a mailbox view in UID
 * order, the \Recent claim, lookups of changed and expunged UIDs, STATUS
 * counts, subscriptions, the FETCH data cursor with its cache, the SEARCH
 * rows cursor and POP3's INBOX list. Each test works in its own mkdtemp
 * directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "store/fetch_data.h"
#include "store/search_rows.h"
#include "store/store.h"
#include "store/view.h"
#include "unit_dir.h"

#define ACCT "view@example.com"

/* An INBOX with n messages "Subject: hello <i>" from Ann (i from 1),
 * the given flags and keywords on the first; rows into rows. */
static struct store *store_with_inbox(const char *dir, int n, int flags0, const char *kw0, int64_t *rows) {
    struct store *s = open_store(dir);
    assert_int_equal(store_mailbox_create(s, ACCT, "INBOX"), 0);
    for (int i = 0; i < n; i++) {
        buf_t m = BUF_INIT;
        buf_printf(&m,
                   "From: Ann <ann@example.com>\r\nTo: bob@example.com\r\nSubject: hello %d\r\n"
                   "Date: Tue, 01 Dec 2026 10:00:00 +0000\r\n\r\nbody %d\r\n",
                   i + 1, i + 1);
        assert_int_equal(store_append(s, ACCT, "INBOX", m.data, m.len, i == 0 ? flags0 : 0, i == 0 ? kw0 : NULL,
                                      1700000000 + i, &rows[i], NULL),
                         0);
        buf_free(&m);
    }
    return s;
}

static int64_t inbox_id(struct store *s) {
    struct store_mailbox_info mb;
    assert_int_equal(store_mailbox_info(s, ACCT, "INBOX", false, &mb), 0);
    return mb.id;
}

static void test_store_mailbox_info(void **state) {
    int64_t rows[2];
    struct store *s = store_with_inbox(*state, 2, 0, NULL, rows);
    struct store_mailbox_info mb;
    assert_int_equal(store_mailbox_info(s, ACCT, "INBOX", false, &mb), 0);
    assert_true(mb.id > 0);
    assert_true(mb.uidvalidity > 0);
    assert_int_equal(mb.uidnext, 3);
    assert_int_equal(store_mailbox_info(s, ACCT, "Nowhere", false, &mb), -ENOENT);
    assert_int_equal(mb.id, 0);
    /* create makes the index entry only */
    assert_int_equal(store_mailbox_info(s, ACCT, "Later", true, &mb), 0);
    assert_int_equal(mb.uidnext, 1);
    store_close(s);
}

static void test_store_view_load_and_claim_recent(void **state) {
    int64_t rows[3];
    struct store *s = store_with_inbox(*state, 3, MSG_SEEN | MSG_FLAGGED, "$Label1 work", rows);
    int64_t mid = inbox_id(s);
    struct store_view_msg *v;
    size_t n;
    assert_int_equal(store_view_load(s, mid, 0, &v, &n), 0);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(v[i].uid, i + 1);
        assert_int_equal(v[i].row, rows[i]);
        assert_true(v[i].recent);
        assert_true(v[i].modseq > 0);
    }
    assert_int_equal(v[0].flags, MSG_SEEN | MSG_FLAGGED);
    assert_string_equal(v[0].keywords, "$Label1 work");
    assert_null(v[1].keywords);
    assert_int_equal(v[1].flags, 0);
    store_view_free(&v, n);
    assert_null(v);
    /* only what is above after_uid */
    assert_int_equal(store_view_load(s, mid, 2, &v, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].uid, 3);
    store_view_free(&v, n);
    assert_int_equal(store_view_load(s, mid, 3, &v, &n), 0);
    assert_int_equal(n, 0);
    assert_null(v);
    /* claiming \Recent for UIDs 1..2 leaves 3 recent, and claims once */
    assert_int_equal(store_view_claim_recent(s, mid, 0, 2), 2);
    assert_int_equal(store_view_claim_recent(s, mid, 0, 2), 0);
    assert_int_equal(store_view_load(s, mid, 0, &v, &n), 0);
    assert_int_equal(n, 3);
    assert_false(v[0].recent);
    assert_false(v[1].recent);
    assert_true(v[2].recent);
    store_view_free(&v, n);
    /* another mailbox's view is empty */
    struct store_mailbox_info other;
    assert_int_equal(store_mailbox_info(s, ACCT, "Other", true, &other), 0);
    assert_int_equal(store_view_load(s, other.id, 0, &v, &n), 0);
    assert_int_equal(n, 0);
    store_close(s);
}

static void test_store_view_lookup(void **state) {
    int64_t rows[3];
    struct store *s = store_with_inbox(*state, 3, 0, NULL, rows);
    int64_t mid = inbox_id(s);
    struct store_view_msg *v;
    size_t n;
    assert_int_equal(store_view_load(s, mid, 0, &v, &n), 0);
    uint64_t modseq2 = v[1].modseq;
    store_view_free(&v, n);
    assert_int_equal(store_set_flags(s, rows[1], MSG_ANSWERED, "done"), 0);
    assert_int_equal(store_expunge(s, rows[2]), 0);
    uint32_t uids[4] = {1, 2, 3, 99};
    struct store_view_msg out[4];
    assert_int_equal(store_view_lookup(s, mid, uids, 4, out), 0);
    assert_int_equal(out[0].row, rows[0]);
    assert_int_equal(out[0].uid, 1);
    assert_int_equal(out[1].row, rows[1]);
    assert_int_equal(out[1].flags, MSG_ANSWERED);
    assert_string_equal(out[1].keywords, "done");
    assert_true(out[1].modseq > modseq2);
    assert_int_equal(out[2].row, 0); /* expunged */
    assert_int_equal(out[3].row, 0); /* never was */
    for (int i = 0; i < 4; i++) store_view_msg_clear(&out[i]);
    assert_int_equal(store_view_lookup(s, mid, uids, 0, out), 0);
    store_close(s);
}

static void test_store_mailbox_status(void **state) {
    int64_t rows[3];
    struct store *s = store_with_inbox(*state, 3, MSG_SEEN, NULL, rows);
    struct store_mailbox_status st;
    assert_int_equal(store_mailbox_status(s, ACCT, "INBOX", &st), 0);
    assert_int_equal(st.messages, 3);
    assert_int_equal(st.unseen, 2);
    assert_int_equal(st.recent, 3);
    assert_true(st.size > 0);
    assert_int_equal(st.info.uidnext, 4);
    assert_int_equal(st.info.id, inbox_id(s));
    assert_int_equal(store_view_claim_recent(s, st.info.id, 0, 1), 1);
    assert_int_equal(store_mailbox_status(s, ACCT, "INBOX", &st), 0);
    assert_int_equal(st.recent, 2);
    /* an empty mailbox counts zeros, a missing one is -ENOENT */
    assert_int_equal(store_mailbox_create(s, ACCT, "Empty"), 0);
    assert_int_equal(store_mailbox_status(s, ACCT, "Empty", &st), 0);
    assert_int_equal(st.messages, 0);
    assert_int_equal(st.size, 0);
    assert_int_equal(store_mailbox_status(s, ACCT, "Nowhere", &st), -ENOENT);
    store_close(s);
}

static void test_store_subscriptions(void **state) {
    struct store *s = open_store(*state);
    assert_int_equal(store_mailbox_create(s, ACCT, "Lists"), 0);
    /* a new mailbox is not subscribed (RFC 3501 6.3.3) */
    assert_int_equal(store_mailbox_is_subscribed(s, ACCT, "Lists"), 0);
    assert_int_equal(store_mailbox_set_subscribed(s, ACCT, "Lists", true), 0);
    assert_int_equal(store_mailbox_is_subscribed(s, ACCT, "Lists"), 1);
    assert_int_equal(store_mailbox_set_subscribed(s, ACCT, "Lists", true), 0); /* twice: still one */
    assert_int_equal(store_mailbox_set_subscribed(s, ACCT, "Lists", false), 0);
    assert_int_equal(store_mailbox_is_subscribed(s, ACCT, "Lists"), 0);
    assert_int_equal(store_mailbox_set_subscribed(s, ACCT, "Lists", true), 0);
    /* per account */
    assert_int_equal(store_mailbox_is_subscribed(s, "other@example.com", "Lists"), 0);
    /* a name without a mailbox can be subscribed (RFC 3501 6.3.6) */
    assert_int_equal(store_mailbox_set_subscribed(s, ACCT, "Nowhere", true), 0);
    assert_int_equal(store_mailbox_is_subscribed(s, ACCT, "Nowhere"), 1);
    /* renaming moves the subscription; deleting keeps it */
    assert_int_equal(store_mailbox_rename(s, ACCT, "Lists", "Lists2"), 0);
    assert_int_equal(store_mailbox_is_subscribed(s, ACCT, "Lists"), 0);
    assert_int_equal(store_mailbox_is_subscribed(s, ACCT, "Lists2"), 1);
    assert_int_equal(store_mailbox_delete(s, ACCT, "Lists2"), 0);
    assert_int_equal(store_mailbox_is_subscribed(s, ACCT, "Lists2"), 1);
    char **v = store_subscriptions(s, ACCT);
    assert_non_null(v);
    assert_string_equal(v[0], "Lists2");
    assert_string_equal(v[1], "Nowhere");
    assert_null(v[2]);
    store_strv_free(v);
    v = store_subscriptions(s, "other@example.com");
    assert_non_null(v);
    assert_null(v[0]);
    store_strv_free(v);
    store_close(s);
}

static void test_store_fetch_data(void **state) {
    int64_t rows[2];
    struct store *s = store_with_inbox(*state, 2, 0, NULL, rows);
    struct store_fetch_cursor *c = store_fetch_cursor_new(s);
    assert_non_null(c);
    struct store_fetch_data d;
    assert_int_equal(store_fetch_data_get(c, rows[1], &d), 0);
    assert_int_equal(d.internaldate, 1700000001);
    assert_true(d.size > 0);
    assert_null(d.envelope);
    assert_null(d.body);
    assert_null(d.bodystructure);
    store_fetch_data_free(&d);
    assert_int_equal(store_fetch_cache_set(c, rows[1], "(env)", "(body)", "(bs)"), 0);
    assert_int_equal(store_fetch_data_get(c, rows[1], &d), 0);
    assert_string_equal(d.envelope, "(env)");
    assert_string_equal(d.body, "(body)");
    assert_string_equal(d.bodystructure, "(bs)");
    store_fetch_data_free(&d);
    /* the other message is untouched */
    assert_int_equal(store_fetch_data_get(c, rows[0], &d), 0);
    assert_null(d.envelope);
    store_fetch_data_free(&d);
    /* a copy takes the cache along */
    assert_int_equal(store_mailbox_create(s, ACCT, "Copies"), 0);
    int64_t copy;
    assert_int_equal(store_copy(s, rows[1], "Copies", &copy, NULL), 0);
    assert_int_equal(store_fetch_data_get(c, copy, &d), 0);
    assert_string_equal(d.bodystructure, "(bs)");
    store_fetch_data_free(&d);
    /* gone */
    assert_int_equal(store_expunge(s, rows[0]), 0);
    assert_int_equal(store_fetch_data_get(c, rows[0], &d), -ENOENT);
    assert_int_equal(d.size, 0);
    assert_int_equal(store_fetch_cache_set(c, rows[0], "a", "b", "c"), 0);
    store_fetch_cursor_free(&c);
    assert_null(c);
    store_fetch_cursor_free(&c);
    store_close(s);
}

static void test_store_search_rows(void **state) {
    int64_t rows[3];
    struct store *s = store_with_inbox(*state, 3, 0, NULL, rows);
    assert_int_equal(store_expunge(s, rows[1]), 0);
    struct store_search_rows *c = store_search_rows_open(s, inbox_id(s));
    assert_non_null(c);
    struct store_search_row r;
    assert_int_equal(store_search_rows_next(c, &r), 1);
    assert_int_equal(r.uid, 1);
    assert_int_equal(r.row, rows[0]);
    assert_int_equal(r.internaldate, 1700000000);
    assert_true(r.sent_date > 0);
    assert_true(r.size > 0);
    assert_string_equal(r.subject, "hello 1");
    assert_non_null(strstr(r.from, "ann@example.com"));
    assert_non_null(strstr(r.to, "bob@example.com"));
    assert_string_equal(r.cc, "");
    assert_string_equal(r.bcc, "");
    assert_int_equal(store_search_rows_next(c, &r), 1);
    assert_int_equal(r.uid, 3);
    assert_string_equal(r.subject, "hello 3");
    assert_int_equal(store_search_rows_next(c, &r), 0);
    assert_int_equal(store_search_rows_next(c, &r), 0);
    store_search_rows_close(&c);
    assert_null(c);
    store_close(s);
}

static void test_store_inbox_list(void **state) {
    int64_t rows[2];
    struct store *s = store_with_inbox(*state, 2, 0, NULL, rows);
    /* another mailbox of the account is not the maildrop */
    assert_int_equal(store_mailbox_create(s, ACCT, "Other"), 0);
    int64_t copy;
    assert_int_equal(store_copy(s, rows[0], "Other", &copy, NULL), 0);
    struct store_inbox_msg *v;
    size_t n;
    assert_int_equal(store_inbox_list(s, ACCT, &v, &n), 0);
    assert_int_equal(n, 2);
    struct store_mailbox_info mb;
    assert_int_equal(store_mailbox_info(s, ACCT, "INBOX", false, &mb), 0);
    for (size_t i = 0; i < n; i++) {
        struct store_msg m;
        assert_int_equal(store_msg_get(s, rows[i], &m), 0);
        assert_int_equal(v[i].row, rows[i]);
        assert_int_equal(v[i].uid, i + 1);
        assert_int_equal(v[i].uidvalidity, mb.uidvalidity);
        assert_int_equal(v[i].size, m.size);
        assert_string_equal(v[i].api_id, m.api_id);
        store_msg_free(&m);
    }
    store_inbox_free(&v, n);
    assert_null(v);
    assert_int_equal(store_inbox_list(s, "nobody@example.com", &v, &n), 0);
    assert_int_equal(n, 0);
    assert_null(v);
    store_close(s);
}

/* STORE of a set: each message its own change, results per message. */
static void test_store_update_flags_set(void **state) {
    int64_t rows[3];
    struct store *s = store_with_inbox(*state, 3, 0, NULL, rows);
    struct store_msg m;
    assert_int_equal(store_msg_get(s, rows[1], &m), 0);
    uint64_t seen_modseq = m.modseq;
    store_msg_free(&m);
    /* message 2 changes under the caller; message 3 is expunged */
    assert_int_equal(store_set_flags(s, rows[1], MSG_DRAFT, NULL), 0);
    assert_int_equal(store_expunge(s, rows[2]), 0);
    int rcs[3];
    struct store_flags out[3];
    assert_int_equal(store_msg_get(s, rows[0], &m), 0);
    uint64_t unchanged = m.modseq > seen_modseq ? m.modseq : seen_modseq;
    store_msg_free(&m);
    store_update_flags_set(s, rows, 3, STORE_FLAGS_ADD, MSG_FLAGGED, "tag", &unchanged, rcs, out);
    assert_int_equal(rcs[0], 0);
    assert_int_equal(out[0].flags, MSG_FLAGGED);
    assert_string_equal(out[0].keywords, "tag");
    assert_int_equal(rcs[1], STORE_FLAGS_MODIFIED);
    assert_int_equal(out[1].flags, MSG_DRAFT);
    assert_int_equal(rcs[2], -ENOENT);
    store_flags_free(&out[0]);
    store_flags_free(&out[1]);
    assert_int_equal(store_msg_get(s, rows[0], &m), 0);
    assert_int_equal(m.flags, MSG_FLAGGED);
    store_msg_free(&m);
    /* out may be NULL */
    store_update_flags_set(s, rows, 2, STORE_FLAGS_REMOVE, MSG_FLAGGED | MSG_DRAFT, NULL, NULL, rcs, NULL);
    assert_int_equal(rcs[0], 0);
    assert_int_equal(rcs[1], 0);
    assert_int_equal(store_msg_get(s, rows[1], &m), 0);
    assert_int_equal(m.flags, 0);
    store_msg_free(&m);
    store_close(s);
}

static void test_store_expunge_set(void **state) {
    int64_t rows[3];
    struct store *s = store_with_inbox(*state, 3, 0, NULL, rows);
    assert_int_equal(store_expunge(s, rows[0]), 0);
    assert_int_equal(store_expunge_set(s, rows, 2), 1);
    struct store_view_msg *v;
    size_t n;
    assert_int_equal(store_view_load(s, inbox_id(s), 0, &v, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].row, rows[2]);
    store_view_free(&v, n);
    assert_int_equal(store_expunge_set(s, rows, 0), 0);
    store_close(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_mailbox_info, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_store_view_load_and_claim_recent, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_store_view_lookup, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_store_mailbox_status, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_store_subscriptions, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_store_fetch_data, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_store_search_rows, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_store_inbox_list, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_store_update_flags_set, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_store_expunge_set, setup_dir, teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
