/*
 * http_api_send - POST /api/v1/send: a message built from Mailpit's JSON
 * (From, To/Cc/Bcc, ReplyTo, Subject, Text/HTML, Headers, Attachments,
 * Tags) with GMime, routed like SMTP (rcptmap), with the trace headers an
 * SMTP delivery gets, the same size and free-space refusals, and stored
 * through the store's delivery; the answer {"ID"} comes after the commit.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <gio/gio.h>

#include "app/sasl.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "app/deliver.h"
#include "http/http_api_internal.h"


struct api_send {
    void *token;
    struct app *app;
    struct store_delivery d;
};

/* Mailpit's Send API answers errors as {"Error": "..."} (400 unless said). */
static void send_error(struct http_ctx *x, int status, const char *msg) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "Error", msg);
    http_reply_json(x, status, o);
}


static void send_done(struct store_delivery *d, int result, void *arg) {
    struct api_send *s = arg;
    struct http_ctx *x = http_token_ctx(s->token);
    if (result == 0 && d->n && d->files[0].new_path) {
        const char *base = strrchr(d->files[0].new_path, '/') + 1;
        buf_t id = BUF_INIT;
        store_api_id(base, &id);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "ID", buf_cstr(&id));
        http_reply_json(x, 200, o);
        log_info("http: message %s from=<%s> stored via the API (%zu mailbox%s)", buf_cstr(&id), d->mail_from, d->n,
                 d->n == 1 ? "" : "es");
        buf_free(&id);
    } else {
        log_error("http: sending via the API failed: %s", strerror(result < 0 ? -result : EIO));
        for (size_t i = 0; i < d->n; i++)
            if (d->files[i].tmp_path && !d->files[i].new_path) unlink(d->files[i].tmp_path);
        send_error(x, 500, "could not store the message");
    }
    store_delivery_free(d);
    void *token = s->token;
    free(s);
    http_complete(token);
}

static bool send_addr(cJSON *o, const char **email, const char **name) {
    *email = *name = NULL;
    if (cJSON_IsString(o)) {
        *email = o->valuestring;
        return true;
    }
    if (!cJSON_IsObject(o)) return false;
    cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "Email");
    cJSON *n = cJSON_GetObjectItemCaseSensitive(o, "Name");
    if (!cJSON_IsString(e)) return false;
    *email = e->valuestring;
    *name = cJSON_IsString(n) ? n->valuestring : NULL;
    return true;
}

static bool plausible_address(const char *a) {
    const char *at = strrchr(a, '@');
    if (!at || at == a || !at[1] || strlen(a) > 320) return false;
    for (const unsigned char *p = (const unsigned char *)a; *p; p++)
        if (*p <= 0x20 || *p == '<' || *p == '>' || *p == ',' || *p == 0x7f) return false;
    return true;
}

static GMimePart *text_part(const char *subtype, const char *text) {
    GMimeTextPart *tp = g_mime_text_part_new_with_subtype(subtype);
    g_mime_text_part_set_text(tp, text);
    g_mime_part_set_content_encoding(GMIME_PART(tp),
                                     g_mime_part_get_best_content_encoding(GMIME_PART(tp), GMIME_ENCODING_CONSTRAINT_7BIT));
    return GMIME_PART(tp);
}

/* Build the message; NULL with a reason in err. rcpts gets every recipient. */
static GMimeMessage *build_message(struct app *app, cJSON *j, GPtrArray *rcpts, buf_t *err) {
    const char *email, *name;
    if (!send_addr(cJSON_GetObjectItemCaseSensitive(j, "From"), &email, &name) || !plausible_address(email)) {
        buf_append_str(err, email && *email ? "invalid From address" : "From.Email is required");
        return NULL;
    }
    GMimeMessage *m = g_mime_message_new(TRUE);
    g_mime_message_add_mailbox(m, GMIME_ADDRESS_TYPE_FROM, name, email);
    static const struct {
        const char *key;
        int type; /* -1: envelope only */
    } lists[] = {{"To", GMIME_ADDRESS_TYPE_TO},
                 {"Cc", GMIME_ADDRESS_TYPE_CC},
                 {"Bcc", -1},
                 {"ReplyTo", GMIME_ADDRESS_TYPE_REPLY_TO}};
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, lists[i].key);
        if (!arr || cJSON_IsNull(arr)) continue;
        if (!cJSON_IsArray(arr)) {
            buf_printf(err, "%s must be an array", lists[i].key);
            g_object_unref(m);
            return NULL;
        }
        cJSON *it;
        cJSON_ArrayForEach(it, arr) {
            if (!send_addr(it, &email, &name) || !plausible_address(email)) {
                buf_printf(err, "invalid %s address: %s", !strcmp(lists[i].key, "ReplyTo") ? "Reply-To" : lists[i].key,
                           email ? email : "");
                g_object_unref(m);
                return NULL;
            }
            if (lists[i].type >= 0) g_mime_message_add_mailbox(m, (GMimeAddressType)lists[i].type, name, email);
            if (lists[i].type != GMIME_ADDRESS_TYPE_REPLY_TO) {
                if (rcpts->len >= HTTP_API_MAX_SEND_RCPTS) {
                    buf_append_str(err, "too many recipients");
                    g_object_unref(m);
                    return NULL;
                }
                g_ptr_array_add(rcpts, xstrdup(email));
            }
        }
    }
    if (rcpts->len == 0) {
        buf_append_str(err, "at least one recipient (To, Cc or Bcc) is required");
        g_object_unref(m);
        return NULL;
    }
    cJSON *subj = cJSON_GetObjectItemCaseSensitive(j, "Subject");
    g_mime_message_set_subject(m, cJSON_IsString(subj) ? subj->valuestring : "", "utf-8");
    GDateTime *now = g_date_time_new_now_local();
    g_mime_message_set_date(m, now);
    g_date_time_unref(now);
    char *unique = maildir_unique_name(app->cfg->hostname);
    buf_t mid = BUF_INIT;
    buf_printf(&mid, "%s@%s", unique, app->cfg->hostname);
    free(unique);
    cJSON *mido = cJSON_GetObjectItemCaseSensitive(j, "MessageID");
    g_mime_message_set_message_id(m, cJSON_IsString(mido) && mido->valuestring[0] ? mido->valuestring : buf_cstr(&mid));
    buf_free(&mid);
    /* Tags travel as an X-Tags header, as in Mailpit; the store tags the
     * message from it (store/summary.c) */
    cJSON *tj = cJSON_GetObjectItemCaseSensitive(j, "Tags");
    bool has_tags = false;
    if (cJSON_IsArray(tj) && cJSON_GetArraySize(tj) > 0) {
        buf_t t = BUF_INIT;
        cJSON *it;
        cJSON_ArrayForEach(it, tj) {
            if (!cJSON_IsString(it)) {
                buf_append_str(err, "Tags must be an array of strings");
                buf_free(&t);
                g_object_unref(m);
                return NULL;
            }
            if (t.len) buf_append_str(&t, ", ");
            for (const char *p = it->valuestring; *p; p++)
                buf_append_char(&t, (unsigned char)*p < 0x20 || *p == 0x7f ? ' ' : *p);
        }
        g_mime_object_set_header(GMIME_OBJECT(m), "X-Tags", buf_cstr(&t), "utf-8");
        buf_free(&t);
        has_tags = true;
    }
    cJSON *hdrs = cJSON_GetObjectItemCaseSensitive(j, "Headers");
    if (cJSON_IsObject(hdrs)) {
        /* Mailpit's list: these come from the message's own fields */
        static const char *const restricted[] = {"To",   "From",    "Cc",           "Bcc",          "Reply-To",
                                                 "Date", "Subject", "Content-Type", "Mime-Version"};
        cJSON *it;
        cJSON_ArrayForEach(it, hdrs) {
            bool refused = has_tags && !strcasecmp(it->string, "X-Tags");
            for (size_t r = 0; r < sizeof restricted / sizeof restricted[0]; r++)
                if (!strcasecmp(it->string, restricted[r])) refused = true;
            if (refused) {
                buf_printf(err, "cannot overwrite header: \"%s\"", it->string);
                g_object_unref(m);
                return NULL;
            }
            bool ok = cJSON_IsString(it) && it->string[0];
            for (const char *p = it->string; ok && *p; p++)
                if ((unsigned char)*p <= 0x20 || *p == ':' || (unsigned char)*p >= 0x7f) ok = false;
            if (ok && (strchr(it->valuestring, '\n') || strchr(it->valuestring, '\r'))) ok = false;
            if (!ok) {
                buf_append_str(err, "invalid header in Headers");
                g_object_unref(m);
                return NULL;
            }
            g_mime_object_set_header(GMIME_OBJECT(m), it->string, it->valuestring, "utf-8");
        }
    }
    cJSON *text = cJSON_GetObjectItemCaseSensitive(j, "Text");
    cJSON *html = cJSON_GetObjectItemCaseSensitive(j, "HTML");
    bool has_text = cJSON_IsString(text) && text->valuestring[0];
    bool has_html = cJSON_IsString(html) && html->valuestring[0];
    GMimeObject *body;
    if (has_text && has_html) {
        GMimeMultipart *alt = g_mime_multipart_new_with_subtype("alternative");
        GMimePart *t = text_part("plain", text->valuestring), *h = text_part("html", html->valuestring);
        g_mime_multipart_add(alt, GMIME_OBJECT(t));
        g_mime_multipart_add(alt, GMIME_OBJECT(h));
        g_object_unref(t);
        g_object_unref(h);
        body = GMIME_OBJECT(alt);
    } else if (has_html) {
        body = GMIME_OBJECT(text_part("html", html->valuestring));
    } else {
        body = GMIME_OBJECT(text_part("plain", has_text ? text->valuestring : ""));
    }
    cJSON *atts = cJSON_GetObjectItemCaseSensitive(j, "Attachments");
    if (cJSON_IsArray(atts) && cJSON_GetArraySize(atts) > 0) {
        GMimeMultipart *mixed = g_mime_multipart_new_with_subtype("mixed");
        g_mime_multipart_add(mixed, body);
        g_object_unref(body);
        body = GMIME_OBJECT(mixed);
        cJSON *it;
        cJSON_ArrayForEach(it, atts) {
            cJSON *content = cJSON_GetObjectItemCaseSensitive(it, "Content");
            cJSON *fname = cJSON_GetObjectItemCaseSensitive(it, "Filename");
            cJSON *ctype = cJSON_GetObjectItemCaseSensitive(it, "ContentType");
            cJSON *cid = cJSON_GetObjectItemCaseSensitive(it, "ContentID");
            buf_t data = BUF_INIT;
            /* Mailpit takes the text after the last comma: a data: URL works */
            const char *b64 = cJSON_IsString(content) ? content->valuestring : NULL;
            if (b64 && strrchr(b64, ',')) b64 = strrchr(b64, ',') + 1;
            if (!b64 || !cJSON_IsString(fname) || sasl_b64_decode(b64, strlen(b64), &data) < 0) {
                buf_free(&data);
                buf_printf(err, "error decoding base64 attachment \"%s\"",
                           cJSON_IsString(fname) ? fname->valuestring : "");
                g_object_unref(body);
                g_object_unref(m);
                return NULL;
            }
            GMimeContentType *ct = NULL;
            if (cJSON_IsString(ctype) && ctype->valuestring[0]) {
                ct = g_mime_content_type_parse(NULL, ctype->valuestring);
            } else {
                /* none given: guessed from the name and the bytes (GIO's
                 * shared-mime-info database), as Mailpit sniffs the bytes */
                gchar *guess = g_content_type_guess(fname->valuestring, (const guchar *)data.data, data.len, NULL);
                gchar *mt = guess ? g_content_type_get_mime_type(guess) : NULL;
                if (mt && strchr(mt, '/')) ct = g_mime_content_type_parse(NULL, mt);
                g_free(mt);
                g_free(guess);
            }
            GMimePart *p = ct ? g_mime_part_new_with_type(g_mime_content_type_get_media_type(ct),
                                                          g_mime_content_type_get_media_subtype(ct))
                              : g_mime_part_new_with_type("application", "octet-stream");
            if (ct) g_object_unref(ct);
            GMimeStream *ms = g_mime_stream_mem_new_with_buffer(data.data ? data.data : "", data.len);
            GMimeDataWrapper *w = g_mime_data_wrapper_new_with_stream(ms, GMIME_CONTENT_ENCODING_DEFAULT);
            g_mime_part_set_content(p, w);
            g_object_unref(w);
            g_object_unref(ms);
            buf_free(&data);
            g_mime_part_set_content_encoding(p, GMIME_CONTENT_ENCODING_BASE64);
            g_mime_part_set_filename(p, fname->valuestring);
            if (cJSON_IsString(cid) && cid->valuestring[0]) {
                g_mime_object_set_content_id(GMIME_OBJECT(p), cid->valuestring);
                GMimeContentDisposition *disp = g_mime_object_get_content_disposition(GMIME_OBJECT(p));
                if (disp) g_mime_content_disposition_set_disposition(disp, "inline");
            }
            g_mime_multipart_add(mixed, GMIME_OBJECT(p));
            g_object_unref(p);
        }
    }
    g_mime_message_set_mime_part(m, body);
    g_object_unref(body);
    return m;
}

void http_api_send(struct http_ctx *x) {
    cJSON *j = x->req->body_len ? cJSON_ParseWithLength(x->req->body, x->req->body_len) : NULL;
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        send_error(x, 400, x->req->body_len ? "invalid JSON body" : "EOF");
        return;
    }
    buf_t err = BUF_INIT;
    GPtrArray *rcpts = g_ptr_array_new_with_free_func(free);
    GMimeMessage *m = build_message(x->app, j, rcpts, &err);
    const char *from = NULL;
    if (m) {
        InternetAddressList *fl = g_mime_message_get_from(m);
        InternetAddress *fa = fl ? internet_address_list_get_address(fl, 0) : NULL;
        if (fa && INTERNET_ADDRESS_IS_MAILBOX(fa)) from = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(fa));
    }
    /* routed, checked and traced by the one delivery service, as SMTP is */
    struct deliver_rcpt *dr = xcalloc(rcpts->len + 1, sizeof *dr);
    char **rcpt_account = xcalloc(rcpts->len + 1, sizeof *rcpt_account);
    for (guint i = 0; m && !err.len && i < rcpts->len; i++) {
        buf_t why = BUF_INIT;
        if (deliver_route(x->app, g_ptr_array_index(rcpts, i), &rcpt_account[i], &why) < 0) {
            buf_printf(&err, "recipient %s refused: %s", (const char *)g_ptr_array_index(rcpts, i), buf_cstr(&why));
            buf_free(&why);
            break;
        }
        buf_free(&why);
        dr[i] = (struct deliver_rcpt){g_ptr_array_index(rcpts, i), rcpt_account[i]};
    }
    const struct config *cfg = x->app->cfg;
    struct api_send *s = NULL;
    int status = 400;
    GMimeStream *ms = NULL;
    GByteArray *ba = NULL;
    if (!err.len && m) {
        ms = g_mime_stream_mem_new();
        g_mime_object_write_to_stream(GMIME_OBJECT(m), NULL, ms);
        ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(ms));
        /* the limits SMTP applies (552 5.3.4, 452 4.3.1), here in HTTP terms */
        enum deliver_check dc = deliver_check(x->app, (int64_t)ba->len);
        if (dc == DELIVER_TOO_BIG) {
            buf_printf(&err, "message of %u bytes exceeds message_size_limit (%lld bytes)", ba->len,
                       (long long)cfg->message_size_limit);
            status = 413;
        } else if (dc == DELIVER_DISK_FULL) {
            buf_append_str(&err, "not enough free disk space (min_free_disk)");
            status = 507;
        }
    }
    if (!err.len && m) {
        s = xcalloc(1, sizeof *s);
        s->app = x->app;
        char id[24];
        deliver_queue_id(id, sizeof id);
        /* the HTTP login, as Mailpit's Username (accounts are plain addresses) */
        struct deliver_trace t = {NULL, http_peer(x), "HTTP", id, time(NULL), x->account};
        if (deliver_begin(x->app, &s->d, from, dr, rcpts->len, &t) < 0) {
            buf_append_str(&err, "cannot create the message file");
            free(s);
            s = NULL;
        } else {
            store_delivery_write(&s->d, ba->data, ba->len);
        }
    }
    free(dr);
    if (ms) g_object_unref(ms);
    if (m) g_object_unref(m);
    for (guint i = 0; i < rcpts->len; i++) free(rcpt_account[i]);
    free(rcpt_account);
    g_ptr_array_free(rcpts, TRUE);
    cJSON_Delete(j);
    if (err.len || !s) {
        send_error(x, status, err.len ? buf_cstr(&err) : "cannot send");
        buf_free(&err);
        return;
    }
    buf_free(&err);
    s->token = http_defer_async(x);
    store_delivery_commit(&s->d, send_done, s);
}

