/*
 * imap_mailbox - IMAP mailbox commands: SELECT, EXAMINE, CREATE, DELETE,
 * RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST (LIST-EXTENDED, LIST-STATUS,
 * SPECIAL-USE, CHILDREN), LSUB, STATUS, APPEND (UIDPLUS, MULTIAPPEND), CHECK, CLOSE,
 * UNSELECT, EXPUNGE and UID EXPUNGE.
 *
 * Mailbox names travel in modified UTF-7 (validated by imap_mutf7) and are
 * kept that way on disk as Maildir++ folders ".Name", as Dovecot does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "imap/imap_binary.h"
#include "imap/imap_internal.h"
#include "imap/imap_mutf7.h"

static const struct {
    const char *name;
    const char *attr;
} special_folders[IMAP_SPECIAL_USE_COUNT] = {
    {"Drafts", "\\Drafts"}, {"Sent", "\\Sent"}, {"Junk", "\\Junk"}, {"Trash", "\\Trash"}};

const char *imap_special_use(const char *name) {
    for (int i = 0; i < IMAP_SPECIAL_USE_COUNT; i++)
        if (!strcmp(special_folders[i].name, name)) return special_folders[i].attr;
    return NULL;
}

void imap_ensure_special_folders(struct imap_session *s) {
    struct store_mailbox_info mb;
    /* the folders made at first login start subscribed; CREATE does not
     * subscribe (RFC 3501 6.3.3) */
    if (store_mailbox_info(s->app->store, s->account, "INBOX", false, &mb) < 0)
        store_mailbox_create(s->app->store, s->account, "INBOX");
    bool first = false;
    for (int i = 0; i < IMAP_SPECIAL_USE_COUNT; i++) {
        if (store_mailbox_info(s->app->store, s->account, special_folders[i].name, false, &mb) == 0) continue;
        /* on disk and not indexed yet (start-up indexing): not a first login */
        if (!store_mailbox_ready(s->app->store, s->account, special_folders[i].name)) continue;
        buf_t p = BUF_INIT;
        store_mailbox_path(s->app->store, s->account, special_folders[i].name, &p);
        if (store_mailbox_create(s->app->store, s->account, special_folders[i].name) == 0) {
            store_mailbox_set_subscribed(s->app->store, s->account, special_folders[i].name, true);
            first = true;
        }
        buf_free(&p);
    }
    if (first) store_mailbox_set_subscribed(s->app->store, s->account, "INBOX", true);
}

static bool mailbox_exists(struct imap_session *s, const char *name) {
    struct store_mailbox_info mb;
    if (store_mailbox_info(s->app->store, s->account, name, false, &mb) == 0) return true;
    /* a folder made by another program: adopt it */
    char **folders = store_folders(s->app->store, s->account);
    bool found = !strcmp(name, "INBOX");
    for (char **f = folders; *f && !found; f++)
        if (!strcmp(*f, name)) found = true;
    store_strv_free(folders);
    if (found) store_mailbox_create(s->app->store, s->account, name);
    return found;
}

void imap_append_mailbox_name(buf_t *b, const char *name) {
    bool atom = *name != '\0';
    for (const char *c = name; *c; c++)
        if (*c <= ' ' || *c >= 0x7f || strchr("(){%*\"\\]", *c)) atom = false;
    if (atom) buf_append_str(b, name);
    else imap_append_string(b, name, strlen(name));
}

/* ---- SELECT / EXAMINE ------------------------------------------------- */

static void select_common(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs,
                          bool readonly) {
    if (nargs < 1) {
        imap_tagged(s, tag, "BAD Missing mailbox name.");
        return;
    }
    buf_t name = BUF_INIT;
    if (!imap_mailbox_arg(s, tag, &args[0], &name)) {
        buf_free(&name);
        return;
    }
    /* (CONDSTORE) / (QRESYNC (uidvalidity modseq [known-uids])) */
    bool qresync = false;
    uint32_t q_validity = 0;
    uint64_t q_modseq = 0;
    struct imap_seqset q_known;
    imap_seqset_init(&q_known);
    bool have_known = false;
    if (nargs >= 2) {
        if (args[1].type != IMAP_ARG_LIST) {
            imap_tagged(s, tag, "BAD Invalid SELECT parameters.");
            buf_free(&name);
            return;
        }
        for (size_t i = 0; i < args[1].nlist; i++) {
            const struct imap_arg *p = &args[1].list[i];
            if (imap_arg_atom_is(p, "CONDSTORE")) {
                s->condstore = true;
            } else if (imap_arg_atom_is(p, "QRESYNC") && i + 1 < args[1].nlist &&
                       args[1].list[i + 1].type == IMAP_ARG_LIST) {
                const struct imap_arg *q = &args[1].list[++i];
                if (!s->qresync) {
                    imap_tagged(s, tag, "BAD QRESYNC is not enabled.");
                    buf_free(&name);
                    return;
                }
                if (q->nlist < 2 || !imap_arg_number(&q->list[0], &q_validity) ||
                    !imap_arg_number64(&q->list[1], &q_modseq)) {
                    imap_tagged(s, tag, "BAD Invalid QRESYNC parameters.");
                    buf_free(&name);
                    return;
                }
                if (q->nlist >= 3 && q->list[2].type == IMAP_ARG_ATOM) {
                    have_known = imap_seqset_parse(q->list[2].str, q->list[2].len, &q_known);
                }
                qresync = true;
            } else {
                imap_tagged(s, tag, "BAD Unknown SELECT parameter.");
                buf_free(&name);
                imap_seqset_free(&q_known);
                return;
            }
        }
    }
    bool had = s->state == IMAP_SELECTED;
    if (had && s->qresync) imap_send(s, "* OK [CLOSED] Previous mailbox closed.");
    if (!mailbox_exists(s, buf_cstr(&name)) || !imap_open_mailbox(s, buf_cstr(&name), readonly)) {
        imap_close_mailbox(s);
        imap_tagged(s, tag, "NO Mailbox doesn't exist: %s", buf_cstr(&name));
        buf_free(&name);
        imap_seqset_free(&q_known);
        return;
    }
    uint32_t exists = imap_exists(s), recent = 0, unseen = 0;
    for (uint32_t i = 0; i < exists; i++) {
        struct imap_msg *m = imap_msg_at(s, i);
        if (m->recent) recent++;
        if (!unseen && !(m->flags & MSG_SEEN)) unseen = i + 1;
    }
    struct store_mailbox_info mb;
    store_mailbox_info(s->app->store, s->account, s->mailbox, false, &mb);
    imap_send_flags(s);
    imap_send(s, "* %u EXISTS", exists);
    imap_send(s, "* %u RECENT", recent);
    if (unseen) imap_send(s, "* OK [UNSEEN %u] First unseen.", unseen);
    imap_send(s, "* OK [UIDVALIDITY %u] UIDs valid", mb.uidvalidity);
    imap_send(s, "* OK [UIDNEXT %u] Predicted next UID", mb.uidnext);
    if (s->condstore) imap_send(s, "* OK [HIGHESTMODSEQ %llu] Highest", (unsigned long long)mb.highestmodseq);
    if (qresync && q_validity == mb.uidvalidity) {
        /* UIDs the client may know that are gone now (RFC 7162 3.2.5.1):
         * without tombstones we report every missing UID in its range */
        struct imap_seqset gone;
        imap_seqset_init(&gone);
        uint32_t maxuid = mb.uidnext > 1 ? mb.uidnext - 1 : 0;
        if (have_known) imap_seqset_resolve(&q_known, maxuid);
        size_t i = 0;
        for (uint32_t u = 1; u <= maxuid && maxuid; u++) {
            while (i < exists && imap_msg_at(s, i)->uid < u) i++;
            bool present = i < exists && imap_msg_at(s, i)->uid == u;
            bool known = !have_known || imap_seqset_contains(&q_known, u, maxuid);
            if (!present && known) imap_seqset_add(&gone, u, u);
            if (gone.n > 10000) break;
        }
        if (gone.n) {
            imap_seqset_resolve(&gone, 0);
            buf_t b = BUF_INIT;
            imap_seqset_format(&gone, &b);
            imap_send(s, "* VANISHED (EARLIER) %s", buf_cstr(&b));
            buf_free(&b);
        }
        imap_seqset_free(&gone);
        for (uint32_t k = 0; k < exists; k++) {
            struct imap_msg *m = imap_msg_at(s, k);
            if (m->modseq <= q_modseq) continue;
            buf_t b = BUF_INIT;
            buf_printf(&b, "* %u FETCH (UID %u FLAGS ", k + 1, m->uid);
            imap_append_flags(&b, m->flags, m->keywords, m->recent);
            buf_printf(&b, " MODSEQ (%llu))", (unsigned long long)m->modseq);
            imap_send(s, "%s", buf_cstr(&b));
            buf_free(&b);
        }
    }
    imap_seqset_free(&q_known);
    imap_tagged(s, tag, "OK [%s] %s completed.", readonly ? "READ-ONLY" : "READ-WRITE",
                readonly ? "Examine" : "Select");
    buf_free(&name);
}

void imap_cmd_select(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid) {
    select_common(s, tag, args, nargs, false);
}

void imap_cmd_examine(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid) {
    select_common(s, tag, args, nargs, true);
}

/* ---- CREATE / DELETE / RENAME / SUBSCRIBE ------------------------------ */

void imap_cmd_create(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid) {
    buf_t name = BUF_INIT;
    /* RFC 3501 6.3.3: a trailing separator only declares that the name will
     * hold children; "CREATE foo." creates foo */
    struct imap_arg a = nargs >= 1 ? args[0] : (struct imap_arg){0};
    char *trimmed = NULL;
    if (nargs >= 1 && imap_arg_is_astring(&a) && a.len > 1 && a.str[a.len - 1] == IMAP_MAILBOX_SEP) {
        trimmed = xstrndup(a.str, a.len - 1);
        a.str = trimmed;
        a.len--;
    }
    bool ok = nargs >= 1 && imap_mailbox_arg(s, tag, &a, &name);
    free(trimmed);
    if (!ok) {
        if (nargs < 1) imap_tagged(s, tag, "BAD Missing mailbox name.");
        buf_free(&name);
        return;
    }
    if (!strcmp(buf_cstr(&name), "INBOX") || mailbox_exists(s, buf_cstr(&name))) {
        imap_tagged(s, tag, "NO [ALREADYEXISTS] Mailbox already exists");
        buf_free(&name);
        return;
    }
    /* Maildir++ keeps parents implicit; create them so LIST shows them */
    const char *n = buf_cstr(&name);
    for (const char *dot = strchr(n, '.'); dot; dot = strchr(dot + 1, '.')) {
        char *parent = xstrndup(n, (size_t)(dot - n));
        if (!mailbox_exists(s, parent)) store_mailbox_create(s->app->store, s->account, parent);
        free(parent);
    }
    int rc = store_mailbox_create(s->app->store, s->account, n);
    if (rc < 0) imap_tagged(s, tag, "NO [SERVERBUG] Cannot create mailbox: %s", strerror(-rc));
    else imap_tagged(s, tag, "OK Create completed.");
    buf_free(&name);
}

void imap_cmd_delete(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid) {
    buf_t name = BUF_INIT;
    if (nargs < 1 || !imap_mailbox_arg(s, tag, &args[0], &name)) {
        if (nargs < 1) imap_tagged(s, tag, "BAD Missing mailbox name.");
        buf_free(&name);
        return;
    }
    const char *n = buf_cstr(&name);
    if (!strcmp(n, "INBOX")) {
        imap_tagged(s, tag, "NO INBOX can't be deleted.");
    } else if (!mailbox_exists(s, n)) {
        imap_tagged(s, tag, "NO [NONEXISTENT] Mailbox doesn't exist: %s", n);
    } else {
        char **folders = store_folders(s->app->store, s->account);
        bool children = false;
        size_t nl = strlen(n);
        for (char **f = folders; *f; f++)
            if (!strncmp(*f, n, nl) && (*f)[nl] == '.') children = true;
        store_strv_free(folders);
        if (children) {
            imap_tagged(s, tag, "NO [INUSE] Mailbox has children, delete them first");
        } else {
            if (s->state == IMAP_SELECTED && !strcmp(s->mailbox, n)) imap_close_mailbox(s);
            int rc = store_mailbox_delete(s->app->store, s->account, n);
            if (rc < 0) imap_tagged(s, tag, "NO [SERVERBUG] Cannot delete mailbox: %s", strerror(-rc));
            else imap_tagged(s, tag, "OK Delete completed.");
        }
    }
    buf_free(&name);
}

void imap_cmd_rename(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid) {
    buf_t from = BUF_INIT, to = BUF_INIT;
    if (nargs < 2) {
        imap_tagged(s, tag, "BAD Syntax: RENAME old new");
        return;
    }
    if (!imap_mailbox_arg(s, tag, &args[0], &from) || !imap_mailbox_arg(s, tag, &args[1], &to)) goto out;
    if (!mailbox_exists(s, buf_cstr(&from))) {
        imap_tagged(s, tag, "NO [NONEXISTENT] Mailbox doesn't exist: %s", buf_cstr(&from));
        goto out;
    }
    if (!strcmp(buf_cstr(&to), "INBOX") || mailbox_exists(s, buf_cstr(&to))) {
        imap_tagged(s, tag, "NO [ALREADYEXISTS] Target mailbox already exists");
        goto out;
    }
    /* children move along: rename them first (deepest names are longest) */
    char **folders = store_folders(s->app->store, s->account);
    size_t fl = from.len;
    for (char **f = folders; *f; f++) {
        if (strncmp(*f, buf_cstr(&from), fl) || (*f)[fl] != '.') continue;
        buf_t nn = BUF_INIT;
        buf_printf(&nn, "%s%s", buf_cstr(&to), *f + fl);
        mailbox_exists(s, *f);
        store_mailbox_rename(s->app->store, s->account, *f, buf_cstr(&nn));
        buf_free(&nn);
    }
    store_strv_free(folders);
    if (s->state == IMAP_SELECTED && !strcmp(s->mailbox, buf_cstr(&from))) imap_close_mailbox(s);
    int rc = store_mailbox_rename(s->app->store, s->account, buf_cstr(&from), buf_cstr(&to));
    if (rc < 0) imap_tagged(s, tag, "NO Cannot rename mailbox: %s", strerror(-rc));
    else imap_tagged(s, tag, "OK Rename completed.");
out:
    buf_free(&from);
    buf_free(&to);
}

static void set_subscribed(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs,
                           int on) {
    buf_t name = BUF_INIT;
    if (nargs < 1 || !imap_mailbox_arg(s, tag, &args[0], &name)) {
        if (nargs < 1) imap_tagged(s, tag, "BAD Missing mailbox name.");
        buf_free(&name);
        return;
    }
    /* a name is subscribed whether or not a mailbox has it (RFC 3501
     * 6.3.6); a folder made by another program is adopted on the way */
    if (on) mailbox_exists(s, buf_cstr(&name));
    if (store_mailbox_set_subscribed(s->app->store, s->account, buf_cstr(&name), on) < 0) {
        imap_tagged(s, tag, "NO [SERVERBUG] Cannot change the subscription.");
        buf_free(&name);
        return;
    }
    imap_tagged(s, tag, "OK %s completed.", on ? "Subscribe" : "Unsubscribe");
    buf_free(&name);
}

void imap_cmd_subscribe(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid) {
    set_subscribed(s, tag, args, nargs, 1);
}

void imap_cmd_unsubscribe(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs,
                          bool uid) {
    set_subscribed(s, tag, args, nargs, 0);
}

/* ---- LIST / LSUB / STATUS ---------------------------------------------- */

/* Longest LIST pattern considered; longer ones match nothing. */
#define IMAP_LIST_MAX_PATTERN 1024

/* IMAP LIST wildcard match: '*' matches anything, '%' anything but the
 * hierarchy separator. Dynamic programming over (pattern, name) so hostile
 * patterns cost O(|pattern| * |name|), never exponential time. */
static bool list_match(const char *pat, const char *name) {
    size_t pl = strlen(pat), nl = strlen(name);
    if (pl > IMAP_LIST_MAX_PATTERN) return false;
    bool *prev = xcalloc(nl + 1, sizeof *prev), *cur = xcalloc(nl + 1, sizeof *cur);
    prev[0] = true; /* empty pattern matches empty name */
    for (size_t i = 1; i <= pl; i++) {
        char c = pat[i - 1];
        cur[0] = prev[0] && (c == '*' || c == '%');
        for (size_t j = 1; j <= nl; j++) {
            if (c == '*') cur[j] = prev[j] || cur[j - 1];
            else if (c == '%') cur[j] = prev[j] || (cur[j - 1] && name[j - 1] != '.');
            else cur[j] = prev[j - 1] && c == name[j - 1];
        }
        bool *t = prev;
        prev = cur;
        cur = t;
    }
    bool r = prev[nl];
    free(prev);
    free(cur);
    return r;
}

struct list_opts {
    bool subscribed_only, return_subscribed, return_children, return_special, special_only;
    bool recursive; /* RECURSIVEMATCH (RFC 5258 3.5) */
    bool lsub;
    const struct imap_arg *status_items;
};

static int status_line(struct imap_session *s, const char *name, const struct imap_arg *items,
                       const struct store_mailbox_status *known, buf_t *out);

static int cmp_names(const void *a, const void *b) {
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    /* INBOX first */
    if (!strcmp(x, "INBOX")) return strcmp(y, "INBOX") ? -1 : 0;
    if (!strcmp(y, "INBOX")) return 1;
    return strcmp(x, y);
}

/* Does name match one of the patterns (after the reference)? */
static bool list_matches(const char *ref, const char *const *patterns, size_t npat, const char *name) {
    bool match = false;
    for (size_t p = 0; p < npat && !match; p++) {
        buf_t full = BUF_INIT;
        buf_printf(&full, "%s%s", ref, patterns[p]);
        const char *pat = buf_cstr(&full);
        if (!strcasecmp(name, "INBOX") && !strncasecmp(pat, "INBOX", 5)) {
            /* INBOX is case-insensitive */
            buf_t fixed = BUF_INIT;
            buf_printf(&fixed, "INBOX%s", pat + 5);
            match = list_match(buf_cstr(&fixed), name);
            buf_free(&fixed);
        } else {
            match = list_match(pat, name);
        }
        buf_free(&full);
    }
    return match;
}

/* The names LIST/LSUB may show: mailboxes that exist, and with the
 * subscription list, subscribed names and their parents (which LSUB's
 * "%" and RECURSIVEMATCH report for subscribed children). */
static void add_name(GHashTable *set, GPtrArray *order, const char *name) {
    if (g_hash_table_contains(set, name)) return;
    char *c = xstrdup(name);
    g_hash_table_add(set, c);
    g_ptr_array_add(order, c);
}

static void list_reply(struct imap_session *s, const char *ref, const char *const *patterns, size_t npat,
                       const struct list_opts *o) {
    char **folders = store_folders(s->app->store, s->account);
    bool by_subscription = o->subscribed_only || o->lsub;
    char **subs = NULL;
    if (by_subscription || o->return_subscribed) subs = store_subscriptions(s->app->store, s->account);
    if (!subs) subs = xcalloc(1, sizeof *subs); /* none, or not readable (logged) */
    GHashTable *existing = g_hash_table_new(g_str_hash, g_str_equal);
    g_hash_table_add(existing, (gpointer) "INBOX");
    for (char **f = folders; *f; f++) g_hash_table_add(existing, *f);
    GHashTable *subscribed = g_hash_table_new(g_str_hash, g_str_equal);
    for (char **n = subs; *n; n++) g_hash_table_add(subscribed, *n);

    GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
    GPtrArray *names = g_ptr_array_new();
    if (by_subscription) {
        for (char **n = subs; *n; n++) {
            add_name(set, names, *n);
            for (const char *dot = strchr(*n, '.'); dot; dot = strchr(dot + 1, '.')) {
                char *parent = xstrndup(*n, (size_t)(dot - *n));
                add_name(set, names, parent);
                free(parent);
            }
        }
    } else {
        add_name(set, names, "INBOX");
        for (char **f = folders; *f; f++) add_name(set, names, *f);
    }
    qsort(names->pdata, names->len, sizeof(gpointer), cmp_names);

    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);
        if (!list_matches(ref, patterns, npat, name)) continue;
        bool exists = g_hash_table_contains(existing, name);
        bool sub = g_hash_table_contains(subscribed, name);
        size_t nl = strlen(name);
        /* a subscribed descendant that the patterns do not show itself:
         * LSUB shows this parent as \Noselect, RECURSIVEMATCH adds
         * CHILDINFO ("SUBSCRIBED") */
        bool sub_child = false;
        if (by_subscription)
            for (char **n = subs; *n && !sub_child; n++)
                if (!strncmp(*n, name, nl) && (*n)[nl] == '.' && !list_matches(ref, patterns, npat, *n))
                    sub_child = true;
        bool childinfo = o->recursive && o->subscribed_only && sub_child;
        bool noselect_parent = o->lsub && !sub && sub_child;
        if (by_subscription && !sub && !childinfo && !noselect_parent) continue;
        if (!by_subscription && !exists) continue;
        const char *special = exists ? imap_special_use(name) : NULL;
        if (o->special_only && !special) continue;
        buf_t b = BUF_INIT;
        buf_printf(&b, "* %s (", o->lsub ? "LSUB" : "LIST");
        size_t start = b.len;
        if (noselect_parent) {
            buf_append_str(&b, "\\Noselect");
        } else if (exists) {
            bool children = false;
            for (char **f = folders; *f && !children; f++)
                if (!strncmp(*f, name, nl) && (*f)[nl] == '.') children = true;
            buf_append_str(&b, children ? "\\HasChildren" : "\\HasNoChildren");
        } else if (!o->lsub) {
            buf_append_str(&b, "\\NonExistent");
        }
        if (sub && !o->lsub && (o->subscribed_only || o->return_subscribed)) {
            if (b.len > start) buf_append_char(&b, ' ');
            buf_append_str(&b, "\\Subscribed");
        }
        if (special) buf_printf(&b, "%s%s", b.len > start ? " " : "", special);
        buf_append_str(&b, ") \".\" ");
        imap_append_mailbox_name(&b, name);
        if (childinfo) buf_append_str(&b, " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
        imap_send(s, "%s", buf_cstr(&b));
        buf_free(&b);
        if (o->status_items && exists) {
            buf_t st = BUF_INIT;
            status_line(s, name, o->status_items, NULL, &st);
            if (st.len) imap_send(s, "%s", buf_cstr(&st));
            buf_free(&st);
        }
    }
    g_ptr_array_free(names, TRUE);
    g_hash_table_destroy(set);
    g_hash_table_destroy(subscribed);
    g_hash_table_destroy(existing);
    store_strv_free(subs);
    store_strv_free(folders);
}

static void list_common(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs,
                        bool lsub) {
    struct list_opts o = {0};
    o.lsub = lsub;
    size_t i = 0;
    if (!lsub && nargs > 0 && args[0].type == IMAP_ARG_LIST) {
        for (size_t k = 0; k < args[0].nlist; k++) {
            const struct imap_arg *a = &args[0].list[k];
            if (imap_arg_atom_is(a, "SUBSCRIBED")) o.subscribed_only = o.return_subscribed = true;
            else if (imap_arg_atom_is(a, "SPECIAL-USE")) o.special_only = true;
            else if (imap_arg_atom_is(a, "RECURSIVEMATCH")) o.recursive = true;
            else if (imap_arg_atom_is(a, "REMOTE")) continue;
            else {
                imap_tagged(s, tag, "BAD Unknown LIST selection option.");
                return;
            }
        }
        /* RFC 5258 3: RECURSIVEMATCH alone (or with REMOTE only) is BAD */
        if (o.recursive && !o.subscribed_only && !o.special_only) {
            imap_tagged(s, tag, "BAD RECURSIVEMATCH needs another selection option.");
            return;
        }
        i = 1;
    }
    if (nargs < i + 2 || !imap_arg_is_astring(&args[i])) {
        imap_tagged(s, tag, "BAD Syntax: %s reference pattern", lsub ? "LSUB" : "LIST");
        return;
    }
    const char *ref = args[i].str;
    const char **patterns = NULL;
    size_t npat = 0;
    const struct imap_arg *pa = &args[i + 1];
    if (pa->type == IMAP_ARG_LIST && !lsub) {
        patterns = xcalloc(pa->nlist + 1, sizeof *patterns);
        for (size_t k = 0; k < pa->nlist; k++)
            if (imap_arg_is_astring(&pa->list[k])) patterns[npat++] = pa->list[k].str;
    } else if (imap_arg_is_astring(pa)) {
        patterns = xcalloc(1, sizeof *patterns);
        patterns[npat++] = pa->str;
    } else {
        imap_tagged(s, tag, "BAD Invalid pattern.");
        return;
    }
    if (nargs > i + 2) {
        if (!imap_arg_atom_is(&args[i + 2], "RETURN") || nargs < i + 4 || args[i + 3].type != IMAP_ARG_LIST) {
            imap_tagged(s, tag, "BAD Invalid LIST return options.");
            free(patterns);
            return;
        }
        const struct imap_arg *r = &args[i + 3];
        for (size_t k = 0; k < r->nlist; k++) {
            if (imap_arg_atom_is(&r->list[k], "SUBSCRIBED")) o.return_subscribed = true;
            else if (imap_arg_atom_is(&r->list[k], "CHILDREN")) o.return_children = true;
            else if (imap_arg_atom_is(&r->list[k], "SPECIAL-USE")) o.return_special = true;
            else if (imap_arg_atom_is(&r->list[k], "STATUS") && k + 1 < r->nlist && r->list[k + 1].type == IMAP_ARG_LIST)
                o.status_items = &r->list[++k];
            else {
                imap_tagged(s, tag, "BAD Unknown LIST return option.");
                free(patterns);
                return;
            }
        }
    }
    if (npat == 1 && patterns[0][0] == '\0') {
        /* LIST "" "": the hierarchy delimiter and root */
        imap_send(s, "* %s (\\Noselect) \".\" \"\"", lsub ? "LSUB" : "LIST");
    } else {
        list_reply(s, ref, patterns, npat, &o);
    }
    free(patterns);
    imap_tagged(s, tag, "OK %s completed.", lsub ? "Lsub" : "List");
}

void imap_cmd_list(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid) {
    list_common(s, tag, args, nargs, false);
}

void imap_cmd_lsub(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid) {
    list_common(s, tag, args, nargs, true);
}

/* "* STATUS name (MESSAGES n ...)" into out. 0, -EINVAL on bad items,
 * -ENOENT, -EIO; out is empty unless 0. */
static int status_line(struct imap_session *s, const char *name, const struct imap_arg *items,
                       const struct store_mailbox_status *known, buf_t *out) {
    struct store_mailbox_status st;
    if (known) st = *known;
    else {
        int rc = store_mailbox_status(s->app->store, s->account, name, &st);
        if (rc < 0) return rc;
    }
    const struct store_mailbox_info *mb = &st.info;
    buf_append_str(out, "* STATUS ");
    imap_append_mailbox_name(out, name);
    buf_append_str(out, " (");
    size_t start = out->len;
    for (size_t i = 0; i < items->nlist; i++) {
        const struct imap_arg *a = &items->list[i];
        if (out->len > start) buf_append_char(out, ' ');
        if (imap_arg_atom_is(a, "MESSAGES")) buf_printf(out, "MESSAGES %llu", (unsigned long long)st.messages);
        else if (imap_arg_atom_is(a, "RECENT")) buf_printf(out, "RECENT %llu", (unsigned long long)st.recent);
        else if (imap_arg_atom_is(a, "UIDNEXT")) buf_printf(out, "UIDNEXT %u", mb->uidnext);
        else if (imap_arg_atom_is(a, "UIDVALIDITY")) buf_printf(out, "UIDVALIDITY %u", mb->uidvalidity);
        else if (imap_arg_atom_is(a, "UNSEEN")) buf_printf(out, "UNSEEN %llu", (unsigned long long)st.unseen);
        else if (imap_arg_atom_is(a, "HIGHESTMODSEQ"))
            buf_printf(out, "HIGHESTMODSEQ %llu", (unsigned long long)mb->highestmodseq);
        else if (imap_arg_atom_is(a, "SIZE")) buf_printf(out, "SIZE %llu", (unsigned long long)st.size);
        else {
            buf_reset(out);
            return -EINVAL;
        }
    }
    buf_append_char(out, ')');
    return 0;
}

int imap_status_items_line(struct imap_session *s, const char *name, unsigned items,
                           const struct store_mailbox_status *known, buf_t *out) {
    static const char *const names[] = {"MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ"};
    struct imap_arg list[5], all;
    memset(list, 0, sizeof list);
    size_t n = 0;
    for (size_t i = 0; i < 5; i++)
        if (items & (1u << i)) {
            list[n].type = IMAP_ARG_ATOM;
            list[n].str = (char *)names[i];
            list[n++].len = strlen(names[i]);
        }
    memset(&all, 0, sizeof all);
    all.type = IMAP_ARG_LIST;
    all.list = list;
    all.nlist = n;
    return status_line(s, name, &all, known, out);
}

void imap_list_one(struct imap_session *s, const char *name, const char *old_name, buf_t *out) {
    char **folders = store_folders(s->app->store, s->account);
    bool exists = !strcmp(name, "INBOX"), children = false;
    size_t nl = strlen(name);
    for (char **f = folders; *f; f++) {
        if (!strcmp(*f, name)) exists = true;
        else if (!strncmp(*f, name, nl) && (*f)[nl] == '.') children = true;
    }
    store_strv_free(folders);
    buf_append_str(out, "* LIST (");
    size_t start = out->len;
    if (!exists) buf_append_str(out, "\\NonExistent");
    else buf_append_str(out, children ? "\\HasChildren" : "\\HasNoChildren");
    if (store_mailbox_is_subscribed(s->app->store, s->account, name) == 1) buf_append_str(out, " \\Subscribed");
    const char *special = exists ? imap_special_use(name) : NULL;
    if (special) buf_printf(out, "%s%s", out->len > start ? " " : "", special);
    buf_append_str(out, ") \".\" ");
    imap_append_mailbox_name(out, name);
    if (old_name) {
        buf_append_str(out, " (\"OLDNAME\" (");
        imap_append_mailbox_name(out, old_name);
        buf_append_str(out, "))");
    }
}

void imap_cmd_status(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid) {
    if (nargs != 2 || args[1].type != IMAP_ARG_LIST) {
        imap_tagged(s, tag, "BAD Syntax: STATUS mailbox (items)");
        return;
    }
    buf_t name = BUF_INIT;
    if (!imap_mailbox_arg(s, tag, &args[0], &name)) {
        buf_free(&name);
        return;
    }
    if (!mailbox_exists(s, buf_cstr(&name))) {
        imap_tagged(s, tag, "NO [NONEXISTENT] Mailbox doesn't exist: %s", buf_cstr(&name));
        buf_free(&name);
        return;
    }
    for (size_t i = 0; i < args[1].nlist; i++)
        if (imap_arg_atom_is(&args[1].list[i], "HIGHESTMODSEQ")) imap_enable_condstore(s);
    /* a mailbox changed by other programs: bring the index up to date */
    store_sync_mailbox(s->app->store, s->account, buf_cstr(&name));
    buf_t line = BUF_INIT;
    int rc = status_line(s, buf_cstr(&name), &args[1], NULL, &line);
    if (rc == -EINVAL) imap_tagged(s, tag, "BAD Invalid STATUS item.");
    else if (rc == -ENOENT) imap_tagged(s, tag, "NO [NONEXISTENT] Mailbox doesn't exist: %s", buf_cstr(&name));
    else if (rc < 0) imap_tagged(s, tag, "NO [SERVERBUG] Cannot read the mailbox status.");
    else {
        imap_send(s, "%s", buf_cstr(&line));
        imap_tagged(s, tag, "OK Status completed.");
    }
    buf_free(&line);
    buf_free(&name);
}

/* ---- APPEND ------------------------------------------------------------ */

/* "25-Nov-2026 08:51:41 +0000" -> unix time; false if malformed. */
static bool parse_date_time(const char *str, int64_t *out) {
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int day, year, hh, mm, ss, zone;
    char mon[4];
    while (*str == ' ') str++;
    if (sscanf(str, "%d-%3s-%d %d:%d:%d %d", &day, mon, &year, &hh, &mm, &ss, &zone) != 7) return false;
    int m = -1;
    for (int i = 0; i < 12; i++)
        if (!strcasecmp(mon, months[i])) m = i;
    if (m < 0 || day < 1 || day > 31 || year < 1970 || hh > 23 || mm > 59 || ss > 60) return false;
    struct tm tm = {0};
    tm.tm_mday = day;
    tm.tm_mon = m;
    tm.tm_year = year - 1900;
    tm.tm_hour = hh;
    tm.tm_min = mm;
    tm.tm_sec = ss;
    int64_t t = (int64_t)timegm(&tm);
    int sign = zone < 0 ? -1 : 1;
    int az = zone * sign;
    t -= sign * ((az / 100) * 3600 + (az % 100) * 60);
    *out = t;
    return true;
}

/* "5:7" / "5,9" from ascending UIDs (APPENDUID of a MULTIAPPEND). */
/* APPEND mailbox 1*([flags] [date-time] message), MULTIAPPEND (RFC 3502):
 * several messages in one command are kept all or none, with one
 * APPENDUID for their UID set. A message is a literal or, with BINARY
 * (RFC 3516), a literal8 "~{n}", or with CATENATE (RFC 4469) a list of
 * TEXT literals and URLs of message parts (imap_catenate). */
void imap_cmd_append(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid) {
    static const char syntax[] = "BAD Syntax: APPEND mailbox 1*([flags] [date-time] (literal / CATENATE (...)))";
    if (nargs < 2) {
        imap_tagged(s, tag, "%s", syntax);
        return;
    }
    buf_t name = BUF_INIT;
    if (!imap_mailbox_arg(s, tag, &args[0], &name)) {
        buf_free(&name);
        return;
    }
    /* at most one message per remaining argument */
    struct store_append_msg *msgs = xcalloc(nargs, sizeof *msgs);
    buf_t *kws = xcalloc(nargs, sizeof *kws);
    buf_t *bodies = xcalloc(nargs, sizeof *bodies); /* rewritten literal8 / CATENATE messages */
    const struct imap_arg **cats = xcalloc(nargs, sizeof *cats); /* CATENATE lists */
    uint32_t *uids = xcalloc(nargs, sizeof *uids);
    size_t n = 0;
    for (size_t i = 1; i < nargs; n++) {
        struct store_append_msg *m = &msgs[n];
        if (args[i].type == IMAP_ARG_LIST) {
            if (!imap_parse_flags(&args[i], &m->flags, &kws[n])) {
                imap_tagged(s, tag, "BAD Invalid flags.");
                goto out;
            }
            m->keywords = kws[n].len ? buf_cstr(&kws[n]) : NULL;
            i++;
        }
        if (i < nargs && args[i].type == IMAP_ARG_QUOTED) {
            if (!parse_date_time(args[i].str, &m->internaldate)) {
                imap_tagged(s, tag, "BAD Invalid date-time.");
                goto out;
            }
            i++;
        }
        if (i + 1 < nargs && imap_arg_atom_is(&args[i], "CATENATE") && args[i + 1].type == IMAP_ARG_LIST) {
            /* built below, once the mailbox is known to exist */
            cats[n] = &args[i + 1];
            i += 2;
            continue;
        }
        if (i >= nargs || (args[i].type != IMAP_ARG_LITERAL && args[i].type != IMAP_ARG_LITERAL8)) {
            imap_tagged(s, tag, "%s", syntax);
            goto out;
        }
        m->data = args[i].str;
        m->len = args[i].len;
        if (args[i].type == IMAP_ARG_LITERAL8 && imap_binary_append_encode(m->data, m->len, &bodies[n])) {
            /* binary parts stored as base64: BINARY gives their bytes back */
            m->data = bodies[n].data;
            m->len = bodies[n].len;
        }
        i++;
    }
    if (!mailbox_exists(s, buf_cstr(&name))) {
        imap_tagged(s, tag, "NO [TRYCREATE] Mailbox doesn't exist: %s", buf_cstr(&name));
        goto out;
    }
    for (size_t k = 0; k < n; k++) {
        if (!cats[k]) continue;
        const char *bad_url;
        enum imap_catenate_result cr = imap_catenate_build(s, cats[k], &bodies[k], &bad_url);
        if (cr == IMAP_CATENATE_BAD) {
            imap_tagged(s, tag, "BAD Syntax: CATENATE (1*(TEXT literal / URL url))");
            goto out;
        }
        if (cr == IMAP_CATENATE_BADURL) {
            /* url-resp-text: no "]" and no control characters */
            buf_t u = BUF_INIT;
            for (const char *c = bad_url; *c && u.len < 512; c++)
                buf_append_char(&u, *c == ']' || (unsigned char)*c < 0x20 ? '?' : *c);
            imap_tagged(s, tag, "NO [BADURL %s] The URL names no message part of this account.", buf_cstr(&u));
            buf_free(&u);
            goto out;
        }
        if (cr == IMAP_CATENATE_TOOBIG) {
            imap_tagged(s, tag, "NO [TOOBIG] Message is larger than message_size_limit.");
            goto out;
        }
        msgs[k].data = bodies[k].data ? bodies[k].data : "";
        msgs[k].len = bodies[k].len;
    }
    for (size_t k = 0; k < n; k++) {
        if (msgs[k].len == 0) {
            imap_tagged(s, tag, "NO Can't save an empty message.");
            goto out;
        }
        /* the limits of every way in, as for SMTP */
        if ((int64_t)msgs[k].len > s->app->cfg->message_size_limit) {
            imap_tagged(s, tag, "NO [TOOBIG] Message is larger than message_size_limit.");
            goto out;
        }
    }
    if (app_disk_full(s->app)) {
        imap_tagged(s, tag, "NO [OVERQUOTA] Not enough disk space.");
        goto out;
    }
    int rc = store_append_set(s->app->store, s->account, buf_cstr(&name), msgs, n, uids, NULL);
    if (rc < 0) {
        imap_tagged(s, tag, "NO [SERVERBUG] Cannot save the message%s: %s", n > 1 ? "s" : "", strerror(-rc));
        goto out;
    }
    struct store_mailbox_info mb;
    store_mailbox_info(s->app->store, s->account, buf_cstr(&name), false, &mb);
    imap_sync(s, true);
    buf_t set = BUF_INIT;
    imap_seqset_append_list(&set, uids, n);
    imap_tagged(s, tag, "OK [APPENDUID %u %s] Append completed.", mb.uidvalidity, buf_cstr(&set));
    buf_free(&set);
out:
    for (size_t k = 0; k < nargs; k++) {
        buf_free(&kws[k]);
        buf_free(&bodies[k]);
    }
    free(kws);
    free(bodies);
    free(cats);
    free(msgs);
    free(uids);
    buf_free(&name);
}

/* ---- CHECK / CLOSE / UNSELECT / EXPUNGE -------------------------------- */

void imap_cmd_check(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid) {
    imap_check_maildir(s);
    imap_sync(s, true);
    imap_tagged(s, tag, "OK Check completed.");
}

/* Expunge \Deleted messages (of set, if given). Returns how many. The
 * candidates are those this session saw as \Deleted; the store removes
 * only those still \Deleted as stored, so a message another session has
 * undeleted meanwhile stays. */
/* EXPUNGE and CLOSE remove every message of the snapshot that is \Deleted
 * in the store now (RFC 3501 6.4.3), also when another session set the
 * flag and this one has not been told yet: the candidates are the ones
 * this session knows as \Deleted and those with a flag change waiting to
 * be reported (all of them after outside changes); the store checks the
 * stored flag of each. */
static size_t expunge_deleted(struct imap_session *s, const struct imap_seqset *uids) {
    GArray *rows = g_array_new(FALSE, FALSE, sizeof(int64_t));
    uint32_t star = imap_exists(s) ? imap_msg_at(s, imap_exists(s) - 1)->uid : 0;
    GHashTable *changed = NULL;
    if (s->pending_update->len && !s->pending_rescan) {
        changed = g_hash_table_new(g_direct_hash, g_direct_equal);
        for (guint k = 0; k < s->pending_update->len; k++)
            g_hash_table_add(changed, GUINT_TO_POINTER(g_array_index(s->pending_update, uint32_t, k)));
    }
    for (uint32_t i = 0; i < imap_exists(s); i++) {
        struct imap_msg *m = imap_msg_at(s, i);
        if (!(m->flags & MSG_DELETED) && !s->pending_rescan &&
            !(changed && g_hash_table_contains(changed, GUINT_TO_POINTER(m->uid))))
            continue;
        if (uids && !imap_seqset_contains(uids, m->uid, star)) continue;
        g_array_append_val(rows, m->row);
    }
    if (changed) g_hash_table_destroy(changed);
    size_t n = store_expunge_deleted(s->app->store, (const int64_t *)(void *)rows->data, rows->len);
    g_array_free(rows, TRUE);
    return n;
}

void imap_cmd_close(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid) {
    if (!s->readonly) {
        expunge_deleted(s, NULL);
        /* CLOSE expunges silently */
        g_array_set_size(s->pending_expunge, 0);
    }
    imap_close_mailbox(s);
    imap_tagged(s, tag, "OK Close completed.");
}

void imap_cmd_unselect(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid) {
    imap_close_mailbox(s);
    imap_tagged(s, tag, "OK Unselect completed.");
}

void imap_cmd_expunge(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid) {
    if (s->readonly) {
        imap_tagged(s, tag, "NO Mailbox is read-only.");
        return;
    }
    struct imap_seqset set;
    imap_seqset_init(&set);
    if (uid) {
        if (nargs != 1 || args[0].type != IMAP_ARG_ATOM || !imap_seqset_parse(args[0].str, args[0].len, &set)) {
            imap_tagged(s, tag, "BAD Syntax: UID EXPUNGE uid-set");
            imap_seqset_free(&set);
            return;
        }
    }
    expunge_deleted(s, uid ? &set : NULL);
    imap_seqset_free(&set);
    imap_sync(s, true);
    imap_tagged(s, tag, "OK Expunge completed.");
}
