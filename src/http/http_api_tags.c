/*
 * http_api_tags - Mailpit's tags: GET/PUT /api/v1/tags (all tags in scope;
 * set the tags of messages) and PUT/DELETE /api/v1/tags/{Tag} (rename,
 * remove everywhere). Names are cleaned as Mailpit does (core/tags.h) and
 * kept as IMAP keywords, so IMAP sees the same ("Tag 1" as "Tag+1").
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/tags.h"
#include "http/http_api_internal.h"

void http_api_tags_get(struct http_ctx *x) {
    cJSON *tags = http_api_all_tags(x);
    if (tags) http_reply_json(x, 200, tags);
    else http_api_query_failed(x);
}

/* The keywords of a JSON array of tag names into kw; false (400 answered)
 * when it is neither absent, null nor an array of strings. */
static bool tag_list(struct http_ctx *x, cJSON *arr, buf_t *kw) {
    if (arr && !cJSON_IsArray(arr) && !cJSON_IsNull(arr)) {
        http_reply_text(x, 400, "IDs and Tags must be arrays of strings");
        return false;
    }
    cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        if (!cJSON_IsString(it)) {
            http_reply_text(x, 400, "IDs and Tags must be arrays of strings");
            return false;
        }
        tags_add_keyword(kw, it->valuestring, strlen(it->valuestring));
    }
    return true;
}

/* The rows named by "IDs" or matching "Search": 1 (*rows, *n set), 0
 * (none named and not all: nothing to do), -1 (answered). all: neither
 * named means every message in scope, as for PUT /api/v1/messages. */
static int body_rows(struct http_ctx *x, cJSON *body, bool all, int64_t **rows, size_t *n) {
    cJSON *ids = cJSON_GetObjectItemCaseSensitive(body, "IDs");
    cJSON *search = cJSON_GetObjectItemCaseSensitive(body, "Search");
    bool by_search = cJSON_IsString(search) && search->valuestring[0];
    bool listed = cJSON_IsArray(ids) && cJSON_GetArraySize(ids) > 0;
    if (ids && !cJSON_IsArray(ids) && !cJSON_IsNull(ids)) {
        http_reply_text(x, 400, "IDs and Tags must be arrays of strings");
        return -1;
    }
    if (by_search && listed) {
        http_reply_text(x, 400, "You may specify either IDs or a search query, not both");
        return -1;
    }
    if (by_search) {
        buf_t err = BUF_INIT;
        struct search_query sq;
        if (http_api_parse_search(x, search->valuestring, strlen(search->valuestring), &sq, &err) < 0) {
            http_reply_text(x, 400, buf_cstr(&err));
            buf_free(&err);
            return -1;
        }
        buf_free(&err);
        int rc = api_query_rows(x->app->store, x->account, &sq, rows, n);
        search_query_free(&sq);
        if (rc < 0) {
            http_api_query_failed(x);
            return -1;
        }
        return 1;
    }
    if (!listed && !all) return 0;
    return http_api_rows_from_ids(x, body, rows, n) ? 1 : -1;
}

/* {"Tags": [...], "IDs": [...]}: the tags replace those of each message;
 * names Mailpit would drop (nothing left after cleaning) are dropped, and
 * no IDs is nothing to do, as in Mailpit. devmail's additions: "Search"
 * (a query, as PUT /api/v1/messages takes) instead of IDs names every
 * message matching it, and "Add" / "Remove" (arrays of names) instead of
 * "Tags" add and take out tags, keeping the message's others (with
 * neither IDs nor Search: on every message). */
void http_api_tags_put(struct http_ctx *x) {
    cJSON *body = http_api_json_body(x);
    if (!body) return;
    cJSON *tags = cJSON_GetObjectItemCaseSensitive(body, "Tags");
    cJSON *add = cJSON_GetObjectItemCaseSensitive(body, "Add");
    cJSON *remove = cJSON_GetObjectItemCaseSensitive(body, "Remove");
    bool edit = !tags && (add || remove);
    buf_t kw = BUF_INIT, addkw = BUF_INIT, remkw = BUF_INIT;
    int64_t *rows = NULL;
    size_t n = 0;
    int named;
    if (tags && (add || remove)) {
        http_reply_text(x, 400, "Give either Tags, or Add and Remove, not both");
    } else if (!tag_list(x, tags, &kw) || !tag_list(x, add, &addkw) || !tag_list(x, remove, &remkw)) {
        /* answered */
    } else if ((named = body_rows(x, body, edit, &rows, &n)) < 0) {
        /* answered */
    } else if (named == 0) {
        http_reply_text(x, 200, "ok");
    } else {
        int rc = edit ? api_query_edit_tags(x->app->store, rows, n, buf_cstr(&addkw), buf_cstr(&remkw))
                      : api_query_set_tags(x->app->store, rows, n, buf_cstr(&kw));
        if (rc < 0) http_reply_text(x, 500, "could not change the messages");
        else http_reply_text(x, 200, "ok");
    }
    free(rows);
    buf_free(&kw);
    buf_free(&addkw);
    buf_free(&remkw);
    cJSON_Delete(body);
}

/* Rename (to) or drop (to NULL) a tag everywhere in scope: one "prune"
 * frame, as Mailpit sends, instead of one per message. 0 or -1. */
static int retag(struct http_ctx *x, const char *kw, const char *to) {
    /* this server sends its own frames for the change: its events say it made it */
    const void *prev_origin = store_origin_begin(x->app->store, x->srv);
    int rc = api_query_retag(x->app->store, x->account, kw, to);
    store_origin_end(x->app->store, prev_origin);
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "Type", "prune");
    cJSON_AddNullToObject(f, "Data");
    http_events_send(x->srv, x->account, f);
    return rc;
}

/* Messages in scope carrying the tag named in the path: >0, 0 (400 "tag not
 * found" answered), -1 (500 answered). kw gets its keyword. */
static int64_t path_tag(struct http_ctx *x, buf_t *kw) {
    const char *tag = http_param(x, "Tag");
    tag_to_keyword(tag, kw);
    int64_t count;
    if (strchr(tag, '+') || api_query_tag_count(x->app->store, x->account, buf_cstr(kw), &count) < 0) count = 0;
    if (count == 0) {
        buf_t b = BUF_INIT;
        buf_printf(&b, "tag not found: %s", tag);
        http_reply_text(x, 400, buf_cstr(&b));
        buf_free(&b);
    }
    return count;
}

void http_api_tag_delete(struct http_ctx *x) {
    buf_t kw = BUF_INIT;
    if (path_tag(x, &kw) > 0) {
        if (retag(x, buf_cstr(&kw), NULL) < 0)
            http_reply_text(x, 500, "could not change the messages");
        else
            http_reply_text(x, 200, "ok");
    }
    buf_free(&kw);
}

/* {"Name": new}: Mailpit's refusals (400): an invalid new name, an unknown
 * tag, a new name that another tag has. */
void http_api_tag_rename(struct http_ctx *x) {
    cJSON *body = http_api_json_body(x);
    if (!body) return;
    cJSON *name = cJSON_GetObjectItemCaseSensitive(body, "Name");
    char *to = tag_clean(cJSON_IsString(name) ? name->valuestring : "", cJSON_IsString(name) ? strlen(name->valuestring) : 0);
    buf_t kw = BUF_INIT, tokw = BUF_INIT, b = BUF_INIT;
    tag_to_keyword(to, &tokw);
    int64_t other = 0;
    if (!*to) {
        buf_printf(&b, "invalid tag name: %s", to);
        http_reply_text(x, 400, buf_cstr(&b));
    } else if (!strcmp(to, http_param(x, "Tag"))) {
        http_reply_text(x, 200, "ok"); /* the same name: nothing to do */
    } else if (path_tag(x, &kw) <= 0) {
        /* answered */
    } else if (strcasecmp(buf_cstr(&kw), buf_cstr(&tokw)) != 0 &&
               (api_query_tag_count(x->app->store, x->account, buf_cstr(&tokw), &other) < 0 || other > 0)) {
        buf_printf(&b, "tag already exists: %s", to);
        http_reply_text(x, 400, buf_cstr(&b));
    } else if (retag(x, buf_cstr(&kw), buf_cstr(&tokw)) < 0) {
        http_reply_text(x, 500, "could not change the messages");
    } else {
        http_reply_text(x, 200, "ok");
    }
    buf_free(&b);
    buf_free(&kw);
    buf_free(&tokw);
    free(to);
    cJSON_Delete(body);
}
