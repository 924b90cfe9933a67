#include "check/mail_lint.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <gmime/gmime.h>

#include "check/html_text.h"
#include "core/xalloc.h"

/* ---- the report ------------------------------------------------------------ */

struct lint {
    struct lint_report *r;
    const char *data;
    size_t len;
    /* per code: how many were seen (listed up to LINT_MAX_PER_CODE) */
    struct {
        const char *code;
        size_t seen;
        enum lint_severity severity;
    } counts[64];
    size_t ncounts;
};

static size_t *code_count(struct lint *l, const char *code, enum lint_severity sev) {
    for (size_t i = 0; i < l->ncounts; i++)
        if (!strcmp(l->counts[i].code, code)) return &l->counts[i].seen;
    if (l->ncounts == sizeof l->counts / sizeof l->counts[0]) return NULL;
    l->counts[l->ncounts].code = code;
    l->counts[l->ncounts].seen = 0;
    l->counts[l->ncounts].severity = sev;
    return &l->counts[l->ncounts++].seen;
}

static void add(struct lint *l, enum lint_severity sev, const char *code, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void add(struct lint *l, enum lint_severity sev, const char *code, const char *where, const char *fmt, ...) {
    size_t *seen = code_count(l, code, sev);
    if (seen && ++*seen > LINT_MAX_PER_CODE) return;
    struct lint_report *r = l->r;
    r->v = xrealloc(r->v, (r->n + 1) * sizeof *r->v);
    struct lint_finding *f = &r->v[r->n++];
    f->severity = sev;
    f->code = code;
    va_list ap;
    va_start(ap, fmt);
    buf_t m = BUF_INIT;
    buf_vprintf(&m, fmt, ap);
    va_end(ap);
    f->message = buf_steal(&m);
    f->where = xstrdup(where ? where : "message");
}

/* "and N more" for codes seen more often than listed */
static void add_overflow_notes(struct lint *l) {
    for (size_t i = 0; i < l->ncounts; i++) {
        if (l->counts[i].seen <= LINT_MAX_PER_CODE) continue;
        struct lint_report *r = l->r;
        r->v = xrealloc(r->v, (r->n + 1) * sizeof *r->v);
        struct lint_finding *f = &r->v[r->n++];
        f->severity = l->counts[i].severity;
        f->code = l->counts[i].code;
        buf_t m = BUF_INIT;
        buf_printf(&m, "%zu more like this", l->counts[i].seen - LINT_MAX_PER_CODE);
        f->message = buf_steal(&m);
        f->where = xstrdup("message");
    }
}

static size_t line_of(const struct lint *l, size_t offset) {
    size_t line = 1;
    for (size_t i = 0; i < offset && i < l->len; i++)
        if (l->data[i] == '\n') line++;
    return line;
}

/* ---- the header pass (ours) ---------------------------------------------- */

struct field {
    char name[80];
    char *value; /* unfolded, without the line ends */
    size_t line;
};

struct header {
    struct field *v;
    size_t n;
    size_t body_offset;
};

static void header_free(struct header *h) {
    for (size_t i = 0; i < h->n; i++) free(h->v[i].value);
    free(h->v);
}

static const struct field *field_get(const struct header *h, const char *name) {
    for (size_t i = 0; i < h->n; i++)
        if (!strcasecmp(h->v[i].name, name)) return &h->v[i];
    return NULL;
}

static size_t field_count(const struct header *h, const char *name) {
    size_t n = 0;
    for (size_t i = 0; i < h->n; i++) n += !strcasecmp(h->v[i].name, name);
    return n;
}

/* Line-level checks over the whole message, and the top-level header
 * fields. */
static void scan(struct lint *l, struct header *h) {
    const char *d = l->data;
    size_t len = l->len, pos = 0, line = 1;
    bool in_header = true;
    size_t crlf = 0, lf = 0;
    while (pos < len) {
        const char *nl = memchr(d + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - d) : len;
        size_t content_end = end;
        if (content_end > pos && d[content_end - 1] == '\r') {
            content_end--;
            if (nl) crlf++;
        } else if (nl) {
            lf++;
        }
        size_t n = content_end - pos;
        char where[32];
        snprintf(where, sizeof where, "line %zu", line);
        if (n > 998)
            add(l, LINT_ERROR, "line-too-long", where,
                "line of %zu characters; RFC 5322 allows 998 (receivers break or reject such lines)", n);
        const char *cr = memchr(d + pos, '\r', n);
        if (cr) add(l, LINT_WARNING, "bare-cr", where, "a CR not followed by LF (RFC 5322 2.3 forbids it)");
        if (in_header) {
            if (n == 0) {
                in_header = false;
                h->body_offset = nl ? end + 1 : len;
            } else if (d[pos] == ' ' || d[pos] == '\t') {
                if (h->n == 0) {
                    add(l, LINT_ERROR, "invalid-header-line", where, "the message starts with a continuation line");
                } else {
                    struct field *f = &h->v[h->n - 1];
                    size_t old = strlen(f->value);
                    f->value = xrealloc(f->value, old + n + 1);
                    memcpy(f->value + old, d + pos, n);
                    f->value[old + n] = '\0';
                }
            } else {
                const char *colon = memchr(d + pos, ':', n);
                bool ok = colon && colon > d + pos;
                for (const char *c = d + pos; ok && c < colon; c++)
                    if ((unsigned char)*c <= 32 || (unsigned char)*c >= 127) ok = false;
                if (!ok) {
                    add(l, LINT_ERROR, "invalid-header-line", where,
                        "a header line without a valid field name and colon (RFC 5322 2.2): the header may end here "
                        "for receivers");
                } else {
                    h->v = xrealloc(h->v, (h->n + 1) * sizeof *h->v);
                    struct field *f = &h->v[h->n++];
                    size_t nl_len = (size_t)(colon - (d + pos));
                    if (nl_len >= sizeof f->name) nl_len = sizeof f->name - 1;
                    memcpy(f->name, d + pos, nl_len);
                    f->name[nl_len] = '\0';
                    f->value = xstrndup(colon + 1, (size_t)(d + content_end - (colon + 1)));
                    f->line = line;
                }
            }
        }
        pos = nl ? end + 1 : len;
        line++;
    }
    if (in_header) h->body_offset = len;
    if (crlf && lf)
        add(l, LINT_WARNING, "bare-lf", NULL,
            "%zu lines end in a bare LF among %zu CRLF lines; SMTP requires CRLF (Postfix refuses bare LF with "
            "smtpd_forbid_bare_newline)",
            lf, crlf);
}

static char *trim(const char *s) {
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    return xstrndup(s, n);
}

static void where_header(char *out, size_t n, const struct field *f) {
    snprintf(out, n, "header %s (line %zu)", f->name, f->line);
}

static void check_singletons(struct lint *l, const struct header *h) {
    /* RFC 5322 3.6: at most once each */
    static const char *const once[] = {"Date",    "From",       "Sender",      "Reply-To",   "To",      "Cc",
                                       "Bcc",     "Message-ID", "In-Reply-To", "References", "Subject", NULL};
    for (const char *const *k = once; *k; k++) {
        size_t n = field_count(h, *k);
        if (n > 1) {
            char where[96];
            snprintf(where, sizeof where, "header %s", *k);
            add(l, LINT_ERROR, "duplicate-header", where,
                "%s appears %zu times; RFC 5322 3.6 allows it once (receivers may reject the message)", *k, n);
        }
    }
}

static void check_date(struct lint *l, const struct header *h) {
    const struct field *f = field_get(h, "Date");
    if (!f) {
        add(l, LINT_ERROR, "missing-date", "header Date",
            "no Date header; RFC 5322 3.6 requires one and receivers treat its absence as spam");
        return;
    }
    char *v = trim(f->value);
    GDateTime *dt = g_mime_utils_header_decode_date(v);
    char where[128];
    where_header(where, sizeof where, f);
    if (!dt) add(l, LINT_ERROR, "invalid-date", where, "the Date \"%.60s\" is not an RFC 5322 date-time", v);
    else g_date_time_unref(dt);
    free(v);
}

static void check_from(struct lint *l, const struct header *h) {
    const struct field *f = field_get(h, "From");
    if (!f) {
        add(l, LINT_ERROR, "missing-from", "header From", "no From header; RFC 5322 3.6 requires one");
        return;
    }
    char where[128];
    where_header(where, sizeof where, f);
    InternetAddressList *list = internet_address_list_parse(NULL, f->value);
    int n = list ? internet_address_list_length(list) : 0;
    int mailboxes = 0;
    for (int i = 0; i < n; i++) {
        InternetAddress *a = internet_address_list_get_address(list, i);
        if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
            const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));
            if (addr && strchr(addr, '@')) mailboxes++;
        }
    }
    if (list) g_object_unref(list);
    if (mailboxes == 0)
        add(l, LINT_ERROR, "invalid-from", where, "From has no valid address (local@domain); DMARC cannot align it");
    else if (mailboxes > 1 && !field_get(h, "Sender"))
        add(l, LINT_ERROR, "from-needs-sender", where,
            "From names %d mailboxes but there is no Sender header (RFC 5322 3.6.2)", mailboxes);
}

static void check_message_id(struct lint *l, const struct header *h) {
    const struct field *f = field_get(h, "Message-ID");
    if (!f) {
        add(l, LINT_WARNING, "missing-message-id", "header Message-ID",
            "no Message-ID; Gmail and others junk or reject mail without one (RFC 5322 3.6.4 says SHOULD)");
        return;
    }
    char *v = trim(f->value);
    size_t n = strlen(v);
    const char *at = strchr(v, '@');
    bool ok = n >= 5 && v[0] == '<' && v[n - 1] == '>' && at && at > v + 1 && at < v + n - 2 && !strchr(v, ' ') &&
              !memchr(v + 1, '<', n - 1);
    char where[128];
    where_header(where, sizeof where, f);
    if (!ok) add(l, LINT_WARNING, "invalid-message-id", where, "Message-ID \"%.80s\" is not <left@right>", v);
    free(v);
}

static void check_subject_and_mime(struct lint *l, const struct header *h) {
    if (!field_get(h, "Subject"))
        add(l, LINT_WARNING, "missing-subject", "header Subject", "no Subject; many filters score that as spam");
    if (!field_get(h, "MIME-Version") && (field_get(h, "Content-Type") || field_get(h, "Content-Transfer-Encoding")))
        add(l, LINT_WARNING, "missing-mime-version", "header MIME-Version",
            "Content-Type is set but MIME-Version: 1.0 is missing (RFC 2045 4): receivers may show the raw MIME");
}

/* What is wrong with the encoded-word =?charset?enc?text?= (RFC 2047 2,
 * 4, 5), NULL when nothing: cs..q1 the charset, q1+1..q2 the encoding,
 * q2+1..e the text. */
static const char *encoded_word_problem(const char *cs, const char *q1, const char *q2, const char *e) {
    size_t cl = (size_t)(q1 - cs);
    if (cl == 0 || cl > 40) return "has no charset";
    char charset[48];
    memcpy(charset, cs, cl);
    charset[cl] = '\0';
    char *star = strchr(charset, '*'); /* RFC 2231 language suffix */
    if (star) *star = '\0';
    if (q2 - q1 != 2) return "has no single-letter encoding";
    char enc = (char)toupper((unsigned char)q1[1]);
    if (enc != 'B' && enc != 'Q') return "names an encoding other than B or Q";
    const char *t = q2 + 1;
    size_t tl = (size_t)(e - t);
    for (size_t i = 0; i < tl; i++)
        if (t[i] == ' ' || t[i] == '\t' || (unsigned char)t[i] < 33 || (unsigned char)t[i] > 126)
            return "contains white space or control characters";
    if (enc == 'B') {
        if (tl % 4) return "is not valid base64 (length not a multiple of 4)";
        for (size_t i = 0; i < tl; i++) {
            char c = t[i];
            bool pad = c == '=' && i >= tl - 2;
            if (!isalnum((unsigned char)c) && c != '+' && c != '/' && !pad) return "is not valid base64";
        }
    }
    iconv_t cd = g_mime_iconv_open("UTF-8", charset);
    if (cd == (iconv_t)-1) return "names a charset no converter knows";
    g_mime_iconv_close(cd);
    return NULL;
}

static void check_8bit_and_words(struct lint *l, const struct header *h) {
    for (size_t i = 0; i < h->n; i++) {
        const struct field *f = &h->v[i];
        char where[128];
        where_header(where, sizeof where, f);
        for (const unsigned char *c = (const unsigned char *)f->value; *c; c++) {
            if (*c >= 0x80) {
                add(l, LINT_WARNING, "8bit-header", where,
                    "raw 8-bit characters in a header: only SMTPUTF8 (RFC 6532) receivers accept them; encode them "
                    "as RFC 2047 words");
                break;
            }
        }
        /* RFC 2047 2: an encoded-word is at most 75 characters */
        for (const char *p = strstr(f->value, "=?"); p; p = strstr(p + 2, "=?")) {
            const char *q1 = strchr(p + 2, '?');
            const char *q2 = q1 ? strchr(q1 + 1, '?') : NULL;
            const char *e = q2 ? strstr(q2 + 1, "?=") : NULL;
            if (!e) break;
            size_t n = (size_t)(e + 2 - p);
            if (n > 75)
                add(l, LINT_WARNING, "long-encoded-word", where,
                    "an encoded-word of %zu characters; RFC 2047 allows 75 (some clients show it raw)", n);
            const char *why = encoded_word_problem(p + 2, q1, q2, e);
            if (why)
                add(l, LINT_WARNING, "invalid-encoded-word", where, "the encoded-word \"%.*s\" %s; clients show it raw",
                    (int)(n > 60 ? 60 : n), p, why);
            p = e;
        }
    }
}

/* RFC 8058 one-click unsubscribe, which Gmail and Yahoo require of bulk senders. */
static void check_unsubscribe(struct lint *l, const struct header *h) {
    const struct field *u = field_get(h, "List-Unsubscribe");
    const struct field *p = field_get(h, "List-Unsubscribe-Post");
    char where[128];
    if (!u && p) {
        where_header(where, sizeof where, p);
        add(l, LINT_ERROR, "unsubscribe-post-without-list-unsubscribe", where,
            "List-Unsubscribe-Post without List-Unsubscribe (RFC 8058 3.1)");
        return;
    }
    if (!u) return;
    where_header(where, sizeof where, u);
    bool https = strcasestr(u->value, "<https://") != NULL;
    bool mailto = strcasestr(u->value, "<mailto:") != NULL;
    bool http = strcasestr(u->value, "<http://") != NULL;
    if (!https && !mailto && !http)
        add(l, LINT_ERROR, "invalid-list-unsubscribe", where,
            "List-Unsubscribe has no <https:...> or <mailto:...> URI (RFC 2369 3.2)");
    if (!p) {
        add(l, LINT_WARNING, "list-unsubscribe-no-post", where,
            "List-Unsubscribe without List-Unsubscribe-Post: List-Unsubscribe=One-Click (RFC 8058), which Gmail "
            "and Yahoo require of bulk senders");
        return;
    }
    char *pv = trim(p->value);
    char pw[128];
    where_header(pw, sizeof pw, p);
    if (strcmp(pv, "List-Unsubscribe=One-Click") != 0)
        add(l, LINT_ERROR, "invalid-list-unsubscribe-post", pw,
            "List-Unsubscribe-Post must be exactly \"List-Unsubscribe=One-Click\" (RFC 8058 3.1), not \"%.60s\"", pv);
    free(pv);
    if (!https)
        add(l, LINT_ERROR, "one-click-needs-https", where,
            "one-click unsubscribe needs an https URI in List-Unsubscribe (RFC 8058 3.1)");
}

/* The domain of the first From address, lower case ("" when none). */
static void from_domain(const struct header *h, char *out, size_t n) {
    out[0] = '\0';
    const struct field *f = field_get(h, "From");
    if (!f) return;
    InternetAddressList *list = internet_address_list_parse(NULL, f->value);
    if (!list) return;
    if (internet_address_list_length(list) > 0) {
        InternetAddress *a = internet_address_list_get_address(list, 0);
        if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
            const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));
            const char *at = addr ? strrchr(addr, '@') : NULL;
            if (at) snprintf(out, n, "%s", at + 1);
        }
    }
    g_object_unref(list);
    for (char *c = out; *c; c++) *c = (char)tolower((unsigned char)*c);
}

/* RFC 6376 3.5: a tag-list with v=1, a, b, bh, d, h (naming From), s. */
static void check_dkim(struct lint *l, const struct header *h) {
    size_t seen = 0;
    char fdom[256];
    from_domain(h, fdom, sizeof fdom);
    for (size_t i = 0; i < h->n; i++) {
        const struct field *f = &h->v[i];
        if (strcasecmp(f->name, "DKIM-Signature") != 0) continue;
        seen++;
        char where[128];
        where_header(where, sizeof where, f);
        static const char *const need[] = {"v", "a", "b", "bh", "d", "h", "s"};
        char *val[7] = {0};
        bool dup = false, bad = false;
        char *copy = xstrdup(f->value);
        char *save = NULL;
        for (char *t = strtok_r(copy, ";", &save); t; t = strtok_r(NULL, ";", &save)) {
            char *eq = strchr(t, '=');
            char *name = eq ? (*eq = '\0', trim(t)) : trim(t);
            if (!eq) {
                if (*name) bad = true;
                free(name);
                continue;
            }
            for (size_t k = 0; k < 7; k++) {
                if (!strcmp(name, need[k])) {
                    if (val[k]) dup = true;
                    else val[k] = trim(eq + 1);
                }
            }
            free(name);
        }
        free(copy);
        if (bad) add(l, LINT_ERROR, "invalid-dkim-signature", where, "DKIM-Signature is not a tag=value; list");
        if (dup) add(l, LINT_ERROR, "invalid-dkim-signature", where, "DKIM-Signature repeats a tag (RFC 6376 3.2)");
        for (size_t k = 0; k < 7; k++)
            if (!val[k] || !*val[k])
                add(l, LINT_ERROR, "invalid-dkim-signature", where, "DKIM-Signature lacks the required %s= tag",
                    need[k]);
        if (val[0] && *val[0] && strcmp(val[0], "1") != 0)
            add(l, LINT_ERROR, "invalid-dkim-signature", where, "DKIM-Signature v=%s; only v=1 exists", val[0]);
        if (val[1] && *val[1]) {
            if (!strcasecmp(val[1], "rsa-sha1"))
                add(l, LINT_WARNING, "weak-dkim-algorithm", where,
                    "a=rsa-sha1 is obsolete (RFC 8301); receivers treat it as unsigned");
            else if (strcasecmp(val[1], "rsa-sha256") != 0 && strcasecmp(val[1], "ed25519-sha256") != 0)
                add(l, LINT_ERROR, "invalid-dkim-signature", where, "unknown DKIM algorithm a=%.40s", val[1]);
        }
        if (val[5] && *val[5]) {
            bool from = false;
            char *hl = xstrdup(val[5]), *s2 = NULL;
            for (char *t = strtok_r(hl, ":", &s2); t; t = strtok_r(NULL, ":", &s2)) {
                char *n = trim(t);
                if (!strcasecmp(n, "from")) from = true;
                free(n);
            }
            free(hl);
            if (!from)
                add(l, LINT_ERROR, "invalid-dkim-signature", where,
                    "the h= list does not include From (RFC 6376 5.4 requires it)");
        }
        if (val[4] && *val[4] && fdom[0]) {
            /* DMARC relaxed alignment: d= is the From domain or a parent of it */
            size_t dl = strlen(val[4]), fl = strlen(fdom);
            bool aligned = (dl == fl && !strcasecmp(val[4], fdom)) ||
                           (fl > dl && fdom[fl - dl - 1] == '.' && !strcasecmp(fdom + fl - dl, val[4]));
            if (!aligned)
                add(l, LINT_WARNING, "dkim-not-aligned", where,
                    "the signing domain d=%.80s does not align with the From domain %s, so it does not count for "
                    "DMARC",
                    val[4], fdom);
        }
        for (size_t k = 0; k < 7; k++) free(val[k]);
    }
    if (!seen)
        add(l, LINT_INFO, "no-dkim-signature", "header DKIM-Signature",
            "not DKIM-signed here; Gmail and Yahoo require DKIM of bulk senders (sign in your real outbound path)");
}

/* ---- MIME, by GMime's parser ----------------------------------------------- */

static void gmime_warning(gint64 offset, GMimeParserWarning code, const gchar *item, gpointer arg) {
    struct lint *l = arg;
    const char *name = NULL, *text = NULL;
    enum lint_severity sev = LINT_WARNING;
    switch (code) {
    case GMIME_WARN_DUPLICATED_HEADER:
    case GMIME_WARN_UNENCODED_8BIT_HEADER: return; /* the header pass reports these */
    case GMIME_WARN_DUPLICATED_PARAMETER: name = "duplicate-parameter", text = "a header parameter is repeated"; break;
    case GMIME_WARN_INVALID_CONTENT_TYPE:
        sev = LINT_ERROR, name = "invalid-content-type", text = "invalid Content-Type; receivers treat the part as an opaque file";
        break;
    case GMIME_WARN_INVALID_RFC2047_HEADER_VALUE:
        name = "invalid-encoded-word", text = "an invalid RFC 2047 encoded-word; clients may show it raw";
        break;
    case GMIME_WARN_INVALID_PARAMETER: name = "invalid-parameter", text = "an invalid header parameter"; break;
    case GMIME_WARN_MALFORMED_MULTIPART:
        sev = LINT_ERROR, name = "malformed-multipart", text = "a multipart with no parts: its boundary never appears";
        break;
    case GMIME_WARN_TRUNCATED_MESSAGE:
        sev = LINT_ERROR, name = "truncated-message", text = "the message ends inside a MIME part (closing boundary missing)";
        break;
    case GMIME_WARN_MALFORMED_MESSAGE: sev = LINT_ERROR, name = "malformed-message", text = "the message is malformed"; break;
    case GMIME_WARN_INVALID_ADDRESS_LIST:
        sev = LINT_ERROR, name = "invalid-address-list", text = "an address list that does not parse";
        break;
    case GMIME_CRIT_INVALID_HEADER_NAME:
        sev = LINT_ERROR, name = "invalid-header-name", text = "an invalid header name: parsers may skip the rest";
        break;
    case GMIME_CRIT_CONFLICTING_HEADER: sev = LINT_ERROR, name = "conflicting-header", text = "conflicting headers"; break;
    case GMIME_CRIT_CONFLICTING_PARAMETER:
        sev = LINT_ERROR, name = "conflicting-parameter", text = "conflicting header parameters";
        break;
    case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY:
        sev = LINT_ERROR, name = "multipart-without-boundary", text = "a multipart without a boundary parameter";
        break;
    case GMIME_CRIT_NESTING_OVERFLOW: sev = LINT_ERROR, name = "mime-nesting-overflow", text = "MIME nested too deep"; break;
    case GMIME_WARN_PART_WITHOUT_CONTENT: name = "part-without-content", text = "a MIME part without content"; break;
    case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT:
        sev = LINT_ERROR, name = "part-without-headers", text = "a MIME part with neither headers nor content";
        break;
    default: name = "mime-problem", text = "a MIME problem"; break;
    }
    char where[48];
    if (code == GMIME_WARN_TRUNCATED_MESSAGE || offset <= 0) snprintf(where, sizeof where, "end of message");
    else snprintf(where, sizeof where, "line %zu", line_of(l, (size_t)offset));
    if (item && *item) add(l, sev, name, where, "%s (%.80s)", text, item);
    else add(l, sev, name, where, "%s", text);
}

struct parts {
    struct lint *l;
    int text_plain, text_html;
    size_t html_max;
    bool eightbit_unlabelled;
    size_t images, html_text_chars; /* of the largest HTML part */
};

/* A part's content, decoded (base64, quoted-printable), into a new memory
 * stream (unref it). */
static GMimeStream *decoded(GMimePart *p) {
    GMimeStream *mem = g_mime_stream_mem_new();
    GMimeDataWrapper *w = g_mime_part_get_content(p);
    if (w) g_mime_data_wrapper_write_to_stream(w, mem);
    return mem;
}

static void each_part(GMimeObject *parent, GMimeObject *part, gpointer arg) {
    struct parts *ps = arg;
    if (!GMIME_IS_PART(part)) return;
    GMimeContentType *ct = g_mime_object_get_content_type(part);
    if (g_mime_part_is_attachment(GMIME_PART(part))) return;
    if (ct && g_mime_content_type_is_type(ct, "text", "plain")) ps->text_plain++;
    if (ct && g_mime_content_type_is_type(ct, "text", "html")) {
        ps->text_html++;
        /* decoded once: its size, and what it shows (images against visible text) */
        GMimeStream *mem = decoded(GMIME_PART(part));
        GByteArray *ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
        if (ba->len > ps->html_max) {
            ps->html_max = ba->len;
            buf_t t = BUF_INIT;
            struct html_facts f;
            html_to_text((const char *)ba->data, ba->len, 64 * 1024, &t, &f);
            ps->images = f.images;
            ps->html_text_chars = f.text_chars;
            buf_free(&t);
        }
        g_object_unref(mem);
    }
    GMimeContentEncoding enc = g_mime_part_get_content_encoding(GMIME_PART(part));
    if (enc == GMIME_CONTENT_ENCODING_DEFAULT || enc == GMIME_CONTENT_ENCODING_7BIT) {
        GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(part));
        GMimeStream *s = w ? g_mime_data_wrapper_get_stream(w) : NULL;
        if (s) {
            g_mime_stream_reset(s);
            char b[4096];
            ssize_t n;
            while (!ps->eightbit_unlabelled && (n = g_mime_stream_read(s, b, sizeof b)) > 0)
                for (ssize_t i = 0; i < n; i++)
                    if ((unsigned char)b[i] >= 0x80) ps->eightbit_unlabelled = true;
            g_mime_stream_reset(s);
        }
    }
}

static void check_mime(struct lint *l, struct lint_report *r) {
    GMimeParserOptions *opts = g_mime_parser_options_new();
    g_mime_parser_options_set_warning_callback(opts, gmime_warning, l);
    GMimeStream *st = g_mime_stream_mem_new_with_buffer(l->data, l->len);
    GMimeParser *p = g_mime_parser_new_with_stream(st);
    GMimeMessage *m = g_mime_parser_construct_message(p, opts);
    if (m) {
        struct parts ps = {l, 0, 0, 0, false, 0, 0};
        g_mime_message_foreach(m, each_part, &ps);
        r->html_bytes = ps.html_max;
        if (ps.text_html && !ps.text_plain)
            add(l, LINT_WARNING, "no-text-alternative", "body",
                "HTML without a text/plain alternative (multipart/alternative): spam filters score it and text-only "
                "clients show nothing useful");
        if (ps.text_html && ps.images > 0 && ps.html_text_chars < LINT_IMAGE_ONLY_TEXT)
            add(l, LINT_WARNING, "image-only", "body",
                "the HTML shows %zu image%s and only %zu characters of text: spam filters score image-only mail, "
                "and most clients block images until asked",
                ps.images, ps.images == 1 ? "" : "s", ps.html_text_chars);
        if (ps.html_max > LINT_GMAIL_CLIP_BYTES)
            add(l, LINT_WARNING, "gmail-clip", "body",
                "the HTML is %zu bytes; Gmail clips messages above 102 KB and hides the rest behind a link",
                ps.html_max);
        if (ps.eightbit_unlabelled)
            add(l, LINT_WARNING, "8bit-without-cte", "body",
                "8-bit text in a part declared 7bit (or without Content-Transfer-Encoding); use quoted-printable or "
                "base64, or 8bit with 8BITMIME");
        g_object_unref(m);
    } else {
        add(l, LINT_ERROR, "malformed-message", NULL, "the message does not parse as RFC 5322");
    }
    g_object_unref(p);
    g_object_unref(st);
    g_mime_parser_options_free(opts);
}

/* ---- entry points ------------------------------------------------------------ */

void mail_lint(const char *data, size_t len, struct lint_report *out) {
    static int inited;
    if (!inited) {
        g_mime_init();
        inited = 1;
    }
    memset(out, 0, sizeof *out);
    struct lint l = {.r = out, .data = data, .len = len};
    struct header h = {0};
    scan(&l, &h);
    check_singletons(&l, &h);
    check_date(&l, &h);
    check_from(&l, &h);
    check_message_id(&l, &h);
    check_subject_and_mime(&l, &h);
    check_8bit_and_words(&l, &h);
    check_unsubscribe(&l, &h);
    check_dkim(&l, &h);
    check_mime(&l, out);
    if (len > 25u * 1024 * 1024)
        add(&l, LINT_WARNING, "too-large", NULL, "%zu bytes: Gmail and Outlook.com refuse messages above 25 MB", len);
    add_overflow_notes(&l);
    header_free(&h);
}

void lint_report_free(struct lint_report *r) {
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].message);
        free(r->v[i].where);
    }
    free(r->v);
    memset(r, 0, sizeof *r);
}

int lint_report_worst(const struct lint_report *r) {
    int worst = -1;
    for (size_t i = 0; i < r->n; i++)
        if ((int)r->v[i].severity > worst) worst = (int)r->v[i].severity;
    return worst;
}

const char *lint_severity_name(enum lint_severity s) {
    switch (s) {
    case LINT_INFO: return "info";
    case LINT_WARNING: return "warning";
    case LINT_ERROR: return "error";
    }
    return "info";
}

cJSON *lint_report_json(const struct lint_report *r) {
    size_t counts[3] = {0, 0, 0};
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < r->n; i++) {
        const struct lint_finding *f = &r->v[i];
        counts[f->severity]++;
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "Severity", lint_severity_name(f->severity));
        cJSON_AddStringToObject(j, "Code", f->code);
        cJSON_AddStringToObject(j, "Message", f->message);
        cJSON_AddStringToObject(j, "Where", f->where);
        cJSON_AddItemToArray(arr, j);
    }
    cJSON_AddNumberToObject(o, "Errors", (double)counts[LINT_ERROR]);
    cJSON_AddNumberToObject(o, "Warnings", (double)counts[LINT_WARNING]);
    cJSON_AddNumberToObject(o, "Infos", (double)counts[LINT_INFO]);
    cJSON_AddNumberToObject(o, "HTMLBytes", (double)r->html_bytes);
    cJSON_AddItemToObject(o, "Findings", arr);
    return o;
}
