#include "check/html_text.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include <gumbo.h>

/* Nesting deeper than this is not walked (Gumbo's tree is ours to walk
 * recursively; hostile mail nests thousands deep). */
#define HTML_MAX_DEPTH 200

struct out {
    buf_t *b;
    size_t max;
    int newlines;  /* pending line breaks (collapsed to at most 2) */
    bool space;    /* pending space */
    bool at_start; /* nothing written yet */
    bool full;     /* max reached */
    struct html_facts *facts;
};

static void flush_breaks(struct out *o) {
    if (o->at_start) {
        o->newlines = 0;
        o->space = false;
        return;
    }
    if (o->newlines) {
        for (int i = 0; i < o->newlines && i < 2; i++) buf_append_char(o->b, '\n');
        o->newlines = 0;
        o->space = false;
    } else if (o->space) {
        buf_append_char(o->b, ' ');
        o->space = false;
    }
}

static void emit(struct out *o, const char *s, size_t n) {
    for (size_t i = 0; i < n && !o->full; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            o->space = true;
            continue;
        }
        /* U+00A0 no-break space counts as a space */
        if (c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] == 0xA0) {
            o->space = true;
            i++;
            continue;
        }
        /* a whole character or nothing, breaks included */
        size_t seq = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        if (c >= 0x80 && c < 0xC0) seq = 1; /* a continuation byte of a character already begun */
        if (o->b->len + seq + (size_t)(o->newlines ? 2 : 1) > o->max && !(c >= 0x80 && c < 0xC0)) {
            o->full = true;
            return;
        }
        flush_breaks(o);
        buf_append_char(o->b, (char)c);
        o->at_start = false;
        if (o->facts) o->facts->text_chars++;
    }
}

static void emit_str(struct out *o, const char *s) {
    emit(o, s, strlen(s));
}

static void line_break(struct out *o, int n) {
    if (n > o->newlines) o->newlines = n;
}

static bool is_block(GumboTag t) {
    switch (t) {
    case GUMBO_TAG_P: case GUMBO_TAG_DIV: case GUMBO_TAG_TABLE: case GUMBO_TAG_TR: case GUMBO_TAG_UL:
    case GUMBO_TAG_OL: case GUMBO_TAG_LI: case GUMBO_TAG_H1: case GUMBO_TAG_H2: case GUMBO_TAG_H3:
    case GUMBO_TAG_H4: case GUMBO_TAG_H5: case GUMBO_TAG_H6: case GUMBO_TAG_BLOCKQUOTE: case GUMBO_TAG_PRE:
    case GUMBO_TAG_HR: case GUMBO_TAG_ADDRESS: case GUMBO_TAG_ARTICLE: case GUMBO_TAG_ASIDE:
    case GUMBO_TAG_FOOTER: case GUMBO_TAG_HEADER: case GUMBO_TAG_SECTION: case GUMBO_TAG_NAV: case GUMBO_TAG_MAIN:
    case GUMBO_TAG_DL: case GUMBO_TAG_DT: case GUMBO_TAG_DD: case GUMBO_TAG_CENTER: case GUMBO_TAG_FORM:
    case GUMBO_TAG_THEAD: case GUMBO_TAG_TBODY: case GUMBO_TAG_TFOOT: case GUMBO_TAG_FIGURE: return true;
    default: return false;
    }
}

static bool skipped(GumboTag t) {
    return t == GUMBO_TAG_HEAD || t == GUMBO_TAG_SCRIPT || t == GUMBO_TAG_STYLE || t == GUMBO_TAG_TITLE ||
           t == GUMBO_TAG_NOSCRIPT || t == GUMBO_TAG_TEMPLATE || t == GUMBO_TAG_META || t == GUMBO_TAG_LINK;
}

/* The text a node would show, for comparing a link's text with its URL. */
static void node_text(const GumboNode *n, buf_t *b, int depth) {
    if (depth > HTML_MAX_DEPTH || b->len > 4096) return;
    if (n->type == GUMBO_NODE_TEXT || n->type == GUMBO_NODE_WHITESPACE || n->type == GUMBO_NODE_CDATA) {
        buf_append_str(b, n->v.text.text);
        return;
    }
    if (n->type != GUMBO_NODE_ELEMENT) return;
    const GumboVector *c = &n->v.element.children;
    for (unsigned i = 0; i < c->length; i++) node_text(c->data[i], b, depth + 1);
}

static bool same_text(const char *text, const char *url) {
    while (*text == ' ' || *text == '\n' || *text == '\t') text++;
    size_t n = strlen(text);
    while (n && (text[n - 1] == ' ' || text[n - 1] == '\n' || text[n - 1] == '\t')) n--;
    const char *u = url;
    if (!strncasecmp(u, "mailto:", 7)) u += 7;
    size_t un = strlen(u);
    if (n == un && !strncasecmp(text, u, n)) return true;
    /* "example.com/x" for "https://example.com/x" */
    const char *p = strstr(url, "://");
    if (p && n == strlen(p + 3) && !strncasecmp(text, p + 3, n)) return true;
    return false;
}

static void walk(const GumboNode *n, struct out *o, int depth) {
    if (depth > HTML_MAX_DEPTH) return;
    if (n->type == GUMBO_NODE_TEXT || n->type == GUMBO_NODE_CDATA) {
        emit_str(o, n->v.text.text);
        return;
    }
    if (n->type == GUMBO_NODE_WHITESPACE) {
        o->space = true;
        return;
    }
    if (n->type != GUMBO_NODE_ELEMENT && n->type != GUMBO_NODE_DOCUMENT && n->type != GUMBO_NODE_TEMPLATE) return;
    const GumboVector *children =
        n->type == GUMBO_NODE_DOCUMENT ? &n->v.document.children : &n->v.element.children;
    GumboTag tag = n->type == GUMBO_NODE_DOCUMENT ? GUMBO_TAG_UNKNOWN : n->v.element.tag;
    if (skipped(tag)) return;
    if (tag == GUMBO_TAG_BR) {
        line_break(o, 1);
        return;
    }
    if (tag == GUMBO_TAG_IMG) {
        if (o->facts) o->facts->images++;
        GumboAttribute *alt = gumbo_get_attribute(&n->v.element.attributes, "alt");
        if (alt && alt->value[0]) {
            o->space = true;
            emit_str(o, alt->value);
            o->space = true;
        }
        return;
    }
    bool block = is_block(tag);
    if (block) line_break(o, tag == GUMBO_TAG_P || (tag >= GUMBO_TAG_H1 && tag <= GUMBO_TAG_H6) ? 2 : 1);
    if (tag == GUMBO_TAG_LI) emit_str(o, "- ");
    if (tag == GUMBO_TAG_TD || tag == GUMBO_TAG_TH) o->space = true;
    for (unsigned i = 0; i < children->length; i++) walk(children->data[i], o, depth + 1);
    if (tag == GUMBO_TAG_A) {
        GumboAttribute *href = gumbo_get_attribute(&n->v.element.attributes, "href");
        if (href) {
            if (o->facts) o->facts->links++;
            bool web = !strncasecmp(href->value, "http://", 7) || !strncasecmp(href->value, "https://", 8) ||
                       !strncasecmp(href->value, "mailto:", 7);
            buf_t t = BUF_INIT;
            node_text(n, &t, depth);
            if (web && !same_text(buf_cstr(&t), href->value)) {
                size_t saved = o->facts ? o->facts->text_chars : 0;
                o->space = true;
                emit_str(o, "(");
                o->space = false;
                emit_str(o, href->value);
                emit_str(o, ")");
                if (o->facts) o->facts->text_chars = saved; /* a URL is not visible text */
            }
            buf_free(&t);
        }
    }
    if (block) line_break(o, tag == GUMBO_TAG_P || (tag >= GUMBO_TAG_H1 && tag <= GUMBO_TAG_H6) ? 2 : 1);
}

size_t html_parse_len(const char *html, size_t len, size_t max_tags) {
    size_t tags = 0;
    for (const char *p = html; (p = memchr(p, '<', (size_t)(html + len - p))) != NULL; p++)
        if (++tags > max_tags) return (size_t)(p - html);
    return len;
}

void html_to_text(const char *html, size_t len, size_t max, buf_t *out, struct html_facts *facts) {
    len = html_parse_len(html, len, HTML_MAX_TAGS);
    if (facts) memset(facts, 0, sizeof *facts);
    GumboOptions opts = kGumboDefaultOptions;
    opts.max_errors = 100;
    GumboOutput *g = gumbo_parse_with_options(&opts, html, len);
    if (!g) return;
    size_t start = out->len;
    struct out o = {out, start + max, 0, false, true, false, facts};
    walk(g->document, &o, 0);
    gumbo_destroy_output(&opts, g);
    (void)buf_cstr(out);
}
