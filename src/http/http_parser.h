/*
 * http_parser - a pure HTTP/1.1 request parser (RFC 9112), no sockets.
 *
 * The server hands it the bytes buffered so far; it answers "complete"
 * (with how many bytes the request used), "need more" or "error" with the
 * HTTP status to send and a reason. Only what devmail's server needs:
 * request line (origin-form or absolute-form), header fields (at most
 * HTTP_MAX_HEADERS, head at most HTTP_MAX_HEAD_BYTES), Content-Length
 * bodies up to the caller's limit. Chunked (any Transfer-Encoding) request
 * bodies are refused with 501; obsolete line folding with 400.
 *
 * Helpers: header lookup, Connection token test, keep-alive decision,
 * percent-decoding of the path, query-parameter lookup.
 */
#ifndef DEVMAIL_HTTP_PARSER_H
#define DEVMAIL_HTTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Most header fields in one request. */
#define HTTP_MAX_HEADERS 100
/* Request line plus header fields, in bytes. */
#define HTTP_MAX_HEAD_BYTES (32 * 1024)
/* Longest method name accepted. */
#define HTTP_MAX_METHOD 16

enum http_parse_status { HTTP_PARSE_DONE, HTTP_PARSE_NEED_MORE, HTTP_PARSE_ERROR };

struct http_header {
    const char *name;  /* NUL-terminated, points into the request's head copy */
    const char *value; /* trimmed */
};

struct http_request {
    char *head;        /* private copy of the head, fields point into it */
    const char *method;
    const char *target; /* as sent */
    char *path;        /* percent-decoded, never contains NUL */
    char *query;       /* raw query string without '?', "" if none */
    int version_minor; /* HTTP/1.x */
    struct http_header headers[HTTP_MAX_HEADERS];
    size_t nheaders;
    int64_t content_length; /* 0 without a body */
    size_t head_len;   /* bytes of request line + headers + blank line */
    char *body;        /* content_length bytes (+ NUL), or NULL */
    size_t body_len;
};

struct http_parse_error {
    int status;         /* 400, 413, 414, 431, 501, 505 */
    const char *reason; /* static text */
};

/* Parse the head (request line and header fields) in data[0..len).
 * DONE: req is filled (no body yet), req->head_len bytes used. */
enum http_parse_status http_parse_head(const char *data, size_t len, struct http_request *req,
                                       struct http_parse_error *err);
/* Parse a whole request (head and Content-Length body of at most max_body
 * bytes). DONE: *consumed bytes make the request. */
enum http_parse_status http_parse_request(const char *data, size_t len, size_t max_body, struct http_request *req,
                                          size_t *consumed, struct http_parse_error *err);
/* Free what a parse allocated (safe on a zeroed or failed request). */
void http_request_free(struct http_request *req);

/* Value of the first header named name (case-insensitive), or NULL. */
const char *http_request_header(const struct http_request *req, const char *name);
/* Does a comma-separated header (Connection, Upgrade) contain token? */
bool http_header_has_token(const char *value, const char *token);
/* Should the connection stay open after answering this request? */
bool http_request_keep_alive(const struct http_request *req);

/* Percent-decode s[0..len) into out; plus_is_space for form/query text.
 * -1 on a bad escape. */
int http_percent_decode(const char *s, size_t len, bool plus_is_space, buf_t *out);
/* Look up a query parameter (decoded) in a raw query string. true if present
 * (out holds the value, possibly empty); false if absent or badly encoded. */
bool http_query_get(const char *query, const char *name, buf_t *out);

/* --- WebSocket frames (RFC 6455 5.2), client to server ----------------- */

enum http_ws_opcode {
    HTTP_WS_CONT = 0x0,
    HTTP_WS_TEXT = 0x1,
    HTTP_WS_BINARY = 0x2,
    HTTP_WS_CLOSE = 0x8,
    HTTP_WS_PING = 0x9,
    HTTP_WS_PONG = 0xA,
};

/* Close codes used in err->status for frame errors. */
#define HTTP_WS_CLOSE_NORMAL 1000
#define HTTP_WS_CLOSE_GOING_AWAY 1001
#define HTTP_WS_CLOSE_PROTOCOL 1002
#define HTTP_WS_CLOSE_TOO_BIG 1009

struct http_ws_frame {
    bool fin;
    int opcode;
    uint64_t len; /* payload bytes */
};

/* Parse one masked client frame from d[0..len); its unmasked payload is
 * appended to payload (at most max_payload bytes). DONE: *consumed bytes
 * used. ERROR: err->status is the close code to send. */
enum http_parse_status http_ws_frame_parse(const unsigned char *d, size_t len, size_t max_payload,
                                           struct http_ws_frame *f, buf_t *payload, size_t *consumed,
                                           struct http_parse_error *err);
/* Append an unmasked server frame (FIN set) to out. */
void http_ws_frame_build(int opcode, const void *payload, size_t len, buf_t *out);

#endif
