#include "store/summary.h"

#include <ctype.h>
#include <fcntl.h>
#include <strings.h>
#include <string.h>

#include <gmime/gmime.h>

#include "check/html_text.h"
#include "core/base_subject.h"
#include "core/buf.h"
#include "core/mime_words.h"
#include "core/tags.h"
#include "core/xalloc.h"

void summary_init(void) {
    static int done;
    if (!done) {
        g_mime_init();
        done = 1;
    }
}

static char *dup_or_empty(const char *s) {
    return xstrdup(s ? s : "");
}

static char *addresses(GMimeMessage *m, GMimeAddressType type) {
    InternetAddressList *l = g_mime_message_get_addresses(m, type);
    if (!l || internet_address_list_length(l) == 0) return xstrdup("");
    char *s = internet_address_list_to_string(l, NULL, FALSE);
    char *r = dup_or_empty(s);
    g_free(s);
    return r;
}

struct walk {
    char *plain;
    char *html;
    int attachments, inlines;
};

static void walk_part(GMimeObject *parent, GMimeObject *part, gpointer data) {
    struct walk *w = data;
    /* a forwarded message (message/rfc822) is an attachment, whatever its
     * disposition, as Mailpit counts it and as the API lists it */
    if (GMIME_IS_MESSAGE_PART(part)) {
        w->attachments++;
        return;
    }
    if (!GMIME_IS_PART(part)) return;
    GMimeContentType *ct = g_mime_object_get_content_type(part);
    GMimeContentDisposition *disp = g_mime_object_get_content_disposition(part);
    const char *dname = disp ? g_mime_content_disposition_get_disposition(disp) : NULL;
    bool is_text = g_mime_content_type_is_type(ct, "text", "plain") || g_mime_content_type_is_type(ct, "text", "html");
    if (g_mime_part_is_attachment(GMIME_PART(part))) {
        w->attachments++;
        return;
    }
    if (!is_text) {
        /* A non-text part without "attachment": inline if it has a CID or
         * inline disposition (images in HTML), else an attachment. */
        if ((dname && !strcasecmp(dname, "inline")) || g_mime_object_get_content_id(part)) w->inlines++;
        else w->attachments++;
        return;
    }
    if (!GMIME_IS_TEXT_PART(part)) return;
    bool html = g_mime_content_type_is_type(ct, "text", "html");
    char **slot = html ? &w->html : &w->plain;
    if (*slot) return;
    char *t = g_mime_text_part_get_text(GMIME_TEXT_PART(part));
    if (t) {
        size_t n = strlen(t);
        if (n > SUMMARY_MAX_TEXT) n = SUMMARY_MAX_TEXT;
        *slot = xstrndup(t, n);
        g_free(t);
    }
}

static void make_snippet(const char *text, struct msg_summary *s) {
    buf_t b = BUF_INIT;
    size_t chars = 0;
    bool space = false;
    for (const unsigned char *p = (const unsigned char *)text; *p && chars < SUMMARY_SNIPPET_CHARS; p++) {
        if (isspace(*p)) {
            space = b.len > 0;
            continue;
        }
        if (space) {
            buf_append_char(&b, ' ');
            chars++;
            space = false;
        }
        buf_append_char(&b, (char)*p);
        if ((*p & 0xC0) != 0x80) chars++;
    }
    /* never end inside a UTF-8 sequence */
    while (b.len && (b.data[b.len - 1] & 0xC0) == 0x80) {
        size_t k = b.len;
        while (k && (b.data[k - 1] & 0xC0) == 0x80) k--;
        if (k && (unsigned char)b.data[k - 1] >= 0xC0) {
            unsigned char lead = (unsigned char)b.data[k - 1];
            size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
            if (b.len - (k - 1) == need) break;
            b.len = k - 1;
        } else {
            b.len = k;
        }
    }
    s->snippet = buf_steal(&b);
}

/* The decoded Subject; runs of encoded-words are repaired first (a
 * character split across two words, see core/mime_words.h). */
static char *subject_of(GMimeMessage *m) {
    GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(m));
    GMimeHeader *h = g_mime_header_list_get_header(hl, "Subject");
    const char *raw = h ? g_mime_header_get_raw_value(h) : NULL;
    char *merged = raw ? mime_words_merge(raw, strlen(raw)) : NULL;
    if (!merged) return dup_or_empty(g_mime_message_get_subject(m));
    char *unfolded = g_mime_utils_header_unfold(merged);
    char *dec = g_mime_utils_header_decode_text(NULL, unfolded);
    char *out = dup_or_empty(dec ? g_strstrip(dec) : NULL);
    g_free(dec);
    g_free(unfolded);
    free(merged);
    return out;
}

static char *casemap(const char *v) {
    return base_subject_casemap(v ? v : "", v ? strlen(v) : 0);
}

/* RFC 5256 FROM/TO/CC: the addr-mailbox (local part) of the first address;
 * RFC 5957 DISPLAYFROM/DISPLAYTO: its display name, or when it has none
 * its addr-spec. A group gives its name for both, as Dovecot does. */
static void first_address_keys(GMimeMessage *m, GMimeAddressType type, char **mbox_r, char **display_r) {
    InternetAddressList *l = g_mime_message_get_addresses(m, type);
    InternetAddress *ia = l && internet_address_list_length(l) > 0 ? internet_address_list_get_address(l, 0) : NULL;
    const char *name = ia ? internet_address_get_name(ia) : NULL;
    if (ia && INTERNET_ADDRESS_IS_MAILBOX(ia)) {
        const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
        if (!addr) addr = "";
        const char *at = strrchr(addr, '@');
        char *local = xstrndup(addr, at ? (size_t)(at - addr) : strlen(addr));
        *mbox_r = casemap(local);
        free(local);
        if (display_r) *display_r = casemap(name && *name ? name : addr);
    } else {
        *mbox_r = casemap(name);
        if (display_r) *display_r = casemap(name);
    }
}

/* Message-IDs of a References / In-Reply-To header, without <>, space
 * separated; at most max of them (the last ones). */
static char *msgid_list(GMimeMessage *m, const char *field, int max) {
    const char *v = g_mime_object_get_header(GMIME_OBJECT(m), field);
    buf_t b = BUF_INIT;
    GMimeReferences *refs = v ? g_mime_references_parse(NULL, v) : NULL;
    if (refs) {
        int n = g_mime_references_length(refs);
        for (int i = n > max ? n - max : 0; i < n; i++) {
            const char *id = g_mime_references_get_message_id(refs, i);
            if (!id || !*id || strchr(id, ' ')) continue;
            if (b.len) buf_append_char(&b, ' ');
            buf_append_str(&b, id);
        }
        g_mime_references_free(refs);
    }
    return buf_steal(&b);
}

static void sort_keys(GMimeMessage *m, struct msg_summary *s) {
    bool reply = false;
    s->sort_subject = base_subject_key(s->subject, strlen(s->subject), &reply);
    s->subject_is_reply = reply;
    first_address_keys(m, GMIME_ADDRESS_TYPE_FROM, &s->sort_from, &s->sort_display_from);
    first_address_keys(m, GMIME_ADDRESS_TYPE_TO, &s->sort_to, &s->sort_display_to);
    first_address_keys(m, GMIME_ADDRESS_TYPE_CC, &s->sort_cc, NULL);
    s->in_reply_to = msgid_list(m, "In-Reply-To", SUMMARY_MAX_REFERENCES);
    char *sp = strchr(s->in_reply_to, ' ');
    if (sp) *sp = '\0';
    s->references = msgid_list(m, "References", SUMMARY_MAX_REFERENCES);
}

/* Mailpit's automatic tags: X-Tags first, then plus addresses. */
static char *auto_tags(GMimeMessage *m) {
    buf_t kw = BUF_INIT;
    GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(m));
    GMimeHeader *xt = g_mime_header_list_get_header(hl, "X-Tags");
    const char *v = xt ? g_mime_header_get_value(xt) : NULL;
    if (v) {
        char *dec = g_mime_utils_header_decode_text(NULL, v);
        tags_from_x_tags(&kw, dec ? dec : v);
        g_free(dec);
    }
    static const GMimeAddressType types[] = {GMIME_ADDRESS_TYPE_TO, GMIME_ADDRESS_TYPE_CC, GMIME_ADDRESS_TYPE_BCC,
                                             GMIME_ADDRESS_TYPE_FROM};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        InternetAddressList *l = g_mime_message_get_addresses(m, types[t]);
        int n = l ? internet_address_list_length(l) : 0;
        for (int i = 0; i < n; i++) {
            InternetAddress *a = internet_address_list_get_address(l, i);
            if (INTERNET_ADDRESS_IS_MAILBOX(a))
                tags_from_plus_address(&kw, internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a)));
        }
    }
    return buf_steal(&kw);
}

/* The login that sent the message, from the Received: field devmail put on
 * top: "(Authenticated sender: user)" as Postfix writes it. */
static char *auth_user(GMimeMessage *m) {
    GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(m));
    GMimeHeader *h = g_mime_header_list_get_header(hl, "Received");
    const char *v = h ? g_mime_header_get_raw_value(h) : NULL;
    static const char tag[] = "(Authenticated sender: ";
    const char *p = v ? strstr(v, tag) : NULL;
    const char *by = v ? strstr(v, " by ") : NULL;
    if (!p || (by && by < p)) return xstrdup(""); /* only in the from part */
    p += sizeof tag - 1;
    return xstrndup(p, strcspn(p, ")\r\n"));
}

static void summarize(GMimeMessage *m, struct msg_summary *s) {
    s->auto_tags = auto_tags(m);
    s->auth_user = auth_user(m);
    s->hdr_from = addresses(m, GMIME_ADDRESS_TYPE_FROM);
    s->hdr_to = addresses(m, GMIME_ADDRESS_TYPE_TO);
    s->hdr_cc = addresses(m, GMIME_ADDRESS_TYPE_CC);
    s->hdr_bcc = addresses(m, GMIME_ADDRESS_TYPE_BCC);
    s->hdr_reply_to = addresses(m, GMIME_ADDRESS_TYPE_REPLY_TO);
    s->subject = subject_of(m);
    s->message_id = dup_or_empty(g_mime_message_get_message_id(m));
    sort_keys(m, s);
    GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(m));
    GMimeHeader *rph = g_mime_header_list_get_header(hl, "Return-Path");
    const char *rp = rph ? g_mime_header_get_value(rph) : NULL;
    buf_t b = BUF_INIT;
    if (rp) {
        while (*rp == ' ' || *rp == '<') rp++;
        size_t n = strcspn(rp, ">\r\n");
        buf_append(&b, rp, n);
    }
    s->return_path = buf_steal(&b);
    int nh = g_mime_header_list_get_count(hl);
    for (int i = 0; i < nh; i++) {
        GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
        if (strcasecmp(g_mime_header_get_name(h), "X-Original-To") != 0) continue;
        const char *v = g_mime_header_get_value(h);
        if (!v) continue;
        while (*v == ' ') v++;
        if (b.len) buf_append_str(&b, ", ");
        buf_append(&b, v, strcspn(v, "\r\n"));
    }
    s->original_to = buf_steal(&b);
    GDateTime *dt = g_mime_message_get_date(m);
    s->sent_date = dt ? g_date_time_to_unix(dt) : 0;
    /* SENTON and friends compare the date as written (RFC 3501 6.4.4) */
    s->sent_tz = dt ? (int32_t)(g_date_time_get_utc_offset(dt) / G_TIME_SPAN_SECOND) : 0;
    struct walk w = {0};
    g_mime_message_foreach(m, walk_part, &w);
    /* a single-part message whose body is not text still counts */
    s->attachments = w.attachments;
    s->inlines = w.inlines;
    if (w.plain) {
        s->text = w.plain;
        free(w.html);
    } else if (w.html) {
        buf_t t = BUF_INIT;
        html_to_text(w.html, strlen(w.html), SUMMARY_MAX_TEXT, &t, NULL);
        s->text = buf_steal(&t);
        free(w.html);
    } else {
        s->text = xstrdup("");
    }
    make_snippet(s->text, s);
}

static void summary_empty(struct msg_summary *s) {
    s->hdr_from = xstrdup("");
    s->hdr_to = xstrdup("");
    s->hdr_cc = xstrdup("");
    s->hdr_bcc = xstrdup("");
    s->hdr_reply_to = xstrdup("");
    s->subject = xstrdup("");
    s->message_id = xstrdup("");
    s->snippet = xstrdup("");
    s->text = xstrdup("");
    s->return_path = xstrdup("");
    s->original_to = xstrdup("");
    s->sort_subject = xstrdup("");
    s->sort_from = xstrdup("");
    s->sort_to = xstrdup("");
    s->sort_cc = xstrdup("");
    s->sort_display_from = xstrdup("");
    s->sort_display_to = xstrdup("");
    s->in_reply_to = xstrdup("");
    s->references = xstrdup("");
    s->auto_tags = xstrdup("");
    s->auth_user = xstrdup("");
}

static int summary_from_stream(GMimeStream *stream, struct msg_summary *s) {
    memset(s, 0, sizeof *s);
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    GMimeMessage *m = g_mime_parser_construct_message(parser, NULL);
    if (m) {
        summarize(m, s);
        g_object_unref(m);
    } else {
        summary_empty(s);
    }
    g_object_unref(parser);
    return 0;
}

int summary_from_file(const char *path, struct msg_summary *s) {
    GError *err = NULL;
    GMimeStream *stream = g_mime_stream_fs_open(path, O_RDONLY, 0, &err);
    if (!stream) {
        if (err) g_error_free(err);
        memset(s, 0, sizeof *s);
        summary_empty(s);
        return -1;
    }
    int rc = summary_from_stream(stream, s);
    g_object_unref(stream);
    return rc;
}

int summary_from_bytes(const char *data, size_t len, struct msg_summary *s) {
    GMimeStream *stream = g_mime_stream_mem_new_with_buffer(data, len);
    int rc = summary_from_stream(stream, s);
    g_object_unref(stream);
    return rc;
}

void summary_free(struct msg_summary *s) {
    free(s->auto_tags);
    free(s->auth_user);
    free(s->hdr_from);
    free(s->hdr_to);
    free(s->hdr_cc);
    free(s->hdr_bcc);
    free(s->hdr_reply_to);
    free(s->subject);
    free(s->message_id);
    free(s->snippet);
    free(s->text);
    free(s->return_path);
    free(s->original_to);
    free(s->sort_subject);
    free(s->sort_from);
    free(s->sort_to);
    free(s->sort_cc);
    free(s->sort_display_from);
    free(s->sort_display_to);
    free(s->in_reply_to);
    free(s->references);
    memset(s, 0, sizeof *s);
}
