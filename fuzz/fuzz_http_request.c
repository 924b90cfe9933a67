/*
 * fuzz_http_request - libFuzzer target for the HTTP/1.1 request parser and
 * the WebSocket frame parser. Feeds the input as a pipelined stream of
 * requests and checks the invariants: progress on every DONE, body length
 * as announced, decoded path without NUL, an HTTP status on every error;
 * every parsed request also goes through the origin/Host guard (a status
 * of 0, 403, 415 or 421 with a reason); then parses the same bytes as
 * client WebSocket frames.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "http/http_guard.h"
#include "http/http_parser.h"

#define FUZZ_MAX_BODY 4096

static const char *const fuzz_hosts[] = {"devbox", "*.corp.example", ".lab.example", "*"};
static const char *const fuzz_origins[] = {"http://localhost:3000", "*"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *p = (const char *)data;
    size_t left = size;
    for (int n = 0; n < 64 && left > 0; n++) {
        struct http_request r;
        struct http_parse_error e = {0, NULL};
        size_t used = 0;
        enum http_parse_status st = http_parse_request(p, left, FUZZ_MAX_BODY, &r, &used, &e);
        if (st == HTTP_PARSE_NEED_MORE) break;
        if (st == HTTP_PARSE_ERROR) {
            if (e.status < 400 || e.status > 599 || !e.reason || r.head) abort();
            break;
        }
        if (used == 0 || used > left) abort();
        if (!r.method || !r.path || !r.query || strlen(r.path) == 0) abort();
        if ((int64_t)r.body_len != r.content_length || r.content_length > FUZZ_MAX_BODY) abort();
        buf_t v = BUF_INIT;
        http_query_get(r.query, "query", &v);
        http_query_get(r.query, "wait", &v);
        buf_free(&v);
        (void)http_request_keep_alive(&r);
        (void)http_header_has_token(http_request_header(&r, "Connection"), "upgrade");
        for (size_t k = 0; k < 3; k++) {
            /* none, then lists, then the wildcards */
            struct http_guard g = {"mail.test", fuzz_hosts, k ? 3 + (k == 2) : 0, fuzz_origins, k ? k : 0};
            const char *why = NULL;
            int rc = http_guard_check(&g, &r, k == 1, k == 2, &why);
            if (rc != 0 && rc != 403 && rc != 415 && rc != 421) abort();
            if (rc && !why) abort();
            (void)http_guard_cors_allowed(&g, http_request_header(&r, "Origin"));
        }
        http_request_free(&r);
        p += used;
        left -= used;
    }
    const unsigned char *d = data;
    left = size;
    while (left > 0) {
        struct http_ws_frame f;
        struct http_parse_error e = {0, NULL};
        buf_t payload = BUF_INIT;
        size_t used = 0;
        enum http_parse_status st = http_ws_frame_parse(d, left, FUZZ_MAX_BODY, &f, &payload, &used, &e);
        if (st == HTTP_PARSE_DONE && (used == 0 || used > left || payload.len != f.len)) abort();
        buf_free(&payload);
        if (st != HTTP_PARSE_DONE) break;
        d += used;
        left -= used;
    }
    return 0;
}
