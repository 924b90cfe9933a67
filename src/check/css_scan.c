/*
 * css_scan - see css_scan.h. The grammar followed, loosely (CSS Syntax 3):
 *   stylesheet  = *( at-rule / qualified-rule )
 *   at-rule     = "@" ident prelude ( ";" / "{" block "}" )
 *   qual-rule   = prelude "{" declaration-list "}"
 *   declaration = ident ":" value [ "!" "important" ]
 * Strings, comments and backslash escapes never end a prelude or a value;
 * unbalanced input ends where the bytes end. No allocation, no I/O.
 */
#include "check/css_scan.h"

#include <string.h>
#include <strings.h>

struct cur {
    const char *p, *end;
    const struct css_sink *k;
};

static bool is_ws(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static bool is_ident_char(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c >= 0x80;
}

static bool is_ident_start(const char *p, const char *end) {
    unsigned char c = (unsigned char)*p;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80 || c == '\\') return true;
    if (c == '-' && p + 1 < end) {
        unsigned char d = (unsigned char)p[1];
        return (d >= 'a' && d <= 'z') || (d >= 'A' && d <= 'Z') || d == '_' || d == '-' || d >= 0x80;
    }
    return false;
}

static void comment(struct cur *c) {
    if (c->k && c->k->comment) c->k->comment(c->k->arg);
}

/* At "/" "*": past the comment's end (or the end of input). */
static const char *skip_comment(const char *p, const char *end) {
    p += 2;
    while (p + 1 < end && !(p[0] == '*' && p[1] == '/')) p++;
    return p + 1 < end ? p + 2 : end;
}

/* At a quote: past the string's closing quote, a newline, or the end. */
static const char *skip_string(const char *p, const char *end) {
    char q = *p++;
    while (p < end && *p != q && *p != '\n') {
        if (*p == '\\' && p + 1 < end) p++;
        p++;
    }
    return p < end && *p == q ? p + 1 : p;
}

static bool at_comment(const char *p, const char *end) {
    return p + 1 < end && p[0] == '/' && p[1] == '*';
}

static void skip_ws(struct cur *c) {
    while (c->p < c->end) {
        if (is_ws(*c->p)) c->p++;
        else if (at_comment(c->p, c->end)) {
            comment(c);
            c->p = skip_comment(c->p, c->end);
        } else break;
    }
}

/* Up to (not past) the first of stops at bracket depth 0. */
static const char *scan_to(struct cur *c, const char *stops) {
    int depth = 0;
    const char *p = c->p;
    while (p < c->end) {
        char ch = *p;
        if (ch == '"' || ch == '\'') {
            p = skip_string(p, c->end);
            continue;
        }
        if (at_comment(p, c->end)) {
            comment(c);
            p = skip_comment(p, c->end);
            continue;
        }
        if (ch == '\\') {
            p += p + 1 < c->end ? 2 : 1;
            continue;
        }
        if (ch == '(' || ch == '[') depth++;
        else if ((ch == ')' || ch == ']') && depth > 0) depth--;
        else if (depth == 0 && ch != '\0' && strchr(stops, ch)) return p; /* strchr finds the NUL too */
        p++;
    }
    return p;
}

/* At "{": past the matching "}". */
static const char *skip_block(const char *p, const char *end) {
    int depth = 0;
    while (p < end) {
        char ch = *p;
        if (ch == '"' || ch == '\'') {
            p = skip_string(p, end);
            continue;
        }
        if (at_comment(p, end)) {
            p = skip_comment(p, end);
            continue;
        }
        if (ch == '\\') {
            p += p + 1 < end ? 2 : 1;
            continue;
        }
        if (ch == '{') depth++;
        else if (ch == '}' && --depth == 0) return p + 1;
        p++;
    }
    return end;
}

static void trim(const char **s, size_t *n) {
    while (*n && is_ws(**s)) (*s)++, (*n)--;
    while (*n && is_ws((*s)[*n - 1])) (*n)--;
}

/* Declarations up to a "}" at this level (consumed) or the end. */
static void scan_decls(struct cur *c, bool in_rule) {
    const char *last = NULL;
    while (c->p < c->end) {
        if (c->p == last) c->p++; /* no progress: never loop on one byte */
        last = c->p;
        skip_ws(c);
        if (c->p >= c->end) return;
        if (*c->p == ';') {
            c->p++;
            continue;
        }
        if (*c->p == '}') {
            c->p++;
            return;
        }
        const char *prop = c->p;
        const char *q = scan_to(c, ":;{}");
        if (q >= c->end) {
            c->p = c->end;
            return;
        }
        if (*q == '{') { /* a nested rule (CSS Nesting): not ours to read */
            c->p = skip_block(q, c->end);
            continue;
        }
        if (*q != ':') {
            c->p = *q == ';' ? q + 1 : q;
            continue;
        }
        size_t plen = (size_t)(q - prop);
        trim(&prop, &plen);
        c->p = q + 1;
        const char *val = c->p;
        const char *e = scan_to(c, ";{}");
        if (e < c->end && *e == '{') { /* "a:hover { }" nested: a rule, not a declaration */
            c->p = skip_block(e, c->end);
            continue;
        }
        size_t vlen = (size_t)(e - val);
        c->p = e;
        trim(&val, &vlen);
        bool important = false;
        if (vlen >= 9 && !strncasecmp(val + vlen - 9, "important", 9)) {
            size_t i = vlen - 9;
            while (i && is_ws(val[i - 1])) i--;
            if (i && val[i - 1] == '!') {
                important = true;
                vlen = i - 1;
                trim(&val, &vlen);
            }
        }
        if (plen && c->k && c->k->decl) c->k->decl(c->k->arg, prop, plen, val, vlen, important, in_rule);
    }
}

static bool nests_rules(const char *name, size_t n) {
    static const char *const names[] = {"media", "supports", "document", "-moz-document", "container", "layer",
                                        "scope", "keyframes", "-webkit-keyframes", "-moz-keyframes", "starting-style"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == n && !strncasecmp(name, names[i], n)) return true;
    return false;
}

static void scan_rules(struct cur *c, int depth, const char *at, size_t alen) {
    const char *last = NULL;
    while (c->p < c->end) {
        if (c->p == last) c->p++; /* no progress: never loop on one byte */
        last = c->p;
        skip_ws(c);
        if (c->p >= c->end) return;
        char ch = *c->p;
        if (ch == '}') {
            c->p++;
            if (depth > 0) return;
            continue;
        }
        if (ch == ';') {
            c->p++;
            continue;
        }
        if (ch == '<' || ch == '-') { /* HTML comment markers "<!--" "-->" in old style sheets */
            if (c->end - c->p >= 4 && !memcmp(c->p, "<!--", 4)) {
                c->p += 4;
                continue;
            }
            if (c->end - c->p >= 3 && !memcmp(c->p, "-->", 3)) {
                c->p += 3;
                continue;
            }
        }
        if (ch == '@') {
            const char *name = ++c->p;
            while (c->p < c->end && is_ident_char((unsigned char)*c->p)) c->p++;
            size_t nlen = (size_t)(c->p - name);
            const char *pre = c->p;
            const char *q = scan_to(c, ";{}");
            size_t plen = (size_t)(q - pre);
            trim(&pre, &plen);
            if (nlen && c->k && c->k->at_rule) c->k->at_rule(c->k->arg, name, nlen, pre, plen, depth > 0);
            c->p = q;
            if (q >= c->end) return;
            if (*q == ';') {
                c->p++;
                continue;
            }
            if (*q == '}') continue;
            c->p = q + 1;
            if (nests_rules(name, nlen)) {
                if (depth + 1 >= CSS_SCAN_MAX_DEPTH) c->p = skip_block(q, c->end);
                else scan_rules(c, depth + 1, name, nlen);
            } else {
                if (c->k && c->k->rule) c->k->rule(c->k->arg, "", 0, name, nlen);
                scan_decls(c, true);
            }
            continue;
        }
        const char *sel = c->p;
        const char *q = scan_to(c, "{}");
        size_t slen = (size_t)(q - sel);
        trim(&sel, &slen);
        c->p = q;
        if (q >= c->end) return;
        if (*q == '}') continue;
        c->p = q + 1;
        if (c->k && c->k->rule) c->k->rule(c->k->arg, sel, slen, at, alen);
        scan_decls(c, true);
    }
}

void css_scan_sheet(const char *s, size_t n, const struct css_sink *k) {
    struct cur c = {s, s + n, k};
    scan_rules(&c, 0, NULL, 0);
}

void css_scan_inline(const char *s, size_t n, const struct css_sink *k) {
    struct cur c = {s, s + n, k};
    while (c.p < c.end) {
        scan_decls(&c, false); /* a stray "}" ends scan_decls; go on after it */
    }
}

void css_scan_tokens(const char *s, size_t n, void (*tok)(void *arg, enum css_tok kind, const char *t, size_t len),
                     void *arg) {
    const char *p = s, *end = s + n;
    while (p < end) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"' || ch == '\'') {
            p = skip_string(p, end);
            continue;
        }
        if (at_comment(p, end)) {
            p = skip_comment(p, end);
            continue;
        }
        if (ch == ':') {
            enum css_tok kind = CSS_TOK_PSEUDO_CLASS;
            p++;
            if (p < end && *p == ':') {
                kind = CSS_TOK_PSEUDO_ELEMENT;
                p++;
            }
            const char *t = p;
            while (p < end && is_ident_char((unsigned char)*p)) p++;
            if (p > t) tok(arg, kind, t, (size_t)(p - t));
            continue;
        }
        if (ch == '#') { /* a hash (#fff, #id): one token, not an identifier */
            p++;
            while (p < end && is_ident_char((unsigned char)*p)) p++;
            continue;
        }
        bool num = (ch >= '0' && ch <= '9') || (ch == '.' && p + 1 < end && p[1] >= '0' && p[1] <= '9');
        if (num) {
            while (p < end && ((*p >= '0' && *p <= '9') || *p == '.')) p++;
            if (p < end && *p == '%') {
                tok(arg, CSS_TOK_PERCENT, p, 1);
                p++;
            } else if (p < end && is_ident_start(p, end)) {
                const char *t = p;
                while (p < end && is_ident_char((unsigned char)*p)) p++;
                tok(arg, CSS_TOK_DIMENSION, t, (size_t)(p - t));
            }
            continue;
        }
        if (is_ident_start(p, end)) {
            const char *t = p;
            while (p < end && (is_ident_char((unsigned char)*p) || *p == '\\')) {
                if (*p == '\\' && p + 1 < end) p++;
                p++;
            }
            if (p < end && *p == '(') tok(arg, CSS_TOK_FUNCTION, t, (size_t)(p - t));
            else tok(arg, CSS_TOK_IDENT, t, (size_t)(p - t));
            continue;
        }
        p++;
    }
}

void css_scan_selector(const char *s, size_t n, void (*part)(void *arg, enum css_sel kind), void *arg) {
    const char *p = s, *end = s + n;
    int simple = 0;        /* simple selectors in the current compound */
    bool before = false;   /* a compound precedes in this complex selector */
    bool space = false;    /* white space since it */
    bool combined = false; /* a combinator since it */
    while (p < end) {
        unsigned char ch = (unsigned char)*p;
        if (is_ws((char)ch)) {
            if (simple) {
                before = true;
                if (simple >= 2) part(arg, CSS_SEL_CHAINING);
                simple = 0;
            }
            space = before;
            p++;
            continue;
        }
        if (at_comment(p, end)) {
            p = skip_comment(p, end);
            continue;
        }
        if (ch == ',' || ch == '>' || ch == '+' || ch == '~') {
            if (simple >= 2) part(arg, CSS_SEL_CHAINING);
            simple = 0;
            if (ch == ',') {
                part(arg, CSS_SEL_GROUPING);
                before = space = combined = false;
            } else {
                part(arg, ch == '>' ? CSS_SEL_CHILD : ch == '+' ? CSS_SEL_ADJACENT : CSS_SEL_SIBLING);
                combined = true;
                before = false;
                space = false;
            }
            p++;
            continue;
        }
        /* a simple selector begins */
        if (!simple) {
            if (space && !combined) part(arg, CSS_SEL_DESCENDANT);
            space = combined = false;
        }
        if (ch == ':') { /* pseudo-class or -element, with its arguments */
            p++;
            if (p < end && *p == ':') p++;
            while (p < end && is_ident_char((unsigned char)*p)) p++;
            if (p < end && *p == '(') {
                int depth = 0;
                while (p < end) {
                    if (*p == '"' || *p == '\'') {
                        p = skip_string(p, end);
                        continue;
                    }
                    if (*p == '(') depth++;
                    else if (*p == ')' && --depth == 0) {
                        p++;
                        break;
                    }
                    p++;
                }
            }
            if (!simple) simple = 1; /* ":hover" alone is a compound, not chaining */
            continue;
        }
        if (ch == '[') {
            part(arg, CSS_SEL_ATTRIBUTE);
            while (p < end && *p != ']') {
                if (*p == '"' || *p == '\'') p = skip_string(p, end);
                else p++;
            }
            if (p < end) p++;
            simple++;
            continue;
        }
        if (ch == '.' || ch == '#') {
            p++;
            const char *t = p;
            while (p < end && (is_ident_char((unsigned char)*p) || *p == '\\')) p += *p == '\\' && p + 1 < end ? 2 : 1;
            if (p > t) {
                part(arg, ch == '.' ? CSS_SEL_CLASS : CSS_SEL_ID);
                simple++;
            }
            continue;
        }
        if (ch == '*') {
            part(arg, CSS_SEL_UNIVERSAL);
            simple++;
            p++;
            continue;
        }
        if (is_ident_start(p, end) || (ch >= '0' && ch <= '9')) {
            while (p < end && (is_ident_char((unsigned char)*p) || *p == '\\')) p += *p == '\\' && p + 1 < end ? 2 : 1;
            if (!simple) part(arg, CSS_SEL_TYPE);
            simple++;
            continue;
        }
        p++;
    }
    if (simple >= 2) part(arg, CSS_SEL_CHAINING);
}
