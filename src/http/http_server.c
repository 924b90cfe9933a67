/*
 * http_server - HTTP/1.1 on devmail's own net layer.
 *
 * Design decision: the server is built on net/ (libevent bufferevents with
 * the same TLS, connection limits and timeouts as SMTP and IMAP) and a
 * small pure request parser (http_parser.c), not on libevent 2.1's evhttp.
 * evhttp in 2.1 cannot hand a connection over to a WebSocket, cannot hold
 * hundreds of long-polling requests as cheaply with our own wake-ups
 * (a waiting request here is a list entry and a timer, woken directly by
 * the store's change events), and cannot share net's limits. libevent
 * still provides the loop and the buffers.
 *
 * One struct http_conn per connection; states:
 *   READ   reading the next request (keep-alive; pipelined requests are
 *          answered in order)
 *   WAIT   a ?wait= request held until a matching message arrives
 *   BUSY   an asynchronous answer in progress (a delivery commit)
 *   DELAY  a failed login, answered after auth_failure_delay_ms
 *   WS     a WebSocket event stream (/api/events)
 *   LINGER answered with an error: discard input briefly, then close
 * While a request is held the connection keeps reading (so a client that
 * goes away is noticed) but buffers its next request unprocessed.
 */
#include "http/http_server.h"
#include "http/http_guard.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "app/authguard.h"
#include "app/sasl.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "http/web_assets.h"
#include "store/api_query.h"

#define HTTP_WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* Milliseconds a connection answered with an error keeps reading (and
 * discarding) before it closes, so the client sees the answer, not a reset. */
#define HTTP_LINGER_MS 2000

/* HC_INDEX: the request waits until the mail it asks for is indexed (start) */
enum http_conn_state { HC_READ, HC_WAIT, HC_BUSY, HC_DELAY, HC_WS, HC_LINGER, HC_INDEX };

struct http_conn {
    struct http_ctx x;
    struct http_server *srv;
    struct conn *conn;
    enum http_conn_state state;
    struct http_request req;
    bool have_head;
    bool keep_alive;
    bool head_only;
    bool orphaned;      /* closed while BUSY: freed by http_complete */
    bool setup_only;    /* accepted on autoconfig_listen: client-setup routes only */
    char *auth_header;  /* last Authorization accepted, and its account */
    char *auth_account;
    uint64_t auth_generation; /* srv->auth_generation when it was accepted */
    int auth_refusal;   /* 401 or 429, answered when the DELAY timer fires */
    struct event *timer; /* WAIT timeout, DELAY, WS ping */
    struct http_conn *prev, *next; /* srv->waiters or srv->sockets */
};

struct http_server {
    struct app *app;
    struct http_handlers handlers;
    struct passdb passdb; /* cfg->http_passdb */
    bool has_passdb;
    struct passdb pending_passdb; /* read by a SIGHUP reload, not yet current */
    bool pending_has_passdb;
    uint64_t auth_generation;     /* counts reloads: cached logins are checked again */
    struct http_conn *waiters;
    struct http_conn *sockets;
    uint64_t nwaiters, nsockets;
    bool reload_pending;
    struct event *stats_timer;
    bool stats_pending;
    /* new rows (after, upto] not yet matched against the waiters */
    int64_t wake_after, wake_upto;
    int64_t wake_next_ms; /* no matching round before this */
    bool wake_scheduled;
    struct event *wake_timer;
};

static struct http_server *http_server_instance;

static void process_input(struct http_conn *h);

/* ---- answers ------------------------------------------------------------ */

static const char *status_text(int status) {
    switch (status) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 421: return "Misdirected Request";
    case 429: return "Too Many Requests";
    case 426: return "Upgrade Required";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    default: return "Unknown";
    }
}

static void ctx_reset(struct http_ctx *x) {
    x->status = 0;
    buf_reset(&x->content_type);
    buf_reset(&x->headers);
    buf_reset(&x->body);
}

void http_reply(struct http_ctx *x, int status, const char *content_type, const void *body, size_t len) {
    x->status = status;
    buf_reset(&x->content_type);
    if (content_type) buf_append_str(&x->content_type, content_type);
    buf_reset(&x->body);
    if (len) buf_append(&x->body, body, len);
}

void http_reply_text(struct http_ctx *x, int status, const char *text) {
    http_reply(x, status, "text/plain; charset=utf-8", text, strlen(text));
}

void http_reply_json(struct http_ctx *x, int status, cJSON *json) {
    char *s = cJSON_PrintUnformatted(json);
    cJSON_Delete(json);
    http_reply(x, status, "application/json; charset=utf-8", s ? s : "null", s ? strlen(s) : 4);
    free(s);
}

void http_add_header(struct http_ctx *x, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&x->headers, fmt, ap);
    va_end(ap);
    buf_append_str(&x->headers, "\r\n");
}

const char *http_peer(const struct http_ctx *x) {
    const struct http_conn *h = (const struct http_conn *)(const void *)((const char *)x - offsetof(struct http_conn, x));
    return conn_peer(h->conn);
}

const char *http_param(const struct http_ctx *x, const char *name) {
    return http_params_get(&x->params, name);
}

bool http_ctx_is_admin(const struct http_ctx *x) {
    if (!x->account) return true;
    const struct strlist *admins = &x->app->cfg->http_admin_users;
    for (size_t i = 0; i < admins->n; i++)
        if (!strcasecmp(admins->v[i], x->account)) return true;
    return false;
}

static void guard_of(const struct http_server *srv, struct http_guard *g) {
    const struct config *cfg = srv->app->cfg;
    g->hostname = cfg->hostname;
    g->allowed_hosts = (const char *const *)cfg->http_allowed_hosts.v;
    g->nallowed_hosts = cfg->http_allowed_hosts.n;
    g->cors_origins = (const char *const *)cfg->http_cors_origins.v;
    g->ncors_origins = cfg->http_cors_origins.n;
}

/* CORS: an allowed other origin may read the answer (off by default). */
static void add_cors_headers(struct http_conn *h) {
    const char *origin = h->have_head ? http_request_header(&h->req, "Origin") : NULL;
    if (!origin) return;
    struct http_guard g;
    guard_of(h->srv, &g);
    if (!http_guard_cors_allowed(&g, origin)) return;
    http_add_header(&h->x, "Access-Control-Allow-Origin: %s", origin);
    http_add_header(&h->x, "Access-Control-Allow-Credentials: true");
    http_add_header(&h->x, "Vary: Origin");
}

/* Write the answer in h->x, finish the request, and close if not keep-alive. */
static void send_response(struct http_conn *h) {
    struct http_ctx *x = &h->x;
    if (!x->status) http_reply_text(x, 500, "no answer");
    if (h->srv->app->draining) h->keep_alive = false;
    add_cors_headers(h);
    buf_t out = BUF_INIT;
    buf_printf(&out, "HTTP/1.1 %d %s\r\nServer: devmail\r\n", x->status, status_text(x->status));
    if (x->content_type.len) buf_printf(&out, "Content-Type: %s\r\n", buf_cstr(&x->content_type));
    bool no_body = x->status == 204 || x->status == 304 || x->status < 200;
    if (!no_body) buf_printf(&out, "Content-Length: %zu\r\n", x->body.len);
    buf_append(&out, x->headers.data, x->headers.len);
    if (!strstr(buf_cstr(&x->headers), "Connection: "))
        buf_append_str(&out, h->keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n");
    buf_append_str(&out, "\r\n");
    if (!no_body && !h->head_only) buf_append(&out, x->body.data, x->body.len);
    conn_write(h->conn, out.data, out.len);
    if (h->srv->app->cfg->verbose)
        log_info("http[%llu] %s: %s %s -> %d (%zu bytes)", (unsigned long long)conn_id(h->conn), conn_peer(h->conn),
                 h->req.method ? h->req.method : "-", h->req.path ? h->req.path : "-", x->status, x->body.len);
    buf_free(&out);
    ctx_reset(x);
    http_request_free(&h->req);
    http_params_free(&x->params);
    x->route = NULL;
    h->have_head = false;
    h->state = HC_READ;
    conn_set_input_held(h->conn, false);
    if (!h->keep_alive) conn_close(h->conn);
}

static void timer_start(struct http_conn *h, int64_t ms, bool persist, event_callback_fn fn);

static void linger_done_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    struct http_conn *h = arg;
    conn_close(h->conn);
}

/* A request-level error before routing: answer, then close after a
 * linger (closing with unread input would reset the connection and the
 * client could lose the answer). */
static void send_error_close(struct http_conn *h, int status, const char *reason) {
    h->keep_alive = true; /* closed by the linger timer, not by send_response */
    http_reply_text(&h->x, status, reason);
    http_add_header(&h->x, "Connection: close");
    send_response(h);
    h->keep_alive = false;
    h->state = HC_LINGER;
    struct evbuffer *in = conn_input(h->conn);
    evbuffer_drain(in, evbuffer_get_length(in));
    timer_start(h, HTTP_LINGER_MS, false, linger_done_cb);
}

/* ---- lists ------------------------------------------------------------- */

static void list_add(struct http_conn **head, struct http_conn *h) {
    h->prev = NULL;
    h->next = *head;
    if (*head) (*head)->prev = h;
    *head = h;
}

static void list_remove(struct http_conn **head, struct http_conn *h) {
    if (h->prev) h->prev->next = h->next;
    else if (*head == h) *head = h->next;
    if (h->next) h->next->prev = h->prev;
    h->prev = h->next = NULL;
}

static void timer_stop(struct http_conn *h) {
    if (h->timer) {
        event_free(h->timer);
        h->timer = NULL;
    }
}

static void timer_start(struct http_conn *h, int64_t ms, bool persist, event_callback_fn fn) {
    timer_stop(h);
    h->timer = event_new(h->srv->app->base, -1, persist ? EV_PERSIST : 0, fn, h);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_add(h->timer, &tv);
}

/* ---- long-poll waits ------------------------------------------------------ */

static void wait_state_drop(struct http_ctx *x) {
    if (x->wait_state && x->wait_state_free) x->wait_state_free(x->wait_state);
    x->wait_state = NULL;
    x->wait_state_free = NULL;
}

static void wait_finish(struct http_conn *h) {
    if (h->state != HC_WAIT) return;
    list_remove(&h->srv->waiters, h);
    h->srv->nwaiters--;
    wait_state_drop(&h->x);
    timer_stop(h);
    h->state = HC_READ;
    conn_set_idle_timeout(h->conn, HTTP_IDLE_TIMEOUT);
    h->x.waited = true;
    ctx_reset(&h->x);
    h->x.route->handle(&h->x);
    if (h->state != HC_READ) return; /* deferred again (cannot happen with waited set) */
    send_response(h);
    process_input(h);
}

static void wait_timeout_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    struct http_conn *h = arg;
    conn_ref(h->conn);
    struct conn *c = h->conn;
    wait_finish(h);
    conn_unref(c);
}

void http_defer_wait(struct http_ctx *x, int64_t ms) {
    http_defer_wait_state(x, ms, NULL, NULL);
}

void http_defer_wait_state(struct http_ctx *x, int64_t ms, void *state, void (*state_free)(void *state)) {
    struct http_conn *h = (struct http_conn *)x;
    wait_state_drop(x);
    x->wait_state = state;
    x->wait_state_free = state_free;
    if (ms > (int64_t)HTTP_MAX_WAIT_SECONDS * 1000) ms = (int64_t)HTTP_MAX_WAIT_SECONDS * 1000;
    int64_t cap = h->srv->app->cfg->http_max_waiters;
    if (cap > 0 && h->srv->nwaiters >= (uint64_t)cap) {
        /* each waiter is matched against every new message: bounded */
        wait_state_drop(x);
        ctx_reset(x);
        http_reply_text(x, 503, "too many waiting requests (http_max_waiters); retry without wait= or later");
        http_add_header(x, "Retry-After: 1");
        return;
    }
    ctx_reset(x);
    h->state = HC_WAIT;
    list_add(&h->srv->waiters, h);
    h->srv->nwaiters++;
    conn_set_idle_timeout(h->conn, 0);
    timer_start(h, ms, false, wait_timeout_cb);
}

/* New messages: answer every waiting request they satisfy. The searches
 * themselves run off the event loop: each waiter holds a store watch
 * (api_query_watch) that the commit thread matches against each committed
 * batch; here a round only reads the watches' hit flags (wait_match), on
 * the batch's STORE_EV_NEW events and when the store says a pass hit
 * some. The pause between two rounds still grows with the time a round
 * takes (WAKE_COST_FACTOR times it, at most WAKE_MAX_DELAY_MS). */
#define WAKE_COST_FACTOR 9
#define WAKE_MAX_DELAY_MS 1000

static void match_round(struct http_server *srv, int64_t after, int64_t upto) {
    int64_t t0 = authguard_now_ms();
    size_t n = 0, cap = 0;
    struct http_conn **hit = NULL;
    for (struct http_conn *h = srv->waiters; h; h = h->next) {
        if (!h->x.route->wait_match || !h->x.route->wait_match(&h->x, after, upto)) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            hit = xrealloc(hit, cap * sizeof *hit);
        }
        conn_ref(h->conn);
        hit[n++] = h;
    }
    for (size_t i = 0; i < n; i++) {
        struct conn *c = hit[i]->conn;
        if (!conn_is_closing(c)) wait_finish(hit[i]);
        conn_unref(c);
    }
    free(hit);
    int64_t t1 = authguard_now_ms();
    srv->wake_next_ms = t1 + (t1 - t0) * WAKE_COST_FACTOR;
}

static void wake_round(evutil_socket_t fd, short what, void *arg) {
    struct http_server *srv = arg;
    int64_t after = srv->wake_after, upto = srv->wake_upto;
    srv->wake_after = upto;
    srv->wake_scheduled = false;
    if (!srv->waiters || upto <= after) return;
    match_round(srv, after, upto);
}

/* The store's matching (off the loop) hit some waiters' watches. */
static void watch_hit_cb(void *arg) {
    struct http_server *srv = arg;
    if (srv->waiters) match_round(srv, srv->wake_after, srv->wake_upto);
}

static void wake_waiters(struct http_server *srv, const struct store_event *ev) {
    if (srv->wake_upto == 0) srv->wake_after = ev->row - 1; /* the first since start */
    if (!srv->waiters) {
        srv->wake_after = srv->wake_upto = ev->row > srv->wake_upto ? ev->row : srv->wake_upto;
        return;
    }
    if (ev->row > srv->wake_upto) srv->wake_upto = ev->row;
    if (srv->wake_after > ev->row - 1) srv->wake_after = ev->row - 1;
    if (srv->wake_scheduled) return;
    int64_t delay = srv->wake_next_ms - authguard_now_ms();
    if (delay < 0) delay = 0;
    if (delay > WAKE_MAX_DELAY_MS) delay = WAKE_MAX_DELAY_MS;
    if (!srv->wake_timer) srv->wake_timer = evtimer_new(net_base(srv->app->net), wake_round, srv);
    struct timeval tv = {delay / 1000, (delay % 1000) * 1000};
    evtimer_add(srv->wake_timer, &tv);
    srv->wake_scheduled = true;
}

/* ---- asynchronous answers -------------------------------------------------- */

void *http_defer_async(struct http_ctx *x) {
    struct http_conn *h = (struct http_conn *)x;
    h->state = HC_BUSY;
    conn_ref(h->conn);
    return h;
}

struct http_ctx *http_token_ctx(void *token) {
    return &((struct http_conn *)token)->x;
}

static void conn_state_free(struct http_conn *h) {
    timer_stop(h);
    http_request_free(&h->req);
    http_params_free(&h->x.params);
    buf_free(&h->x.content_type);
    buf_free(&h->x.headers);
    buf_free(&h->x.body);
    free(h->auth_header);
    free(h->auth_account);
    free(h);
}

bool http_complete(void *token) {
    struct http_conn *h = token;
    struct conn *c = h->conn;
    if (h->orphaned) {
        conn_state_free(h);
        conn_unref(c);
        return false;
    }
    send_response(h);
    process_input(h);
    conn_unref(c);
    return true;
}

/* ---- authentication --------------------------------------------------------- */

static bool auth_enabled(const struct http_server *srv) {
    return srv->has_passdb || srv->app->has_passdb;
}

/* Check "Basic base64(user:password)" behind the authguard, like IMAP,
 * POP3 and SMTP logins: the account opened, or NULL with the ms to wait
 * before answering and whether the login was refused unchecked. */
static char *auth_check(struct http_server *srv, const char *hdr, const char *peer, int64_t *delay_ms,
                        bool *locked) {
    struct app *app = srv->app;
    *delay_ms = app->cfg->auth_failure_delay_ms;
    *locked = false;
    if (!hdr || strncasecmp(hdr, "Basic ", 6) != 0) return NULL;
    const char *b64 = hdr + 6;
    while (*b64 == ' ') b64++;
    buf_t dec = BUF_INIT;
    char *account = NULL;
    char *user = NULL;
    const char *pw = NULL;
    size_t pl = 0;
    if (sasl_b64_decode(b64, strlen(b64), &dec) == 0 && dec.len) {
        const char *colon = memchr(dec.data, ':', dec.len);
        if (colon) {
            user = xstrndup(dec.data, (size_t)(colon - dec.data));
            pw = colon + 1;
            pl = dec.len - (size_t)(colon - dec.data) - 1;
        }
    }
    int64_t now = authguard_now_ms();
    if (app->authguard && authguard_locked(app->authguard, peer, user ? user : "", now)) {
        *locked = true;
    } else if (user && srv->has_passdb) {
        if (strlen(user) <= PASSDB_MAX_USER && pl <= PASSDB_MAX_PASSWORD && passdb_verify(&srv->passdb, user, pw, pl)) {
            account = xstrdup(user);
            for (char *c = account; *c; c++)
                if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
        }
    } else if (user && !app_login(app, user, pw, pl, &account)) {
        account = NULL;
    }
    if (!account && !*locked && app->authguard)
        *delay_ms = authguard_failed(app->authguard, peer, user ? user : "", now);
    free(user);
    buf_free(&dec);
    return account;
}

/* Answer a request that did not log in. Its body, if any, is never read:
 * the connection closes after the answer. */
static void refuse_login(struct http_conn *h, int status) {
    const char *text = "authentication required";
    if (status == 429) {
        text = "too many failed logins from this address or for this user; try again later";
        int64_t wait = h->srv->app->cfg->auth_failure_max_delay;
        http_add_header(&h->x, "Retry-After: %lld", (long long)(wait > 0 ? wait : 1));
    } else {
        http_add_header(&h->x, "WWW-Authenticate: Basic realm=\"devmail\", charset=\"UTF-8\"");
    }
    if (h->req.content_length > 0) {
        send_error_close(h, status, text);
    } else {
        http_reply_text(&h->x, status, text);
        send_response(h);
    }
}

static void auth_delay_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    struct http_conn *h = arg;
    struct conn *c = h->conn;
    conn_ref(c);
    timer_stop(h);
    h->state = HC_READ;
    refuse_login(h, h->auth_refusal);
    process_input(h);
    conn_unref(c);
}

static bool is_preflight(const struct http_request *req) {
    return !strcmp(req->method, "OPTIONS") && http_request_header(req, "Origin") &&
           http_request_header(req, "Access-Control-Request-Method");
}

/* Authentication, judged on the head, so that a request body is read only
 * for a logged-in client. true: go on (x->account is set); false: the
 * answer is sent, or waits out the failure delay. */
static bool authenticate(struct http_conn *h) {
    struct http_server *srv = h->srv;
    struct http_ctx *x = &h->x;
    struct http_request *req = &h->req;
    x->account = NULL;
    /* the setup listener answers its public routes and 404 to the rest */
    if (!auth_enabled(srv) || h->setup_only ||
        (x->route && (x->route->auth == HTTP_AUTH_NONE || x->route->auth == HTTP_AUTH_PUBLIC)) || is_preflight(req))
        return true;
    const char *hdr = http_request_header(req, "Authorization");
    if (hdr && h->auth_header && h->auth_generation == srv->auth_generation && !strcmp(hdr, h->auth_header)) {
        x->account = h->auth_account;
        return true;
    }
    if (!hdr) {
        refuse_login(h, 401);
        return false;
    }
    int64_t delay;
    bool locked;
    char *account = auth_check(srv, hdr, conn_peer(h->conn), &delay, &locked);
    if (!account) {
        srv->app->stats.auth_failures++;
        log_warn("http[%llu] %s: %s", (unsigned long long)conn_id(h->conn), conn_peer(h->conn),
                 locked ? "login refused unchecked: too many recent failures" : "authentication failed");
        h->auth_refusal = locked ? 429 : 401;
        h->state = HC_DELAY;
        timer_start(h, delay, false, auth_delay_cb);
        return false;
    }
    free(h->auth_header);
    free(h->auth_account);
    h->auth_header = xstrdup(hdr);
    h->auth_account = account;
    h->auth_generation = srv->auth_generation;
    x->account = account;
    return true;
}

/* ---- static page ------------------------------------------------------------ */

static const char *asset_type(const char *path) {
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},   {".svg", "image/svg+xml"},
        {".png", "image/png"},                 {".ico", "image/x-icon"},
        {".json", "application/json"},         {".txt", "text/plain; charset=utf-8"},
        {".woff2", "font/woff2"},              {".webmanifest", "application/manifest+json"},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (!strcasecmp(dot, types[i].ext)) return types[i].type;
    return "application/octet-stream";
}

/* The page's own policy: its scripts only, mail HTML only in /view frames. */
#define HTTP_PAGE_CSP                                                                                              \
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "             \
    "connect-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "              \
    "frame-ancestors 'self'"

static bool serve_asset(struct http_conn *h) {
    const char *path = h->req.path;
    if (!strcmp(path, "/")) path = "/index.html";
    const struct web_asset *a = NULL;
    for (const struct web_asset *w = web_assets; w->path; w++)
        if (!strcmp(w->path, path)) a = w;
    if (!a) return false;
    /* of the content, made at build: it changes exactly when the file does */
    const char *etag = a->etag;
    struct http_ctx *x = &h->x;
    const char *inm = http_request_header(&h->req, "If-None-Match");
    const char *ae = http_request_header(&h->req, "Accept-Encoding");
    bool gzip = ae && http_header_has_token(ae, "gzip") && a->gz_size < a->size;
    if (inm && (strstr(inm, etag) || !strcmp(inm, "*"))) {
        x->status = 304;
    } else if (gzip) {
        http_reply(x, 200, asset_type(a->path), a->gz, a->gz_size);
        http_add_header(x, "Content-Encoding: gzip");
    } else {
        http_reply(x, 200, asset_type(a->path), a->data, a->size);
    }
    http_add_header(x, "Vary: Accept-Encoding");
    http_add_header(x, "ETag: %s", etag);
    /* not fingerprinted: revalidate every time (a 304 costs one round trip) */
    http_add_header(x, "Cache-Control: no-cache");
    http_add_header(x, "X-Content-Type-Options: nosniff");
    http_add_header(x, "Referrer-Policy: no-referrer");
    if (!strcmp(path, "/index.html")) {
        http_add_header(x, "Content-Security-Policy: %s", HTTP_PAGE_CSP);
        http_add_header(x, "X-Frame-Options: SAMEORIGIN");
    }
    return true;
}

/* ---- WebSocket ------------------------------------------------------------ */

static void ws_send(struct http_conn *h, int opcode, const void *p, size_t len) {
    if (conn_is_closing(h->conn)) return;
    if (conn_output_pending(h->conn) > HTTP_WS_MAX_PENDING) {
        log_warn("http[%llu] %s: event stream reader too slow; closing", (unsigned long long)conn_id(h->conn),
                 conn_peer(h->conn));
        conn_close(h->conn);
        return;
    }
    buf_t f = BUF_INIT;
    http_ws_frame_build(opcode, p, len, &f);
    conn_write(h->conn, f.data, f.len);
    buf_free(&f);
}

static void ws_close(struct http_conn *h, int code) {
    unsigned char p[2] = {(unsigned char)(code >> 8), (unsigned char)code};
    ws_send(h, HTTP_WS_CLOSE, p, 2);
    conn_close(h->conn);
}

static void ws_ping_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    struct http_conn *h = arg;
    ws_send(h, HTTP_WS_PING, NULL, 0);
}

static void ws_send_json(struct http_conn *h, cJSON *frame) {
    char *s = cJSON_PrintUnformatted(frame);
    if (s) ws_send(h, HTTP_WS_TEXT, s, strlen(s));
    free(s);
}

static void ws_upgrade(struct http_conn *h) {
    struct http_request *req = &h->req;
    struct http_ctx *x = &h->x;
    const char *key = http_request_header(req, "Sec-WebSocket-Key");
    const char *ver = http_request_header(req, "Sec-WebSocket-Version");
    if (strcmp(req->method, "GET") != 0 || !http_header_has_token(http_request_header(req, "Upgrade"), "websocket") ||
        !http_header_has_token(http_request_header(req, "Connection"), "upgrade")) {
        http_reply_text(x, 426, "this is a WebSocket endpoint");
        http_add_header(x, "Upgrade: websocket");
        send_response(h);
        return;
    }
    if (!ver || strcmp(ver, "13") != 0) {
        http_reply_text(x, 426, "unsupported WebSocket version");
        http_add_header(x, "Sec-WebSocket-Version: 13");
        send_response(h);
        return;
    }
    buf_t raw = BUF_INIT;
    bool key_ok = key && sasl_b64_decode(key, strlen(key), &raw) == 0 && raw.len == 16;
    buf_free(&raw);
    if (!key_ok) {
        send_error_close(h, 400, "bad Sec-WebSocket-Key");
        return;
    }
    /* the Origin was checked with the head (http_guard) */
    buf_t k = BUF_INIT;
    buf_printf(&k, "%s%s", key, HTTP_WS_GUID);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_Digest(k.data, k.len, md, &mdlen, EVP_sha1(), NULL);
    buf_t accept = BUF_INIT;
    sasl_b64_encode(md, mdlen, &accept);
    buf_t out = BUF_INIT;
    buf_printf(&out,
               "HTTP/1.1 101 Switching Protocols\r\nServer: devmail\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Accept: %s\r\n\r\n",
               buf_cstr(&accept));
    conn_write(h->conn, out.data, out.len);
    buf_free(&out);
    buf_free(&accept);
    buf_free(&k);
    http_request_free(req);
    h->have_head = false;
    h->state = HC_WS;
    list_add(&h->srv->sockets, h);
    h->srv->nsockets++;
    conn_set_idle_timeout(h->conn, 3 * HTTP_WS_PING_SECONDS);
    timer_start(h, HTTP_WS_PING_SECONDS * 1000, true, ws_ping_cb);
    if (h->srv->handlers.stats_frame) {
        cJSON *stats = h->srv->handlers.stats_frame(h->srv->app, h->x.account);
        ws_send_json(h, stats);
        cJSON_Delete(stats);
    }
}

static void ws_process(struct http_conn *h) {
    struct evbuffer *in = conn_input(h->conn);
    while (!conn_is_closing(h->conn)) {
        size_t len = evbuffer_get_length(in);
        if (len == 0) return;
        size_t look = len < HTTP_WS_MAX_FRAME + 14 ? len : HTTP_WS_MAX_FRAME + 14;
        const unsigned char *p = evbuffer_pullup(in, (ssize_t)look);
        struct http_ws_frame f;
        struct http_parse_error err = {0, NULL};
        buf_t payload = BUF_INIT;
        size_t used = 0;
        enum http_parse_status st = http_ws_frame_parse(p, look, HTTP_WS_MAX_FRAME, &f, &payload, &used, &err);
        if (st == HTTP_PARSE_NEED_MORE) {
            buf_free(&payload);
            return;
        }
        if (st == HTTP_PARSE_ERROR) {
            buf_free(&payload);
            log_info("http[%llu] %s: WebSocket error: %s", (unsigned long long)conn_id(h->conn), conn_peer(h->conn),
                     err.reason);
            ws_close(h, err.status);
            return;
        }
        evbuffer_drain(in, used);
        switch (f.opcode) {
        case HTTP_WS_PING: ws_send(h, HTTP_WS_PONG, payload.data, payload.len); break;
        case HTTP_WS_CLOSE: {
            int code = payload.len >= 2 ? ((unsigned char)payload.data[0] << 8 | (unsigned char)payload.data[1])
                                        : HTTP_WS_CLOSE_NORMAL;
            if (code < 1000 || code >= 5000) code = HTTP_WS_CLOSE_PROTOCOL;
            ws_close(h, code);
            break;
        }
        default: break; /* the stream is one-way: client data is ignored */
        }
        buf_free(&payload);
    }
}

void http_events_send(struct http_server *srv, const char *account, cJSON *frame) {
    if (!frame) return;
    char *s = cJSON_PrintUnformatted(frame);
    cJSON_Delete(frame);
    if (!s) return;
    size_t len = strlen(s);
    struct http_conn *next;
    for (struct http_conn *h = srv->sockets; h; h = next) {
        next = h->next;
        if (account && h->x.account && strcmp(account, h->x.account) != 0) continue;
        ws_send(h, HTTP_WS_TEXT, s, len);
    }
    free(s);
}


void http_server_counts(struct http_server *srv, uint64_t *waiting, uint64_t *websockets) {
    *waiting = srv->nwaiters;
    *websockets = srv->nsockets;
}

static void stats_timer_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    struct http_server *srv = arg;
    srv->stats_pending = false;
    bool reload = srv->reload_pending;
    srv->reload_pending = false;
    struct http_conn *next;
    for (struct http_conn *h = srv->sockets; h; h = next) {
        next = h->next;
        if (reload) {
            cJSON *f = cJSON_CreateObject();
            cJSON_AddStringToObject(f, "Type", "prune");
            cJSON_AddNullToObject(f, "Data");
            ws_send_json(h, f);
            cJSON_Delete(f);
        }
        if (!srv->handlers.stats_frame) continue;
        cJSON *f = srv->handlers.stats_frame(srv->app, h->x.account);
        ws_send_json(h, f);
        cJSON_Delete(f);
    }
}

static void schedule_stats(struct http_server *srv) {
    if (srv->stats_pending || !srv->sockets) return;
    srv->stats_pending = true;
    struct timeval tv = {0, HTTP_STATS_DELAY_MS * 1000};
    evtimer_add(srv->stats_timer, &tv);
}

static void on_store_event(const struct store_event *ev, void *arg) {
    struct http_server *srv = arg;
    if (ev->type == STORE_EV_MAILBOX || ev->type == STORE_EV_SUBSCRIPTION) return;
    if (ev->type == STORE_EV_NEW) wake_waiters(srv, ev);
    if (!srv->sockets) return;
    if (ev->origin != srv) { /* its own changes: the handler sent the frames */
        cJSON *frame = srv->handlers.event_frame ? srv->handlers.event_frame(srv->app, ev) : NULL;
        if (frame) http_events_send(srv, ev->account, frame);
        /* an expunge whose ID is gone with the row, or outside changes:
         * pages reload their list */
        else if (ev->type == STORE_EV_EXPUNGE || ev->type == STORE_EV_CHANGED) srv->reload_pending = true;
    }
    schedule_stats(srv);
}

/* ---- requests ----------------------------------------------------------------- */

static bool method_matches(const char *route_method, const char *method) {
    if (!strcmp(route_method, "*") || !strcmp(route_method, method)) return true;
    return !strcmp(route_method, "GET") && !strcmp(method, "HEAD");
}

/* Find the route of req in the tables: x->route and x->params are set, or
 * x->route is NULL and allow lists the methods the path has (empty: no
 * route has the path). */
static void find_route(struct http_server *srv, struct http_ctx *x, const struct http_request *req, buf_t *allow) {
    http_params_free(&x->params);
    x->route = NULL;
    for (size_t t = 0; t < HTTP_MAX_ROUTE_TABLES; t++) {
        const struct http_route *r = srv->handlers.tables[t];
        for (; r && r->pattern; r++) {
            struct http_params p;
            if (!http_route_match(r->pattern, req->path, &p)) continue;
            if (method_matches(r->method, req->method)) {
                x->route = r;
                x->params = p;
                return;
            }
            http_params_free(&p);
            if (allow && !strstr(buf_cstr(allow), r->method)) buf_printf(allow, "%s%s", allow->len ? ", " : "", r->method);
        }
    }
}

/* Go's ServeMux (Mailpit's router) answers a path that is not clean
 * ("//view/ID.html", "/a/../b") with 301 to the cleaned path, query kept,
 * before any login. true: answered. */
static bool redirect_unclean(struct http_conn *h) {
    char *clean = http_path_clean(h->req.path);
    bool same = !strcmp(clean, h->req.path);
    if (!same) {
        buf_t loc = BUF_INIT;
        http_path_escape(clean, &loc);
        if (h->req.query && h->req.query[0]) buf_printf(&loc, "?%s", h->req.query);
        struct http_ctx *x = &h->x;
        if (!strcmp(h->req.method, "GET")) {
            buf_t body = BUF_INIT, esc = BUF_INIT;
            for (const char *c = buf_cstr(&loc); *c; c++) {
                switch (*c) {
                case '&': buf_append_str(&esc, "&amp;"); break;
                case '<': buf_append_str(&esc, "&lt;"); break;
                case '>': buf_append_str(&esc, "&gt;"); break;
                case '"': buf_append_str(&esc, "&#34;"); break;
                case '\'': buf_append_str(&esc, "&#39;"); break;
                default: buf_append_char(&esc, *c);
                }
            }
            buf_printf(&body, "<a href=\"%s\">Moved Permanently</a>.\n\n", buf_cstr(&esc));
            http_reply(x, 301, "text/html; charset=utf-8", body.data, body.len);
            buf_free(&body);
            buf_free(&esc);
        } else {
            http_reply(x, 301, !strcmp(h->req.method, "HEAD") ? "text/html; charset=utf-8" : NULL, NULL, 0);
        }
        http_add_header(x, "Location: %s", buf_cstr(&loc));
        buf_free(&loc);
        if (h->req.content_length > 0) {
            /* its body is never read */
            h->keep_alive = true;
            http_add_header(x, "Connection: close");
            send_response(h);
            h->keep_alive = false;
            h->state = HC_LINGER;
            struct evbuffer *in = conn_input(h->conn);
            evbuffer_drain(in, evbuffer_get_length(in));
            timer_start(h, HTTP_LINGER_MS, false, linger_done_cb);
        } else {
            send_response(h);
        }
    }
    free(clean);
    return !same;
}

static void route(struct http_conn *h) {
    struct http_server *srv = h->srv;
    struct http_ctx *x = &h->x;
    struct http_request *req = &h->req;
    x->req = req;
    x->waited = false;
    /* x->account: set by authenticate() when the head arrived */
    if (is_preflight(req)) {
        /* a CORS preflight: answered before authentication (browsers send
         * none with it); granted only to http_cors_origins */
        struct http_guard g;
        guard_of(srv, &g);
        if (!http_guard_cors_allowed(&g, http_request_header(req, "Origin"))) {
            http_reply_text(x, 403, "CORS is not enabled for this origin (see http_cors_origins)");
        } else {
            http_reply(x, 204, NULL, NULL, 0);
            http_add_header(x, "Access-Control-Allow-Methods: GET, HEAD, POST, PUT, DELETE, PATCH");
            http_add_header(x, "Access-Control-Allow-Headers: Authorization, Content-Type");
            http_add_header(x, "Access-Control-Max-Age: 600");
        }
        send_response(h);
        return;
    }
    buf_t allow = BUF_INIT;
    find_route(srv, x, req, &allow);
    const struct http_route *r = x->route;
    if (h->setup_only && !(r && r->auth == HTTP_AUTH_PUBLIC)) {
        buf_free(&allow);
        http_reply_text(x, 404, "this listener serves only mail-client setup (autoconfig_listen)");
        send_response(h);
        return;
    }
    if (r && r->events) {
        buf_free(&allow);
        ws_upgrade(h);
        return;
    }
    if (r && r->auth == HTTP_AUTH_ADMIN && !http_ctx_is_admin(x)) {
        http_reply_text(x, 403, "server-wide figures: this login is not in http_admin_users");
    } else if (r) {
        r->handle(x);
        if (h->state != HC_READ) {
            buf_free(&allow);
            return; /* answered later */
        }
    } else if (allow.len) {
        http_reply_text(x, 405, "method not allowed");
        http_add_header(x, "Allow: %s", buf_cstr(&allow));
    } else {
        bool get = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD");
        if (!get || !serve_asset(h)) http_reply_text(x, 404, "not found");
    }
    buf_free(&allow);
    send_response(h);
}

static void store_ready_cb(void *arg);

/* The API and message views read the index; the page, health checks and
 * metrics do not wait for start-up indexing. */
static bool needs_index(const char *path) {
    return (!strncmp(path, "/api/v1/", 8) && strcmp(path, "/api/v1/webui") != 0) || !strncmp(path, "/view/", 6);
}

static void process_input(struct http_conn *h) {
    struct evbuffer *in = conn_input(h->conn);
    while (!conn_is_closing(h->conn) && h->state == HC_READ) {
        size_t len = evbuffer_get_length(in);
        if (!h->have_head) {
            if (len == 0) return;
            /* responses the client has not read (pipelined downloads): no
             * further request until it reads them */
            if (conn_output_full(h->conn)) return;
            size_t look = len < HTTP_MAX_HEAD_BYTES ? len : HTTP_MAX_HEAD_BYTES;
            const char *p = (const char *)evbuffer_pullup(in, (ssize_t)look);
            struct http_parse_error err = {0, NULL};
            enum http_parse_status st = http_parse_head(p, look, &h->req, &err);
            if (st == HTTP_PARSE_NEED_MORE) return;
            if (st == HTTP_PARSE_ERROR) {
                send_error_close(h, err.status, err.reason);
                return;
            }
            h->have_head = true;
            h->keep_alive = http_request_keep_alive(&h->req);
            h->head_only = !strcmp(h->req.method, "HEAD");
            if (h->req.content_length > h->srv->app->cfg->http_max_body_size) {
                send_error_close(h, 413, "request body too large (http_max_body_size)");
                return;
            }
            /* who may ask, judged on the head: a refused body is never read */
            struct http_guard g;
            guard_of(h->srv, &g);
            const char *why = NULL;
            find_route(h->srv, &h->x, &h->req, NULL);
            bool ws = h->x.route && h->x.route->events &&
                      http_header_has_token(http_request_header(&h->req, "Upgrade"), "websocket");
            bool public = h->x.route && h->x.route->auth == HTTP_AUTH_PUBLIC;
            int refuse = http_guard_check(&g, &h->req, ws, public, &why);
            if (refuse) {
                const char *origin = http_request_header(&h->req, "Origin");
                log_warn("http[%llu] %s: %s %s refused (%d): Host %s, Origin %s", (unsigned long long)conn_id(h->conn),
                         conn_peer(h->conn), h->req.method, h->req.path, refuse,
                         http_request_header(&h->req, "Host") ? http_request_header(&h->req, "Host") : "-",
                         origin ? origin : "-");
                send_error_close(h, refuse, why);
                return;
            }
            evbuffer_drain(in, h->req.head_len);
            if (redirect_unclean(h)) continue;
            if (!authenticate(h)) continue;
            const char *expect = http_request_header(&h->req, "Expect");
            if (expect && !strcasecmp(expect, "100-continue") && h->req.content_length > 0 &&
                evbuffer_get_length(in) == 0)
                conn_write_str(h->conn, "HTTP/1.1 100 Continue\r\n\r\n");
            continue;
        }
        size_t need = (size_t)h->req.content_length;
        if (len < need) return;
        if (need) {
            h->req.body = xmalloc(need + 1);
            evbuffer_remove(in, h->req.body, need);
            h->req.body[need] = '\0';
            h->req.body_len = need;
        }
        h->srv->app->stats.http_requests++;
        if (needs_index(h->req.path) && !store_when_ready(h->srv->app->store, h->x.account, "INBOX", store_ready_cb, h)) {
            h->state = HC_INDEX;
            return;
        }
        route(h);
    }
}

/* The mail the held request asks for is indexed now. */
static void store_ready_cb(void *arg) {
    struct http_conn *h = arg;
    struct conn *c = h->conn;
    conn_ref(c);
    h->state = HC_READ;
    route(h);
    if (h->state == HC_READ && !conn_is_closing(c)) process_input(h);
    conn_unref(c);
}

/* ---- connection handler --------------------------------------------------------- */

static void *http_on_open(struct conn *c, void *arg) {
    struct http_server *srv = arg;
    struct http_conn *h = xcalloc(1, sizeof *h);
    h->srv = srv;
    h->conn = c;
    h->x.app = srv->app;
    h->x.srv = srv;
    h->state = HC_READ;
    conn_set_idle_timeout(c, HTTP_IDLE_TIMEOUT);
    if (srv->app->cfg->verbose) log_info("http[%llu] %s: connect", (unsigned long long)conn_id(c), conn_peer(c));
    return h;
}

static void http_on_input(struct conn *c, void *proto) {
    struct http_conn *h = proto;
    if (h->state == HC_WS) {
        ws_process(h);
        return;
    }
    if (h->state == HC_READ) {
        process_input(h);
        /* a body is left in the buffer until complete; before its first
         * byte the buffer is empty, so say that one is expected */
        if (!conn_is_closing(c)) {
            conn_set_receiving(c, h->state == HC_READ && h->have_head && h->req.content_length > 0);
            conn_set_input_held(c, h->state != HC_READ);
        }
        return;
    }
    if (h->state == HC_LINGER) {
        evbuffer_drain(conn_input(c), evbuffer_get_length(conn_input(c)));
        return;
    }
    /* held: keep the next request buffered, but not without bound */
    conn_set_input_held(c, true);
    if (evbuffer_get_length(conn_input(c)) > HTTP_MAX_HEAD_BYTES + (size_t)h->srv->app->cfg->http_max_body_size)
        conn_close(c);
}

static void http_on_timeout(struct conn *c, void *proto) {
    struct http_conn *h = proto;
    switch (h->state) {
    case HC_WAIT:
        h->keep_alive = false;
        wait_finish(h);
        break;
    case HC_BUSY: break; /* the answer comes with the commit */
    case HC_WS: ws_close(h, HTTP_WS_CLOSE_GOING_AWAY); break;
    case HC_INDEX:
        store_when_ready_cancel(h->srv->app->store, store_ready_cb, h);
        h->state = HC_READ;
        h->keep_alive = false;
        http_reply_text(&h->x, 503, "the mail store is still being indexed after start; retry shortly");
        http_add_header(&h->x, "Retry-After: 5");
        send_response(h);
        break;
    case HC_READ:
        if (h->have_head || evbuffer_get_length(conn_input(c)) > 0) {
            /* a request that did not arrive in time (RFC 9110 15.5.9) */
            h->keep_alive = false;
            http_reply_text(&h->x, 408, "request not received in time");
            http_add_header(&h->x, "Connection: close");
            send_response(h);
            break;
        }
        conn_close(c);
        break;
    default: conn_close(c); break;
    }
}

static void http_on_close(struct conn *c, void *proto) {
    struct http_conn *h = proto;
    if (!h) return;
    if (h->srv->app->cfg->verbose)
        log_info("http[%llu] %s: disconnect", (unsigned long long)conn_id(c), conn_peer(c));
    if (h->state == HC_WAIT) {
        list_remove(&h->srv->waiters, h);
        h->srv->nwaiters--;
        wait_state_drop(&h->x);
    } else if (h->state == HC_WS) {
        list_remove(&h->srv->sockets, h);
        h->srv->nsockets--;
    }
    timer_stop(h);
    if (h->state == HC_INDEX) store_when_ready_cancel(h->srv->app->store, store_ready_cb, h);
    if (h->state == HC_BUSY) {
        h->orphaned = true; /* http_complete frees it */
        return;
    }
    conn_state_free(h);
}

static const struct conn_handler http_conn_handler = {
    .proto = "http",
    .busy_reply = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 21\r\nConnection: close\r\n\r\ntoo many connections\n",
    .on_open = http_on_open,
    .on_input = http_on_input,
    .on_timeout = http_on_timeout,
    .on_close = http_on_close,
};

static void *http_on_open_setup(struct conn *c, void *arg) {
    struct http_conn *h = http_on_open(c, arg);
    h->setup_only = true;
    return h;
}

/* autoconfig_listen and autoconfig_tls_listen: the same server, answering
 * only the routes that are HTTP_AUTH_PUBLIC (autoconfig.h) */
static const struct conn_handler http_setup_conn_handler = {
    .proto = "http",
    .busy_reply = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 21\r\nConnection: close\r\n\r\ntoo many connections\n",
    .on_open = http_on_open_setup,
    .on_input = http_on_input,
    .on_timeout = http_on_timeout,
    .on_close = http_on_close,
};

/* Process exit: the server lives as long as the process; free it so leak
 * checkers see every allocation returned (main.c has no stop hook). */
void http_server_stop(void) {
    struct http_server *srv = http_server_instance;
    if (!srv) return;
    http_server_instance = NULL;
    if (srv->stats_timer) event_free(srv->stats_timer);
    if (srv->wake_timer) event_free(srv->wake_timer);
    store_unsubscribe(srv->app->store, on_store_event, srv);
    api_query_watch_on_hit(srv->app->store, NULL, NULL);
    if (srv->has_passdb) passdb_free(&srv->passdb);
    free(srv);
}

/* SIGHUP: http_passdb is read again (prepare), and takes over with the
 * rest of the configuration (commit); logins cached on open connections
 * are checked again, against the accounts as they are now. */
static int reload_prepare(void *arg, const struct config *fresh, buf_t *err) {
    struct http_server *srv = arg;
    srv->pending_has_passdb = false;
    if (fresh->http_passdb && fresh->http_passdb[0]) {
        if (passdb_load(&srv->pending_passdb, fresh->http_passdb, err) < 0) return -1;
        srv->pending_has_passdb = true;
    }
    return 0;
}

static void reload_commit(void *arg) {
    struct http_server *srv = arg;
    if (srv->has_passdb) passdb_free(&srv->passdb);
    srv->passdb = srv->pending_passdb;
    srv->has_passdb = srv->pending_has_passdb;
    srv->pending_has_passdb = false;
    memset(&srv->pending_passdb, 0, sizeof srv->pending_passdb);
    srv->auth_generation++;
}

static void reload_discard(void *arg) {
    struct http_server *srv = arg;
    if (srv->pending_has_passdb) passdb_free(&srv->pending_passdb);
    srv->pending_has_passdb = false;
}

int http_server_start(struct app *app, const struct http_handlers *handlers, buf_t *err) {
    if (app->cfg->http_listen.n == 0 && app->cfg->https_listen.n == 0 && app->cfg->autoconfig_listen.n == 0 &&
        app->cfg->autoconfig_tls_listen.n == 0)
        return 0;
    struct http_server *srv = xcalloc(1, sizeof *srv);
    srv->app = app;
    srv->handlers = *handlers;
    if (app->cfg->http_passdb && app->cfg->http_passdb[0]) {
        if (passdb_load(&srv->passdb, app->cfg->http_passdb, err) < 0) {
            free(srv);
            return -1;
        }
        srv->has_passdb = true;
    }
    for (size_t i = 0; i < app->cfg->http_listen.n; i++) {
        if (net_listen(app->net, app->cfg->http_listen.v[i], false, &http_conn_handler, srv, err) < 0) {
            if (srv->has_passdb) passdb_free(&srv->passdb);
            free(srv);
            return -1;
        }
    }
    for (size_t i = 0; i < app->cfg->https_listen.n; i++) {
        if (net_listen(app->net, app->cfg->https_listen.v[i], true, &http_conn_handler, srv, err) < 0) {
            if (srv->has_passdb) passdb_free(&srv->passdb);
            free(srv);
            return -1;
        }
    }
    for (int tls = 0; tls <= 1; tls++) {
        const struct strlist *l = tls ? &app->cfg->autoconfig_tls_listen : &app->cfg->autoconfig_listen;
        for (size_t i = 0; i < l->n; i++) {
            if (net_listen(app->net, l->v[i], tls, &http_setup_conn_handler, srv, err) < 0) {
                if (srv->has_passdb) passdb_free(&srv->passdb);
                free(srv);
                return -1;
            }
        }
    }
    srv->stats_timer = evtimer_new(app->base, stats_timer_cb, srv);
    store_subscribe(app->store, on_store_event, srv);
    api_query_watch_on_hit(app->store, watch_hit_cb, srv);
    app_add_reloader(app, &(struct app_reloader){"http_passdb", reload_prepare, reload_commit, reload_discard, srv});
    http_server_instance = srv;
    return 0;
}
