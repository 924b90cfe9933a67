/*
 * http_api - Mailpit-compatible JSON API v1 over the store and index,
 * plus /view/{ID}.html|.txt, /metrics, /livez and /readyz.
 *
 * The API sees the INBOX of every account (no passwd-file) or of the
 * logged-in account. IDs are messages.api_id (the Maildir unique name,
 * stable across restarts); "latest" names the newest message. Reading a
 * message sets \Seen, tags are IMAP keywords: the API and IMAP share one
 * mailbox state. Texts are decoded to UTF-8 with GMime.
 */
#ifndef DEVMAIL_HTTP_API_H
#define DEVMAIL_HTTP_API_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "http/http_server.h"
#include "store/store.h"

/* Default and largest page of GET /api/v1/messages and /search. */
#define HTTP_API_DEFAULT_LIMIT 50
#define HTTP_API_MAX_LIMIT 100000
/* MIME nesting followed when listing parts (deeper parts are skipped). */
#define HTTP_API_MAX_MIME_DEPTH 32
/* Most per-message "update"/"delete" frames one bulk change sends; more: one "prune". */
#define HTTP_API_MAX_EVENT_IDS 1000
/* Most recipients of one POST /api/v1/send. */
#define HTTP_API_MAX_SEND_RCPTS 1000
/* Version reported by /api/v1/info (the binary's version lives in main.c). */
#define HTTP_API_VERSION "devmail-0.1.0"

/* The API's routes (http_server.h), ending with a NULL pattern. */
extern const struct http_route http_api_routes[];
/* WebSocket frame for a store change ({"Type":"new","Data":summary},
 * "update"), or NULL when the change is not shown by the API. */
cJSON *http_api_event_frame(struct app *app, const struct store_event *ev);
/* {"Type":"stats","Data":{"Total","Unread","Version"}} for an account (NULL: all). */
cJSON *http_api_stats_frame(struct app *app, const char *account);

#endif
