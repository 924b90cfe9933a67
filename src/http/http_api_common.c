/*
 * http_api_common - what the API's resources share: Mailpit's summary and
 * address shapes, query parameters, lookups in the request's scope (the
 * INBOX mailboxes of x->account, or of every account when NULL, asked of
 * the store through store/api_query.h) and the MIME walk over a message
 * parsed with GMime per request (parts numbered like IMAP sections,
 * walked without recursion to a bounded depth).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/search_query.h"
#include "core/tags.h"
#include "core/xalloc.h"
#include "http/http_api_internal.h"


static void rfc3339(int64_t t, buf_t *out) {
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    char s[40];
    strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    buf_append_str(out, s);
}

void http_api_add_time(cJSON *o, const char *name, int64_t t) {
    buf_t b = BUF_INIT;
    rfc3339(t, &b);
    cJSON_AddStringToObject(o, name, buf_cstr(&b));
    buf_free(&b);
}

/* The index could not answer: 500 (the store logged why). */
void http_api_query_failed(struct http_ctx *x) {
    http_reply_text(x, 500, "index query failed");
}

static int cmp_tag(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Tags of the keywords list kw (space separated), sorted by name as Mailpit
 * lists them. */
static cJSON *tags_json(char **kws, size_t n) {
    char **t = xcalloc(n ? n : 1, sizeof *t);
    for (size_t i = 0; i < n; i++) t[i] = tag_from_keyword(kws[i], strlen(kws[i]));
    qsort(t, n, sizeof *t, cmp_tag);
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        cJSON_AddItemToArray(arr, cJSON_CreateString(t[i]));
        free(t[i]);
    }
    free(t);
    return arr;
}

/* Every distinct tag in scope, sorted; NULL if the index failed. */
cJSON *http_api_all_tags(struct http_ctx *x) {
    char **v;
    size_t n;
    if (api_query_tags(x->app->store, x->account, &v, &n) < 0) return NULL;
    cJSON *arr = tags_json(v, n);
    api_query_tags_free(v, n);
    return arr;
}

cJSON *http_api_tags_array(const char *keywords) {
    char **v = NULL;
    size_t n = 0, cap = 0;
    const char *k = keywords ? keywords : "";
    while (*k) {
        size_t l = strcspn(k, " ");
        if (l) {
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                v = xrealloc(v, cap * sizeof *v);
            }
            v[n++] = xstrndup(k, l);
        }
        k += l;
        while (*k == ' ') k++;
    }
    cJSON *arr = tags_json(v, n);
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
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
cJSON *http_api_summary_json(const struct api_query_summary *m) {
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
    http_api_add_time(o, "Created", m->internaldate);
    cJSON_AddStringToObject(o, "Username", m->auth_user ? m->auth_user : "");
    cJSON_AddItemToObject(o, "Tags", http_api_tags_array(m->keywords));
    cJSON_AddNumberToObject(o, "Size", (double)m->size);
    cJSON_AddNumberToObject(o, "Attachments", m->attachments);
    cJSON_AddStringToObject(o, "Snippet", m->snippet);
    return o;
}

/* Parse a non-negative integer parameter; false on junk. */
bool http_api_param_int(struct http_ctx *x, const char *name, int64_t def, int64_t *out) {
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
int64_t http_api_param_wait(struct http_ctx *x) {
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

/* Parse the JSON body; NULL (and a 400 answer) if it is not JSON. An
 * empty body is an empty object. */
cJSON *http_api_json_body(struct http_ctx *x) {
    if (!x->req->body_len) return cJSON_CreateObject();
    cJSON *j = cJSON_ParseWithLength(x->req->body, x->req->body_len);
    if (!j || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        http_reply_text(x, 400, "invalid JSON body");
        return NULL;
    }
    return j;
}

/* A local time of zone tz, given as if it were UTC, as unix time. */
static int64_t local_to_unix(GTimeZone *tz, int64_t as_utc) {
    time_t tt = (time_t)as_utc;
    struct tm tm;
    if (!gmtime_r(&tt, &tm)) return as_utc;
    GDateTime *dt = g_date_time_new(tz, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (!dt) return as_utc;
    int64_t r = g_date_time_to_unix(dt);
    g_date_time_unref(dt);
    return r;
}

/* Mailpit's ?tz=: dates of the search that name no zone are in that IANA
 * zone, each with its own offset (DST); an unknown zone is ignored, as in
 * Mailpit. Without it they are UTC. */
static void apply_tz(struct http_ctx *x, struct search_query *sq) {
    buf_t v = BUF_INIT;
    GTimeZone *tz = NULL;
    if (http_query_get(x->req->query, "tz", &v) && v.len) tz = g_time_zone_new_identifier(buf_cstr(&v));
    buf_free(&v);
    if (!tz) return;
    for (size_t i = 0; i < sq->count; i++) {
        struct search_query_term *t = &sq->terms[i];
        if ((t->kind == SEARCH_QUERY_BEFORE || t->kind == SEARCH_QUERY_AFTER) && t->zoneless)
            t->number = local_to_unix(tz, t->number);
    }
    g_time_zone_unref(tz);
}

int http_api_parse_search(struct http_ctx *x, const char *text, size_t len, struct search_query *sq, buf_t *err) {
    if (search_query_parse(text, len, 0, sq, err) < 0) return -1;
    apply_tz(x, sq);
    return 0;
}

bool http_api_param_before(struct http_ctx *x, int64_t *t) {
    buf_t v = BUF_INIT;
    bool ok = false;
    if (http_query_get(x->req->query, "before", &v) && v.len) {
        const char *s = buf_cstr(&v);
        bool zoneless;
        if (strspn(s, "0123456789") == v.len && v.len <= 15) {
            long long n = strtoll(s, NULL, 10);
            *t = v.len > 11 ? n / 1000 : n; /* milliseconds, as Mailpit's Created */
            ok = true;
        } else {
            ok = search_query_parse_date(s, v.len, 0, t, &zoneless);
        }
    }
    buf_free(&v);
    return ok;
}

/* "latest" with ?query=: the newest message matching it (Mailpit's
 * LatestID); a query that does not parse matches nothing. */
static int latest_row(struct http_ctx *x, int64_t *row) {
    buf_t q = BUF_INIT, err = BUF_INIT;
    bool has_query = http_query_get(x->req->query, "query", &q) && q.len;
    int rc;
    struct search_query sq;
    if (!has_query) {
        rc = api_query_latest(x->app->store, x->account, row);
    } else if (http_api_parse_search(x, buf_cstr(&q), q.len, &sq, &err) < 0) {
        rc = 0;
    } else {
        struct api_query_summary *page;
        size_t n;
        if (api_query_list(x->app->store, x->account, sq.count ? &sq : NULL, 0, 1, &page, &n) < 0) {
            rc = -1;
        } else {
            rc = n == 1;
            if (rc) *row = page[0].row;
            api_query_list_free(page, n);
        }
        search_query_free(&sq);
    }
    buf_free(&q);
    buf_free(&err);
    return rc;
}

/* Row of an API ID ("latest" allowed) in scope: 1 (*row set), 0 unknown, -1. */
static void watch_remove(void *w) {
    api_query_watch_remove(w);
}

void http_defer_wait_watch(struct http_ctx *x, int64_t ms, struct api_query_watch *w) {
    http_defer_wait_state(x, ms, w, watch_remove);
}

int http_api_find_row(struct http_ctx *x, const char *id, int64_t *row) {
    if (!strcmp(id, "latest")) return latest_row(x, row);
    return api_query_find(x->app->store, x->account, id, row);
}

/* ---- MIME walking ----------------------------------------------------------- */

struct part_item {
    GMimeObject *obj;
    char *id;
    int depth;
};


/* Visit the leaf parts of m in document order with IMAP section numbers. */
void http_api_walk_parts(GMimeMessage *m, http_api_part_fn fn, void *arg) {
    http_api_walk_parts_under(m, "", fn, arg);
}

/* The same for a message attached as part prefix ("2"): its parts are
 * numbered "2.1", "2.2" (IMAP's sections of a message/rfc822 part). */
void http_api_walk_parts_under(GMimeMessage *m, const char *prefix, http_api_part_fn fn, void *arg) {
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
    buf_t first = BUF_INIT;
    if (GMIME_IS_MULTIPART(body)) buf_append_str(&first, prefix);
    else buf_printf(&first, "%s%s1", prefix, *prefix ? "." : "");
    PUSH(body, buf_steal(&first), 0);
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
void http_api_part_bytes(GMimeObject *obj, buf_t *out) {
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

char *http_api_mime_type(GMimeObject *obj) {
    GMimeContentType *ct = g_mime_object_get_content_type(obj);
    char *t = ct ? g_mime_content_type_get_mime_type(ct) : NULL;
    char *r = xstrdup(t ? t : "application/octet-stream");
    g_free(t);
    return r;
}

const char *http_api_part_filename(GMimeObject *obj) {
    if (GMIME_IS_PART(obj)) {
        const char *f = g_mime_part_get_filename(GMIME_PART(obj));
        if (f) return f;
    } else if (GMIME_IS_MESSAGE_PART(obj)) {
        /* a forwarded message: the name its disposition gives it */
        const char *f = g_mime_object_get_content_disposition_parameter(obj, "filename");
        if (!f) f = g_mime_object_get_content_type_parameter(obj, "name");
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


static cJSON *attachment_json(GMimeObject *obj, const char *id) {
    cJSON *a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "PartID", id);
    cJSON_AddStringToObject(a, "FileName", http_api_part_filename(obj));
    char *t = http_api_mime_type(obj);
    cJSON_AddStringToObject(a, "ContentType", t);
    free(t);
    const char *cid = g_mime_object_get_content_id(obj);
    cJSON_AddStringToObject(a, "ContentID", cid ? cid : "");
    buf_t b = BUF_INIT;
    http_api_part_bytes(obj, &b);
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

bool http_api_detail_part(GMimeObject *obj, const char *id, void *arg) {
    struct http_api_detail_walk *w = arg;
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


bool http_api_load_message(struct http_ctx *x, const char *id, bool parse, struct http_api_loaded *l) {
    memset(l, 0, sizeof *l);
    int found = http_api_find_row(x, id, &l->row);
    if (found < 0) {
        http_api_query_failed(x);
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

void http_api_loaded_free(struct http_api_loaded *l) {
    if (l->mime) g_object_unref(l->mime);
    store_msg_free(&l->msg);
}

/* The summary of row in scope: 1 (*o set), 0 not in scope, -1. */
int http_api_summary_for_row(struct app *app, const char *account, int64_t row, cJSON **o) {
    struct api_query_summary m;
    int rc = api_query_summary(app->store, account, row, &m);
    if (rc == 1) *o = http_api_summary_json(&m);
    api_query_summary_free(&m);
    return rc;
}

struct find_walk {
    const char *want;
    GMimeObject *found;
    GMimeMessage *inner; /* an attached message whose parts want names */
    char *inner_id;
};

static bool find_part(GMimeObject *obj, const char *id, void *arg) {
    struct find_walk *f = arg;
    if (!strcmp(id, f->want)) {
        f->found = obj;
        return false;
    }
    size_t l = strlen(id);
    if (GMIME_IS_MESSAGE_PART(obj) && !strncmp(f->want, id, l) && f->want[l] == '.') {
        f->inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
        f->inner_id = xstrdup(id);
        return false;
    }
    return true;
}

GMimeObject *http_api_find_part(GMimeMessage *m, const char *part_id, int64_t max_nesting, int *nesting) {
    struct find_walk f = {part_id, NULL, NULL, NULL};
    char *prefix = xstrdup("");
    int level = 0;
    for (;;) {
        http_api_walk_parts_under(m, prefix, find_part, &f);
        free(prefix);
        if (f.found || !f.inner || level >= max_nesting) break;
        m = f.inner;
        prefix = f.inner_id;
        f.inner = NULL;
        f.inner_id = NULL;
        level++;
    }
    free(f.inner_id);
    if (nesting) *nesting = level;
    return f.found;
}
