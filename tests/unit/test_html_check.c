/*
 * test_html_check - the HTML compatibility check against what Mailpit's
 * html-check reports for the same HTML: the features found (Mailpit's
 * own detection cases, restated), each feature's score from the data
 * (expected values computed from data/caniemail/caniemail.json with
 * Mailpit's float32 formula, independently of this code), the node
 * count, the weighted total and its order, the JSON shape; and the CSS
 * tokenizer, the node bound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "check/css_scan.h"
#include "check/html_check.h"
#include "core/buf.h"

static const struct html_check_warning *find(const struct html_check_report *r, const char *slug) {
    for (size_t i = 0; i < r->n; i++) {
        const char *s = r->v[i].feature ? r->v[i].feature->slug : "html-script";
        if (!strcmp(s, slug)) return &r->v[i];
    }
    return NULL;
}

/* html uses every slug of want (comma-separated) and none of unwanted. */
static void expect(const char *html, const char *want, const char *unwanted) {
    struct html_check_report r;
    html_check(html, strlen(html), 1000, &r);
    char list[512];
    for (int pass = 0; pass < 2; pass++) {
        const char *src = pass ? unwanted : want;
        if (!src || !*src) continue;
        snprintf(list, sizeof list, "%s", src);
        for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            bool has = find(&r, t) != NULL;
            if (has == (pass == 1)) {
                buf_t got = BUF_INIT;
                for (size_t i = 0; i < r.n; i++)
                    buf_printf(&got, "%s ", r.v[i].feature ? r.v[i].feature->slug : "html-script");
                fail_msg("%s: %s %s; found: %s", html, t, pass ? "found" : "not found", buf_cstr(&got));
            }
        }
    }
    html_check_free(&r);
}

/* Mailpit's inline style cases (internal/htmlcheck/inline_test.go),
 * restated: what Mailpit finds must be found, its "no match" cases not. */
static void test_html_check_inline_styles(void **state) {
    (void)state;
    expect("<b style=\"transform: rotate(20deg)\">x</b>", "css-transform", "css-text-transform");
    expect("<b style=\"color: green; transform:rotate(20deg)\">x</b>", "css-transform", NULL);
    expect("<b style=\"color:green; transform :rotate(20deg)\">x</b>", "css-transform", NULL);
    expect("<b style=\"TRANSFORM:rotate(20deg)\">x</b>", "css-transform", NULL);
    expect("<b style=\"transform:\trotate(20deg)\">x</b>", "css-transform", NULL);
    expect("<b style=\"ignore-transform: something\">x</b>", "", "css-transform");
    expect("<b style=\"text-transform: uppercase; text-transform: uppercase\">x</b>", "css-text-transform",
           "css-transform");
    expect("<b style=\"test-transform: uppercase\">x</b>", "", "css-transform,css-text-transform");
    expect("<b style=\"padding-inline-start: 5rem\">x</b>", "css-padding-inline-start-end,css-unit-rem", NULL);
    expect("<b style=\"margin-inline-end: 5rem\">x</b>", "css-margin-inline-start-end", NULL);
    expect("<b style=\"margin-inline-middle: 5rem\">x</b>", "",
           "css-margin-inline-start-end,css-margin-inline-block,css-margin");
    expect("<b style=\"color:green!important\">x</b>", "css-important", NULL);
    expect("<b style=\"color: green !important;\">x</b>", "css-important", NULL);
    expect("<b style=\"color:green!important-stuff;\">x</b>", "", "css-important");
    expect("<b style=\" color:green; background-image:url('img.jpg');\">x</b>", "css-background-image",
           "css-background");
    expect("<b style=\"display  : flex ;\">x</b>", "css-display,css-display-flex", NULL);
    expect("<b style=\"DISPLAY:FLEX;\">x</b>", "css-display,css-display-flex", NULL);
    expect("<b style=\"display: flexing;\">x</b>", "css-display", "css-display-flex");
    expect("<b style=\"line-height: 1rem;opacity: 0.5; width: calc(10px + 100px)\">x</b>",
           "css-line-height,css-opacity,css-unit-calc,css-width", NULL);
    expect("<b style=\"color:rgb(255,255,255);\">x</b>", "css-rgb", "css-rgba");
    expect("<b style=\"color:rgba(255,255,255, 0);\">x</b>", "css-rgba", "css-rgb");
    expect("<b style=\"border: solid rgb(255,255,255) 1px; color:rgba(255,255,255, 0);\">x</b>",
           "css-border,css-rgb,css-rgba", NULL);
    expect("<b border=\"2\">x</b>", "css-border", NULL);
    expect("<b BORDER=\"2\" BACKGROUND=\"GREEN\">x</b>", "css-background,css-border", NULL);
    expect("<b border-something=\"2\" background-something=\"green\">x</b>", "", "css-border,css-background");
    /* a value that looks like a declaration is not one */
    expect("<b style=\"font-family: 'a; transform: x'\">x</b>", "", "css-transform");
}

static void test_html_check_elements_and_sheets(void **state) {
    (void)state;
    expect("<form><input type=\"text\"><input type=\"checkbox\"><button type=\"submit\">Go</button></form>",
           "html-form,html-input-text,html-input-checkbox,html-button-submit", "html-input-radio");
    expect("<a href=\"#top\">t</a><a href=\"mailto:a@b.example\">m</a><img src=\"x.gif\" usemap=\"#m\">",
           "html-anchor-links,html-mailto-links,image-gif,html-image-maps", NULL);
    expect("<img src=\"data:image/png;base64,AAAA\"><img src=\"https://x.example/a.webp\">",
           "image-base64,image-webp,html-img", "image-png");
    expect("<article><section><video></video></section></article><svg></svg><hr>",
           "html-semantics,html-video,html-svg,html-hr", NULL);
    /* style sheets: at-rules, pseudo-classes and elements, properties in rules */
    expect("<style>@import url(x.css); @font-face { font-family: X; src: url(x.woff) }"
           "@media (prefers-color-scheme: dark) { .a { color: red } }"
           "a:hover, p::before, li:first-child { border-radius: 4px } /* note */"
           "@keyframes spin { from { transform: rotate(0) } }</style>",
           "css-at-import,css-at-font-face,css-at-media,css-at-media-prefers-color-scheme,css-pseudo-class-hover,"
           "css-pseudo-element-before,css-pseudo-class-first-child,css-border-radius,css-comments,"
           "css-at-keyframes,css-transform,html-style",
           /* @font-face's descriptors are not properties */
           "css-font,css-pseudo-class-focus");
    expect("<style>.a.b, div > p { color: red } @keyframes k { from { opacity: 0 } }</style>",
           "css-selector-class,css-selector-chaining,css-selector-grouping,css-selector-type,css-selector-child,"
           "css-opacity",
           "css-selector-descendant,css-selector-id,css-selector-universal");
    expect("<p>x</p><!--[if mso]>y<![endif]-->", "html-p,html-comments", NULL);
    expect("<script>1</script><script type=\"application/ld+json\">{}</script>", "html-script", NULL);
    expect("<script type=\"application/ld+json\">{}</script>", "", "html-script");
}

/* Scores and totals as Mailpit computes them. Expected values: Mailpit's
 * formula over the data file, in float32 (see the file comment). */
static void test_html_check_scores_like_mailpit(void **state) {
    (void)state;
    struct html_check_report r;
    const char *one = "<b style=\"transform: rotate(20deg)\">Heading</b>";
    html_check(one, strlen(one), 1000, &r);
    assert_int_equal(r.nodes, 1); /* no </body>: body's descendants */
    assert_int_equal(r.n, 1);
    const struct html_check_warning *w = find(&r, "css-transform");
    assert_non_null(w);
    assert_int_equal(w->found, 1);
    assert_float_equal(w->supported, 45.098038f, 1e-4);
    assert_float_equal(w->partial, 0, 1e-6);
    assert_float_equal(w->unsupported, 54.901962f, 1e-4);
    assert_float_equal(r.supported, 45.098038f, 1e-4);
    assert_float_equal(r.unsupported, 54.901962f, 1e-4);
    cJSON *j = html_check_report_json(&r);
    char *s = cJSON_PrintUnformatted(j);
    /* Go's float32 text: the shortest that reads back */
    assert_non_null(strstr(s, "\"Supported\":45.098038,\"Partial\":0,\"Unsupported\":54.901962"));
    free(s);
    cJSON_Delete(j);
    html_check_free(&r);

    /* with </body>: every element but html, head and meta (body, b, a, video); only
     * features Mailpit looks for, so Mailpit's whole answer is known */
    const char *doc = "<html><head><meta charset=\"utf-8\"></head><body><b style=\"display:flex\">x</b>"
                      "<a href=\"#t\">t</a><video></video></body></html>";
    html_check(doc, strlen(doc), 1000, &r);
    assert_int_equal(r.nodes, 4);
    assert_int_equal(r.n, 5);
    /* worst first: (unsupported + partial) x found / nodes */
    const char *order[] = {"html-video", "html-anchor-links", "html-body", "css-display-flex", "css-display"};
    for (size_t i = 0; i < 5; i++) assert_string_equal(r.v[i].feature->slug, order[i]);
    assert_float_equal(r.v[2].supported, 38.775509f, 1e-4);
    assert_float_equal(r.v[2].partial, 28.571430f, 1e-4);
    assert_float_equal(r.v[2].unsupported, 32.653061f, 1e-4);
    assert_float_equal(r.v[3].supported, 50.0f, 1e-4);
    assert_float_equal(r.v[3].partial, 18.75f, 1e-4);
    assert_float_equal(r.v[3].unsupported, 31.25f, 1e-4);
    assert_float_equal(r.partial, 12.719299f, 1e-4);    /* html-video's 50.88 / 4 */
    assert_float_equal(r.unsupported, 8.333334f, 1e-4); /* html-video's 33.33 / 4 */
    assert_float_equal(r.supported, 78.947365f, 1e-4);
    html_check_free(&r);

    /* a style sheet: Mailpit's four features, plus the selector kinds
     * (class, type) devmail also reports */
    const char *sheet = "<html><head><style>@media (max-width:600px){.a{color:red}} a:hover{color:blue}</style>"
                        "</head><body><b>x</b></body></html>";
    html_check(sheet, strlen(sheet), 1000, &r);
    assert_int_equal(r.nodes, 3); /* style, body, b */
    assert_int_equal(r.n, 6);
    const char *six[] = {"css-at-media", "html-body", "css-pseudo-class-hover", "html-style", "css-selector-class",
                         "css-selector-type"};
    for (size_t i = 0; i < 6; i++) assert_non_null(find(&r, six[i]));
    assert_int_equal(find(&r, "css-at-media")->found, 1);
    assert_int_equal(find(&r, "css-pseudo-class-hover")->found, 1);
    html_check_free(&r);
}

static void test_html_check_json_shape(void **state) {
    (void)state;
    const char *h = "<div style=\"display:flex\"><script>x()</script></div>";
    /* as a client reads it: printed and parsed back */
    cJSON *j0 = html_check_json(h, strlen(h), 1000);
    char *text = cJSON_PrintUnformatted(j0);
    cJSON_Delete(j0);
    cJSON *j = cJSON_Parse(text);
    free(text);
    assert_non_null(j);
    const char *top[] = {"Warnings", "Platforms", "Total"};
    cJSON *it = j->child;
    for (size_t i = 0; i < 3; i++, it = it->next) assert_string_equal(it->string, top[i]);
    const char *wkeys[] = {"Slug", "Title", "Description", "URL", "Category", "Tags",
                           "Keywords", "Results", "NotesByNumber", "Score"};
    cJSON *w;
    bool saw_script = false, saw_flex = false;
    cJSON_ArrayForEach(w, cJSON_GetObjectItem(j, "Warnings")) {
        it = w->child;
        for (size_t i = 0; i < 10; i++, it = it->next) assert_string_equal(it->string, wkeys[i]);
        const char *slug = cJSON_GetObjectItem(w, "Slug")->valuestring;
        cJSON *res = cJSON_GetObjectItem(w, "Results");
        if (!strcmp(slug, "html-script")) {
            saw_script = true;
            assert_int_equal(cJSON_GetArraySize(res), 0);
            assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(w, "Score"), "Unsupported")->valueint, 100);
        }
        if (!strcmp(slug, "css-display-flex")) {
            saw_flex = true;
            assert_true(cJSON_GetArraySize(res) > 10);
            cJSON *r0 = cJSON_GetArrayItem(res, 0);
            const char *rkeys[] = {"Name", "Platform", "Family", "Version", "Support", "NoteNumber"};
            it = r0->child;
            for (size_t i = 0; i < 6; i++, it = it->next) assert_string_equal(it->string, rkeys[i]);
            cJSON *notes = cJSON_GetObjectItem(w, "NotesByNumber");
            assert_true(cJSON_IsObject(notes));
            assert_non_null(cJSON_GetObjectItem(notes, "1"));
            /* every partial with a note names one of the notes */
            cJSON *x;
            cJSON_ArrayForEach(x, res) {
                const char *nn = cJSON_GetObjectItem(x, "NoteNumber")->valuestring;
                if (nn[0]) assert_non_null(cJSON_GetObjectItem(notes, nn));
            }
        }
        const char *skeys[] = {"Found", "Supported", "Partial", "Unsupported"};
        it = cJSON_GetObjectItem(w, "Score")->child;
        for (size_t i = 0; i < 4; i++, it = it->next) assert_string_equal(it->string, skeys[i]);
    }
    assert_true(saw_script && saw_flex);
    cJSON *plat = cJSON_GetObjectItem(j, "Platforms");
    cJSON *ios = cJSON_GetObjectItem(plat, "ios");
    assert_true(cJSON_IsArray(ios));
    assert_string_equal(cJSON_GetArrayItem(ios, 0)->valuestring, "AOL"); /* sorted */
    const char *tkeys[] = {"Tests", "Nodes", "Supported", "Partial", "Unsupported"};
    it = cJSON_GetObjectItem(j, "Total")->child;
    for (size_t i = 0; i < 5; i++, it = it->next) assert_string_equal(it->string, tkeys[i]);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "Total"), "Nodes")->valueint, 2);
    cJSON_Delete(j);
}

static void test_html_check_bounded(void **state) {
    (void)state;
    buf_t b = BUF_INIT;
    for (int i = 0; i < 5000; i++) buf_append_str(&b, "<div style=\"color:red\">");
    struct html_check_report r;
    html_check(b.data, b.len, 100, &r);
    assert_true(r.truncated);
    const struct html_check_warning *w = find(&r, "html-div");
    assert_non_null(w);
    assert_true(w->found <= 100);
    html_check_free(&r);
    html_check(b.data, b.len, 100000, &r);
    assert_false(r.truncated);
    assert_int_equal(find(&r, "html-div")->found, 5000);
    html_check_free(&r);
    buf_free(&b);
    html_check("", 0, 10, &r); /* nothing: no warnings, no division by zero */
    assert_int_equal(r.n, 0);
    assert_float_equal(r.supported, 100, 1e-6);
    html_check_free(&r);
}

struct decls {
    buf_t b;
};

static void rec_decl(void *arg, const char *p, size_t n, const char *v, size_t vn, bool imp, bool in_rule) {
    buf_printf(&((struct decls *)arg)->b, "%.*s=%.*s%s%s;", (int)n, p, (int)vn, v, imp ? "!" : "",
               in_rule ? "" : "@");
}

static void rec_rule(void *arg, const char *s, size_t n, const char *at, size_t alen) {
    buf_printf(&((struct decls *)arg)->b, "{%.*s%s%.*s}", (int)n, s, at ? "^" : "", (int)alen, at ? at : "");
}

static void rec_at(void *arg, const char *name, size_t n, const char *pre, size_t pn, bool nested) {
    buf_printf(&((struct decls *)arg)->b, "@%.*s(%.*s)%s", (int)n, name, (int)pn, pre, nested ? "^" : "");
}

static void expect_css(bool sheet, const char *css, const char *want) {
    struct decls d = {BUF_INIT};
    struct css_sink k = {&d, rec_at, rec_rule, rec_decl, NULL};
    if (sheet) css_scan_sheet(css, strlen(css), &k);
    else css_scan_inline(css, strlen(css), &k);
    if (strcmp(buf_cstr(&d.b), want) != 0) fail_msg("'%s'\n gave '%s'\n want '%s'", css, buf_cstr(&d.b), want);
    buf_free(&d.b);
}

static void test_css_scan(void **state) {
    (void)state;
    expect_css(false, "color: red; font-family: \"a;b\", x ;;width:1px !IMPORTANT",
               "color=red@;font-family=\"a;b\", x@;width=1px!@;");
    expect_css(false, "a:b}c:d", "a=b@;c=d@;");
    expect_css(false, "x", "");
    expect_css(false, "background:url(a;b.png);q:/* c; */ 1", "background=url(a;b.png)@;q=/* c; */ 1@;");
    expect_css(true, "@import 'x.css'; a > b[title=\"}\"] { c: d } @media screen { p { e: f } }",
               "@import('x.css'){a > b[title=\"}\"]}c=d;@media(screen){p^media}e=f;");
    expect_css(true, "<!-- p{a:b} --> }} q{", "{p}a=b;{q}");
    expect_css(true, "@font-face{font-weight:bold}", "@font-face(){^font-face}font-weight=bold;");
    expect_css(true, "a{b:c;&:hover{d:e}f:g}", "{a}b=c;f=g;");
    /* unbalanced input ends where the bytes end */
    expect_css(true, "@media (x{", "@media((x{)");
    expect_css(true, "a{b:\"unterminated", "{a}b=\"unterminated;");
    /* a NUL is a byte like others, not the end of a stop list (found by the fuzzer: it looped) */
    struct decls d = {BUF_INIT};
    struct css_sink k = {&d, rec_at, rec_rule, rec_decl, NULL};
    const char nul[] = "a{b:c\0;d\0:e}x\0{y:z}";
    css_scan_sheet(nul, sizeof nul - 1, &k);
    assert_true(d.b.len > 0);
    buf_free(&d.b);
}

static void rec_sel(void *arg, enum css_sel kind) {
    buf_printf(arg, "%c", "TUCIADJPSGH"[kind]);
}

static void expect_sel(const char *sel, const char *want) {
    buf_t b = BUF_INIT;
    css_scan_selector(sel, strlen(sel), rec_sel, &b);
    if (strcmp(buf_cstr(&b), want) != 0) fail_msg("'%s' gave '%s' want '%s'", sel, buf_cstr(&b), want);
    buf_free(&b);
}

/* T type, U universal, C class, I id, A attribute, D descendant, J child,
 * P adjacent, S sibling, G grouping, H chaining */
static void test_css_scan_selector(void **state) {
    (void)state;
    expect_sel("p", "T");
    expect_sel(".a.b", "CCH");
    expect_sel("div p", "TDT");
    expect_sel("div > p", "TJT");
    expect_sel("div>p+a ~ b", "TJTPTST");
    expect_sel("a:hover, #x[title=\"a b, c\"]", "TGIAH");
    expect_sel("* .a", "UDC");
    expect_sel("ul li:not(.x, .y) a", "TDTDT");
    expect_sel("  td  ", "T");
}

/* Where each feature is first used: the line of its element, of its
 * declaration inside a <style> sheet or a style attribute, of a comment. */
static void test_html_check_lines(void **state) {
    (void)state;
    const char *html = "<!doctype html>\n"              /* 1 */
                       "<html><head>\n"                 /* 2 */
                       "<style>\n"                      /* 3 */
                       "p { color: red; }\n"            /* 4 */
                       "@media (max-width: 600px) {\n"  /* 5 */
                       "  .a { display: flex; }\n"      /* 6 */
                       "}\n"                            /* 7 */
                       "</style></head><body>\n"        /* 8 */
                       "<!-- note -->\n"                /* 9 */
                       "<div\n"                         /* 10 */
                       "  style=\"margin: 0;\n"        /* 11 */
                       "  transform: rotate(1deg)\">x</div>\n" /* 12 */
                       "<script>x()</script>\n"         /* 13 */
                       "<p style=\"display:flex\">y</p>\n"    /* 14 */
                       "</body></html>\n";
    struct html_check_report r;
    html_check(html, strlen(html), 1000, &r);
    static const struct {
        const char *slug;
        uint32_t line;
    } want[] = {{"html-doctype", 1}, {"html-style", 3}, {"css-at-media", 5}, {"css-display-flex", 6},
                {"html-comments", 9}, {"css-transform", 12}, {"html-script", 13}, {"html-body", 8}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const struct html_check_warning *w = find(&r, want[i].slug);
        if (!w) fail_msg("%s not found", want[i].slug);
        if (w->line != want[i].line) fail_msg("%s: line %u, want %u", want[i].slug, w->line, want[i].line);
    }
    cJSON *j = html_check_report_json(&r);
    cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "Warnings"), 0);
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(first, "Line")));
    cJSON_Delete(j);
    html_check_free(&r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_html_check_inline_styles),
        cmocka_unit_test(test_html_check_lines),
        cmocka_unit_test(test_html_check_elements_and_sheets),
        cmocka_unit_test(test_html_check_scores_like_mailpit), cmocka_unit_test(test_html_check_json_shape),
        cmocka_unit_test(test_html_check_bounded), cmocka_unit_test(test_css_scan), cmocka_unit_test(test_css_scan_selector),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
