/*
 * test_color_scheme - the dark/light preview of a mail: its own
 * prefers-color-scheme conditions become always true for the chosen
 * scheme and always false for the other, in any case and spacing, in
 * <style> and media attributes; other text and lookalikes stay.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "check/color_scheme.h"

#define ROOT_DARK "<style>:root{color-scheme:dark}</style>"
#define ROOT_LIGHT "<style>:root{color-scheme:light}</style>"

static void expect(const char *html, size_t len, bool dark, const char *want, size_t want_len) {
    buf_t b = BUF_INIT;
    html_force_color_scheme(html, len, dark, &b);
    if (b.len != want_len || memcmp(b.data, want, b.len) != 0)
        fail_msg("'%s' (%s)\n  gave '%s'\n  want '%s'", html, dark ? "dark" : "light", buf_cstr(&b), want);
    buf_free(&b);
}
#define EXPECT(h, d, w) expect(h, strlen(h), d, w, strlen(w))

static void test_queries(void **state) {
    (void)state;
    const char *css = "<style>@media (prefers-color-scheme: dark){body{background:#000}}</style>";
    EXPECT(css, true, ROOT_DARK "<style>@media (" COLOR_SCHEME_TRUE "){body{background:#000}}</style>");
    EXPECT(css, false, ROOT_LIGHT "<style>@media (" COLOR_SCHEME_FALSE "){body{background:#000}}</style>");
    EXPECT("@media (PREFERS-Color-Scheme :\n Light) and (max-width: 600px)", true,
           ROOT_DARK "@media (" COLOR_SCHEME_FALSE ") and (max-width: 600px)");
    EXPECT("@media (prefers-color-scheme:light)", false, ROOT_LIGHT "@media (" COLOR_SCHEME_TRUE ")");
    EXPECT("<source srcset=\"d.png\" media=\"(prefers-color-scheme: dark)\">", true,
           ROOT_DARK "<source srcset=\"d.png\" media=\"(" COLOR_SCHEME_TRUE ")\">");
    EXPECT("a (prefers-color-scheme: dark) b (prefers-color-scheme: light) c", true,
           ROOT_DARK "a (" COLOR_SCHEME_TRUE ") b (" COLOR_SCHEME_FALSE ") c");
}

static void test_left_alone(void **state) {
    (void)state;
    EXPECT("", true, ROOT_DARK);
    EXPECT("<p>plain</p>", false, ROOT_LIGHT "<p>plain</p>");
    EXPECT("(prefers-color-scheme: darker)", true, ROOT_DARK "(prefers-color-scheme: darker)");
    EXPECT("(prefers-color-scheme)", true, ROOT_DARK "(prefers-color-scheme)");
    EXPECT("prefers-color-scheme: ", true, ROOT_DARK "prefers-color-scheme: ");
    EXPECT("prefers-color-scheme", true, ROOT_DARK "prefers-color-scheme");
    EXPECT("prefers-color-schemer: dark", true, ROOT_DARK "prefers-color-schemer: dark");
    /* the value may end the buffer; NUL bytes pass through */
    EXPECT("x prefers-color-scheme:dark", true, ROOT_DARK "x " COLOR_SCHEME_TRUE);
    const char want[] = ROOT_DARK "a\0(" COLOR_SCHEME_TRUE ")";
    expect("a\0(prefers-color-scheme: dark)", 30, true, want, sizeof want - 1);
}

static void test_doctype_end(void **state) {
    (void)state;
    static const struct {
        const char *html;
        size_t want;
    } cases[] = {
        {"<!DOCTYPE html><p>x", 15},
        {"  \r\n<!doctype html PUBLIC \"-//W3C//DTD XHTML 1.0//EN\">\n<html>", 54},
        {"<!-- a > b --> <!DOCTYPE html>x", 30},
        {"<html><!DOCTYPE html>", 0},
        {"<p>no doctype", 0},
        {"<!DOCTYPE html", 0},  /* not closed */
        {"<!-- not closed <!DOCTYPE html>", 0},
        {"", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(html_doctype_end(cases[i].html, strlen(cases[i].html)), cases[i].want);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queries),
        cmocka_unit_test(test_left_alone),
        cmocka_unit_test(test_doctype_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
