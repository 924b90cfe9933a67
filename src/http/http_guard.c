/* http_guard: see http_guard.h. */
#include "http/http_guard.h"


#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

/* Longest host name or origin considered; longer ones are refused. */
#define GUARD_MAX_NAME 255

static bool eq_ci(const char *a, size_t al, const char *b) {
    return strlen(b) == al && strncasecmp(a, b, al) == 0;
}

/* name ends with ".suffix" (suffix without its dot), case-insensitive */
static bool has_subdomain_of(const char *name, size_t nl, const char *suffix, size_t sl) {
    return nl > sl + 1 && name[nl - sl - 1] == '.' && strncasecmp(name + nl - sl, suffix, sl) == 0;
}

/* Split "host[:port]" / "[v6][:port]": the name part (brackets kept off),
 * false when malformed. */
static bool host_name(const char *authority, size_t len, const char **name, size_t *nl, bool *ip_literal) {
    *ip_literal = false;
    if (len == 0 || len > GUARD_MAX_NAME) return false;
    if (authority[0] == '[') {
        const char *end = memchr(authority, ']', len);
        if (!end) return false;
        size_t rest = len - (size_t)(end + 1 - authority);
        if (rest && end[1] != ':') return false;
        *name = authority + 1;
        *nl = (size_t)(end - authority - 1);
        char tmp[GUARD_MAX_NAME + 1];
        memcpy(tmp, *name, *nl);
        tmp[*nl] = '\0';
        struct in6_addr a6;
        *ip_literal = inet_pton(AF_INET6, tmp, &a6) == 1;
        return *ip_literal;
    }
    const char *colon = memchr(authority, ':', len);
    *name = authority;
    *nl = colon ? (size_t)(colon - authority) : len;
    for (size_t i = colon ? *nl + 1 : len; i < len; i++)
        if (authority[i] < '0' || authority[i] > '9') return false;
    if (*nl == 0) return false;
    if ((*name)[*nl - 1] == '.') (*nl)--; /* "localhost." */
    if (*nl == 0) return false;
    char tmp[GUARD_MAX_NAME + 1];
    memcpy(tmp, *name, *nl);
    tmp[*nl] = '\0';
    struct in_addr a4;
    *ip_literal = inet_pton(AF_INET, tmp, &a4) == 1;
    return true;
}

bool http_guard_host_ok(const struct http_guard *g, const char *host_header) {
    if (!host_header) return true; /* HTTP/1.0 without Host: not a browser */
    const char *name;
    size_t nl;
    bool ip;
    if (!host_name(host_header, strlen(host_header), &name, &nl, &ip)) return false;
    /* an address is the server itself: a rebound name never looks like one */
    if (ip) return true;
    if (eq_ci(name, nl, "localhost") || has_subdomain_of(name, nl, "localhost", 9)) return true;
    if (g->hostname && *g->hostname && eq_ci(name, nl, g->hostname)) return true;
    for (size_t i = 0; i < g->nallowed_hosts; i++) {
        const char *a = g->allowed_hosts[i];
        if (!strcmp(a, "*")) return true;
        if (a[0] == '*' && a[1] == '.') {
            if (has_subdomain_of(name, nl, a + 2, strlen(a + 2))) return true;
        } else if (a[0] == '.') {
            if (has_subdomain_of(name, nl, a + 1, strlen(a + 1)) || eq_ci(name, nl, a + 1)) return true;
        } else if (eq_ci(name, nl, a)) {
            return true;
        }
    }
    return false;
}

/* The authority of "scheme://authority[/...]" and whether it is https;
 * false when s is not such a URL. */
static bool url_authority(const char *s, const char **auth, size_t *al, bool *https) {
    const char *p = strstr(s, "://");
    if (!p) return false;
    size_t sl = (size_t)(p - s);
    if (eq_ci(s, sl, "https")) *https = true;
    else if (eq_ci(s, sl, "http")) *https = false;
    else return false;
    *auth = p + 3;
    *al = strcspn(*auth, "/?#");
    return *al > 0 && *al <= GUARD_MAX_NAME;
}

/* Authorities equal, a default port (":80" for http, ":443" for https)
 * being the same as none. */
static bool same_authority(const char *a, size_t al, const char *b, size_t bl, bool https) {
    const char *dflt = https ? ":443" : ":80";
    size_t dl = strlen(dflt);
    if (al > dl && !strncmp(a + al - dl, dflt, dl)) al -= dl;
    if (bl > dl && !strncmp(b + bl - dl, dflt, dl)) bl -= dl;
    return al == bl && strncasecmp(a, b, al) == 0;
}

bool http_guard_cors_allowed(const struct http_guard *g, const char *origin) {
    if (!origin || !strcmp(origin, "null")) return false;
    size_t ol = strlen(origin);
    while (ol && origin[ol - 1] == '/') ol--;
    for (size_t i = 0; i < g->ncors_origins; i++) {
        const char *c = g->cors_origins[i];
        if (!strcmp(c, "*")) return true;
        size_t cl = strlen(c);
        while (cl && c[cl - 1] == '/') cl--;
        if (cl == ol && strncasecmp(c, origin, ol) == 0) return true;
    }
    return false;
}

/* A URL's origin (Origin header, or a Referer) is this server or allowed. */
static bool url_allowed(const struct http_guard *g, const char *url, const char *host) {
    const char *auth;
    size_t al;
    bool https;
    if (!url_authority(url, &auth, &al, &https)) return false;
    if (host && same_authority(auth, al, host, strlen(host), https)) return true;
    /* the origin part of the URL, for the allow-list */
    size_t olen = (size_t)(auth + al - url);
    char origin[GUARD_MAX_NAME + 16];
    if (olen >= sizeof origin) return false;
    memcpy(origin, url, olen);
    origin[olen] = '\0';
    return http_guard_cors_allowed(g, origin);
}

static bool method_safe(const char *m) {
    return !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "OPTIONS");
}

/* Content-Type's media type is application/json (parameters allowed). */
static bool is_json(const char *ct) {
    if (!ct) return false;
    size_t n = strcspn(ct, ";");
    while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t')) n--;
    return eq_ci(ct, n, "application/json");
}

int http_guard_check(const struct http_guard *g, const struct http_request *req, bool websocket, bool public,
                     const char **reason) {
    const char *host = http_request_header(req, "Host");
    const char *origin = http_request_header(req, "Origin");
    const char *referer = http_request_header(req, "Referer");
    const char *site = http_request_header(req, "Sec-Fetch-Site");
    const char *ua = http_request_header(req, "User-Agent");
    /* DNS rebinding needs a browser; other clients (curl, an app's test
     * code, a container reaching "devmail:8025") may use any name */
    bool browser = origin || referer || site || (ua && !strncmp(ua, "Mozilla/", 8));
    /* mail-client setup: asked under autoconfig.<domain> and the like by
     * clients with a Mozilla/ User-Agent (Thunderbird), public, and
     * without effects (autodiscover's POST only reads its body) */
    if (public) return 0;
    if (browser && !http_guard_host_ok(g, host)) {
        *reason = "unknown Host: this server answers to localhost, its hostname, its addresses and "
                  "http_allowed_hosts";
        return 421;
    }
    bool api = !strncmp(req->path, "/api/", 5);
    bool unsafe = websocket || !method_safe(req->method);
    const char *mode = http_request_header(req, "Sec-Fetch-Mode");
    bool foreign_site = site && (!strcasecmp(site, "cross-site") || !strcasecmp(site, "same-site"));
    /* the one read that changes something: a message's summary marks it
     * read (as Mailpit). Parts, raw and lists are only shown. */
    bool marks_read = !strncmp(req->path, "/api/v1/message/", 16) && req->path[16] && !strchr(req->path + 16, '/');
    bool foreign_read = marks_read && !unsafe && foreign_site && !(mode && !strcasecmp(mode, "navigate"));
    if (unsafe || foreign_read) {
        bool ok;
        if (origin) ok = url_allowed(g, origin, host);
        else if (site) ok = !foreign_site;
        else if (referer) ok = url_allowed(g, referer, host);
        else ok = true; /* no browser page behind it */
        if (!ok) {
            *reason = "cross-origin request refused (see http_cors_origins)";
            return 403;
        }
    }
    if (api && !method_safe(req->method) && req->content_length > 0 &&
        !is_json(http_request_header(req, "Content-Type"))) {
        *reason = "Content-Type must be application/json";
        return 415;
    }
    return 0;
}
