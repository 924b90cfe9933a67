/*
 * test_tags - Mailpit's tag cleaning (CleanTag), the tag <-> IMAP keyword
 * mapping, and the automatic tags of X-Tags headers and plus addresses.
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
#include "core/tags.h"

static void expect_clean(const char *in, const char *want) {
    char *t = tag_clean(in, strlen(in));
    assert_string_equal(t, want);
    free(t);
}

static void test_clean(void **state) {
    (void)state;
    expect_clean("Tag 1", "Tag 1");
    expect_clean("  a   b\t\nc  ", "a b c");
    expect_clean("urgent!", "urgent");
    expect_clean("x(y)z", "x y z");
    expect_clean("user.name@example-1_2", "user.name@example-1_2");
    expect_clean("Grüße", "Gr e");
    expect_clean("!!!", "");
    expect_clean("", "");
    char long_tag[150];
    memset(long_tag, 'a', sizeof long_tag - 1);
    long_tag[sizeof long_tag - 1] = '\0';
    long_tag[100] = ' '; /* a cut right after a space leaves no trailing space */
    char *t = tag_clean(long_tag, strlen(long_tag));
    assert_int_equal(strlen(t), 100);
    free(t);
    long_tag[99] = ' ';
    t = tag_clean(long_tag, strlen(long_tag));
    assert_int_equal(strlen(t), 99);
    free(t);
}

static void test_keywords(void **state) {
    (void)state;
    buf_t b = BUF_INIT;
    tag_to_keyword("Tag 1 x", &b);
    assert_string_equal(buf_cstr(&b), "Tag+1+x");
    char *t = tag_from_keyword(b.data, b.len);
    assert_string_equal(t, "Tag 1 x");
    free(t);
    buf_reset(&b);
    tags_add_keyword(&b, "Tag 1", 5);
    tags_add_keyword(&b, "tag 1", 5); /* keywords compare case-insensitively */
    tags_add_keyword(&b, "(!)", 3);
    tags_add_keyword(&b, "two", 3);
    assert_string_equal(buf_cstr(&b), "Tag+1 two");
    buf_free(&b);
}

static void test_auto_tags(void **state) {
    (void)state;
    buf_t b = BUF_INIT;
    tags_from_x_tags(&b, " Invoice, Tag 1 ,,urgent!");
    assert_string_equal(buf_cstr(&b), "Invoice Tag+1 urgent");
    buf_reset(&b);
    tags_from_plus_address(&b, "user+signup+Welcome Mail@example.com");
    tags_from_plus_address(&b, "plain@example.com");
    tags_from_plus_address(&b, "+lead@example.com");
    tags_from_plus_address(&b, "noat+x");
    assert_string_equal(buf_cstr(&b), "signup Welcome+Mail lead");
    buf_free(&b);
}

static void test_rules(void **state) {
    (void)state;
    struct tag_rule *r;
    size_t n;
    buf_t err = BUF_INIT;
    const char *spec = " \"Tag 1,auth=Subject:Reset  \" invoice=has:attachment !!=x  a=b=c ";
    assert_int_equal(tag_rules_parse(spec, &r, &n, &err), 0);
    assert_int_equal(n, 3); /* "!!" cleans to nothing: the rule is dropped, as in Mailpit */
    assert_string_equal(r[0].keywords, "Tag+1 auth");
    assert_string_equal(r[0].match, "subject:reset");
    assert_int_equal(r[0].q.count, 1);
    assert_string_equal(r[1].keywords, "invoice");
    assert_string_equal(r[2].match, "b=c"); /* the query is what follows the first "=" */
    tag_rules_free(r, n);
    assert_int_equal(tag_rules_parse("", &r, &n, &err), 0);
    assert_int_equal(n, 0);
    tag_rules_free(r, n);
    assert_int_equal(tag_rules_parse("ok=x noequals", &r, &n, &err), -1);
    assert_non_null(strstr(buf_cstr(&err), "noequals"));
    buf_reset(&err);
    assert_int_equal(tag_rules_parse("x=", &r, &n, &err), -1);
    assert_int_equal(tag_rules_parse("x=before:nodate", &r, &n, &err), -1);
    buf_free(&err);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean),
        cmocka_unit_test(test_keywords),
        cmocka_unit_test(test_auto_tags),
        cmocka_unit_test(test_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
