/*
 * test_deliver - the trace headers of the one delivery service: one
 * X-Original-To per distinct address of an account, Delivered-To the
 * first, the Received line's protocol, peer, id and "for" clause, and a
 * hostile HELO name kept printable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "app/deliver.h"
#include "core/buf.h"

static const struct deliver_trace smtp_trace = {"STINGER", "127.0.0.1", "ESMTPS", "ABCDE12345", 0, NULL};

static void test_one_recipient(void **state) {
    (void)state;
    struct deliver_rcpt r[] = {{"john@example.org", "john@example.org"}};
    buf_t h = BUF_INIT;
    deliver_trace_headers(&h, "mail.example.org", "a@b.c", r, 1, "john@example.org", &smtp_trace);
    const char *s = buf_cstr(&h);
    assert_non_null(strstr(s, "Return-Path: <a@b.c>\nX-Original-To: john@example.org\nDelivered-To: john@example.org\n"));
    assert_non_null(strstr(s, "Received: from STINGER (localhost [127.0.0.1])\n\tby mail.example.org (devmail) with ESMTPS id ABCDE12345\n\tfor <john@example.org>; "));
    assert_int_equal(s[h.len - 1], '\n');
    buf_free(&h);
}

static void test_duplicates_and_accounts(void **state) {
    (void)state;
    /* two spellings of one address, a second address of the same account,
     * and another account's address */
    struct deliver_rcpt r[] = {{"John@example.org", "john@example.org"},
                               {"john@EXAMPLE.org", "john@example.org"},
                               {"postmaster@example.org", "john@example.org"},
                               {"jane@example.org", "jane@example.org"}};
    buf_t h = BUF_INIT;
    deliver_trace_headers(&h, "h", "", r, 4, "john@example.org", &smtp_trace);
    const char *s = buf_cstr(&h);
    assert_non_null(strstr(s, "Return-Path: <>\nX-Original-To: John@example.org\nX-Original-To: postmaster@example.org\n"
                              "Delivered-To: John@example.org\n"));
    assert_null(strstr(s, "jane"));
    assert_null(strstr(s, "\tfor <")); /* several recipients: no "for" */
    buf_free(&h);
    buf_init(&h);
    deliver_trace_headers(&h, "h", "", r, 4, "jane@example.org", &smtp_trace);
    assert_non_null(strstr(buf_cstr(&h), "X-Original-To: jane@example.org\nDelivered-To: jane@example.org\n"));
    assert_null(strstr(buf_cstr(&h), "John"));
    buf_free(&h);
}

static void test_hostile_helo_and_remote_peer(void **state) {
    (void)state;
    struct deliver_rcpt r[] = {{"x@y.z", "x@y.z"}};
    struct deliver_trace t = {"evil\r\nBcc: (x) me", "192.0.2.7", "HTTP", NULL, 0, NULL};
    buf_t h = BUF_INIT;
    deliver_trace_headers(&h, "h", "f@g.h", r, 1, "x@y.z", &t);
    const char *s = buf_cstr(&h);
    assert_non_null(strstr(s, "Received: from evil??Bcc:??x??me (unknown [192.0.2.7])\n\tby h (devmail) with HTTP\n\tfor <x@y.z>; "));
    assert_null(strstr(s, "\nBcc:"));
    buf_free(&h);
    /* no HELO at all */
    buf_init(&h);
    t.helo = NULL;
    t.peer = "::1";
    deliver_trace_headers(&h, "h", "f@g.h", r, 1, "x@y.z", &t);
    assert_non_null(strstr(buf_cstr(&h), "Received: from unknown (localhost [::1])"));
    buf_free(&h);
}

/* The SMTP AUTH login as Postfix's smtpd_sasl_authenticated_header writes
 * it (the API's Username), cleaned like the HELO name. */
static void test_authenticated_sender(void **state) {
    (void)state;
    struct deliver_rcpt r[] = {{"x@y.z", "x@y.z"}};
    struct deliver_trace t = {"client", "127.0.0.1", "ESMTPA", "ID1", 0, "app-user"};
    buf_t h = BUF_INIT;
    deliver_trace_headers(&h, "h", "f@g.h", r, 1, "x@y.z", &t);
    assert_non_null(strstr(buf_cstr(&h), "Received: from client (localhost [127.0.0.1])\n\t(Authenticated sender: app-user)\n"
                                         "\tby h (devmail) with ESMTPA id ID1\n\tfor <x@y.z>; "));
    buf_free(&h);
    buf_init(&h);
    t.auth_user = "a)\r\nX-Evil: 1";
    deliver_trace_headers(&h, "h", "f@g.h", r, 1, "x@y.z", &t);
    assert_non_null(strstr(buf_cstr(&h), "(Authenticated sender: a???X-Evil:?1)\n"));
    assert_null(strstr(buf_cstr(&h), "\nX-Evil"));
    buf_free(&h);
}

static void test_queue_ids_differ(void **state) {
    (void)state;
    char a[24], b[24];
    deliver_queue_id(a, sizeof a);
    deliver_queue_id(b, sizeof b);
    assert_int_equal(strlen(a), 12);
    assert_string_not_equal(a, b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_recipient),
        cmocka_unit_test(test_duplicates_and_accounts),
        cmocka_unit_test(test_hostile_helo_and_remote_peer),
        cmocka_unit_test(test_authenticated_sender),
        cmocka_unit_test(test_queue_ids_differ),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
