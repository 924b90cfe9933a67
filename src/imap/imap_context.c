/*
 * imap_context - updating searches (RFC 5267 CONTEXT=SEARCH and
 * CONTEXT=SORT): a SEARCH or SORT with RETURN (UPDATE) is kept with its
 * result, and while the mailbox stays selected every change to that result
 * is reported as ESEARCH ADDTO / REMOVEFROM, whether this session or
 * another one made it, until CANCELUPDATE or the mailbox is closed.
 *
 * When: the session notes the messages whose flags changed and the ones
 * that arrived (imap_context_touch); at the end of each imap_sync the
 * search is evaluated again on those messages only (on all of them when
 * it has sequence-number keys or a "*", whose meaning moved) and compared
 * with the kept result. Expunged members are reported before the EXPUNGE
 * that removes them, so sequence numbers in REMOVEFROM are the ones the
 * client still has; ADDTO follows EXISTS.
 *
 * Positions: SEARCH updates carry position 0 (RFC 5267 4.3: the result
 * has no order beyond the mailbox's). SORT updates carry the 1-based
 * position in the sorted result of each message, one pair per message, to
 * be applied in the order given: removals from the highest position down,
 * then additions from the lowest up, each at its final position.
 */
#include <stdlib.h>
#include <string.h>

#include "core/invariant.h"
#include "core/xalloc.h"
#include "imap/imap_internal.h"
#include "imap/imap_search.h"
#include "imap/imap_sort.h"
#include "store/sort.h"

struct imap_context {
    char *tag;
    bool uid;      /* UID SEARCH / UID SORT: UIDs, else sequence numbers */
    bool sorted;   /* a SORT: members in sort order, positions reported */
    bool shifting; /* keys whose meaning moves with EXISTS or EXPUNGE */
    struct imap_search_program prog;
    struct store_sort_criterion crit[IMAP_SORT_MAX_CRITERIA];
    size_t ncrit;
    GArray *members; /* uint32_t UIDs: ascending (SEARCH) or sort order */
};

static void context_free(void *p) {
    struct imap_context *c = p;
    if (!c) return;
    free(c->tag);
    imap_search_program_free(&c->prog);
    if (c->members) g_array_free(c->members, TRUE);
    free(c);
}

/* Sequence-number keys and "*" mean other messages once EXISTS changes. */
static bool node_shifts(const struct imap_search_node *n) {
    if (!n) return false;
    if (n->key == IMAP_SK_SEQSET) return true;
    if (n->key == IMAP_SK_UID && imap_seqset_has_star(&n->set)) return true;
    for (size_t i = 0; i < n->nchild; i++)
        if (node_shifts(n->child[i])) return true;
    return false;
}

static struct imap_context *find(struct imap_session *s, const char *tag, guint *at) {
    for (guint i = 0; s->contexts && i < s->contexts->len; i++) {
        struct imap_context *c = g_ptr_array_index(s->contexts, i);
        if (strcmp(c->tag, tag) == 0) {
            if (at) *at = i;
            return c;
        }
    }
    return NULL;
}

bool imap_context_tag_busy(struct imap_session *s, const char *tag) { return find(s, tag, NULL) != NULL; }

void imap_context_add(struct imap_session *s, const char *tag, bool uid, struct imap_search_program *prog,
                      const struct store_sort_criterion *crit, size_t ncrit, const uint32_t *members, size_t n) {
    size_t have = s->contexts ? s->contexts->len : 0;
    INVARIANT(ncrit <= IMAP_SORT_MAX_CRITERIA); /* imap_sort_parse's bound */
    if ((int64_t)have >= s->app->cfg->imap_max_update_contexts || ncrit > IMAP_SORT_MAX_CRITERIA) {
        imap_send(s, "* NO [NOUPDATE \"%s\"] No more updating searches in this session (imap_max_update_contexts).",
                  tag);
        return;
    }
    if (!s->contexts) s->contexts = g_ptr_array_new_with_free_func(context_free);
    struct imap_context *c = xcalloc(1, sizeof *c);
    c->tag = xstrdup(tag);
    c->uid = uid;
    c->sorted = crit != NULL;
    c->prog = *prog; /* taken over */
    memset(prog, 0, sizeof *prog);
    c->shifting = node_shifts(c->prog.root);
    if (crit) memcpy(c->crit, crit, ncrit * sizeof *crit);
    c->ncrit = ncrit;
    c->members = g_array_sized_new(FALSE, FALSE, sizeof(uint32_t), (guint)n);
    g_array_append_vals(c->members, members, (guint)n);
    g_ptr_array_add(s->contexts, c);
}

void imap_contexts_free(struct imap_session *s) {
    if (s->contexts) g_ptr_array_free(s->contexts, TRUE);
    s->contexts = NULL;
    if (s->ctx_touched) g_array_set_size(s->ctx_touched, 0);
    s->ctx_shifted = false;
}

void imap_context_touch(struct imap_session *s, uint32_t uid) {
    if (!s->contexts || !s->contexts->len) return;
    if (!s->ctx_touched) s->ctx_touched = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    g_array_append_val(s->ctx_touched, uid);
}

/* memcpy of n UIDs; src may be NULL when n is 0 (an empty GArray) */
static void copy_uids(uint32_t *dst, const void *src, size_t n) {
    if (n) memcpy(dst, src, n * sizeof *dst);
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static bool has_uid(const uint32_t *v, size_t n, uint32_t uid) {
    return n && bsearch(&uid, v, n, sizeof *v, cmp_u32) != NULL;
}

/* A UID as the client numbers it. */
static uint32_t shown(struct imap_session *s, const struct imap_context *c, uint32_t uid) {
    return c->uid ? uid : imap_seq_of_uid(s, uid);
}

/* uids ascending: so are the sequence numbers they have */
static void append_set(struct imap_session *s, const struct imap_context *c, const uint32_t *uids, size_t n,
                       buf_t *b) {
    uint32_t *v = xmalloc((n ? n : 1) * sizeof *v);
    for (size_t k = 0; k < n; k++) v[k] = shown(s, c, uids[k]);
    imap_seqset_append_list(b, v, n);
    free(v);
}

static void head(const struct imap_context *c, buf_t *b) {
    buf_printf(b, "* ESEARCH (TAG \"%s\")%s", c->tag, c->uid ? " UID" : "");
}

static void cancel(struct imap_session *s, guint at, const char *why) {
    struct imap_context *c = g_ptr_array_index(s->contexts, at);
    imap_send(s, "* NO [NOUPDATE \"%s\"] %s", c->tag, why);
    g_ptr_array_remove_index(s->contexts, at);
}

/* Report and drop the members in gone (ascending UIDs). */
static void remove_members(struct imap_session *s, struct imap_context *c, const uint32_t *gone, size_t ngone,
                           buf_t *b) {
    if (!ngone) return;
    uint32_t *v = (uint32_t *)(void *)c->members->data;
    size_t n = c->members->len, kept = 0;
    if (!c->sorted) {
        uint32_t *out = xmalloc(ngone * sizeof *out);
        size_t nout = 0;
        for (size_t k = 0; k < n; k++) {
            if (has_uid(gone, ngone, v[k])) out[nout++] = v[k];
            else v[kept++] = v[k];
        }
        if (nout) {
            buf_append_str(b, " REMOVEFROM (0 ");
            append_set(s, c, out, nout, b);
            buf_append_char(b, ')');
        }
        free(out);
    } else {
        size_t *pos = xmalloc(ngone * sizeof *pos);
        size_t npos = 0;
        for (size_t k = 0; k < n; k++)
            if (has_uid(gone, ngone, v[k])) pos[npos++] = k; /* members are unique: npos <= ngone */
        if (npos) {
            buf_append_str(b, " REMOVEFROM (");
            for (size_t j = npos; j-- > 0;)
                buf_printf(b, "%s%zu %u", j + 1 == npos ? "" : " ", pos[j] + 1, shown(s, c, v[pos[j]]));
            buf_append_char(b, ')');
        }
        free(pos);
        for (size_t k = 0; k < n; k++)
            if (!has_uid(gone, ngone, v[k])) v[kept++] = v[k];
    }
    g_array_set_size(c->members, (guint)kept);
}

void imap_contexts_expunging(struct imap_session *s, const uint32_t *uids, size_t n) {
    if (!s->contexts || !s->contexts->len || !n) return;
    uint32_t *gone = xmalloc(n * sizeof *gone);
    memcpy(gone, uids, n * sizeof *gone);
    qsort(gone, n, sizeof *gone, cmp_u32);
    for (guint i = 0; i < s->contexts->len; i++) {
        struct imap_context *c = g_ptr_array_index(s->contexts, i);
        buf_t b = BUF_INIT;
        head(c, &b);
        size_t base = b.len;
        remove_members(s, c, gone, n, &b);
        if (b.len > base) imap_send(s, "%s", buf_cstr(&b));
        buf_free(&b);
    }
    free(gone);
    s->ctx_shifted = true;
}

/* Members of a SORT context after a change: the kept ones and the new
 * ones (ascending) in sort order. false: the index could not be read. */
static bool sort_members(struct imap_session *s, struct imap_context *c, const uint32_t *added, size_t nadded,
                         GArray **out) {
    size_t n = c->members->len + nadded;
    uint32_t *all = xmalloc((n ? n : 1) * sizeof *all);
    copy_uids(all, c->members->data, c->members->len);
    copy_uids(all + c->members->len, added, nadded);
    qsort(all, n, sizeof *all, cmp_u32);
    uint32_t *sorted = xmalloc((n ? n : 1) * sizeof *sorted);
    size_t ns = 0;
    int rc = store_sort_uids(s->app->store, s->mailbox_id, c->crit, c->ncrit, all, n, sorted, &ns);
    free(all);
    if (rc < 0) {
        free(sorted);
        return false;
    }
    *out = g_array_sized_new(FALSE, FALSE, sizeof(uint32_t), (guint)ns);
    g_array_append_vals(*out, sorted, (guint)ns);
    free(sorted);
    return true;
}

/* Compare the context with a fresh evaluation over the messages in only:
 * report what left and what joined. false: cancel it (logged reason). */
static bool apply(struct imap_session *s, struct imap_context *c, const bool *only, const GArray *hits) {
    uint32_t n = imap_exists(s);
    uint32_t *mem = xmalloc((c->members->len ? c->members->len : 1) * sizeof *mem);
    copy_uids(mem, c->members->data, c->members->len);
    size_t nmem = c->members->len;
    qsort(mem, nmem, sizeof *mem, cmp_u32);
    GArray *gone = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    GArray *joined = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    guint h = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!only[i]) continue;
        while (h < hits->len && g_array_index(hits, uint32_t, h) < i) h++;
        bool hit = h < hits->len && g_array_index(hits, uint32_t, h) == i;
        uint32_t uid = imap_msg_at(s, i)->uid;
        bool was = has_uid(mem, nmem, uid);
        if (was && !hit) g_array_append_val(gone, uid);
        else if (!was && hit) g_array_append_val(joined, uid);
    }
    free(mem);
    bool ok = true;
    buf_t b = BUF_INIT;
    head(c, &b);
    size_t base = b.len;
    GArray *next = NULL;
    if (c->sorted && joined->len) {
        /* messages the index no longer has leave too */
        remove_members(s, c, (const uint32_t *)(void *)gone->data, gone->len, &b);
        if (!sort_members(s, c, (const uint32_t *)(void *)joined->data, joined->len, &next)) {
            ok = false;
            goto out;
        }
        GArray *lost = g_array_new(FALSE, FALSE, sizeof(uint32_t));
        uint32_t *nv = (uint32_t *)(void *)next->data;
        uint32_t *sorted_next = xmalloc((next->len ? next->len : 1) * sizeof *sorted_next);
        copy_uids(sorted_next, nv, next->len);
        qsort(sorted_next, next->len, sizeof *sorted_next, cmp_u32);
        for (guint k = 0; k < c->members->len; k++) {
            uint32_t u = g_array_index(c->members, uint32_t, k);
            if (!has_uid(sorted_next, next->len, u)) g_array_append_val(lost, u);
        }
        free(sorted_next);
        if (lost->len) {
            qsort(lost->data, lost->len, sizeof(uint32_t), cmp_u32);
            remove_members(s, c, (const uint32_t *)(void *)lost->data, lost->len, &b);
        }
        g_array_free(lost, TRUE);
        /* members now hold the kept ones in their order: the new ones go
         * in at their final positions, from the lowest up */
        const uint32_t *jv = (const uint32_t *)(void *)joined->data;
        bool first = true;
        for (guint k = 0; k < next->len; k++) {
            if (!has_uid(jv, joined->len, nv[k])) continue;
            buf_printf(&b, "%s%u %u", first ? " ADDTO (" : " ", k + 1, shown(s, c, nv[k]));
            first = false;
        }
        if (!first) buf_append_char(&b, ')');
        g_array_free(c->members, TRUE);
        c->members = next;
        next = NULL;
    } else {
        remove_members(s, c, (const uint32_t *)(void *)gone->data, gone->len, &b);
        if (joined->len) { /* a SEARCH: the order is the mailbox's */
            buf_append_str(&b, " ADDTO (0 ");
            append_set(s, c, (const uint32_t *)(void *)joined->data, joined->len, &b);
            buf_append_char(&b, ')');
            g_array_append_vals(c->members, joined->data, joined->len);
            qsort(c->members->data, c->members->len, sizeof(uint32_t), cmp_u32);
        }
    }
    if (b.len > base) imap_send(s, "%s", buf_cstr(&b));
out:
    buf_free(&b);
    if (next) g_array_free(next, TRUE);
    g_array_free(gone, TRUE);
    g_array_free(joined, TRUE);
    return ok;
}

void imap_contexts_refresh(struct imap_session *s) {
    if (!s->contexts || !s->contexts->len) {
        if (s->ctx_touched) g_array_set_size(s->ctx_touched, 0);
        s->ctx_shifted = false;
        return;
    }
    size_t ntouched = s->ctx_touched ? s->ctx_touched->len : 0;
    if (!ntouched && !s->ctx_shifted) return;
    uint32_t n = imap_exists(s);
    bool *touched = xcalloc(n ? n : 1, sizeof *touched);
    bool *every = NULL;
    bool any = false;
    for (size_t k = 0; k < ntouched; k++) {
        uint32_t seq = imap_seq_of_uid(s, g_array_index(s->ctx_touched, uint32_t, k));
        if (seq) any = touched[seq - 1] = true;
    }
    for (guint i = 0; i < s->contexts->len;) {
        struct imap_context *c = g_ptr_array_index(s->contexts, i);
        const bool *only = touched;
        if (c->shifting && s->ctx_shifted) {
            if (!every) {
                every = xmalloc(n ? n : 1);
                memset(every, 1, n ? n : 1);
            }
            only = every;
        } else if (!any) {
            i++;
            continue;
        }
        GArray *hits = imap_search_eval_in(s, &c->prog, false, only, NULL);
        bool ok = hits && apply(s, c, only, hits);
        if (hits) g_array_free(hits, TRUE);
        if (!ok) {
            cancel(s, i, "The mailbox could not be read; this search is no longer updated.");
            continue;
        }
        i++;
    }
    free(every);
    free(touched);
    if (s->ctx_touched) g_array_set_size(s->ctx_touched, 0);
    s->ctx_shifted = false;
}

/* CANCELUPDATE 1*(SP tag-string) (RFC 5267 4.3): all or none. */
void imap_cmd_cancelupdate(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs,
                           bool uid) {
    (void)uid;
    if (!nargs) {
        imap_tagged(s, tag, "BAD Syntax: CANCELUPDATE \"tag\" ...");
        return;
    }
    for (size_t k = 0; k < nargs; k++) {
        if (!imap_arg_is_astring(&args[k])) {
            imap_tagged(s, tag, "BAD Syntax: CANCELUPDATE \"tag\" ...");
            return;
        }
        if (!find(s, args[k].str, NULL)) {
            imap_tagged(s, tag, "NO No updating search has that tag.");
            return;
        }
    }
    for (size_t k = 0; k < nargs; k++) {
        guint at;
        if (find(s, args[k].str, &at)) g_ptr_array_remove_index(s->contexts, at);
    }
    imap_tagged(s, tag, "OK Updates cancelled.");
}
