#include "check/links.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <fnmatch.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gumbo.h>

#include "check/html_text.h"
#include "core/xalloc.h"

#define LINKS_MAX_DEPTH 200

static bool is_web(const char *s) {
    return !strncasecmp(s, "http://", 7) || !strncasecmp(s, "https://", 8);
}

static void add(struct links *l, const char *s, size_t n) {
    if (l->n >= LINKS_MAX || n == 0 || n > LINKS_MAX_URL) return;
    for (size_t i = 0; i < l->n; i++)
        if (strlen(l->v[i]) == n && !memcmp(l->v[i], s, n)) return;
    l->v[l->n++] = xstrndup(s, n);
}

static void add_attr(struct links *l, const char *v) {
    while (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r') v++;
    size_t n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\n' || v[n - 1] == '\r')) n--;
    /* control characters and spaces have no place in a URL that is checked */
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x21 || v[i] == 0x7f) return;
    if (is_web(v)) add(l, v, n);
}

/* one selector at a time, in document order, as Mailpit does */
static void walk(const GumboNode *node, GumboTag tag, const char *attr, bool stylesheet, struct links *l, int depth) {
    if (depth > LINKS_MAX_DEPTH || l->n >= LINKS_MAX) return;
    if (node->type != GUMBO_NODE_ELEMENT && node->type != GUMBO_NODE_DOCUMENT) return;
    const GumboVector *children =
        node->type == GUMBO_NODE_DOCUMENT ? &node->v.document.children : &node->v.element.children;
    if (node->type == GUMBO_NODE_ELEMENT && node->v.element.tag == tag) {
        GumboAttribute *a = gumbo_get_attribute(&node->v.element.attributes, attr);
        GumboAttribute *rel = stylesheet ? gumbo_get_attribute(&node->v.element.attributes, "rel") : NULL;
        if (a && (!stylesheet || (rel && !strcasecmp(rel->value, "stylesheet")))) add_attr(l, a->value);
    }
    for (unsigned i = 0; i < children->length; i++) walk(children->data[i], tag, attr, stylesheet, l, depth + 1);
}

void links_from_html(const char *html, size_t len, struct links *out) {
    GumboOptions opts = kGumboDefaultOptions;
    opts.max_errors = 100;
    GumboOutput *g = gumbo_parse_with_options(&opts, html, html_parse_len(html, len, HTML_MAX_TAGS));
    if (!g) return;
    walk(g->document, GUMBO_TAG_A, "href", false, out, 0);
    walk(g->document, GUMBO_TAG_LINK, "href", true, out, 0);
    walk(g->document, GUMBO_TAG_IMG, "src", false, out, 0);
    gumbo_destroy_output(&opts, g);
}

/* RFC 3986 characters Mailpit's text pattern takes */
static bool url_char(unsigned char c) {
    return c && (isalnum(c) || strchr("-_@:%+'!.~#?,&/=;", c) != NULL);
}

void links_from_text(const char *t, size_t len, struct links *out) {
    for (size_t i = 0; i + 7 < len && out->n < LINKS_MAX; i++) {
        size_t rest = len - i;
        size_t skip = rest >= 8 && !strncasecmp(t + i, "https://", 8)  ? 8
                      : rest >= 7 && !strncasecmp(t + i, "http://", 7) ? 7
                                                                       : 0;
        if (!skip || (i > 0 && isalnum((unsigned char)t[i - 1]))) continue;
        size_t e = i + skip;
        while (e < len && url_char((unsigned char)t[e])) e++;
        /* a sentence's full stop or comma is not part of the link */
        while (e > i + skip && strchr(".,;:!?'", t[e - 1])) e--;
        if (e > i + skip) add(out, t + i, e - i);
        i = e;
    }
}

void links_free(struct links *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    l->n = 0;
}

/* "10.0.0.0/8" or "::1" into bytes and a prefix length; false if not a network. */
static bool network(const char *s, int *family, unsigned char addr[16], int *prefix) {
    char tmp[64];
    size_t n = strlen(s);
    if (n >= sizeof tmp) return false;
    memcpy(tmp, s, n + 1);
    char *slash = strchr(tmp, '/');
    if (slash) *slash = '\0';
    if (inet_pton(AF_INET, tmp, addr) == 1) *family = AF_INET, *prefix = 32;
    else if (inet_pton(AF_INET6, tmp, addr) == 1) *family = AF_INET6, *prefix = 128;
    else return false;
    if (slash) {
        char *end;
        long p = strtol(slash + 1, &end, 10);
        if (*end || end == slash + 1 || p < 0 || p > *prefix) return false;
        *prefix = (int)p;
    }
    return true;
}

static bool prefix_equal(const unsigned char *a, const unsigned char *b, int bits) {
    int full = bits / 8, rest = bits % 8;
    if (memcmp(a, b, (size_t)full) != 0) return false;
    if (!rest) return true;
    unsigned char mask = (unsigned char)(0xFF << (8 - rest));
    return (a[full] & mask) == (b[full] & mask);
}

bool links_host_allowed(const char *const *allow, size_t n, const char *host) {
    for (size_t i = 0; i < n; i++) {
        int fam, prefix;
        unsigned char net[16];
        if (network(allow[i], &fam, net, &prefix)) continue; /* checked on the address */
        if (fnmatch(allow[i], host, FNM_CASEFOLD) == 0) return true;
    }
    return false;
}

bool links_addr_allowed(const char *const *allow, size_t n, const struct sockaddr *sa) {
    unsigned char a[16];
    int fam = sa->sa_family;
    if (fam == AF_INET) {
        memcpy(a, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
    } else if (fam == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        /* an IPv4-mapped address is judged as IPv4 */
        if (IN6_IS_ADDR_V4MAPPED(a6)) {
            fam = AF_INET;
            memcpy(a, a6->s6_addr + 12, 4);
        } else {
            memcpy(a, a6->s6_addr, 16);
        }
    } else {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        int nf, prefix;
        unsigned char net[16];
        if (!network(allow[i], &nf, net, &prefix) || nf != fam) continue;
        if (prefix_equal(a, net, prefix)) return true;
    }
    return false;
}
