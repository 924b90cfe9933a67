/*
 * http_guard - which web pages may talk to the web page and JSON API.
 *
 * A browser sends requests to 127.0.0.1:8025 for any page it shows, so
 * the server itself must refuse what another site asks for:
 *
 *   - Host: a browser (a request with Origin, Referer, Sec-Fetch-Site or
 *     a Mozilla/ User-Agent) must use one of the server's own names
 *     (localhost, *.localhost, the configured hostname, any IP address,
 *     http_allowed_hosts). A DNS-rebound name ("attacker.example"
 *     resolving to 127.0.0.1) gets 421, before authentication. Other
 *     clients may use any name (a container calling "devmail:8025").
 *   - A state-changing request (POST, PUT, DELETE, PATCH) or a WebSocket
 *     upgrade must come from the server's own origin or an allowed one
 *     (http_cors_origins): judged by Origin, else by Sec-Fetch-Site, else
 *     by Referer. A request with none of them is not from a browser page
 *     and passes (curl, scripts). Otherwise 403.
 *   - GET /api/v1/message/{ID} marks the message read, so another
 *     site's non-navigation request for it (Sec-Fetch-Site cross-site /
 *     same-site, e.g. an <img>) is refused too. Other reads (parts shown
 *     in the sandboxed mail frame, whose origin is opaque) pass.
 *   - An API request with a body must say Content-Type: application/json
 *     (415): an HTML form cannot send that without CORS's preflight.
 *
 * The mail-client setup routes (autoconfig.h) pass every check: clients
 * ask them as autoconfig.<domain> with a Mozilla/ User-Agent before they
 * have an account, and they are public, read-only and hold no secret.
 *
 * CORS is off unless http_cors_origins lists origins ("*": any); then
 * those origins get Access-Control-Allow-Origin and a preflight answer.
 *
 * Pure functions over a parsed request; no I/O.
 */
#ifndef DEVMAIL_HTTP_GUARD_H
#define DEVMAIL_HTTP_GUARD_H

#include <stdbool.h>
#include <stddef.h>

#include "http/http_parser.h"

struct http_guard {
    const char *hostname;              /* configured hostname (may be NULL) */
    const char *const *allowed_hosts;  /* extra Host names; "*" allows any */
    size_t nallowed_hosts;
    const char *const *cors_origins;   /* scheme://host[:port]; "*" any */
    size_t ncors_origins;
};

/* Is the Host header's name one the server answers to? (Without a Host
 * header, HTTP/1.0: yes.) */
bool http_guard_host_ok(const struct http_guard *g, const char *host_header);

/* Is origin ("scheme://host[:port]") listed in http_cors_origins? */
bool http_guard_cors_allowed(const struct http_guard *g, const char *origin);

/* Check one request. Returns 0 to go on, or the status to answer (421,
 * 403, 415) with a static reason. websocket: the request asks for an
 * upgrade; public: its route is public (HTTP_AUTH_PUBLIC: mail-client
 * setup, asked under autoconfig.<domain> and the like, without effects),
 * which any Host and any Origin may ask. */
int http_guard_check(const struct http_guard *g, const struct http_request *req, bool websocket, bool public,
                     const char **reason);

#endif
