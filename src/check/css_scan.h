/*
 * css_scan - a small CSS tokenizer for the HTML check: style sheets (the
 * text of <style>) and declaration lists (style="" attributes) become
 * callbacks for at-rules, rule selectors, declarations, comments, and the
 * tokens of selectors and values (CSS Syntax Level 3, simplified: strings,
 * comments, escapes and bracket nesting are honoured; nothing is
 * validated). Pure: bytes in, callbacks out, linear time, no allocation,
 * no recursion deeper than CSS_SCAN_MAX_DEPTH nested blocks.
 */
#ifndef DEVMAIL_CSS_SCAN_H
#define DEVMAIL_CSS_SCAN_H

#include <stdbool.h>
#include <stddef.h>

/* Blocks nested deeper than this are skipped, not scanned. */
#define CSS_SCAN_MAX_DEPTH 16

enum css_tok {
    CSS_TOK_IDENT,          /* an identifier: "flex", "initial" */
    CSS_TOK_FUNCTION,       /* a function's name, without "(": "rgb" */
    CSS_TOK_DIMENSION,      /* a number's unit: "rem" of "1.5rem" */
    CSS_TOK_PERCENT,        /* a number with "%" */
    CSS_TOK_PSEUDO_CLASS,   /* ":hover": "hover" (in selectors) */
    CSS_TOK_PSEUDO_ELEMENT, /* "::before": "before" (in selectors) */
};

struct css_sink {
    void *arg;
    /* @name prelude (the text up to ";" or "{"); nested is true inside
     * another block (a @media, for instance) */
    void (*at_rule)(void *arg, const char *name, size_t nlen, const char *prelude, size_t plen, bool nested);
    /* a qualified rule begins: its selector text; at (alen bytes) names
     * the innermost at-rule whose block holds it ("media", "keyframes"),
     * NULL at the top. An at-rule of declarations (@font-face) comes as a
     * rule with an empty selector and at set. */
    void (*rule)(void *arg, const char *sel, size_t len, const char *at, size_t alen);
    /* a declaration "prop: value [!important]": prop as written, value
     * without the !important; in_rule is false for a style attribute */
    void (*decl)(void *arg, const char *prop, size_t plen, const char *val, size_t vlen, bool important,
                 bool in_rule);
    void (*comment)(void *arg); /* a slash-star comment */
};

/* A style sheet. Callbacks may be NULL. */
void css_scan_sheet(const char *s, size_t n, const struct css_sink *k);

/* A declaration list, as in a style attribute. */
void css_scan_inline(const char *s, size_t n, const struct css_sink *k);

/* The tokens of a value or a selector: tok gets each token's kind and its
 * text (see enum css_tok). */
void css_scan_tokens(const char *s, size_t n, void (*tok)(void *arg, enum css_tok kind, const char *t, size_t len),
                     void *arg);

enum css_sel {
    CSS_SEL_TYPE,       /* p */
    CSS_SEL_UNIVERSAL,  /* * */
    CSS_SEL_CLASS,      /* .a */
    CSS_SEL_ID,         /* #a */
    CSS_SEL_ATTRIBUTE,  /* [a] */
    CSS_SEL_DESCENDANT, /* a b */
    CSS_SEL_CHILD,      /* a > b */
    CSS_SEL_ADJACENT,   /* a + b */
    CSS_SEL_SIBLING,    /* a ~ b */
    CSS_SEL_GROUPING,   /* a, b */
    CSS_SEL_CHAINING,   /* .a.b: two or more simple selectors in one compound */
};

/* The parts of a selector list (Selectors Level 4, simplified), once per
 * occurrence; the arguments of :not() and other functions are skipped. */
void css_scan_selector(const char *s, size_t n, void (*part)(void *arg, enum css_sel kind), void *arg);

#endif
