/*
 * test_release - what a released message looks like (devmail's trace
 * headers and Bcc gone, new Date and Message-ID, folded fields handled,
 * the body untouched) and the recipient allow-list.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "app/release.h"

static void test_rewrite(void **state) {
    (void)state;
    const char *msg = "Return-Path: <app@example.com>\n"
                      "X-Original-To: ann@example.com\n"
                      "Delivered-To: ann@example.com\n"
                      "Received: from x\n\tby devmail\n"
                      "From: App <app@example.com>\n"
                      "Bcc: secret@example.com,\n\tother@example.com\n"
                      "Date: Mon, 1 Jan 2001 00:00:00 +0000\n"
                      "Message-ID: <old@example.com>\n"
                      "Subject: hi\n"
                      "\n"
                      "Bcc: in the body stays\n"
                      "Date: so does this\n";
    buf_t out = BUF_INIT;
    release_rewrite(msg, strlen(msg), "Tue, 01 Dec 2026 10:00:00 +0000", "<new@devmail>", &out);
    assert_string_equal(buf_cstr(&out), "Date: Tue, 01 Dec 2026 10:00:00 +0000\n"
                                        "Message-ID: <new@devmail>\n"
                                        "Received: from x\n\tby devmail\n"
                                        "From: App <app@example.com>\n"
                                        "Subject: hi\n"
                                        "\n"
                                        "Bcc: in the body stays\n"
                                        "Date: so does this\n");
    buf_free(&out);
    /* preserved Message-ID, CRLF input */
    const char *crlf = "Message-ID: <keep@x>\r\nDate: old\r\nSubject: s\r\n\r\nbody\r\n";
    buf_init(&out);
    release_rewrite(crlf, strlen(crlf), "D", NULL, &out);
    assert_string_equal(buf_cstr(&out), "Date: D\nMessage-ID: <keep@x>\r\nSubject: s\r\n\r\nbody\r\n");
    buf_free(&out);
}

static void test_allowed(void **state) {
    (void)state;
    const char *const pats[] = {"*@example.com", "ann@*"};
    assert_true(release_allowed(pats, 2, "bob@example.com"));
    assert_true(release_allowed(pats, 2, "BOB@Example.COM"));
    assert_true(release_allowed(pats, 2, "ann@elsewhere.org"));
    assert_false(release_allowed(pats, 2, "bob@example.com.evil.org"));
    assert_false(release_allowed(pats, 2, "eve@elsewhere.org"));
    assert_false(release_allowed(NULL, 0, "ann@example.com")); /* empty: nothing leaves */
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_rewrite), cmocka_unit_test(test_allowed)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
