/*
 * test_search_query - the Mailpit search-language parser (a pure list of
 * terms): tokens, quoting, negation, every prefix, sizes, dates, limits.
 * The store's compiler of those terms is tested in test_search_compile.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/search_query.h"

static struct search_query parse_ok(const char *s) {
    struct search_query q;
    buf_t err = BUF_INIT;
    int rc = search_query_parse(s, strlen(s), 0, &q, &err);
    if (rc != 0) fail_msg("parse of '%s' failed: %s", s, buf_cstr(&err));
    buf_free(&err);
    return q;
}

static void expect_error(const char *s, size_t len, const char *reason_part) {
    struct search_query q;
    buf_t err = BUF_INIT;
    assert_int_equal(search_query_parse(s, len, 0, &q, &err), -1);
    assert_int_equal(q.count, 0);
    assert_null(q.terms);
    assert_non_null(strstr(buf_cstr(&err), reason_part));
    buf_free(&err);
}

static void expect_term(const struct search_query *q, size_t i, enum search_query_kind kind, bool negated,
                        const char *value) {
    assert_true(i < q->count);
    const struct search_query_term *t = &q->terms[i];
    if (t->kind != kind) fail_msg("term %zu: kind %s, want %s", i, search_query_kind_name(t->kind),
                                  search_query_kind_name(kind));
    assert_int_equal(t->negated, negated);
    if (value) {
        assert_non_null(t->value);
        assert_string_equal(t->value, value);
        assert_int_equal(t->value_len, strlen(value));
    } else {
        assert_null(t->value);
    }
}

static void test_empty(void **state) {
    (void)state;
    const char *inputs[] = {"", "   ", "\t\r\n", "-", "!", "\"\"", "\"  \"", "from:", "subject:\"\"", "-from: "};
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        struct search_query q = parse_ok(inputs[i]);
        if (q.count != 0) fail_msg("'%s' gave %zu terms", inputs[i], q.count);
        search_query_free(&q);
    }
}

static void test_words_and_phrases(void **state) {
    (void)state;
    struct search_query q = parse_ok("  hello   \"password reset\"\tworld ");
    assert_int_equal(q.count, 3);
    expect_term(&q, 0, SEARCH_QUERY_TEXT, false, "hello");
    expect_term(&q, 1, SEARCH_QUERY_TEXT, false, "password reset");
    expect_term(&q, 2, SEARCH_QUERY_TEXT, false, "world");
    search_query_free(&q);

    /* Quotes inside a token join segments; the quotes go away. */
    q = parse_ok("ab\"c d\"e");
    assert_int_equal(q.count, 1);
    expect_term(&q, 0, SEARCH_QUERY_TEXT, false, "abc de");
    search_query_free(&q);
}

static void test_negation(void **state) {
    (void)state;
    struct search_query q = parse_ok("-spam !\"out of office\" -is:read !from:bob --x");
    assert_int_equal(q.count, 5);
    expect_term(&q, 0, SEARCH_QUERY_TEXT, true, "spam");
    expect_term(&q, 1, SEARCH_QUERY_TEXT, true, "out of office");
    expect_term(&q, 2, SEARCH_QUERY_IS_READ, true, NULL);
    expect_term(&q, 3, SEARCH_QUERY_FROM, true, "bob");
    expect_term(&q, 4, SEARCH_QUERY_TEXT, true, "-x"); /* only one negation sign */
    search_query_free(&q);

    /* A quoted token that starts with '-' is negated too (as in Mailpit). */
    q = parse_ok("\"-two words\"");
    expect_term(&q, 0, SEARCH_QUERY_TEXT, true, "two words");
    search_query_free(&q);
}

static void test_text_prefixes(void **state) {
    (void)state;
    struct search_query q = parse_ok("from:alice@example.com TO:bob Cc:carol bcc:dave reply-to:erin "
                                     "addressed:frank subject:\"Your order\" message-id:<abc@x.test> "
                                     "tag:Urgent from:\"John Doe\" \"subject:two words\"");
    assert_int_equal(q.count, 11);
    expect_term(&q, 0, SEARCH_QUERY_FROM, false, "alice@example.com");
    expect_term(&q, 1, SEARCH_QUERY_TO, false, "bob");
    expect_term(&q, 2, SEARCH_QUERY_CC, false, "carol");
    expect_term(&q, 3, SEARCH_QUERY_BCC, false, "dave");
    expect_term(&q, 4, SEARCH_QUERY_REPLY_TO, false, "erin");
    expect_term(&q, 5, SEARCH_QUERY_ADDRESSED, false, "frank");
    expect_term(&q, 6, SEARCH_QUERY_SUBJECT, false, "Your order");
    expect_term(&q, 7, SEARCH_QUERY_MESSAGE_ID, false, "abc@x.test");
    expect_term(&q, 8, SEARCH_QUERY_TAG, false, "Urgent");
    expect_term(&q, 9, SEARCH_QUERY_FROM, false, "John Doe");
    expect_term(&q, 10, SEARCH_QUERY_SUBJECT, false, "two words");
    search_query_free(&q);
}

static void test_flags(void **state) {
    (void)state;
    struct search_query q = parse_ok("is:read IS:UNREAD is:tagged has:attachment has:Attachments "
                                     "has:inline has:inlines is:foo has:nothing");
    assert_int_equal(q.count, 9);
    expect_term(&q, 0, SEARCH_QUERY_IS_READ, false, NULL);
    expect_term(&q, 1, SEARCH_QUERY_IS_UNREAD, false, NULL);
    expect_term(&q, 2, SEARCH_QUERY_IS_TAGGED, false, NULL);
    expect_term(&q, 3, SEARCH_QUERY_HAS_ATTACHMENT, false, NULL);
    expect_term(&q, 4, SEARCH_QUERY_HAS_ATTACHMENT, false, NULL);
    expect_term(&q, 5, SEARCH_QUERY_HAS_INLINE, false, NULL);
    expect_term(&q, 6, SEARCH_QUERY_HAS_INLINE, false, NULL);
    expect_term(&q, 7, SEARCH_QUERY_TEXT, false, "is:foo");
    expect_term(&q, 8, SEARCH_QUERY_TEXT, false, "has:nothing");
    search_query_free(&q);
}

static void test_unknown_prefix(void **state) {
    (void)state;
    struct search_query q = parse_ok("foo:bar http://x.test/a");
    assert_int_equal(q.count, 2);
    expect_term(&q, 0, SEARCH_QUERY_TEXT, false, "foo:bar");
    expect_term(&q, 1, SEARCH_QUERY_TEXT, false, "http://x.test/a");
    search_query_free(&q);
}

static void test_sizes(void **state) {
    (void)state;
    struct search_query q = parse_ok("larger:10K smaller:1M larger:1.5m smaller:2G larger:100 "
                                     "larger:\"1.5 MB\" smaller:3kb larger:0 larger:7b");
    assert_int_equal(q.count, 9);
    const int64_t want[] = {10240, 1048576, 1572864, 2147483648LL, 100, 1572864, 3072, 0, 7};
    const enum search_query_kind kinds[] = {SEARCH_QUERY_LARGER, SEARCH_QUERY_SMALLER, SEARCH_QUERY_LARGER,
                                            SEARCH_QUERY_SMALLER, SEARCH_QUERY_LARGER, SEARCH_QUERY_LARGER,
                                            SEARCH_QUERY_SMALLER, SEARCH_QUERY_LARGER, SEARCH_QUERY_LARGER};
    for (size_t i = 0; i < q.count; i++) {
        expect_term(&q, i, kinds[i], false, NULL);
        assert_int_equal(q.terms[i].number, want[i]);
    }
    search_query_free(&q);

    /* Not a size: a plain word, as in Mailpit. */
    q = parse_ok("larger:abc smaller:10T larger:1. larger:.5k larger:9999999999999999k larger:");
    assert_int_equal(q.count, 6);
    expect_term(&q, 0, SEARCH_QUERY_TEXT, false, "larger:abc");
    expect_term(&q, 1, SEARCH_QUERY_TEXT, false, "smaller:10T");
    expect_term(&q, 2, SEARCH_QUERY_TEXT, false, "larger:1.");
    expect_term(&q, 3, SEARCH_QUERY_TEXT, false, "larger:.5k");
    expect_term(&q, 4, SEARCH_QUERY_TEXT, false, "larger:9999999999999999k");
    expect_term(&q, 5, SEARCH_QUERY_TEXT, false, "larger:");
    search_query_free(&q);

    /* Overflow of bytes = digits * unit is refused, not wrapped. */
    q = parse_ok("larger:999999999999999G");
    expect_term(&q, 0, SEARCH_QUERY_TEXT, false, "larger:999999999999999G");
    search_query_free(&q);
}

static void test_dates(void **state) {
    (void)state;
    struct search_query q = parse_ok("before:2024-01-02 after:2024/01/02 after:2024-01-02T10:20:30Z "
                                     "before:2024-01-02T10:20:30+02:00 before:\"2024-01-02 10:20\" "
                                     "after:2024-01-02t10:20:30.123-0130 after:2000-02-29 before:1969-12-31");
    assert_int_equal(q.count, 8);
    const int64_t day = 1704153600; /* 2024-01-02T00:00:00Z */
    const int64_t want[] = {day,
                            day,
                            day + 37230,
                            day + 37230 - 7200,
                            day + 37200,
                            day + 37230 + 5400,
                            951782400,
                            -86400};
    const enum search_query_kind kinds[] = {SEARCH_QUERY_BEFORE, SEARCH_QUERY_AFTER, SEARCH_QUERY_AFTER,
                                            SEARCH_QUERY_BEFORE, SEARCH_QUERY_BEFORE, SEARCH_QUERY_AFTER,
                                            SEARCH_QUERY_AFTER, SEARCH_QUERY_BEFORE};
    for (size_t i = 0; i < q.count; i++) {
        expect_term(&q, i, kinds[i], false, NULL);
        if (q.terms[i].number != want[i])
            fail_msg("date %zu: %lld, want %lld", i, (long long)q.terms[i].number, (long long)want[i]);
    }
    search_query_free(&q);

    /* Dates without a zone take the caller's offset; explicit zones win. */
    buf_t err = BUF_INIT;
    const char *s = "before:2024-01-02 after:2024-01-02T00:00:00Z";
    assert_int_equal(search_query_parse(s, strlen(s), 3600, &q, &err), 0);
    assert_int_equal(q.terms[0].number, day - 3600);
    assert_int_equal(q.terms[1].number, day);
    search_query_free(&q);
    buf_free(&err);

    /* An empty date is ignored like any empty value. */
    q = parse_ok("before: after:\"\"");
    assert_int_equal(q.count, 0);
    search_query_free(&q);
}

/* Which dates named a zone: the API applies ?tz= to the others. */
static void test_zoneless_dates(void **state) {
    (void)state;
    struct search_query q;
    buf_t err = BUF_INIT;
    const char *in = "before:2026-01-01 after:2026-01-01T10:00 before:2026-01-01T10:00Z after:2026-01-01T10:00+02:00";
    assert_int_equal(search_query_parse(in, strlen(in), 0, &q, &err), 0);
    assert_int_equal(q.count, 4);
    assert_true(q.terms[0].zoneless);
    assert_true(q.terms[1].zoneless);
    assert_false(q.terms[2].zoneless);
    assert_false(q.terms[3].zoneless);
    assert_int_equal(q.terms[3].number, q.terms[2].number - 7200);
    assert_int_equal(search_query_add_date(&q, SEARCH_QUERY_BEFORE, 42, false, &err), 0);
    assert_int_equal(q.count, 5);
    assert_int_equal(q.terms[4].kind, SEARCH_QUERY_BEFORE);
    assert_int_equal(q.terms[4].number, 42);
    search_query_free(&q);
    int64_t t;
    bool zl;
    assert_true(search_query_parse_date("2026-01-01T00:00:00.250Z", 24, 0, &t, &zl));
    assert_int_equal(t, 1767225600);
    assert_false(zl);
    assert_false(search_query_parse_date("yesterday", 9, 0, &t, &zl));
    buf_free(&err);
}

static void test_bad_dates(void **state) {
    (void)state;
    const char *bad[] = {"before:yesterday", "after:2024-13-01",     "before:2023-02-29", "after:2024-01-32",
                         "before:2024-1-2",  "after:2024-01-02T25:00", "before:2024-01-02T10", "after:2024-01-02Z",
                         "before:2024-01-02T10:00+2", "after:2024-01/02", "before:2024-01-02T10:00:00Zjunk"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) expect_error(bad[i], strlen(bad[i]), "invalid date");
}

static void test_unbalanced_quotes(void **state) {
    (void)state;
    struct search_query q = parse_ok("hello \"unterminated phrase here");
    assert_int_equal(q.count, 2);
    expect_term(&q, 0, SEARCH_QUERY_TEXT, false, "hello");
    expect_term(&q, 1, SEARCH_QUERY_TEXT, false, "unterminated phrase here");
    search_query_free(&q);

    q = parse_ok("subject:\"a b");
    expect_term(&q, 0, SEARCH_QUERY_SUBJECT, false, "a b");
    search_query_free(&q);

    q = parse_ok("\"");
    assert_int_equal(q.count, 0);
    search_query_free(&q);
}

static void test_limits(void **state) {
    (void)state;
    buf_t in = BUF_INIT;
    for (int i = 0; i < SEARCH_QUERY_MAX_TERMS; i++) buf_printf(&in, "w%d ", i);
    struct search_query q = parse_ok(buf_cstr(&in));
    assert_int_equal(q.count, SEARCH_QUERY_MAX_TERMS);
    search_query_free(&q);

    buf_append_str(&in, "one-too-many");
    expect_error(in.data, in.len, "too many search terms");

    /* Dropped tokens do not count. */
    buf_reset(&in);
    for (int i = 0; i < SEARCH_QUERY_MAX_TERMS * 4; i++) buf_append_str(&in, "- ");
    buf_append_str(&in, "word");
    q = parse_ok(buf_cstr(&in));
    assert_int_equal(q.count, 1);
    search_query_free(&q);

    buf_reset(&in);
    for (int i = 0; i <= SEARCH_QUERY_MAX_BYTES; i++) buf_append_char(&in, 'a');
    expect_error(in.data, in.len, "too long");
    buf_free(&in);

    expect_error("a\0b", 3, "NUL");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_zoneless_dates),
        cmocka_unit_test(test_words_and_phrases),
        cmocka_unit_test(test_negation),
        cmocka_unit_test(test_text_prefixes),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_unknown_prefix),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_bad_dates),
        cmocka_unit_test(test_unbalanced_quotes),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
