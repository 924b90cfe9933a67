/*
 * view - typed reads of a mailbox for protocol sessions (see view.h): the
 * SQL of IMAP's snapshot, \Recent, STATUS and subscriptions and of POP3's
 * maildrop. Every statement's result is checked; a failed read returns
 * -EIO and nothing half-read.
 */
#include "store/view.h"
#include "store/store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "store/store.h"

static sqlite3 *view_db(struct store *s) {
    return index_db(s->idx);
}

static int view_prepare(struct store *s, const char *what, const char *sql, sqlite3_stmt **st) {
    if ((*st = index_stmt(s->idx, sql)) != NULL) return 0;
    log_error("store: cannot prepare %s", what);
    *st = NULL;
    return -EIO;
}

static void view_failed(struct store *s, const char *what, int64_t mailbox_id) {
    log_error("store: %s of mailbox %lld failed: %s", what, (long long)mailbox_id, sqlite3_errmsg(view_db(s)));
}

int store_mailbox_info(struct store *s, const char *account, const char *name, bool create,
                       struct store_mailbox_info *out) {
    struct index_mailbox mb;
    memset(out, 0, sizeof *out);
    if (index_mailbox_get(s->idx, account, name, create, &mb) < 0) return create ? -EIO : -ENOENT;
    out->id = mb.id;
    out->uidvalidity = mb.uidvalidity;
    out->uidnext = mb.uidnext;
    out->highestmodseq = mb.highestmodseq;
    return 0;
}

static char *dup_keywords(sqlite3_stmt *st, int col) {
    const char *kw = (const char *)sqlite3_column_text(st, col);
    return kw && *kw ? xstrdup(kw) : NULL;
}

void store_view_msg_clear(struct store_view_msg *m) {
    free(m->keywords);
    m->keywords = NULL;
}

void store_view_free(struct store_view_msg **msgs, size_t n) {
    if (!*msgs) return;
    for (size_t i = 0; i < n; i++) store_view_msg_clear(&(*msgs)[i]);
    free(*msgs);
    *msgs = NULL;
}

int store_view_load(struct store *s, int64_t mailbox_id, uint32_t after_uid, struct store_view_msg **msgs_r,
                    size_t *n_r) {
    *msgs_r = NULL;
    *n_r = 0;
    sqlite3_stmt *st;
    if (view_prepare(s, "mailbox view",
                     "SELECT uid, id, flags, modseq, keywords, recent FROM messages WHERE mailbox_id=? AND uid>? "
                     "ORDER BY uid",
                     &st) < 0)
        return -EIO;
    sqlite3_bind_int64(st, 1, mailbox_id);
    sqlite3_bind_int64(st, 2, after_uid);
    struct store_view_msg *v = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            v = xrealloc(v, cap * sizeof *v);
        }
        struct store_view_msg *m = &v[n++];
        m->uid = (uint32_t)sqlite3_column_int64(st, 0);
        m->row = sqlite3_column_int64(st, 1);
        m->flags = sqlite3_column_int(st, 2);
        m->modseq = (uint64_t)sqlite3_column_int64(st, 3);
        m->keywords = dup_keywords(st, 4);
        m->recent = sqlite3_column_int(st, 5) != 0;
    }
    if (rc != SQLITE_DONE) {
        view_failed(s, "reading the messages", mailbox_id);
        index_stmt_done(s->idx, st);
        store_view_free(&v, n);
        return -EIO;
    }
    index_stmt_done(s->idx, st);
    *msgs_r = v;
    *n_r = n;
    return 0;
}

int store_view_lookup(struct store *s, int64_t mailbox_id, const uint32_t *uids, size_t n,
                      struct store_view_msg *out) {
    memset(out, 0, n * sizeof *out);
    if (n == 0) return 0;
    sqlite3_stmt *st;
    if (view_prepare(s, "message lookup",
                     "SELECT id, flags, modseq, keywords, recent FROM messages WHERE mailbox_id=? AND uid=?", &st) < 0)
        return -EIO;
    int rc = SQLITE_DONE;
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_int64(st, 1, mailbox_id);
        sqlite3_bind_int64(st, 2, uids[i]);
        out[i].uid = uids[i];
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            out[i].row = sqlite3_column_int64(st, 0);
            out[i].flags = sqlite3_column_int(st, 1);
            out[i].modseq = (uint64_t)sqlite3_column_int64(st, 2);
            out[i].keywords = dup_keywords(st, 3);
            out[i].recent = sqlite3_column_int(st, 4) != 0;
            rc = sqlite3_step(st); /* (mailbox_id, uid) is unique: done */
        }
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) break;
    }
    if (rc != SQLITE_DONE) {
        view_failed(s, "looking up messages", mailbox_id);
        index_stmt_done(s->idx, st);
        for (size_t i = 0; i < n; i++) store_view_msg_clear(&out[i]);
        memset(out, 0, n * sizeof *out);
        return -EIO;
    }
    index_stmt_done(s->idx, st);
    return 0;
}

int store_view_claim_recent(struct store *s, int64_t mailbox_id, uint32_t after_uid, uint32_t upto_uid) {
    sqlite3_stmt *st;
    if (view_prepare(s, "the \\Recent claim",
                     "UPDATE messages SET recent=0 WHERE mailbox_id=? AND uid>? AND uid<=? AND recent=1", &st) < 0)
        return -EIO;
    sqlite3_bind_int64(st, 1, mailbox_id);
    sqlite3_bind_int64(st, 2, after_uid);
    sqlite3_bind_int64(st, 3, upto_uid);
    int rc = sqlite3_step(st) == SQLITE_DONE ? sqlite3_changes(view_db(s)) : -EIO;
    if (rc < 0) view_failed(s, "claiming \\Recent", mailbox_id);
    index_stmt_done(s->idx, st);
    return rc;
}

int store_mailbox_status(struct store *s, const char *account, const char *name, struct store_mailbox_status *out) {
    memset(out, 0, sizeof *out);
    if (store_mailbox_info(s, account, name, false, &out->info) < 0) return -ENOENT;
    sqlite3_stmt *st;
    if (view_prepare(s, "mailbox status",
                     "SELECT count(*), coalesce(sum((flags & 1) = 0), 0), coalesce(sum(recent), 0),"
                     " coalesce(sum(size), 0) FROM messages WHERE mailbox_id=?",
                     &st) < 0)
        return -EIO;
    sqlite3_bind_int64(st, 1, out->info.id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->messages = (uint64_t)sqlite3_column_int64(st, 0);
        out->unseen = (uint64_t)sqlite3_column_int64(st, 1);
        out->recent = (uint64_t)sqlite3_column_int64(st, 2);
        out->size = (uint64_t)sqlite3_column_int64(st, 3);
    } else {
        view_failed(s, "counting the messages", out->info.id);
    }
    index_stmt_done(s->idx, st);
    return rc == SQLITE_ROW ? 0 : -EIO;
}

int store_mailbox_set_subscribed(struct store *s, const char *account, const char *name, bool on) {
    sqlite3_stmt *st;
    if (view_prepare(s, "a subscription change",
                     on ? "INSERT OR IGNORE INTO subscriptions(account, name) VALUES(?, ?)"
                        : "DELETE FROM subscriptions WHERE account=? AND name=?",
                     &st) < 0)
        return -EIO;
    sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
    if (rc < 0) log_error("store: cannot change the subscription of %s/%s: %s", account, name, sqlite3_errmsg(view_db(s)));
    bool changed = rc == 0 && sqlite3_changes(view_db(s)) > 0;
    index_stmt_done(s->idx, st);
    if (changed) {
        struct store_event ev = {STORE_EV_SUBSCRIPTION, account, 0, 0, 0, NULL, NULL, name, NULL, !on};
        store_notify(s, &ev);
    }
    return rc;
}

int store_mailbox_name_of(struct store *s, int64_t mailbox_id, buf_t *out) {
    sqlite3_stmt *st;
    if (view_prepare(s, "a mailbox name lookup", "SELECT name FROM mailboxes WHERE id=?", &st) < 0) return -EIO;
    sqlite3_bind_int64(st, 1, mailbox_id);
    int rc = sqlite3_step(st);
    int ret = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
    if (ret == 0) buf_append_str(out, (const char *)sqlite3_column_text(st, 0));
    else if (ret == -EIO) view_failed(s, "the name lookup", mailbox_id);
    index_stmt_done(s->idx, st);
    return ret;
}

int store_mailbox_is_subscribed(struct store *s, const char *account, const char *name) {
    sqlite3_stmt *st;
    if (view_prepare(s, "a subscription lookup", "SELECT 1 FROM subscriptions WHERE account=? AND name=?", &st) < 0)
        return -EIO;
    sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int on = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -EIO;
    if (on < 0) log_error("store: cannot read the subscription of %s/%s: %s", account, name, sqlite3_errmsg(view_db(s)));
    index_stmt_done(s->idx, st);
    return on;
}

char **store_subscriptions(struct store *s, const char *account) {
    sqlite3_stmt *st;
    if (view_prepare(s, "the subscription list", "SELECT name FROM subscriptions WHERE account=? ORDER BY name", &st) <
        0)
        return NULL;
    sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
    char **v = xcalloc(1, sizeof *v);
    size_t n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        v = xrealloc(v, (n + 2) * sizeof *v);
        v[n++] = xstrdup(name ? name : "");
        v[n] = NULL;
    }
    index_stmt_done(s->idx, st);
    if (rc != SQLITE_DONE) {
        log_error("store: cannot list the subscriptions of %s: %s", account, sqlite3_errmsg(view_db(s)));
        store_strv_free(v);
        return NULL;
    }
    return v;
}

void store_inbox_free(struct store_inbox_msg **msgs, size_t n) {
    if (!*msgs) return;
    for (size_t i = 0; i < n; i++) free((*msgs)[i].api_id);
    free(*msgs);
    *msgs = NULL;
}

int store_inbox_list(struct store *s, const char *account, struct store_inbox_msg **msgs_r, size_t *n_r) {
    *msgs_r = NULL;
    *n_r = 0;
    sqlite3_stmt *st;
    if (view_prepare(s, "the INBOX list",
                     "SELECT m.id, m.size, m.api_id, m.uid, b.uidvalidity FROM messages m"
                     " JOIN mailboxes b ON b.id = m.mailbox_id"
                     " WHERE b.account = ? AND b.name = 'INBOX' ORDER BY m.uid",
                     &st) < 0)
        return -EIO;
    sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
    struct store_inbox_msg *v = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            v = xrealloc(v, cap * sizeof *v);
        }
        struct store_inbox_msg *m = &v[n++];
        m->row = sqlite3_column_int64(st, 0);
        m->size = sqlite3_column_int64(st, 1);
        const char *api = (const char *)sqlite3_column_text(st, 2);
        m->api_id = xstrdup(api ? api : "");
        m->uid = (uint32_t)sqlite3_column_int64(st, 3);
        m->uidvalidity = (uint32_t)sqlite3_column_int64(st, 4);
    }
    if (rc != SQLITE_DONE) {
        log_error("store: cannot list the INBOX of %s: %s", account, sqlite3_errmsg(view_db(s)));
        index_stmt_done(s->idx, st);
        store_inbox_free(&v, n);
        return -EIO;
    }
    index_stmt_done(s->idx, st);
    *msgs_r = v;
    *n_r = n;
    return 0;
}
