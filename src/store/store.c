#include "store/store.h"
#include "store/store_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <glib.h>

#include "core/invariant.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "conf/rcptmap.h"
#include "core/tags.h"
#include "store/tag_filter.h"
#include "store/sort.h"
#include "store/maildir_keywords.h"
#include "store/store_watch.h"

/* SQLite page cache of the commit thread's connection, in KiB. */
#define STORE_COMMIT_CACHE_KB 1024

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

/* --- knowing when a Maildir changed ------------------------------------
 * A rescan of a large mailbox costs a readdir of thousands of names, so
 * each mailbox remembers the mtimes of new/ and cur/ when the index last
 * matched it. devmail's own changes (deliveries, flag renames, expunges,
 * copies) keep the index in step, so after each of them the mtimes are
 * recorded again, if they matched before; only changes by other programs
 * then cause a rescan. */

struct store_dircache {
    GHashTable *map; /* mailbox path -> struct dir_stamp */
};

struct dir_stamp {
    int64_t mnew, mcur;
};

static void dir_stamp_read(const char *path, struct dir_stamp *st) {
    buf_t p = BUF_INIT;
    struct stat sb;
    buf_printf(&p, "%s/new", path);
    st->mnew = stat(buf_cstr(&p), &sb) == 0 ? (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec : -1;
    buf_reset(&p);
    buf_printf(&p, "%s/cur", path);
    st->mcur = stat(buf_cstr(&p), &sb) == 0 ? (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec : -1;
    buf_free(&p);
}

static GHashTable *dircache_map(struct store *s) {
    if (!s->dircache) {
        s->dircache = xcalloc(1, sizeof *s->dircache);
        s->dircache->map = g_hash_table_new_full(g_str_hash, g_str_equal, free, free);
    }
    return s->dircache->map;
}

/* Before an own change: is the mailbox known to be in sync? */
static bool dircache_in_sync(struct store *s, const char *path) {
    struct dir_stamp *known = g_hash_table_lookup(dircache_map(s), path);
    if (!known) return false;
    struct dir_stamp now;
    dir_stamp_read(path, &now);
    return now.mnew == known->mnew && now.mcur == known->mcur;
}

static void dircache_record(struct store *s, const char *path) {
    struct dir_stamp *st = xmalloc(sizeof *st);
    dir_stamp_read(path, st);
    g_hash_table_replace(dircache_map(s), xstrdup(path), st);
}

/* --- keywords in file names ----------------------------------------------
 * Keywords (and API tags) are kept in the Maildir as Dovecot keeps them
 * (maildir_keywords.h): a letter a-z per keyword after the standard flags
 * in the file name, named in the folder's dovecot-keywords. Each folder's
 * file is read once and again only when it changes (stat). */

struct store_kwcache {
    /* the event loop and the commit thread (deliveries tagged by the tag
     * filters) both name keywords: one at a time, so that two writers never
     * give out the same letter */
    pthread_mutex_t lock;
    GHashTable *map; /* folder path -> struct kw_entry */
};

struct kw_entry {
    int64_t mtime_ns, ino, size; /* of the file when read; -1: missing */
    struct mdkw k;
};

static void kw_entry_free(gpointer p) {
    struct kw_entry *e = p;
    mdkw_free(&e->k);
    free(e);
}

static void kw_stamp(const char *dir, struct kw_entry *e) {
    buf_t p = BUF_INIT;
    buf_printf(&p, "%s/" MDKW_FILE, dir);
    struct stat st;
    if (stat(buf_cstr(&p), &st) == 0) {
        e->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
        e->ino = (int64_t)st.st_ino;
        e->size = (int64_t)st.st_size;
    } else {
        e->mtime_ns = e->ino = e->size = -1;
    }
    buf_free(&p);
}

/* The folder's keyword letters as its dovecot-keywords says now. */
static void kwcache_new(struct store *s) {
    s->kwcache = xcalloc(1, sizeof *s->kwcache);
    pthread_mutex_init(&s->kwcache->lock, NULL);
    s->kwcache->map = g_hash_table_new_full(g_str_hash, g_str_equal, free, kw_entry_free);
}

/* Called with kwcache->lock held. */
static const struct mdkw *folder_keywords(struct store *s, const char *dir) {
    struct kw_entry now;
    kw_stamp(dir, &now);
    struct kw_entry *e = g_hash_table_lookup(s->kwcache->map, dir);
    if (e && e->mtime_ns == now.mtime_ns && e->ino == now.ino && e->size == now.size) return &e->k;
    e = xcalloc(1, sizeof *e);
    *e = now;
    mdkw_init(&e->k);
    if (now.ino >= 0 && mdkw_load(&e->k, dir) < 0)
        log_warn("store: %s/" MDKW_FILE " cannot be read; its keywords are not in file names", dir);
    g_hash_table_replace(s->kwcache->map, xstrdup(dir), e);
    return &e->k;
}

/* Append a file's Maildir info ":2,<flags><keyword letters>" for the
 * folder at dir. With assign, keywords without a letter get one first,
 * and the folder's dovecot-keywords is written durably before any file
 * name uses it; a folder with all 26 letters used (or a file that cannot
 * be written) keeps the rest in the index only. */
static void folder_info(struct store *s, const char *dir, int flags, const char *keywords, bool assign, buf_t *out) {
    buf_append_str(out, ":2,");
    index_flags_to_info(flags & 0x1f, out);
    if (!keywords || !*keywords) return;
    pthread_mutex_lock(&s->kwcache->lock);
    const struct mdkw *k = folder_keywords(s, dir);
    if (assign) {
        struct mdkw more;
        mdkw_init(&more);
        mdkw_copy(&more, k);
        bool added = false;
        for (const char *p = keywords; *p;) {
            size_t wl = strcspn(p, " ");
            if (wl && mdkw_find(&more, p, wl) < 0 && mdkw_add(&more, p, wl) >= 0) added = true;
            p += wl;
            while (*p == ' ') p++;
        }
        if (added) {
            int rc = mdkw_save(&more, dir);
            if (rc < 0) log_warn("store: cannot write %s/" MDKW_FILE ": %s", dir, strerror(-rc));
            k = folder_keywords(s, dir);
        }
        mdkw_free(&more);
    }
    mdkw_letters(k, keywords, out);
    pthread_mutex_unlock(&s->kwcache->lock);
}

int store_sync_mailbox(struct store *s, const char *account, const char *mailbox) {
    /* still being indexed from start: the background indexing does it */
    if (!store_mailbox_ready(s, account, mailbox)) return 0;
    buf_t p = BUF_INIT;
    store_mailbox_path(s, account, mailbox, &p);
    if (dircache_in_sync(s, buf_cstr(&p))) {
        buf_free(&p);
        return 0;
    }
    int changes = index_sync_mailbox(s->idx, account, mailbox, buf_cstr(&p));
    if (changes >= 0) dircache_record(s, buf_cstr(&p));
    buf_free(&p);
    struct index_mailbox mb;
    if (changes > 0 && index_mailbox_get(s->idx, account, mailbox, false, &mb) == 0) {
        /* every session showing this mailbox must learn of it, not only
         * the one whose command happened to look first */
        struct store_event ev = {STORE_EV_CHANGED, account, mb.id, 0, 0, NULL, NULL, NULL, NULL, false};
        store_notify(s, &ev);
    }
    return changes;
}

int store_sync_account(struct store *s, const char *account) {
    char **mailboxes = store_folders(s, account);
    int changes = 0;
    buf_t p = BUF_INIT;
    for (char **f = NULL; !f || *f; f = f ? f + 1 : mailboxes) {
        const char *name = f ? *f : "INBOX";
        buf_reset(&p);
        store_mailbox_path(s, account, name, &p);
        maildir_sweep_tmp(buf_cstr(&p), MAILDIR_TMP_MAX_AGE);
        int rc = store_sync_mailbox(s, account, name);
        if (rc > 0) changes += rc;
    }
    store_strv_free(mailboxes);
    buf_free(&p);
    return changes;
}

static void commit_batch_begin(void *arg);
static void commit_batch_end(void *arg);
static bool commit_idle(void *arg);

/* Every few seconds: space freed by deletions goes back to the file system
 * (at most STORE_MAINTAIN_PAGES pages a turn, so the loop is not held). */
#define STORE_MAINTAIN_SECONDS 2
#define STORE_MAINTAIN_PAGES 2048

/* While a full-text merge is under way, its next step comes this soon. */
#define STORE_MAINTAIN_STEP_MS 50

static void maintain_cb(evutil_socket_t fd, short what, void *arg) {
    struct store *s = arg;
    index_maintain(s->idx, STORE_MAINTAIN_PAGES);
    if (index_maintain_pending(s->idx) && !evtimer_pending(s->maintain_step, NULL)) {
        struct timeval tv = {0, STORE_MAINTAIN_STEP_MS * 1000};
        evtimer_add(s->maintain_step, &tv);
    }
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
    bool rebuilt = false;
    if (index_open_checked(&s->idx, buf_cstr(&path), &rebuilt, err) < 0) {
        buf_free(&path);
        free(s->data_dir);
        free(s->hostname);
        free(s);
        return NULL;
    }
    buf_free(&path);
    kwcache_new(s);
    store_watches_init(s, base);
    /* rows indexed before SORT/THREAD keys existed (once, at open); rows
     * added by the start-up indexing get theirs as they are indexed */
    store_sort_keys_fill(s);
    if (base) {
        /* the commit thread indexes deliveries on a connection of its own */
        buf_t cpath = BUF_INIT;
        buf_printf(&cpath, "%s/index.sqlite", data_dir);
        if (index_open(&s->commit_idx, buf_cstr(&cpath), err) < 0) {
            buf_free(&cpath);
            store_close(s);
            return NULL;
        }
        /* it appends: a small cache keeps ingest memory low */
        index_set_cache_kb(s->commit_idx, STORE_COMMIT_CACHE_KB);
        buf_free(&cpath);
        s->committer = maildir_committer_new(base);
        maildir_committer_set_batch_hooks(s->committer, commit_batch_begin, commit_batch_end, s);
        maildir_committer_set_idle_hook(s->committer, commit_idle, s);
        s->maintain = event_new(base, -1, EV_PERSIST, maintain_cb, s);
        s->maintain_step = evtimer_new(base, maintain_cb, s);
        struct timeval tv = {STORE_MAINTAIN_SECONDS, 0};
        event_add(s->maintain, &tv);
    }
    /* what the Maildirs hold: in the background with a loop, so the
     * listeners open at once however much there is */
    store_warmup_start(s, base);
    if (rebuilt) log_info("store: the index is rebuilt from the Maildir%s", base ? " (in the background)" : "");
    return s;
}

bool store_index_writable(const struct store *s) {
    return !index_write_failed(s->idx) && !(s->commit_idx && index_write_failed(s->commit_idx));
}

int store_set_tag_rules(struct store *s, const char *spec, buf_t *err) {
    struct tag_rule *r;
    size_t n;
    if (tag_rules_parse(spec, &r, &n, err) < 0) return -1;
    tag_rules_free(s->tag_rules, s->ntag_rules);
    s->tag_rules = r;
    s->ntag_rules = n;
    return 0;
}

void store_close(struct store *s) {
    if (!s) return;
    store_warmup_free(s);
    tag_rules_free(s->tag_rules, s->ntag_rules);
    if (s->maintain) event_free(s->maintain);
    if (s->maintain_step) event_free(s->maintain_step);
    maildir_committer_free(s->committer);
    store_watches_free(s); /* their statements are on commit_idx */
    index_close(s->commit_idx);
    index_close(s->idx);
    while (s->observers) {
        struct store_observer *o = s->observers;
        s->observers = o->next;
        free(o);
    }
    if (s->dircache) {
        g_hash_table_destroy(s->dircache->map);
        free(s->dircache);
    }
    if (s->kwcache) {
        g_hash_table_destroy(s->kwcache->map);
        pthread_mutex_destroy(&s->kwcache->lock);
        free(s->kwcache);
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

const void *store_origin_begin(struct store *s, const void *origin) {
    const void *prev = s->origin;
    s->origin = origin;
    return prev;
}

void store_origin_end(struct store *s, const void *prev) {
    s->origin = prev;
}

void store_notify(struct store *s, const struct store_event *ev) {
    struct store_event e = *ev;
    if (!e.origin) e.origin = s->origin;
    struct store_observer *o = s->observers;
    while (o) {
        /* an observer may unsubscribe itself while being called */
        struct store_observer *next = o->next;
        o->fn(&e, o->arg);
        o = next;
    }
}

/* --- messages -------------------------------------------------------- */

static const char *const msg_select =
    "SELECT m.id, m.mailbox_id, m.uid, b.account, b.name, m.base, m.subdir, m.api_id, m.flags, m.keywords,"
    " m.size, m.internaldate, m.modseq FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id ";

static char *locate_file(struct store *s, const struct store_msg *m);

static int msg_load(struct store *s, sqlite3_stmt *st, struct store_msg *out) {
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        index_stmt_done(s->idx, st);
        return -1;
    }
    memset(out, 0, sizeof *out);
    out->row = sqlite3_column_int64(st, 0);
    out->mailbox_id = sqlite3_column_int64(st, 1);
    out->uid = (uint32_t)sqlite3_column_int64(st, 2);
    out->account = xstrdup((const char *)sqlite3_column_text(st, 3));
    out->mailbox = xstrdup((const char *)sqlite3_column_text(st, 4));
    const char *base = (const char *)sqlite3_column_text(st, 5);
    const char *subdir = (const char *)sqlite3_column_text(st, 6);
    out->api_id = xstrdup((const char *)sqlite3_column_text(st, 7));
    out->flags = sqlite3_column_int(st, 8);
    out->keywords = xstrdup((const char *)sqlite3_column_text(st, 9));
    out->size = sqlite3_column_int64(st, 10);
    out->internaldate = sqlite3_column_int64(st, 11);
    out->modseq = (uint64_t)sqlite3_column_int64(st, 12);
    buf_t dir = BUF_INIT, p = BUF_INIT;
    store_mailbox_path(s, out->account, out->mailbox, &dir);
    buf_printf(&p, "%s/%s/%s", buf_cstr(&dir), subdir, base);
    bool in_cur = strcmp(subdir, "cur") == 0;
    if (in_cur) folder_info(s, buf_cstr(&dir), out->flags, out->keywords, false, &p);
    out->path = buf_steal(&p);
    buf_free(&dir);
    index_stmt_done(s->idx, st); /* base and subdir are gone with it */
    if (in_cur && access(out->path, F_OK) < 0) {
        /* named otherwise by another program (a keyword letter devmail
         * does not know, flags changed meanwhile): find it by its base */
        char *found = locate_file(s, out);
        if (found) {
            free(out->path);
            out->path = found;
        }
    }
    return 0;
}

int store_msg_get(struct store *s, int64_t row, struct store_msg *out) {
    sqlite3_stmt *st;
    buf_t q = BUF_INIT;
    buf_printf(&q, "%sWHERE m.id = ?", msg_select);
    st = index_stmt(s->idx, buf_cstr(&q));
    buf_free(&q);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, row);
    return msg_load(s, st, out);
}

int store_msg_find_api_id(struct store *s, const char *api_id, struct store_msg *out) {
    sqlite3_stmt *st;
    buf_t q = BUF_INIT;
    buf_printf(&q, "%sWHERE m.api_id = ? ORDER BY m.id LIMIT 1", msg_select);
    st = index_stmt(s->idx, buf_cstr(&q));
    buf_free(&q);
    if (!st) return -1;
    sqlite3_bind_text(st, 1, api_id, -1, SQLITE_TRANSIENT);
    return msg_load(s, st, out);
}

void store_msg_free(struct store_msg *m) {
    free(m->account);
    free(m->mailbox);
    free(m->path);
    free(m->api_id);
    free(m->keywords);
    memset(m, 0, sizeof *m);
}

/* The file behind a row may have been renamed by another program
 * (mutt changing flags): find it by its base name in new/ or cur/. */
static char *locate_file(struct store *s, const struct store_msg *m) {
    if (access(m->path, F_OK) == 0) return xstrdup(m->path);
    buf_t dir = BUF_INIT;
    store_mailbox_path(s, m->account, m->mailbox, &dir);
    const char *slash = strrchr(m->path, '/');
    const char *base = slash + 1;
    size_t bl = strcspn(base, ":");
    char *found = NULL;
    static const char *const subs[] = {"new", "cur"};
    for (int i = 0; i < 2 && !found; i++) {
        buf_t p = BUF_INIT;
        buf_printf(&p, "%s/%s", buf_cstr(&dir), subs[i]);
        DIR *d = opendir(buf_cstr(&p));
        if (d) {
            struct dirent *de;
            while ((de = readdir(d))) {
                if (!strncmp(de->d_name, base, bl) && (de->d_name[bl] == '\0' || de->d_name[bl] == ':')) {
                    buf_printf(&p, "/%s", de->d_name);
                    found = buf_steal(&p);
                    break;
                }
            }
            closedir(d);
        }
        buf_free(&p);
    }
    buf_free(&dir);
    return found;
}

static int set_flags_in_files(struct store *s, struct store_msg *mp, int64_t row, int flags, const char *keywords,
                              uint64_t *modseq_out);

/* Path of a message's mailbox, and whether it was in sync before. */
static bool own_change_begin(struct store *s, const char *account, const char *mailbox, buf_t *path) {
    store_mailbox_path(s, account, mailbox, path);
    return dircache_in_sync(s, buf_cstr(path));
}

static void own_change_end(struct store *s, bool was_in_sync, buf_t *path) {
    if (was_in_sync) dircache_record(s, buf_cstr(path));
    buf_free(path);
}

int store_set_flags(struct store *s, int64_t row, int flags, const char *keywords) {
    struct store_msg m;
    if (store_msg_get(s, row, &m) < 0) return -ENOENT;
    buf_t own = BUF_INIT;
    bool in_sync = own_change_begin(s, m.account, m.mailbox, &own);
    int rc = set_flags_in_files(s, &m, row, flags, keywords, NULL);
    own_change_end(s, in_sync, &own);
    store_msg_free(&m);
    return rc;
}

/* Whether a space separated keyword list holds k (case-insensitive). */
static bool kw_has(const char *list, const char *k, size_t kl) {
    const char *p = list;
    while (p && *p) {
        const char *sp = strchr(p, ' ');
        size_t wl = sp ? (size_t)(sp - p) : strlen(p);
        if (wl == kl && !strncasecmp(p, k, kl)) return true;
        p = sp ? sp + 1 : NULL;
    }
    return false;
}

/* Append the words of list to out, those in skip left out, each once. */
static void kw_merge(buf_t *out, const char *list, const char *skip) {
    const char *p = list;
    while (p && *p) {
        const char *sp = strchr(p, ' ');
        size_t wl = sp ? (size_t)(sp - p) : strlen(p);
        if (wl && !kw_has(skip, p, wl) && !kw_has(buf_cstr(out), p, wl)) {
            if (out->len) buf_append_char(out, ' ');
            buf_append(out, p, wl);
        }
        p = sp ? sp + 1 : NULL;
    }
}

int store_update_flags(struct store *s, int64_t row, enum store_flags_op op, int flags, const char *keywords,
                       const uint64_t *unchangedsince, struct store_flags *out) {
    if (out) memset(out, 0, sizeof *out);
    if (!keywords) keywords = "";
    index_begin(s->idx);
    struct store_msg m;
    if (store_msg_get(s, row, &m) < 0) {
        index_commit(s->idx);
        return -ENOENT;
    }
    int rc = 0;
    int nf = m.flags;
    buf_t nkw = BUF_INIT;
    if (unchangedsince && m.modseq > *unchangedsince) {
        rc = STORE_FLAGS_MODIFIED;
        buf_append_str(&nkw, m.keywords);
    } else {
        switch (op) {
        case STORE_FLAGS_ADD:
            nf = m.flags | flags;
            kw_merge(&nkw, m.keywords, "");
            kw_merge(&nkw, keywords, "");
            break;
        case STORE_FLAGS_REMOVE:
            nf = m.flags & ~flags;
            kw_merge(&nkw, m.keywords, keywords);
            break;
        case STORE_FLAGS_REPLACE:
            nf = flags;
            kw_merge(&nkw, keywords, "");
            break;
        }
        nf &= 0x1f;
        if (nf != m.flags || strcmp(buf_cstr(&nkw), m.keywords) != 0) {
            buf_t own = BUF_INIT;
            bool in_sync = own_change_begin(s, m.account, m.mailbox, &own);
            rc = set_flags_in_files(s, &m, row, nf, buf_cstr(&nkw), &m.modseq);
            own_change_end(s, in_sync, &own);
        }
    }
    index_commit(s->idx);
    if (rc >= 0 && out) {
        out->flags = rc == STORE_FLAGS_MODIFIED ? m.flags : nf;
        out->keywords = buf_steal(&nkw);
        out->modseq = m.modseq;
    }
    buf_free(&nkw);
    store_msg_free(&m);
    return rc;
}

void store_update_flags_set(struct store *s, const int64_t *rows, size_t n, enum store_flags_op op, int flags,
                            const char *keywords, const uint64_t *unchangedsince, int *rcs, struct store_flags *out) {
    index_begin(s->idx);
    for (size_t i = 0; i < n; i++)
        rcs[i] = store_update_flags(s, rows[i], op, flags, keywords, unchangedsince, out ? &out[i] : NULL);
    index_commit(s->idx);
}

void store_flags_free(struct store_flags *f) {
    free(f->keywords);
    memset(f, 0, sizeof *f);
}

static int set_flags_in_files(struct store *s, struct store_msg *mp, int64_t row, int flags,
                              const char *keywords, uint64_t *modseq_out) {
    struct store_msg m = *mp;
    char *cur = locate_file(s, &m);
    if (!cur) return -ENOENT;
    const char *slash = strrchr(m.path, '/');
    size_t bl = strcspn(slash + 1, ":");
    buf_t dir = BUF_INIT, dst = BUF_INIT;
    store_mailbox_path(s, m.account, m.mailbox, &dir);
    buf_printf(&dst, "%s/cur/%.*s", buf_cstr(&dir), (int)bl, slash + 1);
    folder_info(s, buf_cstr(&dir), flags, keywords ? keywords : m.keywords, true, &dst);
    buf_free(&dir);
    /* The order, and what a crash between the steps leaves: (1) a new
     * keyword's letter is written to dovecot-keywords (synced), (2) the
     * file is renamed, (3) the row is updated in the caller's index
     * transaction. The rename is the change: a crash after it and before
     * the commit leaves the new name, and the next start (which compares
     * every mailbox with its Maildir) takes flags and keywords from it; a
     * crash before it leaves the old state everywhere, at most with an
     * unused letter in dovecot-keywords. */
    if (strcmp(cur, buf_cstr(&dst)) != 0 && rename(cur, buf_cstr(&dst)) < 0) {
        int rc = -errno;
        free(cur);
        buf_free(&dst);
        return rc;
    }
    free(cur);
    buf_free(&dst);
    uint64_t modseq = index_next_modseq(s->idx, m.mailbox_id);
    sqlite3_stmt *st = index_stmt(
        s->idx, "UPDATE messages SET subdir='cur', flags=?, keywords=coalesce(?, keywords), modseq=? WHERE id=?");
    if (!st) return -EIO;
    sqlite3_bind_int(st, 1, flags & 0x1f);
    if (keywords) sqlite3_bind_text(st, 2, keywords, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(st, 2);
    sqlite3_bind_int64(st, 3, (int64_t)modseq);
    sqlite3_bind_int64(st, 4, row);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
    index_stmt_done(s->idx, st);
    if (rc == 0 && modseq_out) *modseq_out = modseq;
    if (rc == 0) {
        struct store_event ev = {STORE_EV_UPDATE, m.account, m.mailbox_id, row, m.uid, m.api_id,
                                 NULL, NULL, NULL, false};
        store_notify(s, &ev);
    }
    return rc;
}

int store_expunge(struct store *s, int64_t row) {
    struct store_msg m;
    if (store_msg_get(s, row, &m) < 0) return -ENOENT;
    buf_t own = BUF_INIT;
    bool in_sync = own_change_begin(s, m.account, m.mailbox, &own);
    char *cur = locate_file(s, &m);
    if (cur && unlink(cur) < 0 && errno != ENOENT) {
        int rc = -errno;
        free(cur);
        buf_free(&own);
        store_msg_free(&m);
        return rc;
    }
    free(cur);
    index_delete_message(s->idx, row);
    own_change_end(s, in_sync, &own);
    struct store_event ev = {STORE_EV_EXPUNGE, m.account, m.mailbox_id, row, m.uid, m.api_id, NULL, NULL, NULL, false};
    store_notify(s, &ev);
    store_msg_free(&m);
    return 0;
}

size_t store_expunge_deleted(struct store *s, const int64_t *rows, size_t n) {
    size_t done = 0;
    index_begin(s->idx);
    for (size_t i = 0; i < n; i++) {
        struct store_msg m;
        if (store_msg_get(s, rows[i], &m) < 0) continue; /* gone already */
        bool deleted = (m.flags & MSG_DELETED) != 0;
        store_msg_free(&m);
        if (deleted && store_expunge(s, rows[i]) == 0) done++;
    }
    index_commit(s->idx);
    return done;
}

size_t store_expunge_set(struct store *s, const int64_t *rows, size_t n) {
    size_t done = 0;
    index_begin(s->idx);
    for (size_t i = 0; i < n; i++)
        if (store_expunge(s, rows[i]) == 0) done++;
    index_commit(s->idx);
    return done;
}

int store_mailbox_create(struct store *s, const char *account, const char *mailbox) {
    buf_t p = BUF_INIT;
    store_mailbox_path(s, account, mailbox, &p);
    int rc = maildir_ensure(buf_cstr(&p));
    if (rc == 0 && strcasecmp(mailbox, "INBOX") != 0) {
        /* Maildir++: a folder is marked by this file (Courier, Dovecot) */
        buf_append_str(&p, "/maildirfolder");
        FILE *fp = fopen(buf_cstr(&p), "a");
        if (fp) fclose(fp);
    }
    buf_free(&p);
    struct index_mailbox mb;
    if (rc == 0 && index_mailbox_get(s->idx, account, mailbox, true, &mb) < 0) rc = -EIO;
    if (rc == 0) {
        struct store_event ev = {STORE_EV_MAILBOX, account, mb.id, 0, 0, NULL, NULL, mailbox, NULL, false};
        store_notify(s, &ev);
    }
    return rc;
}

static int remove_tree(const char *path) {
    DIR *d = opendir(path);
    if (!d) return unlink(path) == 0 || errno == ENOENT ? 0 : -errno;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        buf_t p = BUF_INIT;
        buf_printf(&p, "%s/%s", path, de->d_name);
        struct stat st;
        if (lstat(buf_cstr(&p), &st) == 0 && S_ISDIR(st.st_mode)) rc = remove_tree(buf_cstr(&p));
        else if (unlink(buf_cstr(&p)) < 0) rc = -errno;
        buf_free(&p);
    }
    closedir(d);
    if (rmdir(path) < 0 && rc == 0) rc = -errno;
    return rc;
}

int store_mailbox_delete(struct store *s, const char *account, const char *mailbox) {
    if (strcasecmp(mailbox, "INBOX") == 0) return -EPERM;
    struct index_mailbox mb;
    if (index_mailbox_get(s->idx, account, mailbox, false, &mb) < 0) return -ENOENT;
    buf_t p = BUF_INIT;
    store_mailbox_path(s, account, mailbox, &p);
    int rc = remove_tree(buf_cstr(&p));
    buf_free(&p);
    sqlite3_stmt *st;
    index_begin(s->idx);
    sqlite3_prepare_v2(index_db(s->idx), "DELETE FROM messages_fts WHERE rowid IN (SELECT id FROM messages WHERE mailbox_id=?)", -1, &st, NULL);
    sqlite3_bind_int64(st, 1, mb.id);
    sqlite3_step(st);
    sqlite3_finalize(st);
    sqlite3_prepare_v2(index_db(s->idx), "DELETE FROM fts_queue WHERE rowid IN (SELECT id FROM messages WHERE mailbox_id=?)", -1, &st, NULL);
    sqlite3_bind_int64(st, 1, mb.id);
    sqlite3_step(st);
    sqlite3_finalize(st);
    sqlite3_prepare_v2(index_db(s->idx), "DELETE FROM messages WHERE mailbox_id=?", -1, &st, NULL);
    sqlite3_bind_int64(st, 1, mb.id);
    sqlite3_step(st);
    sqlite3_finalize(st);
    sqlite3_prepare_v2(index_db(s->idx), "DELETE FROM mailboxes WHERE id=?", -1, &st, NULL);
    sqlite3_bind_int64(st, 1, mb.id);
    sqlite3_step(st);
    sqlite3_finalize(st);
    index_commit(s->idx);
    struct store_event ev = {STORE_EV_MAILBOX, account, mb.id, 0, 0, NULL, NULL, mailbox, NULL, true};
    store_notify(s, &ev);
    return rc;
}

int store_mailbox_rename(struct store *s, const char *account, const char *from, const char *to) {
    struct index_mailbox mb, other;
    if (index_mailbox_get(s->idx, account, from, false, &mb) < 0) return -ENOENT;
    if (index_mailbox_get(s->idx, account, to, false, &other) == 0) return -EEXIST;
    buf_t a = BUF_INIT, b = BUF_INIT;
    store_mailbox_path(s, account, from, &a);
    store_mailbox_path(s, account, to, &b);
    int rc = 0;
    if (strcasecmp(from, "INBOX") == 0) {
        /* RFC 3501: renaming INBOX moves its messages to a new folder */
        rc = store_mailbox_create(s, account, to);
        if (rc == 0) {
            sqlite3_stmt *st;
            sqlite3_prepare_v2(index_db(s->idx), "SELECT id FROM messages WHERE mailbox_id=?", -1, &st, NULL);
            sqlite3_bind_int64(st, 1, mb.id);
            GArray *rows = g_array_new(FALSE, FALSE, sizeof(int64_t));
            while (sqlite3_step(st) == SQLITE_ROW) {
                int64_t r = sqlite3_column_int64(st, 0);
                g_array_append_val(rows, r);
            }
            sqlite3_finalize(st);
            for (guint i = 0; i < rows->len; i++) {
                int64_t r = g_array_index(rows, int64_t, i);
                if (store_copy(s, r, to, NULL, NULL) == 0) store_expunge(s, r);
            }
            g_array_free(rows, TRUE);
        }
    } else if (rename(buf_cstr(&a), buf_cstr(&b)) < 0) {
        rc = -errno;
    } else {
        sqlite3_stmt *st;
        index_begin(s->idx);
        sqlite3_prepare_v2(index_db(s->idx), "UPDATE mailboxes SET name=? WHERE id=?", -1, &st, NULL);
        sqlite3_bind_text(st, 1, to, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, mb.id);
        sqlite3_step(st);
        sqlite3_finalize(st);
        /* a subscribed mailbox stays subscribed under its new name */
        sqlite3_prepare_v2(index_db(s->idx), "UPDATE OR REPLACE subscriptions SET name=? WHERE account=? AND name=?",
                           -1, &st, NULL);
        sqlite3_bind_text(st, 1, to, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, account, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, from, -1, SQLITE_TRANSIENT);
        sqlite3_step(st);
        sqlite3_finalize(st);
        index_commit(s->idx);
        struct store_event ev = {STORE_EV_MAILBOX, account, mb.id, 0, 0, NULL, NULL, to, from, false};
        store_notify(s, &ev);
    }
    buf_free(&a);
    buf_free(&b);
    return rc;
}

struct dir_sync_job {
    char *dir;
    int result;
    void (*cb)(int, void *);
    void *arg;
};

static void dir_sync_work(void *arg) {
    struct dir_sync_job *j = arg;
    j->result = maildir_sync_dir(j->dir);
}

static void dir_sync_done(int result, void *arg) {
    struct dir_sync_job *j = arg;
    j->cb(result ? result : j->result, j->arg);
    free(j->dir);
    free(j);
}

void store_sync_mailbox_dir(struct store *s, const char *account, const char *mailbox, void (*cb)(int, void *),
                            void *arg) {
    struct dir_sync_job *j = xcalloc(1, sizeof *j);
    buf_t p = BUF_INIT;
    store_mailbox_path(s, account, mailbox, &p);
    buf_append_str(&p, "/cur");
    j->dir = buf_steal(&p);
    j->cb = cb;
    j->arg = arg;
    if (s->committer) {
        /* no files to publish: the job only runs its work on the thread */
        maildir_committer_submit(s->committer, NULL, 0, dir_sync_work, dir_sync_done, j);
        return;
    }
    dir_sync_work(j);
    dir_sync_done(0, j);
}

/* Put one file into dir/cur under a new unique name (hard link when
 * possible, else a synced byte copy). 0 with *base_out = its base name, or
 * -errno with nothing left behind. */
static int copy_file(struct store *s, const char *src, const char *dir, int flags, const char *keywords,
                     buf_t *base_out, buf_t *path_out) {
    char *unique = maildir_unique_name(s->hostname);
    const char *sz = strstr(strrchr(src, '/'), ",S=");
    buf_append_str(base_out, unique);
    if (sz) buf_append(base_out, sz, strcspn(sz, ":"));
    free(unique);
    buf_printf(path_out, "%s/cur/%s", dir, buf_cstr(base_out));
    /* the destination folder's letters for the same keywords */
    folder_info(s, dir, flags, keywords, true, path_out);
    if (link(src, buf_cstr(path_out)) == 0) return 0;
    int rc = 0;
    FILE *in = fopen(src, "rb");
    FILE *out = in ? fopen(buf_cstr(path_out), "wbx") : NULL;
    if (!in || !out) rc = -errno;
    char chunk[65536];
    size_t n;
    while (rc == 0 && (n = fread(chunk, 1, sizeof chunk, in)) > 0)
        if (fwrite(chunk, 1, n, out) != n) rc = -EIO;
    if (out && (fflush(out) != 0 || fsync(fileno(out)) != 0)) rc = -EIO;
    if (in) fclose(in);
    if (out) fclose(out);
    if (rc < 0 && out) unlink(buf_cstr(path_out));
    return rc;
}

struct copy_item {
    struct store_msg m;
    char *src;
    buf_t base, path; /* the new file */
    int64_t new_row;
    uint32_t new_uid;
};

int store_copy_set(struct store *s, const int64_t *rows, size_t n, const char *dest_mailbox, uint32_t *uids_out,
                   int64_t *rows_out) {
    if (n == 0) return 0;
    struct copy_item *it = xcalloc(n, sizeof *it);
    size_t loaded = 0;
    int rc = 0;
    /* 1. every message must still be there, row and file, before any is
     * copied: a message expunged meanwhile fails the whole command */
    for (; loaded < n; loaded++) {
        if (store_msg_get(s, rows[loaded], &it[loaded].m) < 0) {
            rc = -ESTALE;
            break;
        }
        if (loaded && strcmp(it[loaded].m.account, it[0].m.account) != 0) {
            store_msg_free(&it[loaded].m);
            rc = -EXDEV;
            break;
        }
    }
    bool gone = false;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        it[i].src = locate_file(s, &it[i].m);
        if (!it[i].src) gone = true;
    }
    if (rc == 0 && gone) {
        /* removed behind our back: its row goes too, so every session is
         * told of the expunge */
        index_begin(s->idx);
        for (size_t i = 0; i < n; i++)
            if (!it[i].src) store_expunge(s, rows[i]);
        index_commit(s->idx);
        rc = -ESTALE;
    }
    struct index_mailbox mb;
    if (rc == 0 && index_mailbox_get(s->idx, it[0].m.account, dest_mailbox, false, &mb) < 0) rc = -ENOENT;
    buf_t dir = BUF_INIT;
    bool dest_in_sync = false;
    size_t linked = 0;
    if (rc == 0) {
        store_mailbox_path(s, it[0].m.account, dest_mailbox, &dir);
        dest_in_sync = dircache_in_sync(s, buf_cstr(&dir));
        /* 2. the files */
        for (; rc == 0 && linked < n; linked++) {
            rc = copy_file(s, it[linked].src, buf_cstr(&dir), it[linked].m.flags, it[linked].m.keywords,
                           &it[linked].base, &it[linked].path);
            if (rc < 0) break;
        }
    }
    if (rc == 0) {
        /* 3. the rows, in one change: same bytes, so the index row is
         * copied and the file is not parsed again */
        index_savepoint(s->idx);
        for (size_t i = 0; rc == 0 && i < n; i++)
            if (index_copy_message(s->idx, rows[i], mb.id, buf_cstr(&it[i].base), "cur", &it[i].new_uid,
                                   &it[i].new_row) < 0)
                rc = -EIO;
        if (index_savepoint_end(s->idx, rc == 0) < 0 && rc == 0) rc = -EIO;
    }
    if (rc < 0)
        for (size_t i = 0; i < linked; i++) unlink(buf_cstr(&it[i].path));
    if (rc == 0) {
        if (n) store_watches_match_here(s, s->idx, it[0].new_row, it[n - 1].new_row);
        for (size_t i = 0; i < n; i++) {
            if (uids_out) uids_out[i] = it[i].new_uid;
            if (rows_out) rows_out[i] = it[i].new_row;
            buf_t api = BUF_INIT;
            index_api_id(buf_cstr(&it[i].base), &api);
            struct store_event ev = {STORE_EV_NEW, it[i].m.account, mb.id, it[i].new_row, it[i].new_uid, buf_cstr(&api),
                                     NULL, NULL, NULL, false};
            store_notify(s, &ev);
            buf_free(&api);
        }
    }
    if (dest_in_sync) dircache_record(s, buf_cstr(&dir));
    buf_free(&dir);
    for (size_t i = 0; i < loaded; i++) {
        store_msg_free(&it[i].m);
        free(it[i].src);
        buf_free(&it[i].base);
        buf_free(&it[i].path);
    }
    free(it);
    return rc;
}

int store_copy(struct store *s, int64_t row, const char *dest_mailbox, int64_t *new_row, uint32_t *new_uid) {
    uint32_t uid;
    int64_t r;
    int rc = store_copy_set(s, &row, 1, dest_mailbox, &uid, &r);
    if (rc < 0) return rc;
    if (new_row) *new_row = r;
    if (new_uid) *new_uid = uid;
    struct store_msg m;
    if (store_msg_get(s, r, &m) == 0) {
        buf_t cur = BUF_INIT;
        store_mailbox_path(s, m.account, dest_mailbox, &cur);
        buf_append_str(&cur, "/cur");
        maildir_sync_dir(buf_cstr(&cur));
        buf_free(&cur);
        store_msg_free(&m);
    }
    return 0;
}


int store_append(struct store *s, const char *account, const char *mailbox, const char *data, size_t len, int flags,
                 const char *keywords, int64_t internaldate, int64_t *new_row, uint32_t *new_uid) {
    struct store_append_msg m = {data, len, flags, keywords, internaldate};
    return store_append_set(s, account, mailbox, &m, 1, new_uid, new_row);
}

struct append_item {
    struct maildir_file f;
    buf_t path; /* where the file is now: new/ or, with flags, cur/ */
    const char *base;
    struct msg_summary sum;
    bool has_sum;
    int64_t row;
    uint32_t uid;
};

/* A message with flags or keywords goes to cur/, with them in its name. */
static bool append_in_cur(const struct store_append_msg *m) {
    return (m->flags & 0x1f) || (m->keywords && *m->keywords);
}

int store_append_set(struct store *s, const char *account, const char *mailbox, const struct store_append_msg *msgs,
                     size_t n, uint32_t *uids_out, int64_t *rows_out) {
    if (n == 0) return 0;
    struct index_mailbox mb;
    if (index_mailbox_get(s->idx, account, mailbox, false, &mb) < 0) return -ENOENT;
    buf_t dir = BUF_INIT;
    store_mailbox_path(s, account, mailbox, &dir);
    bool in_sync = dircache_in_sync(s, buf_cstr(&dir));
    struct append_item *it = xcalloc(n, sizeof *it);
    for (size_t k = 0; k < n; k++) it[k].f.fd = -1;
    int rc = 0;
    size_t made = 0; /* files created (in tmp/, or published) */
    /* 1. every file written and synced in tmp/ */
    for (; rc == 0 && made < n; made++) {
        rc = maildir_file_create(&it[made].f, buf_cstr(&dir), s->hostname);
        if (rc < 0) break;
        const char *data = msgs[made].data;
        size_t len = msgs[made].len, start = 0;
        /* CRLF -> LF, the Maildir convention */
        for (size_t i = 0; i < len; i++) {
            if (data[i] == '\r' && i + 1 < len && data[i + 1] == '\n') {
                maildir_file_write(&it[made].f, data + start, i - start);
                start = i + 1;
            }
        }
        maildir_file_write(&it[made].f, data + start, len - start);
        if (msgs[made].internaldate > 0) {
            /* the file's mtime carries INTERNALDATE through a reindex */
            struct timespec ts[2] = {{msgs[made].internaldate, 0}, {msgs[made].internaldate, 0}};
            futimens(it[made].f.fd, ts);
        }
        if (it[made].f.error) rc = -it[made].f.error;
        else if (fdatasync(it[made].f.fd) < 0) rc = -errno;
        if (rc < 0) {
            maildir_file_abort(&it[made].f);
            break;
        }
    }
    /* 2. published: new/, or cur/ with the flags in the name */
    size_t published = 0;
    for (; rc == 0 && published < n; published++) {
        struct append_item *a = &it[published];
        rc = maildir_file_publish(&a->f);
        if (rc < 0) break;
        a->base = strrchr(a->f.new_path, '/') + 1;
        buf_append_str(&a->path, a->f.new_path);
        if (append_in_cur(&msgs[published])) {
            /* flags and keywords (letters of the folder's dovecot-keywords) */
            buf_t cur = BUF_INIT;
            buf_printf(&cur, "%s/cur/%s", buf_cstr(&dir), a->base);
            folder_info(s, buf_cstr(&dir), msgs[published].flags, msgs[published].keywords, true, &cur);
            if (rename(a->f.new_path, buf_cstr(&cur)) < 0) {
                rc = -errno;
                buf_free(&cur);
                published++; /* its file is in new/: removed below */
                break;
            }
            buf_free(&a->path);
            a->path = cur;
        }
    }
    if (rc == 0) {
        buf_t sub = BUF_INIT;
        buf_printf(&sub, "%s/new", buf_cstr(&dir));
        rc = maildir_sync_dir(buf_cstr(&sub));
        buf_reset(&sub);
        buf_printf(&sub, "%s/cur", buf_cstr(&dir));
        if (rc == 0) rc = maildir_sync_dir(buf_cstr(&sub));
        buf_free(&sub);
    }
    /* 3. the rows, in one change */
    if (rc == 0) {
        index_savepoint(s->idx);
        for (size_t k = 0; rc == 0 && k < n; k++) {
            struct append_item *a = &it[k];
            summary_from_file(buf_cstr(&a->path), &a->sum);
            a->has_sum = true;
            struct index_new_msg m = {
                .base = a->base, .subdir = append_in_cur(&msgs[k]) ? "cur" : "new", .flags = msgs[k].flags & 0x1f,
                .keywords = msgs[k].keywords,
                .internaldate = msgs[k].internaldate > 0 ? msgs[k].internaldate : time(NULL),
                .size = a->f.size + a->f.lines, .summary = &a->sum,
            };
            if (index_add_message(s->idx, mb.id, &m, &a->uid, &a->row) < 0) rc = -EIO;
        }
        if (index_savepoint_end(s->idx, rc == 0) < 0 && rc == 0) rc = -EIO;
    }
    if (rc < 0) {
        /* nothing is kept */
        for (size_t k = 0; k < published; k++)
            if (it[k].path.len) unlink(buf_cstr(&it[k].path));
        for (size_t k = published; k < made; k++) maildir_file_abort(&it[k].f);
    } else {
        if (n) store_watches_match_here(s, s->idx, it[0].row, it[n - 1].row);
        for (size_t k = 0; k < n; k++) {
            buf_t api = BUF_INIT;
            index_api_id(it[k].base, &api);
            struct store_event ev = {STORE_EV_NEW, account, mb.id, it[k].row, it[k].uid, buf_cstr(&api),
                                     NULL, NULL, NULL, false};
            store_notify(s, &ev);
            buf_free(&api);
            if (uids_out) uids_out[k] = it[k].uid;
            if (rows_out) rows_out[k] = it[k].row;
        }
    }
    for (size_t k = 0; k < n; k++) {
        if (it[k].has_sum) summary_free(&it[k].sum);
        buf_free(&it[k].path);
        maildir_file_free(&it[k].f);
    }
    free(it);
    if (in_sync) dircache_record(s, buf_cstr(&dir));
    buf_free(&dir);
    return rc;
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
    d->rows = xcalloc(n, sizeof *d->rows);
    d->in_sync = xcalloc(n, sizeof *d->in_sync);
    d->uids = xcalloc(n, sizeof *d->uids);
    d->mailbox_ids = xcalloc(n, sizeof *d->mailbox_ids);
    d->internaldate = time(NULL);
    buf_t p = BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        d->accounts[i] = xstrdup(accounts[i]);
        buf_reset(&p);
        store_mailbox_path(s, accounts[i], "INBOX", &p);
        d->in_sync[i] = dircache_in_sync(s, buf_cstr(&p));
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
    INVARIANT(i < d->n); /* one file per account of store_delivery_begin */
    if (i >= d->n) return;
    maildir_file_write(&d->files[i], p, len);
}

void store_delivery_write(struct store_delivery *d, const void *p, size_t len) {
    for (size_t i = 0; i < d->n; i++) maildir_file_write(&d->files[i], p, len);
}

/* Index the published copies of one delivery (summary parsed once). */
/* The message's keywords from Mailpit's tag filters and its automatic
 * tags; NULL without filters (the index then takes the automatic tags). */
static char *delivery_keywords(struct store_delivery *d) {
    struct store *s = d->store;
    if (!s->ntag_rules) return NULL;
    buf_t raw = BUF_INIT, kw = BUF_INIT;
    if (buf_load_file(&raw, d->files[0].new_path) == 0) {
        for (size_t i = 0; i < raw.len; i++)
            if (raw.data[i] >= 'A' && raw.data[i] <= 'Z') raw.data[i] = (char)(raw.data[i] - 'A' + 'a');
    }
    buf_append_str(&kw, d->summary.auto_tags ? d->summary.auto_tags : "");
    struct tag_filter_msg m = {&d->summary, d->rcpts, buf_cstr(&kw), d->files[0].size + d->files[0].lines,
                               d->internaldate, raw.len ? buf_cstr(&raw) : NULL};
    buf_t out = BUF_INIT;
    buf_append(&out, kw.data, kw.len);
    tag_filter_apply(s->tag_rules, s->ntag_rules, &m, &out);
    buf_free(&raw);
    buf_free(&kw);
    return buf_steal(&out);
}

/* A delivered file tagged by the tag filters goes from new/ to cur/ with
 * its keywords' letters in the name (the folder's dovecot-keywords names
 * them), so that a rebuild of the index finds its tags in the Maildir as
 * it finds those set later over IMAP or the API. Runs on the commit
 * thread after the file is durable in new/; cur/ is synced, so a crash
 * leaves the file in new/ (untagged) or in cur/ (tagged). true when moved
 * (f->new_path is then the new name). */
static bool delivery_to_cur(struct store *s, struct maildir_file *f, const char *keywords) {
    const char *base = strrchr(f->new_path, '/') + 1;
    buf_t cur = BUF_INIT;
    buf_printf(&cur, "%s/cur/%s", f->maildir, base);
    folder_info(s, f->maildir, 0, keywords, true, &cur);
    bool moved = rename(f->new_path, buf_cstr(&cur)) == 0;
    if (!moved) {
        log_warn("store: %s: cannot move it to cur/ with its tags in the name: %s", f->new_path, strerror(errno));
        buf_free(&cur);
        return false;
    }
    buf_t dir = BUF_INIT;
    buf_printf(&dir, "%s/cur", f->maildir);
    int rc = maildir_sync_dir(buf_cstr(&dir));
    if (rc < 0) log_warn("store: cannot sync %s: %s", buf_cstr(&dir), strerror(-rc));
    buf_free(&dir);
    free(f->new_path);
    f->new_path = buf_steal(&cur);
    return true;
}

static void delivery_index(struct store_delivery *d, struct index *idx) {
    summary_from_file(d->files[0].new_path, &d->summary);
    char *keywords = delivery_keywords(d);
    /* tags beyond the automatic ones (X-Tags, which the file itself
     * carries) are only the filters': they go into the file name */
    bool to_cur = keywords && *keywords && strcmp(keywords, d->summary.auto_tags ? d->summary.auto_tags : "") != 0;
    for (size_t i = 0; i < d->n; i++) {
        struct index_mailbox mb;
        if (index_mailbox_get(idx, d->accounts[i], "INBOX", true, &mb) < 0) continue;
        bool in_cur = to_cur && delivery_to_cur(d->store, &d->files[i], keywords);
        const char *name = strrchr(d->files[i].new_path, '/') + 1;
        char *base = g_strndup(name, strcspn(name, ":"));
        /* RFC822.SIZE counts CRLF line ends; the file has LF. */
        struct index_new_msg m = {
            .base = base,
            .subdir = in_cur ? "cur" : "new",
            .internaldate = d->internaldate,
            .size = d->files[i].size + d->files[i].lines,
            .mail_from = d->mail_from,
            .rcpts = d->rcpts,
            .keywords = keywords,
            .summary = &d->summary,
        };
        if (index_add_message(idx, mb.id, &m, &d->uids[i], &d->rows[i]) == 0) {
            d->mailbox_ids[i] = mb.id;
            store_watches_batch_row(d->store, d->rows[i]);
        }
        g_free(base);
    }
    free(keywords);
}

/* Runs on the commit thread once the files are durable in new/: parsing
 * and indexing there keeps the event loop free for the network. */
static void delivery_analyze(void *arg) {
    struct store_delivery *d = arg;
    delivery_index(d, d->store->commit_idx);
}

/* Rows moved into the full-text index per idle step (~tens of ms). */
#define STORE_FTS_IDLE_BATCH 200

static bool commit_idle(void *arg) {
    struct store *s = arg;
    /* the start-up indexing writes meanwhile: later (deliveries need the
     * index's write lock at once; searches flush the queue anyway) */
    /* rows the pacing of the waits' matching left for later: now */
    if (store_watches_pending(s)) store_watches_match(s, s->commit_idx, true);
    if (s->warming) return true;
    if (index_fts_flush(s->commit_idx, STORE_FTS_IDLE_BATCH) >= STORE_FTS_IDLE_BATCH) {
        s->fts_bulk = true;
        return true;
    }
    if (s->fts_bulk) {
        /* the queue is drained after a bulk of text went in (start-up
         * indexing, a large import): its pages are no working set, give
         * them and the freed heap back */
        s->fts_bulk = false;
        index_release_memory(s->commit_idx);
        malloc_trim(0);
    }
    return false;
}

static void commit_batch_begin(void *arg) {
    index_begin(((struct store *)arg)->commit_idx);
}

static void commit_batch_end(void *arg) {
    struct store *s = arg;
    index_commit(s->commit_idx);
    /* the waiting requests' searches, once per batch, here off the event
     * loop; their flags are set before the batch's events are announced */
    store_watches_match(s, s->commit_idx, false);
}

static void delivery_committed(int result, void *arg) {
    struct store_delivery *d = arg;
    struct store *s = d->store;
    d->result = result;
    if (result == 0) {
        for (size_t i = 0; i < d->n; i++) {
            if (d->in_sync[i]) dircache_record(s, d->files[i].maildir);
            s->delivered++;
            s->delivered_bytes += (uint64_t)d->files[i].size;
            if (!d->uids[i]) continue;
            buf_t api = BUF_INIT;
            index_api_id(strrchr(d->files[i].new_path, '/') + 1, &api);
            struct store_event ev = {STORE_EV_NEW, d->accounts[i], d->mailbox_ids[i], d->rows[i], d->uids[i],
                                     buf_cstr(&api), NULL, NULL, NULL, false};
            store_notify(s, &ev);
            buf_free(&api);
        }
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
    if (rc == 0) {
        index_begin(d->store->idx);
        delivery_index(d, d->store->idx);
        index_commit(d->store->idx);
        store_watches_match(d->store, d->store->idx, true);
    }
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
    free(d->rows);
    free(d->in_sync);
    free(d->uids);
    free(d->mailbox_ids);
    free(d->mail_from);
    free(d->rcpts);
    if (d->summary.subject || d->summary.text) summary_free(&d->summary);
    memset(d, 0, sizeof *d);
}

const char *store_data_dir(const struct store *s) {
    return s->data_dir;
}

char *store_index_path(const struct store *s) {
    buf_t b = BUF_INIT;
    buf_printf(&b, "%s/index.sqlite", s->data_dir);
    return buf_steal(&b);
}

void store_stats(const struct store *s, uint64_t *delivered, uint64_t *delivered_bytes, uint64_t *batches,
                 uint64_t *files) {
    *delivered = s->delivered;
    *delivered_bytes = s->delivered_bytes;
    *batches = *files = 0;
    if (s->committer) maildir_committer_stats(s->committer, batches, files);
}

void store_api_id(const char *base, buf_t *out) {
    index_api_id(base, out);
}
