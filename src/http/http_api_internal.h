/*
 * http_api_internal - what the http_api_*.c files share: JSON shapes of
 * Mailpit's API (summaries, tags, times), request parameters, message
 * lookup in the request's scope and the MIME walk. Not for other modules.
 *
 * Every function that answers (http_api_query_failed, and the ones that
 * say "answered") writes the reply into x; the caller then only returns.
 */
#ifndef DEVMAIL_HTTP_API_INTERNAL_H
#define DEVMAIL_HTTP_API_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <gmime/gmime.h>

#include "core/buf.h"
#include "core/search_query.h"
#include "http/http_api.h"
#include "http/http_server.h"
#include "store/api_query.h"
#include "store/store.h"

/* ---- JSON ---------------------------------------------------------------- */

/* o[name] = t as RFC 3339 UTC ("2026-01-02T03:04:05Z"). */
void http_api_add_time(cJSON *o, const char *name, int64_t t);
/* The index could not answer: 500 (the store logged why). */
void http_api_query_failed(struct http_ctx *x);
/* Every distinct tag in scope, sorted; NULL if the index failed. */
cJSON *http_api_all_tags(struct http_ctx *x);
/* Space-separated keywords -> ["a", "b"]. */
cJSON *http_api_tags_array(const char *keywords);
/* One message summary as Mailpit lists it (caller owns). */
cJSON *http_api_summary_json(const struct api_query_summary *m);
/* The summary of row in scope: 1 (*o set), 0 not in scope, -1 index error. */
int http_api_summary_for_row(struct app *app, const char *account, int64_t row, cJSON **o);

/* ---- request -------------------------------------------------------------- */

/* Non-negative integer parameter name (def when absent); false on junk. */
bool http_api_param_int(struct http_ctx *x, const char *name, int64_t def, int64_t *out);
/* ?wait=30s / 500ms / 2m / 30 -> milliseconds (0: none, capped); -1 on junk. */
int64_t http_api_param_wait(struct http_ctx *x);
/* The JSON object in the body (an empty body is {}); NULL with 400 answered. */
cJSON *http_api_json_body(struct http_ctx *x);
/* Parse a search (Mailpit's language) with the request's ?tz= applied to
 * its dates. 0, or -1 with a reason in err. */
int http_api_parse_search(struct http_ctx *x, const char *text, size_t len, struct search_query *sq, buf_t *err);
/* ?before= (a date, an RFC 3339 time, or unix seconds/milliseconds) as unix
 * time; false when absent or not a time (Mailpit ignores it then). */
bool http_api_param_before(struct http_ctx *x, int64_t *t);
/* Row of an API ID in scope: 1 (*row set), 0 unknown, -1. "latest" is the
 * newest message, or with ?query= the newest matching it (Mailpit's). */
int http_api_find_row(struct http_ctx *x, const char *id, int64_t *row);
/* Rows named by body "IDs" (all in scope when absent or empty); false with
 * 404/400/500 answered. *rows is the caller's to free. */
bool http_api_rows_from_ids(struct http_ctx *x, cJSON *body, int64_t **rows, size_t *n);

/* ---- one message ------------------------------------------------------------ */

struct http_api_loaded {
    int64_t row;
    struct store_msg msg;
    GMimeMessage *mime; /* NULL unless parsed */
};

/* Load a message by API ID: row, store record and (parse) its MIME. false
 * with 404/500 answered. Free with http_api_loaded_free. */
bool http_api_load_message(struct http_ctx *x, const char *id, bool parse, struct http_api_loaded *l);
void http_api_loaded_free(struct http_api_loaded *l);

/* ---- MIME walk ---------------------------------------------------------------- */

typedef bool (*http_api_part_fn)(GMimeObject *obj, const char *id, void *arg); /* false: stop */

/* Visit the leaf parts of m in document order with IMAP section numbers
 * ("1", "2.1"), to HTTP_API_MAX_MIME_DEPTH. */
void http_api_walk_parts(GMimeMessage *m, http_api_part_fn fn, void *arg);
/* The same for the message attached as part prefix: "2.1", "2.2" ... */
void http_api_walk_parts_under(GMimeMessage *m, const char *prefix, http_api_part_fn fn, void *arg);
/* The leaf part of that section number, also inside attached messages
 * (message/rfc822 parts: "2.1" is the first part of the message attached
 * as part 2), entering at most max_nesting of them; *nesting (when not
 * NULL) is set to how many were entered. NULL when there is none. */
GMimeObject *http_api_find_part(GMimeMessage *m, const char *part_id, int64_t max_nesting, int *nesting);
/* Append the decoded bytes of a leaf part. */
void http_api_part_bytes(GMimeObject *obj, buf_t *out);
/* "type/subtype" of a part (caller frees). */
char *http_api_mime_type(GMimeObject *obj);
/* The part's file name, or "". */
const char *http_api_part_filename(GMimeObject *obj);

/* What http_api_detail_part collects: Mailpit's split into the first
 * text/plain and text/html bodies, inline parts and attachments; or, with
 * want_id, the part of that section number (found). */
struct http_api_detail_walk {
    char *text, *html; /* owned */
    cJSON *inline_parts, *attachments; /* filled when not NULL */
    const char *want_id;
    GMimeObject *found;
};

bool http_api_detail_part(GMimeObject *obj, const char *id, void *arg);

/* ---- handlers (one file per resource) ------------------------------------------ */

/* http_api_messages.c */
void http_api_messages_get(struct http_ctx *x);
void http_api_messages_put(struct http_ctx *x);
void http_api_messages_delete(struct http_ctx *x);
void http_api_search_get(struct http_ctx *x);
void http_api_search_delete(struct http_ctx *x);
bool http_api_search_wait_match(struct http_ctx *x, int64_t after, int64_t upto);
/* http_defer_wait with a store watch (api_query_watch_add) that the
 * route's wait_match reads; removed when the wait ends. */
void http_defer_wait_watch(struct http_ctx *x, int64_t ms, struct api_query_watch *w);
/* http_api_message.c */
void http_api_message_get(struct http_ctx *x);
bool http_api_latest_wait_match(struct http_ctx *x, int64_t after, int64_t upto);
void http_api_message_headers(struct http_ctx *x);
void http_api_message_raw(struct http_ctx *x);
void http_api_message_part(struct http_ctx *x);
void http_api_message_thumb(struct http_ctx *x);
void http_api_view_html(struct http_ctx *x);
void http_api_view_text(struct http_ctx *x);
/* The /view page of message m (prefix "": the stored one; else the
 * message attached as that part), cid: links to parts of api_id. */
void http_api_view_message(struct http_ctx *x, GMimeMessage *m, const char *prefix, const char *api_id, bool txt);
/* http_api_attach.c */
void http_api_message_calendar(struct http_ctx *x);
void http_api_message_attached(struct http_ctx *x);
void http_api_view_attached_html(struct http_ctx *x);
void http_api_view_attached_text(struct http_ctx *x);
/* http_api_send.c */
void http_api_send(struct http_ctx *x);
/* http_api_tags.c */
void http_api_tags_get(struct http_ctx *x);
void http_api_tags_put(struct http_ctx *x);
void http_api_tag_rename(struct http_ctx *x);
void http_api_tag_delete(struct http_ctx *x);
/* http_api_info.c */
void http_api_info(struct http_ctx *x);
void http_api_webui(struct http_ctx *x);
void http_api_swagger(struct http_ctx *x);
void http_api_metrics(struct http_ctx *x);
void http_api_livez(struct http_ctx *x);
void http_api_readyz(struct http_ctx *x);
void http_api_release(struct http_ctx *x);
void http_api_html_check(struct http_ctx *x);
void http_api_lint(struct http_ctx *x);
void http_api_link_check(struct http_ctx *x);
void http_api_sa_check(struct http_ctx *x);
void http_api_chaos_get(struct http_ctx *x);
void http_api_chaos_put(struct http_ctx *x);

#endif
