/*
 * tags - Mailpit tag names cleaned and mapped to IMAP keywords (see
 * tags.h). Pure string functions.
 */
#include "core/tags.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xalloc.h"

static bool tag_char(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.' || c == '@';
}

char *tag_clean(const char *s, size_t len) {
    char *out = xmalloc(len + 1);
    size_t o = 0;
    bool space = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (tag_char(c)) {
            if (space && o) out[o++] = ' ';
            space = false;
            out[o++] = (char)c;
        } else {
            space = true; /* invalid characters and white space alike */
        }
    }
    if (o > TAG_MAX_LEN) o = TAG_MAX_LEN;
    while (o && out[o - 1] == ' ') o--; /* a cut may end in a space */
    out[o] = '\0';
    return out;
}

void tag_to_keyword(const char *tag, buf_t *out) {
    for (const char *p = tag; *p; p++) buf_append_char(out, *p == ' ' ? '+' : *p);
}

char *tag_from_keyword(const char *kw, size_t len) {
    char *t = xstrndup(kw, len);
    for (char *p = t; *p; p++)
        if (*p == '+') *p = ' ';
    return t;
}

static bool has_keyword(const char *list, const char *kw, size_t kl) {
    const char *p = list;
    while (*p) {
        size_t l = strcspn(p, " ");
        if (l == kl && !strncasecmp(p, kw, kl)) return true;
        p += l;
        while (*p == ' ') p++;
    }
    return false;
}

void tags_add_keyword(buf_t *kw, const char *s, size_t len) {
    char *t = tag_clean(s, len);
    if (*t) {
        buf_t k = BUF_INIT;
        tag_to_keyword(t, &k);
        if (!has_keyword(buf_cstr(kw), k.data, k.len)) {
            if (kw->len) buf_append_char(kw, ' ');
            buf_append(kw, k.data, k.len);
        }
        buf_free(&k);
    }
    free(t);
}

void tags_from_x_tags(buf_t *kw, const char *value) {
    const char *p = value;
    for (;;) {
        size_t l = strcspn(p, ",");
        tags_add_keyword(kw, p, l);
        if (!p[l]) break;
        p += l + 1;
    }
}

void tags_from_plus_address(buf_t *kw, const char *addr) {
    const char *at = strchr(addr, '@');
    const char *plus = at ? memchr(addr, '+', (size_t)(at - addr)) : NULL;
    if (!plus) return;
    const char *p = plus + 1;
    while (p <= at) {
        size_t l = strcspn(p, "+@");
        if (p + l > at) l = (size_t)(at - p);
        tags_add_keyword(kw, p, l);
        p += l + 1;
    }
}

void tag_rules_free(struct tag_rule *rules, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(rules[i].keywords);
        free(rules[i].match);
        search_query_free(&rules[i].q);
    }
    free(rules);
}

/* One argument of Mailpit's ArgsParser: up to an unquoted space, quotes
 * dropped, trimmed. Advances *p; false at the end. */
static bool next_arg(const char **p, buf_t *out) {
    buf_reset(out);
    const char *s = *p;
    while (*s == ' ') s++;
    if (!*s) return false;
    bool quoted = false;
    for (; *s && (quoted || *s != ' '); s++) {
        if (*s == '"') quoted = !quoted;
        else buf_append_char(out, *s);
    }
    *p = s;
    return true;
}

int tag_rules_parse(const char *spec, struct tag_rule **rules_r, size_t *n_r, buf_t *err) {
    struct tag_rule *v = NULL;
    size_t n = 0, cap = 0;
    buf_t arg = BUF_INIT;
    const char *p = spec ? spec : "";
    int rc = 0;
    while (rc == 0 && next_arg(&p, &arg)) {
        const char *a = buf_cstr(&arg);
        const char *eq = strchr(a, '=');
        if (!eq) {
            buf_printf(err, "tag rule without '=' (use tags=query): %s", a);
            rc = -1;
            break;
        }
        buf_t kw = BUF_INIT;
        for (const char *t = a; t < eq;) {
            size_t l = strcspn(t, ",");
            if (t + l > eq) l = (size_t)(eq - t);
            tags_add_keyword(&kw, t, l);
            t += l + 1;
        }
        const char *m = eq + 1;
        while (*m == ' ' || *m == '\t') m++;
        size_t ml = strlen(m);
        while (ml && (m[ml - 1] == ' ' || m[ml - 1] == '\t')) ml--;
        char *match = xstrndup(m, ml);
        for (char *c = match; *c; c++)
            if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
        struct search_query q = {0};
        if (!*match) {
            buf_printf(err, "tag rule with an empty query: %s", a);
            rc = -1;
        } else if (search_query_parse(match, ml, 0, &q, err) < 0) {
            rc = -1;
        } else if (kw.len == 0) {
            search_query_free(&q); /* no valid tag: Mailpit skips the rule */
        } else {
            if (n == cap) {
                cap = cap ? cap * 2 : 4;
                v = xrealloc(v, cap * sizeof *v);
            }
            v[n].keywords = buf_steal(&kw);
            v[n].match = match;
            v[n].q = q;
            match = NULL;
            n++;
        }
        free(match);
        buf_free(&kw);
    }
    buf_free(&arg);
    if (rc < 0) {
        tag_rules_free(v, n);
        return -1;
    }
    *rules_r = v;
    *n_r = n;
    return 0;
}
