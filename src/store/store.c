#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "conf/rcptmap.h"

struct store_observer {
    store_observer_fn fn;
    void *arg;
    struct store_observer *next;
};

static int mkdir_all(const char *path) {
    buf_t b = BUF_INIT;
    buf_append_str(&b, path);
    char *p = (char *)buf_cstr(&b);
    int rc = 0;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, 0700) < 0 && errno != EEXIST) rc = -errno;
        *s = '/';
    }
    if (mkdir(p, 0700) < 0 && errno != EEXIST) rc = -errno;
    buf_free(&b);
    return rc;
}

void store_mailbox_path(struct store *s, const char *account, const char *mailbox, buf_t *out) {
    buf_t root = BUF_INIT;
    maildir_account_path(&root, s->data_dir, account);
    maildir_mailbox_path(out, buf_cstr(&root), mailbox);
    buf_free(&root);
}

void store_strv_free(char **v) {
    if (!v) return;
    for (char **p = v; *p; p++) free(*p);
    free(v);
}

static void strv_add(char ***v, size_t *n, const char *s) {
    *v = xrealloc(*v, (*n + 2) * sizeof **v);
    (*v)[(*n)++] = xstrdup(s);
    (*v)[*n] = NULL;
}

char **store_accounts(struct store *s) {
    char **v = xcalloc(1, sizeof *v);
    size_t n = 0;
    DIR *d = opendir(s->data_dir);
    if (!d) return v;
    struct dirent *de;
    buf_t p = BUF_INIT;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || !strcmp(de->d_name, "tls")) continue;
        buf_reset(&p);
        buf_printf(&p, "%s/%s", s->data_dir, de->d_name);
        DIR *dd = opendir(buf_cstr(&p));
        if (!dd) continue;
        struct dirent *ue;
        while ((ue = readdir(dd))) {
            if (ue->d_name[0] == '.') continue;
            buf_t m = BUF_INIT;
            buf_printf(&m, "%s/%s/%s/Maildir/cur", s->data_dir, de->d_name, ue->d_name);
            struct stat st;
            if (stat(buf_cstr(&m), &st) == 0 && S_ISDIR(st.st_mode)) {
                buf_reset(&m);
                buf_printf(&m, "%s@%s", ue->d_name, de->d_name);
                if (rcptmap_account_valid(buf_cstr(&m))) strv_add(&v, &n, buf_cstr(&m));
            }
            buf_free(&m);
        }
        closedir(dd);
    }
    closedir(d);
    buf_free(&p);
    return v;
}

char **store_folders(struct store *s, const char *account) {
    char **v = xcalloc(1, sizeof *v);
    size_t n = 0;
    buf_t root = BUF_INIT;
    maildir_account_path(&root, s->data_dir, account);
    DIR *d = opendir(buf_cstr(&root));
    if (d) {
        struct dirent *de;
        while ((de = readdir(d))) {
            if (de->d_name[0] != '.' || !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
            buf_t p = BUF_INIT;
            buf_printf(&p, "%s/%s/cur", buf_cstr(&root), de->d_name);
            struct stat st;
            if (stat(buf_cstr(&p), &st) == 0 && S_ISDIR(st.st_mode)) strv_add(&v, &n, de->d_name + 1);
            buf_free(&p);
        }
        closedir(d);
    }
    buf_free(&root);
    return v;
}

int store_sync_account(struct store *s, const char *account) {
    int changes = 0;
    buf_t p = BUF_INIT;
    store_mailbox_path(s, account, "INBOX", &p);
    maildir_sweep_tmp(buf_cstr(&p), MAILDIR_TMP_MAX_AGE);
    int rc = index_sync_mailbox(s->idx, account, "INBOX", buf_cstr(&p));
    if (rc > 0) changes += rc;
    char **folders = store_folders(s, account);
    for (char **f = folders; *f; f++) {
        buf_reset(&p);
        store_mailbox_path(s, account, *f, &p);
        maildir_sweep_tmp(buf_cstr(&p), MAILDIR_TMP_MAX_AGE);
        rc = index_sync_mailbox(s->idx, account, *f, buf_cstr(&p));
        if (rc > 0) changes += rc;
    }
    store_strv_free(folders);
    buf_free(&p);
    return changes;
}

struct store *store_open(struct event_base *base, const char *data_dir, const char *hostname, buf_t *err) {
    int rc = mkdir_all(data_dir);
    if (rc < 0) {
        buf_printf(err, "%s: %s", data_dir, strerror(-rc));
        return NULL;
    }
    summary_init();
    struct store *s = xcalloc(1, sizeof *s);
    s->data_dir = xstrdup(data_dir);
    s->hostname = xstrdup(hostname);
    buf_t path = BUF_INIT;
    buf_printf(&path, "%s/index.sqlite", data_dir);
    if (index_open(&s->idx, buf_cstr(&path), err) < 0) {
        buf_free(&path);
        free(s->data_dir);
        free(s->hostname);
        free(s);
        return NULL;
    }
    buf_free(&path);
    char **accounts = store_accounts(s);
    for (char **a = accounts; *a; a++) {
        int n = store_sync_account(s, *a);
        if (n > 0) log_info("store: %s: indexed %d changes found in the Maildir", *a, n);
    }
    store_strv_free(accounts);
    if (base) s->committer = maildir_committer_new(base);
    return s;
}

void store_close(struct store *s) {
    if (!s) return;
    maildir_committer_free(s->committer);
    index_close(s->idx);
    while (s->observers) {
        struct store_observer *o = s->observers;
        s->observers = o->next;
        free(o);
    }
    free(s->data_dir);
    free(s->hostname);
    free(s);
}

void store_subscribe(struct store *s, store_observer_fn fn, void *arg) {
    struct store_observer *o = xcalloc(1, sizeof *o);
    o->fn = fn;
    o->arg = arg;
    o->next = s->observers;
    s->observers = o;
}

void store_unsubscribe(struct store *s, store_observer_fn fn, void *arg) {
    for (struct store_observer **p = &s->observers; *p; p = &(*p)->next) {
        if ((*p)->fn == fn && (*p)->arg == arg) {
            struct store_observer *o = *p;
            *p = o->next;
            free(o);
            return;
        }
    }
}

void store_notify(struct store *s, const struct store_event *ev) {
    struct store_observer *o = s->observers;
    while (o) {
        /* an observer may unsubscribe itself while being called */
        struct store_observer *next = o->next;
        o->fn(ev, o->arg);
        o = next;
    }
}

/* --- delivery ---------------------------------------------------------- */

int store_delivery_begin(struct store *s, struct store_delivery *d, char *const *accounts, size_t n,
                         const char *mail_from, const char *rcpts) {
    memset(d, 0, sizeof *d);
    d->store = s;
    d->n = n;
    d->accounts = xcalloc(n, sizeof *d->accounts);
    d->files = xcalloc(n, sizeof *d->files);
    for (size_t i = 0; i < n; i++) d->files[i].fd = -1;
    d->mail_from = xstrdup(mail_from);
    d->rcpts = xstrdup(rcpts);
    d->internaldate = time(NULL);
    buf_t p = BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        d->accounts[i] = xstrdup(accounts[i]);
        buf_reset(&p);
        store_mailbox_path(s, accounts[i], "INBOX", &p);
        int rc = maildir_file_create(&d->files[i], buf_cstr(&p), s->hostname);
        if (rc < 0) {
            log_error("store: cannot create a message in %s: %s", buf_cstr(&p), strerror(-rc));
            buf_free(&p);
            store_delivery_abort(d);
            return rc;
        }
    }
    buf_free(&p);
    return 0;
}

void store_delivery_write_one(struct store_delivery *d, size_t i, const void *p, size_t len) {
    maildir_file_write(&d->files[i], p, len);
}

void store_delivery_write(struct store_delivery *d, const void *p, size_t len) {
    for (size_t i = 0; i < d->n; i++) maildir_file_write(&d->files[i], p, len);
}

/* Runs on the commit thread once the files are durable in new/. */
static void delivery_analyze(void *arg) {
    struct store_delivery *d = arg;
    summary_from_file(d->files[0].new_path, &d->summary);
}

static void delivery_committed(int result, void *arg) {
    struct store_delivery *d = arg;
    struct store *s = d->store;
    d->result = result;
    if (result == 0) {
        index_begin(s->idx);
        for (size_t i = 0; i < d->n; i++) {
            struct index_mailbox mb;
            if (index_mailbox_get(s->idx, d->accounts[i], "INBOX", true, &mb) < 0) continue;
            const char *base = strrchr(d->files[i].new_path, '/') + 1;
            /* RFC822.SIZE counts CRLF line ends; the file has LF. */
            struct index_new_msg m = {
                .base = base,
                .subdir = "new",
                .internaldate = d->internaldate,
                .size = d->files[i].size + d->files[i].lines,
                .mail_from = d->mail_from,
                .rcpts = d->rcpts,
                .summary = &d->summary,
            };
            uint32_t uid;
            int64_t row;
            if (index_add_message(s->idx, mb.id, &m, &uid, &row) == 0) {
                struct store_event ev = {STORE_EV_NEW, d->accounts[i], mb.id, row, uid};
                store_notify(s, &ev);
            }
            s->delivered++;
            s->delivered_bytes += (uint64_t)d->files[i].size;
        }
        index_commit(s->idx);
    }
    d->done(d, result, d->arg);
}

void store_delivery_commit(struct store_delivery *d, void (*done)(struct store_delivery *d, int result, void *arg),
                           void *arg) {
    d->done = done;
    d->arg = arg;
    struct maildir_file *files[d->n];
    for (size_t i = 0; i < d->n; i++) files[i] = &d->files[i];
    if (d->store->committer) {
        maildir_committer_submit(d->store->committer, files, d->n, delivery_analyze, delivery_committed, d);
        return;
    }
    /* no event loop (tools, tests): commit synchronously */
    int rc = 0;
    for (size_t i = 0; i < d->n && rc == 0; i++) rc = maildir_file_commit(&d->files[i]);
    if (rc == 0) delivery_analyze(d);
    delivery_committed(rc, d);
}

void store_delivery_abort(struct store_delivery *d) {
    for (size_t i = 0; i < d->n; i++)
        if (d->files && (d->files[i].tmp_path || d->files[i].fd >= 0)) maildir_file_abort(&d->files[i]);
    store_delivery_free(d);
}

void store_delivery_free(struct store_delivery *d) {
    for (size_t i = 0; i < d->n; i++) {
        if (d->accounts) free(d->accounts[i]);
        if (d->files) maildir_file_free(&d->files[i]);
    }
    free(d->accounts);
    free(d->files);
    free(d->mail_from);
    free(d->rcpts);
    if (d->summary.subject || d->summary.text) summary_free(&d->summary);
    memset(d, 0, sizeof *d);
}
