/*
 * http_router - route patterns and path cleaning, pure (no sockets, no
 * server state).
 *
 * A route pattern is a path of segments separated by "/". A segment is
 * literal text, or has one {name} parameter with optional literal text
 * around it ("{ID}.html"), which matches a non-empty part of one segment;
 * a last segment {name...} matches the non-empty rest of the path,
 * slashes included. Matching is exact and case-sensitive otherwise; a
 * pattern "~/literal/path" (no parameters) matches that path in any
 * letter case (Outlook asks for /Autodiscover/Autodiscover.xml, others
 * for /autodiscover/autodiscover.xml).
 *
 * http_path_clean() is what Go's net/http ServeMux (which Mailpit uses)
 * does before routing: doubled slashes, "." and ".." segments go, a
 * trailing slash stays; a request whose path changes is redirected there.
 */
#ifndef DEVMAIL_HTTP_ROUTER_H
#define DEVMAIL_HTTP_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

/* Most {name} parameters in one pattern. */
#define HTTP_ROUTE_MAX_PARAMS 4

struct http_param {
    const char *name; /* points into the pattern, name_len bytes */
    size_t name_len;
    char *value;      /* owned */
};

struct http_params {
    struct http_param v[HTTP_ROUTE_MAX_PARAMS];
    size_t n;
};

/* Does path match pattern? true: p holds the parameters (free them with
 * http_params_free). false: p is empty. */
bool http_route_match(const char *pattern, const char *path, struct http_params *p);
/* Value of parameter name, or NULL; valid until http_params_free. */
const char *http_params_get(const struct http_params *p, const char *name);
void http_params_free(struct http_params *p);

/* The canonical form of an absolute path (Go's cleanPath): "" and paths
 * not starting with "/" are returned unchanged. Caller frees. */
char *http_path_clean(const char *path);
/* Append path percent-encoded as a URL path (Go's url.PathEscape rules for
 * paths: unreserved characters, "/" and "$&+,:;=@" stay as they are). */
void http_path_escape(const char *path, buf_t *out);

#endif
