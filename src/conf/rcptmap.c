#include "conf/rcptmap.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xalloc.h"

bool rcptmap_account_valid(const char *account) {
    const char *at = strrchr(account, '@');
    if (!at || at == account || !at[1]) return false;
    if (account[0] == '.' || at[1] == '.') return false;
    for (const char *c = account; *c; c++) {
        unsigned char u = (unsigned char)*c;
        if (u < 0x21 || u == 0x7f || u == '/' || u == '\\') return false;
    }
    if (strstr(account, "..")) return false;
    return strlen(account) <= 320;
}

/* "domain/user/Maildir/" -> "user@domain" */
static char *account_from_path(const char *v, size_t n) {
    const char *slash = memchr(v, '/', n);
    if (!slash) return NULL;
    size_t dl = (size_t)(slash - v);
    const char *u = slash + 1;
    const char *slash2 = memchr(u, '/', n - dl - 1);
    size_t ul = slash2 ? (size_t)(slash2 - u) : n - dl - 1;
    if (dl == 0 || ul == 0) return NULL;
    buf_t b = BUF_INIT;
    buf_append(&b, u, ul);
    buf_append_char(&b, '@');
    buf_append(&b, v, dl);
    char *r = xstrndup_lower(b.data, b.len);
    buf_free(&b);
    return r;
}

int rcptmap_parse(struct rcptmap *m, const char *name, const char *text, size_t len, buf_t *err) {
    memset(m, 0, sizeof *m);
    m->loaded = true;
    size_t pos = 0;
    int lineno = 0;
    while (pos < len) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - line) : len - pos;
        pos += ll + (nl ? 1 : 0);
        lineno++;
        if (memchr(line, '\0', ll)) { /* would silently cut a key or account short */
            buf_printf(err, "%s:%d: NUL byte in line", name, lineno);
            rcptmap_free(m);
            return -1;
        }
        const char *hash = memchr(line, '#', ll);
        if (hash) ll = (size_t)(hash - line);
        size_t i = 0;
        while (i < ll && isspace((unsigned char)line[i])) i++;
        if (i == ll) continue;
        size_t ks = i;
        while (i < ll && !isspace((unsigned char)line[i])) i++;
        size_t ke = i;
        while (i < ll && isspace((unsigned char)line[i])) i++;
        size_t vs = i;
        while (i < ll && !isspace((unsigned char)line[i])) i++;
        size_t ve = i;
        if (vs == ve || !memchr(line + ks, '@', ke - ks)) {
            buf_printf(err, "%s:%d: expected '@domain account' or 'user@domain account'", name, lineno);
            rcptmap_free(m);
            return -1;
        }
        char *account = memchr(line + vs, '/', ve - vs) ? account_from_path(line + vs, ve - vs)
                                                         : xstrndup_lower(line + vs, ve - vs);
        if (!account || !rcptmap_account_valid(account)) {
            buf_printf(err, "%s:%d: bad account '%.*s'", name, lineno, (int)(ve - vs), line + vs);
            free(account);
            rcptmap_free(m);
            return -1;
        }
        m->v = xrealloc(m->v, (m->n + 1) * sizeof *m->v);
        m->v[m->n].key = xstrndup_lower(line + ks, ke - ks);
        m->v[m->n].account = account;
        m->n++;
    }
    return 0;
}

int rcptmap_load(struct rcptmap *m, const char *path, buf_t *err) {
    buf_t text = BUF_INIT;
    int rc = buf_load_file_or_explain(&text, path, err);
    if (rc == 0) rc = rcptmap_parse(m, path, text.data ? text.data : "", text.len, err);
    buf_free(&text);
    return rc;
}

void rcptmap_free(struct rcptmap *m) {
    for (size_t i = 0; i < m->n; i++) {
        free(m->v[i].key);
        free(m->v[i].account);
    }
    free(m->v);
    memset(m, 0, sizeof *m);
}

const char *rcptmap_lookup(const struct rcptmap *m, const char *addr) {
    for (size_t i = 0; i < m->n; i++)
        if (strcasecmp(m->v[i].key, addr) == 0) return m->v[i].account;
    const char *at = strrchr(addr, '@');
    if (!at) return NULL;
    for (size_t i = 0; i < m->n; i++)
        if (m->v[i].key[0] == '@' && strcasecmp(m->v[i].key, at) == 0) return m->v[i].account;
    return NULL;
}

int rcptmap_route(const struct rcptmap *m, char *const *domains, size_t ndomains, const char *default_account,
                  const char *addr, char **account, buf_t *reply) {
    const char *domain = strrchr(addr, '@');
    domain = domain ? domain + 1 : "";
    if (ndomains == 0) {
        const char *a = m ? rcptmap_lookup(m, addr) : NULL;
        *account = xstrdup_lower(a ? a : default_account);
        return 0;
    }
    bool served = false;
    for (size_t i = 0; i < ndomains; i++)
        if (strcasecmp(domains[i], domain) == 0) served = true;
    if (!served) {
        buf_printf(reply, "554 5.7.1 <%s>: Relay access denied", addr);
        return -1;
    }
    if (m && m->loaded) {
        const char *a = rcptmap_lookup(m, addr);
        if (!a) {
            buf_printf(reply, "550 5.1.1 <%s>: Recipient address rejected: User unknown in virtual mailbox table",
                       addr);
            return -1;
        }
        *account = xstrdup_lower(a);
        return 0;
    }
    char *acc = xstrdup_lower(addr);
    if (!rcptmap_account_valid(acc)) {
        free(acc);
        buf_printf(reply, "550 5.1.1 <%s>: Recipient address rejected: unusable mailbox name", addr);
        return -1;
    }
    *account = acc;
    return 0;
}
