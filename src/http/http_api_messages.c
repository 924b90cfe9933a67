/*
 * http_api_messages - the message list and search of Mailpit's API v1:
 * GET/PUT/DELETE /api/v1/messages (a page, read status, deletion) and
 * GET/DELETE /api/v1/search?query= (the search language of
 * core/search_query.h, compiled by the store), with ?wait= long-polls.
 * Bulk changes send one event frame of their own.
 */
#include <stdlib.h>
#include <string.h>

#include "core/search_query.h"
#include "core/xalloc.h"
#include "http/http_api_internal.h"


/* Answer a page of messages: those matching page_q (NULL: all), counted
 * as messages_count/messages_unread by q (NULL: all in scope). */
static void list_messages(struct http_ctx *x, const struct search_query *q, const struct search_query *page_q) {
    int64_t start, limit;
    if (!http_api_param_int(x, "start", 0, &start) || !http_api_param_int(x, "limit", HTTP_API_DEFAULT_LIMIT, &limit)) {
        http_reply_text(x, 400, "start and limit must be non-negative integers");
        return;
    }
    if (limit == 0) limit = HTTP_API_DEFAULT_LIMIT;
    if (limit > HTTP_API_MAX_LIMIT) limit = HTTP_API_MAX_LIMIT;
    struct store *st = x->app->store;
    int64_t total, unread, mtotal, munread;
    if (api_query_count(st, x->account, NULL, &total, &unread) < 0 ||
        (q && api_query_count(st, x->account, q, &mtotal, &munread) < 0)) {
        http_api_query_failed(x);
        return;
    }
    if (!q) mtotal = total, munread = unread;
    struct api_query_summary *page;
    size_t count;
    if (api_query_list(st, x->account, page_q, start, limit, &page, &count) < 0) {
        http_api_query_failed(x);
        return;
    }
    cJSON *tags = http_api_all_tags(x);
    if (!tags) {
        api_query_list_free(page, count);
        http_api_query_failed(x);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "total", (double)total);
    cJSON_AddNumberToObject(o, "unread", (double)unread);
    cJSON *msgs = cJSON_CreateArray();
    for (size_t i = 0; i < count; i++) cJSON_AddItemToArray(msgs, http_api_summary_json(&page[i]));
    api_query_list_free(page, count);
    cJSON_AddNumberToObject(o, "count", (double)count);
    cJSON_AddNumberToObject(o, "messages_count", (double)mtotal);
    cJSON_AddNumberToObject(o, "messages_unread", (double)munread);
    cJSON_AddNumberToObject(o, "start", (double)start);
    cJSON_AddItemToObject(o, "tags", tags);
    cJSON_AddItemToObject(o, "messages", msgs);
    http_reply_json(x, 200, o);
}

/* Parse ?query= into sq (free with search_query_free); false with a 400 answered. */
static bool search_param(struct http_ctx *x, struct search_query *sq) {
    buf_t q = BUF_INIT, err = BUF_INIT;
    http_query_get(x->req->query, "query", &q);
    bool ok = false;
    int64_t before;
    if (http_api_parse_search(x, q.data ? q.data : "", q.len, sq, &err) < 0) {
        http_reply_text(x, 400, buf_cstr(&err));
    } else if (sq->count == 0) {
        search_query_free(sq);
        http_reply_text(x, 400, "no search query");
    } else if (http_api_param_before(x, &before) && search_query_add_date(sq, SEARCH_QUERY_BEFORE, before, false, &err) < 0) {
        search_query_free(sq);
        http_reply_text(x, 400, buf_cstr(&err));
    } else {
        ok = true;
    }
    buf_free(&q);
    buf_free(&err);
    return ok;
}

/* Most per-message "delete" frames of DELETE /api/v1/search; more: one
 * "prune" (Mailpit's limit). */
#define HTTP_API_SEARCH_DELETE_FRAMES 200

static void send_frame(struct http_ctx *x, const char *type, cJSON *data) {
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "Type", type);
    if (data) cJSON_AddItemToObject(f, "Data", data);
    else cJSON_AddNullToObject(f, "Data");
    http_events_send(x->srv, x->account, f);
}

/* Mailpit's frames for a bulk change: one per message, {"ID"} for
 * "delete", {"ID", "Read"} for "update" (read >= 0); more than max
 * messages: one "prune", and the pages reload. */
static void bulk_event(struct http_ctx *x, const char *type, char **ids, size_t n, int read, size_t max) {
    if (n > max) {
        send_frame(x, "prune", NULL);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (!ids[i]) continue;
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "ID", ids[i]);
        if (read >= 0) cJSON_AddBoolToObject(d, "Read", read);
        send_frame(x, type, d);
    }
}

/* API IDs of rows (NULL where a row is gone); those with \Seen == skip_seen
 * left out when skip_seen >= 0. Free with free_ids. */
static char **row_ids(struct http_ctx *x, const int64_t *rows, size_t n, int skip_seen, size_t *nids) {
    char **ids = xcalloc(n ? n : 1, sizeof *ids);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        struct store_msg m;
        if (store_msg_get(x->app->store, rows[i], &m) < 0) continue;
        if (skip_seen < 0 || ((m.flags & MSG_SEEN) != 0) != skip_seen) {
            ids[k++] = m.api_id;
            m.api_id = NULL;
        }
        store_msg_free(&m);
    }
    *nids = k;
    return ids;
}

static void free_ids(char **ids, size_t n) {
    for (size_t i = 0; i < n; i++) free(ids[i]);
    free(ids);
}

/* Mark rows read or unread; false (500 answered) if the store failed. A
 * frame for each message that changed (Mailpit's), none when frames is
 * false (Mailpit's "mark all": the stats frame tells). */
static bool set_read_rows(struct http_ctx *x, const int64_t *rows, size_t n, bool read, bool frames) {
    size_t nids = 0;
    char **ids = frames && n <= HTTP_API_MAX_EVENT_IDS ? row_ids(x, rows, n, read, &nids) : NULL;
    /* this server sends its own frames for the change: its events say it made it */
    const void *prev_origin = store_origin_begin(x->app->store, x->srv);
    int rc = api_query_mark_read(x->app->store, rows, n, read);
    store_origin_end(x->app->store, prev_origin);
    if (rc < 0) {
        free_ids(ids, nids);
        http_reply_text(x, 500, "could not change the messages");
        return false;
    }
    if (frames && n > HTTP_API_MAX_EVENT_IDS) send_frame(x, "prune", NULL);
    else if (ids) bulk_event(x, "update", ids, nids, read, HTTP_API_MAX_EVENT_IDS);
    free_ids(ids, nids);
    return true;
}

/* Which frames a deletion sends: one "delete" per message (up to a
 * bound), or Mailpit's "truncate" for everything. */
enum delete_frames { DELETE_FRAMES_LISTED, DELETE_FRAMES_SEARCH, DELETE_FRAMES_ALL };

/* Delete rows; false (500 answered) if the store failed. */
static bool delete_rows(struct http_ctx *x, const int64_t *rows, size_t n, enum delete_frames frames) {
    size_t max = frames == DELETE_FRAMES_SEARCH ? HTTP_API_SEARCH_DELETE_FRAMES : HTTP_API_MAX_EVENT_IDS;
    size_t nids = 0;
    char **ids = frames != DELETE_FRAMES_ALL && n <= max ? row_ids(x, rows, n, -1, &nids) : NULL;
    /* this server sends its own frames for the change: its events say it made it */
    const void *prev_origin = store_origin_begin(x->app->store, x->srv);
    int rc = api_query_delete(x->app->store, rows, n);
    store_origin_end(x->app->store, prev_origin);
    /* what was removed before an error is gone: say so either way */
    if (frames == DELETE_FRAMES_ALL) send_frame(x, "truncate", NULL);
    else if (n > max) send_frame(x, "prune", NULL);
    else bulk_event(x, "delete", ids, nids, -1, max);
    free_ids(ids, nids);
    if (rc < 0) {
        http_reply_text(x, 500, "could not delete the messages");
        return false;
    }
    return true;
}

/* Rows named by body "IDs" (all in scope when absent or empty); false with 404/400/500 answered. */
bool http_api_rows_from_ids(struct http_ctx *x, cJSON *body, int64_t **rows, size_t *n) {
    cJSON *ids = cJSON_GetObjectItemCaseSensitive(body, "IDs");
    *rows = NULL;
    *n = 0;
    if (ids && !cJSON_IsArray(ids) && !cJSON_IsNull(ids)) {
        http_reply_text(x, 400, "IDs must be an array of strings");
        return false;
    }
    if (!ids || cJSON_GetArraySize(ids) == 0) {
        if (api_query_rows(x->app->store, x->account, NULL, rows, n) < 0) {
            http_api_query_failed(x);
            return false;
        }
        return true;
    }
    size_t k = (size_t)cJSON_GetArraySize(ids);
    int64_t *v = xcalloc(k, sizeof *v);
    size_t i = 0;
    cJSON *it;
    cJSON_ArrayForEach(it, ids) {
        if (!cJSON_IsString(it)) {
            free(v);
            http_reply_text(x, 400, "IDs must be an array of strings");
            return false;
        }
        int found = http_api_find_row(x, it->valuestring, &v[i]);
        if (found <= 0) {
            if (found < 0) {
                http_api_query_failed(x);
            } else {
                buf_t b = BUF_INIT;
                buf_printf(&b, "message %s not found", it->valuestring);
                http_reply_text(x, 404, buf_cstr(&b));
                buf_free(&b);
            }
            free(v);
            return false;
        }
        i++;
    }
    *rows = v;
    *n = k;
    return true;
}

/* ?before= pages back from a time (Mailpit's UI passes the Created of the
 * last message shown); the counts stay those of the whole mailbox. */
void http_api_messages_get(struct http_ctx *x) {
    int64_t before;
    if (!http_api_param_before(x, &before)) {
        list_messages(x, NULL, NULL);
        return;
    }
    struct search_query sq = {0};
    buf_t err = BUF_INIT;
    search_query_add_date(&sq, SEARCH_QUERY_BEFORE, before, false, &err);
    list_messages(x, NULL, &sq);
    search_query_free(&sq);
    buf_free(&err);
}

/* PUT (read status) or DELETE of the messages named in the body. */
static void change_messages(struct http_ctx *x, bool put) {
    cJSON *body = http_api_json_body(x);
    if (!body) return;
    int64_t *rows = NULL;
    size_t n = 0;
    cJSON *search = cJSON_GetObjectItemCaseSensitive(body, "Search");
    cJSON *idl = cJSON_GetObjectItemCaseSensitive(body, "IDs");
    bool by_search = put && cJSON_IsString(search) && search->valuestring[0];
    bool listed = cJSON_IsArray(idl) && cJSON_GetArraySize(idl) > 0;
    if (by_search && listed) {
        http_reply_text(x, 400, "You may specify either IDs or a search query, not both");
        cJSON_Delete(body);
        return;
    }
    if (by_search) {
        buf_t err = BUF_INIT;
        struct search_query sq;
        if (http_api_parse_search(x, search->valuestring, strlen(search->valuestring), &sq, &err) < 0) {
            http_reply_text(x, 400, buf_cstr(&err));
            buf_free(&err);
            cJSON_Delete(body);
            return;
        }
        int rc = api_query_rows(x->app->store, x->account, &sq, &rows, &n);
        search_query_free(&sq);
        buf_free(&err);
        if (rc < 0) {
            http_api_query_failed(x);
            cJSON_Delete(body);
            return;
        }
    } else if (!http_api_rows_from_ids(x, body, &rows, &n)) {
        cJSON_Delete(body);
        return;
    }
    if (put) {
        cJSON *read = cJSON_GetObjectItemCaseSensitive(body, "Read");
        if (read && !cJSON_IsBool(read)) http_reply_text(x, 400, "Read must be true or false");
        else if (set_read_rows(x, rows, n, read ? cJSON_IsTrue(read) : false, by_search || listed))
            http_reply_text(x, 200, "ok");
    } else if (delete_rows(x, rows, n, listed ? DELETE_FRAMES_LISTED : DELETE_FRAMES_ALL)) {
        http_reply_text(x, 200, "ok");
    }
    free(rows);
    cJSON_Delete(body);
}

void http_api_messages_put(struct http_ctx *x) {
    change_messages(x, true);
}

void http_api_messages_delete(struct http_ctx *x) {
    change_messages(x, false);
}

void http_api_search_delete(struct http_ctx *x) {
    struct search_query sq;
    if (!search_param(x, &sq)) return;
    size_t n;
    int64_t *rows;
    if (api_query_rows(x->app->store, x->account, &sq, &rows, &n) < 0) {
        http_api_query_failed(x);
    } else {
        if (delete_rows(x, rows, n, DELETE_FRAMES_SEARCH)) http_reply_text(x, 200, "ok");
        free(rows);
    }
    search_query_free(&sq);
}

void http_api_search_get(struct http_ctx *x) {
    struct search_query sq;
    if (!search_param(x, &sq)) return;
    int64_t wait = http_api_param_wait(x);
    if (wait < 0) {
        http_reply_text(x, 400, "bad wait duration (use e.g. 30s, 500ms, 2m)");
        search_query_free(&sq);
        return;
    }
    if (wait > 0 && !x->waited) {
        /* watched first, then checked: nothing committed in between is missed */
        struct api_query_watch *w = api_query_watch_add(x->app->store, x->account, &sq);
        int64_t total, unread;
        if (api_query_count(x->app->store, x->account, &sq, &total, &unread) < 0) {
            api_query_watch_remove(w);
            http_api_query_failed(x);
            search_query_free(&sq);
            return;
        }
        if (total == 0) {
            search_query_free(&sq);
            http_defer_wait_watch(x, wait, w);
            return;
        }
        api_query_watch_remove(w);
    }
    list_messages(x, &sq, &sq);
    search_query_free(&sq);
}


bool http_api_search_wait_match(struct http_ctx *x, int64_t after, int64_t upto) {
    (void)after;
    (void)upto;
    return x->wait_state && api_query_watch_hit(x->wait_state);
}
