/*
 * test_html_text - HTML mail as readable text: blocks and <br> break
 * lines, lists get dashes, links keep their URL, images their alt text,
 * head/script/style vanish, entities decode, the limit cuts whole
 * characters; and the facts the lint uses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "check/html_text.h"

static void expect_text(const char *html, const char *want) {
    buf_t b = BUF_INIT;
    html_to_text(html, strlen(html), 10000, &b, NULL);
    if (strcmp(buf_cstr(&b), want) != 0) fail_msg("'%s'\n  gave '%s'\n  want '%s'", html, buf_cstr(&b), want);
    buf_free(&b);
}

static void test_text(void **state) {
    (void)state;
    expect_text("<html><head><title>T</title><style>p{color:red}</style></head><body>"
                "<h1>Welcome,  Ann</h1><p>Please <b>confirm</b> your address:</p>"
                "<p><a href=\"https://shop.example/c?t=1&amp;u=2\">Confirm</a></p>"
                "<script>alert(1)</script></body></html>",
                "Welcome, Ann\n\nPlease confirm your address:\n\nConfirm (https://shop.example/c?t=1&u=2)");
    expect_text("<ul><li>one</li><li>two</li></ul>line<br>next&nbsp;word &eacute;t&eacute;",
                "- one\n- two\nline\nnext word \xc3\xa9t\xc3\xa9");
    expect_text("<p>see <a href=\"https://x.example/a\">https://x.example/a</a> or "
                "<a href=\"mailto:help@x.example\">help@x.example</a> or <a href=\"#top\">top</a></p>",
                "see https://x.example/a or help@x.example or top");
    expect_text("<table><tr><td>Total</td><td>$10</td></tr><tr><td>Tax</td><td>$1</td></tr></table>",
                "Total $10\nTax $1");
    expect_text("<img src=\"cid:logo\" alt=\"Shop logo\"><p>Hi</p><!-- hidden -->", "Shop logo\n\nHi");
    expect_text("", "");
    expect_text("plain <unclosed", "plain");
}

static void test_limit_and_facts(void **state) {
    (void)state;
    buf_t b = BUF_INIT;
    const char *h = "<p>\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9</p>"; /* 8 bytes of text */
    html_to_text(h, strlen(h), 5, &b, NULL);
    assert_true(b.len <= 5);
    assert_int_equal(b.len % 2, 0); /* whole characters only */
    buf_free(&b);
    struct html_facts f;
    buf_init(&b);
    const char *img = "<a href=\"https://x.example\"><img src=\"a.png\"></a><img src=\"b.png\" alt=\"\"><p>Sale</p>";
    html_to_text(img, strlen(img), 1000, &b, &f);
    assert_int_equal(f.images, 2);
    assert_int_equal(f.links, 1);
    assert_int_equal(f.text_chars, 4); /* "Sale": the URL does not count */
    buf_free(&b);
    /* deep nesting is bounded, not a stack overflow */
    buf_t deep = BUF_INIT;
    for (int i = 0; i < 20000; i++) buf_append_str(&deep, "<div>");
    buf_append_str(&deep, "bottom");
    buf_init(&b);
    html_to_text(deep.data, deep.len, 1000, &b, NULL);
    buf_free(&b);
    buf_free(&deep);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_text), cmocka_unit_test(test_limit_and_facts)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
