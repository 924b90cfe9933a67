#include "app/linkcheck.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "cli/cli_config.h"
#include "core/log.h"
#include "core/xalloc.h"

struct lc;

struct lc_job {
    struct lc *lc;
    size_t idx;
    char *url;  /* as requested now (after redirects) */
    int redirects;
    char *host; /* from the URL */
    int port;
    bool https;
    char *target;
    struct evdns_getaddrinfo_request *dns;
    struct evhttp_connection *conn;
    int error;  /* enum evhttp_request_error + 1, 0: none */
};

struct lc {
    struct app *app;
    struct lc_job *jobs;
    size_t n, next, running, finished;
    struct linkcheck_result *results;
    bool follow;
    linkcheck_done_fn done;
    void *arg;
    SSL_CTX *ctx;
    struct evhttp_connection **spent;
    size_t nspent;
    struct event *tick; /* frees spent connections, starts jobs, finishes */
    struct lc *next_lc;
};

static struct lc *active;
static struct evdns_base *dns_base;

const char *linkcheck_reason(int code) {
    static const struct { int code; const char *text; } t[] = {
        {100, "Continue"}, {101, "Switching Protocols"}, {200, "OK"}, {201, "Created"}, {202, "Accepted"},
        {203, "Non-Authoritative Information"}, {204, "No Content"}, {205, "Reset Content"}, {206, "Partial Content"},
        {300, "Multiple Choices"}, {301, "Moved Permanently"}, {302, "Found"}, {303, "See Other"},
        {304, "Not Modified"}, {307, "Temporary Redirect"}, {308, "Permanent Redirect"}, {400, "Bad Request"},
        {401, "Unauthorized"}, {402, "Payment Required"}, {403, "Forbidden"}, {404, "Not Found"},
        {405, "Method Not Allowed"}, {406, "Not Acceptable"}, {407, "Proxy Authentication Required"},
        {408, "Request Timeout"}, {409, "Conflict"}, {410, "Gone"}, {411, "Length Required"},
        {412, "Precondition Failed"}, {413, "Request Entity Too Large"}, {414, "Request URI Too Long"},
        {415, "Unsupported Media Type"}, {416, "Requested Range Not Satisfiable"}, {417, "Expectation Failed"},
        {418, "I'm a teapot"}, {421, "Misdirected Request"}, {422, "Unprocessable Entity"}, {425, "Too Early"},
        {426, "Upgrade Required"}, {428, "Precondition Required"}, {429, "Too Many Requests"},
        {431, "Request Header Fields Too Large"}, {451, "Unavailable For Legal Reasons"},
        {500, "Internal Server Error"}, {501, "Not Implemented"}, {502, "Bad Gateway"},
        {503, "Service Unavailable"}, {504, "Gateway Timeout"}, {505, "HTTP Version Not Supported"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (t[i].code == code) return t[i].text;
    return "";
}

static void tick_soon(struct lc *lc) {
    struct timeval zero = {0, 0};
    evtimer_add(lc->tick, &zero);
}

static void job_finish(struct lc_job *j, int code, const char *status) {
    struct lc *lc = j->lc;
    struct linkcheck_result *r = &lc->results[j->idx];
    r->status_code = code;
    free(r->status);
    r->status = xstrdup(status);
    if (j->conn) {
        lc->spent = xrealloc(lc->spent, (lc->nspent + 1) * sizeof *lc->spent);
        lc->spent[lc->nspent++] = j->conn;
        j->conn = NULL;
    }
    lc->running--;
    lc->finished++;
    tick_soon(lc);
}

static void start_job(struct lc_job *j);

static const char *error_text(int e) {
    switch (e - 1) {
    case EVREQ_HTTP_TIMEOUT: return "Timeout";
    case EVREQ_HTTP_EOF: return "Connection closed";
    case EVREQ_HTTP_INVALID_HEADER: return "Invalid response";
    case EVREQ_HTTP_BUFFER_ERROR: return "Connection failed";
    case EVREQ_HTTP_DATA_TOO_LONG: return "Response too long";
    default: return "Connection failed";
    }
}

static void req_error(enum evhttp_request_error e, void *arg) {
    struct lc_job *j = arg;
    j->error = (int)e + 1;
}

/* Location relative to the URL it came from: absolute, or path-absolute. */
static char *resolve_location(const struct lc_job *j, const char *loc) {
    if (!strncasecmp(loc, "http://", 7) || !strncasecmp(loc, "https://", 8)) return xstrdup(loc);
    buf_t b = BUF_INIT;
    if (loc[0] == '/' && loc[1] == '/') {
        buf_printf(&b, "%s:%s", j->https ? "https" : "http", loc);
    } else if (loc[0] == '/') {
        buf_printf(&b, "%s://%s", j->https ? "https" : "http", j->host);
        if (j->port != (j->https ? 443 : 80)) buf_printf(&b, ":%d", j->port);
        buf_append_str(&b, loc);
    } else {
        return NULL;
    }
    return buf_steal(&b);
}

static void req_done(struct evhttp_request *req, void *arg) {
    struct lc_job *j = arg;
    int code = req ? evhttp_request_get_response_code(req) : 0;
    if (code == 0) {
        const char *why = j->error ? error_text(j->error) : "Connection failed";
        if (j->https && j->conn) {
            struct bufferevent *bev = evhttp_connection_get_bufferevent(j->conn);
            SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
            long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
            if (vr != X509_V_OK) why = X509_verify_cert_error_string(vr);
        }
        job_finish(j, 0, why);
        return;
    }
    const char *loc = code >= 300 && code < 400 ? evhttp_find_header(evhttp_request_get_input_headers(req), "Location")
                                                : NULL;
    if (loc && j->lc->follow) {
        if (j->redirects >= LINKCHECK_MAX_REDIRECTS) {
            job_finish(j, 0, "Too many redirects");
            return;
        }
        char *next = resolve_location(j, loc);
        if (next) {
            /* the old connection goes; the new URL is checked (and allowed) afresh */
            struct lc *lc = j->lc;
            lc->spent = xrealloc(lc->spent, (lc->nspent + 1) * sizeof *lc->spent);
            lc->spent[lc->nspent++] = j->conn;
            j->conn = NULL;
            free(j->url);
            j->url = next;
            j->redirects++;
            start_job(j);
            return;
        }
    }
    job_finish(j, code, linkcheck_reason(code));
}

static void connect_to(struct lc_job *j, const struct sockaddr *sa) {
    struct lc *lc = j->lc;
    char ip[INET6_ADDRSTRLEN];
    if (sa->sa_family == AF_INET) inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, ip, sizeof ip);
    else inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, ip, sizeof ip);
    struct bufferevent *bev;
    if (j->https) {
        if (!lc->ctx) {
            lc->ctx = SSL_CTX_new(TLS_client_method());
            SSL_CTX_set_min_proto_version(lc->ctx, TLS1_2_VERSION);
            SSL_CTX_set_default_verify_paths(lc->ctx);
            SSL_CTX_set_verify(lc->ctx, SSL_VERIFY_PEER, NULL);
        }
        SSL *ssl = SSL_new(lc->ctx);
        SSL_set_tlsext_host_name(ssl, j->host);
        SSL_set1_host(ssl, j->host);
        bev = bufferevent_openssl_socket_new(lc->app->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                             BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    } else {
        bev = bufferevent_socket_new(lc->app->base, -1, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    }
    j->conn = evhttp_connection_base_bufferevent_new(lc->app->base, NULL, bev, ip, (unsigned short)j->port);
    evhttp_connection_set_timeout(j->conn, (int)lc->app->cfg->link_check_timeout);
    evhttp_connection_set_retries(j->conn, 0);
    struct evhttp_request *req = evhttp_request_new(req_done, j);
    evhttp_request_set_error_cb(req, req_error);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    buf_t hp = BUF_INIT;
    if (j->port == (j->https ? 443 : 80)) buf_append_str(&hp, j->host);
    else buf_printf(&hp, strchr(j->host, ':') ? "[%s]:%d" : "%s:%d", j->host, j->port);
    evhttp_add_header(h, "Host", buf_cstr(&hp));
    evhttp_add_header(h, "User-Agent", "devmail/" DEVMAIL_VERSION " (link check)");
    buf_free(&hp);
    j->error = 0;
    if (evhttp_make_request(j->conn, req, EVHTTP_REQ_HEAD, j->target) < 0) job_finish(j, 0, "Connection failed");
}

static void dns_done(int err, struct evutil_addrinfo *res, void *arg) {
    struct lc_job *j = arg;
    j->dns = NULL;
    if (err == EVUTIL_EAI_CANCEL) return;
    if (err || !res) {
        job_finish(j, 0, err ? evutil_gai_strerror(err) : "No address");
        if (res) evutil_freeaddrinfo(res);
        return;
    }
    const struct config *cfg = j->lc->app->cfg;
    const char *const *allow = (const char *const *)cfg->link_check_allowed.v;
    size_t na = cfg->link_check_allowed.n;
    if (!links_host_allowed(allow, na, j->host) && !links_addr_allowed(allow, na, res->ai_addr)) {
        job_finish(j, 451, "Blocked: the address is not in link_check_allowed");
    } else {
        connect_to(j, res->ai_addr);
    }
    evutil_freeaddrinfo(res);
}

static void start_job(struct lc_job *j) {
    struct lc *lc = j->lc;
    free(j->host);
    free(j->target);
    j->host = j->target = NULL;
    struct evhttp_uri *u = evhttp_uri_parse_with_flags(j->url, 0);
    const char *scheme = u ? evhttp_uri_get_scheme(u) : NULL;
    const char *host = u ? evhttp_uri_get_host(u) : NULL;
    if (!u || !scheme || !host || !*host || (strcasecmp(scheme, "http") && strcasecmp(scheme, "https"))) {
        if (u) evhttp_uri_free(u);
        job_finish(j, 0, "Invalid URL");
        return;
    }
    j->https = !strcasecmp(scheme, "https");
    j->host = xstrdup(host);
    j->port = evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) : (j->https ? 443 : 80);
    const char *path = evhttp_uri_get_path(u), *query = evhttp_uri_get_query(u);
    buf_t t = BUF_INIT;
    buf_append_str(&t, path && *path ? path : "/");
    if (query) buf_printf(&t, "?%s", query);
    j->target = buf_steal(&t);
    evhttp_uri_free(u);
    const struct config *cfg = lc->app->cfg;
    if (cfg->link_check_allowed.n == 0) {
        job_finish(j, 451, "Blocked: link_check_allowed is empty");
        return;
    }
    if (!dns_base) dns_base = evdns_base_new(lc->app->base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
    struct evutil_addrinfo hints = {0};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = EVUTIL_AI_ADDRCONFIG;
    /* an IP literal resolves at once, a name through evdns (/etc/hosts first) */
    j->dns = evdns_getaddrinfo(dns_base, j->host, NULL, &hints, dns_done, j);
}

static void lc_free(struct lc *lc) {
    for (struct lc **pp = &active; *pp; pp = &(*pp)->next_lc) {
        if (*pp == lc) {
            *pp = lc->next_lc;
            break;
        }
    }
    for (size_t i = 0; i < lc->n; i++) {
        struct lc_job *j = &lc->jobs[i];
        if (j->dns) evdns_getaddrinfo_cancel(j->dns);
        if (j->conn) evhttp_connection_free(j->conn);
        free(j->url);
        free(j->host);
        free(j->target);
        free(lc->results[i].url);
        free(lc->results[i].status);
    }
    for (size_t i = 0; i < lc->nspent; i++) evhttp_connection_free(lc->spent[i]);
    free(lc->spent);
    free(lc->jobs);
    free(lc->results);
    if (lc->ctx) SSL_CTX_free(lc->ctx);
    event_free(lc->tick);
    free(lc);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg) {
    struct lc *lc = arg;
    for (size_t i = 0; i < lc->nspent; i++) evhttp_connection_free(lc->spent[i]);
    lc->nspent = 0;
    while (lc->next < lc->n && lc->running < LINKCHECK_PARALLEL) {
        struct lc_job *j = &lc->jobs[lc->next++];
        lc->running++;
        start_job(j);
    }
    if (lc->finished == lc->n) {
        if (lc->done) lc->done(lc->arg, lc->results, lc->n);
        lc_free(lc);
    }
}

int linkcheck_start(struct app *app, struct links *links, bool follow, linkcheck_done_fn done, void *arg) {
    struct lc *lc = xcalloc(1, sizeof *lc);
    lc->app = app;
    lc->n = links->n;
    lc->jobs = xcalloc(lc->n ? lc->n : 1, sizeof *lc->jobs);
    lc->results = xcalloc(lc->n ? lc->n : 1, sizeof *lc->results);
    lc->follow = follow;
    lc->done = done;
    lc->arg = arg;
    for (size_t i = 0; i < lc->n; i++) {
        lc->jobs[i].lc = lc;
        lc->jobs[i].idx = i;
        lc->jobs[i].url = xstrdup(links->v[i]);
        lc->results[i].url = links->v[i];
        lc->results[i].status = xstrdup("");
        links->v[i] = NULL;
    }
    links->n = 0;
    lc->tick = evtimer_new(app->base, tick_cb, lc);
    lc->next_lc = active;
    active = lc;
    tick_soon(lc);
    return 0;
}

void linkcheck_cancel(void *arg) {
    for (struct lc *lc = active; lc; lc = lc->next_lc)
        if (lc->arg == arg) lc->done = NULL;
}

void linkcheck_shutdown(void) {
    while (active) lc_free(active);
    if (dns_base) evdns_base_free(dns_base, 1);
    dns_base = NULL;
}
