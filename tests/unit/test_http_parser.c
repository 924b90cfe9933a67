/*
 * test_http_parser - the pure HTTP/1.1 request parser: request line and
 * target forms, header fields and their limits, Content-Length bodies,
 * refusals (chunked, folding, bare CR, bad versions), keep-alive rules,
 * percent-decoding, query parameters, and WebSocket frames.
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
#include "http/http_parser.h"

static enum http_parse_status parse(const char *s, size_t max_body, struct http_request *r, size_t *used,
                                    struct http_parse_error *e) {
    memset(e, 0, sizeof *e);
    *used = 0;
    return http_parse_request(s, strlen(s), max_body, r, used, e);
}

static void expect_error(const char *s, int status) {
    struct http_request r;
    struct http_parse_error e;
    size_t used;
    assert_int_equal(parse(s, 1024, &r, &used, &e), HTTP_PARSE_ERROR);
    assert_int_equal(e.status, status);
    assert_non_null(e.reason);
    assert_null(r.head);
}

static void test_simple_get(void **state) {
    (void)state;
    const char *s = "GET /api/v1/messages?start=5&limit=10 HTTP/1.1\r\nHost: localhost\r\nX-A:  b c  \r\n\r\n";
    struct http_request r;
    struct http_parse_error e;
    size_t used;
    assert_int_equal(parse(s, 0, &r, &used, &e), HTTP_PARSE_DONE);
    assert_int_equal(used, strlen(s));
    assert_string_equal(r.method, "GET");
    assert_string_equal(r.path, "/api/v1/messages");
    assert_string_equal(r.query, "start=5&limit=10");
    assert_int_equal(r.version_minor, 1);
    assert_int_equal(r.nheaders, 2);
    assert_string_equal(http_request_header(&r, "host"), "localhost");
    assert_string_equal(http_request_header(&r, "x-a"), "b c");
    assert_null(http_request_header(&r, "X-B"));
    assert_true(http_request_keep_alive(&r));
    buf_t v = BUF_INIT;
    assert_true(http_query_get(r.query, "limit", &v));
    assert_string_equal(buf_cstr(&v), "10");
    assert_false(http_query_get(r.query, "lim", &v));
    buf_free(&v);
    http_request_free(&r);
}

static void test_need_more_and_pipelining(void **state) {
    (void)state;
    const char *s = "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: h\r\n\r\n";
    size_t full = strlen(s);
    struct http_request r;
    struct http_parse_error e;
    size_t used = 0;
    /* every prefix shorter than the first request needs more */
    size_t first = strstr(s, "GET") - s;
    for (size_t i = 0; i < first; i++)
        assert_int_equal(http_parse_request(s, i, 100, &r, &used, &e), HTTP_PARSE_NEED_MORE);
    assert_int_equal(http_parse_request(s, full, 100, &r, &used, &e), HTTP_PARSE_DONE);
    assert_int_equal(used, first);
    assert_int_equal(r.body_len, 5);
    assert_memory_equal(r.body, "hello", 5);
    http_request_free(&r);
    assert_int_equal(http_parse_request(s + used, full - used, 100, &r, &used, &e), HTTP_PARSE_DONE);
    assert_string_equal(r.method, "GET");
    assert_null(r.body);
    http_request_free(&r);
}

static void test_bare_lf_and_leading_empty_lines(void **state) {
    (void)state;
    const char *s = "\r\n\nGET / HTTP/1.0\nConnection: keep-alive\n\n";
    struct http_request r;
    struct http_parse_error e;
    size_t used;
    assert_int_equal(parse(s, 0, &r, &used, &e), HTTP_PARSE_DONE);
    assert_int_equal(used, strlen(s));
    assert_int_equal(r.version_minor, 0);
    assert_true(http_request_keep_alive(&r));
    http_request_free(&r);
    assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n", 0, &r, &used, &e), HTTP_PARSE_DONE);
    assert_false(http_request_keep_alive(&r)); /* 1.0 closes by default */
    http_request_free(&r);
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, Close\r\n\r\n", 0, &r, &used, &e),
                     HTTP_PARSE_DONE);
    assert_false(http_request_keep_alive(&r));
    http_request_free(&r);
}

static void test_targets(void **state) {
    (void)state;
    struct http_request r;
    struct http_parse_error e;
    size_t used;
    assert_int_equal(parse("GET http://example.com:8025/a%20b?q=1 HTTP/1.1\r\nHost: x\r\n\r\n", 0, &r, &used, &e),
                     HTTP_PARSE_DONE);
    assert_string_equal(r.path, "/a b");
    assert_string_equal(r.query, "q=1");
    http_request_free(&r);
    assert_int_equal(parse("GET http://example.com HTTP/1.1\r\nHost: x\r\n\r\n", 0, &r, &used, &e), HTTP_PARSE_DONE);
    assert_string_equal(r.path, "/");
    http_request_free(&r);
    assert_int_equal(parse("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 0, &r, &used, &e), HTTP_PARSE_DONE);
    assert_string_equal(r.path, "*");
    http_request_free(&r);
    /* '+' in a path is a plus; %2F decodes (routes compare decoded paths) */
    assert_int_equal(parse("GET /api/v1/tags/a+b%2Fc#frag HTTP/1.1\r\nHost: x\r\n\r\n", 0, &r, &used, &e),
                     HTTP_PARSE_DONE);
    assert_string_equal(r.path, "/api/v1/tags/a+b/c");
    assert_string_equal(r.query, "");
    http_request_free(&r);
    expect_error("GET /a%00b HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    expect_error("GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    expect_error("GET /a% HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    expect_error("GET relative HTTP/1.1\r\nHost: x\r\n\r\n", 400);
}

static void test_errors(void **state) {
    (void)state;
    expect_error("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505);
    expect_error("GET / HTTX/1.1\r\nHost: x\r\n\r\n", 400);
    expect_error("GET /  HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    expect_error("G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    expect_error("GET / HTTP/1.1\r\n\r\n", 400); /* Host is required in 1.1 */
    expect_error("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400);
    expect_error("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400);
    expect_error("GET / HTTP/1.1\r\nHost: x\ry\r\n\r\n", 400);
    expect_error("GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400);
    expect_error("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 501);
    expect_error("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n", 400);
    expect_error("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400);
    expect_error("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400);
    expect_error("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", 400);
    expect_error("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n", 413);
    struct http_request r;
    struct http_parse_error e;
    size_t used;
    const char *nul = "GET / HTTP/1.1\r\nHost: \0x\r\n\r\n";
    assert_int_equal(http_parse_request(nul, 28, 10, &r, &used, &e), HTTP_PARSE_ERROR);
    assert_int_equal(e.status, 400);
}

static void test_limits(void **state) {
    (void)state;
    struct http_request r;
    struct http_parse_error e;
    size_t used;
    /* too many header fields */
    buf_t b = BUF_INIT;
    buf_append_str(&b, "GET / HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < HTTP_MAX_HEADERS; i++) buf_printf(&b, "X-%d: y\r\n", i);
    buf_append_str(&b, "\r\n");
    assert_int_equal(http_parse_request(b.data, b.len, 0, &r, &used, &e), HTTP_PARSE_ERROR);
    assert_int_equal(e.status, 431);
    /* a head that never ends */
    buf_reset(&b);
    buf_append_str(&b, "GET / HTTP/1.1\r\nHost: x\r\nX-Long: ");
    while (b.len < HTTP_MAX_HEAD_BYTES + 10) buf_append_char(&b, 'a');
    assert_int_equal(http_parse_request(b.data, HTTP_MAX_HEAD_BYTES - 1, 0, &r, &used, &e), HTTP_PARSE_NEED_MORE);
    assert_int_equal(http_parse_request(b.data, b.len, 0, &r, &used, &e), HTTP_PARSE_ERROR);
    assert_int_equal(e.status, 431);
    /* a request line that never ends */
    buf_reset(&b);
    buf_append_str(&b, "GET /");
    while (b.len < HTTP_MAX_HEAD_BYTES + 10) buf_append_char(&b, 'a');
    assert_int_equal(http_parse_request(b.data, b.len, 0, &r, &used, &e), HTTP_PARSE_ERROR);
    assert_int_equal(e.status, 414);
    buf_free(&b);
}

static void test_percent_and_query(void **state) {
    (void)state;
    buf_t v = BUF_INIT;
    assert_int_equal(http_percent_decode("a%41+b%c3%a9", 12, true, &v), 0);
    assert_string_equal(buf_cstr(&v), "aA b\xc3\xa9");
    buf_reset(&v);
    assert_int_equal(http_percent_decode("a+b", 3, false, &v), 0);
    assert_string_equal(buf_cstr(&v), "a+b");
    buf_reset(&v);
    assert_int_equal(http_percent_decode("%4", 2, false, &v), -1);
    buf_reset(&v);
    const char *q = "query=subject%3A%22two+words%22&empty=&flag&x=1&x=2";
    assert_true(http_query_get(q, "query", &v));
    assert_string_equal(buf_cstr(&v), "subject:\"two words\"");
    assert_true(http_query_get(q, "empty", &v));
    assert_int_equal(v.len, 0);
    assert_true(http_query_get(q, "flag", &v));
    assert_int_equal(v.len, 0);
    assert_true(http_query_get(q, "x", &v));
    assert_string_equal(buf_cstr(&v), "1");
    assert_false(http_query_get(q, "missing", &v));
    assert_false(http_query_get("bad=%zz", "bad", &v));
    assert_false(http_query_get("", "a", &v));
    buf_free(&v);
    assert_true(http_header_has_token("keep-alive, Upgrade", "upgrade"));
    assert_false(http_header_has_token("upgraded", "upgrade"));
    assert_false(http_header_has_token(NULL, "x"));
}

static void mask_frame(buf_t *out, int first, const char *payload, size_t n) {
    const unsigned char key[4] = {0x12, 0x34, 0x56, 0x78};
    buf_append_char(out, (char)first);
    if (n < 126) {
        buf_append_char(out, (char)(0x80 | n));
    } else {
        buf_append_char(out, (char)(0x80 | 126));
        buf_append_char(out, (char)(n >> 8));
        buf_append_char(out, (char)n);
    }
    buf_append(out, key, 4);
    for (size_t i = 0; i < n; i++) buf_append_char(out, (char)(payload[i] ^ key[i & 3]));
}

static void test_ws_frames(void **state) {
    (void)state;
    buf_t f = BUF_INIT, p = BUF_INIT;
    struct http_ws_frame fr;
    struct http_parse_error e;
    size_t used;
    mask_frame(&f, 0x89, "ping!", 5);
    for (size_t i = 0; i < f.len; i++)
        assert_int_equal(http_ws_frame_parse((unsigned char *)f.data, i, 100, &fr, &p, &used, &e), HTTP_PARSE_NEED_MORE);
    assert_int_equal(http_ws_frame_parse((unsigned char *)f.data, f.len, 100, &fr, &p, &used, &e), HTTP_PARSE_DONE);
    assert_int_equal(fr.opcode, HTTP_WS_PING);
    assert_true(fr.fin);
    assert_int_equal(used, f.len);
    assert_int_equal(p.len, 5);
    assert_memory_equal(p.data, "ping!", 5);
    /* 16-bit length */
    char big[300];
    memset(big, 'z', sizeof big);
    buf_reset(&f);
    buf_reset(&p);
    mask_frame(&f, 0x81, big, sizeof big);
    assert_int_equal(http_ws_frame_parse((unsigned char *)f.data, f.len, 1000, &fr, &p, &used, &e), HTTP_PARSE_DONE);
    assert_int_equal(p.len, 300);
    /* too big for the limit */
    assert_int_equal(http_ws_frame_parse((unsigned char *)f.data, f.len, 100, &fr, &p, &used, &e), HTTP_PARSE_ERROR);
    assert_int_equal(e.status, HTTP_WS_CLOSE_TOO_BIG);
    /* unmasked, reserved bits, bad opcode, fragmented control frame */
    const unsigned char unmasked[] = {0x81, 0x01, 'a'};
    assert_int_equal(http_ws_frame_parse(unmasked, 3, 100, &fr, &p, &used, &e), HTTP_PARSE_ERROR);
    assert_int_equal(e.status, HTTP_WS_CLOSE_PROTOCOL);
    const unsigned char rsv[] = {0xC1, 0x80, 0, 0, 0, 0};
    assert_int_equal(http_ws_frame_parse(rsv, 6, 100, &fr, &p, &used, &e), HTTP_PARSE_ERROR);
    const unsigned char op[] = {0x83, 0x80, 0, 0, 0, 0};
    assert_int_equal(http_ws_frame_parse(op, 6, 100, &fr, &p, &used, &e), HTTP_PARSE_ERROR);
    const unsigned char frag_ping[] = {0x09, 0x80, 0, 0, 0, 0};
    assert_int_equal(http_ws_frame_parse(frag_ping, 6, 100, &fr, &p, &used, &e), HTTP_PARSE_ERROR);
    const unsigned char huge[] = {0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(http_ws_frame_parse(huge, 10, 100, &fr, &p, &used, &e), HTTP_PARSE_ERROR);
    /* server frames */
    buf_reset(&f);
    http_ws_frame_build(HTTP_WS_TEXT, "hi", 2, &f);
    assert_int_equal(f.len, 4);
    assert_memory_equal(f.data, "\x81\x02hi", 4);
    buf_reset(&f);
    http_ws_frame_build(HTTP_WS_TEXT, big, 300, &f);
    assert_int_equal(f.len, 304);
    assert_int_equal((unsigned char)f.data[1], 126);
    assert_int_equal(((unsigned char)f.data[2] << 8) | (unsigned char)f.data[3], 300);
    buf_reset(&f);
    char *large = calloc(70000, 1);
    http_ws_frame_build(HTTP_WS_BINARY, large, 70000, &f);
    assert_int_equal(f.len, 70010);
    assert_int_equal((unsigned char)f.data[1], 127);
    free(large);
    buf_free(&f);
    buf_free(&p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_get),
        cmocka_unit_test(test_need_more_and_pipelining),
        cmocka_unit_test(test_bare_lf_and_leading_empty_lines),
        cmocka_unit_test(test_targets),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_percent_and_query),
        cmocka_unit_test(test_ws_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
