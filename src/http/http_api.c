/*
 * http_api - the route table of the Mailpit v1 API, /view, /metrics and
 * the health checks. One row per method and path; the handlers live in
 * one file per resource (http_api_messages.c, http_api_message.c,
 * http_api_send.c, http_api_tags.c, http_api_info.c), the event frames
 * in http_api_events.c. The server (http_server.c) matches a request
 * against this table, applies the row's login rule, answers 405 with
 * Allow for a known path asked with another method, and 404 otherwise.
 */
#include "http/http_api.h"

#include "http/http_api_internal.h"

const struct http_route http_api_routes[] = {
    /* health checks: no login, as Mailpit's /livez and /readyz */
    {"GET", "/livez", http_api_livez, HTTP_AUTH_NONE, false, NULL},
    {"GET", "/readyz", http_api_readyz, HTTP_AUTH_NONE, false, NULL},
    {"GET", "/metrics", http_api_metrics, HTTP_AUTH_ADMIN, false, NULL},
    /* the live event stream (WebSocket), upgraded by the server */
    {"GET", "/api/events", NULL, HTTP_AUTH_LOGIN, true, NULL},
    /* messages */
    {"GET", "/api/v1/messages", http_api_messages_get, HTTP_AUTH_LOGIN, false, NULL},
    {"PUT", "/api/v1/messages", http_api_messages_put, HTTP_AUTH_LOGIN, false, NULL},
    {"DELETE", "/api/v1/messages", http_api_messages_delete, HTTP_AUTH_LOGIN, false, NULL},
    {"GET", "/api/v1/search", http_api_search_get, HTTP_AUTH_LOGIN, false, http_api_search_wait_match},
    {"DELETE", "/api/v1/search", http_api_search_delete, HTTP_AUTH_LOGIN, false, NULL},
    {"POST", "/api/v1/send", http_api_send, HTTP_AUTH_LOGIN, false, NULL},
    /* tags */
    {"GET", "/api/v1/tags", http_api_tags_get, HTTP_AUTH_LOGIN, false, NULL},
    {"PUT", "/api/v1/tags", http_api_tags_put, HTTP_AUTH_LOGIN, false, NULL},
    {"PUT", "/api/v1/tags/{Tag...}", http_api_tag_rename, HTTP_AUTH_LOGIN, false, NULL},
    {"DELETE", "/api/v1/tags/{Tag...}", http_api_tag_delete, HTTP_AUTH_LOGIN, false, NULL},
    /* one message */
    {"GET", "/api/v1/message/{ID}", http_api_message_get, HTTP_AUTH_LOGIN, false, http_api_latest_wait_match},
    {"GET", "/api/v1/message/{ID}/headers", http_api_message_headers, HTTP_AUTH_LOGIN, false, NULL},
    {"GET", "/api/v1/message/{ID}/raw", http_api_message_raw, HTTP_AUTH_LOGIN, false, NULL},
    {"GET", "/api/v1/message/{ID}/part/{PartID}", http_api_message_part, HTTP_AUTH_LOGIN, false, NULL},
    {"GET", "/api/v1/message/{ID}/part/{PartID}/thumb", http_api_message_thumb, HTTP_AUTH_LOGIN, false, NULL},
    {"GET", "/view/{ID}.html", http_api_view_html, HTTP_AUTH_LOGIN, false, NULL},
    {"GET", "/view/{ID}.txt", http_api_view_text, HTTP_AUTH_LOGIN, false, NULL},
    /* attachments: an attached message, its views, a calendar's summary */
    {"GET", "/api/v1/message/{ID}/part/{PartID}/message", http_api_message_attached, HTTP_AUTH_LOGIN, false, NULL},
    {"GET", "/api/v1/message/{ID}/part/{PartID}/calendar", http_api_message_calendar, HTTP_AUTH_LOGIN, false, NULL},
    {"GET", "/view/{ID}/part/{PartID}.html", http_api_view_attached_html, HTTP_AUTH_LOGIN, false, NULL},
    {"GET", "/view/{ID}/part/{PartID}.txt", http_api_view_attached_text, HTTP_AUTH_LOGIN, false, NULL},
    /* checks and release */
    {"POST", "/api/v1/message/{ID}/release", http_api_release, HTTP_AUTH_LOGIN, false, NULL},
    {"GET", "/api/v1/message/{ID}/html-check", http_api_html_check, HTTP_AUTH_LOGIN, false, NULL},
    {"GET", "/api/v1/message/{ID}/lint", http_api_lint, HTTP_AUTH_LOGIN, false, NULL},
    {"GET", "/api/v1/message/{ID}/link-check", http_api_link_check, HTTP_AUTH_LOGIN, false, NULL},
    {"GET", "/api/v1/message/{ID}/sa-check", http_api_sa_check, HTTP_AUTH_LOGIN, false, NULL},
    /* SMTP failure injection (the chaos keys) */
    {"GET", "/api/v1/chaos", http_api_chaos_get, HTTP_AUTH_LOGIN, false, NULL},
    {"PUT", "/api/v1/chaos", http_api_chaos_put, HTTP_AUTH_LOGIN, false, NULL},
    /* about the server */
    {"GET", "/api/v1/info", http_api_info, HTTP_AUTH_LOGIN, false, NULL},
    {"GET", "/api/v1/webui", http_api_webui, HTTP_AUTH_LOGIN, false, NULL},
    {"GET", "/api/v1/swagger.json", http_api_swagger, HTTP_AUTH_LOGIN, false, NULL},
    {NULL, NULL, NULL, HTTP_AUTH_LOGIN, false, NULL},
};
