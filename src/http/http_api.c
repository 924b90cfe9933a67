/*
 * http_api - the Mailpit v1 API, /view, /metrics and health checks.
 *
 * Every list and lookup goes through one scope: the INBOX mailboxes of
 * the visible account(s) (x->account, or NULL for all), asked of the store
 * through store/api_query.h; a search is parsed here (core/search_query.h)
 * and compiled into the store's query there. Message bodies are read from the Maildir
 * file and parsed with GMime per request; parts are numbered like IMAP
 * sections ("1", "2.1"), walked without recursion to a bounded depth.
 */
#include "http/http_api.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gmime/gmime.h>

#include "app/sasl.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "core/search_query.h"
#include "store/api_query.h"

/* Features of Mailpit that devmail does not have; they answer 400. */
#define NOT_ENABLED_RELEASE "message release not enabled"
#define NOT_ENABLED_HTML_CHECK "HTML check not enabled"
#define NOT_ENABLED_LINK_CHECK "link check not enabled"
#define NOT_ENABLED_SA_CHECK "SpamAssassin check not enabled"
#define NOT_ENABLED_CHAOS "chaos not enabled"

static time_t api_started;

/* ---- small helpers ------------------------------------------------------- */

static void rfc3339(int64_t t, buf_t *out) {
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    char s[40];
    strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    buf_append_str(out, s);
}

static void add_time(cJSON *o, const char *name, int64_t t) {
    buf_t b = BUF_INIT;
    rfc3339(t, &b);
    cJSON_AddStringToObject(o, name, buf_cstr(&b));
    buf_free(&b);
}

/* The index could not answer: 500 (the store logged why). */
static void query_failed(struct http_ctx *x) {
    http_reply_text(x, 500, "index query failed");
}

/* Every distinct tag (keyword) in scope, sorted; NULL if the index failed. */
static cJSON *all_tags(struct http_ctx *x) {
    char **v;
    size_t n;
    if (api_query_tags(x->app->store, x->account, &v, &n) < 0) return NULL;
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(arr, cJSON_CreateString(v[i]));
    api_query_tags_free(v, n);
    return arr;
}

static cJSON *tags_array(const char *keywords) {
    cJSON *arr = cJSON_CreateArray();
    const char *k = keywords ? keywords : "";
    while (*k) {
        size_t l = strcspn(k, " ");
        if (l) {
            char *t = xstrndup(k, l);
            cJSON_AddItemToArray(arr, cJSON_CreateString(t));
            free(t);
        }
        k += l;
        while (*k == ' ') k++;
    }
    return arr;
}

static cJSON *address_json(const char *name, const char *addr) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "Name", name ? name : "");
    cJSON_AddStringToObject(o, "Address", addr ? addr : "");
    return o;
}

/* Parse an address list (decoded text from the index) into [{Name, Address}];
 * group members are listed flat. */
static void add_addresses(cJSON *arr, const char *text) {
    if (!text || !*text) return;
    InternetAddressList *l = internet_address_list_parse(NULL, text);
    if (!l) return;
    int n = internet_address_list_length(l);
    for (int i = 0; i < n; i++) {
        InternetAddress *a = internet_address_list_get_address(l, i);
        if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
            cJSON_AddItemToArray(arr, address_json(internet_address_get_name(a),
                                                   internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a))));
        } else if (INTERNET_ADDRESS_IS_GROUP(a)) {
            InternetAddressList *m = internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a));
            int k = m ? internet_address_list_length(m) : 0;
            for (int j = 0; j < k; j++) {
                InternetAddress *b = internet_address_list_get_address(m, j);
                if (INTERNET_ADDRESS_IS_MAILBOX(b))
                    cJSON_AddItemToArray(arr, address_json(internet_address_get_name(b),
                                                           internet_address_mailbox_get_addr(
                                                               INTERNET_ADDRESS_MAILBOX(b))));
            }
        }
    }
    g_object_unref(l);
}

static bool addr_in(cJSON *arr, const char *addr, size_t len) {
    cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        cJSON *a = cJSON_GetObjectItemCaseSensitive(it, "Address");
        if (cJSON_IsString(a) && strlen(a->valuestring) == len && !strncasecmp(a->valuestring, addr, len)) return true;
    }
    return false;
}

/* One message summary as Mailpit lists it. */
static cJSON *summary_json(const struct api_query_summary *m) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "ID", m->api_id);
    cJSON_AddStringToObject(o, "MessageID", m->message_id);
    cJSON_AddBoolToObject(o, "Read", (m->flags & MSG_SEEN) != 0);
    cJSON *from = cJSON_CreateArray();
    add_addresses(from, m->hdr_from);
    cJSON *first = cJSON_DetachItemFromArray(from, 0);
    cJSON_AddItemToObject(o, "From", first ? first : address_json("", ""));
    cJSON_Delete(from);
    cJSON *to = cJSON_AddArrayToObject(o, "To");
    add_addresses(to, m->hdr_to);
    cJSON *cc = cJSON_AddArrayToObject(o, "Cc");
    add_addresses(cc, m->hdr_cc);
    cJSON *bcc = cJSON_AddArrayToObject(o, "Bcc");
    add_addresses(bcc, m->hdr_bcc);
    /* envelope recipients named in no header were Bcc'd */
    const char *r = m->rcpts;
    while (*r) {
        while (*r == ' ' || *r == ',') r++;
        size_t l = strcspn(r, ",");
        size_t t = l;
        while (t && r[t - 1] == ' ') t--;
        const char *a = r;
        if (t >= 2 && a[0] == '<' && a[t - 1] == '>') {
            a++;
            t -= 2;
        }
        if (t && !addr_in(to, a, t) && !addr_in(cc, a, t) && !addr_in(bcc, a, t)) {
            char *s = xstrndup(a, t);
            cJSON_AddItemToArray(bcc, address_json("", s));
            free(s);
        }
        r += l;
    }
    cJSON *reply = cJSON_AddArrayToObject(o, "ReplyTo");
    add_addresses(reply, m->hdr_reply_to);
    cJSON_AddStringToObject(o, "Subject", m->subject);
    add_time(o, "Created", m->internaldate);
    cJSON_AddStringToObject(o, "Username", "");
    cJSON_AddItemToObject(o, "Tags", tags_array(m->keywords));
    cJSON_AddNumberToObject(o, "Size", (double)m->size);
    cJSON_AddNumberToObject(o, "Attachments", m->attachments);
    cJSON_AddStringToObject(o, "Snippet", m->snippet);
    return o;
}

/* Parse a non-negative integer parameter; false on junk. */
static bool param_int(struct http_ctx *x, const char *name, int64_t def, int64_t *out) {
    buf_t v = BUF_INIT;
    *out = def;
    bool ok = true;
    if (http_query_get(x->req->query, name, &v) && v.len) {
        char *end;
        errno = 0;
        long long n = strtoll(buf_cstr(&v), &end, 10);
        if (*end || errno || n < 0) ok = false;
        else *out = n;
    }
    buf_free(&v);
    return ok;
}

/* ?wait=30s / 500ms / 2m / 30 -> milliseconds (0: none); -1 on junk. */
static int64_t param_wait(struct http_ctx *x) {
    buf_t v = BUF_INIT;
    int64_t ms = 0;
    if (http_query_get(x->req->query, "wait", &v) && v.len) {
        const char *s = buf_cstr(&v);
        char *end;
        errno = 0;
        double n = strtod(s, &end);
        if (end == s || errno || n < 0) ms = -1;
        else if (!*end || !strcmp(end, "s")) ms = (int64_t)(n * 1000);
        else if (!strcmp(end, "ms")) ms = (int64_t)n;
        else if (!strcmp(end, "m")) ms = (int64_t)(n * 60000);
        else ms = -1;
        if (ms > (int64_t)HTTP_MAX_WAIT_SECONDS * 1000) ms = (int64_t)HTTP_MAX_WAIT_SECONDS * 1000;
    }
    buf_free(&v);
    return ms;
}

static bool method_is(struct http_ctx *x, const char *m) {
    if (!strcmp(m, "GET") && !strcmp(x->req->method, "HEAD")) return true;
    return !strcmp(x->req->method, m);
}

static void not_allowed(struct http_ctx *x, const char *allow) {
    http_reply_text(x, 405, "method not allowed");
    http_add_header(x, "Allow: %s", allow);
}

/* Parse the JSON body; NULL (and a 400 answer) if it is not JSON. An
 * empty body is an empty object. */
static cJSON *json_body(struct http_ctx *x) {
    if (!x->req->body_len) return cJSON_CreateObject();
    cJSON *j = cJSON_ParseWithLength(x->req->body, x->req->body_len);
    if (!j || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        http_reply_text(x, 400, "invalid JSON body");
        return NULL;
    }
    return j;
}

/* Row of an API ID ("latest" allowed) in scope: 1 (*row set), 0 unknown, -1. */
static int find_row(struct http_ctx *x, const char *id, int64_t *row) {
    if (!strcmp(id, "latest")) return api_query_latest(x->app->store, x->account, row);
    return api_query_find(x->app->store, x->account, id, row);
}

/* ---- MIME walking ----------------------------------------------------------- */

struct part_item {
    GMimeObject *obj;
    char *id;
    int depth;
};

typedef bool (*part_fn)(GMimeObject *obj, const char *id, void *arg); /* false: stop */

/* Visit the leaf parts of m in document order with IMAP section numbers. */
static void walk_parts(GMimeMessage *m, part_fn fn, void *arg) {
    GMimeObject *body = g_mime_message_get_mime_part(m);
    if (!body) return;
    struct part_item *stack = NULL;
    size_t n = 0, cap = 0;
#define PUSH(o, idv, d)                                                                                           \
    do {                                                                                                           \
        if (n == cap) {                                                                                            \
            cap = cap ? cap * 2 : 16;                                                                              \
            stack = xrealloc(stack, cap * sizeof *stack);                                                          \
        }                                                                                                          \
        stack[n].obj = (o);                                                                                        \
        stack[n].id = (idv);                                                                                       \
        stack[n].depth = (d);                                                                                      \
        n++;                                                                                                       \
    } while (0)
    if (GMIME_IS_MULTIPART(body)) PUSH(body, xstrdup(""), 0);
    else PUSH(body, xstrdup("1"), 0);
    bool go = true;
    while (n > 0) {
        struct part_item it = stack[--n];
        if (go && GMIME_IS_MULTIPART(it.obj)) {
            int k = g_mime_multipart_get_count(GMIME_MULTIPART(it.obj));
            if (it.depth < HTTP_API_MAX_MIME_DEPTH) {
                for (int i = k - 1; i >= 0; i--) {
                    buf_t id = BUF_INIT;
                    if (it.id[0]) buf_printf(&id, "%s.%d", it.id, i + 1);
                    else buf_printf(&id, "%d", i + 1);
                    PUSH(g_mime_multipart_get_part(GMIME_MULTIPART(it.obj), i), buf_steal(&id), it.depth + 1);
                }
            }
        } else if (go) {
            go = fn(it.obj, it.id, arg);
        }
        free(it.id);
    }
#undef PUSH
    free(stack);
}

/* Decoded bytes of a leaf part. */
static void part_bytes(GMimeObject *obj, buf_t *out) {
    GMimeStream *mem = g_mime_stream_mem_new();
    if (GMIME_IS_PART(obj)) {
        GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(obj));
        if (w) g_mime_data_wrapper_write_to_stream(w, mem);
    } else if (GMIME_IS_MESSAGE_PART(obj)) {
        GMimeMessage *mm = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
        if (mm) g_mime_object_write_to_stream(GMIME_OBJECT(mm), NULL, mem);
    }
    GByteArray *ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
    if (ba && ba->len) buf_append(out, ba->data, ba->len);
    g_object_unref(mem);
}

static char *mime_type(GMimeObject *obj) {
    GMimeContentType *ct = g_mime_object_get_content_type(obj);
    char *t = ct ? g_mime_content_type_get_mime_type(ct) : NULL;
    char *r = xstrdup(t ? t : "application/octet-stream");
    g_free(t);
    return r;
}

static const char *part_filename(GMimeObject *obj) {
    if (GMIME_IS_PART(obj)) {
        const char *f = g_mime_part_get_filename(GMIME_PART(obj));
        if (f) return f;
    }
    return "";
}

enum part_kind { PART_TEXT, PART_HTML, PART_INLINE, PART_ATTACHMENT, PART_SKIP };

/* Mailpit's split: the first text/plain and text/html bodies, inline parts
 * (inline disposition or a Content-ID) and attachments. */
static enum part_kind classify(GMimeObject *obj, bool have_text, bool have_html) {
    GMimeContentType *ct = g_mime_object_get_content_type(obj);
    GMimeContentDisposition *disp = g_mime_object_get_content_disposition(obj);
    const char *dname = disp ? g_mime_content_disposition_get_disposition(disp) : NULL;
    bool attachment = dname && !strcasecmp(dname, "attachment");
    if (!attachment && GMIME_IS_TEXT_PART(obj)) {
        if (g_mime_content_type_is_type(ct, "text", "plain")) return have_text ? PART_SKIP : PART_TEXT;
        if (g_mime_content_type_is_type(ct, "text", "html")) return have_html ? PART_SKIP : PART_HTML;
    }
    if (!attachment && ((dname && !strcasecmp(dname, "inline")) || g_mime_object_get_content_id(obj)))
        return PART_INLINE;
    return PART_ATTACHMENT;
}

struct detail_walk {
    char *text, *html;
    cJSON *inline_parts, *attachments;
    /* find mode */
    const char *want_id;
    GMimeObject *found;
    /* cid rewriting */
    const char *api_id;
    buf_t *html_out;
};

static cJSON *attachment_json(GMimeObject *obj, const char *id) {
    cJSON *a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "PartID", id);
    cJSON_AddStringToObject(a, "FileName", part_filename(obj));
    char *t = mime_type(obj);
    cJSON_AddStringToObject(a, "ContentType", t);
    free(t);
    const char *cid = g_mime_object_get_content_id(obj);
    cJSON_AddStringToObject(a, "ContentID", cid ? cid : "");
    buf_t b = BUF_INIT;
    part_bytes(obj, &b);
    cJSON_AddNumberToObject(a, "Size", (double)b.len);
    cJSON *sums = cJSON_AddObjectToObject(a, "Checksums");
    static const struct {
        const char *name;
        GChecksumType type;
    } kinds[] = {{"MD5", G_CHECKSUM_MD5}, {"SHA1", G_CHECKSUM_SHA1}, {"SHA256", G_CHECKSUM_SHA256}};
    for (size_t i = 0; i < 3; i++) {
        gchar *h = g_compute_checksum_for_data(kinds[i].type, (const guchar *)(b.data ? b.data : ""), b.len);
        cJSON_AddStringToObject(sums, kinds[i].name, h);
        g_free(h);
    }
    buf_free(&b);
    return a;
}

static bool detail_part(GMimeObject *obj, const char *id, void *arg) {
    struct detail_walk *w = arg;
    if (w->want_id) {
        if (!strcmp(id, w->want_id)) {
            w->found = obj;
            return false;
        }
        return true;
    }
    switch (classify(obj, w->text != NULL, w->html != NULL)) {
    case PART_TEXT: {
        char *t = g_mime_text_part_get_text(GMIME_TEXT_PART(obj));
        w->text = xstrdup(t ? t : "");
        g_free(t);
        break;
    }
    case PART_HTML: {
        char *t = g_mime_text_part_get_text(GMIME_TEXT_PART(obj));
        w->html = xstrdup(t ? t : "");
        g_free(t);
        break;
    }
    case PART_INLINE:
        if (w->inline_parts) cJSON_AddItemToArray(w->inline_parts, attachment_json(obj, id));
        break;
    case PART_ATTACHMENT:
        if (w->attachments) cJSON_AddItemToArray(w->attachments, attachment_json(obj, id));
        break;
    case PART_SKIP: break;
    }
    return true;
}

static GMimeMessage *parse_file(const char *path) {
    GError *gerr = NULL;
    GMimeStream *stream = g_mime_stream_fs_open(path, O_RDONLY, 0, &gerr);
    if (!stream) {
        if (gerr) g_error_free(gerr);
        return NULL;
    }
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    GMimeMessage *m = g_mime_parser_construct_message(parser, NULL);
    g_object_unref(parser);
    g_object_unref(stream);
    return m;
}

/* Load a message by API ID: row, store record and parsed MIME. 404 answered when unknown. */
struct loaded {
    int64_t row;
    struct store_msg msg;
    GMimeMessage *mime;
};

static bool load_message(struct http_ctx *x, const char *id, bool parse, struct loaded *l) {
    memset(l, 0, sizeof *l);
    int found = find_row(x, id, &l->row);
    if (found < 0) {
        query_failed(x);
        return false;
    }
    if (!found || store_msg_get(x->app->store, l->row, &l->msg) < 0) {
        http_reply_text(x, 404, "message not found");
        return false;
    }
    if (parse) {
        l->mime = parse_file(l->msg.path);
        if (!l->mime) {
            store_msg_free(&l->msg);
            http_reply_text(x, 404, "message file not found");
            return false;
        }
    }
    return true;
}

static void loaded_free(struct loaded *l) {
    if (l->mime) g_object_unref(l->mime);
    store_msg_free(&l->msg);
}

/* The summary of row in scope: 1 (*o set), 0 not in scope, -1. */
static int summary_for_row(struct app *app, const char *account, int64_t row, cJSON **o) {
    struct api_query_summary m;
    int rc = api_query_summary(app->store, account, row, &m);
    if (rc == 1) *o = summary_json(&m);
    api_query_summary_free(&m);
    return rc;
}

/* ---- list and search ------------------------------------------------------------ */

/* Answer a page of messages (optionally filtered by the search q). */
static void list_messages(struct http_ctx *x, const struct search_query *q) {
    int64_t start, limit;
    if (!param_int(x, "start", 0, &start) || !param_int(x, "limit", HTTP_API_DEFAULT_LIMIT, &limit)) {
        http_reply_text(x, 400, "start and limit must be non-negative integers");
        return;
    }
    if (limit == 0) limit = HTTP_API_DEFAULT_LIMIT;
    if (limit > HTTP_API_MAX_LIMIT) limit = HTTP_API_MAX_LIMIT;
    struct store *st = x->app->store;
    int64_t total, unread, mtotal, munread;
    if (api_query_count(st, x->account, NULL, &total, &unread) < 0 ||
        (q && api_query_count(st, x->account, q, &mtotal, &munread) < 0)) {
        query_failed(x);
        return;
    }
    if (!q) mtotal = total, munread = unread;
    struct api_query_summary *page;
    size_t count;
    if (api_query_list(st, x->account, q, start, limit, &page, &count) < 0) {
        query_failed(x);
        return;
    }
    cJSON *tags = all_tags(x);
    if (!tags) {
        api_query_list_free(page, count);
        query_failed(x);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "total", (double)total);
    cJSON_AddNumberToObject(o, "unread", (double)unread);
    cJSON *msgs = cJSON_CreateArray();
    for (size_t i = 0; i < count; i++) cJSON_AddItemToArray(msgs, summary_json(&page[i]));
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
    if (search_query_parse(q.data ? q.data : "", q.len, 0, sq, &err) < 0) {
        http_reply_text(x, 400, buf_cstr(&err));
    } else if (sq->count == 0) {
        search_query_free(sq);
        http_reply_text(x, 400, "no search query");
    } else {
        ok = true;
    }
    buf_free(&q);
    buf_free(&err);
    return ok;
}

/* One event frame for a bulk change ("update" with Read, or "delete"). */
static void bulk_event(struct http_ctx *x, const char *type, const int64_t *rows, char **ids, size_t n, int read) {
    cJSON *f = cJSON_CreateObject();
    if (n > HTTP_API_MAX_EVENT_IDS) {
        cJSON_AddStringToObject(f, "Type", "prune");
        cJSON_AddNullToObject(f, "Data");
    } else {
        cJSON_AddStringToObject(f, "Type", type);
        cJSON *d = cJSON_AddObjectToObject(f, "Data");
        cJSON *arr = cJSON_AddArrayToObject(d, "IDs");
        for (size_t i = 0; i < n; i++) {
            if (ids && ids[i]) cJSON_AddItemToArray(arr, cJSON_CreateString(ids[i]));
            else if (rows) {
                struct store_msg m;
                if (store_msg_get(x->app->store, rows[i], &m) < 0) continue;
                cJSON_AddItemToArray(arr, cJSON_CreateString(m.api_id));
                store_msg_free(&m);
            }
        }
        if (read >= 0) cJSON_AddBoolToObject(d, "Read", read);
    }
    http_events_send(x->srv, x->account, f);
}

/* Mark rows read or unread; false (500 answered) if the store failed. */
static bool set_read_rows(struct http_ctx *x, const int64_t *rows, size_t n, bool read) {
    http_events_quiet(x->srv, true);
    int rc = api_query_mark_read(x->app->store, rows, n, read);
    http_events_quiet(x->srv, false);
    if (rc < 0) {
        http_reply_text(x, 500, "could not change the messages");
        return false;
    }
    if (n) bulk_event(x, "update", rows, NULL, n, read);
    return true;
}

/* Delete rows; false (500 answered) if the store failed. */
static bool delete_rows(struct http_ctx *x, const int64_t *rows, size_t n) {
    char **ids = n <= HTTP_API_MAX_EVENT_IDS ? xcalloc(n ? n : 1, sizeof *ids) : NULL;
    for (size_t i = 0; ids && i < n; i++) {
        struct store_msg m;
        if (store_msg_get(x->app->store, rows[i], &m) < 0) continue;
        ids[i] = m.api_id;
        m.api_id = NULL;
        store_msg_free(&m);
    }
    http_events_quiet(x->srv, true);
    int rc = api_query_delete(x->app->store, rows, n);
    http_events_quiet(x->srv, false);
    /* what was removed before an error is gone: say so either way */
    if (n) bulk_event(x, "delete", NULL, ids, n, -1);
    for (size_t i = 0; ids && i < n; i++) free(ids[i]);
    free(ids);
    if (rc < 0) {
        http_reply_text(x, 500, "could not delete the messages");
        return false;
    }
    return true;
}

/* Rows named by body "IDs" (all in scope when absent or empty); false with 404/400/500 answered. */
static bool rows_from_ids(struct http_ctx *x, cJSON *body, int64_t **rows, size_t *n) {
    cJSON *ids = cJSON_GetObjectItemCaseSensitive(body, "IDs");
    *rows = NULL;
    *n = 0;
    if (ids && !cJSON_IsArray(ids) && !cJSON_IsNull(ids)) {
        http_reply_text(x, 400, "IDs must be an array of strings");
        return false;
    }
    if (!ids || cJSON_GetArraySize(ids) == 0) {
        if (api_query_rows(x->app->store, x->account, NULL, rows, n) < 0) {
            query_failed(x);
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
        int found = find_row(x, it->valuestring, &v[i]);
        if (found <= 0) {
            if (found < 0) {
                query_failed(x);
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

static void api_messages(struct http_ctx *x) {
    if (method_is(x, "GET")) {
        list_messages(x, NULL);
        return;
    }
    bool put = method_is(x, "PUT"), del = method_is(x, "DELETE");
    if (!put && !del) {
        not_allowed(x, "GET, PUT, DELETE");
        return;
    }
    cJSON *body = json_body(x);
    if (!body) return;
    int64_t *rows = NULL;
    size_t n = 0;
    cJSON *search = cJSON_GetObjectItemCaseSensitive(body, "Search");
    if (put && cJSON_IsString(search) && search->valuestring[0]) {
        buf_t err = BUF_INIT;
        struct search_query sq;
        if (search_query_parse(search->valuestring, strlen(search->valuestring), 0, &sq, &err) < 0) {
            http_reply_text(x, 400, buf_cstr(&err));
            buf_free(&err);
            cJSON_Delete(body);
            return;
        }
        int rc = api_query_rows(x->app->store, x->account, &sq, &rows, &n);
        search_query_free(&sq);
        buf_free(&err);
        if (rc < 0) {
            query_failed(x);
            cJSON_Delete(body);
            return;
        }
    } else if (!rows_from_ids(x, body, &rows, &n)) {
        cJSON_Delete(body);
        return;
    }
    if (put) {
        cJSON *read = cJSON_GetObjectItemCaseSensitive(body, "Read");
        if (read && !cJSON_IsBool(read)) http_reply_text(x, 400, "Read must be true or false");
        else if (set_read_rows(x, rows, n, read ? cJSON_IsTrue(read) : false)) http_reply_text(x, 200, "ok");
    } else if (delete_rows(x, rows, n)) {
        http_reply_text(x, 200, "ok");
    }
    free(rows);
    cJSON_Delete(body);
}

static void api_search(struct http_ctx *x) {
    bool del = method_is(x, "DELETE");
    if (!method_is(x, "GET") && !del) {
        not_allowed(x, "GET, DELETE");
        return;
    }
    struct search_query sq;
    if (!search_param(x, &sq)) return;
    if (del) {
        size_t n;
        int64_t *rows;
        if (api_query_rows(x->app->store, x->account, &sq, &rows, &n) < 0) {
            query_failed(x);
        } else {
            if (delete_rows(x, rows, n)) http_reply_text(x, 200, "ok");
            free(rows);
        }
        search_query_free(&sq);
        return;
    }
    int64_t wait = param_wait(x);
    if (wait < 0) {
        http_reply_text(x, 400, "bad wait duration (use e.g. 30s, 500ms, 2m)");
        search_query_free(&sq);
        return;
    }
    if (wait > 0 && !x->waited) {
        int64_t total, unread;
        if (api_query_count(x->app->store, x->account, &sq, &total, &unread) < 0) {
            query_failed(x);
            search_query_free(&sq);
            return;
        }
        if (total == 0) {
            search_query_free(&sq);
            http_defer_wait(x, wait);
            return;
        }
    }
    list_messages(x, &sq);
    search_query_free(&sq);
}

/* ---- one message ---------------------------------------------------------------- */

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

static void api_message_get(struct http_ctx *x, const char *id) {
    struct loaded l;
    if (!load_message(x, id, true, &l)) return;
    struct api_query_summary m;
    int found = api_query_summary(x->app->store, x->account, l.row, &m);
    if (found <= 0) {
        loaded_free(&l);
        if (found < 0) query_failed(x);
        else http_reply_text(x, 404, "message not found");
        return;
    }
    cJSON *o = summary_json(&m);
    cJSON_DeleteItemFromObjectCaseSensitive(o, "Snippet");
    cJSON_AddStringToObject(o, "ReturnPath", m.mail_from);
    add_time(o, "Date", m.sent_date ? m.sent_date : m.internaldate);
    api_query_summary_free(&m);
    list_unsubscribe(l.mime, o);
    struct detail_walk w = {0};
    w.inline_parts = cJSON_CreateArray();
    w.attachments = cJSON_CreateArray();
    walk_parts(l.mime, detail_part, &w);
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
    loaded_free(&l);
    http_reply_json(x, 200, o);
}

static void api_message_headers(struct http_ctx *x, const char *id) {
    struct loaded l;
    if (!load_message(x, id, true, &l)) return;
    cJSON *o = cJSON_CreateObject();
    GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(l.mime));
    int n = g_mime_header_list_get_count(hl);
    for (int i = 0; i < n; i++) {
        GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
        const char *name = g_mime_header_get_name(h);
        const char *value = g_mime_header_get_value(h);
        if (!name) continue;
        cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, name);
        if (!arr) arr = cJSON_AddArrayToObject(o, name);
        cJSON_AddItemToArray(arr, cJSON_CreateString(value ? value : ""));
    }
    loaded_free(&l);
    http_reply_json(x, 200, o);
}

static bool read_file(const char *path, buf_t *out) {
    return buf_load_file(out, path) == 0;
}

static void api_message_raw(struct http_ctx *x, const char *id) {
    struct loaded l;
    if (!load_message(x, id, false, &l)) return;
    buf_t b = BUF_INIT;
    if (!read_file(l.msg.path, &b)) http_reply_text(x, 404, "message file not found");
    else http_reply(x, 200, "text/plain; charset=utf-8", b.data, b.len);
    http_add_header(x, "X-Content-Type-Options: nosniff");
    buf_free(&b);
    loaded_free(&l);
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

static void api_message_part(struct http_ctx *x, const char *id, const char *part_id) {
    struct loaded l;
    if (!load_message(x, id, true, &l)) return;
    struct detail_walk w = {0};
    w.want_id = part_id;
    walk_parts(l.mime, detail_part, &w);
    if (!w.found) {
        http_reply_text(x, 404, "part not found");
        loaded_free(&l);
        return;
    }
    buf_t b = BUF_INIT;
    part_bytes(w.found, &b);
    GMimeContentType *ct = g_mime_object_get_content_type(w.found);
    char *type = mime_type(w.found);
    const char *charset = ct ? g_mime_content_type_get_parameter(ct, "charset") : NULL;
    buf_t full = BUF_INIT;
    buf_append_str(&full, type);
    if (charset && !strchr(charset, '\r') && !strchr(charset, '\n')) buf_printf(&full, "; charset=%s", charset);
    /* a part's type is mail content: never let it become active content here */
    http_reply(x, 200, buf_cstr(&full), b.data, b.len);
    GMimeContentDisposition *disp = g_mime_object_get_content_disposition(w.found);
    const char *dname = disp ? g_mime_content_disposition_get_disposition(disp) : NULL;
    add_disposition(x, dname && !strcasecmp(dname, "inline") ? "inline" : "attachment", part_filename(w.found));
    http_add_header(x, "Content-Security-Policy: sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'");
    http_add_header(x, "X-Content-Type-Options: nosniff");
    buf_free(&full);
    free(type);
    buf_free(&b);
    loaded_free(&l);
}

/* ---- views ------------------------------------------------------------------------ */

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

static void api_view(struct http_ctx *x, const char *rest) {
    if (!method_is(x, "GET")) {
        not_allowed(x, "GET");
        return;
    }
    size_t n = strlen(rest);
    bool html = n > 5 && !strcmp(rest + n - 5, ".html");
    bool txt = n > 4 && !strcmp(rest + n - 4, ".txt");
    if (!html && !txt) {
        http_reply_text(x, 404, "not found");
        return;
    }
    char *id = xstrndup(rest, n - (html ? 5 : 4));
    struct loaded l;
    if (!load_message(x, id, true, &l)) {
        free(id);
        return;
    }
    struct detail_walk w = {0};
    walk_parts(l.mime, detail_part, &w);
    if (txt) {
        http_reply(x, 200, "text/plain; charset=utf-8", w.text ? w.text : "", w.text ? strlen(w.text) : 0);
        http_add_header(x, "X-Content-Type-Options: nosniff");
    } else if (!w.html) {
        http_reply_text(x, 404, "message has no HTML part");
    } else {
        buf_t h = BUF_INIT;
        /* links in a mail open in a new tab (the frame may open popups),
         * never inside the frame; the first <base> wins, so it goes first */
        buf_append_str(&h, "<base target=\"_blank\">");
        buf_append_str(&h, w.html);
        struct cid_walk cw = {l.msg.api_id, &h};
        walk_parts(l.mime, cid_part, &cw);
        http_reply(x, 200, "text/html; charset=utf-8", h.data, h.len);
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
    loaded_free(&l);
    free(id);
}

/* ---- send ------------------------------------------------------------------------- */

struct api_send {
    void *token;
    struct app *app;
    struct store_delivery d;
    char *tags; /* keywords to set, or NULL */
};

static bool valid_tag(const char *t) {
    if (!*t || strlen(t) > 256) return false;
    for (const unsigned char *p = (const unsigned char *)t; *p; p++)
        if (*p <= 0x20 || *p == 0x7f || strchr("(){%*\"\\]", *p)) return false;
    if (t[0] == '\\') return false;
    return true;
}

static void send_done(struct store_delivery *d, int result, void *arg) {
    struct api_send *s = arg;
    struct http_ctx *x = http_token_ctx(s->token);
    bool tagged = true;
    if (result == 0 && d->n && d->files[0].new_path && s->tags) {
        /* each copy the delivery indexed (uid 0: indexing failed) */
        int64_t rows[d->n];
        size_t n = 0;
        for (size_t i = 0; i < d->n; i++)
            if (d->uids[i]) rows[n++] = d->rows[i];
        tagged = api_query_set_tags(s->app->store, rows, n, s->tags) == 0;
    }
    if (!tagged) {
        log_error("http: a message sent via the API was stored, but its tags could not be set");
        http_reply_text(x, 500, "message stored, but its tags could not be set");
    } else if (result == 0 && d->n && d->files[0].new_path) {
        const char *base = strrchr(d->files[0].new_path, '/') + 1;
        buf_t id = BUF_INIT;
        index_api_id(base, &id);
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
        http_reply_text(x, 500, "could not store the message");
    }
    store_delivery_free(d);
    free(s->tags);
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
        buf_append_str(err, "From.Email must be a valid address");
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
                buf_printf(err, "invalid address in %s", lists[i].key);
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
    cJSON *hdrs = cJSON_GetObjectItemCaseSensitive(j, "Headers");
    if (cJSON_IsObject(hdrs)) {
        cJSON *it;
        cJSON_ArrayForEach(it, hdrs) {
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
            if (!cJSON_IsString(content) || !cJSON_IsString(fname) ||
                sasl_b64_decode(content->valuestring, strlen(content->valuestring), &data) < 0) {
                buf_free(&data);
                buf_append_str(err, "each attachment needs Filename and base64 Content");
                g_object_unref(body);
                g_object_unref(m);
                return NULL;
            }
            GMimeContentType *ct = NULL;
            if (cJSON_IsString(ctype) && ctype->valuestring[0]) ct = g_mime_content_type_parse(NULL, ctype->valuestring);
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

static void api_send(struct http_ctx *x) {
    if (!method_is(x, "POST")) {
        not_allowed(x, "POST");
        return;
    }
    cJSON *j = json_body(x);
    if (!j) return;
    buf_t err = BUF_INIT;
    GPtrArray *rcpts = g_ptr_array_new_with_free_func(free);
    char *tags = NULL;
    cJSON *tj = cJSON_GetObjectItemCaseSensitive(j, "Tags");
    if (cJSON_IsArray(tj)) {
        buf_t t = BUF_INIT;
        cJSON *it;
        cJSON_ArrayForEach(it, tj) {
            if (!cJSON_IsString(it) || !valid_tag(it->valuestring)) {
                buf_append_str(&err, "invalid tag in Tags");
                break;
            }
            if (t.len) buf_append_char(&t, ' ');
            buf_append_str(&t, it->valuestring);
        }
        if (t.len) tags = buf_steal(&t);
        buf_free(&t);
    }
    GMimeMessage *m = err.len ? NULL : build_message(x->app, j, rcpts, &err);
    const char *from = NULL;
    if (m) {
        InternetAddressList *fl = g_mime_message_get_from(m);
        InternetAddress *fa = fl ? internet_address_list_get_address(fl, 0) : NULL;
        if (fa && INTERNET_ADDRESS_IS_MAILBOX(fa)) from = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(fa));
    }
    /* route every recipient as SMTP does */
    const struct config *cfg = x->app->cfg;
    char **accounts = xcalloc(rcpts->len + 1, sizeof *accounts);
    char **rcpt_account = xcalloc(rcpts->len + 1, sizeof *rcpt_account);
    size_t na = 0;
    for (guint i = 0; m && !err.len && i < rcpts->len; i++) {
        char *account = NULL;
        buf_t why = BUF_INIT;
        if (rcptmap_route(&x->app->rcptmap, cfg->domains.v, cfg->domains.n, cfg->default_account,
                          g_ptr_array_index(rcpts, i), &account, &why) < 0) {
            buf_printf(&err, "recipient %s refused: %s", (const char *)g_ptr_array_index(rcpts, i), buf_cstr(&why));
            buf_free(&why);
            break;
        }
        buf_free(&why);
        rcpt_account[i] = account;
        bool seen = false;
        for (size_t k = 0; k < na; k++)
            if (!strcmp(accounts[k], account)) seen = true;
        if (!seen) accounts[na++] = account;
    }
    struct api_send *s = NULL;
    int status = 400;
    GMimeStream *ms = NULL;
    GByteArray *ba = NULL;
    if (!err.len && m) {
        ms = g_mime_stream_mem_new();
        g_mime_object_write_to_stream(GMIME_OBJECT(m), NULL, ms);
        ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(ms));
        /* the limits SMTP applies (552 5.3.4, 452 4.3.1), here in HTTP terms */
        if (cfg->message_size_limit > 0 && (int64_t)ba->len > cfg->message_size_limit) {
            buf_printf(&err, "message of %u bytes exceeds message_size_limit (%lld bytes)", ba->len,
                       (long long)cfg->message_size_limit);
            status = 413;
        } else if (app_disk_full(x->app)) {
            buf_append_str(&err, "not enough free disk space (min_free_disk)");
            status = 507;
        }
    }
    if (!err.len && m) {
        buf_t all = BUF_INIT;
        for (guint i = 0; i < rcpts->len; i++)
            buf_printf(&all, "%s%s", i ? ", " : "", (const char *)g_ptr_array_index(rcpts, i));
        s = xcalloc(1, sizeof *s);
        s->app = x->app;
        s->tags = tags;
        tags = NULL;
        if (store_delivery_begin(x->app->store, &s->d, accounts, na, from, buf_cstr(&all)) < 0) {
            buf_append_str(&err, "cannot create the message file");
            free(s->tags);
            free(s);
            s = NULL;
        } else {
            char date[64];
            time_t now = time(NULL);
            struct tm tm;
            localtime_r(&now, &tm);
            strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", &tm);
            for (size_t a = 0; a < na; a++) {
                buf_t h = BUF_INIT;
                buf_printf(&h, "Return-Path: <%s>\n", from);
                const char *first = NULL;
                for (guint i = 0; i < rcpts->len; i++) {
                    if (strcmp(rcpt_account[i], accounts[a]) != 0) continue;
                    buf_printf(&h, "X-Original-To: %s\n", (const char *)g_ptr_array_index(rcpts, i));
                    if (!first) first = g_ptr_array_index(rcpts, i);
                }
                buf_printf(&h, "Delivered-To: %s\n", first ? first : accounts[a]);
                buf_printf(&h, "Received: from localhost ([%s])\n\tby %s (devmail) with HTTP; %s\n", "127.0.0.1",
                           cfg->hostname, date);
                store_delivery_write_one(&s->d, a, h.data, h.len);
                buf_free(&h);
            }
            store_delivery_write(&s->d, ba->data, ba->len);
        }
        buf_free(&all);
    }
    if (ms) g_object_unref(ms);
    if (m) g_object_unref(m);
    for (guint i = 0; i < rcpts->len; i++) free(rcpt_account[i]);
    free(rcpt_account);
    free(accounts);
    g_ptr_array_free(rcpts, TRUE);
    free(tags);
    cJSON_Delete(j);
    if (err.len || !s) {
        http_reply_text(x, status, err.len ? buf_cstr(&err) : "cannot send");
        buf_free(&err);
        return;
    }
    buf_free(&err);
    s->token = http_defer_async(x);
    store_delivery_commit(&s->d, send_done, s);
}

/* ---- tags ----------------------------------------------------------------------- */

static void api_tags(struct http_ctx *x) {
    if (method_is(x, "GET")) {
        cJSON *tags = all_tags(x);
        if (tags) http_reply_json(x, 200, tags);
        else query_failed(x);
        return;
    }
    if (!method_is(x, "PUT")) {
        not_allowed(x, "GET, PUT");
        return;
    }
    cJSON *body = json_body(x);
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
        if (!cJSON_IsString(it) || !valid_tag(it->valuestring)) {
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
    if (rows_from_ids(x, body, &rows, &n)) {
        if (api_query_set_tags(x->app->store, rows, n, buf_cstr(&kw)) < 0)
            http_reply_text(x, 500, "could not change the messages");
        else
            http_reply_text(x, 200, "ok");
        free(rows);
    }
    buf_free(&kw);
    cJSON_Delete(body);
}

static void api_tag(struct http_ctx *x, const char *tag) {
    if (!valid_tag(tag)) {
        http_reply_text(x, 400, "invalid tag name");
        return;
    }
    if (method_is(x, "DELETE")) {
        if (api_query_retag(x->app->store, x->account, tag, NULL) < 0)
            http_reply_text(x, 500, "could not change the messages");
        else
            http_reply_text(x, 200, "ok");
        return;
    }
    if (!method_is(x, "PUT")) {
        not_allowed(x, "PUT, DELETE");
        return;
    }
    cJSON *body = json_body(x);
    if (!body) return;
    cJSON *name = cJSON_GetObjectItemCaseSensitive(body, "Name");
    if (!cJSON_IsString(name) || !valid_tag(name->valuestring))
        http_reply_text(x, 400, "Name must be a valid tag");
    else if (api_query_retag(x->app->store, x->account, tag, name->valuestring) < 0)
        http_reply_text(x, 500, "could not change the messages");
    else
        http_reply_text(x, 200, "ok");
    cJSON_Delete(body);
}

/* ---- info, metrics, health -------------------------------------------------------- */

/* Server-wide figures are for everyone without HTTP auth, and with it for
 * the logins in http_admin_users only. */
static bool sees_server(const struct http_ctx *x) {
    if (!x->account) return true;
    const struct strlist *admins = &x->app->cfg->http_admin_users;
    for (size_t i = 0; i < admins->n; i++)
        if (!strcasecmp(admins->v[i], x->account)) return true;
    return false;
}

static void api_info(struct http_ctx *x) {
    bool server = sees_server(x);
    int64_t total, unread;
    cJSON *names = NULL;
    if (api_query_count(x->app->store, x->account, NULL, &total, &unread) < 0 || !(names = all_tags(x))) {
        query_failed(x);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "Version", HTTP_API_VERSION);
    cJSON_AddStringToObject(o, "LatestVersion", "");
    buf_t path = BUF_INIT;
    buf_printf(&path, "%s/index.sqlite", x->app->store->data_dir);
    struct stat stt;
    cJSON_AddStringToObject(o, "Database", server ? buf_cstr(&path) : "");
    cJSON_AddNumberToObject(o, "DatabaseSize", server && stat(buf_cstr(&path), &stt) == 0 ? (double)stt.st_size : 0);
    buf_free(&path);
    cJSON_AddNumberToObject(o, "Messages", (double)total);
    cJSON_AddNumberToObject(o, "Unread", (double)unread);
    cJSON *tags = cJSON_AddObjectToObject(o, "Tags");
    cJSON *it;
    cJSON_ArrayForEach(it, names) {
        int64_t count;
        if (api_query_tag_count(x->app->store, x->account, it->valuestring, &count) < 0) {
            cJSON_Delete(names);
            cJSON_Delete(o);
            query_failed(x);
            return;
        }
        cJSON_AddNumberToObject(tags, it->valuestring, (double)count);
    }
    cJSON_Delete(names);
    cJSON *rs = cJSON_AddObjectToObject(o, "RuntimeStats");
    const struct app_stats *s = &x->app->stats;
    cJSON_AddNumberToObject(rs, "Uptime", (double)(time(NULL) - api_started));
    cJSON_AddNumberToObject(rs, "Memory", 0);
    cJSON_AddNumberToObject(rs, "MessagesDeleted", 0);
    /* the SMTP counters are not kept per account */
    cJSON_AddNumberToObject(rs, "SMTPAccepted", server ? (double)s->messages_accepted : 0);
    cJSON_AddNumberToObject(rs, "SMTPAcceptedSize", server ? (double)s->bytes_accepted : 0);
    cJSON_AddNumberToObject(rs, "SMTPRejected", server ? (double)s->messages_refused : 0);
    cJSON_AddNumberToObject(rs, "SMTPIgnored", 0);
    http_reply_json(x, 200, o);
}

static void api_webui(struct http_ctx *x) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "Label", "");
    cJSON *relay = cJSON_AddObjectToObject(o, "MessageRelay");
    cJSON_AddBoolToObject(relay, "Enabled", false);
    cJSON_AddStringToObject(relay, "SMTPServer", "");
    cJSON_AddStringToObject(relay, "ReturnPath", "");
    cJSON_AddStringToObject(relay, "AllowedRecipients", "");
    cJSON_AddStringToObject(relay, "BlockedRecipients", "");
    cJSON_AddStringToObject(relay, "OverrideFrom", "");
    cJSON_AddBoolToObject(relay, "PreserveMessageIDs", false);
    cJSON_AddBoolToObject(o, "SpamAssassin", false);
    cJSON_AddBoolToObject(o, "ChaosEnabled", false);
    cJSON_AddBoolToObject(o, "DuplicatesIgnored", false);
    cJSON_AddBoolToObject(o, "HideDeleteAllButton", false);
    http_reply_json(x, 200, o);
}

static void api_metrics(struct http_ctx *x) {
    if (!sees_server(x)) {
        http_reply_text(x, 403, "server-wide metrics: this login is not in http_admin_users");
        return;
    }
    const struct app_stats *s = &x->app->stats;
    struct store *st = x->app->store;
    int64_t total, unread, bytes;
    if (api_query_count(st, NULL, NULL, &total, &unread) < 0 || api_query_store_totals(st, NULL, &bytes) < 0) {
        query_failed(x);
        return;
    }
    uint64_t waiting, sockets;
    http_server_counts(x->srv, &waiting, &sockets);
    buf_t b = BUF_INIT;
    buf_append_str(&b, "# HELP devmail_connections_total Connections accepted, by protocol.\n"
                       "# TYPE devmail_connections_total counter\n");
    buf_printf(&b, "devmail_connections_total{proto=\"smtp\"} %llu\n", (unsigned long long)s->smtp_connections);
    buf_printf(&b, "devmail_connections_total{proto=\"imap\"} %llu\n", (unsigned long long)s->imap_connections);
    buf_printf(&b, "devmail_connections_total{proto=\"pop3\"} %llu\n", (unsigned long long)s->pop3_connections);
    buf_printf(&b, "# HELP devmail_slow_clients_closed_total Connections closed for sending a command or body too slowly.\n"
                   "# TYPE devmail_slow_clients_closed_total counter\ndevmail_slow_clients_closed_total %llu\n",
               (unsigned long long)net_slow_closed(x->app->net));
    buf_append_str(&b, "# HELP devmail_connections_open Connections open now (all protocols).\n"
                       "# TYPE devmail_connections_open gauge\n");
    buf_printf(&b, "devmail_connections_open %zu\n", net_connection_count(x->app->net));
    static const struct {
        const char *name, *help;
        size_t off;
    } counters[] = {
        {"devmail_http_requests_total", "HTTP requests answered.", offsetof(struct app_stats, http_requests)},
        {"devmail_messages_accepted_total", "Messages accepted over SMTP.", offsetof(struct app_stats, messages_accepted)},
        {"devmail_messages_refused_total", "Messages refused over SMTP.", offsetof(struct app_stats, messages_refused)},
        {"devmail_recipients_refused_total", "Recipients refused.", offsetof(struct app_stats, recipients_refused)},
        {"devmail_bytes_accepted_total", "Bytes of accepted messages.", offsetof(struct app_stats, bytes_accepted)},
        {"devmail_auth_failures_total", "Failed logins, all protocols.", offsetof(struct app_stats, auth_failures)},
    };
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++) {
        uint64_t v;
        memcpy(&v, (const char *)s + counters[i].off, sizeof v);
        buf_printf(&b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", counters[i].name, counters[i].help,
                   counters[i].name, counters[i].name, (unsigned long long)v);
    }
    buf_printf(&b, "# HELP devmail_store_delivered_total Messages stored since start.\n"
                   "# TYPE devmail_store_delivered_total counter\ndevmail_store_delivered_total %llu\n",
               (unsigned long long)st->delivered);
    buf_printf(&b, "# HELP devmail_store_delivered_bytes_total Bytes stored since start.\n"
                   "# TYPE devmail_store_delivered_bytes_total counter\ndevmail_store_delivered_bytes_total %llu\n",
               (unsigned long long)st->delivered_bytes);
    uint64_t batches = 0, files = 0;
    if (st->committer) maildir_committer_stats(st->committer, &batches, &files);
    buf_printf(&b, "# HELP devmail_store_commit_batches_total Group commits (one sync each).\n"
                   "# TYPE devmail_store_commit_batches_total counter\ndevmail_store_commit_batches_total %llu\n",
               (unsigned long long)batches);
    {
        const struct app_stats *as = &x->app->stats;
        buf_append_str(&b, "# HELP devmail_smtp_commit_seconds End of DATA to the 250: durable commit, indexing.\n"
                           "# TYPE devmail_smtp_commit_seconds histogram\n");
        uint64_t cum = 0;
        for (size_t i = 0; i < APP_LATENCY_BUCKETS; i++) {
            cum += as->commit_latency_buckets[i];
            buf_printf(&b, "devmail_smtp_commit_seconds_bucket{le=\"%g\"} %llu\n", app_latency_bounds[i],
                       (unsigned long long)cum);
        }
        cum += as->commit_latency_buckets[APP_LATENCY_BUCKETS];
        buf_printf(&b, "devmail_smtp_commit_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
        buf_printf(&b, "devmail_smtp_commit_seconds_sum %.6f\ndevmail_smtp_commit_seconds_count %llu\n",
                   as->commit_latency_sum, (unsigned long long)as->commit_latency_count);
        buf_printf(&b, "# HELP devmail_store_bytes Size of all stored messages.\n# TYPE devmail_store_bytes gauge\n"
                       "devmail_store_bytes %lld\n",
                   (long long)bytes);
    }
    buf_printf(&b, "# HELP devmail_store_messages Messages in INBOXes now.\n# TYPE devmail_store_messages gauge\n"
                   "devmail_store_messages %lld\n",
               (long long)total);
    buf_printf(&b, "# HELP devmail_store_unread Unread messages in INBOXes now.\n# TYPE devmail_store_unread gauge\n"
                   "devmail_store_unread %lld\n",
               (long long)unread);
    buf_printf(&b, "# HELP devmail_http_waiting Requests held by ?wait= now.\n# TYPE devmail_http_waiting gauge\n"
                   "devmail_http_waiting %llu\n",
               (unsigned long long)waiting);
    buf_printf(&b, "# HELP devmail_http_event_streams WebSocket event streams open now.\n"
                   "# TYPE devmail_http_event_streams gauge\ndevmail_http_event_streams %llu\n",
               (unsigned long long)sockets);
    http_reply(x, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
    buf_free(&b);
}

/* ---- routing ------------------------------------------------------------------------ */

bool http_api_public_path(const char *path) {
    return !strcmp(path, "/livez") || !strcmp(path, "/readyz");
}

/* Split "a/b/c" into at most max segments (pointers into a copy). */
static size_t split_path(char *s, char **seg, size_t max) {
    size_t n = 0;
    while (*s && n < max) {
        seg[n++] = s;
        char *sl = strchr(s, '/');
        if (!sl) break;
        *sl = '\0';
        s = sl + 1;
    }
    return n;
}

static void api_message_routes(struct http_ctx *x, char **seg, size_t n) {
    /* seg[0] = ID, then sub-resource */
    const char *id = seg[0];
    if (n == 1) {
        if (!method_is(x, "GET")) {
            not_allowed(x, "GET");
            return;
        }
        if (!strcmp(id, "latest") && !x->waited) {
            int64_t wait = param_wait(x);
            if (wait < 0) {
                http_reply_text(x, 400, "bad wait duration (use e.g. 30s, 500ms, 2m)");
                return;
            }
            int64_t row;
            int found = wait > 0 ? find_row(x, "latest", &row) : 1;
            if (found < 0) {
                query_failed(x);
                return;
            }
            if (!found) {
                http_defer_wait(x, wait);
                return;
            }
        }
        api_message_get(x, id);
        return;
    }
    const char *sub = seg[1];
    if (!strcmp(sub, "release")) {
        http_reply_text(x, 400, NOT_ENABLED_RELEASE);
        return;
    }
    if (!strcmp(sub, "html-check") && n == 2) {
        http_reply_text(x, 400, NOT_ENABLED_HTML_CHECK);
        return;
    }
    if (!strcmp(sub, "link-check") && n == 2) {
        http_reply_text(x, 400, NOT_ENABLED_LINK_CHECK);
        return;
    }
    if (!strcmp(sub, "sa-check") && n == 2) {
        http_reply_text(x, 400, NOT_ENABLED_SA_CHECK);
        return;
    }
    if (!method_is(x, "GET")) {
        not_allowed(x, "GET");
        return;
    }
    if (n == 2 && !strcmp(sub, "headers")) api_message_headers(x, id);
    else if (n == 2 && !strcmp(sub, "raw")) api_message_raw(x, id);
    else if (n == 3 && !strcmp(sub, "part")) api_message_part(x, id, seg[2]);
    else if (n == 4 && !strcmp(sub, "part") && !strcmp(seg[3], "thumb")) http_reply_text(x, 404, "no thumbnails");
    else http_reply_text(x, 404, "not found");
}

bool http_api_handle(struct http_ctx *x) {
    const char *path = x->req->path;
    if (!api_started) api_started = time(NULL);
    if (!strcmp(path, "/readyz")) {
        /* ready = mail is taken: the disk has room and the index writes */
        struct store *st = x->app->store;
        if (app_disk_full(x->app)) http_reply_text(x, 503, "not ready: free disk space below min_free_disk");
        else if (!store_index_writable(st))
            http_reply_text(x, 503, "not ready: the index cannot take writes");
        else http_reply_text(x, 200, "ok");
        return true;
    }
    if (http_api_public_path(path)) {
        http_reply_text(x, 200, "ok");
        return true;
    }
    if (!strcmp(path, "/metrics")) {
        api_metrics(x);
        return true;
    }
    if (!strncmp(path, "/view/", 6)) {
        api_view(x, path + 6);
        return true;
    }
    if (strncmp(path, "/api/", 5) != 0) return false;
    if (strncmp(path, "/api/v1/", 8) != 0) {
        http_reply_text(x, 404, "not found");
        return true;
    }
    const char *rest = path + 8;
    if (!strcmp(rest, "messages")) api_messages(x);
    else if (!strcmp(rest, "search")) api_search(x);
    else if (!strcmp(rest, "send")) api_send(x);
    else if (!strcmp(rest, "tags")) api_tags(x);
    else if (!strncmp(rest, "tags/", 5) && rest[5]) api_tag(x, rest + 5);
    else if (!strcmp(rest, "info")) method_is(x, "GET") ? api_info(x) : not_allowed(x, "GET");
    else if (!strcmp(rest, "webui")) method_is(x, "GET") ? api_webui(x) : not_allowed(x, "GET");
    else if (!strcmp(rest, "chaos")) http_reply_text(x, 400, NOT_ENABLED_CHAOS);
    else if (!strncmp(rest, "message/", 8) && rest[8]) {
        char *copy = xstrdup(rest + 8);
        char *seg[5];
        size_t n = split_path(copy, seg, 5);
        if (n >= 1 && n <= 4 && seg[0][0] && seg[n - 1][0]) api_message_routes(x, seg, n);
        else http_reply_text(x, 404, "not found");
        free(copy);
    } else {
        http_reply_text(x, 404, "not found");
    }
    return true;
}

/* ---- waits and events -------------------------------------------------------------- */

bool http_api_wait_match(struct http_ctx *x, int64_t after, int64_t upto) {
    if (!strcmp(x->req->path, "/api/v1/search")) {
        buf_t q = BUF_INIT, err = BUF_INIT;
        http_query_get(x->req->query, "query", &q);
        struct search_query sq;
        bool hit = false;
        if (search_query_parse(q.data ? q.data : "", q.len, 0, &sq, &err) == 0) {
            hit = api_query_matches(x->app->store, x->account, &sq, after, upto) == 1;
            search_query_free(&sq);
        }
        buf_free(&q);
        buf_free(&err);
        return hit;
    }
    /* message/latest: any new message in scope */
    return api_query_matches(x->app->store, x->account, NULL, after, upto) == 1;
}

cJSON *http_api_event_frame(struct app *app, const struct store_event *ev) {
    if (ev->type == STORE_EV_NEW) {
        cJSON *s = NULL;
        if (summary_for_row(app, ev->account, ev->row, &s) != 1) return NULL;
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
            cJSON_AddItemToObject(d, "Tags", tags_array(m.keywords));
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
