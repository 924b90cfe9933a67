/*
 * imap_bodystructure - raw-byte MIME scanner plus ENVELOPE / BODY /
 * BODYSTRUCTURE writers and BODY[section] resolution; see
 * imap_bodystructure.h for the rules and choices.
 *
 * The tree: every entity (the message, each body part, each embedded
 * message) is one struct bs_part with byte ranges of its header block
 * (including the blank line that ends it) and its body. A multipart has its
 * parts as children; a message/rfc822 part has one child, the embedded
 * message entity. The CRLF before a boundary line belongs to the boundary
 * (RFC 2046 5.1.1), so it is not part of the preceding body.
 */
#include "imap/imap_bodystructure.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "core/xalloc.h"

struct bs_param {
    char *name;
    char *value;
};

struct bs_part {
    size_t hdr_off, hdr_len;
    size_t body_off, body_len;
    size_t lines;
    char *type, *subtype;
    struct bs_param *params;
    size_t nparams;
    char *id, *desc, *enc, *md5, *lang, *loc;
    char *disp;
    struct bs_param *disp_params;
    size_t ndisp_params;
    bool multipart;
    bool rfc822;
    struct bs_part **child;
    size_t nchild;
};

struct imap_bodystructure {
    const char *data;
    size_t len;
    size_t nparts;
    struct bs_part *root;
};

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

static void gmime_init_once(void) {
    g_mime_init();
}

void imap_bodystructure_init(void) {
    pthread_once(&gmime_once, gmime_init_once);
}

/* ---- strings ----------------------------------------------------------- */

void imap_bodystructure_append_string(buf_t *out, const char *s, size_t len) {
    bool literal = false;
    for (size_t i = 0; i < len && !literal; i++) {
        unsigned char c = (unsigned char)s[i];
        literal = c == '\r' || c == '\n' || c == '\0' || c >= 0x80;
    }
    if (literal) {
        buf_printf(out, "{%zu}\r\n", len);
        buf_append(out, s, len);
        return;
    }
    buf_append_char(out, '"');
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\') buf_append_char(out, '\\');
        buf_append_char(out, s[i]);
    }
    buf_append_char(out, '"');
}

void imap_bodystructure_append_nstring(buf_t *out, const char *s) {
    if (!s)
        buf_append_str(out, "NIL");
    else
        imap_bodystructure_append_string(out, s, strlen(s));
}

void imap_bodystructure_crlf(const char *data, size_t len, buf_t *out) {
    buf_reserve(out, len + len / 16 + 2);
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r')) {
            buf_append(out, data + start, i - start);
            buf_append(out, "\r\n", 2);
            start = i + 1;
        }
    }
    buf_append(out, data + start, len - start);
}

/* ---- header blocks ----------------------------------------------------- */

struct hdr_field {
    size_t off, len;   /* whole field with continuation lines and line ends */
    size_t name_len;   /* name without trailing white space; 0 if no ':' */
    size_t colon;      /* offset of the ':' */
};

/* Next field of the header block [*pos, end); false at the end. */
static bool hdr_next(const char *d, size_t *pos, size_t end, struct hdr_field *f) {
    size_t p = *pos;
    if (p >= end) return false;
    /* blank line ends the block */
    if (d[p] == '\n' || (d[p] == '\r' && (p + 1 >= end || d[p + 1] == '\n'))) return false;
    f->off = p;
    for (;;) {
        const char *lf = memchr(d + p, '\n', end - p);
        p = lf ? (size_t)(lf - d) + 1 : end;
        if (p >= end || (d[p] != ' ' && d[p] != '\t')) break;
    }
    f->len = p - f->off;
    const char *colon = memchr(d + f->off, ':', f->len);
    f->name_len = 0;
    f->colon = 0;
    if (colon) {
        size_t n = (size_t)(colon - (d + f->off));
        f->colon = (size_t)(colon - d);
        while (n > 0 && (d[f->off + n - 1] == ' ' || d[f->off + n - 1] == '\t')) n--;
        bool ok = n > 0;
        for (size_t k = 0; k < n && ok; k++) ok = d[f->off + k] != '\n' && d[f->off + k] != '\r';
        if (ok) f->name_len = n;
    }
    *pos = p;
    return true;
}

/* Unfolded, trimmed value of a field as a new string (NUL bytes dropped). */
static char *hdr_value(const char *d, const struct hdr_field *f) {
    size_t s = f->colon + 1, e = f->off + f->len;
    char *v = xmalloc(e - s + 1);
    size_t n = 0;
    for (size_t i = s; i < e; i++)
        if (d[i] != '\r' && d[i] != '\n' && d[i] != '\0') v[n++] = d[i];
    size_t b = 0;
    while (b < n && (v[b] == ' ' || v[b] == '\t')) b++;
    while (n > b && (v[n - 1] == ' ' || v[n - 1] == '\t')) n--;
    memmove(v, v + b, n - b);
    v[n - b] = '\0';
    return v;
}

/* First field called name in the header of p, unfolded; NULL if absent. */
static char *part_header(const struct imap_bodystructure *bs, const struct bs_part *p, const char *name) {
    size_t pos = p->hdr_off, end = p->hdr_off + p->hdr_len;
    struct hdr_field f;
    size_t nl = strlen(name);
    while (hdr_next(bs->data, &pos, end, &f))
        if (f.name_len == nl && strncasecmp(bs->data + f.off, name, nl) == 0) return hdr_value(bs->data, &f);
    return NULL;
}

/* ---- MIME scanning ----------------------------------------------------- */

static void params_free(struct bs_param *v, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].value);
    }
    free(v);
}

/* Bounded by IMAP_BODYSTRUCTURE_MAX_DEPTH. */
static void part_free(struct bs_part *p) {
    if (!p) return;
    for (size_t i = 0; i < p->nchild; i++) part_free(p->child[i]);
    free(p->child);
    free(p->type);
    free(p->subtype);
    params_free(p->params, p->nparams);
    params_free(p->disp_params, p->ndisp_params);
    free(p->id);
    free(p->desc);
    free(p->enc);
    free(p->md5);
    free(p->lang);
    free(p->loc);
    free(p->disp);
    free(p);
}

static bool is_ascii(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80) return false;
    return true;
}

/* GMime parameters to our list; non-ASCII values as RFC 2231 name*. */
static void params_from_gmime(GMimeParamList *l, struct bs_param **out, size_t *n) {
    *out = NULL;
    *n = 0;
    if (!l) return;
    int cnt = g_mime_param_list_length(l);
    if (cnt <= 0) return;
    *out = xcalloc((size_t)cnt, sizeof(**out));
    for (int i = 0; i < cnt; i++) {
        GMimeParam *pm = g_mime_param_list_get_parameter_at(l, i);
        const char *name = pm ? g_mime_param_get_name(pm) : NULL;
        const char *value = pm ? g_mime_param_get_value(pm) : NULL;
        if (!name || !*name) continue;
        if (!value) value = "";
        struct bs_param *bp = &(*out)[(*n)++];
        if (is_ascii(value)) {
            bp->name = xstrdup(name);
            bp->value = xstrdup(value);
            continue;
        }
        buf_t nb = BUF_INIT, vb = BUF_INIT;
        buf_printf(&nb, "%s*", name);
        const char *lang = g_mime_param_get_lang(pm);
        buf_printf(&vb, "utf-8'%s'", lang && is_ascii(lang) ? lang : "");
        for (const unsigned char *c = (const unsigned char *)value; *c; c++) {
            if (isalnum(*c) || strchr("!#$&+-.^_`|~", *c))
                buf_append_char(&vb, (char)*c);
            else
                buf_printf(&vb, "%%%02X", *c);
        }
        bp->name = buf_steal(&nb);
        bp->value = buf_steal(&vb);
    }
}

/* Validate "type/subtype" before the first ';'. */
static bool content_type_plausible(const char *v) {
    const char *semi = strchr(v, ';');
    size_t n = semi ? (size_t)(semi - v) : strlen(v);
    const char *slash = memchr(v, '/', n);
    if (!slash || slash == v) return false;
    size_t rest = n - (size_t)(slash - v) - 1;
    while (rest > 0 && isspace((unsigned char)slash[rest])) rest--;
    return rest > 0;
}

static void set_default_type(struct bs_part *p, bool digest_child) {
    if (digest_child) {
        p->type = xstrdup("message");
        p->subtype = xstrdup("rfc822");
    } else {
        p->type = xstrdup("text");
        p->subtype = xstrdup("plain");
    }
}

static void part_parse_headers(const struct imap_bodystructure *bs, struct bs_part *p, bool digest_child) {
    char *ct = part_header(bs, p, "Content-Type");
    if (ct && content_type_plausible(ct)) {
        GMimeContentType *gct = g_mime_content_type_parse(NULL, ct);
        const char *t = gct ? g_mime_content_type_get_media_type(gct) : NULL;
        const char *st = gct ? g_mime_content_type_get_media_subtype(gct) : NULL;
        if (t && st && *t && *st && strcmp(t, "*") != 0) {
            p->type = xstrdup(t);
            p->subtype = xstrdup(st);
            params_from_gmime(g_mime_content_type_get_parameters(gct), &p->params, &p->nparams);
        }
        if (gct) g_object_unref(gct);
    }
    free(ct);
    if (!p->type) set_default_type(p, digest_child);

    p->id = part_header(bs, p, "Content-ID");
    p->desc = part_header(bs, p, "Content-Description");
    p->enc = part_header(bs, p, "Content-Transfer-Encoding");
    p->md5 = part_header(bs, p, "Content-MD5");
    p->lang = part_header(bs, p, "Content-Language");
    p->loc = part_header(bs, p, "Content-Location");
    char *cd = part_header(bs, p, "Content-Disposition");
    if (cd && *cd) {
        GMimeContentDisposition *gd = g_mime_content_disposition_parse(NULL, cd);
        const char *d = gd ? g_mime_content_disposition_get_disposition(gd) : NULL;
        if (d && *d) {
            p->disp = xstrdup(d);
            params_from_gmime(g_mime_content_disposition_get_parameters(gd), &p->disp_params, &p->ndisp_params);
        }
        if (gd) g_object_unref(gd);
    }
    free(cd);
}

static const char *param_get(const struct bs_part *p, const char *name) {
    for (size_t i = 0; i < p->nparams; i++)
        if (strcasecmp(p->params[i].name, name) == 0) return p->params[i].value;
    return NULL;
}

static size_t count_lf(const char *d, size_t len) {
    size_t n = 0;
    const char *p = d, *e = d + len;
    while (p < e && (p = memchr(p, '\n', (size_t)(e - p)))) {
        n++;
        p++;
    }
    return n;
}

static struct bs_part *parse_entity(struct imap_bodystructure *bs, size_t off, size_t end, unsigned depth,
                                    bool digest_child);

static void add_child(struct bs_part *p, struct bs_part *c) {
    p->child = xrealloc(p->child, (p->nchild + 1) * sizeof(*p->child));
    p->child[p->nchild++] = c;
}

struct range {
    size_t s, e;
};

static void parse_multipart(struct imap_bodystructure *bs, struct bs_part *p, unsigned depth) {
    const char *d = bs->data;
    const char *boundary = param_get(p, "boundary");
    bool digest = strcasecmp(p->subtype, "digest") == 0;
    struct range *ranges = NULL;
    size_t nr = 0, cap = 0;
    size_t blen = boundary ? strlen(boundary) : 0;
    if (blen > 0) {
        size_t be = p->body_off + p->body_len;
        size_t pos = p->body_off;
        bool open = false;
        size_t cur = 0;
        while (pos < be) {
            const char *lf = memchr(d + pos, '\n', be - pos);
            size_t next = lf ? (size_t)(lf - d) + 1 : be;
            if (be - pos >= 2 + blen && d[pos] == '-' && d[pos + 1] == '-' &&
                memcmp(d + pos + 2, boundary, blen) == 0) {
                bool close = be - pos >= 4 + blen && d[pos + 2 + blen] == '-' && d[pos + 3 + blen] == '-';
                if (open) {
                    size_t ce = pos;
                    if (ce > cur && d[ce - 1] == '\n') ce--;
                    if (ce > cur && d[ce - 1] == '\r') ce--;
                    if (nr == cap) {
                        cap = cap ? cap * 2 : 4;
                        ranges = xrealloc(ranges, cap * sizeof(*ranges));
                    }
                    ranges[nr].s = cur;
                    ranges[nr].e = ce;
                    nr++;
                }
                if (close) {
                    open = false;
                    break;
                }
                open = true;
                cur = next;
                if (nr >= IMAP_BODYSTRUCTURE_MAX_PARTS) break;
            }
            pos = next;
        }
        if (open) {
            if (nr == cap) {
                cap = cap ? cap * 2 : 4;
                ranges = xrealloc(ranges, cap * sizeof(*ranges));
            }
            ranges[nr].s = cur;
            ranges[nr].e = be;
            nr++;
        }
    }
    for (size_t i = 0; i < nr; i++) {
        if (bs->nparts >= IMAP_BODYSTRUCTURE_MAX_PARTS) break;
        add_child(p, parse_entity(bs, ranges[i].s, ranges[i].e, depth + 1, digest));
    }
    free(ranges);
    /* The grammar needs at least one part: an empty text/plain (as Dovecot). */
    if (p->nchild == 0) add_child(p, parse_entity(bs, p->body_off, p->body_off, depth + 1, false));
}

static bool enc_is_identity(const char *enc) {
    return !enc || !*enc || strcasecmp(enc, "7bit") == 0 || strcasecmp(enc, "8bit") == 0 ||
           strcasecmp(enc, "binary") == 0;
}

/* Recursion depth is bounded by IMAP_BODYSTRUCTURE_MAX_DEPTH. */
static struct bs_part *parse_entity(struct imap_bodystructure *bs, size_t off, size_t end, unsigned depth,
                                    bool digest_child) {
    const char *d = bs->data;
    struct bs_part *p = xcalloc(1, sizeof(*p));
    bs->nparts++;
    p->hdr_off = off;
    size_t pos = off;
    p->body_off = end;
    while (pos < end) {
        const char *lf = memchr(d + pos, '\n', end - pos);
        size_t next = lf ? (size_t)(lf - d) + 1 : end;
        size_t content = (lf ? (size_t)(lf - d) : end) - pos;
        if (content > 0 && d[pos + content - 1] == '\r') content--;
        if (content == 0) {
            p->body_off = next;
            break;
        }
        pos = next;
    }
    p->hdr_len = p->body_off - off;
    p->body_len = end - p->body_off;
    p->lines = count_lf(d + p->body_off, p->body_len);
    part_parse_headers(bs, p, digest_child);

    bool is_multi = strcasecmp(p->type, "multipart") == 0;
    bool is_msg = strcasecmp(p->type, "message") == 0 && strcasecmp(p->subtype, "rfc822") == 0;
    if ((is_multi || is_msg) &&
        (depth >= IMAP_BODYSTRUCTURE_MAX_DEPTH || bs->nparts >= IMAP_BODYSTRUCTURE_MAX_PARTS)) {
        /* Too deep or too many: an opaque leaf. */
        free(p->type);
        free(p->subtype);
        params_free(p->params, p->nparams);
        p->params = NULL;
        p->nparams = 0;
        p->type = xstrdup("application");
        p->subtype = xstrdup("octet-stream");
        return p;
    }
    if (is_multi) {
        p->multipart = true;
        parse_multipart(bs, p, depth);
    } else if (is_msg && enc_is_identity(p->enc)) {
        p->rfc822 = true;
        add_child(p, parse_entity(bs, p->body_off, end, depth + 1, false));
    }
    return p;
}

struct imap_bodystructure *imap_bodystructure_parse(const char *data, size_t len) {
    imap_bodystructure_init();
    struct imap_bodystructure *bs = xcalloc(1, sizeof(*bs));
    bs->data = data ? data : "";
    bs->len = data ? len : 0;
    bs->root = parse_entity(bs, 0, bs->len, 0, false);
    return bs;
}

void imap_bodystructure_free(struct imap_bodystructure *bs) {
    if (!bs) return;
    part_free(bs->root);
    free(bs);
}

/* ---- ENVELOPE ---------------------------------------------------------- */

enum atok_type { AT_END = 0, AT_ATOM, AT_QUOTED, AT_SPECIAL };

struct atok {
    enum atok_type type;
    const char *p; /* ATOM: text; QUOTED: inside the quotes, escapes kept */
    size_t n;
    char c;        /* SPECIAL */
};

struct alexer {
    const char *s;
    size_t i, n;
    const char *comment; /* last comment seen (for "addr (Name)") */
    size_t comment_len;
};

static void alex_next(struct alexer *lx, struct atok *t) {
    for (;;) {
        while (lx->i < lx->n && isspace((unsigned char)lx->s[lx->i])) lx->i++;
        if (lx->i >= lx->n) {
            t->type = AT_END;
            return;
        }
        char c = lx->s[lx->i];
        if (c == '(') {
            /* comment, nested: depth counter only */
            size_t depth = 0, start = lx->i + 1;
            while (lx->i < lx->n) {
                char ch = lx->s[lx->i];
                if (ch == '\\' && lx->i + 1 < lx->n) {
                    lx->i += 2;
                    continue;
                }
                lx->i++;
                if (ch == '(') depth++;
                if (ch == ')' && --depth == 0) break;
            }
            size_t stop = depth == 0 ? lx->i - 1 : lx->i;
            lx->comment = lx->s + start;
            lx->comment_len = stop > start ? stop - start : 0;
            continue;
        }
        if (c == '"') {
            size_t start = ++lx->i;
            while (lx->i < lx->n && lx->s[lx->i] != '"') {
                if (lx->s[lx->i] == '\\' && lx->i + 1 < lx->n) lx->i++;
                lx->i++;
            }
            t->type = AT_QUOTED;
            t->p = lx->s + start;
            t->n = lx->i - start;
            if (lx->i < lx->n) lx->i++;
            return;
        }
        if (c == '[') {
            /* domain literal as one atom */
            size_t start = lx->i;
            while (lx->i < lx->n && lx->s[lx->i] != ']') lx->i++;
            if (lx->i < lx->n) lx->i++;
            t->type = AT_ATOM;
            t->p = lx->s + start;
            t->n = lx->i - start;
            return;
        }
        if (strchr("<>:;,@", c)) {
            lx->i++;
            t->type = AT_SPECIAL;
            t->c = c;
            return;
        }
        size_t start = lx->i;
        while (lx->i < lx->n && !isspace((unsigned char)lx->s[lx->i]) && !strchr("<>:;,@()\"[", lx->s[lx->i]))
            lx->i++;
        if (lx->i == start) {
            lx->i++; /* a stray ')': skip it, never return an empty atom */
            continue;
        }
        t->type = AT_ATOM;
        t->p = lx->s + start;
        t->n = lx->i - start;
        return;
    }
}

static void append_unquoted(buf_t *b, const char *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\\' && i + 1 < n) i++;
        buf_append_char(b, p[i]);
    }
}

static void emit_addr(buf_t *out, const buf_t *name, const buf_t *route, const buf_t *mbox, const buf_t *host,
                      bool missing_host) {
    buf_append_char(out, '(');
    if (name && name->len)
        imap_bodystructure_append_string(out, name->data, name->len);
    else
        buf_append_str(out, "NIL");
    buf_append_char(out, ' ');
    if (route && route->len)
        imap_bodystructure_append_string(out, route->data, route->len);
    else
        buf_append_str(out, "NIL");
    buf_append_char(out, ' ');
    imap_bodystructure_append_string(out, mbox->len ? mbox->data : "", mbox->len);
    buf_append_char(out, ' ');
    if (host->len)
        imap_bodystructure_append_string(out, host->data, host->len);
    else
        imap_bodystructure_append_nstring(out, missing_host ? "MISSING_DOMAIN" : NULL);
    buf_append_char(out, ')');
}

/* Parse an address-list header value; append the addresses (without the
 * enclosing parentheses) to out. Returns the number of items written. */
static size_t write_addresses(const char *v, buf_t *out) {
    struct alexer lx = {v, 0, strlen(v), NULL, 0};
    struct atok t;
    buf_t name = BUF_INIT, route = BUF_INIT, mbox = BUF_INIT, host = BUF_INIT;
    size_t items = 0;
    bool in_group = false;
    alex_next(&lx, &t);
    while (t.type != AT_END) {
        buf_reset(&name);
        buf_reset(&route);
        buf_reset(&mbox);
        buf_reset(&host);
        lx.comment = NULL;
        size_t words = 0;
        while (t.type == AT_ATOM || t.type == AT_QUOTED) {
            if (name.len) buf_append_char(&name, ' ');
            if (t.type == AT_QUOTED) {
                append_unquoted(&name, t.p, t.n);
                buf_append_char(&mbox, '"');
                buf_append(&mbox, t.p, t.n);
                buf_append_char(&mbox, '"');
            } else {
                buf_append(&name, t.p, t.n);
                buf_append(&mbox, t.p, t.n);
            }
            words++;
            alex_next(&lx, &t);
        }
        if (t.type == AT_SPECIAL && t.c == '<') {
            buf_reset(&mbox);
            alex_next(&lx, &t);
            /* obsolete route: @a,@b: */
            if (t.type == AT_SPECIAL && t.c == '@') {
                while (t.type != AT_END && !(t.type == AT_SPECIAL && (t.c == ':' || t.c == '>'))) {
                    if (t.type == AT_SPECIAL)
                        buf_append_char(&route, t.c);
                    else
                        buf_append(&route, t.p, t.n);
                    alex_next(&lx, &t);
                }
                if (t.type == AT_SPECIAL && t.c == ':') alex_next(&lx, &t);
            }
            while (t.type == AT_ATOM || t.type == AT_QUOTED) {
                if (t.type == AT_QUOTED) buf_append_char(&mbox, '"');
                buf_append(&mbox, t.p, t.n);
                if (t.type == AT_QUOTED) buf_append_char(&mbox, '"');
                alex_next(&lx, &t);
            }
            bool at = t.type == AT_SPECIAL && t.c == '@';
            if (at) {
                alex_next(&lx, &t);
                while (t.type == AT_ATOM) {
                    buf_append(&host, t.p, t.n);
                    alex_next(&lx, &t);
                }
            }
            while (t.type != AT_END && !(t.type == AT_SPECIAL && (t.c == '>' || t.c == ',' || t.c == ';')))
                alex_next(&lx, &t);
            if (t.type == AT_SPECIAL && t.c == '>') alex_next(&lx, &t);
            emit_addr(out, &name, &route, &mbox, &host, true);
            items++;
        } else if (t.type == AT_SPECIAL && t.c == ':' && !in_group) {
            buf_append_str(out, "(NIL NIL ");
            imap_bodystructure_append_string(out, name.len ? name.data : "", name.len);
            buf_append_str(out, " NIL)");
            items++;
            in_group = true;
            alex_next(&lx, &t);
            continue;
        } else if (t.type == AT_SPECIAL && t.c == '@' && words > 0) {
            alex_next(&lx, &t);
            while (t.type == AT_ATOM) {
                buf_append(&host, t.p, t.n);
                alex_next(&lx, &t);
            }
            buf_reset(&name);
            if (lx.comment && lx.comment_len) append_unquoted(&name, lx.comment, lx.comment_len);
            emit_addr(out, &name, NULL, &mbox, &host, true);
            items++;
        } else if (words > 0) {
            emit_addr(out, NULL, NULL, &mbox, &host, true);
            items++;
        }
        /* skip to the next separator */
        while (t.type != AT_END && !(t.type == AT_SPECIAL && (t.c == ',' || t.c == ';'))) {
            if (t.type == AT_SPECIAL && t.c == '<') break;
            alex_next(&lx, &t);
            if (t.type == AT_ATOM || t.type == AT_QUOTED) break;
        }
        if (t.type == AT_SPECIAL && t.c == ';') {
            if (in_group) {
                buf_append_str(out, "(NIL NIL NIL NIL)");
                items++;
                in_group = false;
            }
            alex_next(&lx, &t);
        } else if (t.type == AT_SPECIAL && t.c == ',') {
            alex_next(&lx, &t);
        }
    }
    if (in_group) {
        buf_append_str(out, "(NIL NIL NIL NIL)");
        items++;
    }
    buf_free(&name);
    buf_free(&route);
    buf_free(&mbox);
    buf_free(&host);
    return items;
}

/* Append an address list or NIL; false (and nothing appended) if the
 * header is absent or holds no address and allow_empty is false. */
static bool env_addresses(const struct imap_bodystructure *bs, const struct bs_part *p, const char *field,
                          buf_t *out, bool nil_if_empty) {
    char *v = part_header(bs, p, field);
    buf_t tmp = BUF_INIT;
    size_t n = v ? write_addresses(v, &tmp) : 0;
    free(v);
    bool ok = n > 0;
    if (ok) {
        buf_append_char(out, '(');
        buf_append(out, tmp.data, tmp.len);
        buf_append_char(out, ')');
    } else if (nil_if_empty) {
        buf_append_str(out, "NIL");
    }
    buf_free(&tmp);
    return ok;
}

static void env_string(const struct imap_bodystructure *bs, const struct bs_part *p, const char *field, buf_t *out) {
    char *v = part_header(bs, p, field);
    imap_bodystructure_append_nstring(out, v);
    free(v);
}

static void write_envelope(const struct imap_bodystructure *bs, const struct bs_part *p, buf_t *out) {
    buf_append_char(out, '(');
    env_string(bs, p, "Date", out);
    buf_append_char(out, ' ');
    env_string(bs, p, "Subject", out);
    buf_append_char(out, ' ');
    buf_t from = BUF_INIT;
    env_addresses(bs, p, "From", &from, true);
    buf_append(out, from.data, from.len);
    buf_append_char(out, ' ');
    /* RFC 3501: absent or empty Sender / Reply-To default to From. */
    if (!env_addresses(bs, p, "Sender", out, false)) buf_append(out, from.data, from.len);
    buf_append_char(out, ' ');
    if (!env_addresses(bs, p, "Reply-To", out, false)) buf_append(out, from.data, from.len);
    buf_free(&from);
    buf_append_char(out, ' ');
    env_addresses(bs, p, "To", out, true);
    buf_append_char(out, ' ');
    env_addresses(bs, p, "Cc", out, true);
    buf_append_char(out, ' ');
    env_addresses(bs, p, "Bcc", out, true);
    buf_append_char(out, ' ');
    env_string(bs, p, "In-Reply-To", out);
    buf_append_char(out, ' ');
    env_string(bs, p, "Message-ID", out);
    buf_append_char(out, ')');
}

void imap_bodystructure_envelope(const struct imap_bodystructure *bs, buf_t *out) {
    write_envelope(bs, bs->root, out);
}

/* ---- BODY / BODYSTRUCTURE ---------------------------------------------- */

static void write_params(buf_t *out, const struct bs_param *v, size_t n, bool add_charset) {
    if (n == 0 && !add_charset) {
        buf_append_str(out, "NIL");
        return;
    }
    buf_append_char(out, '(');
    for (size_t i = 0; i < n; i++) {
        if (i) buf_append_char(out, ' ');
        imap_bodystructure_append_nstring(out, v[i].name);
        buf_append_char(out, ' ');
        imap_bodystructure_append_nstring(out, v[i].value);
    }
    if (add_charset) buf_append_str(out, n ? " \"charset\" \"us-ascii\"" : "\"charset\" \"us-ascii\"");
    buf_append_char(out, ')');
}

static void write_disposition(buf_t *out, const struct bs_part *p) {
    if (!p->disp) {
        buf_append_str(out, "NIL");
        return;
    }
    buf_append_char(out, '(');
    imap_bodystructure_append_nstring(out, p->disp);
    buf_append_char(out, ' ');
    write_params(out, p->disp_params, p->ndisp_params, false);
    buf_append_char(out, ')');
}

static void write_language(buf_t *out, const struct bs_part *p) {
    if (!p->lang) {
        buf_append_str(out, "NIL");
        return;
    }
    size_t n = 0;
    const char *s = p->lang;
    buf_t tmp = BUF_INIT;
    while (*s) {
        while (*s == ',' || isspace((unsigned char)*s)) s++;
        const char *b = s;
        while (*s && *s != ',' && !isspace((unsigned char)*s)) s++;
        if (s > b) {
            if (n++) buf_append_char(&tmp, ' ');
            imap_bodystructure_append_string(&tmp, b, (size_t)(s - b));
        }
    }
    if (n == 0) {
        buf_append_str(out, "NIL");
    } else {
        buf_append_char(out, '(');
        buf_append(out, tmp.data, tmp.len);
        buf_append_char(out, ')');
    }
    buf_free(&tmp);
}

/* Recursion depth is bounded by the tree depth (IMAP_BODYSTRUCTURE_MAX_DEPTH). */
static void write_part(const struct imap_bodystructure *bs, const struct bs_part *p, bool ext, buf_t *out) {
    buf_append_char(out, '(');
    if (p->multipart) {
        for (size_t i = 0; i < p->nchild; i++) write_part(bs, p->child[i], ext, out);
        buf_append_char(out, ' ');
        imap_bodystructure_append_nstring(out, p->subtype);
        if (ext) {
            buf_append_char(out, ' ');
            write_params(out, p->params, p->nparams, false);
            buf_append_char(out, ' ');
            write_disposition(out, p);
            buf_append_char(out, ' ');
            write_language(out, p);
            buf_append_char(out, ' ');
            imap_bodystructure_append_nstring(out, p->loc);
        }
        buf_append_char(out, ')');
        return;
    }
    bool text = strcasecmp(p->type, "text") == 0;
    imap_bodystructure_append_nstring(out, p->type);
    buf_append_char(out, ' ');
    imap_bodystructure_append_nstring(out, p->subtype);
    buf_append_char(out, ' ');
    write_params(out, p->params, p->nparams, text && !param_get(p, "charset"));
    buf_append_char(out, ' ');
    imap_bodystructure_append_nstring(out, p->id);
    buf_append_char(out, ' ');
    imap_bodystructure_append_nstring(out, p->desc);
    buf_append_char(out, ' ');
    imap_bodystructure_append_nstring(out, p->enc && *p->enc ? p->enc : "7bit");
    buf_printf(out, " %zu", p->body_len);
    if (p->rfc822 && p->nchild == 1) {
        buf_append_char(out, ' ');
        write_envelope(bs, p->child[0], out);
        buf_append_char(out, ' ');
        write_part(bs, p->child[0], ext, out);
        buf_printf(out, " %zu", p->lines);
    } else if (text) {
        buf_printf(out, " %zu", p->lines);
    }
    if (ext) {
        buf_append_char(out, ' ');
        imap_bodystructure_append_nstring(out, p->md5);
        buf_append_char(out, ' ');
        write_disposition(out, p);
        buf_append_char(out, ' ');
        write_language(out, p);
        buf_append_char(out, ' ');
        imap_bodystructure_append_nstring(out, p->loc);
    }
    buf_append_char(out, ')');
}

void imap_bodystructure_write(const struct imap_bodystructure *bs, bool extended, buf_t *out) {
    write_part(bs, bs->root, extended, out);
}

/* ---- sections ---------------------------------------------------------- */

void imap_section_free(struct imap_section *s) {
    buf_free(&s->owned);
    s->data = NULL;
    s->len = 0;
}

void imap_section_partial(struct imap_section *s, uint64_t offset, uint64_t count) {
    if (offset >= s->len) {
        s->data += s->len;
        s->len = 0;
        return;
    }
    s->data += offset;
    s->len -= (size_t)offset;
    if (count < s->len) s->len = (size_t)count;
}

struct field_name {
    const char *p;
    size_t n;
};

/* Parse "(A B "C")" with any spacing into names; false if malformed. */
static bool parse_field_list(const char *s, size_t len, struct field_name *names, size_t *count, buf_t *storage) {
    size_t i = 0;
    *count = 0;
    while (i < len && isspace((unsigned char)s[i])) i++;
    if (i >= len || s[i] != '(') return false;
    i++;
    /* Names are copied into storage; offsets fixed up afterwards. */
    size_t offs[IMAP_SECTION_MAX_FIELDS];
    for (;;) {
        while (i < len && isspace((unsigned char)s[i])) i++;
        if (i >= len) return false;
        if (s[i] == ')') {
            i++;
            break;
        }
        if (*count >= IMAP_SECTION_MAX_FIELDS) return false;
        size_t start = storage->len;
        if (s[i] == '"') {
            i++;
            while (i < len && s[i] != '"') {
                if (s[i] == '\\' && i + 1 < len) i++;
                buf_append_char(storage, s[i]);
                i++;
            }
            if (i >= len) return false;
            i++;
        } else {
            while (i < len && !isspace((unsigned char)s[i]) && s[i] != ')' && s[i] != '(') {
                buf_append_char(storage, s[i]);
                i++;
            }
            if (i < len && s[i] == '(') return false;
        }
        offs[*count] = start;
        names[*count].n = storage->len - start;
        (*count)++;
    }
    while (i < len && isspace((unsigned char)s[i])) i++;
    if (i != len || *count == 0) return false;
    for (size_t k = 0; k < *count; k++) names[k].p = storage->data + offs[k];
    return true;
}

static bool name_in_list(const char *name, size_t n, const struct field_name *names, size_t count) {
    for (size_t k = 0; k < count; k++)
        if (names[k].n == n && strncasecmp(names[k].p, name, n) == 0) return true;
    return false;
}

static void header_fields(const struct imap_bodystructure *bs, const struct bs_part *ent, const struct field_name *names,
                          size_t count, bool not, buf_t *out) {
    size_t pos = ent->hdr_off, end = ent->hdr_off + ent->hdr_len;
    struct hdr_field f;
    while (hdr_next(bs->data, &pos, end, &f)) {
        if (f.name_len == 0) continue;
        bool in = name_in_list(bs->data + f.off, f.name_len, names, count);
        if (in == not) continue;
        buf_append(out, bs->data + f.off, f.len);
        if (f.len == 0 || bs->data[f.off + f.len - 1] != '\n') buf_append(out, "\r\n", 2);
    }
    buf_append(out, "\r\n", 2);
}

bool imap_bodystructure_section(const struct imap_bodystructure *bs, const char *spec, size_t spec_len,
                                struct imap_section *out, const char **reason) {
    memset(out, 0, sizeof(*out));
    out->data = "";
    *reason = NULL;
    size_t i = 0;
    while (i < spec_len && isspace((unsigned char)spec[i])) i++;
    uint32_t nums[IMAP_SECTION_MAX_PARTS];
    size_t nn = 0;
    while (i < spec_len && isdigit((unsigned char)spec[i])) {
        uint64_t v = 0;
        while (i < spec_len && isdigit((unsigned char)spec[i])) {
            v = v * 10 + (uint64_t)(spec[i] - '0');
            if (v > UINT32_MAX) {
                *reason = "Invalid section number";
                return false;
            }
            i++;
        }
        if (v == 0 || nn >= IMAP_SECTION_MAX_PARTS) {
            *reason = "Invalid section number";
            return false;
        }
        nums[nn++] = (uint32_t)v;
        if (i < spec_len && spec[i] == '.') {
            i++;
            if (i >= spec_len) {
                *reason = "Invalid section";
                return false;
            }
            continue;
        }
        break;
    }
    const char *text = spec + i;
    size_t tl = spec_len - i;
    while (tl > 0 && isspace((unsigned char)text[tl - 1])) tl--;

    /* Walk the part numbers. */
    const struct bs_part *cur = bs->root;
    bool found = true;
    for (size_t k = 0; k < nn && found; k++) {
        const struct bs_part *container = cur;
        if (k > 0 && cur == bs->root && !cur->rfc822) {
            /* "1.1" of a single-part message: no such part (as Dovecot) */
            found = false;
            break;
        }
        if (k > 0 && cur->rfc822 && cur->nchild == 1) container = cur->child[0];
        if (container->multipart) {
            if (nums[k] > container->nchild)
                found = false;
            else
                cur = container->child[nums[k] - 1];
        } else if (nums[k] == 1) {
            cur = container;
        } else {
            found = false;
        }
    }

    enum { S_BODY, S_MIME, S_HEADER, S_TEXT, S_FIELDS, S_FIELDS_NOT } kind;
    size_t list_off = 0;
    if (tl == 0) {
        kind = S_BODY;
    } else if (mem_ieq(text, tl, "MIME")) {
        kind = S_MIME;
    } else if (mem_ieq(text, tl, "HEADER")) {
        kind = S_HEADER;
    } else if (mem_ieq(text, tl, "TEXT")) {
        kind = S_TEXT;
    } else if (mem_istarts(text, tl, "HEADER.FIELDS.NOT") &&
               (tl == 17 || text[17] == ' ' || text[17] == '(' || text[17] == '\t')) {
        kind = S_FIELDS_NOT;
        list_off = 17;
    } else if (mem_istarts(text, tl, "HEADER.FIELDS") &&
               (tl == 13 || text[13] == ' ' || text[13] == '(' || text[13] == '\t')) {
        kind = S_FIELDS;
        list_off = 13;
    } else {
        *reason = "Invalid section";
        return false;
    }
    if (kind == S_MIME && nn == 0) {
        *reason = "MIME needs a part number";
        return false;
    }
    struct field_name names[IMAP_SECTION_MAX_FIELDS];
    size_t nnames = 0;
    buf_t storage = BUF_INIT;
    if (kind == S_FIELDS || kind == S_FIELDS_NOT) {
        if (!parse_field_list(text + list_off, tl - list_off, names, &nnames, &storage)) {
            buf_free(&storage);
            *reason = "Invalid HEADER.FIELDS list";
            return false;
        }
    }

    const struct bs_part *ent = cur;
    if (found && kind != S_BODY && kind != S_MIME && nn > 0) {
        /* HEADER / TEXT / HEADER.FIELDS of a part: only message/rfc822. */
        if (cur->rfc822 && cur->nchild == 1)
            ent = cur->child[0];
        else
            found = false;
    }
    out->found = found;
    if (found) {
        switch (kind) {
        case S_BODY:
            if (nn == 0) {
                out->data = bs->data;
                out->len = bs->len;
            } else {
                out->data = bs->data + cur->body_off;
                out->len = cur->body_len;
                out->leaf_body = !cur->multipart && !cur->rfc822;
                out->cte = cur->enc;
            }
            break;
        case S_MIME:
        case S_HEADER:
            out->data = bs->data + ent->hdr_off;
            out->len = ent->hdr_len;
            break;
        case S_TEXT:
            out->data = bs->data + ent->body_off;
            out->len = ent->body_len;
            break;
        case S_FIELDS:
        case S_FIELDS_NOT:
            header_fields(bs, ent, names, nnames, kind == S_FIELDS_NOT, &out->owned);
            out->data = out->owned.data ? out->owned.data : "";
            out->len = out->owned.len;
            break;
        }
    }
    buf_free(&storage);
    return true;
}
