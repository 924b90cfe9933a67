/*
 * test_http_guard - which requests another web page can make: Host names
 * (DNS rebinding), Origin / Sec-Fetch-Site / Referer for state-changing
 * requests and WebSocket upgrades, cross-site API reads, the JSON
 * Content-Type rule, and the CORS allow-list.
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
#include "http/autoconfig.h"
#include "http/http_guard.h"

static const struct http_guard plain = {"mail.test", NULL, 0, NULL, 0};

/* Is path one of the public routes (the mail-client setup table), as the
 * server decides before it calls the guard? */
static bool public_route(const char *path) {
    for (const struct http_route *r = autoconfig_routes; r->pattern; r++) {
        struct http_params p;
        if (!http_route_match(r->pattern, path, &p)) continue;
        http_params_free(&p);
        return r->auth == HTTP_AUTH_PUBLIC;
    }
    return false;
}

/* Check "METHOD path" with extra header lines (each ending CRLF). */
static int check(const struct http_guard *g, const char *method, const char *path, const char *headers, bool ws) {
    buf_t b = BUF_INIT;
    buf_printf(&b, "%s %s HTTP/1.1\r\n%s\r\n", method, path, headers);
    struct http_request r;
    struct http_parse_error e = {0, NULL};
    assert_int_equal(http_parse_head(b.data, b.len, &r, &e), HTTP_PARSE_DONE);
    const char *why = NULL;
    int rc = http_guard_check(g, &r, ws, public_route(r.path), &why);
    if (rc) assert_non_null(why);
    http_request_free(&r);
    buf_free(&b);
    return rc;
}

static void test_hosts(void **state) {
    (void)state;
    static const char *const ok[] = {"localhost", "localhost:8025", "LOCALHOST.", "app.localhost:1", "127.0.0.1:8025",
                                     "10.1.2.3", "[::1]:8025", "[fe80::1]", "mail.test", "MAIL.test:80"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (!http_guard_host_ok(&plain, ok[i])) fail_msg("refused %s", ok[i]);
    static const char *const bad[] = {"attacker.example", "attacker.example:8025", "localhost.attacker.example",
                                      "xlocalhost", "", ":8025", "[::1", "[nonsense]", "localhost:80x",
                                      "mail.test.evil", "127.0.0.1.evil.example"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (http_guard_host_ok(&plain, bad[i])) fail_msg("allowed %s", bad[i]);
    assert_true(http_guard_host_ok(&plain, NULL)); /* HTTP/1.0 */
    static const char *const extra[] = {"devbox", "*.corp.example", ".lab.example"};
    struct http_guard g = {"localhost", extra, 3, NULL, 0};
    assert_true(http_guard_host_ok(&g, "devbox:8025"));
    assert_true(http_guard_host_ok(&g, "a.corp.example"));
    assert_false(http_guard_host_ok(&g, "corp.example"));
    assert_true(http_guard_host_ok(&g, "lab.example"));
    assert_true(http_guard_host_ok(&g, "x.y.lab.example"));
    assert_false(http_guard_host_ok(&g, "evil-lab.example"));
    static const char *const any[] = {"*"};
    struct http_guard all = {"localhost", any, 1, NULL, 0};
    assert_true(http_guard_host_ok(&all, "attacker.example"));
    /* a browser is refused before anything else, even for a GET */
    assert_int_equal(check(&plain, "GET", "/", "Host: attacker.example:8025\r\nSec-Fetch-Site: same-origin\r\n", false),
                     421);
    assert_int_equal(check(&plain, "GET", "/", "Host: attacker.example\r\nUser-Agent: Mozilla/5.0 (X11)\r\n", false),
                     421);
    assert_int_equal(
        check(&plain, "POST", "/api/v1/send", "Host: evil.example\r\nOrigin: http://evil.example\r\n", false), 421);
    /* other clients may name the server as they like */
    assert_int_equal(check(&plain, "GET", "/api/v1/messages", "Host: devmail:8025\r\nUser-Agent: curl/8.0\r\n", false),
                     0);
}

static void test_state_changes(void **state) {
    (void)state;
    const char *json = "Content-Type: application/json\r\nContent-Length: 2\r\n";
    char h[512];
    /* no browser context at all (curl): allowed */
    snprintf(h, sizeof h, "Host: localhost:8025\r\n%s", json);
    assert_int_equal(check(&plain, "POST", "/api/v1/send", h, false), 0);
    /* the server's own page */
    snprintf(h, sizeof h, "Host: localhost:8025\r\nOrigin: http://localhost:8025\r\n%s", json);
    assert_int_equal(check(&plain, "POST", "/api/v1/send", h, false), 0);
    snprintf(h, sizeof h, "Host: 127.0.0.1\r\nOrigin: http://127.0.0.1:80\r\n%s", json);
    assert_int_equal(check(&plain, "PUT", "/api/v1/messages", h, false), 0);
    /* another page: a different port on the same host is another origin */
    snprintf(h, sizeof h, "Host: localhost:8025\r\nOrigin: http://localhost:3000\r\n%s", json);
    assert_int_equal(check(&plain, "POST", "/api/v1/send", h, false), 403);
    snprintf(h, sizeof h, "Host: localhost:8025\r\nOrigin: https://localhost:8025\r\n%s", json);
    assert_int_equal(check(&plain, "DELETE", "/api/v1/messages", h, false), 0); /* same host:port */
    snprintf(h, sizeof h, "Host: localhost:8025\r\nOrigin: null\r\n%s", json);
    assert_int_equal(check(&plain, "POST", "/api/v1/send", h, false), 403);
    snprintf(h, sizeof h, "Host: localhost:8025\r\nOrigin: http://evil.example\r\n%s", json);
    assert_int_equal(check(&plain, "PATCH", "/api/v1/x", h, false), 403);
    /* without Origin: Sec-Fetch-Site decides, then Referer */
    snprintf(h, sizeof h, "Host: localhost:8025\r\nSec-Fetch-Site: cross-site\r\n%s", json);
    assert_int_equal(check(&plain, "POST", "/api/v1/send", h, false), 403);
    snprintf(h, sizeof h, "Host: localhost:8025\r\nSec-Fetch-Site: same-site\r\n%s", json);
    assert_int_equal(check(&plain, "POST", "/api/v1/send", h, false), 403);
    snprintf(h, sizeof h, "Host: localhost:8025\r\nSec-Fetch-Site: same-origin\r\n%s", json);
    assert_int_equal(check(&plain, "POST", "/api/v1/send", h, false), 0);
    snprintf(h, sizeof h, "Host: localhost:8025\r\nReferer: http://evil.example/page\r\n%s", json);
    assert_int_equal(check(&plain, "POST", "/api/v1/send", h, false), 403);
    snprintf(h, sizeof h, "Host: localhost:8025\r\nReferer: http://localhost:8025/#x\r\n%s", json);
    assert_int_equal(check(&plain, "POST", "/api/v1/send", h, false), 0);
    /* the WebSocket is judged like a state change, although it is a GET */
    assert_int_equal(check(&plain, "GET", "/api/events", "Host: localhost:8025\r\nOrigin: http://evil.example\r\n", true),
                     403);
    assert_int_equal(
        check(&plain, "GET", "/api/events", "Host: localhost:8025\r\nOrigin: http://localhost:8025\r\n", true), 0);
    /* an allowed origin */
    static const char *const cors[] = {"http://localhost:3000/"};
    struct http_guard g = {"localhost", NULL, 0, cors, 1};
    snprintf(h, sizeof h, "Host: localhost:8025\r\nOrigin: http://LOCALHOST:3000\r\n%s", json);
    assert_int_equal(check(&g, "POST", "/api/v1/send", h, false), 0);
    snprintf(h, sizeof h, "Host: localhost:8025\r\nOrigin: http://localhost:3001\r\n%s", json);
    assert_int_equal(check(&g, "POST", "/api/v1/send", h, false), 403);
}

static void test_reads(void **state) {
    (void)state;
    /* reads are free, except another site's request for a message summary
     * (it marks the message read) */
    assert_int_equal(check(&plain, "GET", "/api/v1/messages", "Host: localhost\r\nOrigin: http://evil.example\r\n", false),
                     0);
    assert_int_equal(check(&plain, "GET", "/api/v1/message/latest",
                           "Host: localhost\r\nSec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: no-cors\r\n", false),
                     403);
    assert_int_equal(check(&plain, "GET", "/api/v1/message/latest",
                           "Host: localhost\r\nSec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: navigate\r\n", false),
                     0);
    assert_int_equal(check(&plain, "GET", "/", "Host: localhost\r\nSec-Fetch-Site: cross-site\r\n", false), 0);
    /* an image of a mail, asked for by the sandboxed (opaque origin) frame */
    assert_int_equal(check(&plain, "GET", "/api/v1/message/ID/part/1.2",
                           "Host: localhost\r\nSec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: no-cors\r\n", false),
                     0);
    assert_int_equal(check(&plain, "GET", "/api/v1/messages",
                           "Host: localhost\r\nSec-Fetch-Site: same-origin\r\nSec-Fetch-Mode: cors\r\n", false),
                     0);
    static const char *const cors[] = {"https://dash.example"};
    struct http_guard g = {"localhost", NULL, 0, cors, 1};
    assert_int_equal(check(&g, "GET", "/api/v1/messages",
                           "Host: localhost\r\nOrigin: https://dash.example\r\nSec-Fetch-Site: cross-site\r\n"
                           "Sec-Fetch-Mode: cors\r\n",
                           false),
                     0);
}

static void test_json_only(void **state) {
    (void)state;
    /* what an HTML form can send, even from the server's own origin */
    static const char *const types[] = {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; b=x",
                                        "application/jsonp", "application/json-seq"};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        char h[256];
        snprintf(h, sizeof h, "Host: localhost\r\nContent-Type: %s\r\nContent-Length: 2\r\n", types[i]);
        if (check(&plain, "POST", "/api/v1/send", h, false) != 415) fail_msg("accepted %s", types[i]);
    }
    assert_int_equal(check(&plain, "POST", "/api/v1/send", "Host: localhost\r\nContent-Length: 2\r\n", false), 415);
    assert_int_equal(check(&plain, "PUT", "/api/v1/tags",
                           "Host: localhost\r\nContent-Type: Application/JSON ; charset=utf-8\r\nContent-Length: 2\r\n",
                           false),
                     0);
    /* no body (DELETE all) needs no type */
    assert_int_equal(check(&plain, "DELETE", "/api/v1/messages", "Host: localhost\r\n", false), 0);
}

static void test_cors_list(void **state) {
    (void)state;
    assert_false(http_guard_cors_allowed(&plain, "http://localhost:3000"));
    static const char *const any[] = {"*"};
    struct http_guard g = {"localhost", NULL, 0, any, 1};
    assert_true(http_guard_cors_allowed(&g, "http://whatever.example"));
    assert_false(http_guard_cors_allowed(&g, "null"));
    assert_false(http_guard_cors_allowed(&g, NULL));
}

static void test_setup_routes(void **state) {
    (void)state;
    /* Thunderbird (a Mozilla/ User-Agent) asks autoconfig.<domain> and
     * <domain>, names the server does not know: the setup routes answer */
    const char *tb = "Host: autoconfig.example.com\r\nUser-Agent: Mozilla/5.0 Thunderbird/128.0\r\n";
    assert_int_equal(check(&plain, "GET", "/mail/config-v1.1.xml", tb, false), 0);
    assert_int_equal(check(&plain, "GET", "/.well-known/autoconfig/mail/config-v1.1.xml",
                           "Host: example.com\r\nUser-Agent: Mozilla/5.0\r\n", false),
                     0);
    assert_int_equal(check(&plain, "POST", "/Autodiscover/Autodiscover.xml",
                           "Host: autodiscover.example.com\r\nUser-Agent: Mozilla/5.0\r\nOrigin: null\r\n"
                           "Content-Type: text/xml\r\nContent-Length: 5\r\n",
                           false),
                     0);
    assert_int_equal(check(&plain, "GET", "/client-setup/ca.crt", tb, false), 0);
    assert_int_equal(check(&plain, "GET", "/client-setup/devmail.mobileconfig", tb, false), 0);
    /* every other route keeps the Host rule */
    assert_int_equal(check(&plain, "GET", "/api/v1/messages", tb, false), 421);
    assert_int_equal(check(&plain, "GET", "/mail/config-v1.1.xml/../../api/v1/messages", tb, false), 421);
    assert_int_equal(check(&plain, "GET", "/client-setup/other", tb, false), 421);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hosts),
        cmocka_unit_test(test_state_changes),
        cmocka_unit_test(test_reads),
        cmocka_unit_test(test_json_only),
        cmocka_unit_test(test_cors_list),
        cmocka_unit_test(test_setup_routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
