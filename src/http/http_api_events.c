/*
 * http_api_events - the frames of the WebSocket event stream (/api/events)
 * in Mailpit's shapes: "new" with a summary, "update", "delete" and
 * "stats", made from the store's change events.
 */
#include "http/http_api_internal.h"

cJSON *http_api_event_frame(struct app *app, const struct store_event *ev) {
    if (ev->type == STORE_EV_NEW) {
        cJSON *s = NULL;
        if (http_api_summary_for_row(app, ev->account, ev->row, &s) != 1) return NULL;
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "Type", "new");
        cJSON_AddItemToObject(f, "Data", s);
        return f;
    }
    if (ev->type == STORE_EV_UPDATE) {
        struct api_query_summary m;
        cJSON *f = NULL;
        if (api_query_summary(app->store, ev->account, ev->row, &m) == 1) {
            f = cJSON_CreateObject();
            cJSON_AddStringToObject(f, "Type", "update");
            cJSON *d = cJSON_AddObjectToObject(f, "Data");
            cJSON_AddStringToObject(d, "ID", m.api_id);
            cJSON_AddBoolToObject(d, "Read", (m.flags & MSG_SEEN) != 0);
            cJSON_AddItemToObject(d, "Tags", http_api_tags_array(m.keywords));
        }
        api_query_summary_free(&m);
        return f;
    }
    if (ev->type == STORE_EV_EXPUNGE && ev->api_id) {
        /* Mailpit's frame for a message removed by IMAP, POP3 or retention */
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "Type", "delete");
        cJSON *d = cJSON_AddObjectToObject(f, "Data");
        cJSON_AddStringToObject(d, "ID", ev->api_id);
        return f;
    }
    return NULL;
}

cJSON *http_api_stats_frame(struct app *app, const char *account) {
    int64_t total, unread;
    /* an index error (logged by the store) shows as zeros until the next frame */
    if (api_query_count(app->store, account, NULL, &total, &unread) < 0) total = unread = 0;
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "Type", "stats");
    cJSON *d = cJSON_AddObjectToObject(f, "Data");
    cJSON_AddNumberToObject(d, "Total", (double)total);
    cJSON_AddNumberToObject(d, "Unread", (double)unread);
    cJSON_AddStringToObject(d, "Version", HTTP_API_VERSION);
    return f;
}

