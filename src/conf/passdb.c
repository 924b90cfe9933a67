#include "conf/passdb.h"

#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "core/xalloc.h"

static void entry_add(struct passdb *db, const char *user, size_t ul, const char *scheme, size_t sl,
                      const char *secret, size_t secl) {
    db->v = xrealloc(db->v, (db->n + 1) * sizeof *db->v);
    struct passdb_entry *e = &db->v[db->n++];
    e->user = xstrndup(user, ul);
    e->scheme = xstrndup(scheme, sl);
    for (char *c = e->scheme; *c; c++) *c = (char)toupper((unsigned char)*c);
    e->secret = xstrndup(secret, secl);
}

int passdb_parse(struct passdb *db, const char *name, const char *text, size_t len, buf_t *err) {
    memset(db, 0, sizeof *db);
    size_t pos = 0;
    int lineno = 0;
    while (pos < len) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - line) : len - pos;
        pos += ll + (nl ? 1 : 0);
        lineno++;
        if (memchr(line, '\0', ll)) { /* would silently cut a user or secret short */
            buf_printf(err, "%s:%d: NUL byte in line", name, lineno);
            passdb_free(db);
            return -1;
        }
        while (ll && (line[ll - 1] == '\r' || line[ll - 1] == ' ')) ll--;
        size_t s = 0;
        while (s < ll && (line[s] == ' ' || line[s] == '\t')) s++;
        if (s == ll || line[s] == '#') continue;
        line += s;
        ll -= s;
        const char *colon = memchr(line, ':', ll);
        if (!colon || colon == line) {
            buf_printf(err, "%s:%d: expected user:{SCHEME}password", name, lineno);
            passdb_free(db);
            return -1;
        }
        size_t ul = (size_t)(colon - line);
        const char *pw = colon + 1;
        size_t rest = ll - ul - 1;
        /* the password field ends at the next ':' (extra fields follow) */
        const char *pend = memchr(pw, ':', rest);
        size_t pl = pend ? (size_t)(pend - pw) : rest;
        const char *scheme = "CRYPT";
        size_t scl = 5;
        if (pl > 0 && pw[0] == '{') {
            const char *close = memchr(pw, '}', pl);
            if (!close) {
                buf_printf(err, "%s:%d: unterminated {SCHEME}", name, lineno);
                passdb_free(db);
                return -1;
            }
            scheme = pw + 1;
            scl = (size_t)(close - pw - 1);
            pl -= (size_t)(close - pw) + 1;
            pw = close + 1;
        }
        entry_add(db, line, ul, scheme, scl, pw, pl);
    }
    return 0;
}

int passdb_load(struct passdb *db, const char *path, buf_t *err) {
    buf_t text = BUF_INIT;
    int rc = buf_load_file_or_explain(&text, path, err);
    if (rc == 0) rc = passdb_parse(db, path, text.data ? text.data : "", text.len, err);
    buf_free(&text);
    return rc;
}

void passdb_free(struct passdb *db) {
    for (size_t i = 0; i < db->n; i++) {
        free(db->v[i].user);
        free(db->v[i].scheme);
        OPENSSL_cleanse(db->v[i].secret, strlen(db->v[i].secret));
        free(db->v[i].secret);
    }
    free(db->v);
    memset(db, 0, sizeof *db);
}

const struct passdb_entry *passdb_find(const struct passdb *db, const char *user) {
    for (size_t i = 0; i < db->n; i++)
        if (strcasecmp(db->v[i].user, user) == 0) return &db->v[i];
    return NULL;
}

static bool is_crypt_scheme(const char *s) {
    return !strcmp(s, "CRYPT") || !strcmp(s, "MD5-CRYPT") || !strcmp(s, "SHA256-CRYPT") ||
           !strcmp(s, "SHA512-CRYPT") || !strcmp(s, "BLF-CRYPT") || !strcmp(s, "DES-CRYPT");
}

bool passdb_verify(const struct passdb *db, const char *user, const char *password, size_t password_len) {
    const struct passdb_entry *e = passdb_find(db, user);
    if (!e || password_len > PASSDB_MAX_PASSWORD || memchr(password, '\0', password_len)) return false;
    if (!strcmp(e->scheme, "PLAIN") || !strcmp(e->scheme, "CLEARTEXT")) {
        size_t sl = strlen(e->secret);
        return sl == password_len && CRYPTO_memcmp(e->secret, password, sl) == 0;
    }
    if (is_crypt_scheme(e->scheme)) {
        char *pw = xstrndup(password, password_len);
        struct crypt_data *cd = xcalloc(1, sizeof *cd);
        const char *h = crypt_r(pw, e->secret, cd);
        bool ok = h && h[0] != '*' && strlen(h) == strlen(e->secret) && CRYPTO_memcmp(h, e->secret, strlen(h)) == 0;
        OPENSSL_cleanse(pw, password_len);
        free(pw);
        OPENSSL_cleanse(cd, sizeof *cd);
        free(cd);
        return ok;
    }
    return false;
}

int passdb_hash(const char *scheme, const char *password, buf_t *out) {
    const char *prefix;
    unsigned long rounds = 0;
    if (!strcasecmp(scheme, "SHA512-CRYPT")) prefix = "$6$";
    else if (!strcasecmp(scheme, "SHA256-CRYPT")) prefix = "$5$";
    else if (!strcasecmp(scheme, "BLF-CRYPT")) {
        prefix = "$2b$";
        rounds = 10;
    } else if (!strcasecmp(scheme, "PLAIN")) {
        buf_printf(out, "{PLAIN}%s", password);
        return 0;
    } else {
        return -1;
    }
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    if (!crypt_gensalt_rn(prefix, rounds, NULL, 0, salt, sizeof salt)) return -1;
    struct crypt_data *cd = xcalloc(1, sizeof *cd);
    const char *h = crypt_r(password, salt, cd);
    int rc = -1;
    if (h && h[0] != '*') {
        char up[32];
        size_t i = 0;
        for (; scheme[i] && i < sizeof up - 1; i++) up[i] = (char)toupper((unsigned char)scheme[i]);
        up[i] = '\0';
        buf_printf(out, "{%s}%s", up, h);
        rc = 0;
    }
    OPENSSL_cleanse(cd, sizeof *cd);
    free(cd);
    return rc;
}
