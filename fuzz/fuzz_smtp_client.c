/*
 * fuzz_smtp_client - libFuzzer target for the SMTP client side: the input
 * is a server's byte stream; every reply parsed from it drives the client
 * state machine, which must end in a known state, never consume more
 * than it was given, and only ever ask to send CRLF-terminated commands.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *rcpts[] = {"a@x.example", "b@y.example"};
    struct smtp_client c;
    smtp_client_init(&c);
    c.tls = size && (data[0] & 1) ? SMTP_CLIENT_TLS_STARTTLS : SMTP_CLIENT_TLS_NONE;
    c.auth = size && (data[0] & 2) ? SMTP_CLIENT_AUTH_PLAIN : size && (data[0] & 4) ? SMTP_CLIENT_AUTH_LOGIN : 0;
    c.user = "u";
    c.password = "p";
    c.mail_from = "f@z.example";
    c.rcpts = rcpts;
    c.nrcpts = 2;
    c.message_size = 100;
    size_t pos = size ? 1 : 0;
    struct smtp_reply r;
    smtp_reply_init(&r);
    for (int steps = 0; steps < 64 && pos < size; steps++) {
        size_t used = 0;
        enum smtp_reply_result rr = smtp_reply_parse((const char *)data + pos, size - pos, &r, &used);
        if (rr != SMTP_REPLY_OK) break;
        if (used == 0 || used > size - pos) abort();
        pos += used;
        buf_t out = BUF_INIT;
        enum smtp_client_action a = smtp_client_step(&c, &r, &out);
        if (out.len && (out.len < 2 || out.data[out.len - 2] != '\r' || out.data[out.len - 1] != '\n')) abort();
        buf_free(&out);
        if (a == SCA_START_TLS) {
            smtp_client_tls_ready(&c, &out);
            buf_free(&out);
        }
        if (a == SCA_DONE || a == SCA_FAIL) break;
        if (c.state > SC_FAILED) abort();
    }
    if (c.accepted > c.nrcpts) abort();
    smtp_reply_free(&r);
    smtp_client_free(&c);
    return 0;
}
