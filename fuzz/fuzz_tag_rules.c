/*
 * fuzz_tag_rules - libFuzzer target for Mailpit's tag names and tag filter
 * rules (core/tags.c): tag_clean, the keyword mapping, X-Tags and plus
 * addresses, and tag_rules_parse. Checked: a cleaned tag has only
 * Mailpit's characters, no double or edge space, at most TAG_MAX_LEN
 * bytes, and cleans to itself; its keyword has no space and maps back;
 * every keyword list built holds only such keywords; parsed rules carry
 * non-empty keywords and a lowercased, non-empty query.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/tags.h"

static void check_tag(const char *t) {
    size_t n = strlen(t);
    if (n > TAG_MAX_LEN) abort();
    if (n && (t[0] == ' ' || t[n - 1] == ' ')) abort();
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)t[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-_.@ ", c);
        if (!ok || c == '\0' || (c == ' ' && t[i + 1] == ' ')) abort();
    }
    char *again = tag_clean(t, n);
    if (strcmp(again, t) != 0) abort();
    free(again);
    buf_t k = BUF_INIT;
    tag_to_keyword(t, &k);
    if (memchr(k.data ? k.data : "", ' ', k.len)) abort();
    char *back = tag_from_keyword(k.data ? k.data : "", k.len);
    if (strcmp(back, t) != 0) abort();
    free(back);
    buf_free(&k);
}

static void check_keywords(const char *kw) {
    const char *p = kw;
    while (*p) {
        size_t l = strcspn(p, " ");
        if (l == 0) abort(); /* no empty keyword, no double space */
        char *t = tag_from_keyword(p, l);
        check_tag(t);
        free(t);
        p += l;
        if (*p == ' ') {
            p++;
            if (!*p) abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 4096) return 0;
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    char *t = tag_clean((const char *)data, size);
    check_tag(t);
    free(t);
    buf_t kw = BUF_INIT;
    tags_from_x_tags(&kw, s);
    tags_from_plus_address(&kw, s);
    check_keywords(buf_cstr(&kw));
    buf_free(&kw);
    struct tag_rule *r;
    size_t n;
    buf_t err = BUF_INIT;
    if (tag_rules_parse(s, &r, &n, &err) == 0) {
        for (size_t i = 0; i < n; i++) {
            if (!r[i].keywords[0] || !r[i].match[0]) abort();
            check_keywords(r[i].keywords);
            for (const char *c = r[i].match; *c; c++)
                if (*c >= 'A' && *c <= 'Z') abort();
        }
        tag_rules_free(r, n);
    } else if (!err.len) {
        abort();
    }
    buf_free(&err);
    free(s);
    return 0;
}
