/*
 * http_parser - pure HTTP/1.1 request parsing; see http_parser.h.
 *
 * The head is found by scanning for the empty line, copied once and cut
 * in place into NUL-terminated fields. Bare LF line ends are accepted
 * (RFC 9112 2.2 allows it); a bare CR, a NUL or obsolete line folding is
 * an error, so nothing smuggles a second header past a proxy's view.
 */
#include "http/http_parser.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xalloc.h"

/* Empty lines tolerated before the request line (RFC 9112 2.2). */
#define HTTP_MAX_LEADING_EMPTY_LINES 4

static bool is_tchar(unsigned char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int hexval(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int http_percent_decode(const char *s, size_t len, bool plus_is_space, buf_t *out) {
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= len) return -1;
            int hi = hexval((unsigned char)s[i + 1]), lo = hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0) return -1;
            buf_append_char(out, (char)(hi * 16 + lo));
            i += 2;
        } else if (c == '+' && plus_is_space) {
            buf_append_char(out, ' ');
        } else {
            buf_append_char(out, (char)c);
        }
    }
    return 0;
}

void http_request_free(struct http_request *req) {
    free(req->head);
    free(req->path);
    free(req->query);
    free(req->body);
    memset(req, 0, sizeof *req);
}

static enum http_parse_status fail(struct http_request *req, struct http_parse_error *err, int status,
                                   const char *reason) {
    http_request_free(req);
    err->status = status;
    err->reason = reason;
    return HTTP_PARSE_ERROR;
}

/* Find the end of the head: offset just past the empty line, or 0. */
static size_t find_head_end(const char *d, size_t len, size_t start) {
    for (size_t i = start; i < len; i++) {
        if (d[i] != '\n') continue;
        /* the line before this LF: empty means end of head */
        if (i + 1 < len && d[i + 1] == '\n') return i + 2;
        if (i + 2 < len && d[i + 1] == '\r' && d[i + 2] == '\n') return i + 3;
    }
    return 0;
}

/* Split the target into decoded path and raw query. */
static int split_target(struct http_request *req, struct http_parse_error *err) {
    const char *t = req->target;
    const char *p = t;
    if (t[0] == '*' && t[1] == '\0') {
        req->path = xstrdup("*");
        req->query = xstrdup("");
        return 0;
    }
    if (!strncasecmp(t, "http://", 7) || !strncasecmp(t, "https://", 8)) {
        p = strchr(t + (t[4] == ':' ? 7 : 8), '/');
        if (!p) p = "/";
    } else if (t[0] != '/') {
        err->status = 400;
        err->reason = "bad request target";
        return -1;
    }
    size_t plen = strcspn(p, "?#");
    const char *q = p[plen] == '?' ? p + plen + 1 : NULL;
    buf_t b = BUF_INIT;
    if (http_percent_decode(p, plen, false, &b) < 0 || memchr(b.data ? b.data : "", '\0', b.len)) {
        buf_free(&b);
        err->status = 400;
        err->reason = "bad percent-encoding in path";
        return -1;
    }
    if (b.len == 0) buf_append_char(&b, '/');
    req->path = buf_steal(&b);
    req->query = q ? xstrndup(q, strcspn(q, "#")) : xstrdup("");
    return 0;
}

static int parse_request_line(struct http_request *req, char *line, struct http_parse_error *err) {
    char *sp1 = strchr(line, ' ');
    if (!sp1 || sp1 == line || (size_t)(sp1 - line) > HTTP_MAX_METHOD) goto bad;
    *sp1 = '\0';
    for (char *c = line; *c; c++)
        if (!is_tchar((unsigned char)*c)) goto bad;
    char *target = sp1 + 1;
    char *sp2 = strchr(target, ' ');
    if (!sp2 || sp2 == target) goto bad;
    *sp2 = '\0';
    for (unsigned char *c = (unsigned char *)target; *c; c++)
        if (*c <= 0x20 || *c == 0x7f) goto bad;
    const char *ver = sp2 + 1;
    if (strncmp(ver, "HTTP/", 5) != 0 || !(ver[5] >= '0' && ver[5] <= '9') || ver[6] != '.' ||
        !(ver[7] >= '0' && ver[7] <= '9') || ver[8] != '\0') {
        goto bad;
    }
    if (ver[5] != '1') {
        err->status = 505;
        err->reason = "HTTP version not supported";
        return -1;
    }
    req->method = line;
    req->target = target;
    req->version_minor = ver[7] - '0';
    return split_target(req, err);
bad:
    err->status = 400;
    err->reason = "bad request line";
    return -1;
}

static int parse_header_line(struct http_request *req, char *line, struct http_parse_error *err) {
    if (line[0] == ' ' || line[0] == '\t') {
        err->status = 400;
        err->reason = "obsolete header line folding";
        return -1;
    }
    char *colon = strchr(line, ':');
    if (!colon || colon == line) goto bad;
    for (char *c = line; c < colon; c++)
        if (!is_tchar((unsigned char)*c)) goto bad;
    *colon = '\0';
    char *v = colon + 1;
    while (*v == ' ' || *v == '\t') v++;
    char *end = v + strlen(v);
    while (end > v && (end[-1] == ' ' || end[-1] == '\t')) *--end = '\0';
    for (unsigned char *c = (unsigned char *)v; *c; c++)
        if ((*c < 0x20 && *c != '\t') || *c == 0x7f) goto bad;
    if (req->nheaders >= HTTP_MAX_HEADERS) {
        err->status = 431;
        err->reason = "too many header fields";
        return -1;
    }
    req->headers[req->nheaders].name = line;
    req->headers[req->nheaders].value = v;
    req->nheaders++;
    return 0;
bad:
    err->status = 400;
    err->reason = "bad header field";
    return -1;
}

static int check_body_headers(struct http_request *req, struct http_parse_error *err) {
    bool have_cl = false;
    int64_t cl = 0;
    for (size_t i = 0; i < req->nheaders; i++) {
        const struct http_header *h = &req->headers[i];
        if (!strcasecmp(h->name, "Transfer-Encoding")) {
            err->status = 501;
            err->reason = "Transfer-Encoding in requests is not supported; send Content-Length";
            return -1;
        }
        if (strcasecmp(h->name, "Content-Length") != 0) continue;
        const char *v = h->value;
        if (!*v || strlen(v) > 18) goto bad;
        int64_t n = 0;
        for (const char *c = v; *c; c++) {
            if (*c < '0' || *c > '9') goto bad;
            n = n * 10 + (*c - '0');
        }
        if (have_cl && n != cl) goto bad;
        have_cl = true;
        cl = n;
    }
    req->content_length = cl;
    return 0;
bad:
    err->status = 400;
    err->reason = "bad Content-Length";
    return -1;
}

enum http_parse_status http_parse_head(const char *data, size_t len, struct http_request *req,
                                       struct http_parse_error *err) {
    memset(req, 0, sizeof *req);
    size_t start = 0;
    for (int i = 0; i < HTTP_MAX_LEADING_EMPTY_LINES; i++) {
        if (start < len && data[start] == '\n') start++;
        else if (start + 1 < len && data[start] == '\r' && data[start + 1] == '\n') start += 2;
        else break;
    }
    size_t look = len < HTTP_MAX_HEAD_BYTES ? len : HTTP_MAX_HEAD_BYTES;
    size_t end = find_head_end(data, look, start);
    if (end == 0) {
        if (len < HTTP_MAX_HEAD_BYTES) return HTTP_PARSE_NEED_MORE;
        if (!memchr(data + start, '\n', look - start)) return fail(req, err, 414, "request line too long");
        return fail(req, err, 431, "request header fields too large");
    }
    if (start >= end || memchr(data, '\0', end)) return fail(req, err, 400, "bad request");
    req->head_len = end;
    req->head = xmalloc(end - start + 1);
    memcpy(req->head, data + start, end - start);
    req->head[end - start] = '\0';
    /* cut into lines */
    char *p = req->head;
    bool first = true;
    while (*p) {
        char *nl = strchr(p, '\n');
        if (!nl) break;
        char *le = nl;
        if (le > p && le[-1] == '\r') le--;
        *le = '\0';
        if (memchr(p, '\r', (size_t)(le - p))) return fail(req, err, 400, "bare CR in head");
        if (le == p) break; /* the empty line */
        if (first) {
            if (parse_request_line(req, p, err) < 0) return fail(req, err, err->status, err->reason);
            first = false;
        } else if (parse_header_line(req, p, err) < 0) {
            return fail(req, err, err->status, err->reason);
        }
        p = nl + 1;
    }
    if (first) return fail(req, err, 400, "bad request line");
    if (req->version_minor >= 1 && !http_request_header(req, "Host"))
        return fail(req, err, 400, "missing Host header");
    if (check_body_headers(req, err) < 0) return fail(req, err, err->status, err->reason);
    return HTTP_PARSE_DONE;
}

enum http_parse_status http_parse_request(const char *data, size_t len, size_t max_body, struct http_request *req,
                                          size_t *consumed, struct http_parse_error *err) {
    enum http_parse_status st = http_parse_head(data, len, req, err);
    if (st != HTTP_PARSE_DONE) return st;
    if ((uint64_t)req->content_length > (uint64_t)max_body) return fail(req, err, 413, "request body too large");
    size_t need = req->head_len + (size_t)req->content_length;
    if (len < need) {
        http_request_free(req);
        return HTTP_PARSE_NEED_MORE;
    }
    if (req->content_length > 0) {
        req->body_len = (size_t)req->content_length;
        req->body = xmalloc(req->body_len + 1);
        memcpy(req->body, data + req->head_len, req->body_len);
        req->body[req->body_len] = '\0';
    }
    *consumed = need;
    return HTTP_PARSE_DONE;
}

const char *http_request_header(const struct http_request *req, const char *name) {
    for (size_t i = 0; i < req->nheaders; i++)
        if (!strcasecmp(req->headers[i].name, name)) return req->headers[i].value;
    return NULL;
}

bool http_header_has_token(const char *value, const char *token) {
    if (!value) return false;
    size_t tl = strlen(token);
    const char *p = value;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        size_t n = strcspn(p, ",");
        size_t m = n;
        while (m > 0 && (p[m - 1] == ' ' || p[m - 1] == '\t')) m--;
        if (m == tl && !strncasecmp(p, token, tl)) return true;
        p += n;
    }
    return false;
}

bool http_request_keep_alive(const struct http_request *req) {
    const char *c = http_request_header(req, "Connection");
    if (req->version_minor == 0) return http_header_has_token(c, "keep-alive");
    return !http_header_has_token(c, "close");
}

bool http_query_get(const char *query, const char *name, buf_t *out) {
    size_t nl = strlen(name);
    const char *p = query ? query : "";
    while (*p) {
        size_t n = strcspn(p, "&");
        size_t kl = strcspn(p, "=&");
        buf_t key = BUF_INIT;
        bool match = http_percent_decode(p, kl, true, &key) == 0 && key.len == nl && !memcmp(key.data, name, nl);
        buf_free(&key);
        if (match) {
            buf_reset(out);
            if (kl < n && http_percent_decode(p + kl + 1, n - kl - 1, true, out) < 0) return false;
            return true;
        }
        p += n;
        if (*p == '&') p++;
    }
    return false;
}

/* --- WebSocket frames ------------------------------------------------------ */

enum http_parse_status http_ws_frame_parse(const unsigned char *d, size_t len, size_t max_payload,
                                           struct http_ws_frame *f, buf_t *payload, size_t *consumed,
                                           struct http_parse_error *err) {
    if (len < 2) return HTTP_PARSE_NEED_MORE;
    err->status = HTTP_WS_CLOSE_PROTOCOL;
    f->fin = (d[0] & 0x80) != 0;
    f->opcode = d[0] & 0x0f;
    if (d[0] & 0x70) {
        err->reason = "reserved bits set";
        return HTTP_PARSE_ERROR;
    }
    switch (f->opcode) {
    case HTTP_WS_CONT:
    case HTTP_WS_TEXT:
    case HTTP_WS_BINARY:
    case HTTP_WS_CLOSE:
    case HTTP_WS_PING:
    case HTTP_WS_PONG: break;
    default: err->reason = "unknown opcode"; return HTTP_PARSE_ERROR;
    }
    if (!(d[1] & 0x80)) {
        err->reason = "client frame not masked";
        return HTTP_PARSE_ERROR;
    }
    uint64_t n = d[1] & 0x7f;
    size_t pos = 2;
    if (n == 126) {
        if (len < 4) return HTTP_PARSE_NEED_MORE;
        n = ((uint64_t)d[2] << 8) | d[3];
        pos = 4;
    } else if (n == 127) {
        if (len < 10) return HTTP_PARSE_NEED_MORE;
        n = 0;
        for (int i = 0; i < 8; i++) n = (n << 8) | d[2 + i];
        pos = 10;
        if (n >> 63) {
            err->reason = "bad payload length";
            return HTTP_PARSE_ERROR;
        }
    }
    if (f->opcode >= HTTP_WS_CLOSE && (n > 125 || !f->fin)) {
        err->reason = "bad control frame";
        return HTTP_PARSE_ERROR;
    }
    if (n > max_payload) {
        err->status = HTTP_WS_CLOSE_TOO_BIG;
        err->reason = "frame too large";
        return HTTP_PARSE_ERROR;
    }
    if (len - pos < 4 || len - pos - 4 < n) return HTTP_PARSE_NEED_MORE;
    const unsigned char *mask = d + pos;
    pos += 4;
    buf_reserve(payload, (size_t)n);
    for (uint64_t i = 0; i < n; i++) buf_append_char(payload, (char)(d[pos + i] ^ mask[i & 3]));
    f->len = n;
    *consumed = pos + (size_t)n;
    err->status = 0;
    err->reason = NULL;
    return HTTP_PARSE_DONE;
}

void http_ws_frame_build(int opcode, const void *payload, size_t len, buf_t *out) {
    unsigned char h[10];
    size_t hl = 2;
    h[0] = (unsigned char)(0x80 | (opcode & 0x0f));
    if (len < 126) {
        h[1] = (unsigned char)len;
    } else if (len <= 0xffff) {
        h[1] = 126;
        h[2] = (unsigned char)(len >> 8);
        h[3] = (unsigned char)len;
        hl = 4;
    } else {
        h[1] = 127;
        for (int i = 0; i < 8; i++) h[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
        hl = 10;
    }
    buf_append(out, h, hl);
    if (len) buf_append(out, payload, len);
}
