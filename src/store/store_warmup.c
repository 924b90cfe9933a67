/*
 * store_warmup - what the Maildirs hold at start is indexed in the
 * background, a slice at a time on the event loop, so that the server
 * listens at once whatever the store holds (300,000 files in an INBOX
 * without an index took 31 s to index before the first listener opened).
 *
 * Every mailbox found at start is pending until its files are indexed;
 * store_when_ready() lets a request that needs a mailbox still pending
 * wait for it (the mailboxes waited for go first), while everything
 * else - other mailboxes and accounts, logins, deliveries, the web page's
 * static files, health checks - is served between slices. A progress line is
 * logged every few seconds.
 */
#include "store/store.h"
#include "store/store_internal.h"
#include "core/clock.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <glib.h>

#include "core/log.h"
#include "core/xalloc.h"

/* Time one slice may hold the event loop, and files per index transaction. */
#define WARMUP_SLICE_MS 20
#define WARMUP_STEP_FILES 200
/* Pause while deliveries are being committed. */
#define WARMUP_YIELD_US 2000
/* Seconds between progress lines. */
#define WARMUP_LOG_SECONDS 2

struct wu_box {
    char *account, *mailbox;
    struct index_sync *sy; /* begun, files left to add */
    size_t total;          /* files to add in all */
};

struct wu_waiter {
    char *account; /* NULL: every account */
    char *mailbox; /* NULL: every mailbox of the account(s) */
    void (*fn)(void *arg);
    void *arg;
    struct wu_waiter *next;
};

struct store_warmup {
    struct event *ev;
    GPtrArray *boxes;  /* struct wu_box *, pending, in order */
    struct wu_waiter *waiters;
    int64_t started_ms, logged_ms;
    uint64_t added, mailboxes_done;
};

static void wu_box_free(struct wu_box *b) {
    if (b->sy) index_sync_end(b->sy);
    free(b->account);
    free(b->mailbox);
    free(b);
}

static bool box_matches(const struct wu_box *b, const char *account, const char *mailbox) {
    return (!account || !strcmp(b->account, account)) && (!mailbox || !strcmp(b->mailbox, mailbox));
}

static bool pending(const struct store_warmup *w, const char *account, const char *mailbox) {
    for (guint i = 0; i < w->boxes->len; i++)
        if (box_matches(g_ptr_array_index(w->boxes, i), account, mailbox)) return true;
    return false;
}

bool store_mailbox_ready(struct store *s, const char *account, const char *mailbox) {
    return !s->warmup || !pending(s->warmup, account, mailbox);
}

size_t store_warmup_pending(const struct store *s, uint64_t *added) {
    const struct store_warmup *w = s->warmup;
    if (added) *added = w ? w->added : 0;
    return w ? w->boxes->len : 0;
}

bool store_account_ready(struct store *s, const char *account) {
    return !s->warmup || !pending(s->warmup, account, NULL);
}

/* Call the waiters whose mailboxes are all indexed now. */
static void wake_waiters(struct store *s) {
    struct store_warmup *w = s->warmup;
    for (;;) {
        struct wu_waiter **p = &w->waiters, *ready = NULL;
        for (; *p; p = &(*p)->next) {
            if (!pending(w, (*p)->account, (*p)->mailbox)) {
                ready = *p;
                *p = ready->next;
                break;
            }
        }
        if (!ready) return;
        /* unlinked first: the callback may add or cancel waiters */
        ready->fn(ready->arg);
        free(ready->account);
        free(ready->mailbox);
        free(ready);
    }
}

static void warmup_done(struct store *s) {
    struct store_warmup *w = s->warmup;
    log_info("store: indexing at start done: %llu messages added in %llu mailboxes in %.1f s",
             (unsigned long long)w->added, (unsigned long long)w->mailboxes_done,
             (double)(clock_mono_ms() - w->started_ms) / 1000.0);
    wake_waiters(s); /* every one of them is ready now */
    event_free(w->ev);
    g_ptr_array_free(w->boxes, TRUE);
    free(w);
    s->warmup = NULL;
    s->warming = false;
    /* the indexing filled the page cache with pages of every new row and
     * its queued search text; sessions need far fewer: give them back, and
     * the freed heap to the system */
    index_release_memory(s->idx);
    malloc_trim(0);
}

/* The pending mailbox to work on: the first one somebody waits for. */
static guint pick(const struct store_warmup *w) {
    for (guint i = 0; i < w->boxes->len; i++) {
        const struct wu_box *b = g_ptr_array_index(w->boxes, i);
        for (const struct wu_waiter *x = w->waiters; x; x = x->next)
            if (box_matches(b, x->account, x->mailbox)) return i;
    }
    return 0;
}

static void slice_cb(evutil_socket_t fd, short what, void *arg) {
    struct store *s = arg;
    struct store_warmup *w = s->warmup;
    int64_t start = clock_mono_ms();
    bool yield = false;
    while (w->boxes->len && clock_mono_ms() - start < WARMUP_SLICE_MS) {
        /* deliveries first: their commits wait for the index's write lock */
        if (s->committer && maildir_committer_busy(s->committer)) {
            yield = true;
            break;
        }
        guint i = pick(w);
        struct wu_box *b = g_ptr_array_index(w->boxes, i);
        buf_t path = BUF_INIT;
        store_mailbox_path(s, b->account, b->mailbox, &path);
        if (!b->sy) {
            maildir_sweep_tmp(buf_cstr(&path), MAILDIR_TMP_MAX_AGE);
            b->sy = index_sync_begin(s->idx, b->account, b->mailbox, buf_cstr(&path));
            if (b->sy) b->total = index_sync_left(b->sy);
            if (b->total > 1000)
                log_info("store: indexing %s/%s: %zu files found in the Maildir", b->account, b->mailbox, b->total);
        }
        size_t left = 0;
        if (b->sy) {
            size_t before = index_sync_left(b->sy);
            left = index_sync_step(b->sy, WARMUP_STEP_FILES);
            w->added += before - left;
        }
        if (left == 0) {
            int changes = b->sy ? index_sync_end(b->sy) : -1;
            b->sy = NULL;
            if (changes < 0) log_error("store: %s/%s: cannot index its Maildir", b->account, b->mailbox);
            else if (changes > 0) log_info("store: %s/%s: indexed %d changes found in the Maildir", b->account, b->mailbox, changes);
            struct index_mailbox mb;
            g_ptr_array_remove_index(w->boxes, i);
            w->mailboxes_done++;
            if (changes > 0 && index_mailbox_get(s->idx, b->account, b->mailbox, false, &mb) == 0) {
                struct store_event ev = {STORE_EV_CHANGED, b->account, mb.id, 0, 0, NULL, NULL, NULL, NULL, false};
                store_notify(s, &ev);
            }
            wu_box_free(b);
            wake_waiters(s);
        }
        buf_free(&path);
    }
    int64_t now = clock_mono_ms();
    if (w->boxes->len && now - w->logged_ms >= WARMUP_LOG_SECONDS * 1000) {
        w->logged_ms = now;
        const struct wu_box *b = g_ptr_array_index(w->boxes, pick(w));
        log_info("store: indexing at start: %llu messages added so far, %u mailboxes to go; %s/%s: %zu of %zu",
                 (unsigned long long)w->added, w->boxes->len, b->account, b->mailbox,
                 b->sy ? b->total - index_sync_left(b->sy) : 0, b->total);
    }
    if (!w->boxes->len) {
        warmup_done(s);
        return;
    }
    struct timeval tv = {0, yield ? WARMUP_YIELD_US : 0};
    event_add(w->ev, &tv);
}

void store_warmup_start(struct store *s, struct event_base *base) {
    struct store_warmup *w = xcalloc(1, sizeof *w);
    w->boxes = g_ptr_array_new();
    char **accounts = store_accounts(s);
    for (char **a = accounts; *a; a++) {
        char **folders = store_folders(s, *a);
        for (char **f = NULL; !f || *f; f = f ? f + 1 : folders) {
            struct wu_box *b = xcalloc(1, sizeof *b);
            b->account = xstrdup(*a);
            b->mailbox = xstrdup(f ? *f : "INBOX");
            g_ptr_array_add(w->boxes, b);
        }
        store_strv_free(folders);
    }
    store_strv_free(accounts);
    w->started_ms = w->logged_ms = clock_mono_ms();
    s->warmup = w;
    if (!base) {
        /* no event loop (tools, tests): all of it now */
        while (w->boxes->len) {
            struct wu_box *b = g_ptr_array_index(w->boxes, 0);
            g_ptr_array_remove_index(w->boxes, 0);
            int n = store_sync_mailbox(s, b->account, b->mailbox);
            if (n > 0) log_info("store: %s/%s: indexed %d changes found in the Maildir", b->account, b->mailbox, n);
            buf_t path = BUF_INIT;
            store_mailbox_path(s, b->account, b->mailbox, &path);
            maildir_sweep_tmp(buf_cstr(&path), MAILDIR_TMP_MAX_AGE);
            buf_free(&path);
            wu_box_free(b);
        }
        g_ptr_array_free(w->boxes, TRUE);
        free(w);
        s->warmup = NULL;
        return;
    }
    log_info("store: indexing %u mailboxes in the background; requests for an account wait until its mailboxes "
             "are indexed", w->boxes->len);
    s->warming = true;
    w->ev = event_new(base, -1, 0, slice_cb, s);
    struct timeval tv = {0, 0};
    event_add(w->ev, &tv);
}

void store_warmup_free(struct store *s) {
    struct store_warmup *w = s->warmup;
    if (!w) return;
    event_free(w->ev);
    for (guint i = 0; i < w->boxes->len; i++) wu_box_free(g_ptr_array_index(w->boxes, i));
    g_ptr_array_free(w->boxes, TRUE);
    while (w->waiters) {
        struct wu_waiter *x = w->waiters;
        w->waiters = x->next;
        free(x->account);
        free(x);
    }
    free(w);
    s->warmup = NULL;
    s->warming = false;
    /* the indexing filled the page cache with pages of every new row and
     * its queued search text; sessions need far fewer: give them back, and
     * the freed heap to the system */
    index_release_memory(s->idx);
    malloc_trim(0);
}

bool store_when_ready(struct store *s, const char *account, const char *mailbox, void (*fn)(void *arg),
                      void *arg) {
    struct store_warmup *w = s->warmup;
    if (!w || !pending(w, account, mailbox)) return true;
    struct wu_waiter *x = xcalloc(1, sizeof *x);
    x->account = account ? xstrdup(account) : NULL;
    x->mailbox = mailbox ? xstrdup(mailbox) : NULL;
    x->fn = fn;
    x->arg = arg;
    x->next = w->waiters;
    w->waiters = x;
    log_info("store: a request for %s%s%s waits until %s indexed", account ? account : "every account",
             mailbox ? "/" : "", mailbox ? mailbox : "", mailbox ? "it is" : "its mailboxes are");
    return false;
}

void store_when_ready_cancel(struct store *s, void (*fn)(void *arg), void *arg) {
    struct store_warmup *w = s->warmup;
    if (!w) return;
    for (struct wu_waiter **p = &w->waiters; *p;) {
        if ((*p)->fn == fn && (*p)->arg == arg) {
            struct wu_waiter *x = *p;
            *p = x->next;
            free(x->account);
            free(x->mailbox);
            free(x);
        } else {
            p = &(*p)->next;
        }
    }
}
