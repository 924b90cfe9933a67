/*
 * webhook - POST each new message's summary (the JSON of the API's "new"
 * event, as Mailpit posts it) to webhook_url. Deliveries never wait for
 * it: summaries go into a bounded queue (webhook_queue_size; when full,
 * the oldest is dropped and counted), one request is in flight at a time
 * through libevent's HTTP client, and a failed one (no connection,
 * timeout, 5xx or 429) is retried after 1, 2, 4 ... seconds up to
 * webhook_retries times. Other 4xx answers are not retried. An https://
 * URL is reached over TLS (OpenSSL through libevent's bufferevent_openssl)
 * with the certificate verified against webhook_ca_file or the system's
 * trust store and its name (or IP address) against the URL's host; a
 * failed verification is logged with OpenSSL's reason and retried like
 * any failed connection.
 */
#include "http/webhook.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <event2/bufferevent_ssl.h>
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "cli/cli_config.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "http/http_api.h"

struct webhook_item {
    char *body;
    int attempts;
    struct webhook_item *next;
};

struct webhook {
    struct app *app;
    struct webhook_item *head, *tail;
    size_t queued;
    struct evhttp_connection *conn; /* of the request in flight */
    struct evhttp_connection *spent; /* freed off its own callback */
    bool in_flight;
    struct event *retry;  /* backoff timer */
    struct event *reap;   /* frees spent */
    SSL_CTX *tls;         /* for https:// URLs, made with tls_ca's CAs */
    char *tls_ca;         /* the webhook_ca_file tls was made with */
    bool tls_conn;        /* the request in flight is over TLS */
    struct webhook_stats stats;
};

static struct webhook *instance;

static void pump(struct webhook *w);

static void item_free(struct webhook_item *it) {
    free(it->body);
    free(it);
}

static void reap_cb(evutil_socket_t fd, short what, void *arg) {
    struct webhook *w = arg;
    if (w->spent) evhttp_connection_free(w->spent);
    w->spent = NULL;
    pump(w);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg) {
    pump(arg);
}

/* The client context for https:// URLs, made again when webhook_ca_file
 * changed (SIGHUP). NULL: its CAs could not be loaded (logged). */
static SSL_CTX *tls_ctx(struct webhook *w) {
    const char *ca = w->app->cfg->webhook_ca_file;
    if (w->tls && !strcmp(w->tls_ca, ca)) return w->tls;
    if (w->tls) SSL_CTX_free(w->tls);
    free(w->tls_ca);
    w->tls = NULL;
    w->tls_ca = NULL;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if ((*ca ? SSL_CTX_load_verify_locations(ctx, ca, NULL) : SSL_CTX_set_default_verify_paths(ctx)) != 1) {
        log_error("webhook: cannot load the CA certificates of %s: %s", *ca ? ca : "the system's trust store",
                  ERR_reason_error_string(ERR_get_error()));
        SSL_CTX_free(ctx);
        return NULL;
    }
    w->tls = ctx;
    w->tls_ca = xstrdup(ca);
    return ctx;
}

/* Why a TLS connection of the webhook failed, if it got as far as TLS. */
static void log_tls_failure(struct webhook *w) {
    struct bufferevent *bev = w->conn ? evhttp_connection_get_bufferevent(w->conn) : NULL;
    SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
    if (!ssl) return;
    long v = SSL_get_verify_result(ssl);
    unsigned long e = bufferevent_get_openssl_error(bev);
    if (v != X509_V_OK)
        log_warn("webhook: %s: the server's certificate is refused: %s", w->app->cfg->webhook_url,
                 X509_verify_cert_error_string(v));
    else if (e)
        log_warn("webhook: %s: TLS failed: %s", w->app->cfg->webhook_url, ERR_reason_error_string(e));
}

static void request_done(struct evhttp_request *req, void *arg) {
    struct webhook *w = arg;
    struct webhook_item *it = w->head;
    int code = req ? evhttp_request_get_response_code(req) : 0;
    if (code == 0 && w->tls_conn) log_tls_failure(w);
    w->in_flight = false;
    w->spent = w->conn;
    w->conn = NULL;
    struct timeval now = {0, 0};
    if (code >= 200 && code <= 299) {
        w->stats.sent++;
        w->head = it->next;
        if (!w->head) w->tail = NULL;
        w->queued--;
        item_free(it);
        evtimer_add(w->reap, &now);
        return;
    }
    bool retryable = code == 0 || code == 429 || code >= 500;
    if (!retryable || it->attempts > w->app->cfg->webhook_retries) {
        w->stats.failed++;
        log_warn("webhook: %s answered %d; dropping the notification after %d attempt%s", w->app->cfg->webhook_url,
                 code, it->attempts, it->attempts == 1 ? "" : "s");
        w->head = it->next;
        if (!w->head) w->tail = NULL;
        w->queued--;
        item_free(it);
        evtimer_add(w->reap, &now);
        return;
    }
    w->stats.retried++;
    int shift = it->attempts - 1 < 6 ? it->attempts - 1 : 6;
    struct timeval tv = {(time_t)1 << shift, 0};
    log_info("webhook: %s %s%d; retrying in %lds", w->app->cfg->webhook_url, code ? "answered " : "failed ", code,
             (long)tv.tv_sec);
    /* free the connection now, send again when the backoff ends */
    evtimer_add(w->reap, &now);
    event_del(w->retry);
    evtimer_add(w->retry, &tv);
}

/* Send the queue's head unless a request or a backoff is running. */
static void pump(struct webhook *w) {
    if (w->in_flight || !w->head || w->spent || evtimer_pending(w->retry, NULL)) return;
    const char *url = w->app->cfg->webhook_url;
    struct evhttp_uri *uri = evhttp_uri_parse(url);
    const char *host = uri ? evhttp_uri_get_host(uri) : NULL;
    if (!host) {
        log_error("webhook: cannot parse webhook_url %s", url);
        if (uri) evhttp_uri_free(uri);
        return;
    }
    const char *scheme = evhttp_uri_get_scheme(uri);
    bool tls = scheme && !strcasecmp(scheme, "https");
    int port = evhttp_uri_get_port(uri);
    int default_port = tls ? 443 : 80;
    if (port < 0) port = default_port;
    const char *path = evhttp_uri_get_path(uri);
    const char *query = evhttp_uri_get_query(uri);
    buf_t target = BUF_INIT;
    buf_append_str(&target, path && *path ? path : "/");
    if (query) buf_printf(&target, "?%s", query);
    if (tls) {
        SSL_CTX *ctx = tls_ctx(w);
        SSL *ssl = ctx ? SSL_new(ctx) : NULL;
        if (!ssl) {
            evhttp_uri_free(uri);
            buf_free(&target);
            return; /* logged; tried again with the next message */
        }
        /* the name the certificate must carry: the URL's host, an IP
         * address as one (RFC 6125), and SNI only for a name */
        X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
        X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        unsigned char ipbuf[16];
        if (inet_pton(AF_INET, host, ipbuf) == 1 || inet_pton(AF_INET6, host, ipbuf) == 1) {
            X509_VERIFY_PARAM_set1_ip_asc(vp, host);
        } else {
            X509_VERIFY_PARAM_set1_host(vp, host, 0);
            SSL_set_tlsext_host_name(ssl, host);
        }
        struct bufferevent *bev = bufferevent_openssl_socket_new(w->app->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                                                 BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
        if (!bev) {
            SSL_free(ssl);
            evhttp_uri_free(uri);
            buf_free(&target);
            return;
        }
        bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
        w->conn = evhttp_connection_base_bufferevent_new(w->app->base, NULL, bev, host, (unsigned short)port);
    } else {
        w->conn = evhttp_connection_base_new(w->app->base, NULL, host, (unsigned short)port);
    }
    w->tls_conn = tls;
    evhttp_connection_set_timeout(w->conn, (int)w->app->cfg->webhook_timeout);
    evhttp_connection_set_retries(w->conn, 0);
    struct evhttp_request *req = evhttp_request_new(request_done, w);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    buf_t hostport = BUF_INIT;
    buf_printf(&hostport, port == default_port ? "%s" : "%s:%d", host, port);
    evhttp_add_header(h, "Host", buf_cstr(&hostport));
    evhttp_add_header(h, "User-Agent", "devmail/" DEVMAIL_VERSION);
    evhttp_add_header(h, "Content-Type", "application/json");
    evbuffer_add(evhttp_request_get_output_buffer(req), w->head->body, strlen(w->head->body));
    w->head->attempts++;
    w->in_flight = true;
    if (evhttp_make_request(w->conn, req, EVHTTP_REQ_POST, buf_cstr(&target)) < 0) {
        /* libevent freed req; count it as a failed attempt */
        w->in_flight = false;
        request_done(NULL, w);
    }
    buf_free(&hostport);
    buf_free(&target);
    evhttp_uri_free(uri);
}

static void on_store_event(const struct store_event *ev, void *arg) {
    struct webhook *w = arg;
    if (ev->type != STORE_EV_NEW || !w->app->cfg->webhook_url[0]) return;
    cJSON *frame = http_api_event_frame(w->app, ev);
    cJSON *data = frame ? cJSON_GetObjectItemCaseSensitive(frame, "Data") : NULL;
    char *body = data ? cJSON_PrintUnformatted(data) : NULL;
    cJSON_Delete(frame);
    if (!body) return;
    if (w->queued >= (size_t)w->app->cfg->webhook_queue_size && w->head) {
        /* full: the oldest waiting one goes (not the one in flight) */
        struct webhook_item **pp = w->in_flight ? &w->head->next : &w->head;
        if (*pp) {
            struct webhook_item *old = *pp;
            *pp = old->next;
            if (w->tail == old) w->tail = w->head == old ? NULL : w->head;
            if (!w->head) w->tail = NULL;
            item_free(old);
            w->queued--;
            w->stats.dropped++;
        }
    }
    if (w->queued >= (size_t)w->app->cfg->webhook_queue_size) {
        w->stats.dropped++;
        free(body);
        return;
    }
    struct webhook_item *it = xcalloc(1, sizeof *it);
    it->body = body;
    if (w->tail) w->tail->next = it;
    else w->head = it;
    w->tail = it;
    w->queued++;
    pump(w);
}

void webhook_start(struct app *app) {
    struct webhook *w = xcalloc(1, sizeof *w);
    w->app = app;
    w->retry = evtimer_new(app->base, retry_cb, w);
    w->reap = evtimer_new(app->base, reap_cb, w);
    store_subscribe(app->store, on_store_event, w);
    instance = w;
}

void webhook_stop(void) {
    struct webhook *w = instance;
    if (!w) return;
    instance = NULL;
    store_unsubscribe(w->app->store, on_store_event, w);
    if (w->conn) evhttp_connection_free(w->conn); /* cancels the request */
    if (w->spent) evhttp_connection_free(w->spent);
    event_free(w->retry);
    event_free(w->reap);
    if (w->tls) SSL_CTX_free(w->tls);
    free(w->tls_ca);
    while (w->head) {
        struct webhook_item *n = w->head->next;
        item_free(w->head);
        w->head = n;
    }
    free(w);
}

void webhook_stats(struct webhook_stats *out) {
    if (instance) *out = instance->stats, out->queued = instance->queued;
    else memset(out, 0, sizeof *out);
}
