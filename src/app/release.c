/*
 * release - see release.h. The conversation is smtp/smtp_client.c's pure
 * state machine; this file does the connection (libevent bufferevents,
 * OpenSSL for STARTTLS or implicit TLS), the checks and the logging.
 */
#include "app/release.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <gmime/gmime.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "net/net.h"
#include "smtp/smtp_client.h"

struct release {
    struct app *app;
    struct bufferevent *bev;
    SSL_CTX *ctx;
    struct smtp_client c;
    char **rcpts;
    size_t nrcpts;
    char *from;
    char *host;
    int port;
    char *label;
    buf_t body; /* dot-stuffed DATA */
    release_done_fn done;
    void *arg;
    bool reported, closing, tls_filter;
    struct event *start; /* connects from the loop, not from release_start */
    struct release *next;
};

static struct release *active;

/* ---- pure parts ---------------------------------------------------------- */

bool release_allowed(const char *const *patterns, size_t n, const char *addr) {
    for (size_t i = 0; i < n; i++)
        if (fnmatch(patterns[i], addr, FNM_CASEFOLD) == 0) return true;
    return false;
}

static bool dropped_field(const char *line, size_t n, bool new_id) {
    static const char *const drop[] = {"Return-Path", "Delivered-To", "X-Original-To", "Bcc", "Date"};
    for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++) {
        size_t k = strlen(drop[i]);
        if (n > k && line[k] == ':' && !strncasecmp(line, drop[i], k)) return true;
    }
    return new_id && n > 10 && line[10] == ':' && !strncasecmp(line, "Message-ID", 10);
}

void release_rewrite(const char *msg, size_t len, const char *date, const char *message_id, buf_t *out) {
    buf_printf(out, "Date: %s\n", date);
    if (message_id) buf_printf(out, "Message-ID: %s\n", message_id);
    size_t pos = 0;
    bool dropping = false;
    while (pos < len) {
        const char *nl = memchr(msg + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - msg) + 1 : len;
        size_t n = end - pos;
        const char *l = msg + pos;
        size_t content = n - (nl ? 1 : 0);
        if (content && l[content - 1] == '\r') content--;
        if (content == 0) break; /* the end of the header */
        if (l[0] == ' ' || l[0] == '\t') {
            if (!dropping) buf_append(out, l, n);
        } else {
            dropping = dropped_field(l, content, message_id != NULL);
            if (!dropping) buf_append(out, l, n);
        }
        pos = end;
    }
    buf_append(out, msg + pos, len - pos); /* the blank line and the body */
}

/* ---- the connection ------------------------------------------------------ */

static void report(struct release *r, bool ok, const char *error) {
    if (r->reported) return;
    r->reported = true;
    const char *refused = buf_cstr(&r->c.refused);
    if (ok)
        log_info("release: %s from <%s> to %zu of %zu recipient%s via %s:%d: sent%s%s", r->label, r->from,
                 r->c.accepted, r->nrcpts, r->nrcpts == 1 ? "" : "s", r->host, r->port, *refused ? "; refused: " : "",
                 refused);
    else
        log_warn("release: %s from <%s> via %s:%d: not sent: %s", r->label, r->from, r->host, r->port, error);
    if (r->done) r->done(r->arg, ok, ok ? "" : error, refused);
}

static void release_free(struct release *r) {
    for (struct release **pp = &active; *pp; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    }
    if (r->start) event_free(r->start);
    if (r->bev) bufferevent_free(r->bev);
    if (r->ctx) SSL_CTX_free(r->ctx);
    smtp_client_free(&r->c);
    for (size_t i = 0; i < r->nrcpts; i++) free(r->rcpts[i]);
    free(r->rcpts);
    free(r->from);
    free(r->host);
    free(r->label);
    buf_free(&r->body);
    free(r);
}

static void finish(struct release *r, bool ok, const char *error, const buf_t *quit) {
    report(r, ok, error);
    r->closing = true;
    if (quit && quit->len) bufferevent_write(r->bev, quit->data, quit->len);
    bufferevent_disable(r->bev, EV_READ);
    /* freed once QUIT is written (write_cb), or at once */
    if (evbuffer_get_length(bufferevent_get_output(r->bev)) == 0) release_free(r);
}

static void tls_error_text(struct release *r, buf_t *out) {
    SSL *ssl = bufferevent_openssl_get_ssl(r->bev);
    unsigned long e = bufferevent_get_openssl_error(r->bev);
    if (ssl && SSL_get_verify_result(ssl) != X509_V_OK) {
        buf_printf(out, "TLS: the relay's certificate: %s",
                   X509_verify_cert_error_string(SSL_get_verify_result(ssl)));
    } else if (e) {
        char b[256];
        ERR_error_string_n(e, b, sizeof b);
        buf_printf(out, "TLS: %s", b);
    }
}

static void event_cb(struct bufferevent *bev, short what, void *arg);
static void read_cb(struct bufferevent *bev, void *arg);
static void write_cb(struct bufferevent *bev, void *arg);

static SSL *new_ssl(struct release *r) {
    SSL *ssl = SSL_new(r->ctx);
    SSL_set_tlsext_host_name(ssl, r->host);
    if (r->app->cfg->relay_tls_verify) SSL_set1_host(ssl, r->host);
    return ssl;
}

static void start_tls(struct release *r) {
    /* nothing the relay sent before the handshake may count after it */
    evbuffer_drain(bufferevent_get_input(r->bev), evbuffer_get_length(bufferevent_get_input(r->bev)));
    struct bufferevent *tls = bufferevent_openssl_filter_new(r->app->base, r->bev, new_ssl(r),
                                                             BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
    if (!tls) {
        finish(r, false, "TLS: cannot start the handshake", NULL);
        return;
    }
    r->bev = tls;
    r->tls_filter = true;
    bufferevent_setcb(tls, read_cb, write_cb, event_cb, r);
    bufferevent_enable(tls, EV_READ | EV_WRITE);
    struct timeval tv = {r->app->cfg->relay_timeout, 0};
    bufferevent_set_timeouts(tls, &tv, &tv);
}

static void read_cb(struct bufferevent *bev, void *arg) {
    struct release *r = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    while (!r->closing) {
        size_t len = evbuffer_get_length(in);
        if (len == 0) return;
        size_t take = len < SMTP_CLIENT_MAX_REPLY + 2 ? len : SMTP_CLIENT_MAX_REPLY + 2;
        const char *data = (const char *)evbuffer_pullup(in, (ev_ssize_t)take);
        struct smtp_reply rep;
        smtp_reply_init(&rep);
        size_t used = 0;
        enum smtp_reply_result rr = smtp_reply_parse(data, take, &rep, &used);
        if (rr == SMTP_REPLY_NEED_MORE) {
            smtp_reply_free(&rep);
            return;
        }
        if (rr == SMTP_REPLY_BAD) {
            smtp_reply_free(&rep);
            buf_t q = BUF_INIT;
            buf_append_str(&q, "QUIT\r\n");
            finish(r, false, "the relay's reply is not SMTP", &q);
            buf_free(&q);
            return;
        }
        evbuffer_drain(in, used);
        buf_t out = BUF_INIT;
        enum smtp_client_action a = smtp_client_step(&r->c, &rep, &out);
        smtp_reply_free(&rep);
        switch (a) {
        case SCA_SEND: bufferevent_write(r->bev, out.data, out.len); break;
        case SCA_SEND_BODY: bufferevent_write(r->bev, r->body.data, r->body.len); break;
        case SCA_START_TLS:
            buf_free(&out);
            start_tls(r);
            return;
        case SCA_DONE: finish(r, true, NULL, &out); break;
        case SCA_FAIL: finish(r, false, buf_cstr(&r->c.error), &out); break;
        }
        buf_free(&out);
        if (a == SCA_DONE || a == SCA_FAIL) return;
    }
}

static void write_cb(struct bufferevent *bev, void *arg) {
    struct release *r = arg;
    if (r->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0) release_free(r);
}

static void event_cb(struct bufferevent *bev, short what, void *arg) {
    struct release *r = arg;
    if (what & BEV_EVENT_CONNECTED) {
        if (r->tls_filter && r->c.state == SC_STARTTLS) {
            buf_t out = BUF_INIT;
            smtp_client_tls_ready(&r->c, &out);
            bufferevent_write(r->bev, out.data, out.len);
            buf_free(&out);
        }
        return;
    }
    if (r->closing) {
        release_free(r);
        return;
    }
    buf_t why = BUF_INIT;
    tls_error_text(r, &why);
    if (!why.len) {
        if (what & BEV_EVENT_TIMEOUT) buf_printf(&why, "no reply from the relay within %llds", (long long)r->app->cfg->relay_timeout);
        else if (what & BEV_EVENT_EOF) buf_append_str(&why, "the relay closed the connection");
        else {
            int dns = bufferevent_socket_get_dns_error(bev);
            if (dns) buf_printf(&why, "cannot resolve %s: %s", r->host, evutil_gai_strerror(dns));
            else buf_printf(&why, "cannot connect: %s", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        }
    }
    report(r, false, buf_cstr(&why));
    buf_free(&why);
    release_free(r);
}

static void connect_cb(evutil_socket_t fd, short what, void *arg) {
    struct release *r = arg;
    net_connect_hostname(r->bev, r->host, r->port);
}

/* The address of a header's first mailbox, malloc'd, or NULL. */
static char *first_mailbox(InternetAddressList *l) {
    int n = l ? internet_address_list_length(l) : 0;
    for (int i = 0; i < n; i++) {
        InternetAddress *a = internet_address_list_get_address(l, i);
        if (!INTERNET_ADDRESS_IS_MAILBOX(a)) continue;
        const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));
        if (addr && strchr(addr, '@')) return xstrdup(addr);
    }
    return NULL;
}

/* One address as typed ("Ann <ann@x>" or "ann@x"): the bare address. */
static char *parse_rcpt(const char *s) {
    InternetAddressList *l = internet_address_list_parse(NULL, s);
    char *a = NULL;
    if (l && internet_address_list_length(l) == 1) a = first_mailbox(l);
    if (l) g_object_unref(l);
    if (a && strpbrk(a, "\r\n<> ")) {
        free(a);
        a = NULL;
    }
    return a;
}

static char *envelope_sender(const struct config *cfg, const char *msg, size_t len) {
    if (cfg->relay_return_path[0]) return xstrdup(cfg->relay_return_path);
    GMimeStream *st = g_mime_stream_mem_new_with_buffer(msg, len);
    GMimeParser *p = g_mime_parser_new_with_stream(st);
    GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
    char *from = NULL;
    if (m) {
        from = first_mailbox(g_mime_message_get_sender(m));
        if (!from) from = first_mailbox(g_mime_message_get_from(m));
        g_object_unref(m);
    }
    g_object_unref(p);
    g_object_unref(st);
    return from;
}

int release_start(struct app *app, const char *message, size_t len, const char *const *to, size_t nto,
                  const char *label, release_done_fn done, void *arg, buf_t *err) {
    const struct config *cfg = app->cfg;
    if (!cfg->relay_host[0]) {
        buf_append_str(err, "release is not configured (relay_host)");
        return -1;
    }
    char *host;
    int port;
    if (net_split_hostport(cfg->relay_host, &host, &port) < 0) {
        buf_append_str(err, "relay_host must be HOST:PORT");
        return -1;
    }
    if (nto == 0) {
        buf_append_str(err, "No valid addresses found");
        free(host);
        return -1;
    }
    char **rcpts = xcalloc(nto, sizeof *rcpts);
    buf_t not_allowed = BUF_INIT;
    for (size_t i = 0; i < nto; i++) {
        rcpts[i] = parse_rcpt(to[i]);
        if (!rcpts[i]) {
            buf_printf(err, "Invalid email address: %s", to[i]);
            goto refuse;
        }
        if (!release_allowed((const char *const *)cfg->relay_allowed_recipients.v, cfg->relay_allowed_recipients.n,
                             rcpts[i]))
            buf_printf(&not_allowed, "%s%s", not_allowed.len ? ", " : "", rcpts[i]);
    }
    if (not_allowed.len) {
        buf_printf(err, "Failed: %s not allowed by relay_allowed_recipients: %s",
                   strchr(buf_cstr(&not_allowed), ',') ? "addresses" : "address", buf_cstr(&not_allowed));
        goto refuse;
    }
    char *from = envelope_sender(cfg, message, len);
    if (!from) {
        buf_append_str(err, "Failed: the message has no From address (set relay_return_path)");
        goto refuse;
    }
    buf_free(&not_allowed);
    struct release *r = xcalloc(1, sizeof *r);
    r->app = app;
    r->rcpts = rcpts;
    r->nrcpts = nto;
    r->from = from;
    r->label = xstrdup(label ? label : "message");
    r->host = host;
    r->port = port;
    r->done = done;
    r->arg = arg;
    /* the message as sent */
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", &tm);
    char mid[96];
    unsigned char rnd[12];
    RAND_bytes(rnd, sizeof rnd);
    int k = snprintf(mid, sizeof mid, "<");
    for (size_t i = 0; i < sizeof rnd; i++) k += snprintf(mid + k, sizeof mid - (size_t)k, "%02x", rnd[i]);
    snprintf(mid + k, sizeof mid - (size_t)k, ".release@%s>", cfg->hostname);
    buf_t rewritten = BUF_INIT;
    release_rewrite(message, len, date, cfg->relay_preserve_message_ids ? NULL : mid, &rewritten);
    smtp_client_body(rewritten.data ? rewritten.data : "", rewritten.len, &r->body);
    smtp_client_init(&r->c);
    r->c.helo = cfg->hostname;
    r->c.tls = (enum smtp_client_tls)cfg->relay_tls;
    r->c.auth = (enum smtp_client_auth)cfg->relay_auth;
    r->c.user = cfg->relay_username;
    r->c.password = cfg->relay_password;
    r->c.mail_from = r->from;
    r->c.rcpts = (const char *const *)r->rcpts;
    r->c.nrcpts = r->nrcpts;
    r->c.message_size = (int64_t)rewritten.len;
    for (size_t i = 0; i < r->nrcpts; i++)
        for (const char *c = r->rcpts[i]; *c; c++)
            if ((unsigned char)*c >= 0x80) r->c.smtputf8 = true;
    for (const char *c = r->from; *c; c++)
        if ((unsigned char)*c >= 0x80) r->c.smtputf8 = true;
    buf_free(&rewritten);
    if (cfg->relay_tls != SMTP_CLIENT_TLS_NONE) {
        r->ctx = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_min_proto_version(r->ctx, TLS1_2_VERSION);
        if (cfg->relay_tls_verify) {
            SSL_CTX_set_default_verify_paths(r->ctx);
            SSL_CTX_set_verify(r->ctx, SSL_VERIFY_PEER, NULL);
        }
    }
    if (cfg->relay_tls == SMTP_CLIENT_TLS_IMPLICIT)
        r->bev = bufferevent_openssl_socket_new(app->base, -1, new_ssl(r), BUFFEREVENT_SSL_CONNECTING,
                                                BEV_OPT_CLOSE_ON_FREE);
    else r->bev = bufferevent_socket_new(app->base, -1, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(r->bev, read_cb, write_cb, event_cb, r);
    bufferevent_enable(r->bev, EV_READ | EV_WRITE);
    struct timeval tv = {cfg->relay_timeout, 0};
    bufferevent_set_timeouts(r->bev, &tv, &tv);
    r->next = active;
    active = r;
    log_info("release: %s to %zu recipient%s via %s: connecting", r->label, r->nrcpts, r->nrcpts == 1 ? "" : "s",
             cfg->relay_host);
    r->start = evtimer_new(app->base, connect_cb, r);
    struct timeval zero = {0, 0};
    evtimer_add(r->start, &zero);
    return 0;
refuse:
    free(host);
    buf_free(&not_allowed);
    for (size_t i = 0; i < nto; i++) free(rcpts[i]);
    free(rcpts);
    return -1;
}

void release_cancel(void *arg) {
    for (struct release *r = active; r; r = r->next)
        if (r->arg == arg) r->done = NULL;
}

void release_shutdown(void) {
    while (active) {
        struct release *r = active;
        r->done = NULL;
        release_free(r);
    }
}
