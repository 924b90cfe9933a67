/*
 * http_api_tags - Mailpit's tags: GET/PUT /api/v1/tags (all tags in scope;
 * set the tags of messages) and PUT/DELETE /api/v1/tags/{Tag} (rename,
 * remove everywhere). Tags are IMAP keywords: IMAP sees the same.
 */
#include <stdlib.h>
#include <string.h>

#include "http/http_api_internal.h"


void http_api_tags_get(struct http_ctx *x) {
    cJSON *tags = http_api_all_tags(x);
    if (tags) http_reply_json(x, 200, tags);
    else http_api_query_failed(x);
}

void http_api_tags_put(struct http_ctx *x) {
    cJSON *body = http_api_json_body(x);
    if (!body) return;
    cJSON *tags = cJSON_GetObjectItemCaseSensitive(body, "Tags");
    cJSON *ids = cJSON_GetObjectItemCaseSensitive(body, "IDs");
    if (!cJSON_IsArray(ids) || cJSON_GetArraySize(ids) == 0 || (tags && !cJSON_IsArray(tags) && !cJSON_IsNull(tags))) {
        http_reply_text(x, 400, "IDs (non-empty) and Tags must be arrays");
        cJSON_Delete(body);
        return;
    }
    buf_t kw = BUF_INIT;
    cJSON *it;
    cJSON_ArrayForEach(it, tags) {
        if (!cJSON_IsString(it) || !http_api_valid_tag(it->valuestring)) {
            http_reply_text(x, 400, "invalid tag (no spaces or IMAP specials)");
            buf_free(&kw);
            cJSON_Delete(body);
            return;
        }
        char *e = api_query_keywords_edit(buf_cstr(&kw), NULL, it->valuestring);
        buf_reset(&kw);
        buf_append_str(&kw, e);
        free(e);
    }
    int64_t *rows;
    size_t n;
    if (http_api_rows_from_ids(x, body, &rows, &n)) {
        if (api_query_set_tags(x->app->store, rows, n, buf_cstr(&kw)) < 0)
            http_reply_text(x, 500, "could not change the messages");
        else
            http_reply_text(x, 200, "ok");
        free(rows);
    }
    buf_free(&kw);
    cJSON_Delete(body);
}

void http_api_tag_delete(struct http_ctx *x) {
    const char *tag = http_param(x, "Tag");
    if (!http_api_valid_tag(tag)) {
        http_reply_text(x, 400, "invalid tag name");
        return;
    }
    if (api_query_retag(x->app->store, x->account, tag, NULL) < 0)
        http_reply_text(x, 500, "could not change the messages");
    else
        http_reply_text(x, 200, "ok");
}

void http_api_tag_rename(struct http_ctx *x) {
    const char *tag = http_param(x, "Tag");
    if (!http_api_valid_tag(tag)) {
        http_reply_text(x, 400, "invalid tag name");
        return;
    }
    cJSON *body = http_api_json_body(x);
    if (!body) return;
    cJSON *name = cJSON_GetObjectItemCaseSensitive(body, "Name");
    if (!cJSON_IsString(name) || !http_api_valid_tag(name->valuestring))
        http_reply_text(x, 400, "Name must be a valid tag");
    else if (api_query_retag(x->app->store, x->account, tag, name->valuestring) < 0)
        http_reply_text(x, 500, "could not change the messages");
    else
        http_reply_text(x, 200, "ok");
    cJSON_Delete(body);
}

