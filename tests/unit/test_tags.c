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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean),
        cmocka_unit_test(test_keywords),
        cmocka_unit_test(test_auto_tags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
