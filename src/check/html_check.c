/*
 * html_check - see html_check.h. One walk over Gumbo's tree (an explicit
 * stack, so nesting depth costs no C stack), at most max_nodes elements;
 * every feature found is a slug of the caniemail.com data, counted once
 * per element (or per style sheet rule) that uses it; selectors, at-rules
 * and comments count once per occurrence. Scores follow Mailpit's
 * internal/htmlcheck: per feature, the share of tested client versions
 * with "y" (yes), "n" (no) and anything else (partial); the total takes
 * the worst share weighted by uses per element. Floats are float32 as in
 * Mailpit and printed as Go prints them (shortest round trip).
 */
#include "check/html_check.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gumbo.h>

#include "check/css_scan.h"
#include "core/buf.h"
#include "core/xalloc.h"

struct hc {
    uint32_t *found; /* per feature index */
    uint32_t *stamp; /* scope that last counted the feature */
    uint32_t scope;
    uint32_t scripts;
    bool doc_attr[6]; /* Mailpit's presentational attributes: counted once per document */
    bool rule_descriptors; /* inside @font-face and the like: descriptors, not properties */
    uint32_t *line;        /* per feature: the source line of its first use, 0 unknown */
    uint32_t at;           /* the source line being looked at, 0 unknown */
    uint32_t script_line;  /* the first <script>'s */
    uint32_t doc_attr_line[6];
    const char *css;       /* CSS being scanned: where, and the line of css_pos */
    const char *css_end;
    const char *css_pos;
};

/* ---- counting -------------------------------------------------------- */

static int feature_index(const char *slug) {
    const struct cie_feature *f = cie_find(slug);
    return f ? (int)(f - cie_features) : -1;
}

/* Once per scope (element or rule). */
static void hit(struct hc *h, const char *slug) {
    int i = feature_index(slug);
    if (i < 0 || h->stamp[i] == h->scope) return;
    h->stamp[i] = h->scope;
    h->found[i]++;
    if (!h->line[i]) h->line[i] = h->at;
}

/* Every occurrence. */
static void hit_each(struct hc *h, const char *slug) {
    int i = feature_index(slug);
    if (i < 0) return;
    h->found[i]++;
    if (!h->line[i]) h->line[i] = h->at;
}

/* The CSS being scanned starts at line (css, n bytes): later callbacks
 * find their line from their position in it. */
static void css_begin(struct hc *h, const char *css, size_t n, uint32_t line) {
    h->css = h->css_pos = css;
    h->css_end = css + n;
    h->at = line;
}

/* The line of p, a position in the CSS being scanned (callbacks come in
 * order, so counting goes on from the last one). */
static void css_at(struct hc *h, const char *p) {
    if (!h->css || !h->at || p < h->css_pos || p > h->css_end) return;
    for (const char *c = h->css_pos; c < p; c++)
        if (*c == '\n') h->at++;
    h->css_pos = p;
}

/* "prefix" + lower-cased name; false when it does not fit (no such slug). */
static bool make_slug(char *out, size_t cap, const char *prefix, const char *name, size_t n) {
    size_t pl = strlen(prefix);
    if (pl + n + 1 > cap) return false;
    memcpy(out, prefix, pl);
    for (size_t i = 0; i < n; i++) out[pl + i] = (char)tolower((unsigned char)name[i]);
    out[pl + n] = '\0';
    return true;
}

static bool eq(const char *s, size_t n, const char *lit) {
    return strlen(lit) == n && !strncasecmp(s, lit, n);
}

static bool starts(const char *s, size_t n, const char *lit) {
    size_t l = strlen(lit);
    return n >= l && !strncasecmp(s, lit, l);
}

/* ---- CSS ------------------------------------------------------------- */

struct value_ctx {
    struct hc *h;
};

static void value_token(void *arg, enum css_tok kind, const char *t, size_t n) {
    struct hc *h = ((struct value_ctx *)arg)->h;
    char slug[96];
    switch (kind) {
    case CSS_TOK_FUNCTION:
        if (eq(t, n, "rgb")) hit(h, "css-rgb");
        else if (eq(t, n, "rgba")) hit(h, "css-rgba");
        else if (eq(t, n, "calc")) hit(h, "css-unit-calc");
        else if (eq(t, n, "var")) hit(h, "css-variables");
        else if (eq(t, n, "lch") || eq(t, n, "oklch") || eq(t, n, "lab") || eq(t, n, "oklab"))
            hit(h, "css-modern-color");
        else if (eq(t, n, "linear-gradient") || eq(t, n, "repeating-linear-gradient")) hit(h, "css-linear-gradient");
        else if (eq(t, n, "radial-gradient") || eq(t, n, "repeating-radial-gradient")) hit(h, "css-radial-gradient");
        else if (eq(t, n, "conic-gradient") || eq(t, n, "repeating-conic-gradient")) hit(h, "css-conic-gradient");
        else if (make_slug(slug, sizeof slug, "css-function-", t, n)) hit(h, slug); /* clamp min max light-dark */
        break;
    case CSS_TOK_DIMENSION:
        if (make_slug(slug, sizeof slug, "css-unit-", t, n) && strcmp(slug, "css-unit-calc") != 0 &&
            strcmp(slug, "css-unit-initial") != 0)
            hit(h, slug);
        break;
    case CSS_TOK_PERCENT: hit(h, "css-unit-percent"); break;
    case CSS_TOK_IDENT:
        if (eq(t, n, "initial")) hit(h, "css-unit-initial");
        else if (eq(t, n, "system-ui") || eq(t, n, "ui-serif") || eq(t, n, "ui-sans-serif") ||
                 eq(t, n, "ui-rounded") || eq(t, n, "ui-monospace"))
            hit(h, "css-sytem-ui"); /* the data's spelling */
        break;
    default: break;
    }
}

/* Properties the data files under one feature (from its keywords). */
static const struct {
    const char *prop, *slug;
} prop_groups[] = {
    {"block-size", "css-block-inline-size"},
    {"margin-block-start", "css-margin-block-start-end"},
    {"margin-block-end", "css-margin-block-start-end"},
    {"margin-inline-start", "css-margin-inline-start-end"},
    {"margin-inline-end", "css-margin-inline-start-end"},
    {"padding-block-start", "css-padding-block-start-end"},
    {"padding-block-end", "css-padding-block-start-end"},
    {"padding-inline-start", "css-padding-inline-start-end"},
    {"padding-inline-end", "css-padding-inline-start-end"},
    {"margin-inline", "css-margin-inline-block"},
    {"margin-block", "css-margin-inline-block"},
    {"padding-inline", "css-padding-inline-block"},
    {"padding-block", "css-padding-inline-block"},
    {"border-inline", "css-border-inline-block"},
    {"border-block", "css-border-inline-block"},
    {"border-start-start-radius", "css-border-radius-logical"},
    {"border-start-end-radius", "css-border-radius-logical"},
    {"border-end-start-radius", "css-border-radius-logical"},
    {"border-end-end-radius", "css-border-radius-logical"},
    {"top", "css-left-right-top-bottom"},
    {"right", "css-left-right-top-bottom"},
    {"bottom", "css-left-right-top-bottom"},
    {"left", "css-left-right-top-bottom"},
    {"columns", "css-column-layout-properties"},
};

static void property(struct hc *h, const char *p, size_t n, const char *v, size_t vn, bool important) {
    char slug[96];
    if (important) hit(h, "css-important");
    if (starts(p, n, "--")) hit(h, "css-variables");
    else if (starts(p, n, "border-inline-") || starts(p, n, "border-block-")) {
        /* border-inline-start (individual) or border-inline-start-color (longhand) */
        size_t dashes = 0;
        for (size_t i = 0; i < n; i++) dashes += p[i] == '-';
        hit(h, dashes >= 3 ? "css-border-inline-block-longhand" : "css-border-inline-block-individual");
    } else if (starts(p, n, "inset")) hit(h, "css-inset");
    else if (starts(p, n, "column-")) {
        if (eq(p, n, "column-count")) hit(h, "css-column-count");
        hit(h, "css-column-layout-properties");
    } else if (starts(p, n, "grid-template")) hit(h, "css-grid-template");
    else if (starts(p, n, "scroll-snap")) hit(h, "css-scroll-snap");
    else if (starts(p, n, "animation")) hit(h, "css-animation");
    else if (starts(p, n, "transition")) hit(h, "css-transition");
    else {
        bool grouped = false;
        for (size_t i = 0; i < sizeof prop_groups / sizeof prop_groups[0]; i++)
            if (eq(p, n, prop_groups[i].prop)) {
                hit(h, prop_groups[i].slug);
                grouped = true;
            }
        /* the generic rule: property P is the feature css-P, when the
         * data has it (and P is a property name, not another kind) */
        if (!grouped && make_slug(slug, sizeof slug, "css-", p, n) && !starts(p, n, "at-") &&
            !starts(p, n, "pseudo-") && !starts(p, n, "selector-") && !starts(p, n, "unit-") &&
            !starts(p, n, "function-") && !starts(p, n, "display-") && strcmp(slug, "css-important") != 0 &&
            strcmp(slug, "css-comments") != 0 && strcmp(slug, "css-nesting") != 0 &&
            strcmp(slug, "css-variables") != 0 && strcmp(slug, "css-rgb") != 0 && strcmp(slug, "css-rgba") != 0)
            hit(h, slug);
    }
    if (eq(p, n, "display")) {
        size_t i = 0;
        while (i < vn && (v[i] == ' ' || v[i] == '\t')) i++;
        size_t j = i;
        while (j < vn && (isalnum((unsigned char)v[j]) || v[j] == '-')) j++;
        if (eq(v + i, j - i, "flex") || eq(v + i, j - i, "inline-flex")) hit(h, "css-display-flex");
        else if (eq(v + i, j - i, "grid") || eq(v + i, j - i, "inline-grid")) hit(h, "css-display-grid");
        else if (eq(v + i, j - i, "none")) hit(h, "css-display-none");
    }
    struct value_ctx vc = {h};
    css_scan_tokens(v, vn, value_token, &vc);
}

static void on_decl(void *arg, const char *p, size_t n, const char *v, size_t vn, bool important, bool in_rule) {
    struct hc *h = arg;
    css_at(h, p);
    if (in_rule && h->rule_descriptors) return;
    property(h, p, n, v, vn, important);
}

static void on_comment(void *arg) {
    hit_each(arg, "css-comments");
}

static void selector_token(void *arg, enum css_tok kind, const char *t, size_t n) {
    struct hc *h = arg;
    char a[96], b[96];
    if (kind != CSS_TOK_PSEUDO_CLASS && kind != CSS_TOK_PSEUDO_ELEMENT) return;
    if (!make_slug(a, sizeof a, "css-pseudo-class-", t, n) || !make_slug(b, sizeof b, "css-pseudo-element-", t, n))
        return;
    /* ":before" is the old spelling of "::before"; try the other kind too */
    const char *first = kind == CSS_TOK_PSEUDO_CLASS ? a : b, *second = kind == CSS_TOK_PSEUDO_CLASS ? b : a;
    if (cie_find(first)) hit_each(h, first);
    else hit_each(h, second);
}

static void selector_part(void *arg, enum css_sel kind) {
    static const char *const slugs[] = {
        [CSS_SEL_TYPE] = "css-selector-type",
        [CSS_SEL_UNIVERSAL] = "css-selector-universal",
        [CSS_SEL_CLASS] = "css-selector-class",
        [CSS_SEL_ID] = "css-selector-id",
        [CSS_SEL_ATTRIBUTE] = "css-selector-attribute",
        [CSS_SEL_DESCENDANT] = "css-selector-descendant",
        [CSS_SEL_CHILD] = "css-selector-child",
        [CSS_SEL_ADJACENT] = "css-selector-adjacent-sibling",
        [CSS_SEL_SIBLING] = "css-selector-general-sibling",
        [CSS_SEL_GROUPING] = "css-selector-grouping",
        [CSS_SEL_CHAINING] = "css-selector-chaining",
    };
    hit(arg, slugs[kind]); /* once per rule */
}

static void on_rule(void *arg, const char *sel, size_t n, const char *at, size_t alen) {
    struct hc *h = arg;
    css_at(h, sel);
    h->scope++;
    h->rule_descriptors = n == 0 && at;
    css_scan_tokens(sel, n, selector_token, h);
    /* keyframe selectors (from, 50%) are not element selectors */
    if (!(at && (eq(at, alen, "keyframes") || eq(at, alen, "-webkit-keyframes") || eq(at, alen, "-moz-keyframes"))))
        css_scan_selector(sel, n, selector_part, h);
}

static void media_token(void *arg, enum css_tok kind, const char *t, size_t n) {
    struct hc *h = arg;
    if (kind != CSS_TOK_IDENT) return;
    static const char *const prefixes[] = {"-webkit-", "-moz-", "min-", "max-"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (starts(t, n, prefixes[i])) {
            t += strlen(prefixes[i]);
            n -= strlen(prefixes[i]);
        }
    char slug[96];
    if (eq(t, n, "width") || eq(t, n, "height")) return;
    if (make_slug(slug, sizeof slug, "css-at-media-", t, n)) hit(h, slug);
}

static void on_at_rule(void *arg, const char *name, size_t n, const char *pre, size_t pn, bool nested) {
    struct hc *h = arg;
    char slug[96];
    css_at(h, name);
    if (make_slug(slug, sizeof slug, "css-at-", name, n) && strncmp(slug, "css-at-media-", 13) != 0)
        hit_each(h, slug);
    if (eq(name, n, "media")) {
        h->scope++;
        css_scan_tokens(pre, pn, media_token, h);
    }
}

static const struct css_sink sink_template = {NULL, on_at_rule, on_rule, on_decl, on_comment};

/* ---- HTML ------------------------------------------------------------ */

static const char *tag_name(const GumboElement *e, char *buf, size_t cap) {
    if (e->tag != GUMBO_TAG_UNKNOWN) return gumbo_normalized_tagname(e->tag);
    GumboStringPiece s = e->original_tag;
    gumbo_tag_from_original_text(&s);
    size_t n = s.length < cap - 1 ? s.length : cap - 1;
    for (size_t i = 0; i < n; i++) buf[i] = (char)tolower((unsigned char)s.data[i]);
    buf[n] = '\0';
    return buf;
}

static const char *attr(const GumboElement *e, const char *name) {
    GumboAttribute *a = gumbo_get_attribute(&e->attributes, name);
    return a ? a->value : NULL;
}

static bool suffix(const char *s, const char *suf) {
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && !strcasecmp(s + n - m, suf);
}

static const struct {
    const char *tag, *slug;
} tag_groups[] = {
    {"embed", "html-object"}, {"image", "html-object"},  {"h1", "html-h1-h6"},     {"h2", "html-h1-h6"},
    {"h3", "html-h1-h6"},     {"h4", "html-h1-h6"},      {"h5", "html-h1-h6"},     {"h6", "html-h1-h6"},
    {"ul", "html-lists"},     {"ol", "html-lists"},      {"dl", "html-lists"},     {"map", "html-image-maps"},
    {"article", "html-semantics"}, {"aside", "html-semantics"}, {"details", "html-semantics"},
    {"figcaption", "html-semantics"}, {"figure", "html-semantics"}, {"footer", "html-semantics"},
    {"header", "html-semantics"}, {"main", "html-semantics"}, {"mark", "html-semantics"},
    {"nav", "html-semantics"}, {"section", "html-semantics"}, {"summary", "html-semantics"},
    {"time", "html-semantics"},
};

/* Elements whose html-<tag> slug is about the element (other html-* slugs
 * are attributes or groups). */
static const char *const element_slugs[] = {
    "abbr", "acronym", "address", "audio", "base", "bdi", "blockquote", "body", "code", "del", "dfn", "dialog",
    "div", "form", "hr", "img", "link", "marquee", "meter", "object", "p", "picture", "pre", "progress", "rp",
    "rt", "ruby", "select", "small", "span", "strike", "strong", "style", "svg", "table", "textarea", "video",
    "wbr",
};

static const char *const attr_slugs[] = {
    "align", "background", "cellpadding", "cellspacing", "dir", "height", "hidden", "lang", "popover", "required",
    "role", "srcset", "target", "valign", "width",
};

/* Mailpit counts these presentational attributes as their CSS property,
 * once per document. */
static const struct {
    const char *attr, *slug;
} doc_attrs[6] = {
    {"bgcolor", "css-background-color"}, {"background", "css-background"}, {"border", "css-border"},
    {"height", "css-height"},            {"padding", "css-padding"},       {"width", "css-width"},
};

static void image_src(struct hc *h, const char *src) {
    if (!strncasecmp(src, "data:image/", 11)) {
        hit(h, "image-base64");
        return;
    }
    static const struct {
        const char *ext, *slug;
    } exts[] = {
        {".apng", "image-apng"}, {".avif", "image-avif"}, {".bmp", "image-bmp"},   {".gif", "image-gif"},
        {".hdr", "image-hdr"},   {".heif", "image-heif"}, {".ico", "image-ico"},   {".jpg", "image-jpg"},
        {".jpeg", "image-jpg"},  {".mp4", "image-mp4"},   {".png", "image-png"},   {".svg", "image-svg"},
        {".tif", "image-tiff"},  {".tiff", "image-tiff"}, {".webp", "image-webp"},
    };
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
        if (suffix(src, exts[i].ext)) hit(h, exts[i].slug);
}

static void element(struct hc *h, const GumboNode *node, bool explicit_body) {
    const GumboElement *e = &node->v.element;
    char buf[64], slug[96];
    const char *tag = tag_name(e, buf, sizeof buf);
    h->scope++;
    h->css = NULL;
    h->at = e->start_pos.line; /* 0 for an element the parser made up */
    bool in_source = e->original_tag.length > 0 || (e->tag == GUMBO_TAG_BODY && explicit_body);
    if (in_source) {
        for (size_t i = 0; i < sizeof element_slugs / sizeof element_slugs[0]; i++)
            if (!strcmp(tag, element_slugs[i]) && (e->tag != GUMBO_TAG_BODY || explicit_body)) {
                make_slug(slug, sizeof slug, "html-", tag, strlen(tag));
                hit(h, slug);
            }
        for (size_t i = 0; i < sizeof tag_groups / sizeof tag_groups[0]; i++)
            if (!strcmp(tag, tag_groups[i].tag)) hit(h, tag_groups[i].slug);
    }
    const char *type = attr(e, "type");
    if (e->tag == GUMBO_TAG_SCRIPT) {
        if (!type || (strcasecmp(type, "application/ld+json") != 0 && strcasecmp(type, "application/json") != 0))
            if (!h->scripts++) h->script_line = h->at;
    }
    if (type && !strcasecmp(type, "hidden")) hit(h, "html-input-hidden");
    if (e->tag == GUMBO_TAG_INPUT && type && make_slug(slug, sizeof slug, "html-input-", type, strlen(type)))
        hit(h, slug);
    if (e->tag == GUMBO_TAG_BUTTON && type && make_slug(slug, sizeof slug, "html-button-", type, strlen(type)))
        hit(h, slug);
    if (e->tag == GUMBO_TAG_A) {
        const char *href = attr(e, "href");
        if (href && href[0] == '#') hit(h, "html-anchor-links");
        if (href && !strncasecmp(href, "mailto:", 7)) hit(h, "html-mailto-links");
    }
    if (e->tag == GUMBO_TAG_META) {
        const char *name = attr(e, "name");
        if (name && !strcasecmp(name, "color-scheme")) hit(h, "html-meta-color-scheme");
    }
    if (e->tag == GUMBO_TAG_IMG) {
        const char *src = attr(e, "src");
        if (src) image_src(h, src);
        if (attr(e, "usemap")) hit(h, "html-image-maps");
    }
    for (unsigned i = 0; i < e->attributes.length; i++) {
        const GumboAttribute *a = e->attributes.data[i];
        const char *an = a->name;
        for (size_t j = 0; j < sizeof attr_slugs / sizeof attr_slugs[0]; j++)
            if (!strcasecmp(an, attr_slugs[j]) && make_slug(slug, sizeof slug, "html-", an, strlen(an))) hit(h, slug);
        if (!strncasecmp(an, "aria-", 5) && make_slug(slug, sizeof slug, "html-", an, strlen(an))) hit(h, slug);
        if (!strcasecmp(an, "loading")) hit(h, "html-loading-attribute");
        if (!strcasecmp(an, "inert")) hit(h, "css-inert-attribute");
        for (size_t j = 0; j < 6; j++)
            if (!strcasecmp(an, doc_attrs[j].attr) && !h->doc_attr[j]) {
                h->doc_attr[j] = true;
                h->doc_attr_line[j] = e->start_pos.line;
            }
        if (!strcasecmp(an, "style")) {
            struct css_sink k = sink_template;
            k.arg = h;
            h->rule_descriptors = false;
            css_begin(h, a->value, strlen(a->value), a->value_start.line);
            css_scan_inline(a->value, strlen(a->value), &k);
            h->css = NULL;
            h->at = e->start_pos.line;
        }
    }
    if (e->tag == GUMBO_TAG_STYLE) {
        buf_t css = BUF_INIT;
        uint32_t line = 0;
        for (unsigned i = 0; i < e->children.length; i++) {
            const GumboNode *c = e->children.data[i];
            if (c->type == GUMBO_NODE_TEXT || c->type == GUMBO_NODE_WHITESPACE || c->type == GUMBO_NODE_CDATA) {
                if (!css.len) line = c->v.text.start_pos.line;
                buf_append_str(&css, c->v.text.text);
            }
        }
        struct css_sink k = sink_template;
        k.arg = h;
        css_begin(h, css.data ? css.data : "", css.len, line);
        css_scan_sheet(css.data ? css.data : "", css.len, &k);
        h->css = NULL;
        buf_free(&css);
    }
}

/* ---- scores ---------------------------------------------------------- */

static void feature_score(const struct cie_feature *f, struct html_check_warning *w) {
    float y = 0, n = 0, p = 0;
    for (uint32_t i = 0; i < f->ncells; i++) {
        uint8_t s = cie_cells[f->first_cell + i].support;
        if (s == CIE_YES) y++;
        else if (s == CIE_NO) n++;
        else p++;
    }
    float total = y + n + p;
    if (total == 0) total = 1;
    w->supported = y / total * 100;
    w->unsupported = n / total * 100;
    w->partial = p / total * 100;
}

/* Mailpit's weight: a share of clients times uses per element (a share
 * at most: a feature used more often than there are elements counts as
 * used everywhere). */
static float weight(float share, uint32_t found, size_t nodes) {
    float f = (float)found, d = (float)(nodes ? nodes : 1);
    if (f > d) f = d;
    return share * f / d;
}

static int cmp_warning(const void *a, const void *b, void *arg) {
    const struct html_check_warning *x = a, *y = b;
    size_t nodes = *(const size_t *)arg;
    float wx = weight(x->unsupported + x->partial, x->found, nodes);
    float wy = weight(y->unsupported + y->partial, y->found, nodes);
    if (wx != wy) return wx > wy ? -1 : 1;
    const char *sx = x->feature ? x->feature->slug : "html-script", *sy = y->feature ? y->feature->slug : "html-script";
    return strcmp(sx, sy);
}

/* Features the walk above can find: every slug of the html, css and image
 * categories except these. */
static const char *const not_looked_for[] = {"css-nesting"};

void html_check(const char *html, size_t len, size_t max_nodes, struct html_check_report *r) {
    memset(r, 0, sizeof *r);
    struct hc h = {0};
    h.found = xcalloc(cie_nfeatures, sizeof *h.found);
    h.stamp = xcalloc(cie_nfeatures, sizeof *h.stamp);
    h.line = xcalloc(cie_nfeatures, sizeof *h.line);
    /* Gumbo's tree building costs grow with the nesting depth times the
     * tags (each start tag searches the open elements for its scope):
     * 20,000 nested <div> take 0.6 s, 200,000 two minutes. So Gumbo gets
     * the bytes up to the 2 x max_nodes-th "<" only (every element has at
     * most a start and an end tag); the rest is not checked. */
    size_t cut = len, tags = 0;
    for (const char *p = html; (p = memchr(p, '<', (size_t)(html + len - p))) != NULL; p++)
        if (++tags > 2 * max_nodes) {
            cut = (size_t)(p - html);
            r->truncated = true;
            break;
        }
    GumboOptions opts = kGumboDefaultOptions;
    opts.max_errors = 100;
    GumboOutput *g = gumbo_parse_with_options(&opts, html, cut);
    size_t walked = 0, nodes_all = 0, nodes_body = 0;
    bool explicit_body = false;
    if (g) {
        h.at = 1;
        if (g->document->v.document.has_doctype) hit_each(&h, "html-doctype");
        /* Gumbo keeps where an element's end tag was, if it had one */
        const GumboVector *top = &g->root->v.element.children;
        for (unsigned i = 0; i < top->length; i++) {
            const GumboNode *c = top->data[i];
            if (c->type == GUMBO_NODE_ELEMENT && c->v.element.tag == GUMBO_TAG_BODY &&
                c->v.element.original_end_tag.length > 0)
                explicit_body = true;
        }
        /* depth-first, children in order; in_body marks body's subtree */
        size_t cap = 256, sp = 0;
        struct frame {
            const GumboNode *n;
            bool in_body;
        } *stack = xmalloc(cap * sizeof *stack);
        stack[sp++] = (struct frame){g->document, false};
        while (sp) {
            struct frame f = stack[--sp];
            const GumboNode *n = f.n;
            if (n->type == GUMBO_NODE_COMMENT) {
                h.css = NULL;
                h.at = n->v.text.start_pos.line;
                hit_each(&h, "html-comments");
                continue;
            }
            if (n->type != GUMBO_NODE_ELEMENT && n->type != GUMBO_NODE_TEMPLATE && n->type != GUMBO_NODE_DOCUMENT)
                continue;
            const GumboVector *kids;
            bool in_body = f.in_body;
            if (n->type == GUMBO_NODE_DOCUMENT) {
                kids = &n->v.document.children;
            } else {
                if (walked >= max_nodes) {
                    r->truncated = true;
                    break;
                }
                walked++;
                GumboTag t = n->v.element.tag;
                /* Mailpit: with </body> in the source every element but
                 * html, head and meta; else body's descendants and scripts */
                if (t != GUMBO_TAG_HTML && t != GUMBO_TAG_HEAD && t != GUMBO_TAG_META) nodes_all++;
                if (in_body || t == GUMBO_TAG_SCRIPT) nodes_body++;
                if (t == GUMBO_TAG_BODY) in_body = true;
                element(&h, n, explicit_body);
                kids = &n->v.element.children;
            }
            if (sp + kids->length > cap) {
                while (sp + kids->length > cap) cap *= 2;
                stack = xrealloc(stack, cap * sizeof *stack);
            }
            for (unsigned i = kids->length; i-- > 0;) stack[sp++] = (struct frame){kids->data[i], in_body};
        }
        free(stack);
        gumbo_destroy_output(&opts, g);
    }
    h.css = NULL;
    for (size_t j = 0; j < 6; j++)
        if (h.doc_attr[j]) {
            h.at = h.doc_attr_line[j];
            hit_each(&h, doc_attrs[j].slug);
        }
    r->nodes = explicit_body ? nodes_all : nodes_body;
    size_t looked = 1; /* <script> */
    for (size_t i = 0; i < cie_nfeatures; i++)
        if (strcmp(cie_features[i].category, "others") != 0) looked++;
    for (size_t i = 0; i < sizeof not_looked_for / sizeof not_looked_for[0]; i++)
        if (cie_find(not_looked_for[i])) looked--;
    r->tests = looked;
    size_t n = h.scripts ? 1 : 0;
    for (size_t i = 0; i < cie_nfeatures; i++) n += h.found[i] > 0;
    r->v = xcalloc(n ? n : 1, sizeof *r->v);
    if (h.scripts) {
        r->v[r->n].feature = NULL;
        r->v[r->n].found = h.scripts;
        r->v[r->n].line = h.script_line;
        r->v[r->n].unsupported = 100;
        r->n++;
    }
    for (size_t i = 0; i < cie_nfeatures; i++) {
        if (!h.found[i]) continue;
        struct html_check_warning *w = &r->v[r->n++];
        w->feature = &cie_features[i];
        w->found = h.found[i];
        w->line = h.line[i];
        feature_score(w->feature, w);
    }
    float partial = 0, unsupported = 0;
    for (size_t i = 0; i < r->n; i++) {
        float wp = weight(r->v[i].partial, r->v[i].found, r->nodes);
        float wu = weight(r->v[i].unsupported, r->v[i].found, r->nodes);
        if (r->v[i].partial > 0 && wp > partial) partial = wp;
        if (r->v[i].unsupported > 0 && wu > unsupported) unsupported = wu;
    }
    r->partial = partial;
    r->unsupported = unsupported;
    r->supported = 100 - partial - unsupported;
    qsort_r(r->v, r->n, sizeof *r->v, cmp_warning, &r->nodes);
    free(h.found);
    free(h.stamp);
    free(h.line);
}

void html_check_free(struct html_check_report *r) {
    free(r->v);
    memset(r, 0, sizeof *r);
}

/* ---- JSON ------------------------------------------------------------ */

/* A float32 as Go's encoding/json writes it: the shortest decimal that
 * reads back as the same float32, without an exponent in this range. */
static cJSON *go_float(float v) {
    char s[64];
    if (v == 0) return cJSON_CreateRaw("0");
    for (int prec = 1; prec <= 9; prec++) {
        char e[64];
        snprintf(e, sizeof e, "%.*e", prec - 1, (double)v);
        if (strtof(e, NULL) != v) continue;
        int exp10 = atoi(strchr(e, 'e') + 1);
        int decimals = prec - 1 - exp10;
        if (decimals < 0) decimals = 0;
        snprintf(s, sizeof s, "%.*f", decimals, (double)v);
        return cJSON_CreateRaw(s);
    }
    snprintf(s, sizeof s, "%.9g", (double)v);
    return cJSON_CreateRaw(s);
}

static void add_score(cJSON *o, float sup, float part, float unsup) {
    cJSON_AddItemToObject(o, "Supported", go_float(sup));
    cJSON_AddItemToObject(o, "Partial", go_float(part));
    cJSON_AddItemToObject(o, "Unsupported", go_float(unsup));
}

static cJSON *warning_json(const struct html_check_warning *w) {
    cJSON *o = cJSON_CreateObject();
    const struct cie_feature *f = w->feature;
    cJSON_AddStringToObject(o, "Slug", f ? f->slug : "html-script");
    cJSON_AddStringToObject(o, "Title", f ? f->title : "<script> element");
    cJSON_AddStringToObject(o, "Description", f ? f->description : "No email client runs JavaScript in a message.");
    cJSON_AddStringToObject(o, "URL", f ? f->url : "");
    cJSON_AddStringToObject(o, "Category", f ? f->category : "html");
    cJSON *tags = cJSON_AddArrayToObject(o, "Tags");
    if (f && f->tags[0]) {
        const char *t = f->tags;
        while (*t) {
            size_t n = strcspn(t, "\n");
            char *one = xstrndup(t, n);
            cJSON_AddItemToArray(tags, cJSON_CreateString(one));
            free(one);
            t += n;
            if (*t) t++;
        }
    }
    cJSON_AddStringToObject(o, "Keywords", "");
    cJSON *res = cJSON_AddArrayToObject(o, "Results");
    for (uint32_t i = 0; f && i < f->ncells; i++) {
        const struct cie_cell *c = &cie_cells[f->first_cell + i];
        cJSON *x = cJSON_CreateObject();
        buf_t name = BUF_INIT;
        buf_printf(&name, "%s %s (%s)", cie_family_name[c->family], cie_platform_name[c->platform],
                   cie_versions[c->version]);
        cJSON_AddStringToObject(x, "Name", buf_cstr(&name));
        buf_free(&name);
        cJSON_AddStringToObject(x, "Platform", cie_platform_slug[c->platform]);
        cJSON_AddStringToObject(x, "Family", cie_family_slug[c->family]);
        cJSON_AddStringToObject(x, "Version", cie_versions[c->version]);
        cJSON_AddStringToObject(x, "Support", c->support == CIE_YES ? "yes" : c->support == CIE_NO ? "no" : "partial");
        char note[8] = "";
        if (c->support == CIE_PARTIAL && c->note) snprintf(note, sizeof note, "%u", c->note);
        cJSON_AddStringToObject(x, "NoteNumber", note);
        cJSON_AddItemToArray(res, x);
    }
    cJSON *notes = cJSON_AddObjectToObject(o, "NotesByNumber");
    for (uint32_t i = 0; f && i < f->nnotes; i++)
        cJSON_AddStringToObject(notes, cie_notes[f->first_note + i].num, cie_notes[f->first_note + i].html);
    cJSON *score = cJSON_AddObjectToObject(o, "Score");
    cJSON_AddNumberToObject(score, "Found", w->found);
    add_score(score, w->supported, w->partial, w->unsupported);
    /* devmail's own: where in the HTML the feature is first used */
    cJSON_AddNumberToObject(o, "Line", w->line);
    return o;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Mailpit's Platforms: each platform with the families tested on it. */
static cJSON *platforms_json(void) {
    bool seen[256][256];
    memset(seen, 0, sizeof seen);
    for (size_t i = 0; i < cie_nfeatures; i++)
        for (uint32_t j = 0; j < cie_features[i].ncells; j++) {
            const struct cie_cell *c = &cie_cells[cie_features[i].first_cell + j];
            seen[c->platform][c->family] = true;
        }
    const char *order[256];
    for (size_t p = 0; p < cie_nplatforms; p++) order[p] = cie_platform_slug[p];
    qsort(order, cie_nplatforms, sizeof *order, cmp_str);
    cJSON *o = cJSON_CreateObject();
    for (size_t k = 0; k < cie_nplatforms; k++) {
        size_t p = 0;
        while (strcmp(cie_platform_slug[p], order[k]) != 0) p++;
        const char *names[256];
        size_t n = 0;
        for (size_t f = 0; f < cie_nfamilies; f++)
            if (seen[p][f]) names[n++] = cie_family_name[f];
        qsort(names, n, sizeof *names, cmp_str);
        cJSON *a = cJSON_AddArrayToObject(o, order[k]);
        for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateString(names[i]));
    }
    return o;
}

cJSON *html_check_report_json(const struct html_check_report *r) {
    cJSON *o = cJSON_CreateObject();
    cJSON *w = cJSON_AddArrayToObject(o, "Warnings");
    for (size_t i = 0; i < r->n; i++) cJSON_AddItemToArray(w, warning_json(&r->v[i]));
    cJSON_AddItemToObject(o, "Platforms", platforms_json());
    cJSON *t = cJSON_AddObjectToObject(o, "Total");
    cJSON_AddNumberToObject(t, "Tests", (double)r->tests);
    cJSON_AddNumberToObject(t, "Nodes", (double)r->nodes);
    add_score(t, r->supported, r->partial, r->unsupported);
    return o;
}

cJSON *html_check_json(const char *html, size_t len, size_t max_nodes) {
    struct html_check_report r;
    html_check(html, len, max_nodes, &r);
    cJSON *j = html_check_report_json(&r);
    html_check_free(&r);
    return j;
}
