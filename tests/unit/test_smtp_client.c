/*
 * test_smtp_client - the client side of SMTP used to release messages:
 * reply parsing (multi-line, EHLO keywords, malformed), the conversation
 * with STARTTLS and AUTH, refused recipients, and DATA's dot-stuffing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/smtp_client.h"

static void test_reply_parse(void **state) {
    (void)state;
    struct smtp_reply r;
    smtp_reply_init(&r);
    size_t used = 0;
    const char *ehlo = "250-mx.example Hello\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250-AUTH LOGIN PLAIN\r\n"
                       "250-8BITMIME\r\n250 SMTPUTF8\r\nnext";
    assert_int_equal(smtp_reply_parse(ehlo, strlen(ehlo), &r, &used), SMTP_REPLY_OK);
    assert_int_equal(used, strlen(ehlo) - 4);
    assert_int_equal(r.code, 250);
    assert_true(r.starttls && r.auth_plain && r.auth_login && r.eightbitmime && r.smtputf8);
    assert_int_equal(r.size, 10240000);
    assert_string_equal(r.text.data, "mx.example Hello\nSIZE 10240000\nSTARTTLS\nAUTH LOGIN PLAIN\n8BITMIME\nSMTPUTF8");
    /* the first line is the greeting text, not a keyword */
    assert_int_equal(smtp_reply_parse("250-STARTTLS\n250 OK\n", 20, &r, &used), SMTP_REPLY_OK);
    assert_false(r.starttls);
    assert_int_equal(smtp_reply_parse("250 OK", 6, &r, &used), SMTP_REPLY_NEED_MORE);
    assert_int_equal(smtp_reply_parse("250-a\r\n", 7, &r, &used), SMTP_REPLY_NEED_MORE);
    assert_int_equal(smtp_reply_parse("250\r\n", 5, &r, &used), SMTP_REPLY_OK); /* no text */
    static const char *const bad[] = {"hello\r\n", "25 x\r\n", "250-a\r\n251 b\r\n", "199 x\r\n", "250x\r\n",
                                      "600 no\r\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(smtp_reply_parse(bad[i], strlen(bad[i]), &r, &used), SMTP_REPLY_BAD);
    smtp_reply_free(&r);
}

/* Feed one reply text, expect an action and the bytes to send. */
static void expect(struct smtp_client *c, const char *reply, enum smtp_client_action want, const char *send) {
    struct smtp_reply r;
    smtp_reply_init(&r);
    size_t used;
    assert_int_equal(smtp_reply_parse(reply, strlen(reply), &r, &used), SMTP_REPLY_OK);
    buf_t out = BUF_INIT;
    enum smtp_client_action a = smtp_client_step(c, &r, &out);
    if (a != want) fail_msg("after '%s': action %d, want %d (%s)", reply, a, want, buf_cstr(&c->error));
    assert_string_equal(buf_cstr(&out), send);
    buf_free(&out);
    smtp_reply_free(&r);
}

static void test_conversation_starttls_auth(void **state) {
    (void)state;
    const char *rcpts[] = {"ann@example.com", "nobody@example.com"};
    struct smtp_client c;
    smtp_client_init(&c);
    c.helo = "devmail.test";
    c.tls = SMTP_CLIENT_TLS_STARTTLS;
    c.auth = SMTP_CLIENT_AUTH_PLAIN;
    c.user = "u";
    c.password = "p";
    c.mail_from = "app@example.com";
    c.rcpts = rcpts;
    c.nrcpts = 2;
    c.message_size = 1234;
    expect(&c, "220 mx ESMTP\r\n", SCA_SEND, "EHLO devmail.test\r\n");
    expect(&c, "250-mx\r\n250 STARTTLS\r\n", SCA_SEND, "STARTTLS\r\n");
    expect(&c, "220 go ahead\r\n", SCA_START_TLS, "");
    buf_t out = BUF_INIT;
    smtp_client_tls_ready(&c, &out);
    assert_string_equal(buf_cstr(&out), "EHLO devmail.test\r\n");
    buf_free(&out);
    expect(&c, "250-mx\r\n250-SIZE 5000\r\n250-8BITMIME\r\n250 AUTH PLAIN\r\n", SCA_SEND, "AUTH PLAIN AHUAcA==\r\n");
    expect(&c, "235 2.7.0 ok\r\n", SCA_SEND, "MAIL FROM:<app@example.com> SIZE=1234 BODY=8BITMIME\r\n");
    expect(&c, "250 ok\r\n", SCA_SEND, "RCPT TO:<ann@example.com>\r\n");
    expect(&c, "250 ok\r\n", SCA_SEND, "RCPT TO:<nobody@example.com>\r\n");
    expect(&c, "550 5.1.1 no such user\r\n", SCA_SEND, "DATA\r\n");
    expect(&c, "354 go\r\n", SCA_SEND_BODY, "");
    expect(&c, "250 2.0.0 queued as X\r\n", SCA_DONE, "QUIT\r\n");
    assert_int_equal(c.accepted, 1);
    assert_string_equal(buf_cstr(&c.refused), "nobody@example.com: 550 5.1.1 no such user");
    smtp_client_free(&c);
}

static void test_failures(void **state) {
    (void)state;
    const char *rcpts[] = {"a@x.example"};
    struct smtp_client c;
    /* STARTTLS required but not offered */
    smtp_client_init(&c);
    c.tls = SMTP_CLIENT_TLS_STARTTLS;
    c.rcpts = rcpts;
    c.nrcpts = 1;
    expect(&c, "220 mx\r\n", SCA_SEND, "EHLO localhost\r\n");
    expect(&c, "250 mx\r\n", SCA_FAIL, "QUIT\r\n");
    assert_string_equal(buf_cstr(&c.error), "the relay does not offer STARTTLS");
    smtp_client_free(&c);
    /* every recipient refused: no DATA */
    smtp_client_init(&c);
    c.mail_from = "";
    c.rcpts = rcpts;
    c.nrcpts = 1;
    expect(&c, "220 mx\r\n", SCA_SEND, "EHLO localhost\r\n");
    expect(&c, "250 mx\r\n", SCA_SEND, "MAIL FROM:<>\r\n");
    expect(&c, "250 ok\r\n", SCA_SEND, "RCPT TO:<a@x.example>\r\n");
    expect(&c, "554 5.7.1 relay denied\r\n", SCA_FAIL, "QUIT\r\n");
    assert_non_null(strstr(buf_cstr(&c.error), "a@x.example: 554 5.7.1 relay denied"));
    smtp_client_free(&c);
    /* AUTH refused, with the server's code kept */
    smtp_client_init(&c);
    c.auth = SMTP_CLIENT_AUTH_LOGIN;
    c.user = "u";
    c.password = "p";
    c.rcpts = rcpts;
    c.nrcpts = 1;
    expect(&c, "220 mx\r\n", SCA_SEND, "EHLO localhost\r\n");
    expect(&c, "250-mx\r\n250 AUTH LOGIN\r\n", SCA_SEND, "AUTH LOGIN\r\n");
    expect(&c, "334 VXNlcm5hbWU6\r\n", SCA_SEND, "dQ==\r\n");
    expect(&c, "334 UGFzc3dvcmQ6\r\n", SCA_SEND, "cA==\r\n");
    expect(&c, "535 5.7.8 bad credentials\r\n", SCA_FAIL, "QUIT\r\n");
    assert_int_equal(c.fail_code, 535);
    assert_string_equal(buf_cstr(&c.error), "AUTH: 535 5.7.8 bad credentials");
    smtp_client_free(&c);
    /* a message over the server's SIZE */
    smtp_client_init(&c);
    c.rcpts = rcpts;
    c.nrcpts = 1;
    c.message_size = 6000;
    expect(&c, "220 mx\r\n", SCA_SEND, "EHLO localhost\r\n");
    expect(&c, "250-mx\r\n250 SIZE 5000\r\n", SCA_FAIL, "QUIT\r\n");
    smtp_client_free(&c);
}

static void test_body(void **state) {
    (void)state;
    buf_t out = BUF_INIT;
    const char *msg = "Subject: x\n\n.hidden\r\nline\n..two\nlast";
    smtp_client_body(msg, strlen(msg), &out);
    assert_string_equal(buf_cstr(&out), "Subject: x\r\n\r\n..hidden\r\nline\r\n...two\r\nlast\r\n.\r\n");
    buf_free(&out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reply_parse),
        cmocka_unit_test(test_conversation_starttls_auth),
        cmocka_unit_test(test_failures),
        cmocka_unit_test(test_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
