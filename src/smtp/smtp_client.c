#include "smtp/smtp_client.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app/sasl.h"

void smtp_reply_init(struct smtp_reply *r) {
    memset(r, 0, sizeof *r);
    buf_init(&r->text);
}

void smtp_reply_free(struct smtp_reply *r) {
    buf_free(&r->text);
    memset(r, 0, sizeof *r);
}

static const char *text_of(const struct smtp_reply *r) {
    return r->text.data ? r->text.data : "";
}

static bool keyword(const char *t, size_t n, const char *kw) {
    size_t k = strlen(kw);
    return n >= k && !strncasecmp(t, kw, k) && (n == k || t[k] == ' ' || t[k] == '=');
}

/* EHLO keywords (RFC 5321 4.1.1.1) of one line's text. */
static void ehlo_line(struct smtp_reply *r, const char *t, size_t n) {
    if (keyword(t, n, "STARTTLS")) r->starttls = true;
    else if (keyword(t, n, "8BITMIME")) r->eightbitmime = true;
    else if (keyword(t, n, "SMTPUTF8")) r->smtputf8 = true;
    else if (keyword(t, n, "SIZE")) {
        int64_t v = 0;
        for (size_t i = 5; i < n && isdigit((unsigned char)t[i]) && v < INT64_MAX / 10; i++) v = v * 10 + (t[i] - '0');
        r->size = v;
    } else if (keyword(t, n, "AUTH")) {
        /* "AUTH PLAIN LOGIN" (and the old "AUTH=PLAIN") */
        for (size_t i = 4; i < n;) {
            while (i < n && (t[i] == ' ' || t[i] == '=')) i++;
            size_t s = i;
            while (i < n && t[i] != ' ') i++;
            if (i - s == 5 && !strncasecmp(t + s, "PLAIN", 5)) r->auth_plain = true;
            if (i - s == 5 && !strncasecmp(t + s, "LOGIN", 5)) r->auth_login = true;
        }
    }
}

enum smtp_reply_result smtp_reply_parse(const char *buf, size_t len, struct smtp_reply *out, size_t *consumed) {
    size_t pos = 0;
    int code = 0;
    buf_t text = BUF_INIT;
    struct smtp_reply r;
    smtp_reply_init(&r);
    for (int lines = 0;; lines++) {
        if (pos >= SMTP_CLIENT_MAX_REPLY || lines >= SMTP_CLIENT_MAX_REPLY_LINES) goto bad;
        const char *nl = memchr(buf + pos, '\n', len - pos);
        if (!nl) {
            if (len - pos > SMTP_CLIENT_MAX_REPLY) goto bad;
            buf_free(&text);
            smtp_reply_free(&r);
            return SMTP_REPLY_NEED_MORE;
        }
        size_t end = (size_t)(nl - buf);
        size_t n = end - pos;
        if (n && buf[pos + n - 1] == '\r') n--;
        const char *l = buf + pos;
        if (n < 3 || !isdigit((unsigned char)l[0]) || !isdigit((unsigned char)l[1]) || !isdigit((unsigned char)l[2]))
            goto bad;
        int c = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
        if (c < 200 || c > 599 || (code && c != code)) goto bad;
        code = c;
        char sep = n > 3 ? l[3] : ' ';
        if (sep != ' ' && sep != '-') goto bad;
        const char *t = n > 4 ? l + 4 : l + n;
        size_t tn = n > 4 ? n - 4 : 0;
        if (lines > 0) {
            buf_append_char(&text, '\n');
            ehlo_line(&r, t, tn);
        }
        buf_append(&text, t, tn);
        pos = end + 1;
        if (sep == ' ') break;
    }
    r.code = code;
    (void)buf_cstr(&text); /* NUL-terminated from here on */
    r.text = text;
    smtp_reply_free(out);
    *out = r;
    *consumed = pos;
    return SMTP_REPLY_OK;
bad:
    buf_free(&text);
    smtp_reply_free(&r);
    return SMTP_REPLY_BAD;
}

void smtp_client_init(struct smtp_client *c) {
    memset(c, 0, sizeof *c);
    buf_init(&c->error);
    buf_init(&c->refused);
    c->state = SC_GREETING;
}

void smtp_client_free(struct smtp_client *c) {
    buf_free(&c->error);
    buf_free(&c->refused);
}

static enum smtp_client_action fail(struct smtp_client *c, const char *what, const struct smtp_reply *r, buf_t *out,
                                    bool quit) {
    c->state = SC_FAILED;
    c->fail_code = r ? r->code : 0;
    buf_free(&c->error);
    if (r) {
        /* one line of the server's text is enough */
        const char *t = text_of(r);
        const char *nl = strchr(t, '\n');
        buf_printf(&c->error, "%s: %d %.*s", what, r->code, (int)(nl ? (size_t)(nl - t) : strlen(t)), t);
    } else {
        buf_append_str(&c->error, what);
    }
    if (quit) buf_append_str(out, "QUIT\r\n");
    return SCA_FAIL;
}

static void send_ehlo(struct smtp_client *c, buf_t *out) {
    buf_printf(out, "EHLO %s\r\n", c->helo && *c->helo ? c->helo : "localhost");
}

static enum smtp_client_action send_mail(struct smtp_client *c, buf_t *out) {
    c->state = SC_MAIL;
    buf_printf(out, "MAIL FROM:<%s>", c->mail_from ? c->mail_from : "");
    if (c->server_size && c->message_size > 0) buf_printf(out, " SIZE=%lld", (long long)c->message_size);
    if (c->server_8bit) buf_append_str(out, " BODY=8BITMIME");
    if (c->smtputf8 && c->server_utf8) buf_append_str(out, " SMTPUTF8");
    buf_append_str(out, "\r\n");
    return SCA_SEND;
}

static enum smtp_client_action after_ehlo(struct smtp_client *c, const struct smtp_reply *r, buf_t *out) {
    c->server_size = r->size > 0;
    c->server_8bit = r->eightbitmime;
    c->server_utf8 = r->smtputf8;
    if (c->smtputf8 && !r->smtputf8) return fail(c, "the relay does not offer SMTPUTF8 for this address", NULL, out, true);
    if (c->server_size && c->message_size > r->size)
        return fail(c, "the message is larger than the relay's SIZE limit", NULL, out, true);
    if (c->auth == SMTP_CLIENT_AUTH_PLAIN) {
        if (!r->auth_plain) return fail(c, "the relay does not offer AUTH PLAIN", NULL, out, true);
        buf_t raw = BUF_INIT, b64 = BUF_INIT;
        buf_append_char(&raw, '\0');
        buf_append_str(&raw, c->user ? c->user : "");
        buf_append_char(&raw, '\0');
        buf_append_str(&raw, c->password ? c->password : "");
        sasl_b64_encode(raw.data, raw.len, &b64);
        buf_printf(out, "AUTH PLAIN %s\r\n", buf_cstr(&b64));
        buf_free(&raw);
        buf_free(&b64);
        c->state = SC_AUTH;
        return SCA_SEND;
    }
    if (c->auth == SMTP_CLIENT_AUTH_LOGIN) {
        if (!r->auth_login) return fail(c, "the relay does not offer AUTH LOGIN", NULL, out, true);
        buf_append_str(out, "AUTH LOGIN\r\n");
        c->state = SC_AUTH_USER;
        return SCA_SEND;
    }
    return send_mail(c, out);
}

static void b64_line(const char *s, buf_t *out) {
    buf_t b = BUF_INIT;
    sasl_b64_encode(s ? s : "", s ? strlen(s) : 0, &b);
    buf_printf(out, "%s\r\n", buf_cstr(&b));
    buf_free(&b);
}

static enum smtp_client_action next_rcpt_or_data(struct smtp_client *c, buf_t *out) {
    if (c->next_rcpt < c->nrcpts) {
        c->state = SC_RCPT;
        buf_printf(out, "RCPT TO:<%s>\r\n", c->rcpts[c->next_rcpt++]);
        return SCA_SEND;
    }
    if (c->accepted == 0) {
        c->state = SC_FAILED;
        buf_free(&c->error);
        buf_printf(&c->error, "the relay refused every recipient (%s)", buf_cstr(&c->refused));
        buf_append_str(out, "QUIT\r\n");
        return SCA_FAIL;
    }
    c->state = SC_DATA;
    buf_append_str(out, "DATA\r\n");
    return SCA_SEND;
}

enum smtp_client_action smtp_client_step(struct smtp_client *c, const struct smtp_reply *r, buf_t *out) {
    int code = r->code;
    switch (c->state) {
    case SC_GREETING:
        if (code != 220) return fail(c, "greeting", r, out, true);
        c->state = SC_EHLO;
        send_ehlo(c, out);
        return SCA_SEND;
    case SC_EHLO:
    case SC_EHLO_TLS:
        if (code != 250) return fail(c, "EHLO", r, out, true);
        if (c->state == SC_EHLO && c->tls == SMTP_CLIENT_TLS_STARTTLS) {
            if (!r->starttls) return fail(c, "the relay does not offer STARTTLS", NULL, out, true);
            c->state = SC_STARTTLS;
            buf_append_str(out, "STARTTLS\r\n");
            return SCA_SEND;
        }
        return after_ehlo(c, r, out);
    case SC_STARTTLS:
        if (code != 220) return fail(c, "STARTTLS", r, out, true);
        return SCA_START_TLS;
    case SC_AUTH:
        if (code != 235) return fail(c, "AUTH", r, out, true);
        return send_mail(c, out);
    case SC_AUTH_USER:
        if (code != 334) return fail(c, "AUTH LOGIN", r, out, true);
        c->state = SC_AUTH_PASS;
        b64_line(c->user, out);
        return SCA_SEND;
    case SC_AUTH_PASS:
        if (code == 334) {
            c->state = SC_AUTH;
            b64_line(c->password, out);
            return SCA_SEND;
        }
        return fail(c, "AUTH LOGIN", r, out, true);
    case SC_MAIL:
        if (code != 250) return fail(c, "MAIL FROM", r, out, true);
        return next_rcpt_or_data(c, out);
    case SC_RCPT:
        if (code == 250 || code == 251) {
            c->accepted++;
        } else {
            const char *t = text_of(r);
            const char *nl = strchr(t, '\n');
            buf_printf(&c->refused, "%s%s: %d %.*s", c->refused.len ? ", " : "", c->rcpts[c->next_rcpt - 1], code,
                       (int)(nl ? (size_t)(nl - t) : strlen(t)), t);
        }
        return next_rcpt_or_data(c, out);
    case SC_DATA:
        if (code != 354) return fail(c, "DATA", r, out, true);
        c->state = SC_BODY;
        return SCA_SEND_BODY;
    case SC_BODY:
        if (code != 250) return fail(c, "end of DATA", r, out, true);
        c->state = SC_DONE;
        buf_append_str(out, "QUIT\r\n");
        return SCA_DONE;
    case SC_QUIT:
    case SC_DONE:
    case SC_FAILED: return c->state == SC_DONE ? SCA_DONE : SCA_FAIL;
    }
    return SCA_FAIL;
}

void smtp_client_tls_ready(struct smtp_client *c, buf_t *out) {
    c->state = SC_EHLO_TLS;
    send_ehlo(c, out);
}

void smtp_client_body(const char *msg, size_t len, buf_t *out) {
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(msg + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - msg) : len;
        size_t n = end - pos;
        if (n && msg[pos + n - 1] == '\r') n--;
        if (n && msg[pos] == '.') buf_append_char(out, '.');
        buf_append(out, msg + pos, n);
        buf_append_str(out, "\r\n");
        pos = nl ? end + 1 : len;
    }
    buf_append_str(out, ".\r\n");
}
