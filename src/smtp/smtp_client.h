/*
 * smtp_client - the client side of SMTP (RFC 5321, 3207 STARTTLS, 4954
 * AUTH PLAIN/LOGIN) as pure functions: a reply parser and a state machine
 * that, given the server's last reply, says what to send next. devmail
 * uses it for one thing, releasing a caught message to a real server on
 * request (app/release.c does the I/O). Knows nothing of sockets.
 */
#ifndef DEVMAIL_SMTP_CLIENT_H
#define DEVMAIL_SMTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Longest reply accepted (all its lines), and lines in it. */
#define SMTP_CLIENT_MAX_REPLY 16384
#define SMTP_CLIENT_MAX_REPLY_LINES 100

struct smtp_reply {
    int code;    /* 200..599 */
    buf_t text;  /* the lines' text after the code, joined with "\n" */
    /* EHLO keywords seen */
    bool starttls, auth_plain, auth_login, eightbitmime, smtputf8;
    int64_t size; /* SIZE n (0: none given) */
};

enum smtp_reply_result { SMTP_REPLY_NEED_MORE = 0, SMTP_REPLY_OK = 1, SMTP_REPLY_BAD = -1 };

void smtp_reply_init(struct smtp_reply *r);
void smtp_reply_free(struct smtp_reply *r);
/* Parse one complete reply (one or more "NNN-" lines and a "NNN " line)
 * from the start of buf; *consumed is its length. BAD: not SMTP, codes
 * that differ between lines, or more than SMTP_CLIENT_MAX_REPLY bytes. */
enum smtp_reply_result smtp_reply_parse(const char *buf, size_t len, struct smtp_reply *out, size_t *consumed);

enum smtp_client_tls { SMTP_CLIENT_TLS_NONE, SMTP_CLIENT_TLS_STARTTLS, SMTP_CLIENT_TLS_IMPLICIT };
enum smtp_client_auth { SMTP_CLIENT_AUTH_NONE, SMTP_CLIENT_AUTH_PLAIN, SMTP_CLIENT_AUTH_LOGIN };

enum smtp_client_state {
    SC_GREETING, SC_EHLO, SC_STARTTLS, SC_EHLO_TLS, SC_AUTH, SC_AUTH_USER, SC_AUTH_PASS,
    SC_MAIL, SC_RCPT, SC_DATA, SC_BODY, SC_QUIT, SC_DONE, SC_FAILED,
};

struct smtp_client {
    /* set by the caller */
    const char *helo;
    enum smtp_client_tls tls;
    enum smtp_client_auth auth;
    const char *user, *password;
    const char *mail_from;
    const char *const *rcpts;
    size_t nrcpts;
    int64_t message_size; /* for SIZE=, 0: not sent */
    bool smtputf8;        /* the envelope needs SMTPUTF8 */
    /* state */
    enum smtp_client_state state;
    size_t next_rcpt;
    size_t accepted;       /* recipients the server took */
    bool server_size, server_8bit, server_utf8;
    /* the outcome, at SC_DONE or SC_FAILED */
    int fail_code;         /* the reply that failed it (0: not a reply) */
    buf_t error;           /* "RCPT TO:<x>: 550 5.1.1 no such user" */
    buf_t refused;         /* recipients refused (comma separated), at DONE */
};

enum smtp_client_action {
    SCA_SEND,      /* write out, then wait for a reply */
    SCA_START_TLS, /* start the TLS handshake, then call smtp_client_tls_ready */
    SCA_SEND_BODY, /* write the dot-stuffed message (smtp_client_body), then wait */
    SCA_DONE,      /* delivered to the accepted recipients (out: QUIT, sent without waiting) */
    SCA_FAIL,      /* stop (out: QUIT when polite) */
};

void smtp_client_init(struct smtp_client *c);
void smtp_client_free(struct smtp_client *c);
/* Feed the next reply; out gets the bytes to send. */
enum smtp_client_action smtp_client_step(struct smtp_client *c, const struct smtp_reply *r, buf_t *out);
/* After the STARTTLS handshake: the EHLO to send again. */
void smtp_client_tls_ready(struct smtp_client *c, buf_t *out);
/* The message as DATA carries it: CRLF line ends (bare LF and CRLF input
 * alike), leading dots doubled, ended by CRLF . CRLF. */
void smtp_client_body(const char *msg, size_t len, buf_t *out);

#endif
