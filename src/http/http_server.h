/*
 * http_server - the HTTP listener: connections, request framing (with
 * http_parser), keep-alive, basic auth and the per-account view, the
 * embedded page (web_assets) with ETag revalidation, the WebSocket event
 * stream /api/events, and the plumbing the API uses to answer later
 * (long-poll waits woken by the store, asynchronous deliveries).
 *
 * The server knows no route by name: it is given tables of routes
 * (struct http_route: method, path pattern, handler, who may call it) and
 * the frames of the event stream (struct http_handlers). A handler reads
 * the request, its path parameters and the account from struct http_ctx
 * and writes the answer into it.
 */
#ifndef DEVMAIL_HTTP_SERVER_H
#define DEVMAIL_HTTP_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "app/app.h"
#include "core/buf.h"
#include "http/http_parser.h"
#include "http/http_router.h"

/* Seconds a keep-alive connection may sit idle between requests. */
#define HTTP_IDLE_TIMEOUT 60
/* Longest ?wait= a request may ask for, in seconds. */
#define HTTP_MAX_WAIT_SECONDS 300
/* Largest WebSocket frame accepted from a client (it sends only control frames). */
#define HTTP_WS_MAX_FRAME (64 * 1024)
/* Seconds between server pings on an idle WebSocket; the read timeout is three times this. */
#define HTTP_WS_PING_SECONDS 30
/* Output a slow WebSocket reader may fall behind by before it is dropped. */
#define HTTP_WS_MAX_PENDING (8 * 1024 * 1024)
/* Milliseconds over which "stats" frames are coalesced. */
#define HTTP_STATS_DELAY_MS 200

struct http_server;
struct http_ctx;

/* Who may call a route when HTTP logins are on (http_passdb or passdb). */
enum http_auth {
    HTTP_AUTH_LOGIN, /* any login (the default) */
    HTTP_AUTH_NONE,  /* no login asked (health checks) */
    HTTP_AUTH_ADMIN, /* a login named in http_admin_users; others get 403 */
    /* anyone, under any Host name and from any Origin, without effects
     * (mail-client setup): no login asked, and the only routes a
     * setup-only listener (autoconfig_listen) serves */
    HTTP_AUTH_PUBLIC,
};

/* One row of a route table; a table ends with a row whose pattern is NULL. */
struct http_route {
    const char *method;  /* "GET" (answers HEAD too), "POST", "PUT", "DELETE"; "*": any */
    const char *pattern; /* "/api/v1/message/{ID}/part/{PartID}", "~/any/Case" (http_router.h) */
    void (*handle)(struct http_ctx *x); /* NULL with events */
    enum http_auth auth;
    bool events;         /* the WebSocket event stream: the server upgrades it */
    /* For a handler that calls http_defer_wait(): does a new message with
     * a row id in (after, upto] satisfy the held request? */
    bool (*wait_match)(struct http_ctx *x, int64_t after, int64_t upto);
};

/* Most route tables the server is given. */
#define HTTP_MAX_ROUTE_TABLES 8

/* What the server serves besides its embedded page. */
struct http_handlers {
    /* searched in order, first match wins; unused slots are NULL */
    const struct http_route *tables[HTTP_MAX_ROUTE_TABLES];
    /* the first frame of an event stream, and the one sent after changes
     * (coalesced); NULL to send none */
    cJSON *(*stats_frame)(struct app *app, const char *account);
    /* the frame for one store change, or NULL when none is shown */
    cJSON *(*event_frame)(struct app *app, const struct store_event *ev);
};

/* One request being answered. */
struct http_ctx {
    struct app *app;
    struct http_server *srv;
    struct http_request *req;
    const struct http_route *route; /* the route that matched */
    struct http_params params;      /* its {name} values */
    const char *account; /* logged-in account; NULL: every account is visible */
    bool waited;         /* the wait is over: answer as without ?wait= */
    /* what wait_match keeps between rounds (e.g. its compiled search),
     * freed with wait_state_free when the wait ends */
    void *wait_state;
    void (*wait_state_free)(void *state);
    /* the answer */
    int status;
    buf_t content_type;
    buf_t headers;       /* extra "Name: value\r\n" lines */
    buf_t body;
};

/* Start listening on every cfg->http_listen address, serving handlers
 * (copied; the tables must live as long as the process). 0, or -1 with err. */
int http_server_start(struct app *app, const struct http_handlers *handlers, buf_t *err);
/* Free the server's state once its connections are gone (after the loop). */
void http_server_stop(void);

/* --- for handlers --------------------------------------------------------- */

/* The client's address ("127.0.0.1", "::1"). */
const char *http_peer(const struct http_ctx *x);
/* The value of path parameter {name} of the matched route, or NULL. */
const char *http_param(const struct http_ctx *x, const char *name);
/* May this request see server-wide figures? (Everyone without HTTP logins;
 * with them, the logins in http_admin_users.) */
bool http_ctx_is_admin(const struct http_ctx *x);

void http_reply(struct http_ctx *x, int status, const char *content_type, const void *body, size_t len);
/* text/plain; charset=utf-8 */
void http_reply_text(struct http_ctx *x, int status, const char *text);
/* application/json; takes ownership of json */
void http_reply_json(struct http_ctx *x, int status, cJSON *json);
void http_add_header(struct http_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hold the request until the store announces a message for which the
 * route's wait_match() is true, or ms pass; then the handler runs again
 * with x->waited set. Call instead of answering. */
void http_defer_wait(struct http_ctx *x, int64_t ms);
/* The same, keeping state for wait_match (x->wait_state) until the wait
 * ends; state_free(state) is called then, or at once when the wait is
 * refused. */
void http_defer_wait_state(struct http_ctx *x, int64_t ms, void *state, void (*state_free)(void *state));
/* The handler will answer later (asynchronous work): it must then call
 * http_complete(x) exactly once. Returns an opaque token to hand back. */
void *http_defer_async(struct http_ctx *x);
/* Finish a deferred answer; x may belong to a connection that closed
 * meanwhile (then it is only freed). Returns false in that case. */
bool http_complete(void *token);
/* Answer of a deferred request, for http_complete callers. */
struct http_ctx *http_token_ctx(void *token);
/* Broadcast a WebSocket frame to the event streams that can see account
 * (NULL: all). Takes ownership of frame. */
void http_events_send(struct http_server *srv, const char *account, cJSON *frame);
/* Number of requests waiting (?wait=) and WebSocket streams open now. */
void http_server_counts(struct http_server *srv, uint64_t *waiting, uint64_t *websockets);

#endif
