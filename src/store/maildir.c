#include "store/maildir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "core/log.h"
#include "core/xalloc.h"

static int mkdir_p(const char *path, mode_t mode) {
    char *p = xstrdup(path);
    int rc = 0;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, mode) < 0 && errno != EEXIST) {
            rc = -errno;
            break;
        }
        *s = '/';
    }
    if (rc == 0 && mkdir(p, mode) < 0 && errno != EEXIST) rc = -errno;
    free(p);
    return rc;
}

int maildir_ensure(const char *path) {
    static const char *const subs[] = {"cur", "new", "tmp"};
    buf_t b = BUF_INIT;
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++) {
        buf_reset(&b);
        buf_printf(&b, "%s/%s", path, subs[i]);
        struct stat st;
        if (stat(buf_cstr(&b), &st) == 0 && S_ISDIR(st.st_mode)) continue;
        rc = mkdir_p(buf_cstr(&b), 0700);
    }
    buf_free(&b);
    return rc;
}

void maildir_account_path(buf_t *out, const char *data_dir, const char *account) {
    const char *at = strrchr(account, '@');
    if (at) buf_printf(out, "%s/%s/%.*s/Maildir", data_dir, at + 1, (int)(at - account), account);
    else buf_printf(out, "%s/localhost/%s/Maildir", data_dir, account);
}

void maildir_mailbox_path(buf_t *out, const char *account_maildir, const char *mailbox) {
    if (strcasecmp(mailbox, "INBOX") == 0) buf_append_str(out, account_maildir);
    else buf_printf(out, "%s/.%s", account_maildir, mailbox);
}

char *maildir_unique_name(const char *hostname) {
    static unsigned long counter;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    buf_t b = BUF_INIT;
    buf_printf(&b, "%lld.M%ldP%ldQ%lu.", (long long)tv.tv_sec, (long)tv.tv_usec, (long)getpid(), ++counter);
    /* '/' and ':' would break the path or the info separator (Maildir spec). */
    for (const char *h = hostname; *h; h++) {
        if (*h == '/') buf_append_str(&b, "\\057");
        else if (*h == ':') buf_append_str(&b, "\\072");
        else if (*h == ',') buf_append_str(&b, "\\054");
        else buf_append_char(&b, *h);
    }
    return buf_steal(&b);
}

int maildir_file_create(struct maildir_file *f, const char *maildir, const char *hostname) {
    memset(f, 0, sizeof *f);
    f->fd = -1;
    f->maildir = xstrdup(maildir);
    f->unique = maildir_unique_name(hostname);
    buf_t b = BUF_INIT;
    buf_printf(&b, "%s/tmp/%s", maildir, f->unique);
    f->tmp_path = buf_steal(&b);
    f->fd = open(f->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (f->fd < 0 && errno == ENOENT) {
        int rc = maildir_ensure(maildir);
        if (rc < 0) {
            maildir_file_free(f);
            return rc;
        }
        f->fd = open(f->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    }
    if (f->fd < 0) {
        int rc = -errno;
        maildir_file_free(f);
        return rc;
    }
    return 0;
}

void maildir_file_write(struct maildir_file *f, const void *p, size_t n) {
    const char *c = p;
    while (n > 0 && !f->error) {
        ssize_t w = write(f->fd, c, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            f->error = errno;
            break;
        }
        for (const char *q = c; (q = memchr(q, '\n', (size_t)(c + w - q))); q++) f->lines++;
        c += w;
        n -= (size_t)w;
        f->size += w;
    }
}

void maildir_file_free(struct maildir_file *f) {
    if (f->fd >= 0) close(f->fd);
    free(f->maildir);
    free(f->unique);
    free(f->tmp_path);
    free(f->new_path);
    memset(f, 0, sizeof *f);
    f->fd = -1;
}

void maildir_file_abort(struct maildir_file *f) {
    if (f->tmp_path) unlink(f->tmp_path);
    maildir_file_free(f);
}

int maildir_file_publish(struct maildir_file *f) {
    if (f->error) return -f->error;
    buf_t b = BUF_INIT;
    /* ,S=<size> lets readers (Dovecot, us) know the size without stat(). */
    buf_printf(&b, "%s/new/%s,S=%lld,W=%lld", f->maildir, f->unique, (long long)f->size,
               (long long)(f->size + f->lines));
    if (rename(f->tmp_path, buf_cstr(&b)) < 0) {
        int rc = -errno;
        buf_free(&b);
        return rc;
    }
    free(f->new_path);
    f->new_path = buf_steal(&b);
    return 0;
}

int maildir_sync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -errno;
    int rc = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

static int sync_new_dir(const char *maildir) {
    buf_t b = BUF_INIT;
    buf_printf(&b, "%s/new", maildir);
    int rc = maildir_sync_dir(buf_cstr(&b));
    buf_free(&b);
    return rc;
}

int maildir_file_commit(struct maildir_file *f) {
    if (f->error) return -f->error;
    /* 1. the bytes are on disk before the name appears in new/ */
    if (fdatasync(f->fd) < 0) return -errno;
    /* 2. the name appears atomically: readers never see a partial file */
    int rc = maildir_file_publish(f);
    if (rc < 0) return rc;
    /* 3. the rename itself survives a crash */
    return sync_new_dir(f->maildir);
}

int maildir_sweep_tmp(const char *maildir, int max_age) {
    buf_t b = BUF_INIT;
    buf_printf(&b, "%s/tmp", maildir);
    DIR *d = opendir(buf_cstr(&b));
    int removed = 0;
    if (!d) {
        buf_free(&b);
        return 0;
    }
    time_t now = time(NULL);
    struct dirent *de;
    size_t dirlen = b.len;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        b.len = dirlen;
        buf_printf(&b, "/%s", de->d_name);
        struct stat st;
        if (stat(buf_cstr(&b), &st) == 0 && S_ISREG(st.st_mode) && now - st.st_mtime >= max_age) {
            if (unlink(buf_cstr(&b)) == 0) removed++;
        }
    }
    closedir(d);
    buf_free(&b);
    return removed;
}

/* --- group commit ------------------------------------------------------ */

struct commit_job {
    struct maildir_file **files;
    size_t n;
    maildir_commit_work work;
    maildir_commit_cb cb;
    void *arg;
    int result;
    struct commit_job *next;
};

struct maildir_committer {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct commit_job *todo, *todo_tail;
    struct commit_job *done, *done_tail;
    bool stopping;
    struct event *wake; /* activated from the thread; runs on the loop */
    void (*batch_begin)(void *), (*batch_end)(void *);
    void *hook_arg;
    bool (*idle_fn)(void *);
    void *idle_arg;
    bool idle_more; /* the idle hook said it has more to do */
    uint64_t batches, nfiles;
    size_t queued; /* jobs submitted and not yet committed */
};

static void job_list_append(struct commit_job **head, struct commit_job **tail, struct commit_job *j) {
    j->next = NULL;
    if (*tail) (*tail)->next = j;
    else *head = j;
    *tail = j;
}

static void committer_run_batch(struct maildir_committer *c, struct commit_job *batch) {
    size_t total = 0;
    struct maildir_file *any = NULL;
    for (struct commit_job *j = batch; j; j = j->next) {
        j->result = 0;
        for (size_t i = 0; i < j->n; i++) {
            if (j->files[i]->error && !j->result) j->result = -j->files[i]->error;
            total++;
            any = j->files[i];
        }
    }
    /* 1. data: one fdatasync for a lone file, one syncfs for a batch */
    int sync_rc = 0;
    if (total == 1) {
        if (fdatasync(any->fd) < 0) sync_rc = -errno;
    } else if (total > 1) {
        if (syncfs(any->fd) < 0) sync_rc = -errno;
    }
    /* 2. publish: atomic renames into new/ */
    const char *dirs[64];
    size_t ndirs = 0;
    bool dirs_overflow = false;
    for (struct commit_job *j = batch; j; j = j->next) {
        if (sync_rc && !j->result) j->result = sync_rc;
        if (j->result) continue;
        for (size_t i = 0; i < j->n; i++) {
            int rc = maildir_file_publish(j->files[i]);
            if (rc < 0) {
                j->result = rc;
                break;
            }
            bool seen = false;
            for (size_t k = 0; k < ndirs; k++)
                if (strcmp(dirs[k], j->files[i]->maildir) == 0) seen = true;
            if (!seen) {
                if (ndirs < 64) dirs[ndirs++] = j->files[i]->maildir;
                else dirs_overflow = true;
            }
        }
    }
    /* 3. the renames themselves: fsync each touched new/ (or all, by syncfs) */
    int dir_rc = 0;
    if (dirs_overflow && any) {
        if (syncfs(any->fd) < 0) dir_rc = -errno;
    } else {
        for (size_t k = 0; k < ndirs; k++) {
            int rc = sync_new_dir(dirs[k]);
            if (rc < 0) dir_rc = rc;
        }
    }
    if (c->batch_begin) c->batch_begin(c->hook_arg);
    for (struct commit_job *j = batch; j; j = j->next) {
        if (dir_rc && !j->result) j->result = dir_rc;
        if (!j->result && j->work) j->work(j->arg);
    }
    if (c->batch_end) c->batch_end(c->hook_arg);
    c->batches++;
    c->nfiles += total;
}

static void *committer_main(void *arg) {
    struct maildir_committer *c = arg;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        while (!c->todo && !c->stopping) {
            if (c->idle_fn && c->idle_more) {
                /* Background work waits for a quiet moment: during a burst
                 * of deliveries both cores belong to them. */
                struct timespec until;
                clock_gettime(CLOCK_REALTIME, &until);
                until.tv_nsec += MAILDIR_COMMIT_QUIET_MS * 1000000L;
                if (until.tv_nsec >= 1000000000L) {
                    until.tv_sec++;
                    until.tv_nsec -= 1000000000L;
                }
                if (pthread_cond_timedwait(&c->cond, &c->lock, &until) == 0 || c->todo || c->stopping) continue;
                /* quiet: do it in small steps so a delivery never waits long */
                pthread_mutex_unlock(&c->lock);
                bool more = c->idle_fn(c->idle_arg);
                pthread_mutex_lock(&c->lock);
                c->idle_more = more;
                continue;
            }
            pthread_cond_wait(&c->cond, &c->lock);
        }
        if (!c->todo && c->stopping) break;
        struct commit_job *batch = c->todo;
        c->todo = c->todo_tail = NULL;
        pthread_mutex_unlock(&c->lock);
        committer_run_batch(c, batch);
        pthread_mutex_lock(&c->lock);
        c->idle_more = true; /* new work may have made idle work */
        while (batch) {
            struct commit_job *next = batch->next;
            job_list_append(&c->done, &c->done_tail, batch);
            c->queued--;
            batch = next;
        }
        event_active(c->wake, EV_READ, 0);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

static void committer_deliver_done(evutil_socket_t fd, short what, void *arg) {
    struct maildir_committer *c = arg;
    pthread_mutex_lock(&c->lock);
    struct commit_job *done = c->done;
    c->done = c->done_tail = NULL;
    pthread_mutex_unlock(&c->lock);
    while (done) {
        struct commit_job *next = done->next;
        done->cb(done->result, done->arg);
        free(done->files);
        free(done);
        done = next;
    }
}

bool maildir_committer_busy(struct maildir_committer *c) {
    pthread_mutex_lock(&c->lock);
    bool busy = c->queued > 0;
    pthread_mutex_unlock(&c->lock);
    return busy;
}

struct maildir_committer *maildir_committer_new(struct event_base *base) {
    struct maildir_committer *c = xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    c->wake = event_new(base, -1, 0, committer_deliver_done, c);
    if (pthread_create(&c->thread, NULL, committer_main, c) != 0) {
        log_error("cannot start the commit thread: %s", strerror(errno));
        abort();
    }
    return c;
}

void maildir_committer_submit(struct maildir_committer *c, struct maildir_file **files, size_t n,
                              maildir_commit_work work, maildir_commit_cb cb, void *arg) {
    struct commit_job *j = xcalloc(1, sizeof *j);
    j->work = work;
    j->files = xmemdup(files, n * sizeof *files);
    j->n = n;
    j->cb = cb;
    j->arg = arg;
    pthread_mutex_lock(&c->lock);
    job_list_append(&c->todo, &c->todo_tail, j);
    c->queued++;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

void maildir_committer_set_batch_hooks(struct maildir_committer *c, void (*begin)(void *), void (*end)(void *),
                                       void *arg) {
    pthread_mutex_lock(&c->lock);
    c->batch_begin = begin;
    c->batch_end = end;
    c->hook_arg = arg;
    pthread_mutex_unlock(&c->lock);
}

void maildir_committer_set_idle_hook(struct maildir_committer *c, bool (*fn)(void *), void *arg) {
    pthread_mutex_lock(&c->lock);
    c->idle_fn = fn;
    c->idle_arg = arg;
    c->idle_more = true;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

void maildir_committer_free(struct maildir_committer *c) {
    if (!c) return;
    pthread_mutex_lock(&c->lock);
    c->stopping = true;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->thread, NULL);
    committer_deliver_done(-1, 0, c);
    event_free(c->wake);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
    free(c);
}

void maildir_committer_stats(struct maildir_committer *c, uint64_t *batches, uint64_t *files) {
    pthread_mutex_lock(&c->lock);
    *batches = c->batches;
    *files = c->nfiles;
    pthread_mutex_unlock(&c->lock);
}
