/*
 * http_api_attach - what the page shows of attachments beyond their
 * bytes (devmail's own routes; Mailpit has no such thing and lists a
 * message/rfc822 part as a plain attachment):
 *   GET /api/v1/message/{ID}/part/{PartID}/message  an attached message
 *       (a forwarded .eml) in the shape of GET /api/v1/message/{ID};
 *       its parts are numbered under PartID ("2.1", "2.2"), so the part,
 *       thumb, calendar and message routes reach them with the outer ID
 *   GET /view/{ID}/part/{PartID}.html|.txt  its HTML/text view, sandboxed
 *       as /view/{ID}.html
 *   GET /api/v1/message/{ID}/part/{PartID}/calendar  the summary of an
 *       iCalendar part (check/calendar.c, libical), at most
 *       calendar_max_size bytes
 * Attached messages are entered at most attached_message_max_depth deep.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check/calendar.h"
#include "core/xalloc.h"
#include "http/http_api_internal.h"

/* The part named by the route in the message of the route; false with
 * 404 answered. *nesting: attached messages entered to reach it. */
static bool load_part(struct http_ctx *x, struct http_api_loaded *l, GMimeObject **part, int *nesting) {
    if (!http_api_load_message(x, http_param(x, "ID"), true, l)) return false;
    *part = http_api_find_part(l->mime, http_param(x, "PartID"), x->app->cfg->attached_message_max_depth, nesting);
    if (!*part) {
        http_reply_text(x, 404, "part not found");
        http_api_loaded_free(l);
        return false;
    }
    return true;
}

static bool is_calendar(GMimeObject *part) {
    char *type = http_api_mime_type(part);
    const char *name = http_api_part_filename(part);
    size_t nl = strlen(name);
    bool yes = !strcasecmp(type, "text/calendar") || !strcasecmp(type, "application/ics") ||
               (nl > 4 && !strcasecmp(name + nl - 4, ".ics"));
    free(type);
    return yes;
}

void http_api_message_calendar(struct http_ctx *x) {
    struct http_api_loaded l;
    GMimeObject *part;
    if (!load_part(x, &l, &part, NULL)) return;
    if (!GMIME_IS_PART(part) || !is_calendar(part)) {
        char *type = http_api_mime_type(part);
        buf_t t = BUF_INIT;
        buf_printf(&t, "part is not a calendar (%s)", type);
        http_reply_text(x, 422, buf_cstr(&t));
        buf_free(&t);
        free(type);
        http_api_loaded_free(&l);
        return;
    }
    buf_t b = BUF_INIT;
    http_api_part_bytes(part, &b);
    if ((int64_t)b.len > x->app->cfg->calendar_max_size) {
        http_reply_text(x, 413, "calendar part larger than calendar_max_size");
    } else {
        cJSON *o = calendar_summary(b.data, b.len);
        if (o) http_reply_json(x, 200, o);
        else http_reply_text(x, 422, "part holds no iCalendar object");
    }
    buf_free(&b);
    http_api_loaded_free(&l);
}

static cJSON *address_json(InternetAddress *a) {
    cJSON *o = cJSON_CreateObject();
    const char *name = internet_address_get_name(a);
    const char *addr = INTERNET_ADDRESS_IS_MAILBOX(a) ? internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a))
                                                      : "";
    cJSON_AddStringToObject(o, "Name", name ? name : "");
    cJSON_AddStringToObject(o, "Address", addr ? addr : "");
    return o;
}

/* [{Name, Address}] of an address list, group members flat. */
static cJSON *addresses_json(InternetAddressList *l) {
    cJSON *arr = cJSON_CreateArray();
    int n = l ? internet_address_list_length(l) : 0;
    for (int i = 0; i < n; i++) {
        InternetAddress *a = internet_address_list_get_address(l, i);
        if (INTERNET_ADDRESS_IS_GROUP(a)) {
            InternetAddressList *m = internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a));
            int k = m ? internet_address_list_length(m) : 0;
            for (int j = 0; j < k; j++) cJSON_AddItemToArray(arr, address_json(internet_address_list_get_address(m, j)));
        } else {
            cJSON_AddItemToArray(arr, address_json(a));
        }
    }
    return arr;
}

static void add_header_str(cJSON *o, const char *name, const char *v) {
    gchar *valid = g_utf8_make_valid(v ? v : "", -1);
    cJSON_AddStringToObject(o, name, valid);
    g_free(valid);
}

/* The attached message part (a GMimeMessagePart) to open as a message;
 * false with 422 answered when it is none or lies too deep. */
static GMimeMessage *attached(struct http_ctx *x, GMimeObject *part, int nesting) {
    if (!GMIME_IS_MESSAGE_PART(part)) {
        char *type = http_api_mime_type(part);
        buf_t t = BUF_INIT;
        buf_printf(&t, "part is not a message (%s)", type);
        http_reply_text(x, 422, buf_cstr(&t));
        buf_free(&t);
        free(type);
        return NULL;
    }
    if (nesting + 1 > x->app->cfg->attached_message_max_depth) {
        http_reply_text(x, 422, "attached message nested deeper than attached_message_max_depth");
        return NULL;
    }
    GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(part));
    if (!m) http_reply_text(x, 422, "attached message is empty");
    return m;
}

void http_api_message_attached(struct http_ctx *x) {
    struct http_api_loaded l;
    GMimeObject *part;
    int nesting = 0;
    if (!load_part(x, &l, &part, &nesting)) return;
    GMimeMessage *m = attached(x, part, nesting);
    if (!m) {
        http_api_loaded_free(&l);
        return;
    }
    const char *part_id = http_param(x, "PartID");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "ID", l.msg.api_id);
    cJSON_AddStringToObject(o, "PartID", part_id);
    add_header_str(o, "MessageID", g_mime_message_get_message_id(m));
    InternetAddressList *from = g_mime_message_get_from(m);
    cJSON *fa = addresses_json(from);
    cJSON *first = cJSON_DetachItemFromArray(fa, 0);
    cJSON_Delete(fa);
    if (!first) {
        first = cJSON_CreateObject();
        cJSON_AddStringToObject(first, "Name", "");
        cJSON_AddStringToObject(first, "Address", "");
    }
    cJSON_AddItemToObject(o, "From", first);
    cJSON_AddItemToObject(o, "To", addresses_json(g_mime_message_get_to(m)));
    cJSON_AddItemToObject(o, "Cc", addresses_json(g_mime_message_get_cc(m)));
    cJSON_AddItemToObject(o, "Bcc", addresses_json(g_mime_message_get_bcc(m)));
    cJSON_AddItemToObject(o, "ReplyTo", addresses_json(g_mime_message_get_reply_to(m)));
    add_header_str(o, "Subject", g_mime_message_get_subject(m));
    GDateTime *date = g_mime_message_get_date(m);
    if (date) {
        GDateTime *utc = g_date_time_to_utc(date);
        gchar *s = utc ? g_date_time_format(utc, "%Y-%m-%dT%H:%M:%SZ") : NULL;
        cJSON_AddStringToObject(o, "Date", s ? s : "");
        g_free(s);
        if (utc) g_date_time_unref(utc);
    } else {
        cJSON_AddStringToObject(o, "Date", "");
    }
    buf_t raw = BUF_INIT;
    http_api_part_bytes(part, &raw);
    cJSON_AddNumberToObject(o, "Size", (double)raw.len);
    buf_free(&raw);
    struct http_api_detail_walk w = {0};
    w.inline_parts = cJSON_CreateArray();
    w.attachments = cJSON_CreateArray();
    http_api_walk_parts_under(m, part_id, http_api_detail_part, &w);
    cJSON_AddStringToObject(o, "Text", w.text ? w.text : "");
    cJSON_AddStringToObject(o, "HTML", w.html ? w.html : "");
    cJSON_AddItemToObject(o, "Inline", w.inline_parts);
    cJSON_AddItemToObject(o, "Attachments", w.attachments);
    free(w.text);
    free(w.html);
    http_api_loaded_free(&l);
    http_reply_json(x, 200, o);
}

static void view_attached(struct http_ctx *x, bool txt) {
    struct http_api_loaded l;
    GMimeObject *part;
    int nesting = 0;
    if (!load_part(x, &l, &part, &nesting)) return;
    GMimeMessage *m = attached(x, part, nesting);
    if (m) http_api_view_message(x, m, http_param(x, "PartID"), l.msg.api_id, txt);
    http_api_loaded_free(&l);
}

void http_api_view_attached_html(struct http_ctx *x) {
    view_attached(x, false);
}

void http_api_view_attached_text(struct http_ctx *x) {
    view_attached(x, true);
}
