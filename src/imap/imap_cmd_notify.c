/*
 * imap_cmd_notify - NOTIFY (RFC 5465): the client names the events it
 * wants and the mailboxes they concern, and from then on hears of them as
 * they happen, between commands as well as during them.
 *
 * Selected mailbox (SELECTED / SELECTED-DELAYED): new messages (EXISTS,
 * then a FETCH of the attributes given with MessageNew, UID always),
 * expunges (EXPUNGE or VANISHED; with SELECTED-DELAYED only where RFC 3501
 * 7.4.1 allows them) and flag changes (FETCH UID FLAGS) are sent when no
 * command is running (see When, below). Without a SELECTED group the selected mailbox
 * is reported as RFC 3501 has it, at the end of commands.
 *
 * Other mailboxes: a change gathers per mailbox what kind it was, and
 * between commands one STATUS per mailbox tells it: MessageNew and
 * MessageExpunge MESSAGES UIDNEXT, FlagChange UIDVALIDITY HIGHESTMODSEQ
 * once CONDSTORE is on, and UNSEEN with each, so that a client's unread
 * count stays right; HIGHESTMODSEQ also for new messages with CONDSTORE
 * and for expunges with QRESYNC (RFC 5465 5.1-5.3).
 * MailboxName sends LIST for a created (and its parent), deleted
 * (\NonExistent) or renamed (OLDNAME) mailbox, SubscriptionChange a LIST
 * of the name with or without \Subscribed.
 *
 * Filters: INBOXES is INBOX (devmail delivers nowhere else), PERSONAL
 * every mailbox of the account, SUBSCRIBED those subscribed now, SUBTREE a
 * name and everything below it, MAILBOXES exactly the names given. Every
 * group that matches a mailbox adds its events. A session is not told of
 * what it did itself (RFC 5465 5: its own APPEND, COPY, CREATE, ...).
 *
 * When: changes are noted as they come (a bit per mailbox and kind) and
 * sent together IMAP_NOTIFY_DELAY_MS later, or at the end of the running
 * command, so that a burst of deliveries costs each watching session one
 * STATUS per mailbox, not one per message.
 *
 * Bound: what waits for the client is held to max_output_buffer. A client
 * that does not read gets * OK [NOTIFICATIONOVERFLOW] once, and NOTIFY is
 * off for it as after NOTIFY NONE (RFC 5465 5.8).
 */
#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/config.h"
#include "core/xalloc.h"
#include "imap/imap_internal.h"
#include "imap/imap_mutf7.h"
#include "imap/imap_notify.h"

struct notify_group {
    enum imap_notify_filter filter;
    unsigned events;
    char **names; /* SUBTREE / MAILBOXES: as the store names them */
    size_t nnames;
};

struct imap_notify {
    bool selected, delayed;
    unsigned selected_events;
    struct fetch_state *fetch; /* MessageNew's attributes, or NULL */
    struct notify_group *groups;
    size_t ngroups;
    unsigned other_events; /* every group's events together */
    GHashTable *dirty; /* int64_t mailbox id -> IMAP_NOTIFY_* bits that happened */
    buf_t lines;       /* LIST responses waiting to be sent */
    GArray *own_new;   /* UIDs this session added to the selected mailbox */
    struct event *later; /* the coalescing flush (IMAP_NOTIFY_DELAY_MS) */
};

/* The counters every NOTIFY session reports of a mailbox are the same:
 * read once per mailbox after a change, not once per session. An entry is
 * dropped at the first event of its mailbox (every event reaches every
 * session before any flush runs), the whole table when a mailbox is
 * created, deleted or renamed, and the table when the last NOTIFY session
 * goes. */
static GHashTable *status_cache; /* int64_t mailbox id -> struct store_mailbox_status */
static size_t notify_sessions;

static const struct store_mailbox_status *shared_status(struct imap_session *s, int64_t id, const char *name) {
    struct store_mailbox_status *st = status_cache ? g_hash_table_lookup(status_cache, &id) : NULL;
    if (st) return st;
    st = xmalloc(sizeof *st);
    if (store_mailbox_status(s->app->store, s->account, name, st) < 0) {
        free(st);
        return NULL;
    }
    if (!status_cache) status_cache = g_hash_table_new_full(g_int64_hash, g_int64_equal, free, free);
    int64_t *key = xmalloc(sizeof *key);
    *key = id;
    g_hash_table_replace(status_cache, key, st);
    return st;
}

static void status_changed(const struct store_event *ev) {
    if (!status_cache) return;
    if (ev->type == STORE_EV_MAILBOX) g_hash_table_remove_all(status_cache);
    else g_hash_table_remove(status_cache, &ev->mailbox_id);
}

static void notify_free(struct imap_notify *n) {
    if (!n) return;
    if (--notify_sessions == 0 && status_cache) {
        g_hash_table_destroy(status_cache);
        status_cache = NULL;
    }
    if (n->fetch) imap_fetch_compiled_free(n->fetch);
    for (size_t i = 0; i < n->ngroups; i++) {
        for (size_t k = 0; k < n->groups[i].nnames; k++) free(n->groups[i].names[k]);
        free(n->groups[i].names);
    }
    free(n->groups);
    if (n->dirty) g_hash_table_destroy(n->dirty);
    buf_free(&n->lines);
    if (n->own_new) g_array_free(n->own_new, TRUE);
    if (n->later) event_free(n->later);
    free(n);
}

void imap_notify_free(struct imap_session *s) {
    notify_free(s->notify);
    s->notify = NULL;
}

/* The events the groups ask for in the mailbox name (not the selected
 * one). Subscriptions are looked up once, and only when a group needs it. */
static unsigned events_for(struct imap_session *s, const char *name) {
    struct imap_notify *n = s->notify;
    unsigned ev = 0;
    int subscribed = -1;
    for (size_t i = 0; i < n->ngroups; i++) {
        const struct notify_group *g = &n->groups[i];
        bool match = false;
        switch (g->filter) {
        case IMAP_NOTIFY_INBOXES: match = strcmp(name, "INBOX") == 0; break;
        case IMAP_NOTIFY_PERSONAL: match = true; break;
        case IMAP_NOTIFY_SUBSCRIBED:
            if (subscribed < 0) subscribed = store_mailbox_is_subscribed(s->app->store, s->account, name) == 1;
            match = subscribed == 1;
            break;
        case IMAP_NOTIFY_SUBTREE:
            for (size_t k = 0; k < g->nnames && !match; k++) match = imap_notify_in_subtree(g->names[k], name);
            break;
        case IMAP_NOTIFY_MAILBOXES:
            for (size_t k = 0; k < g->nnames && !match; k++) match = strcmp(g->names[k], name) == 0;
            break;
        }
        if (match) ev |= g->events;
    }
    return ev;
}

static bool quiet(struct imap_session *s) {
    /* nothing may come between a command's responses: wait for its end */
    return (s->state == IMAP_AUTH || s->state == IMAP_SELECTED) && !s->in_command && !s->waiting && !s->cont &&
           !s->auth_tag && !conn_is_closing(s->conn);
}

/* The client reads too little: tell it once and stop (RFC 5465 5.8). */
static bool overflowed(struct imap_session *s) {
    size_t limit = (size_t)s->app->cfg->max_output_buffer;
    if (!conn_output_full(s->conn) && (!limit || s->notify->lines.len <= limit)) return false;
    imap_notify_free(s);
    imap_send(s, "* OK [NOTIFICATIONOVERFLOW] Too many notifications waiting to be read; NOTIFY is off.");
    return true;
}

static unsigned status_items(struct imap_session *s, unsigned happened) {
    /* UNSEEN with every kind: new and expunged messages move it too */
    unsigned items = IMAP_STATUS_ITEM_UNSEEN;
    if (happened & (IMAP_NOTIFY_MESSAGE_NEW | IMAP_NOTIFY_MESSAGE_EXPUNGE))
        items |= IMAP_STATUS_ITEM_MESSAGES | IMAP_STATUS_ITEM_UIDNEXT;
    if ((happened & IMAP_NOTIFY_MESSAGE_NEW) && s->condstore) items |= IMAP_STATUS_ITEM_HIGHESTMODSEQ;
    if ((happened & IMAP_NOTIFY_MESSAGE_EXPUNGE) && s->qresync) items |= IMAP_STATUS_ITEM_HIGHESTMODSEQ;
    if ((happened & IMAP_NOTIFY_FLAG_CHANGE) && s->condstore)
        items |= IMAP_STATUS_ITEM_UIDVALIDITY | IMAP_STATUS_ITEM_HIGHESTMODSEQ;
    return items;
}

static bool selected_pending(struct imap_session *s) {
    return s->state == IMAP_SELECTED &&
           (s->pending_new || s->pending_rescan || s->pending_expunge->len || s->pending_update->len);
}

void imap_notify_flush(struct imap_session *s) {
    if (!s->notify || !quiet(s)) return;
    if (overflowed(s)) return;
    struct imap_notify *n = s->notify;
    if (n->selected && selected_pending(s)) {
        imap_sync(s, !n->delayed);
        if (!s->notify) return;
    }
    if (g_hash_table_size(n->dirty)) {
        GHashTableIter it;
        gpointer key, val;
        g_hash_table_iter_init(&it, n->dirty);
        while (g_hash_table_iter_next(&it, &key, &val)) {
            int64_t id = *(int64_t *)key;
            if (s->state == IMAP_SELECTED && id == s->mailbox_id) continue; /* told as the selected one */
            buf_t name = BUF_INIT, line = BUF_INIT;
            unsigned want = 0;
            if (store_mailbox_name_of(s->app->store, id, &name) == 0)
                want = events_for(s, buf_cstr(&name)) & GPOINTER_TO_UINT(val);
            const struct store_mailbox_status *st = want ? shared_status(s, id, buf_cstr(&name)) : NULL;
            if (st && imap_status_items_line(s, buf_cstr(&name), status_items(s, want), st, &line) == 0)
                imap_send(s, "%s", buf_cstr(&line));
            buf_free(&name);
            buf_free(&line);
        }
        g_hash_table_remove_all(n->dirty);
    }
    if (n->lines.len) {
        imap_send_raw(s, n->lines.data, n->lines.len);
        buf_reset(&n->lines);
    }
    overflowed(s);
}

static unsigned message_kind(enum store_event_type t) {
    switch (t) {
    case STORE_EV_NEW: return IMAP_NOTIFY_MESSAGE_NEW;
    case STORE_EV_EXPUNGE: return IMAP_NOTIFY_MESSAGE_EXPUNGE;
    case STORE_EV_UPDATE: return IMAP_NOTIFY_FLAG_CHANGE;
    case STORE_EV_CHANGED: /* outside changes: any of them */
        return IMAP_NOTIFY_MESSAGE_NEW | IMAP_NOTIFY_MESSAGE_EXPUNGE | IMAP_NOTIFY_FLAG_CHANGE;
    case STORE_EV_MAILBOX:
    case STORE_EV_SUBSCRIPTION: return 0;
    }
    return 0;
}

static void queue_list(struct imap_session *s, const char *name, const char *old_name) {
    buf_t line = BUF_INIT;
    imap_list_one(s, name, old_name, &line);
    buf_append_str(&line, "\r\n");
    buf_append(&s->notify->lines, line.data, line.len);
    buf_free(&line);
}

static void later_cb(evutil_socket_t fd, short what, void *arg) {
    imap_notify_flush(arg);
}

void imap_notify_later(struct imap_session *s) {
    struct imap_notify *n = s->notify;
    if (!n) return;
    if (!n->later) n->later = evtimer_new(s->app->base, later_cb, s);
    if (evtimer_pending(n->later, NULL)) return;
    struct timeval tv = {0, IMAP_NOTIFY_DELAY_MS * 1000};
    evtimer_add(n->later, &tv);
}

bool imap_notify_selected_wants(struct imap_session *s, unsigned events) {
    return s->notify && s->notify->selected && (s->notify->selected_events & events);
}

void imap_notify_event(struct imap_session *s, const struct store_event *ev) {
    struct imap_notify *n = s->notify;
    if (!n || !ev->account) return;
    if (ev->type != STORE_EV_SUBSCRIPTION) status_changed(ev);
    if (strcmp(ev->account, s->account) != 0) return;
    bool selected = s->state == IMAP_SELECTED && ev->mailbox_id == s->mailbox_id && ev->mailbox_id != 0;
    if (ev->origin == s) {
        /* its own doing: not notified; its own new messages get no FETCH */
        if (selected && ev->type == STORE_EV_NEW) g_array_append_val(n->own_new, ev->uid);
        return;
    }
    unsigned kind = message_kind(ev->type);
    if (kind) {
        if (selected) return; /* the session's own queue; imap_store_event decides when */
        /* only noted here: whether a group wants it is decided at the
         * flush, once per mailbox however many changes came */
        if (!(n->other_events & kind)) return;
        gpointer old = g_hash_table_lookup(n->dirty, &ev->mailbox_id);
        if (old && (GPOINTER_TO_UINT(old) & kind) == kind) {
            imap_notify_later(s);
            return;
        }
        int64_t *key = xmalloc(sizeof *key);
        *key = ev->mailbox_id;
        g_hash_table_replace(n->dirty, key, GUINT_TO_POINTER(GPOINTER_TO_UINT(old) | kind));
    } else if (ev->type == STORE_EV_MAILBOX && ev->name) {
        unsigned want = events_for(s, ev->name) | (ev->old_name ? events_for(s, ev->old_name) : 0);
        if (!(want & IMAP_NOTIFY_MAILBOX_NAME)) return;
        /* a renamed INBOX stays (RFC 5465 5.4): only the new name is told */
        bool inbox_renamed = ev->old_name && strcasecmp(ev->old_name, "INBOX") == 0;
        queue_list(s, ev->name, inbox_renamed ? NULL : ev->old_name);
        /* a new or removed child changes its parent's \HasChildren */
        const char *dot = ev->old_name ? NULL : strrchr(ev->name, '.');
        if (dot) {
            char *parent = xstrndup(ev->name, (size_t)(dot - ev->name));
            queue_list(s, parent, NULL);
            free(parent);
        }
    } else if (ev->type == STORE_EV_SUBSCRIPTION && ev->name) {
        /* an unsubscribed name no longer matches SUBSCRIBED: it did before */
        bool sub_group = false;
        for (size_t i = 0; i < n->ngroups; i++)
            if (n->groups[i].filter == IMAP_NOTIFY_SUBSCRIBED &&
                (n->groups[i].events & IMAP_NOTIFY_SUBSCRIPTION_CHANGE))
                sub_group = true;
        if (!sub_group && !(events_for(s, ev->name) & IMAP_NOTIFY_SUBSCRIPTION_CHANGE)) return;
        queue_list(s, ev->name, NULL);
    } else {
        return;
    }
    imap_notify_later(s);
}

void imap_notify_selected_closed(struct imap_session *s) {
    if (s->notify) g_array_set_size(s->notify->own_new, 0);
}

void imap_notify_new_messages(struct imap_session *s, size_t from, size_t to) {
    struct imap_notify *n = s->notify;
    if (!n || !n->selected || !n->fetch || !(n->selected_events & IMAP_NOTIFY_MESSAGE_NEW) || from >= to) {
        if (n) g_array_set_size(n->own_new, 0);
        return;
    }
    size_t *idx = xcalloc(to - from, sizeof *idx);
    size_t k = 0;
    for (size_t i = from; i < to; i++) {
        uint32_t uid = imap_msg_at(s, i)->uid;
        bool own = false;
        for (guint j = 0; j < n->own_new->len && !own; j++) own = g_array_index(n->own_new, uint32_t, j) == uid;
        if (!own) idx[k++] = i;
    }
    g_array_set_size(n->own_new, 0);
    imap_fetch_send(s, n->fetch, idx, k);
    free(idx);
}

/* A mailbox name of a SUBTREE / MAILBOXES group as the store names it;
 * false when it cannot name a mailbox (ignored, RFC 5465 6). */
static bool store_name(struct imap_session *s, const struct imap_arg *a, char **out) {
    buf_t dec = BUF_INIT;
    const char *why = NULL;
    if (!imap_mailbox_name_from_client(a->str, a->len, &dec, &why)) {
        buf_free(&dec);
        return false;
    }
    *out = buf_steal(&dec);
    if (strcasecmp(*out, "INBOX") == 0) strcpy(*out, "INBOX");
    return true;
}

/* The STATUS NOTIFY SET STATUS sends for a mailbox asked for these events
 * (RFC 5465 3.1: MessageNew MESSAGES UIDNEXT UIDVALIDITY, MessageExpunge
 * MESSAGES, FlagChange UIDVALIDITY HIGHESTMODSEQ). */
static unsigned initial_items(unsigned events) {
    /* and UNSEEN, as Dovecot sends it: the count a client shows */
    unsigned items = events & IMAP_NOTIFY_MESSAGE_EVENTS ? IMAP_STATUS_ITEM_UNSEEN : 0;
    if (events & IMAP_NOTIFY_MESSAGE_NEW)
        items |= IMAP_STATUS_ITEM_MESSAGES | IMAP_STATUS_ITEM_UIDNEXT | IMAP_STATUS_ITEM_UIDVALIDITY;
    if (events & IMAP_NOTIFY_MESSAGE_EXPUNGE) items |= IMAP_STATUS_ITEM_MESSAGES;
    if (events & IMAP_NOTIFY_FLAG_CHANGE) items |= IMAP_STATUS_ITEM_UIDVALIDITY | IMAP_STATUS_ITEM_HIGHESTMODSEQ;
    return items;
}

static void send_initial_status(struct imap_session *s) {
    char **folders = store_folders(s->app->store, s->account);
    GPtrArray *names = g_ptr_array_new();
    g_ptr_array_add(names, (gpointer) "INBOX");
    for (char **f = folders; *f; f++)
        if (strcmp(*f, "INBOX")) g_ptr_array_add(names, *f);
    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);
        if (s->state == IMAP_SELECTED && !strcmp(name, s->mailbox)) continue; /* not the selected one */
        unsigned items = initial_items(events_for(s, name));
        if (!items) continue;
        buf_t line = BUF_INIT;
        if (imap_status_items_line(s, name, items, NULL, &line) == 0) imap_send(s, "%s", buf_cstr(&line));
        buf_free(&line);
    }
    g_ptr_array_free(names, TRUE);
    store_strv_free(folders);
}

void imap_cmd_notify(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid) {
    struct imap_notify_request req;
    const char *why;
    if (!imap_notify_parse(args, nargs, &req, &why)) {
        imap_tagged(s, tag, "BAD %s", why);
        return;
    }
    if (req.none) {
        imap_notify_free(s);
        imap_tagged(s, tag, "OK NOTIFY completed.");
        return;
    }
    if (req.unsupported || req.unknown) {
        char names[256];
        imap_notify_event_names(IMAP_NOTIFY_SUPPORTED, names, sizeof names);
        imap_tagged(s, tag, "NO [BADEVENT (%s)] Event not supported.", names);
        imap_notify_request_free(&req);
        return;
    }
    struct imap_notify *n = xcalloc(1, sizeof *n);
    notify_sessions++;
    n->selected = req.selected;
    n->delayed = req.selected_delayed;
    n->selected_events = req.selected_events;
    n->dirty = g_hash_table_new_full(g_int64_hash, g_int64_equal, free, NULL);
    n->own_new = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    if (req.fetch) {
        const char *err = NULL;
        n->fetch = imap_fetch_compile(s, req.fetch, &err);
        if (!n->fetch) {
            imap_tagged(s, tag, "BAD %s", err ? err : "Invalid fetch attribute.");
            notify_free(n);
            imap_notify_request_free(&req);
            return;
        }
    }
    n->groups = xcalloc(req.ngroups ? req.ngroups : 1, sizeof *n->groups);
    for (size_t i = 0; i < req.ngroups; i++) {
        const struct imap_notify_group *g = &req.groups[i];
        struct notify_group *d = &n->groups[n->ngroups++];
        d->filter = g->filter;
        d->events = g->events;
        n->other_events |= g->events;
        d->names = xcalloc(g->nnames ? g->nnames : 1, sizeof *d->names);
        for (size_t k = 0; k < g->nnames; k++)
            if (store_name(s, &g->names[k], &d->names[d->nnames])) d->nnames++;
    }
    bool status = req.status;
    imap_notify_request_free(&req);
    imap_notify_free(s);
    s->notify = n;
    /* RFC 5465 3.1: what is pending for the selected mailbox goes now */
    if (s->state == IMAP_SELECTED) imap_sync(s, true);
    if (status) send_initial_status(s);
    imap_tagged(s, tag, "OK NOTIFY completed.");
}
