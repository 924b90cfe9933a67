#include "store/maildir_keywords.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/xalloc.h"
#include "store/maildir.h"

void mdkw_init(struct mdkw *k) {
    memset(k, 0, sizeof *k);
}

void mdkw_free(struct mdkw *k) {
    for (int i = 0; i < MDKW_MAX; i++) free(k->names[i]);
    memset(k, 0, sizeof *k);
}

void mdkw_copy(struct mdkw *dst, const struct mdkw *src) {
    for (int i = 0; i < MDKW_MAX; i++) dst->names[i] = src->names[i] ? xstrdup(src->names[i]) : NULL;
}

bool mdkw_name_valid(const char *name, size_t n) {
    if (n == 0 || n > MDKW_MAX_NAME || name[0] == '\\') return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c <= 0x20 || c == 0x7f || strchr("(){%*\"\\]", c)) return false;
    }
    return true;
}

int mdkw_find(const struct mdkw *k, const char *name, size_t n) {
    for (int i = 0; i < MDKW_MAX; i++)
        if (k->names[i] && strlen(k->names[i]) == n && strncasecmp(k->names[i], name, n) == 0) return i;
    return -1;
}

int mdkw_parse(struct mdkw *k, const char *data, size_t len) {
    mdkw_free(k);
    size_t pos = 0;
    while (pos < len) {
        const char *line = data + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - line) : len - pos;
        pos += ll + (nl ? 1 : 0);
        if (ll && line[ll - 1] == '\r') ll--;
        /* "N name": one or two digits, one space, the name */
        size_t d = 0;
        int idx = 0;
        while (d < ll && d < 3 && line[d] >= '0' && line[d] <= '9') idx = idx * 10 + (line[d++] - '0');
        if (d == 0 || d > 2 || idx >= MDKW_MAX || d >= ll || line[d] != ' ') continue;
        const char *name = line + d + 1;
        size_t nlen = ll - d - 1;
        if (!mdkw_name_valid(name, nlen)) continue;
        int have = mdkw_find(k, name, nlen);
        if (have >= 0 && have != idx) continue; /* one letter per name */
        free(k->names[idx]);
        k->names[idx] = xstrndup(name, nlen);
    }
    int n = 0;
    for (int i = 0; i < MDKW_MAX; i++) n += k->names[i] != NULL;
    return n;
}

void mdkw_format(const struct mdkw *k, buf_t *out) {
    for (int i = 0; i < MDKW_MAX; i++)
        if (k->names[i]) buf_printf(out, "%d %s\n", i, k->names[i]);
}

int mdkw_add(struct mdkw *k, const char *name, size_t n) {
    if (!mdkw_name_valid(name, n)) return -1;
    int i = mdkw_find(k, name, n);
    if (i >= 0) return i;
    for (i = 0; i < MDKW_MAX; i++) {
        if (!k->names[i]) {
            k->names[i] = xstrndup(name, n);
            return i;
        }
    }
    return -1;
}

void mdkw_letters(const struct mdkw *k, const char *keywords, buf_t *out) {
    bool set[MDKW_MAX] = {false};
    const char *p = keywords ? keywords : "";
    while (*p) {
        size_t wl = strcspn(p, " ");
        int i = wl ? mdkw_find(k, p, wl) : -1;
        if (i >= 0) set[i] = true;
        p += wl;
        while (*p == ' ') p++;
    }
    for (int i = 0; i < MDKW_MAX; i++)
        if (set[i]) buf_append_char(out, (char)('a' + i));
}

void mdkw_names(const struct mdkw *k, const char *info, buf_t *out) {
    bool set[MDKW_MAX] = {false};
    for (const char *c = info; *c; c++)
        if (*c >= 'a' && *c <= 'z') set[*c - 'a'] = true;
    for (int i = 0; i < MDKW_MAX; i++) {
        if (!set[i] || !k->names[i]) continue;
        if (out->len) buf_append_char(out, ' ');
        buf_append_str(out, k->names[i]);
    }
}

/* A dovecot-keywords file holds at most 26 short lines; anything much
 * larger is not one. */
#define MDKW_FILE_MAX (64 * 1024)

int mdkw_load(struct mdkw *k, const char *dir) {
    mdkw_free(k);
    buf_t path = BUF_INIT, data = BUF_INIT;
    buf_printf(&path, "%s/" MDKW_FILE, dir);
    int rc = buf_load_file(&data, buf_cstr(&path));
    buf_free(&path);
    if (rc == -ENOENT) rc = 0;
    else if (rc == 0) mdkw_parse(k, data.data ? data.data : "", data.len > MDKW_FILE_MAX ? MDKW_FILE_MAX : data.len);
    buf_free(&data);
    return rc;
}

int mdkw_save(const struct mdkw *k, const char *dir) {
    buf_t lock = BUF_INIT, path = BUF_INIT, text = BUF_INIT;
    buf_printf(&lock, "%s/" MDKW_FILE ".lock", dir);
    buf_printf(&path, "%s/" MDKW_FILE, dir);
    mdkw_format(k, &text);
    /* a lock left by a crash is stale: devmail is the folder's writer
     * (Dovecot removes it the same way before writing) */
    unlink(buf_cstr(&lock));
    int rc = 0;
    int fd = open(buf_cstr(&lock), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) rc = -errno;
    size_t off = 0;
    while (rc == 0 && off < text.len) {
        ssize_t w = write(fd, text.data + off, text.len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) rc = -errno;
        else off += (size_t)w;
    }
    if (rc == 0 && fsync(fd) < 0) rc = -errno;
    if (fd >= 0 && close(fd) < 0 && rc == 0) rc = -errno;
    if (rc == 0 && rename(buf_cstr(&lock), buf_cstr(&path)) < 0) rc = -errno;
    if (rc < 0) unlink(buf_cstr(&lock));
    if (rc == 0) rc = maildir_sync_dir(dir);
    buf_free(&lock);
    buf_free(&path);
    buf_free(&text);
    return rc;
}
