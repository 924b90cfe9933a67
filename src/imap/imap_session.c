/*
 * imap_session - connection, command loop, literals, state, change
 * notifications and login of the IMAP server. See imap_session.h.
 *
 * Framing: a command is lines plus literals. Before parsing, the session
 * scans the input for the command's end with a small incremental framer
 * (a line ending in "{n}" or "{n+}" is followed by n literal bytes), so a
 * 10 MB APPEND is parsed once when complete instead of on every read.
 * Synchronizing literals are answered with "+ OK" as the framer reaches
 * them, after the parser validated the command so far.
 *
 * Changes made by other sessions, SMTP deliveries and other programs reach
 * a session as store events (or Maildir mtime changes) and are queued;
 * they are reported at the points RFC 3501 7.4.1 allows (EXPUNGE never
 * during FETCH, STORE or SEARCH), and at once during IDLE. A client that
 * set NOTIFY (imap_cmd_notify.c) hears of what it asked for shortly
 * after, when no command is running: each command runs with the session as the store's
 * origin, so that what it changed itself is not notified back to it.
 */
#include "imap/imap_session.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "app/sasl.h"
#include "core/invariant.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "imap/imap_internal.h"
#include "imap/imap_mutf7.h"
#include "imap/imap_notify.h"

#define IMAP_CAPS_COMMON                                                                                       \
    "IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE NAMESPACE UNSELECT UIDPLUS MOVE CHILDREN LIST-EXTENDED "        \
    "LIST-STATUS SPECIAL-USE ESEARCH CONDSTORE QRESYNC MULTIAPPEND BINARY CATENATE NOTIFY " IMAP_CAPS_SORT
/* imap_cmd_sort.c */
#define IMAP_CAPS_SORT "SORT SORT=DISPLAY ESORT CONTEXT=SEARCH CONTEXT=SORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES"

struct imap_conn_state {
    struct imap_session s;
    struct imap_framer frame; /* the command being received */
    int busy;    /* input/drain handlers on the stack */
    bool closed; /* on_close ran while busy: freed when the last returns */
};

static void imap_process(struct imap_session *s);

static struct imap_framer *frame_of(struct imap_session *s) {
    return &((struct imap_conn_state *)s)->frame;
}

/* Literal bytes one command may carry, all its literals together: small
 * before login (LOGIN needs a few), a message's worth after. */
static uint64_t literal_limit(const struct imap_session *s) {
    const struct config *cfg = s->app->cfg;
    if (s->state == IMAP_NOAUTH) return (uint64_t)cfg->imap_preauth_max_literal_size;
    return (uint64_t)(cfg->imap_max_literal_size > 0 ? cfg->imap_max_literal_size : cfg->message_size_limit);
}

/* ---- output ------------------------------------------------------------ */

void imap_send_raw(struct imap_session *s, const void *data, size_t len) {
    conn_write(s->conn, data, len);
}

void imap_send(struct imap_session *s, const char *fmt, ...) {
    buf_t b = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (s->app->cfg->verbose)
        log_info("imap[%llu] %s: > %.*s", (unsigned long long)conn_id(s->conn), conn_peer(s->conn),
                 (int)(b.len > 300 ? 300 : b.len), b.data);
    buf_append_str(&b, "\r\n");
    conn_write(s->conn, b.data, b.len);
    buf_free(&b);
}

void imap_tagged(struct imap_session *s, const char *tag, const char *fmt, ...) {
    buf_t b = BUF_INIT;
    buf_printf(&b, "%s ", tag);
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (s->app->cfg->verbose)
        log_info("imap[%llu] %s: > %s", (unsigned long long)conn_id(s->conn), conn_peer(s->conn), buf_cstr(&b));
    buf_append_str(&b, "\r\n");
    conn_write(s->conn, b.data, b.len);
    buf_free(&b);
}

void imap_append_string(buf_t *out, const char *str, size_t len) {
    bool literal = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)str[i];
        if (c == '\r' || c == '\n' || c == 0 || c >= 0x80 || len > 1024) {
            literal = true;
            break;
        }
    }
    if (literal) {
        buf_printf(out, "{%zu}\r\n", len);
        buf_append(out, str, len);
        return;
    }
    buf_append_char(out, '"');
    for (size_t i = 0; i < len; i++) {
        if (str[i] == '"' || str[i] == '\\') buf_append_char(out, '\\');
        buf_append_char(out, str[i]);
    }
    buf_append_char(out, '"');
}

void imap_append_nstring(buf_t *out, const char *str) {
    if (!str) buf_append_str(out, "NIL");
    else imap_append_string(out, str, strlen(str));
}

void imap_append_flags(buf_t *out, int flags, const char *keywords, bool recent) {
    buf_append_char(out, '(');
    size_t start = out->len;
    static const struct {
        int bit;
        const char *name;
    } names[] = {{MSG_ANSWERED, "\\Answered"}, {MSG_FLAGGED, "\\Flagged"}, {MSG_DELETED, "\\Deleted"},
                 {MSG_SEEN, "\\Seen"},         {MSG_DRAFT, "\\Draft"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(flags & names[i].bit)) continue;
        if (out->len > start) buf_append_char(out, ' ');
        buf_append_str(out, names[i].name);
    }
    if (recent) {
        if (out->len > start) buf_append_char(out, ' ');
        buf_append_str(out, "\\Recent");
    }
    if (keywords && *keywords) {
        if (out->len > start) buf_append_char(out, ' ');
        buf_append_str(out, keywords);
    }
    buf_append_char(out, ')');
}

static bool keyword_valid(const char *k, size_t n) {
    if (n == 0 || n > 100) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)k[i];
        if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c)) return false;
    }
    return true;
}

static bool parse_one_flag(const char *f, size_t n, int *flags, buf_t *keywords) {
    if (mem_ieq(f, n, "\\Seen")) *flags |= MSG_SEEN;
    else if (mem_ieq(f, n, "\\Answered")) *flags |= MSG_ANSWERED;
    else if (mem_ieq(f, n, "\\Flagged")) *flags |= MSG_FLAGGED;
    else if (mem_ieq(f, n, "\\Deleted")) *flags |= MSG_DELETED;
    else if (mem_ieq(f, n, "\\Draft")) *flags |= MSG_DRAFT;
    else if (f[0] == '\\') return mem_ieq(f, n, "\\Recent") ? true : false;
    else {
        if (!keyword_valid(f, n)) return false;
        /* keep keywords unique (case-insensitive) */
        const char *p = keywords->data;
        size_t left = keywords->len;
        while (p && left) {
            const char *sp = memchr(p, ' ', left);
            size_t wl = sp ? (size_t)(sp - p) : left;
            if (wl == n && strncasecmp(p, f, n) == 0) return true;
            if (!sp) break;
            left -= wl + 1;
            p = sp + 1;
        }
        if (keywords->len) buf_append_char(keywords, ' ');
        buf_append(keywords, f, n);
    }
    return true;
}

bool imap_parse_flags(const struct imap_arg *a, int *flags, buf_t *keywords) {
    *flags = 0;
    if (a->type == IMAP_ARG_LIST) {
        for (size_t i = 0; i < a->nlist; i++) {
            if (a->list[i].type != IMAP_ARG_ATOM && a->list[i].type != IMAP_ARG_NIL) return false;
            if (!parse_one_flag(a->list[i].str, a->list[i].len, flags, keywords)) return false;
        }
        return true;
    }
    if (a->type != IMAP_ARG_ATOM && a->type != IMAP_ARG_NIL) return false;
    return parse_one_flag(a->str, a->len, flags, keywords);
}

/* ---- snapshot of the selected mailbox --------------------------------- */

struct imap_msg *imap_msg_at(struct imap_session *s, size_t index) {
    /* callers map sequence numbers through imap_exists() first */
    INVARIANT(s->msgs && index < s->msgs->len);
    return &g_array_index(s->msgs, struct imap_msg, index);
}

uint32_t imap_exists(struct imap_session *s) {
    return s->msgs ? s->msgs->len : 0;
}

static size_t uid_index(struct imap_session *s, uint32_t uid, bool *found) {
    size_t lo = 0, hi = s->msgs->len;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        uint32_t u = imap_msg_at(s, mid)->uid;
        if (u < uid) lo = mid + 1;
        else hi = mid;
    }
    *found = lo < s->msgs->len && imap_msg_at(s, lo)->uid == uid;
    return lo;
}

uint32_t imap_seq_of_uid(struct imap_session *s, uint32_t uid) {
    bool found;
    size_t i = uid_index(s, uid, &found);
    return found ? (uint32_t)i + 1 : 0;
}

GArray *imap_resolve_set(struct imap_session *s, const struct imap_seqset *set, bool uid) {
    GArray *out = g_array_new(FALSE, FALSE, sizeof(size_t));
    uint32_t n = imap_exists(s);
    if (n == 0) return out;
    struct imap_seqset r;
    imap_seqset_init(&r);
    for (size_t i = 0; i < set->n; i++) imap_seqset_add(&r, set->r[i].lo, set->r[i].hi);
    uint32_t star = uid ? imap_msg_at(s, n - 1)->uid : n;
    imap_seqset_resolve(&r, star);
    for (size_t k = 0; k < r.n; k++) {
        if (uid) {
            bool found;
            size_t i = uid_index(s, r.r[k].lo, &found);
            for (; i < n && imap_msg_at(s, i)->uid <= r.r[k].hi; i++) g_array_append_val(out, i);
        } else {
            for (uint64_t q = r.r[k].lo; q <= r.r[k].hi && q <= n; q++) {
                size_t i = (size_t)q - 1;
                g_array_append_val(out, i);
            }
        }
    }
    imap_seqset_free(&r);
    return out;
}

static void msg_clear(struct imap_msg *m) {
    free(m->keywords);
    m->keywords = NULL;
}

/* Load rows with uid > after into the snapshot; returns how many. */
static uint32_t load_new_rows(struct imap_session *s, uint32_t after) {
    struct store_view_msg *v;
    size_t n;
    if (store_view_load(s->app->store, s->mailbox_id, after, &v, &n) < 0) return 0;
    bool any_recent = false;
    for (size_t k = 0; k < n; k++) {
        /* \Recent: not yet claimed by a read-write SELECT (RFC 3501 2.3.2) */
        struct imap_msg m = {
            .uid = v[k].uid,
            .row = v[k].row,
            .flags = v[k].flags,
            .recent = v[k].recent,
            .modseq = v[k].modseq,
            .keywords = v[k].keywords, /* taken over */
        };
        v[k].keywords = NULL;
        any_recent |= m.recent;
        g_array_append_val(s->msgs, m);
    }
    if (any_recent && !s->readonly) {
        /* this session has them as \Recent; no other session will */
        store_view_claim_recent(s->app->store, s->mailbox_id, after, v[n - 1].uid);
    }
    store_view_free(&v, n);
    return (uint32_t)n;
}

static void refresh_mailbox_meta(struct imap_session *s) {
    struct store_mailbox_info mb;
    if (store_mailbox_info(s->app->store, s->account, s->mailbox, false, &mb) == 0)
        s->highestmodseq = mb.highestmodseq;
}

static void send_flags_update(struct imap_session *s, size_t i) {
    struct imap_msg *m = imap_msg_at(s, i);
    buf_t b = BUF_INIT;
    buf_printf(&b, "* %zu FETCH (", i + 1);
    buf_append_str(&b, "FLAGS ");
    imap_append_flags(&b, m->flags, m->keywords, m->recent);
    buf_printf(&b, " UID %u", m->uid);
    if (s->condstore) buf_printf(&b, " MODSEQ (%llu)", (unsigned long long)m->modseq);
    buf_append_char(&b, ')');
    imap_send(s, "%s", buf_cstr(&b));
    buf_free(&b);
}

/* Add the keywords of a space-separated list to the announced set;
 * true if one was new. */
static bool learn_keywords(struct imap_session *s, const char *keywords) {
    if (!keywords || !*keywords) return false;
    if (!s->kw_known) {
        s->kw_known = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
        s->kw_order = g_ptr_array_new_with_free_func(free);
    }
    bool added = false;
    const char *p = keywords;
    while (*p) {
        size_t n = strcspn(p, " ");
        if (n) {
            char *low = xstrndup(p, n);
            for (char *c = low; *c; c++)
                if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
            if (!g_hash_table_contains(s->kw_known, low)) {
                g_hash_table_add(s->kw_known, low);
                g_ptr_array_add(s->kw_order, xstrndup(p, n));
                added = true;
            } else {
                free(low);
            }
        }
        p += n;
        while (*p == ' ') p++;
    }
    return added;
}

static void forget_keywords(struct imap_session *s) {
    if (s->kw_known) g_hash_table_destroy(s->kw_known);
    if (s->kw_order) g_ptr_array_free(s->kw_order, TRUE);
    s->kw_known = NULL;
    s->kw_order = NULL;
}

void imap_send_flags(struct imap_session *s) {
    buf_t kw = BUF_INIT;
    for (guint i = 0; s->kw_order && i < s->kw_order->len; i++)
        buf_printf(&kw, " %s", (const char *)g_ptr_array_index(s->kw_order, i));
    imap_send(s, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft%s)", buf_cstr(&kw));
    if (s->readonly) imap_send(s, "* OK [PERMANENTFLAGS ()] Read-only mailbox.");
    else
        imap_send(s, "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft%s \\*)] Flags permitted.",
                  buf_cstr(&kw));
    buf_free(&kw);
}

void imap_announce_keywords(struct imap_session *s, const char *keywords) {
    if (s->state == IMAP_SELECTED && learn_keywords(s, keywords)) imap_send_flags(s);
}

void imap_enable_condstore(struct imap_session *s) {
    if (s->condstore) return;
    s->condstore = true;
    if (s->state != IMAP_SELECTED) return;
    refresh_mailbox_meta(s);
    imap_send(s, "* OK [HIGHESTMODSEQ %llu] Highest", (unsigned long long)s->highestmodseq);
}

void imap_sync(struct imap_session *s, bool allow_expunge) {
    if (s->state != IMAP_SELECTED) return;
    if (s->pending_rescan) {
        s->pending_rescan = false;
        imap_rescan(s);
    }
    if (allow_expunge && s->pending_expunge->len) {
        imap_contexts_expunging(s, (const uint32_t *)(void *)s->pending_expunge->data, s->pending_expunge->len);
        if (s->qresync) {
            struct imap_seqset gone;
            imap_seqset_init(&gone);
            for (guint k = 0; k < s->pending_expunge->len; k++) {
                uint32_t uid = g_array_index(s->pending_expunge, uint32_t, k);
                bool found;
                size_t i = uid_index(s, uid, &found);
                if (!found) continue;
                msg_clear(imap_msg_at(s, i));
                g_array_remove_index(s->msgs, (guint)i);
                imap_seqset_add(&gone, uid, uid);
            }
            if (gone.n) {
                imap_seqset_resolve(&gone, 0);
                buf_t b = BUF_INIT;
                imap_seqset_format(&gone, &b);
                imap_send(s, "* VANISHED %s", buf_cstr(&b));
                buf_free(&b);
            }
            imap_seqset_free(&gone);
        } else {
            for (guint k = 0; k < s->pending_expunge->len; k++) {
                uint32_t uid = g_array_index(s->pending_expunge, uint32_t, k);
                bool found;
                size_t i = uid_index(s, uid, &found);
                if (!found) continue;
                msg_clear(imap_msg_at(s, i));
                g_array_remove_index(s->msgs, (guint)i);
                imap_send(s, "* %zu EXPUNGE", i + 1);
            }
        }
        g_array_set_size(s->pending_expunge, 0);
    }
    if (s->pending_new) {
        s->pending_new = false;
        uint32_t last = s->msgs->len ? imap_msg_at(s, s->msgs->len - 1)->uid : 0;
        guint before = s->msgs->len;
        if (load_new_rows(s, last) > 0) {
            bool added = false;
            for (guint i = before; i < s->msgs->len; i++) added |= learn_keywords(s, imap_msg_at(s, i)->keywords);
            if (added) imap_send_flags(s);
            imap_send(s, "* %u EXISTS", imap_exists(s));
            for (guint i = before; i < s->msgs->len; i++) imap_context_touch(s, imap_msg_at(s, i)->uid);
            s->ctx_shifted = true;
            uint32_t recent = 0;
            for (guint i = 0; i < s->msgs->len; i++)
                if (imap_msg_at(s, i)->recent) recent++;
            imap_send(s, "* %u RECENT", recent);
            imap_notify_new_messages(s, before, s->msgs->len);
        }
    }
    if (s->pending_update->len) {
        size_t nu = s->pending_update->len;
        const uint32_t *uids = (const uint32_t *)(void *)s->pending_update->data;
        struct store_view_msg *now = xcalloc(nu, sizeof *now);
        if (store_view_lookup(s->app->store, s->mailbox_id, uids, nu, now) == 0) {
            for (size_t k = 0; k < nu; k++) {
                bool found;
                size_t i = uid_index(s, uids[k], &found);
                if (!found || !now[k].row) continue;
                struct imap_msg *m = imap_msg_at(s, i);
                if (now[k].modseq != m->modseq || now[k].flags != m->flags) {
                    m->flags = now[k].flags;
                    m->modseq = now[k].modseq;
                    free(m->keywords);
                    m->keywords = now[k].keywords; /* taken over */
                    now[k].keywords = NULL;
                    imap_announce_keywords(s, m->keywords);
                    send_flags_update(s, i);
                    imap_context_touch(s, m->uid);
                }
            }
            for (size_t k = 0; k < nu; k++) store_view_msg_clear(&now[k]);
        }
        free(now);
        g_array_set_size(s->pending_update, 0);
    }
    imap_contexts_refresh(s);
    refresh_mailbox_meta(s);
}

void imap_rescan(struct imap_session *s) {
    /* Diff the snapshot with the index: gone UIDs become pending expunges,
     * changed flags pending updates, new UIDs pending new. */
    struct store_view_msg *v;
    size_t nv;
    if (store_view_load(s->app->store, s->mailbox_id, 0, &v, &nv) < 0) return; /* logged; nothing is concluded */
    size_t i = 0;
    uint32_t last = s->msgs->len ? imap_msg_at(s, s->msgs->len - 1)->uid : 0;
    for (size_t k = 0; k < nv; k++) {
        uint32_t uid = v[k].uid;
        while (i < s->msgs->len && imap_msg_at(s, i)->uid < uid) {
            uint32_t gone = imap_msg_at(s, i)->uid;
            g_array_append_val(s->pending_expunge, gone);
            i++;
        }
        if (i < s->msgs->len && imap_msg_at(s, i)->uid == uid) {
            struct imap_msg *m = imap_msg_at(s, i);
            if (m->flags != v[k].flags || m->modseq != v[k].modseq) g_array_append_val(s->pending_update, uid);
            i++;
        } else if (uid > last) {
            s->pending_new = true;
        }
    }
    for (; i < s->msgs->len; i++) {
        uint32_t gone = imap_msg_at(s, i)->uid;
        g_array_append_val(s->pending_expunge, gone);
    }
    store_view_free(&v, nv);
}

void imap_check_maildir(struct imap_session *s) {
    /* changes found arrive as STORE_EV_CHANGED (imap_store_event) */
    if (s->state == IMAP_SELECTED) store_sync_mailbox(s->app->store, s->account, s->mailbox);
}

void imap_close_mailbox(struct imap_session *s) {
    if (s->msgs) {
        for (guint i = 0; i < s->msgs->len; i++) msg_clear(imap_msg_at(s, i));
        g_array_free(s->msgs, TRUE);
    }
    s->msgs = NULL;
    imap_contexts_free(s);
    imap_notify_selected_closed(s);
    forget_keywords(s);
    free(s->mailbox);
    s->mailbox = NULL;
    s->mailbox_id = 0;
    g_array_set_size(s->pending_expunge, 0);
    g_array_set_size(s->pending_update, 0);
    s->pending_new = false;
    s->pending_rescan = false;
    if (s->state == IMAP_SELECTED) s->state = IMAP_AUTH;
}

bool imap_open_mailbox(struct imap_session *s, const char *name, bool readonly) {
    imap_close_mailbox(s);
    struct store_mailbox_info mb;
    buf_t p = BUF_INIT;
    store_mailbox_path(s->app->store, s->account, name, &p);
    struct stat st;
    bool exists = stat(buf_cstr(&p), &st) == 0;
    if (!exists && strcmp(name, "INBOX") == 0) {
        store_mailbox_create(s->app->store, s->account, "INBOX");
        exists = true;
    }
    if (!exists) {
        buf_free(&p);
        return false;
    }
    /* pick up outside changes before building the snapshot */
    buf_free(&p);
    store_sync_mailbox(s->app->store, s->account, name);
    if (store_mailbox_info(s->app->store, s->account, name, true, &mb) < 0) return false;
    s->mailbox = xstrdup(name);
    s->mailbox_id = mb.id;
    s->uidvalidity = mb.uidvalidity;
    s->highestmodseq = mb.highestmodseq;
    s->readonly = readonly;
    s->msgs = g_array_new(FALSE, FALSE, sizeof(struct imap_msg));
    load_new_rows(s, 0);
    for (guint i = 0; i < s->msgs->len; i++) learn_keywords(s, imap_msg_at(s, i)->keywords);
    s->state = IMAP_SELECTED;
    return true;
}

/* Store events: queue what concerns the selected mailbox. */
static void imap_store_event(const struct store_event *ev, void *arg) {
    struct imap_session *s = arg;
    imap_notify_event(s, ev);
    if (s->state != IMAP_SELECTED || ev->mailbox_id != s->mailbox_id) return;
    unsigned kind = ev->type == STORE_EV_NEW      ? IMAP_NOTIFY_MESSAGE_NEW
                    : ev->type == STORE_EV_EXPUNGE ? IMAP_NOTIFY_MESSAGE_EXPUNGE
                    : ev->type == STORE_EV_UPDATE  ? IMAP_NOTIFY_FLAG_CHANGE
                                                   : IMAP_NOTIFY_MESSAGE_EVENTS;
    switch (ev->type) {
    case STORE_EV_NEW: s->pending_new = true; break;
    case STORE_EV_EXPUNGE: g_array_append_val(s->pending_expunge, ev->uid); break;
    case STORE_EV_UPDATE:
        /* this session's own STORE answered with the stored result */
        if (ev->origin == s) return;
        g_array_append_val(s->pending_update, ev->uid);
        break;
    case STORE_EV_CHANGED: s->pending_rescan = true; break;
    case STORE_EV_MAILBOX:
    case STORE_EV_SUBSCRIPTION: return;
    }
    /* during IDLE: what NOTIFY asks for, or everything without NOTIFY
     * (RFC 5465 4); between commands: what NOTIFY asks for */
    if (s->idling && (!s->notify || imap_notify_selected_wants(s, kind))) imap_sync(s, true);
    else if (imap_notify_selected_wants(s, kind)) imap_notify_later(s);
}

bool imap_mailbox_arg(struct imap_session *s, const char *tag, const struct imap_arg *a, buf_t *out) {
    const char *reason = "Invalid mailbox name";
    if (!imap_arg_is_astring(a)) {
        imap_tagged(s, tag, "BAD Missing mailbox name");
        return false;
    }
    buf_t dec = BUF_INIT;
    if (!imap_mailbox_name_from_client(a->str, a->len, &dec, &reason)) {
        buf_free(&dec);
        imap_tagged(s, tag, "NO %s", reason);
        return false;
    }
    buf_free(&dec);
    /* names stay in modified UTF-7 on disk and in the index (as Dovecot) */
    if (mem_ieq(a->str, a->len, "INBOX")) buf_append_str(out, "INBOX");
    else buf_append(out, a->str, a->len);
    return true;
}

bool imap_command_mailbox(const struct imap_command *cmd, buf_t *out, bool *all) {
    const char *name = cmd->name;
    const struct imap_arg *args = cmd->args;
    size_t nargs = cmd->nargs;
    *all = false;
    if (!strcasecmp(name, "UID") && nargs > 0 && args[0].type == IMAP_ARG_ATOM) {
        name = args[0].str;
        args++;
        nargs--;
    }
    size_t at;
    if (!strcasecmp(name, "SELECT") || !strcasecmp(name, "EXAMINE") || !strcasecmp(name, "STATUS") ||
        !strcasecmp(name, "APPEND") || !strcasecmp(name, "DELETE") || !strcasecmp(name, "RENAME")) {
        at = 0;
    } else if (!strcasecmp(name, "COPY") || !strcasecmp(name, "MOVE")) {
        at = 1;
    } else if (!strcasecmp(name, "LIST")) {
        for (size_t i = 0; i + 1 < nargs; i++) {
            if (!imap_arg_atom_is(&args[i], "RETURN") || args[i + 1].type != IMAP_ARG_LIST) continue;
            for (size_t k = 0; k < args[i + 1].nlist; k++)
                if (imap_arg_atom_is(&args[i + 1].list[k], "STATUS")) *all = true;
        }
        return *all;
    } else {
        return false;
    }
    if (nargs <= at || !imap_arg_is_astring(&args[at])) return false;
    const struct imap_arg *a = &args[at];
    buf_t dec = BUF_INIT;
    const char *reason;
    bool ok = imap_mailbox_name_from_client(a->str, a->len, &dec, &reason);
    buf_free(&dec);
    if (!ok) return false;
    if (mem_ieq(a->str, a->len, "INBOX")) buf_append_str(out, "INBOX");
    else buf_append(out, a->str, a->len);
    return true;
}

/* ---- commands of any state ------------------------------------------- */

static void send_capability(struct imap_session *s) {
    buf_t b = BUF_INIT;
    buf_append_str(&b, "* CAPABILITY " IMAP_CAPS_COMMON);
    if (s->state == IMAP_NOAUTH) {
        if (!conn_is_tls(s->conn) && s->app->tls) buf_append_str(&b, " STARTTLS");
        bool plain_ok = conn_is_tls(s->conn) || s->app->cfg->imap_plaintext_login;
        buf_append_str(&b, plain_ok ? " AUTH=PLAIN" : " LOGINDISABLED");
    }
    imap_send(s, "%s", buf_cstr(&b));
    buf_free(&b);
}

static void cmd_capability(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs,
                           bool uid) {
    send_capability(s);
    imap_tagged(s, tag, "OK Capability completed.");
}

static void cmd_noop(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid) {
    imap_check_maildir(s);
    imap_sync(s, true);
    imap_tagged(s, tag, "OK NOOP completed.");
}

static void cmd_logout(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid) {
    imap_send(s, "* BYE Logging out");
    imap_tagged(s, tag, "OK Logout completed.");
    s->state = IMAP_LOGOUT;
    conn_close(s->conn);
}

static void cmd_starttls(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs,
                         bool uid) {
    if (conn_is_tls(s->conn)) {
        imap_tagged(s, tag, "BAD TLS is already active.");
        return;
    }
    if (!s->app->tls) {
        imap_tagged(s, tag, "NO TLS is not available.");
        return;
    }
    imap_tagged(s, tag, "OK Begin TLS negotiation now.");
    if (conn_starttls(s->conn) < 0) conn_close(s->conn);
    /* the framer's view of the input is void: pending bytes were dropped */
    imap_framer_init(frame_of(s));
}

/* Logged-in sessions per account, for imap_max_sessions_per_user. */
static GHashTable *imap_user_sessions;

static int user_sessions(const char *account) {
    return imap_user_sessions ? GPOINTER_TO_INT(g_hash_table_lookup(imap_user_sessions, account)) : 0;
}

static void user_sessions_add(const char *account, int delta) {
    if (!imap_user_sessions) imap_user_sessions = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
    int n = user_sessions(account) + delta;
    if (n <= 0) g_hash_table_remove(imap_user_sessions, account);
    else g_hash_table_insert(imap_user_sessions, xstrdup(account), GINT_TO_POINTER(n));
}

static void login_reply(struct imap_session *s, const char *tag);
static void session_enter(struct imap_session *s);
static void session_leave(struct imap_session *s);

static void login_ok(struct imap_session *s, const char *tag, char *account) {
    if (user_sessions(account) >= s->app->cfg->imap_max_sessions_per_user) {
        log_warn("imap[%llu] %s: login %s refused: %d sessions already", (unsigned long long)conn_id(s->conn),
                 conn_peer(s->conn), account, user_sessions(account));
        imap_tagged(s, tag, "NO [LIMIT] Maximum number of connections from user exceeded");
        free(account);
        return;
    }
    user_sessions_add(account, 1);
    s->account = account;
    s->state = IMAP_AUTH;
    s->parser.max_literal = literal_limit(s);
    log_info("imap[%llu] %s: login %s", (unsigned long long)conn_id(s->conn), conn_peer(s->conn), account);
    /* mail still being indexed from start does not delay the login: a
     * command that needs such a mailbox waits for it (hold_for_index) */
    login_reply(s, tag);
}

static void login_reply(struct imap_session *s, const char *tag) {
    imap_ensure_special_folders(s);
    buf_t b = BUF_INIT;
    buf_append_str(&b, "OK [CAPABILITY " IMAP_CAPS_COMMON "] Logged in");
    imap_tagged(s, tag, "%s", buf_cstr(&b));
    buf_free(&b);
}

static void login_fail_reply(struct conn *c, void *arg) {
    struct imap_session *s = arg;
    s->waiting = false;
    if (s->auth_locked)
        imap_tagged(s, s->auth_tag ? s->auth_tag : "*", "NO [UNAVAILABLE] Too many failed logins, try again later.");
    else
        imap_tagged(s, s->auth_tag ? s->auth_tag : "*", "NO [AUTHENTICATIONFAILED] Authentication failed.");
    free(s->auth_tag);
    s->auth_tag = NULL;
    if (s->auth_failures >= s->app->cfg->auth_max_failures) {
        imap_send(s, "* BYE Too many failed logins.");
        conn_close(c);
        return;
    }
    conn_resume(c);
}

static void do_login(struct imap_session *s, const char *tag, const char *user, const char *pw, size_t pwlen) {
    char *account = NULL;
    int64_t delay;
    int ok = app_login_guarded(s->app, conn_peer(s->conn), user, pw, pwlen, &account, &delay);
    if (ok == 1) {
        login_ok(s, tag, account);
        return;
    }
    s->auth_locked = ok < 0;
    s->auth_failures++;
    log_warn("imap[%llu] %s: authentication failed for %s%s", (unsigned long long)conn_id(s->conn),
             conn_peer(s->conn), user, ok < 0 ? " (refused unchecked: too many recent failures)" : "");
    s->app->stats.auth_failures++;
    free(s->auth_tag);
    s->auth_tag = xstrdup(tag);
    s->waiting = true;
    conn_pause(s->conn);
    conn_after(s->conn, delay, login_fail_reply, s);
}

static bool plaintext_allowed(struct imap_session *s, const char *tag) {
    if (conn_is_tls(s->conn) || s->app->cfg->imap_plaintext_login) return true;
    imap_tagged(s, tag, "NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure connections.");
    return false;
}

static void cmd_login(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid) {
    if (nargs != 2 || !imap_arg_is_astring(&args[0]) || !imap_arg_is_astring(&args[1])) {
        imap_tagged(s, tag, "BAD Syntax: LOGIN user password");
        return;
    }
    if (!plaintext_allowed(s, tag)) return;
    if (memchr(args[0].str, '\0', args[0].len)) {
        imap_tagged(s, tag, "NO [AUTHENTICATIONFAILED] Authentication failed.");
        return;
    }
    do_login(s, tag, args[0].str, args[1].str, args[1].len);
}

static void authenticate_plain(struct imap_session *s, const char *tag, const char *b64, size_t len) {
    buf_t dec = BUF_INIT;
    const char *user, *pw;
    size_t ul, pl;
    if (sasl_plain_decode(b64, len, &dec, &user, &ul, &pw, &pl) < 0) {
        imap_tagged(s, tag, "BAD Invalid SASL PLAIN response.");
        buf_free(&dec);
        return;
    }
    char *u = xstrndup(user, ul);
    do_login(s, tag, u, pw, pl);
    free(u);
    buf_free(&dec);
}

static void cmd_authenticate(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs,
                             bool uid) {
    if (nargs < 1 || args[0].type != IMAP_ARG_ATOM) {
        imap_tagged(s, tag, "BAD Syntax: AUTHENTICATE mechanism");
        return;
    }
    if (!imap_arg_atom_is(&args[0], "PLAIN")) {
        imap_tagged(s, tag, "NO Unsupported authentication mechanism.");
        return;
    }
    if (!plaintext_allowed(s, tag)) return;
    if (nargs >= 2 && imap_arg_is_astring(&args[1])) {
        /* SASL-IR; "=" is an empty initial response */
        if (args[1].len == 1 && args[1].str[0] == '=') authenticate_plain(s, tag, "", 0);
        else authenticate_plain(s, tag, args[1].str, args[1].len);
        return;
    }
    free(s->auth_tag);
    s->auth_tag = xstrdup(tag);
    imap_send(s, "+ ");
}

static void cmd_id(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid) {
    imap_send(s, "* ID (\"name\" \"devmail\" \"vendor\" \"devmail\" \"support-url\" NIL)");
    imap_tagged(s, tag, "OK ID completed.");
}

static void cmd_enable(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid) {
    buf_t on = BUF_INIT;
    for (size_t i = 0; i < nargs; i++) {
        if (imap_arg_atom_is(&args[i], "CONDSTORE") && !s->condstore) {
            imap_enable_condstore(s);
            buf_append_str(&on, " CONDSTORE");
        } else if (imap_arg_atom_is(&args[i], "QRESYNC") && !s->qresync) {
            s->qresync = true;
            s->condstore = true;
            buf_append_str(&on, " QRESYNC");
        }
    }
    imap_send(s, "* ENABLED%s", buf_cstr(&on));
    buf_free(&on);
    imap_tagged(s, tag, "OK Enabled.");
}

static void cmd_namespace(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs,
                          bool uid) {
    imap_send(s, "* NAMESPACE ((\"\" \".\")) NIL NIL");
    imap_tagged(s, tag, "OK Namespace completed.");
}

static void idle_poll_cb(evutil_socket_t fd, short what, void *arg) {
    struct imap_session *s = arg;
    if (!s->idling) return;
    imap_check_maildir(s);
    imap_sync(s, true);
}

static void cmd_idle(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid) {
    s->idling = true;
    s->idle_tag = xstrdup(tag);
    imap_send(s, "+ idling");
    imap_sync(s, true);
    if (s->state == IMAP_SELECTED) {
        if (!s->idle_poll) s->idle_poll = event_new(s->app->base, -1, EV_PERSIST, idle_poll_cb, s);
        struct timeval tv = {IMAP_IDLE_POLL_MS / 1000, (IMAP_IDLE_POLL_MS % 1000) * 1000};
        event_add(s->idle_poll, &tv);
    }
}

static void idle_done(struct imap_session *s) {
    s->idling = false;
    if (s->idle_poll) event_del(s->idle_poll);
    imap_tagged(s, s->idle_tag, "OK Idle completed.");
    free(s->idle_tag);
    s->idle_tag = NULL;
}

/* ---- dispatch ---------------------------------------------------------- */

enum { CMD_NOAUTH = 1, CMD_AUTH = 2, CMD_SELECTED = 4, CMD_UID = 8 };

static const struct imap_command_def {
    const char *name;
    imap_cmd_fn fn;
    int states;
} imap_commands[] = {
    {"CAPABILITY", cmd_capability, CMD_NOAUTH | CMD_AUTH | CMD_SELECTED},
    {"NOOP", cmd_noop, CMD_NOAUTH | CMD_AUTH | CMD_SELECTED},
    {"LOGOUT", cmd_logout, CMD_NOAUTH | CMD_AUTH | CMD_SELECTED},
    {"ID", cmd_id, CMD_NOAUTH | CMD_AUTH | CMD_SELECTED},
    {"STARTTLS", cmd_starttls, CMD_NOAUTH},
    {"LOGIN", cmd_login, CMD_NOAUTH},
    {"AUTHENTICATE", cmd_authenticate, CMD_NOAUTH},
    {"ENABLE", cmd_enable, CMD_AUTH | CMD_SELECTED},
    {"NAMESPACE", cmd_namespace, CMD_AUTH | CMD_SELECTED},
    {"IDLE", cmd_idle, CMD_AUTH | CMD_SELECTED},
    {"NOTIFY", imap_cmd_notify, CMD_AUTH | CMD_SELECTED},
    {"SELECT", imap_cmd_select, CMD_AUTH | CMD_SELECTED},
    {"EXAMINE", imap_cmd_examine, CMD_AUTH | CMD_SELECTED},
    {"CREATE", imap_cmd_create, CMD_AUTH | CMD_SELECTED},
    {"DELETE", imap_cmd_delete, CMD_AUTH | CMD_SELECTED},
    {"RENAME", imap_cmd_rename, CMD_AUTH | CMD_SELECTED},
    {"SUBSCRIBE", imap_cmd_subscribe, CMD_AUTH | CMD_SELECTED},
    {"UNSUBSCRIBE", imap_cmd_unsubscribe, CMD_AUTH | CMD_SELECTED},
    {"LIST", imap_cmd_list, CMD_AUTH | CMD_SELECTED},
    {"LSUB", imap_cmd_lsub, CMD_AUTH | CMD_SELECTED},
    {"STATUS", imap_cmd_status, CMD_AUTH | CMD_SELECTED},
    {"APPEND", imap_cmd_append, CMD_AUTH | CMD_SELECTED},
    {"CHECK", imap_cmd_check, CMD_SELECTED},
    {"CLOSE", imap_cmd_close, CMD_SELECTED},
    {"UNSELECT", imap_cmd_unselect, CMD_SELECTED},
    {"EXPUNGE", imap_cmd_expunge, CMD_SELECTED | CMD_UID},
    {"SEARCH", imap_cmd_search, CMD_SELECTED | CMD_UID},
    {"SORT", imap_cmd_sort, CMD_SELECTED | CMD_UID},
    {"CANCELUPDATE", imap_cmd_cancelupdate, CMD_SELECTED},
    {"THREAD", imap_cmd_thread, CMD_SELECTED | CMD_UID},
    {"FETCH", imap_cmd_fetch, CMD_SELECTED | CMD_UID},
    {"STORE", imap_cmd_store, CMD_SELECTED | CMD_UID},
    {"COPY", imap_cmd_copy, CMD_SELECTED | CMD_UID},
    {"MOVE", imap_cmd_move, CMD_SELECTED | CMD_UID},
};

static bool bad_command(struct imap_session *s) {
    if (++s->bad_commands >= s->app->cfg->imap_max_bad_commands) {
        imap_send(s, "* BYE Too many invalid commands.");
        conn_close(s->conn);
        return true;
    }
    return false;
}

static void dispatch(struct imap_session *s, struct imap_command *cmd) {
    const char *tag = cmd->tag;
    const char *name = cmd->name;
    const struct imap_arg *args = cmd->args;
    size_t nargs = cmd->nargs;
    bool uid = false;
    if (!strcmp(name, "UID")) {
        if (nargs < 1 || args[0].type != IMAP_ARG_ATOM) {
            imap_tagged(s, tag, "BAD Syntax: UID command");
            bad_command(s);
            return;
        }
        uid = true;
        name = args[0].str;
        args++;
        nargs--;
    }
    for (size_t i = 0; i < sizeof imap_commands / sizeof imap_commands[0]; i++) {
        const struct imap_command_def *d = &imap_commands[i];
        if (strcasecmp(d->name, name) != 0) continue;
        if (uid && !(d->states & CMD_UID)) break;
        int need = s->state == IMAP_NOAUTH ? CMD_NOAUTH : s->state == IMAP_AUTH ? CMD_AUTH : CMD_SELECTED;
        if (!(d->states & need)) {
            if (s->state == IMAP_NOAUTH) imap_tagged(s, tag, "BAD Command not valid before login.");
            else if (d->states == CMD_NOAUTH) imap_tagged(s, tag, "BAD Command not valid after login.");
            else imap_tagged(s, tag, "BAD No mailbox selected.");
            bad_command(s);
            return;
        }
        /* the store's events of this command carry the session: NOTIFY
         * and the flag updates skip what it did itself */
        /* what NOTIFY gathered happened before this command: it goes first */
        imap_notify_flush(s);
        const void *prev = store_origin_begin(s->app->store, s);
        s->in_command = true;
        d->fn(s, tag, args, nargs, uid);
        s->in_command = false;
        store_origin_end(s->app->store, prev);
        imap_notify_flush(s);
        return;
    }
    imap_tagged(s, tag, "BAD Error in IMAP command %s: Unknown command.", name);
    bad_command(s);
}

/* ---- mail still being indexed from start ------------------------------- */

static void held_indexed(void *arg);

/* A command that needs a mailbox the start-up indexing has not reached
 * yet waits for it, so that the client never sees a half-indexed mailbox;
 * the commands after it wait too, keeping their order. Takes cmd when it
 * returns true. */
static bool hold_for_index(struct imap_session *s, struct imap_command *cmd) {
    if (s->state == IMAP_NOAUTH || !cmd->name) return false;
    buf_t box = BUF_INIT;
    bool all = false;
    if (!imap_command_mailbox(cmd, &box, &all) ||
        store_when_ready(s->app->store, s->account, all ? NULL : buf_cstr(&box), held_indexed, s)) {
        buf_free(&box);
        return false;
    }
    buf_free(&box);
    s->held = xmalloc(sizeof *s->held);
    *s->held = *cmd;
    s->waiting = true;
    conn_pause(s->conn);
    return true;
}

static void held_indexed(void *arg) {
    struct imap_session *s = arg;
    struct conn *c = s->conn;
    conn_ref(c);
    session_enter(s);
    struct imap_command *cmd = s->held;
    s->held = NULL;
    s->waiting = false;
    dispatch(s, cmd);
    imap_command_free(cmd);
    free(cmd);
    if (!conn_is_closing(c) && !s->waiting) conn_resume(c);
    session_leave(s);
    conn_unref(c);
}

/* ---- input ------------------------------------------------------------- */

static void handle_parse_error(struct imap_session *s, struct imap_command *cmd, enum imap_parse_result r,
                               size_t consumed) {
    struct evbuffer *in = conn_input(s->conn);
    const char *tag = cmd->tag ? cmd->tag : "*";
    if (r == IMAP_PARSE_TOOBIG_LITERAL) {
        imap_tagged(s, tag, "NO [TOOBIG] %s", cmd->error ? cmd->error : "Literal too large.");
        if (cmd->literal_nonsync) {
            imap_send(s, "* BYE Literal too large.");
            conn_close(s->conn);
            return;
        }
        evbuffer_drain(in, consumed);
    } else if (r == IMAP_PARSE_TOOBIG_LINE) {
        imap_send(s, "* BYE %s", cmd->error ? cmd->error : "Command line too long.");
        conn_close(s->conn);
        return;
    } else {
        if (cmd->tag) imap_tagged(s, tag, "BAD %s", cmd->error ? cmd->error : "Syntax error.");
        else imap_send(s, "* BAD %s", cmd->error ? cmd->error : "Syntax error.");
        evbuffer_drain(in, consumed);
    }
    imap_framer_init(frame_of(s));
    imap_parser_reset(&s->parser);
    bad_command(s);
}

/* One plain line for IDLE's DONE or an AUTHENTICATE response. */
static bool take_line(struct imap_session *s, buf_t *line) {
    struct evbuffer *in = conn_input(s->conn);
    size_t have = evbuffer_get_length(in);
    if (!have) return false;
    size_t max = (size_t)s->app->cfg->imap_max_line_length;
    size_t look = have < max + 2 ? have : max + 2;
    const char *p = (const char *)evbuffer_pullup(in, (ssize_t)look);
    size_t ll, consumed;
    enum imap_parse_result r = imap_parser_line(p, look, max + 2, &ll, &consumed);
    if (r == IMAP_PARSE_NEED_MORE) return false;
    if (r == IMAP_PARSE_TOOBIG_LINE) {
        imap_send(s, "* BYE Line too long.");
        conn_close(s->conn);
        return false;
    }
    buf_append(line, p, r == IMAP_PARSE_COMPLETE ? ll : 0);
    evbuffer_drain(in, consumed);
    return true;
}

static void imap_process(struct imap_session *s) {
    size_t max_line = (size_t)s->app->cfg->imap_max_line_length;
    while (!conn_is_closing(s->conn) && !s->waiting && !s->cont && s->state != IMAP_LOGOUT) {
        /* answers the client has not read (pipelined FETCHes of big
         * messages): no further command until it reads them */
        if (conn_output_full(s->conn)) return;
        /* fetched each time: STARTTLS replaces the connection's buffers */
        struct evbuffer *in = conn_input(s->conn);
        if (s->idling) {
            buf_t line = BUF_INIT;
            if (!take_line(s, &line)) {
                buf_free(&line);
                return;
            }
            if (imap_parser_is_done(line.data ? line.data : "", line.len)) idle_done(s);
            else {
                imap_send(s, "* BAD Expected DONE.");
                idle_done(s);
            }
            buf_free(&line);
            continue;
        }
        if (s->auth_tag) {
            buf_t line = BUF_INIT;
            if (!take_line(s, &line)) {
                buf_free(&line);
                return;
            }
            char *tag = s->auth_tag;
            s->auth_tag = NULL;
            if (line.len == 1 && line.data[0] == '*') imap_tagged(s, tag, "BAD Authentication aborted.");
            else authenticate_plain(s, tag, line.data ? line.data : "", line.len);
            free(tag);
            buf_free(&line);
            continue;
        }
        /* frame the next command: find its end, holding no more of it
         * than its literals are allowed (imap_framer_feed) */
        struct imap_framer *f = frame_of(s);
        size_t have = evbuffer_get_length(in);
        bool complete = false;
        bool again = false;
        while (f->pos < have && !complete) {
            struct evbuffer_ptr start;
            struct evbuffer_iovec v;
            evbuffer_ptr_set(in, &start, (size_t)f->pos, EVBUFFER_PTR_SET);
            if (evbuffer_peek(in, -1, &start, &v, 1) < 1 || v.iov_len == 0) break;
            size_t used;
            enum imap_frame_result fr = imap_framer_feed(f, v.iov_base, v.iov_len, max_line, &used);
            if (fr == IMAP_FRAME_NEED_MORE) continue;
            if (fr == IMAP_FRAME_TOOBIG_LINE) {
                imap_send(s, "* BYE Command line too long.");
                conn_close(s->conn);
                return;
            }
            if (fr == IMAP_FRAME_COMPLETE) {
                complete = true;
                break;
            }
            /* a literal is announced: over the command's budget, or
             * synchronizing, the parser judges the command so far */
            if (f->literal_size > s->parser.max_literal - f->literal_total || f->literal_sync) {
                const char *all = (const char *)evbuffer_pullup(in, (ssize_t)f->pos);
                struct imap_command cmd;
                size_t consumed = 0;
                enum imap_parse_result r = imap_parser_parse(&s->parser, all, (size_t)f->pos, &cmd, &consumed);
                if (r == IMAP_PARSE_NEED_LITERAL) {
                    imap_send(s, "+ OK");
                    imap_parser_literal_acked(&s->parser);
                } else if (r != IMAP_PARSE_NEED_MORE) {
                    handle_parse_error(s, &cmd, r,
                                       r == IMAP_PARSE_TOOBIG_LITERAL || r == IMAP_PARSE_ERROR ? consumed : (size_t)f->pos);
                    imap_command_free(&cmd);
                    if (conn_is_closing(s->conn)) return;
                    again = true;
                    break;
                }
                imap_command_free(&cmd);
            }
            imap_framer_accept_literal(f);
        }
        if (again) continue;
        if (!complete) return;
        size_t end = (size_t)f->pos;
        const char *all = (const char *)evbuffer_pullup(in, (ssize_t)end);
        struct imap_command cmd;
        size_t consumed = 0;
        enum imap_parse_result r = imap_parser_parse(&s->parser, all, end, &cmd, &consumed);
        if (r == IMAP_PARSE_COMPLETE) {
            if (s->app->cfg->verbose) {
                /* the whole command, literals by size; never a password */
                bool secret = cmd.name && (!strcasecmp(cmd.name, "LOGIN") || !strcasecmp(cmd.name, "AUTHENTICATE"));
                buf_t t = BUF_INIT;
                if (secret) {
                    /* the user (or mechanism) when it is an atom or quoted
                     * string: a literal may hold line ends */
                    buf_printf(&t, "%s %s", cmd.tag ? cmd.tag : "", cmd.name);
                    if (cmd.nargs > 0 && cmd.args[0].type != IMAP_ARG_LITERAL && cmd.args[0].str)
                        buf_printf(&t, " %.*s", (int)(cmd.args[0].len > 200 ? 200 : cmd.args[0].len), cmd.args[0].str);
                    buf_append_str(&t, " ***");
                } else {
                    imap_trace_command(all, consumed, 1000, &t);
                }
                log_info("imap[%llu] %s: < %s", (unsigned long long)conn_id(s->conn), conn_peer(s->conn), buf_cstr(&t));
                buf_free(&t);
            }
            /* the command's bytes are drained before it runs: its args are copies */
            evbuffer_drain(in, consumed);
            imap_framer_init(f);
            imap_parser_reset(&s->parser);
            if (hold_for_index(s, &cmd)) continue;
            dispatch(s, &cmd);
            imap_command_free(&cmd);
            continue;
        }
        if (r == IMAP_PARSE_NEED_MORE || r == IMAP_PARSE_NEED_LITERAL) {
            /* the framer and the parser disagree: trust the parser's error path */
            imap_command_free(&cmd);
            imap_send(s, "* BYE Internal framing error.");
            conn_close(s->conn);
            return;
        }
        handle_parse_error(s, &cmd, r, consumed ? consumed : end);
        imap_command_free(&cmd);
    }
}

/* ---- connection handler ----------------------------------------------- */

static void *imap_on_open(struct conn *c, void *arg) {
    struct app *app = arg;
    struct imap_conn_state *cs = xcalloc(1, sizeof *cs);
    struct imap_session *s = &cs->s;
    s->app = app;
    s->conn = c;
    s->state = IMAP_NOAUTH;
    if (app->cfg->verbose) log_info("imap[%llu] %s: connect", (unsigned long long)conn_id(c), conn_peer(c));
    s->pending_expunge = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    s->pending_update = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    imap_parser_init(&s->parser, (size_t)app->cfg->imap_max_line_length, literal_limit(s));
    app->stats.imap_connections++;
    conn_set_idle_timeout(c, app->cfg->imap_idle_timeout);
    store_subscribe(app->store, imap_store_event, s);
    if (app->draining) {
        imap_send(s, "* BYE Server shutting down.");
        conn_close(c);
        return s;
    }
    buf_t b = BUF_INIT;
    buf_append_str(&b, "* OK [CAPABILITY " IMAP_CAPS_COMMON);
    if (!conn_is_tls(c) && app->tls) buf_append_str(&b, " STARTTLS");
    buf_append_str(&b, (conn_is_tls(c) || app->cfg->imap_plaintext_login) ? " AUTH=PLAIN" : " LOGINDISABLED");
    buf_append_str(&b, "] devmail ready.");
    imap_send(s, "%s", buf_cstr(&b));
    buf_free(&b);
    return s;
}

static void imap_session_free(struct imap_session *s);

/* conn_close() may run on_close at once (nothing left to flush, as with
 * TLS, whose bufferevent passes output through immediately): the session
 * then stays allocated until the handler that closed it has returned. */
static void session_enter(struct imap_session *s) {
    ((struct imap_conn_state *)s)->busy++;
}

static void session_leave(struct imap_session *s) {
    struct imap_conn_state *cs = (struct imap_conn_state *)s;
    if (--cs->busy == 0 && cs->closed) imap_session_free(s);
}

static void imap_on_input(struct conn *c, void *proto) {
    struct imap_session *s = proto;
    session_enter(s);
    imap_process(s);
    session_leave(s);
}

static void imap_on_drain(struct conn *c, void *proto) {
    struct imap_session *s = proto;
    session_enter(s);
    if (s->cont) {
        imap_cont_fn fn = s->cont;
        fn(s);
        if (!s->cont && !conn_is_closing(s->conn)) {
            imap_notify_flush(s);
            imap_process(s);
        }
    }
    session_leave(s);
}

static void imap_on_timeout(struct conn *c, void *proto) {
    struct imap_session *s = proto;
    imap_send(s, s->app->draining ? "* BYE Server shutting down." : "* BYE Disconnected for inactivity.");
    conn_close(c);
}

static void imap_on_close(struct conn *c, void *proto) {
    struct imap_session *s = proto;
    if (!s) return;
    if (s->app->cfg->verbose) log_info("imap[%llu] %s: disconnect", (unsigned long long)conn_id(c), conn_peer(c));
    struct imap_conn_state *cs = (struct imap_conn_state *)s;
    if (cs->busy) {
        cs->closed = true;
        return;
    }
    imap_session_free(s);
}

static void imap_session_free(struct imap_session *s) {
    store_when_ready_cancel(s->app->store, held_indexed, s);
    if (s->held) {
        imap_command_free(s->held);
        free(s->held);
    }
    store_unsubscribe(s->app->store, imap_store_event, s);
    if (s->copy_wait) imap_copy_wait_detach(s->copy_wait);
    if (s->cont_state && s->cont_free) s->cont_free(s->cont_state);
    imap_close_mailbox(s);
    imap_notify_free(s);
    if (s->account) user_sessions_add(s->account, -1);
    if (s->idle_poll) event_free(s->idle_poll);
    g_array_free(s->pending_expunge, TRUE);
    g_array_free(s->pending_update, TRUE);
    if (s->ctx_touched) g_array_free(s->ctx_touched, TRUE);
    free(s->account);
    free(s->idle_tag);
    free(s->auth_tag);
    free(s);
}

/* At the connection limit, a session that has not logged in makes room
 * for a new client (the oldest first). */
static bool imap_on_evict(struct conn *c, void *proto) {
    struct imap_session *s = proto;
    if (!s || s->state != IMAP_NOAUTH) return false;
    log_info("imap[%llu] %s: disconnected before login to make room for a new connection",
             (unsigned long long)conn_id(c), conn_peer(c));
    imap_send(s, "* BYE [UNAVAILABLE] Too many connections; disconnected before login.");
    conn_close(c);
    return true;
}

const struct conn_handler imap_conn_handler = {
    .on_evict = imap_on_evict,
    .proto = "imap",
    .busy_reply = "* BYE [UNAVAILABLE] Too many connections.\r\n",
    .on_open = imap_on_open,
    .on_input = imap_on_input,
    .on_drain = imap_on_drain,
    .on_timeout = imap_on_timeout,
    .on_close = imap_on_close,
};

int imap_server_start(struct app *app, buf_t *err) {
    const struct config *cfg = app->cfg;
    if (net_listen_all(app->net, cfg->imap_listen.v, cfg->imap_listen.n, false, &imap_conn_handler, app, err) < 0) return -1;
    return net_listen_all(app->net, cfg->imaps_listen.v, cfg->imaps_listen.n, true, &imap_conn_handler, app, err);
}
