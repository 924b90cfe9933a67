/*
 * http_server - the HTTP listener: connections, request framing (with
 * http_parser), keep-alive, basic auth and the per-account view, the
 * embedded page (web_assets) with ETag revalidation, the WebSocket event
 * stream /api/events, and the plumbing the API uses to answer later
 * (long-poll waits woken by the store, asynchronous deliveries).
 *
 * Routes of the JSON API live in http_api.c; the interface between the
 * two is struct http_ctx below: the API reads the request and account
 * from it and writes the answer into it.
 */
#ifndef DEVMAIL_HTTP_SERVER_H
#define DEVMAIL_HTTP_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "app/app.h"
#include "core/buf.h"
#include "http/http_parser.h"

/* Largest request body (POST /api/v1/send with base64 attachments). */
#define HTTP_MAX_BODY_BYTES (32 * 1024 * 1024)
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

/* One request being answered. */
struct http_ctx {
    struct app *app;
    struct http_server *srv;
    struct http_request *req;
    const char *account; /* logged-in account; NULL: every account is visible */
    bool waited;         /* the wait is over: answer as without ?wait= */
    /* the answer */
    int status;
    buf_t content_type;
    buf_t headers;       /* extra "Name: value\r\n" lines */
    buf_t body;
};

/* Start listening on every cfg->http_listen address. 0, or -1 with err. */
int http_server_start(struct app *app, buf_t *err);
/* Free the server's state once its connections are gone (after the loop). */
void http_server_stop(void);

/* --- for http_api ------------------------------------------------------- */

void http_reply(struct http_ctx *x, int status, const char *content_type, const void *body, size_t len);
/* text/plain; charset=utf-8 */
void http_reply_text(struct http_ctx *x, int status, const char *text);
/* application/json; takes ownership of json */
void http_reply_json(struct http_ctx *x, int status, cJSON *json);
void http_add_header(struct http_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hold the request until the store announces a message for which
 * http_api_wait_match() is true, or ms pass; then http_api_handle() runs
 * again with x->waited set. Call instead of answering. */
void http_defer_wait(struct http_ctx *x, int64_t ms);
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
/* While quiet, store changes are not turned into per-message frames
 * (bulk API operations send one frame of their own instead). */
void http_events_quiet(struct http_server *srv, bool quiet);
/* Number of requests waiting (?wait=) and WebSocket streams open now. */
void http_server_counts(struct http_server *srv, uint64_t *waiting, uint64_t *websockets);

#endif
