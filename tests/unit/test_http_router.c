/*
 * test_http_router - route patterns ({name} in a segment, with literal
 * text around it, {name...} for the rest) and Go ServeMux path cleaning.
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
#include "http/http_router.h"

static void test_literal_routes(void **state) {
    (void)state;
    struct http_params p;
    assert_true(http_route_match("/api/v1/messages", "/api/v1/messages", &p));
    assert_int_equal(p.n, 0);
    assert_false(http_route_match("/api/v1/messages", "/api/v1/messages/", &p));
    assert_false(http_route_match("/api/v1/messages", "/api/v1/message", &p));
    assert_false(http_route_match("/api/v1/messages", "/api/v1/Messages", &p));
    assert_false(http_route_match("/api/v1/messages", "/api/v1/messages/x", &p));
    assert_true(http_route_match("/", "/", &p));
    assert_false(http_route_match("/livez", "livez", &p));
}

/* "~/path": the literal path in any letter case, and nothing else */
static void test_any_case(void **state) {
    (void)state;
    struct http_params p;
    const char *pat = "~/autodiscover/autodiscover.xml";
    assert_true(http_route_match(pat, "/autodiscover/autodiscover.xml", &p));
    assert_int_equal(p.n, 0);
    assert_true(http_route_match(pat, "/Autodiscover/Autodiscover.xml", &p));
    assert_true(http_route_match(pat, "/AUTODISCOVER/AUTODISCOVER.XML", &p));
    assert_false(http_route_match(pat, "/autodiscover/autodiscover.xml/x", &p));
    assert_false(http_route_match(pat, "/autodiscover", &p));
    assert_false(http_route_match(pat, "autodiscover/autodiscover.xml", &p));
    assert_false(http_route_match("~x", "x", &p));
}

static void test_params(void **state) {
    (void)state;
    struct http_params p;
    assert_true(http_route_match("/api/v1/message/{ID}/part/{PartID}", "/api/v1/message/abc/part/1.2", &p));
    assert_int_equal(p.n, 2);
    assert_string_equal(http_params_get(&p, "ID"), "abc");
    assert_string_equal(http_params_get(&p, "PartID"), "1.2");
    assert_null(http_params_get(&p, "Id"));
    http_params_free(&p);
    /* a parameter never matches an empty segment */
    assert_false(http_route_match("/api/v1/message/{ID}", "/api/v1/message/", &p));
    assert_false(http_route_match("/api/v1/message/{ID}/raw", "/api/v1/message//raw", &p));
    assert_false(http_route_match("/api/v1/message/{ID}", "/api/v1/message/a/b", &p));
    /* literal text around the parameter */
    assert_true(http_route_match("/view/{ID}.html", "/view/latest.html", &p));
    assert_string_equal(http_params_get(&p, "ID"), "latest");
    http_params_free(&p);
    assert_false(http_route_match("/view/{ID}.html", "/view/.html", &p));
    assert_false(http_route_match("/view/{ID}.html", "/view/x.txt", &p));
    assert_false(http_route_match("/view/{ID}.html", "/view/x.html/", &p));
    assert_true(http_route_match("/view/m-{ID}.txt", "/view/m-.x.txt", &p));
    assert_string_equal(http_params_get(&p, "ID"), ".x");
    http_params_free(&p);
    /* {name...}: the rest, slashes included, never empty */
    assert_true(http_route_match("/api/v1/tags/{Tag...}", "/api/v1/tags/a/b c", &p));
    assert_string_equal(http_params_get(&p, "Tag"), "a/b c");
    http_params_free(&p);
    assert_false(http_route_match("/api/v1/tags/{Tag...}", "/api/v1/tags/", &p));
    assert_false(http_route_match("/api/v1/tags/{Tag...}", "/api/v1/tags", &p));
    /* a broken pattern matches nothing */
    assert_false(http_route_match("/a/{ID", "/a/x", &p));
    assert_int_equal(p.n, 0);
}

static void expect_clean(const char *in, const char *want) {
    char *c = http_path_clean(in);
    assert_string_equal(c, want);
    free(c);
}

static void test_clean(void **state) {
    (void)state;
    /* the cases of Go's net/http cleanPath */
    expect_clean("/", "/");
    expect_clean("//", "/");
    expect_clean("//view/abc.html", "/view/abc.html");
    expect_clean("/api//v1///messages", "/api/v1/messages");
    expect_clean("/a/./b", "/a/b");
    expect_clean("/a/b/..", "/a");
    expect_clean("/a/b/../", "/a/");
    expect_clean("/../a", "/a");
    expect_clean("/..", "/");
    expect_clean("/a/..", "/");
    expect_clean("/a/.", "/a");
    expect_clean("/a/", "/a/");
    expect_clean("/a//", "/a/");
    expect_clean("/.../a", "/.../a");
    expect_clean("/a..b/c", "/a..b/c");
    expect_clean("*", "*");
    expect_clean("", "");
}

static void test_escape(void **state) {
    (void)state;
    buf_t b = BUF_INIT;
    http_path_escape("/api/v1/tags/Tag 1/é?#%&=@:", &b);
    assert_string_equal(buf_cstr(&b), "/api/v1/tags/Tag%201/%C3%A9%3F%23%25&=@:");
    buf_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal_routes),
        cmocka_unit_test(test_any_case),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_clean),
        cmocka_unit_test(test_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
