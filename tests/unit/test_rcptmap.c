/*
 * test_rcptmap - the recipient map (Postfix vmailbox format and
 * user@domain accounts), lookup precedence and case, the routing policy
 * (zero-config catch-all, relay denied, unknown user, same-name account)
 * and the account-name safety check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf/rcptmap.h"
#include "core/buf.h"

static void parse_ok(struct rcptmap *m, const char *text) {
    buf_t err = BUF_INIT;
    if (rcptmap_parse(m, "vmailbox", text, strlen(text), &err) != 0) fail_msg("parse failed: %s", buf_cstr(&err));
    buf_free(&err);
}

static void parse_err(const char *text, const char *want) {
    struct rcptmap m;
    buf_t err = BUF_INIT;
    assert_int_equal(rcptmap_parse(&m, "vmailbox", text, strlen(text), &err), -1);
    if (strcmp(buf_cstr(&err), want) != 0) fail_msg("error '%s', expected '%s'", buf_cstr(&err), want);
    assert_int_equal(m.n, 0);
    assert_null(m.v);
    buf_free(&err);
}

static void test_parse_vmailbox(void **state) {
    (void)state;
    struct rcptmap m;
    /* the recipe's Postfix vmailbox file, unchanged */
    parse_ok(&m, "@example.com example.com/all/Maildir/\n");
    assert_true(m.loaded);
    assert_int_equal(m.n, 1);
    assert_string_equal(m.v[0].key, "@example.com");
    assert_string_equal(m.v[0].account, "all@example.com");
    rcptmap_free(&m);

    parse_ok(&m,
             "# comment\n"
             "\n"
             "Info@Example.COM\tSales@Example.com   # trailing comment\n"
             "  @other.example   other.example/catch/Maildir\n"
             "x@other.example other.example/xuser/\n"
             "y@other.example other.example/yuser\r\n"
             "@last.example last.example/all/Maildir/");
    assert_int_equal(m.n, 5);
    assert_string_equal(m.v[0].key, "info@example.com"); /* lower-cased */
    assert_string_equal(m.v[0].account, "sales@example.com");
    assert_string_equal(m.v[1].key, "@other.example");
    assert_string_equal(m.v[1].account, "catch@other.example");
    assert_string_equal(m.v[2].account, "xuser@other.example");
    assert_string_equal(m.v[3].account, "yuser@other.example");
    assert_string_equal(m.v[4].account, "all@last.example");
    rcptmap_free(&m);
    assert_int_equal(m.n, 0);
    assert_false(m.loaded);

    parse_ok(&m, "");
    assert_true(m.loaded); /* an empty map is still a configured map */
    assert_int_equal(m.n, 0);
    rcptmap_free(&m);
}

static void test_parse_errors(void **state) {
    (void)state;
    parse_err("@example.com\n", "vmailbox:1: expected '@domain account' or 'user@domain account'");
    parse_err("# c\n\nexample.com all@example.com\n", "vmailbox:3: expected '@domain account' or 'user@domain account'");
    parse_err("@example.com ../all/Maildir/\n", "vmailbox:1: bad account '../all/Maildir/'");
    parse_err("@example.com example.com/../Maildir/\n", "vmailbox:1: bad account 'example.com/../Maildir/'");
    parse_err("@example.com /all/Maildir\n", "vmailbox:1: bad account '/all/Maildir'");
    parse_err("@example.com example.com//Maildir\n", "vmailbox:1: bad account 'example.com//Maildir'");
    parse_err("@example.com noat\n", "vmailbox:1: bad account 'noat'");
    parse_err("@example.com .hidden@example.com\n", "vmailbox:1: bad account '.hidden@example.com'");
    parse_err("a@b a@b\n@c c/\\x/Maildir\n", "vmailbox:2: bad account 'c/\\x/Maildir'");
    /* a NUL byte would silently turn "ca\0l@example.com" into "ca" */
    struct rcptmap m;
    buf_t err = BUF_INIT;
    static const char nul[] = "@a.example a@a.example\nca\0l@example.com all@example.com\n";
    assert_int_equal(rcptmap_parse(&m, "vmailbox", nul, sizeof nul - 1, &err), -1);
    assert_string_equal(buf_cstr(&err), "vmailbox:2: NUL byte in line");
    assert_int_equal(m.n, 0);
    buf_free(&err);
}

static void test_lookup_precedence(void **state) {
    (void)state;
    struct rcptmap m;
    parse_ok(&m,
             "@example.com all@example.com\n"
             "boss@example.com boss@example.com\n"
             "@sub.example.com sub@example.com\n");
    /* exact entries win over catch-alls, wherever they are in the file */
    assert_string_equal(rcptmap_lookup(&m, "boss@example.com"), "boss@example.com");
    assert_string_equal(rcptmap_lookup(&m, "BOSS@Example.Com"), "boss@example.com");
    assert_string_equal(rcptmap_lookup(&m, "anyone@example.com"), "all@example.com");
    assert_string_equal(rcptmap_lookup(&m, "Anyone@EXAMPLE.com"), "all@example.com");
    /* catch-alls match the whole domain, not a suffix or parent */
    assert_string_equal(rcptmap_lookup(&m, "x@sub.example.com"), "sub@example.com");
    assert_null(rcptmap_lookup(&m, "x@other.example.com"));
    assert_null(rcptmap_lookup(&m, "x@example.co"));
    assert_null(rcptmap_lookup(&m, "x@xexample.com"));
    assert_null(rcptmap_lookup(&m, "noat"));
    /* the last '@' decides the domain */
    assert_string_equal(rcptmap_lookup(&m, "\"a@b\"@example.com"), "all@example.com");
    rcptmap_free(&m);
}

static char *route_ok(const struct rcptmap *m, char *const *domains, size_t nd, const char *addr) {
    char *account = NULL;
    buf_t reply = BUF_INIT;
    if (rcptmap_route(m, domains, nd, "catchall@localhost", addr, &account, &reply) != 0)
        fail_msg("%s refused: %s", addr, buf_cstr(&reply));
    assert_int_equal(reply.len, 0);
    buf_free(&reply);
    return account;
}

static void route_refused(const struct rcptmap *m, char *const *domains, size_t nd, const char *addr,
                          const char *want) {
    char *account = (char *)"untouched";
    buf_t reply = BUF_INIT;
    assert_int_equal(rcptmap_route(m, domains, nd, "catchall@localhost", addr, &account, &reply), -1);
    if (strcmp(buf_cstr(&reply), want) != 0) fail_msg("%s: reply '%s', expected '%s'", addr, buf_cstr(&reply), want);
    assert_string_equal(account, "untouched");
    buf_free(&reply);
}

static void test_route_zero_config(void **state) {
    (void)state;
    /* no domain, no map: everything goes to the default account */
    char *a = route_ok(NULL, NULL, 0, "anyone@anywhere.example");
    assert_string_equal(a, "catchall@localhost");
    free(a);
    a = route_ok(NULL, NULL, 0, "ray@example.net");
    assert_string_equal(a, "catchall@localhost");
    free(a);
    /* with a map but no domains: map entries apply, the rest is caught */
    struct rcptmap m;
    parse_ok(&m, "dev@example.com Developer@Example.com\n");
    a = route_ok(&m, NULL, 0, "DEV@example.com");
    assert_string_equal(a, "developer@example.com");
    free(a);
    a = route_ok(&m, NULL, 0, "other@example.com");
    assert_string_equal(a, "catchall@localhost");
    free(a);
    rcptmap_free(&m);
}

static void test_route_recipe(void **state) {
    (void)state;
    struct rcptmap m;
    parse_ok(&m, "@example.com example.com/all/Maildir/\n");
    char *domains[] = {"example.com"};
    char *a = route_ok(&m, domains, 1, "auser@example.com");
    assert_string_equal(a, "all@example.com");
    free(a);
    a = route_ok(&m, domains, 1, "Someone.Else@EXAMPLE.COM");
    assert_string_equal(a, "all@example.com");
    free(a);
    /* the recipe's exact text */
    route_refused(&m, domains, 1, "ray@example.net", "554 5.7.1 <ray@example.net>: Relay access denied");
    route_refused(&m, domains, 1, "x@sub.example.com", "554 5.7.1 <x@sub.example.com>: Relay access denied");
    route_refused(&m, domains, 1, "nodomain", "554 5.7.1 <nodomain>: Relay access denied");
    rcptmap_free(&m);
}

static void test_route_unknown_user(void **state) {
    (void)state;
    struct rcptmap m;
    parse_ok(&m, "known@example.com known@example.com\n@b.example all@b.example\n");
    char *domains[] = {"example.com", "B.example"};
    char *a = route_ok(&m, domains, 2, "known@example.com");
    assert_string_equal(a, "known@example.com");
    free(a);
    a = route_ok(&m, domains, 2, "x@b.EXAMPLE");
    assert_string_equal(a, "all@b.example");
    free(a);
    route_refused(&m, domains, 2, "unknown@example.com",
                  "550 5.1.1 <unknown@example.com>: Recipient address rejected: User unknown in virtual mailbox "
                  "table");
    /* an empty loaded map refuses everyone of a served domain */
    struct rcptmap empty;
    parse_ok(&empty, "");
    route_refused(&empty, domains, 2, "known@example.com",
                  "550 5.1.1 <known@example.com>: Recipient address rejected: User unknown in virtual mailbox "
                  "table");
    rcptmap_free(&empty);
    rcptmap_free(&m);
}

static void test_route_no_map(void **state) {
    (void)state;
    char *domains[] = {"example.com"};
    /* served domain, no map: the account of the same name (lower-case) */
    char *a = route_ok(NULL, domains, 1, "Alice@Example.com");
    assert_string_equal(a, "alice@example.com");
    free(a);
    /* an unloaded (zeroed) map behaves like no map */
    struct rcptmap none;
    memset(&none, 0, sizeof none);
    a = route_ok(&none, domains, 1, "bob@example.com");
    assert_string_equal(a, "bob@example.com");
    free(a);
    /* a mailbox name that cannot be a directory */
    route_refused(NULL, domains, 1, "\"a/b\"@example.com",
                  "550 5.1.1 <\"a/b\"@example.com>: Recipient address rejected: unusable mailbox name");
    route_refused(NULL, domains, 1, "\"..\"@example.com",
                  "550 5.1.1 <\"..\"@example.com>: Recipient address rejected: unusable mailbox name");
    route_refused(NULL, domains, 1, ".x@example.com",
                  "550 5.1.1 <.x@example.com>: Recipient address rejected: unusable mailbox name");
}

static void test_account_valid(void **state) {
    (void)state;
    assert_true(rcptmap_account_valid("all@example.com"));
    assert_true(rcptmap_account_valid("a.b+c@example.com"));
    assert_true(rcptmap_account_valid("x@[127.0.0.1]"));
    static const char *const bad[] = {
        "../x@y", "a/b@c", ".x@y", "x@.y", "x@..", "..@y", "a..b@c", "x@y/z", "x@y\\z", "a\\b@c",
        "noat", "@y", "x@", "", "a b@c", "a\tb@c", "a\n@c", "x@y\x7f", "x@y..z", NULL,
    };
    for (int i = 0; bad[i]; i++)
        if (rcptmap_account_valid(bad[i])) fail_msg("account '%s' accepted", bad[i]);
    char big[400];
    memset(big, 'a', sizeof big);
    memcpy(big + 330, "@example.com", 13); /* 342 octets: too long */
    assert_false(rcptmap_account_valid(big));
    big[310] = '\0';
    memcpy(big + 290, "@example.com", 13);
    assert_true(rcptmap_account_valid(big));
}

static void test_load(void **state) {
    (void)state;
    const char *tmp = getenv("TMPDIR");
    buf_t pb = BUF_INIT;
    buf_printf(&pb, "%s/devmail-test-rcptmap-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    char *path = buf_steal(&pb);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char text[] = "@example.com example.com/all/Maildir/\n";
    assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    struct rcptmap m;
    buf_t err = BUF_INIT;
    assert_int_equal(rcptmap_load(&m, path, &err), 0);
    assert_string_equal(rcptmap_lookup(&m, "q@example.com"), "all@example.com");
    rcptmap_free(&m);
    unlink(path);
    assert_int_equal(rcptmap_load(&m, path, &err), -1);
    assert_non_null(strstr(buf_cstr(&err), path));
    buf_free(&err);
    free(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_vmailbox),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_lookup_precedence),
        cmocka_unit_test(test_route_zero_config),
        cmocka_unit_test(test_route_recipe),
        cmocka_unit_test(test_route_unknown_user),
        cmocka_unit_test(test_route_no_map),
        cmocka_unit_test(test_account_valid),
        cmocka_unit_test(test_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
