/*
 * test_mail_lint - the deliverability lint: a clean bulk message has no
 * finding above info; each problem is found with its code, severity and
 * place; long runs are capped with a count.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "check/mail_lint.h"
#include "core/buf.h"

static const struct lint_finding *find(const struct lint_report *r, const char *code) {
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->v[i].code, code)) return &r->v[i];
    return NULL;
}

static size_t count(const struct lint_report *r, const char *code) {
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++) n += !strcmp(r->v[i].code, code);
    return n;
}

static void lint(const char *text, struct lint_report *r) {
    mail_lint(text, strlen(text), r);
}

#define GOOD_HEAD                                                                                                      \
    "From: Shop <news@shop.example>\r\n"                                                                               \
    "To: ann@example.com\r\n"                                                                                          \
    "Date: Tue, 01 Dec 2026 10:00:00 +0000\r\n"                                                                        \
    "Message-ID: <abc.123@shop.example>\r\n"                                                                           \
    "Subject: =?UTF-8?B?w4lxdWlwZQ==?=\r\n"                                                                            \
    "List-Unsubscribe: <https://shop.example/u/1>, <mailto:u@shop.example>\r\n"                                        \
    "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"                                                            \
    "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=shop.example; s=s1;\r\n"                                  \
    "\th=from:to:subject:date; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=dGVzdA==\r\n"                        \
    "MIME-Version: 1.0\r\n"

static void test_clean_message(void **state) {
    (void)state;
    struct lint_report r;
    lint(GOOD_HEAD "Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n"
                   "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello\r\n"
                   "--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Hello</p>\r\n--b1--\r\n",
         &r);
    for (size_t i = 0; i < r.n; i++)
        fprintf(stderr, "unexpected: %s %s %s\n", r.v[i].code, r.v[i].where, r.v[i].message);
    assert_int_equal(r.n, 0);
    assert_int_equal(lint_report_worst(&r), -1);
    lint_report_free(&r);
}

static void test_missing_headers(void **state) {
    (void)state;
    struct lint_report r;
    lint("Subject: x\n\nbody\n", &r);
    assert_int_equal(find(&r, "missing-date")->severity, LINT_ERROR);
    assert_int_equal(find(&r, "missing-from")->severity, LINT_ERROR);
    assert_int_equal(find(&r, "missing-message-id")->severity, LINT_WARNING);
    assert_int_equal(find(&r, "no-dkim-signature")->severity, LINT_INFO);
    assert_null(find(&r, "missing-subject"));
    assert_null(find(&r, "bare-lf")); /* all LF: the Maildir form, not mixed */
    assert_int_equal(lint_report_worst(&r), LINT_ERROR);
    lint_report_free(&r);
}

static void test_header_values(void **state) {
    (void)state;
    struct lint_report r;
    lint("From: a@x.example, b@x.example\nDate: yesterday\nMessage-ID: abc\nSubject: one\nSubject: two\n"
         "To: J\xc3\xb6rg <j@x.example>\nCc: =?UTF-8?B?bad!?= =?nosuchcharset?Q?a?= =?UTF-8?X?a?=\n"
         "List-Unsubscribe: <http://x.example/u>\nList-Unsubscribe-Post: yes\n\nbody\n",
         &r);
    assert_non_null(find(&r, "from-needs-sender"));
    assert_string_equal(find(&r, "invalid-date")->where, "header Date (line 2)");
    assert_non_null(find(&r, "invalid-message-id"));
    assert_string_equal(find(&r, "duplicate-header")->where, "header Subject");
    assert_non_null(find(&r, "8bit-header"));
    assert_int_equal(count(&r, "invalid-encoded-word"), 3);
    assert_non_null(find(&r, "invalid-list-unsubscribe-post"));
    assert_non_null(find(&r, "one-click-needs-https"));
    lint_report_free(&r);
    lint("From: a@x.example\nList-Unsubscribe: <https://x.example/u>\n\nb\n", &r);
    assert_int_equal(find(&r, "list-unsubscribe-no-post")->severity, LINT_WARNING);
    lint_report_free(&r);
}

static void test_dkim_syntax(void **state) {
    (void)state;
    struct lint_report r;
    lint("From: a@mail.shop.example\nDKIM-Signature: v=2; a=rsa-sha1; d=other.example; h=to:subject; b=x; b=y\n\nb\n",
         &r);
    /* v=2, no bh=, no s=, a repeated b=, From not signed */
    assert_true(count(&r, "invalid-dkim-signature") >= 5);
    assert_non_null(find(&r, "weak-dkim-algorithm"));
    assert_non_null(find(&r, "dkim-not-aligned"));
    assert_null(find(&r, "no-dkim-signature"));
    lint_report_free(&r);
    /* a parent domain aligns (relaxed) */
    lint("From: a@mail.shop.example\nDKIM-Signature: v=1; a=ed25519-sha256; d=shop.example; s=k; h=From; bh=a; b=b\n"
         "\nb\n",
         &r);
    assert_null(find(&r, "invalid-dkim-signature"));
    assert_null(find(&r, "dkim-not-aligned"));
    lint_report_free(&r);
}

static void test_mime_structure(void **state) {
    (void)state;
    struct lint_report r;
    lint("From: a@x.example\nMIME-Version: 1.0\nContent-Type: multipart/mixed\n\n--b\n\nx\n--b--\n", &r);
    assert_non_null(find(&r, "multipart-without-boundary"));
    lint_report_free(&r);
    lint("From: a@x.example\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=b\n\n"
         "--b\nContent-Type: text/html\n\n<p>x</p>\n",
         &r);
    assert_string_equal(find(&r, "truncated-message")->where, "end of message");
    assert_non_null(find(&r, "no-text-alternative"));
    lint_report_free(&r);
    lint("From: a@x.example\nContent-Type: text/plain\n\ncaf\xc3\xa9\n", &r);
    assert_non_null(find(&r, "missing-mime-version"));
    assert_non_null(find(&r, "8bit-without-cte"));
    lint_report_free(&r);
}

static void test_image_only(void **state) {
    (void)state;
    struct lint_report r;
    lint("From: a@x.example\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=b\n\n"
         "--b\nContent-Type: text/plain\n\nSale\n"
         "--b\nContent-Type: text/html\n\n<a href=\"https://x.example\"><img src=\"cid:a\"></a>"
         "<img src=\"cid:b\"><p>Sale!</p>\n--b--\n",
         &r);
    const struct lint_finding *f = find(&r, "image-only");
    assert_non_null(f);
    assert_non_null(strstr(f->message, "2 images and only 5 characters"));
    lint_report_free(&r);
    lint("From: a@x.example\nMIME-Version: 1.0\nContent-Type: text/html\n\n<img src=\"cid:a\"><p>"
         "A long enough paragraph of real words that people can read even when the images are blocked by "
         "their mail client, and then some more words to be sure.</p>\n",
         &r);
    assert_null(find(&r, "image-only"));
    lint_report_free(&r);
}

static void test_sizes_and_lines(void **state) {
    (void)state;
    buf_t m = BUF_INIT;
    buf_append_str(&m, "From: a@x.example\r\nMIME-Version: 1.0\r\nContent-Type: text/html\r\n\r\n");
    for (int i = 0; i < 1100; i++) {
        buf_append_str(&m, "<p>");
        for (int k = 0; k < 100; k++) buf_append_char(&m, 'x');
        buf_append_str(&m, "</p>\r\n");
    }
    /* ten lines over 998, one with a bare LF */
    for (int i = 0; i < 10; i++) {
        for (int k = 0; k < 1000; k++) buf_append_char(&m, 'y');
        buf_append_str(&m, i == 9 ? "\n" : "\r\n");
    }
    struct lint_report r;
    mail_lint(m.data, m.len, &r);
    assert_non_null(find(&r, "gmail-clip"));
    assert_true(r.html_bytes > LINT_GMAIL_CLIP_BYTES);
    assert_int_equal(count(&r, "line-too-long"), LINT_MAX_PER_CODE + 1); /* five, and "5 more" */
    const struct lint_finding *f = find(&r, "line-too-long");
    assert_string_equal(f->where, "line 1105");
    assert_non_null(find(&r, "bare-lf"));
    lint_report_free(&r);
    buf_free(&m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_message),  cmocka_unit_test(test_missing_headers),
        cmocka_unit_test(test_header_values),  cmocka_unit_test(test_dkim_syntax),
        cmocka_unit_test(test_mime_structure), cmocka_unit_test(test_sizes_and_lines),
        cmocka_unit_test(test_image_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
