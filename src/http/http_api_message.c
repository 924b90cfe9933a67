/*
 * http_api_message - one message of Mailpit's API v1: its summary with
 * bodies and parts (GET /api/v1/message/{ID}, which marks it read), its
 * headers, raw source and parts, and the /view/{ID}.html|.txt pages. The
 * mail's HTML is shown under a sandboxing Content-Security-Policy.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xalloc.h"
#include "check/color_scheme.h"
#include "check/html_text.h"
#include "http/http_api_internal.h"
#include "http/thumb.h"

#define HTTP_API_MAX_HTML_TEXT (1024 * 1024)

/* An HTML-only message's text, as Mailpit gives it: the HTML as
 * readable text (check/html_text.c), links kept as "text (url)". */
static void text_from_html(struct http_api_detail_walk *w) {
    if (w->text || !w->html) return;
    buf_t t = BUF_INIT;
    html_to_text(w->html, strlen(w->html), HTTP_API_MAX_HTML_TEXT, &t, NULL);
    w->text = buf_steal(&t);
}



static void list_unsubscribe(GMimeMessage *m, cJSON *o) {
    GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(m));
    GMimeHeader *h = g_mime_header_list_get_header(hl, "List-Unsubscribe");
    GMimeHeader *hp = g_mime_header_list_get_header(hl, "List-Unsubscribe-Post");
    const char *v = h ? g_mime_header_get_value(h) : NULL;
    cJSON *lu = cJSON_AddObjectToObject(o, "ListUnsubscribe");
    cJSON_AddStringToObject(lu, "Header", v ? v : "");
    cJSON *links = cJSON_AddArrayToObject(lu, "Links");
    const char *p = v ? v : "";
    while ((p = strchr(p, '<'))) {
        const char *e = strchr(p, '>');
        if (!e) break;
        char *link = xstrndup(p + 1, (size_t)(e - p - 1));
        cJSON_AddItemToArray(links, cJSON_CreateString(link));
        free(link);
        p = e + 1;
    }
    cJSON_AddStringToObject(lu, "Errors", "");
    const char *pv = hp ? g_mime_header_get_value(hp) : NULL;
    cJSON_AddStringToObject(lu, "HeaderPost", pv ? pv : "");
}

static struct api_query_watch *latest_watch(struct http_ctx *x);

/* GET /api/v1/message/{ID}; "latest" with ?wait= waits for a first message. */
void http_api_message_get(struct http_ctx *x) {
    const char *id = http_param(x, "ID");
    if (!strcmp(id, "latest") && !x->waited) {
        int64_t wait = http_api_param_wait(x);
        if (wait < 0) {
            http_reply_text(x, 400, "bad wait duration (use e.g. 30s, 500ms, 2m)");
            return;
        }
        int64_t row;
        /* watched first, then checked: nothing committed in between is missed */
        struct api_query_watch *w = wait > 0 ? latest_watch(x) : NULL;
        int found = wait > 0 ? http_api_find_row(x, "latest", &row) : 1;
        if (found < 0) {
            api_query_watch_remove(w);
            http_api_query_failed(x);
            return;
        }
        if (!found) {
            http_defer_wait_watch(x, wait, w);
            return;
        }
        api_query_watch_remove(w);
    }
    struct http_api_loaded l;
    if (!http_api_load_message(x, id, true, &l)) return;
    struct api_query_summary m;
    int found = api_query_summary(x->app->store, x->account, l.row, &m);
    if (found <= 0) {
        http_api_loaded_free(&l);
        if (found < 0) http_api_query_failed(x);
        else http_reply_text(x, 404, "message not found");
        return;
    }
    cJSON *o = http_api_summary_json(&m);
    cJSON_DeleteItemFromObjectCaseSensitive(o, "Snippet");
    cJSON_AddStringToObject(o, "ReturnPath", m.mail_from);
    http_api_add_time(o, "Date", m.sent_date ? m.sent_date : m.internaldate);
    api_query_summary_free(&m);
    list_unsubscribe(l.mime, o);
    struct http_api_detail_walk w = {0};
    w.inline_parts = cJSON_CreateArray();
    w.attachments = cJSON_CreateArray();
    http_api_walk_parts(l.mime, http_api_detail_part, &w);
    text_from_html(&w);
    cJSON_AddStringToObject(o, "Text", w.text ? w.text : "");
    cJSON_AddStringToObject(o, "HTML", w.html ? w.html : "");
    cJSON_AddItemToObject(o, "Inline", w.inline_parts);
    cJSON_DeleteItemFromObjectCaseSensitive(o, "Attachments");
    cJSON_AddItemToObject(o, "Attachments", w.attachments);
    free(w.text);
    free(w.html);
    /* Fetching marks it read (as Mailpit); IMAP sees \Seen. */
    if (!(l.msg.flags & MSG_SEEN)) {
        store_set_flags(x->app->store, l.row, l.msg.flags | MSG_SEEN, NULL);
        cJSON_ReplaceItemInObjectCaseSensitive(o, "Read", cJSON_CreateTrue());
    }
    http_api_loaded_free(&l);
    http_reply_json(x, 200, o);
}

/* message/latest: any new message in scope, or one matching ?query= */
bool http_api_latest_wait_match(struct http_ctx *x, int64_t after, int64_t upto) {
    (void)after;
    (void)upto;
    return x->wait_state && api_query_watch_hit(x->wait_state);
}

/* message/latest's watch: any new message in scope, or one matching ?query= */
static struct api_query_watch *latest_watch(struct http_ctx *x) {
    buf_t q = BUF_INIT, err = BUF_INIT;
    struct search_query sq = {0};
    struct api_query_watch *w;
    if (http_query_get(x->req->query, "query", &q) && q.len &&
        http_api_parse_search(x, buf_cstr(&q), q.len, &sq, &err) == 0 && sq.count)
        w = api_query_watch_add(x->app->store, x->account, &sq);
    else
        w = api_query_watch_add(x->app->store, x->account, NULL);
    search_query_free(&sq);
    buf_free(&q);
    buf_free(&err);
    return w;
}

/* Go's textproto.CanonicalMIMEHeaderKey, which Mailpit's headers go
 * through: "message-id" -> "Message-Id"; a name with a character that is
 * no token character stays as it is. */
static char *canonical_key(const char *name) {
    char *k = xstrdup(name);
    for (const unsigned char *p = (const unsigned char *)k; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", *p)) return k;
    bool upper = true;
    for (char *p = k; *p; p++) {
        if (upper && *p >= 'a' && *p <= 'z') *p = (char)(*p - 'a' + 'A');
        else if (!upper && *p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
        upper = *p == '-';
    }
    return k;
}

/* A (folded) value as Go's textproto reads it: each line trimmed of
 * spaces and tabs, continuation lines joined with one space; invalid
 * UTF-8 replaced (as Go's JSON encoder does). Caller frees. */
static char *unfolded_value(const char *raw) {
    buf_t b = BUF_INIT;
    const char *p = raw ? raw : "";
    bool first = true;
    for (;;) {
        size_t l = strcspn(p, "\n");
        const char *s = p, *e = p + l;
        while (s < e && (*s == ' ' || *s == '\t')) s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) e--;
        if (!first || e > s) {
            if (!first) buf_append_char(&b, ' ');
            buf_append(&b, s, (size_t)(e - s));
        }
        first = false;
        if (!p[l]) break;
        p += l + 1;
        if (!*p) break;
    }
    /* encoded words decoded, as devmail always answered (Mailpit leaves
     * them as they are: the one difference) */
    char *dec = g_mime_utils_header_decode_text(NULL, buf_cstr(&b));
    gchar *valid = g_utf8_make_valid(dec ? dec : buf_cstr(&b), -1);
    char *out = xstrdup(valid);
    g_free(valid);
    g_free(dec);
    buf_free(&b);
    return out;
}

struct header_entry {
    char *key;
    cJSON *values;
};

static int cmp_header_entry(const void *a, const void *b) {
    return strcmp(((const struct header_entry *)a)->key, ((const struct header_entry *)b)->key);
}

/* GET /api/v1/message/{ID}/headers: Mailpit's map of canonical names to
 * values in order of appearance, names sorted (Go encodes a map so). */
void http_api_message_headers(struct http_ctx *x) {
    const char *id = http_param(x, "ID");
    struct http_api_loaded l;
    if (!http_api_load_message(x, id, true, &l)) return;
    GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(l.mime));
    int n = g_mime_header_list_get_count(hl);
    struct header_entry *v = xcalloc((size_t)(n > 0 ? n : 1), sizeof *v);
    size_t nv = 0;
    for (int i = 0; i < n; i++) {
        GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
        const char *name = g_mime_header_get_name(h);
        if (!name || !*name) continue;
        char *key = canonical_key(name);
        size_t k = 0;
        while (k < nv && strcmp(v[k].key, key) != 0) k++;
        if (k == nv) {
            v[nv].key = key;
            v[nv].values = cJSON_CreateArray();
            nv++;
        } else {
            free(key);
        }
        char *value = unfolded_value(g_mime_header_get_raw_value(h));
        cJSON_AddItemToArray(v[k].values, cJSON_CreateString(value));
        free(value);
    }
    qsort(v, nv, sizeof *v, cmp_header_entry);
    cJSON *o = cJSON_CreateObject();
    for (size_t k = 0; k < nv; k++) {
        cJSON_AddItemToObject(o, v[k].key, v[k].values);
        free(v[k].key);
    }
    free(v);
    http_api_loaded_free(&l);
    http_reply_json(x, 200, o);
}

static bool read_file(const char *path, buf_t *out) {
    return buf_load_file(out, path) == 0;
}

void http_api_message_raw(struct http_ctx *x) {
    const char *id = http_param(x, "ID");
    struct http_api_loaded l;
    if (!http_api_load_message(x, id, false, &l)) return;
    buf_t b = BUF_INIT;
    buf_t dl = BUF_INIT;
    bool download = http_query_get(x->req->query, "dl", &dl) && !strcmp(buf_cstr(&dl), "1");
    buf_free(&dl);
    if (!read_file(l.msg.path, &b)) {
        http_reply_text(x, 404, "message file not found");
    } else {
        http_reply(x, 200, "text/plain; charset=utf-8", b.data, b.len);
        /* ?dl=1: Mailpit's download, named after the message's ID */
        if (download) http_add_header(x, "Content-Disposition: attachment; filename=\"%s.eml\"", l.msg.api_id);
    }
    http_add_header(x, "X-Content-Type-Options: nosniff");
    buf_free(&b);
    http_api_loaded_free(&l);
}

/* Content-Disposition with an RFC 8187 encoded file name. */
static void add_disposition(struct http_ctx *x, const char *kind, const char *filename) {
    buf_t b = BUF_INIT;
    buf_printf(&b, "Content-Disposition: %s", kind);
    if (filename && *filename) {
        buf_append_str(&b, "; filename*=UTF-8''");
        for (const unsigned char *p = (const unsigned char *)filename; *p; p++) {
            if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                strchr("!#$&+-.^_`|~", *p))
                buf_append_char(&b, (char)*p);
            else
                buf_printf(&b, "%%%02X", *p);
        }
    }
    http_add_header(x, "%s", buf_cstr(&b));
    buf_free(&b);
}

void http_api_message_part(struct http_ctx *x) {
    const char *id = http_param(x, "ID"), *part_id = http_param(x, "PartID");
    struct http_api_loaded l;
    if (!http_api_load_message(x, id, true, &l)) return;
    struct http_api_detail_walk w = {0};
    w.found = http_api_find_part(l.mime, part_id, x->app->cfg->attached_message_max_depth, NULL);
    if (!w.found) {
        http_reply_text(x, 404, "part not found");
        http_api_loaded_free(&l);
        return;
    }
    buf_t b = BUF_INIT;
    http_api_part_bytes(w.found, &b);
    GMimeContentType *ct = g_mime_object_get_content_type(w.found);
    char *type = http_api_mime_type(w.found);
    const char *charset = ct ? g_mime_content_type_get_parameter(ct, "charset") : NULL;
    buf_t full = BUF_INIT;
    buf_append_str(&full, type);
    if (charset && !strchr(charset, '\r') && !strchr(charset, '\n')) buf_printf(&full, "; charset=%s", charset);
    /* a part's type is mail content: never let it become active content here */
    http_reply(x, 200, buf_cstr(&full), b.data, b.len);
    GMimeContentDisposition *disp = g_mime_object_get_content_disposition(w.found);
    const char *dname = disp ? g_mime_content_disposition_get_disposition(disp) : NULL;
    /* ?preview=1: shown in the page's preview frame, not saved. A PDF
     * then comes without the CSP sandbox: browsers' PDF viewers are
     * plugins, which a sandboxed document must not load (Chromium's draws
     * the PDF in its own extension process and runs no script of this
     * origin). Every other type stays sandboxed */
    buf_t pv = BUF_INIT;
    bool preview = http_query_get(x->req->query, "preview", &pv) && !strcmp(buf_cstr(&pv), "1");
    buf_free(&pv);
    bool inline_ = preview || (dname && !strcasecmp(dname, "inline"));
    add_disposition(x, inline_ ? "inline" : "attachment", http_api_part_filename(w.found));
    if (preview && !strcasecmp(type, "application/pdf"))
        http_add_header(x, "Content-Security-Policy: default-src 'none'; object-src 'self'; style-src 'unsafe-inline'; "
                           "form-action 'none'; base-uri 'none'; frame-ancestors 'self'");
    else
        http_add_header(x, "Content-Security-Policy: sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'");
    http_add_header(x, "X-Content-Type-Options: nosniff");
    buf_free(&full);
    free(type);
    buf_free(&b);
    http_api_loaded_free(&l);
}

/* GET .../part/{PartID}/thumb: Mailpit's 180x120 JPEG of an image part
 * (http/thumb.c), a blank one for any other part, named like the part. */
void http_api_message_thumb(struct http_ctx *x) {
    struct http_api_loaded l;
    if (!http_api_load_message(x, http_param(x, "ID"), true, &l)) return;
    struct http_api_detail_walk w = {0};
    w.found = http_api_find_part(l.mime, http_param(x, "PartID"), x->app->cfg->attached_message_max_depth, NULL);
    if (!w.found) {
        http_reply_text(x, 404, "part not found");
        http_api_loaded_free(&l);
        return;
    }
    buf_t data = BUF_INIT, jpeg = BUF_INIT;
    char *type = http_api_mime_type(w.found);
    if (!strncasecmp(type, "image/", 6)) http_api_part_bytes(w.found, &data);
    thumb_jpeg(data.data, data.len, &jpeg); /* blank without image bytes */
    http_reply(x, 200, "image/jpeg", jpeg.data, jpeg.len);
    const char *name = http_api_part_filename(w.found);
    if (!*name && g_mime_object_get_content_id(w.found)) name = g_mime_object_get_content_id(w.found);
    if (!strpbrk(name, "\"\r\n\\")) http_add_header(x, "Content-Disposition: filename=\"%s\"", name);
    http_add_header(x, "X-Content-Type-Options: nosniff");
    free(type);
    buf_free(&data);
    buf_free(&jpeg);
    http_api_loaded_free(&l);
}

/* ---- /view/{ID}.html and .txt --------------------------------------------------------- */

struct cid_walk {
    const char *api_id;
    buf_t *html;
};

static bool cid_part(GMimeObject *obj, const char *id, void *arg) {
    struct cid_walk *w = arg;
    const char *cid = g_mime_object_get_content_id(obj);
    if (!cid || !*cid) return true;
    buf_t pat = BUF_INIT, rep = BUF_INIT, out = BUF_INIT;
    buf_printf(&pat, "cid:%s", cid);
    buf_printf(&rep, "/api/v1/message/%s/part/%s", w->api_id, id);
    const char *s = buf_cstr(w->html);
    const char *hit;
    while ((hit = strcasestr(s, buf_cstr(&pat)))) {
        buf_append(&out, s, (size_t)(hit - s));
        buf_append(&out, rep.data, rep.len);
        s = hit + pat.len;
    }
    buf_append_str(&out, s);
    buf_reset(w->html);
    buf_append(w->html, out.data, out.len);
    buf_free(&pat);
    buf_free(&rep);
    buf_free(&out);
    return true;
}

/* One row of the print view's header table, the value escaped. */
static void print_row(buf_t *b, const char *name, const char *value) {
    if (!value || !*value) return;
    gchar *e = g_markup_escape_text(value, -1);
    buf_printf(b,
               "<tr><th style=\"text-align:left;vertical-align:top;padding:2px 12px 2px 0;color:#555;width:1%%;white-space:nowrap\">%s</th>"
               "<td style=\"padding:2px 0\">%s</td></tr>",
               name, e);
    g_free(e);
}

static void print_addresses(buf_t *b, const char *name, InternetAddressList *list) {
    char *v = list && internet_address_list_length(list) > 0 ? internet_address_list_to_string(list, NULL, FALSE) : NULL;
    print_row(b, name, v);
    g_free(v);
}

/* ?print=1: a page to print, the message's headers above its HTML (or
 * its text, escaped); shown under the same policy as the view. */
static void print_page(GMimeMessage *m, const struct http_api_detail_walk *w, buf_t *h) {
    const char *subject = g_mime_message_get_subject(m);
    gchar *title = g_markup_escape_text(subject ? subject : "", -1);
    buf_printf(h, "<!doctype html><meta charset=\"utf-8\"><base target=\"_blank\"><title>%s</title>", title);
    g_free(title);
    buf_append_str(h, "<table id=\"devmail-print-head\" style=\"font:13px/1.4 sans-serif;color:#000;border-collapse:"
                      "collapse;margin:0 0 12px;width:100%;border-bottom:1px solid #999\">");
    print_row(h, "Subject", subject);
    print_addresses(h, "From", g_mime_message_get_from(m));
    print_addresses(h, "To", g_mime_message_get_to(m));
    print_addresses(h, "Cc", g_mime_message_get_cc(m));
    GDateTime *d = g_mime_message_get_date(m);
    gchar *date = d ? g_date_time_format(d, "%a, %d %b %Y %H:%M:%S %z") : NULL;
    print_row(h, "Date", date);
    g_free(date);
    buf_append_str(h, "</table>\n");
    if (w->html) {
        buf_append_str(h, w->html);
    } else {
        gchar *t = g_markup_escape_text(w->text ? w->text : "", -1);
        buf_printf(h, "<pre style=\"white-space:pre-wrap;font:13px/1.45 monospace;margin:0\">%s</pre>", t);
        g_free(t);
    }
}

/* The HTML or text view of message m: the stored message (prefix "") or
 * one attached to it as part prefix; cid: links point at its parts. */
void http_api_view_message(struct http_ctx *x, GMimeMessage *m, const char *prefix, const char *api_id, bool txt) {
    struct http_api_detail_walk w = {0};
    http_api_walk_parts_under(m, prefix, http_api_detail_part, &w);
    text_from_html(&w);
    buf_t q = BUF_INIT;
    /* ?dl=1: a download of the part as it is, named after the message */
    bool download = http_query_get(x->req->query, "dl", &q) && !strcmp(buf_cstr(&q), "1");
    buf_reset(&q);
    /* ?scheme=dark|light: the mail as a client in that mode shows it */
    int scheme = !http_query_get(x->req->query, "scheme", &q) ? -1
                 : !strcmp(buf_cstr(&q), "dark")               ? 1
                 : !strcmp(buf_cstr(&q), "light")              ? 0
                                                               : -1;
    buf_reset(&q);
    bool print = http_query_get(x->req->query, "print", &q) && !strcmp(buf_cstr(&q), "1");
    buf_free(&q);
    if (txt) {
        http_reply(x, 200, "text/plain; charset=utf-8", w.text ? w.text : "", w.text ? strlen(w.text) : 0);
        http_add_header(x, "X-Content-Type-Options: nosniff");
        if (download) http_add_header(x, "Content-Disposition: attachment; filename=\"%s.txt\"", api_id);
    } else if (!w.html && !print) {
        http_reply_text(x, 404, "message has no HTML part");
    } else {
        buf_t h = BUF_INIT;
        if (download) {
            buf_append_str(&h, w.html);
        } else if (print) {
            print_page(m, &w, &h);
            struct cid_walk cw = {api_id, &h};
            http_api_walk_parts_under(m, prefix, cid_part, &cw);
        } else {
            /* links in a mail open in a new tab (the frame may open popups),
             * never inside the frame; the first <base> wins, so it goes
             * first, after the mail's doctype (before it, the mail would be
             * shown in quirks mode) */
            size_t len = strlen(w.html), dt = html_doctype_end(w.html, len);
            buf_append(&h, w.html, dt);
            buf_append_str(&h, "<base target=\"_blank\">");
            if (scheme >= 0) html_force_color_scheme(w.html + dt, len - dt, scheme == 1, &h);
            else buf_append(&h, w.html + dt, len - dt);
            struct cid_walk cw = {api_id, &h};
            http_api_walk_parts_under(m, prefix, cid_part, &cw);
        }
        http_reply(x, 200, "text/html; charset=utf-8", h.data, h.len);
        if (download) http_add_header(x, "Content-Disposition: attachment; filename=\"%s.html\"", api_id);
        buf_free(&h);
        buf_t remote = BUF_INIT;
        bool allow_remote = http_query_get(x->req->query, "remote", &remote) && !strcmp(buf_cstr(&remote), "1");
        buf_free(&remote);
        /* no script at all; images only from the message itself unless asked.
         * sandbox: also when the mail is opened directly in a tab, it has an
         * opaque origin and no automatic features (a meta refresh does not
         * navigate); only a clicked target=_blank link opens, in a new tab */
        http_add_header(x,
                        "Content-Security-Policy: sandbox allow-popups allow-popups-to-escape-sandbox; "
                        "default-src 'none'; style-src 'unsafe-inline'; "
                        "img-src data: cid: 'self'%s; font-src data:; form-action 'none'; base-uri 'none'; "
                        "frame-ancestors 'self'",
                        allow_remote ? " http: https:" : "");
        http_add_header(x, "X-Frame-Options: SAMEORIGIN");
        http_add_header(x, "X-Content-Type-Options: nosniff");
        http_add_header(x, "Referrer-Policy: no-referrer");
    }
    free(w.text);
    free(w.html);
}

static void view(struct http_ctx *x, bool txt) {
    struct http_api_loaded l;
    if (!http_api_load_message(x, http_param(x, "ID"), true, &l)) return;
    http_api_view_message(x, l.mime, "", l.msg.api_id, txt);
    http_api_loaded_free(&l);
}

void http_api_view_html(struct http_ctx *x) {
    view(x, false);
}

void http_api_view_text(struct http_ctx *x) {
    view(x, true);
}

