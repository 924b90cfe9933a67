/*
 * test_tag_filter - Mailpit's tag filter rules judged in memory against a
 * new message's summary: each search kind, negation, the raw-text rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/search_query.h"
#include "store/tag_filter.h"

static struct msg_summary sum = {
    .hdr_from = "Shop <news@shop.example>", .hdr_to = "Bob <bob@example.com>", .hdr_cc = "", .hdr_bcc = "",
    .hdr_reply_to = "", .subject = "Reset your Password", .message_id = "abc@shop.example", .attachments = 1,
    .inlines = 0, .text = "Click the link to continue",
};

static bool matches(const char *q, const struct tag_filter_msg *m) {
    struct search_query sq;
    buf_t err = BUF_INIT;
    assert_int_equal(search_query_parse(q, strlen(q), 0, &sq, &err), 0);
    bool r = tag_filter_matches(&sq, m);
    search_query_free(&sq);
    buf_free(&err);
    return r;
}

static void test_matches(void **state) {
    (void)state;
    struct tag_filter_msg m = {&sum, "bob@example.com, hidden@example.com", "Tag+1", 2048, 1767225600, NULL};
    assert_true(matches("subject:reset", &m));
    assert_true(matches("from:NEWS@", &m));
    assert_true(matches("password link", &m));
    assert_false(matches("password nowhere", &m));
    assert_true(matches("-subject:invoice", &m));
    assert_true(matches("bcc:hidden", &m));
    assert_false(matches("bcc:bob", &m));
    assert_true(matches("has:attachment is:unread", &m));
    assert_false(matches("is:read", &m));
    assert_true(matches("tag:\"Tag 1\"", &m));
    assert_false(matches("tag:Tag", &m));
    assert_true(matches("larger:1K smaller:1M", &m));
    assert_true(matches("after:2025-12-31 before:2026-01-02", &m));
    assert_true(matches("message-id:abc@", &m));
}

static void test_apply(void **state) {
    (void)state;
    struct tag_rule *r;
    size_t n;
    buf_t err = BUF_INIT, kw = BUF_INIT;
    assert_int_equal(tag_rules_parse("\"Reset Mail,auth=subject:reset\" bulk=from:nobody@ raw=x-mailer:", &r, &n, &err), 0);
    struct tag_filter_msg m = {&sum, "", "", 10, 0, "x-mailer: foo\nsubject: reset your password\n"};
    buf_append_str(&kw, "auth");
    tag_filter_apply(r, n, &m, &kw);
    /* the raw rule: "x-mailer:" as a search is a word, but the raw text has it */
    assert_string_equal(buf_cstr(&kw), "auth Reset+Mail raw");
    tag_rules_free(r, n);
    buf_free(&kw);
    buf_free(&err);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches),
        cmocka_unit_test(test_apply),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
