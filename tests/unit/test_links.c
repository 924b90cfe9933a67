/*
 * test_links - link collection (HTML attributes by Gumbo, then text
 * URLs; unique, bounded) and the link check's allow-list; then the link
 * check itself against an HTTP server in this process on loopback:
 * statuses, redirects followed or not, blocked hosts, dead ports.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "app/linkcheck.h"
#include "check/links.h"
#include "conf/config.h"

static void test_collect(void **state) {
    (void)state;
    struct links l = {0};
    const char *html = "<a href=\"https://a.example/x\">A</a><img src=\"http://img.example/p.png\">"
                       "<link rel=\"stylesheet\" href=\"https://css.example/s.css\"><link rel=\"icon\" href=\"https://i.example\">"
                       "<a href=\"mailto:x@y\">m</a><a href=\"https://a.example/x\">again</a><a href=\"javascript:1\">j</a>";
    links_from_html(html, strlen(html), &l);
    const char *text = "See https://t.example/a?b=1&c=2. Or (http://t.example/b), https://a.example/x!";
    links_from_text(text, strlen(text), &l);
    assert_int_equal(l.n, 5);
    assert_string_equal(l.v[0], "https://a.example/x");
    assert_string_equal(l.v[1], "https://css.example/s.css"); /* Mailpit's order: a, link, img */
    assert_string_equal(l.v[2], "http://img.example/p.png");
    assert_string_equal(l.v[3], "https://t.example/a?b=1&c=2");
    assert_string_equal(l.v[4], "http://t.example/b");
    links_free(&l);
    buf_t many = BUF_INIT;
    for (int i = 0; i < 300; i++) buf_printf(&many, "https://x.example/%d ", i);
    links_from_text(many.data, many.len, &l);
    assert_int_equal(l.n, LINKS_MAX);
    links_free(&l);
    buf_free(&many);
}

static void test_allow(void **state) {
    (void)state;
    const char *allow[] = {"*.example.com", "localhost", "127.0.0.0/8", "::1", "10.1.0.0/16"};
    assert_true(links_host_allowed(allow, 5, "www.example.com"));
    assert_true(links_host_allowed(allow, 5, "LOCALHOST"));
    assert_false(links_host_allowed(allow, 5, "example.com.evil.org"));
    assert_false(links_host_allowed(allow, 5, "127.0.0.1")); /* networks judge addresses, not names */
    struct sockaddr_in a4 = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.9.9.9", &a4.sin_addr);
    assert_true(links_addr_allowed(allow, 5, (struct sockaddr *)&a4));
    inet_pton(AF_INET, "10.1.200.3", &a4.sin_addr);
    assert_true(links_addr_allowed(allow, 5, (struct sockaddr *)&a4));
    inet_pton(AF_INET, "10.2.0.1", &a4.sin_addr);
    assert_false(links_addr_allowed(allow, 5, (struct sockaddr *)&a4));
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, "::1", &a6.sin6_addr);
    assert_true(links_addr_allowed(allow, 5, (struct sockaddr *)&a6));
    inet_pton(AF_INET6, "::ffff:127.0.0.1", &a6.sin6_addr); /* mapped: judged as IPv4 */
    assert_true(links_addr_allowed(allow, 5, (struct sockaddr *)&a6));
    inet_pton(AF_INET6, "fe80::1", &a6.sin6_addr);
    assert_false(links_addr_allowed(allow, 5, (struct sockaddr *)&a6));
    assert_false(links_addr_allowed(NULL, 0, (struct sockaddr *)&a6));
}

/* ---- the check against a server in this process ---- */

static void serve(struct evhttp_request *req, void *arg) {
    const char *uri = evhttp_request_get_uri(req);
    if (!strcmp(uri, "/ok")) evhttp_send_reply(req, 200, "OK", NULL);
    else if (!strcmp(uri, "/moved")) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Location", "/ok");
        evhttp_send_reply(req, 301, "Moved", NULL);
    } else if (!strcmp(uri, "/loop")) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Location", "/loop");
        evhttp_send_reply(req, 302, "Found", NULL);
    } else evhttp_send_reply(req, 404, "Not Found", NULL);
}

struct got {
    bool done;
    size_t n;
    int codes[8];
    char status[8][96];
};

static void done(void *arg, const struct linkcheck_result *v, size_t n) {
    struct got *g = arg;
    g->done = true;
    g->n = n;
    for (size_t i = 0; i < n && i < 8; i++) {
        g->codes[i] = v[i].status_code;
        snprintf(g->status[i], sizeof g->status[i], "%s", v[i].status);
    }
}

static void run_check(struct app *app, int port, int dead, bool follow, struct got *g) {
    struct links l = {0};
    char u[128];
    const char *paths[] = {"/ok", "/missing", "/moved", "/loop"};
    for (int i = 0; i < 4; i++) {
        snprintf(u, sizeof u, "http://127.0.0.1:%d%s", port, paths[i]);
        links_from_text(u, strlen(u), &l);
    }
    snprintf(u, sizeof u, "http://127.0.0.1:%d/", dead);
    links_from_text(u, strlen(u), &l);
    links_from_text("http://192.0.2.1/", 18, &l); /* TEST-NET-1: outside the allowed network */
    memset(g, 0, sizeof *g);
    assert_int_equal(linkcheck_start(app, &l, follow, done, g), 0);
    assert_false(g->done); /* never from linkcheck_start */
    while (!g->done && event_base_loop(app->base, EVLOOP_ONCE) == 0) {
    }
    links_free(&l);
}

static void test_check(void **state) {
    (void)state;
    struct event_base *base = event_base_new();
    struct evhttp *http = evhttp_new(base);
    evhttp_set_gencb(http, serve, NULL);
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
    assert_non_null(bs);
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sa, &sl);
    int port = ntohs(sa.sin_port);
    /* a port nothing listens on: bind, read the number, close */
    struct evhttp_bound_socket *tmp = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
    getsockname(evhttp_bound_socket_get_fd(tmp), (struct sockaddr *)&sa, &sl);
    int dead = ntohs(sa.sin_port);
    evhttp_del_accept_socket(http, tmp);

    struct config cfg;
    config_defaults(&cfg);
    buf_t err = BUF_INIT;
    assert_int_equal(config_set(&cfg, "link_check_allowed", "127.0.0.0/8", 1, &err), 0);
    assert_int_equal(config_set(&cfg, "link_check_timeout", "5s", 1, &err), 0);
    struct app app = {0};
    app.cfg = &cfg;
    app.base = base;
    struct got g;
    run_check(&app, port, dead, false, &g);
    assert_int_equal(g.n, 6);
    assert_int_equal(g.codes[0], 200);
    assert_string_equal(g.status[0], "OK");
    assert_int_equal(g.codes[1], 404);
    assert_string_equal(g.status[1], "Not Found");
    assert_int_equal(g.codes[2], 301); /* not followed */
    assert_int_equal(g.codes[3], 302);
    assert_int_equal(g.codes[4], 0);
    assert_true(g.status[4][0]);
    assert_int_equal(g.codes[5], 451);
    run_check(&app, port, dead, true, &g);
    assert_int_equal(g.codes[2], 200); /* followed to /ok */
    assert_int_equal(g.codes[3], 0);
    assert_string_equal(g.status[3], "Too many redirects");
    /* nothing allowed: nothing contacted */
    config_set(&cfg, "link_check_allowed", "", 2, &err); /* a higher source replaces the list */
    run_check(&app, port, dead, false, &g);
    for (int i = 0; i < 6; i++) assert_int_equal(g.codes[i], 451);
    linkcheck_shutdown();
    buf_free(&err);
    config_free(&cfg);
    evhttp_free(http);
    event_base_free(base);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_collect), cmocka_unit_test(test_allow),
                                       cmocka_unit_test(test_check)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
