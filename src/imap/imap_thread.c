/*
 * imap_thread - RFC 5256 ORDEREDSUBJECT and REFERENCES threading and the
 * thread-list output; see imap_thread.h. The tree is an array of nodes
 * linked by index (parent, first/last child, previous/next sibling), so
 * moving a node is O(1) and no walk needs recursion.
 */
#include "imap/imap_thread.h"

#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "core/xalloc.h"

#define NONE (-1)

struct node {
    int msg; /* index into msgs; NONE: a dummy (a message only referenced) */
    int parent, first, last, prev, next;
};

struct forest {
    const struct imap_thread_msg *msgs;
    struct node *v;
    size_t n, cap;
};

static int node_new(struct forest *f, int msg) {
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 64;
        f->v = xrealloc(f->v, f->cap * sizeof *f->v);
    }
    f->v[f->n] = (struct node){msg, NONE, NONE, NONE, NONE, NONE};
    return (int)f->n++;
}

static void node_unlink(struct forest *f, int c) {
    struct node *x = &f->v[c];
    if (x->parent == NONE) return;
    struct node *p = &f->v[x->parent];
    if (x->prev != NONE) f->v[x->prev].next = x->next;
    else p->first = x->next;
    if (x->next != NONE) f->v[x->next].prev = x->prev;
    else p->last = x->prev;
    x->parent = x->prev = x->next = NONE;
}

/* c (unlinked) becomes p's last child. */
static void node_append(struct forest *f, int p, int c) {
    struct node *x = &f->v[c];
    x->parent = p;
    x->prev = f->v[p].last;
    x->next = NONE;
    if (x->prev != NONE) f->v[x->prev].next = c;
    else f->v[p].first = c;
    f->v[p].last = c;
}

/* c (unlinked) takes the place just before sibling s. */
static void node_insert_before(struct forest *f, int s, int c) {
    struct node *x = &f->v[c];
    int p = f->v[s].parent;
    x->parent = p;
    x->next = s;
    x->prev = f->v[s].prev;
    if (x->prev != NONE) f->v[x->prev].next = c;
    else f->v[p].first = c;
    f->v[s].prev = c;
}

/* Is a the node c or one of its ancestors? */
static bool is_self_or_ancestor(const struct forest *f, int a, int c) {
    for (int x = c; x != NONE; x = f->v[x].parent)
        if (x == a) return true;
    return false;
}

/* The message a node stands for when dates and subjects are compared: its
 * own, or for a dummy its first child's (RFC 5256 REFERENCES (4), (6)). */
static int node_msg(const struct forest *f, int x) {
    while (x != NONE && f->v[x].msg == NONE) x = f->v[x].first;
    return x == NONE ? NONE : f->v[x].msg;
}

/* Sent date, then mailbox order. */
static int cmp_msgs(const struct imap_thread_msg *msgs, int a, int b) {
    if (a == NONE || b == NONE) return (a == NONE) - (b == NONE);
    if (msgs[a].date != msgs[b].date) return msgs[a].date < msgs[b].date ? -1 : 1;
    return (a > b) - (a < b);
}

static int cmp_nodes(const void *pa, const void *pb, void *arg) {
    const struct forest *f = arg;
    return cmp_msgs(f->msgs, node_msg(f, *(const int *)pa), node_msg(f, *(const int *)pb));
}

/* Order p's children by sent date. */
static void sort_children(struct forest *f, int p, GArray *tmp) {
    g_array_set_size(tmp, 0);
    for (int c = f->v[p].first; c != NONE; c = f->v[c].next) g_array_append_val(tmp, c);
    if (tmp->len < 2) return;
    qsort_r(tmp->data, tmp->len, sizeof(int), cmp_nodes, f);
    f->v[p].first = f->v[p].last = NONE;
    for (guint i = 0; i < tmp->len; i++) {
        int c = g_array_index(tmp, int, i);
        f->v[c].parent = NONE;
        node_append(f, p, c);
    }
}

/* Every node below root, parents before children (pre-order). */
static GArray *preorder(const struct forest *f, int root) {
    GArray *out = g_array_new(FALSE, FALSE, sizeof(int));
    GArray *stack = g_array_new(FALSE, FALSE, sizeof(int));
    g_array_append_val(stack, root);
    while (stack->len) {
        int x = g_array_index(stack, int, stack->len - 1);
        g_array_set_size(stack, stack->len - 1);
        g_array_append_val(out, x);
        for (int c = f->v[x].last; c != NONE; c = f->v[c].prev) g_array_append_val(stack, c);
    }
    g_array_free(stack, TRUE);
    return out;
}

/* ---- output ------------------------------------------------------------ */

/*   thread-list    = "(" (thread-members / thread-nested) ")"
 *   thread-members = nz-number *(SP nz-number) [SP thread-nested]
 *   thread-nested  = 2*thread-list
 * A chain of only children is written as members; a node with several
 * children nests each. Iterative: a stack of pending nodes and closers. */
static void format_forest(const struct forest *f, int root, buf_t *out) {
    GArray *stack = g_array_new(FALSE, FALSE, sizeof(int));
    /* entries: node index, or -2 for a ")" */
    const int close = -2;
    for (int c = f->v[root].last; c != NONE; c = f->v[c].prev) {
        g_array_append_val(stack, close);
        g_array_append_val(stack, c);
    }
    bool open_next = true; /* the next node popped starts a thread-list */
    while (stack->len) {
        int x = g_array_index(stack, int, stack->len - 1);
        g_array_set_size(stack, stack->len - 1);
        if (x == close) {
            buf_append_char(out, ')');
            continue;
        }
        if (open_next) buf_append_char(out, '(');
        const struct node *nd = &f->v[x];
        bool one_child = nd->first != NONE && nd->first == nd->last;
        if (nd->msg != NONE) {
            buf_printf(out, "%u", f->msgs[nd->msg].id);
            if (nd->first != NONE) buf_append_char(out, ' ');
        }
        if (one_child) {
            /* the child continues this thread-members: no parentheses */
            int c = nd->first;
            g_array_append_val(stack, c);
            open_next = false;
            continue;
        }
        for (int c = nd->last; c != NONE; c = f->v[c].prev) {
            g_array_append_val(stack, close);
            g_array_append_val(stack, c);
        }
        open_next = true;
    }
    g_array_free(stack, TRUE);
}

/* ---- ORDEREDSUBJECT ------------------------------------------------------ */

static int cmp_subject_date(const void *pa, const void *pb, void *arg) {
    const struct imap_thread_msg *msgs = arg;
    int a = *(const int *)pa, b = *(const int *)pb;
    int c = strcmp(msgs[a].subject ? msgs[a].subject : "", msgs[b].subject ? msgs[b].subject : "");
    return c ? c : cmp_msgs(msgs, a, b);
}

/* RFC 5256 3: sort by base subject, then sent date; each run of one base
 * subject is a thread whose first message is the parent of all others;
 * threads are ordered by the sent date of their first message. */
void imap_thread_orderedsubject(const struct imap_thread_msg *msgs, size_t n, buf_t *out) {
    if (n == 0) return;
    int *ord = xmalloc(n * sizeof *ord);
    for (size_t i = 0; i < n; i++) ord[i] = (int)i;
    qsort_r(ord, n, sizeof *ord, cmp_subject_date, (void *)msgs);
    struct forest f = {.msgs = msgs};
    int root = node_new(&f, NONE);
    int parent = NONE;
    for (size_t i = 0; i < n; i++) {
        int x = node_new(&f, ord[i]);
        const char *s = msgs[ord[i]].subject ? msgs[ord[i]].subject : "";
        const char *ps = parent != NONE && msgs[f.v[parent].msg].subject ? msgs[f.v[parent].msg].subject : "";
        if (parent != NONE && strcmp(s, ps) == 0) {
            node_append(&f, parent, x);
        } else {
            node_append(&f, root, x);
            parent = x;
        }
    }
    GArray *tmp = g_array_new(FALSE, FALSE, sizeof(int));
    sort_children(&f, root, tmp);
    g_array_free(tmp, TRUE);
    format_forest(&f, root, out);
    free(f.v);
    free(ord);
}

/* ---- REFERENCES ---------------------------------------------------------- */

struct idtable {
    GHashTable *map; /* Message-ID -> node index + 1 */
    GStringChunk *keys;
    buf_t tmp;
};

static int id_lookup(struct idtable *t, const char *id, size_t len) {
    buf_reset(&t->tmp);
    buf_append(&t->tmp, id, len);
    return GPOINTER_TO_INT(g_hash_table_lookup(t->map, buf_cstr(&t->tmp))) - 1;
}

static void id_insert(struct idtable *t, const char *id, size_t len, int node) {
    char *k = g_string_chunk_insert_len(t->keys, id, (gssize)len);
    g_hash_table_insert(t->map, k, GINT_TO_POINTER(node + 1));
}

/* The container of a referenced Message-ID, a dummy when first seen. */
static int id_container(struct forest *f, struct idtable *t, const char *id, size_t len) {
    int c = id_lookup(t, id, len);
    if (c == NONE) {
        c = node_new(f, NONE);
        id_insert(t, id, len, c);
    }
    return c;
}

/* Link parent -> child unless child has a parent already or the link
 * would close a loop. */
static void link_if_free(struct forest *f, int parent, int child) {
    if (parent == child || f->v[child].parent != NONE) return;
    /* a childless node cannot be an ancestor of anything */
    if (f->v[child].first != NONE && is_self_or_ancestor(f, child, parent)) return;
    node_append(f, parent, child);
}

static const char *next_token(const char *p, const char **tok, size_t *len) {
    while (*p == ' ') p++;
    const char *s = p;
    while (*p && *p != ' ') p++;
    *tok = s;
    *len = (size_t)(p - s);
    return p;
}

/* (1) containers and parent/child links from Message-ID, References and
 * In-Reply-To; (2) every node without a parent goes under root. */
static void build_links(struct forest *f, int root, size_t n) {
    const struct imap_thread_msg *msgs = f->msgs;
    struct idtable t = {g_hash_table_new(g_str_hash, g_str_equal), g_string_chunk_new(64 * 1024), BUF_INIT};
    for (size_t i = 0; i < n; i++) {
        const struct imap_thread_msg *m = &msgs[i];
        const char *mid = m->message_id ? m->message_id : "";
        size_t mlen = strlen(mid);
        int c = mlen ? id_lookup(&t, mid, mlen) : NONE;
        if (c != NONE && f->v[c].msg == NONE) {
            f->v[c].msg = (int)i;
        } else {
            /* no Message-ID, or a duplicate: a container of its own */
            bool dup = c != NONE;
            c = node_new(f, (int)i);
            if (mlen && !dup) id_insert(&t, mid, mlen, c);
        }
        const char *refs = m->references && *m->references ? m->references : m->in_reply_to ? m->in_reply_to : "";
        int prev = NONE;
        const char *tok;
        size_t tl;
        for (const char *p = next_token(refs, &tok, &tl); tl; p = next_token(p, &tok, &tl)) {
            int r = id_container(f, &t, tok, tl);
            /* (1)(A): link each reference to the one before it */
            if (prev != NONE) link_if_free(f, prev, r);
            prev = r;
        }
        /* (1)(B): the last reference is the parent; an earlier parent
         * (from a truncated References of another message) gives way */
        node_unlink(f, c);
        if (prev != NONE && prev != c && !(f->v[c].first != NONE && is_self_or_ancestor(f, c, prev)))
            node_append(f, prev, c);
    }
    for (size_t x = 0; x < f->n; x++)
        if ((int)x != root && f->v[x].parent == NONE) node_append(f, root, (int)x);
    g_hash_table_destroy(t.map);
    g_string_chunk_free(t.keys);
    buf_free(&t.tmp);
}

/* (3) dummies without children go; a dummy with children is replaced by
 * them, except directly under root when it has several. Children first. */
static void prune_dummies(struct forest *f, int root) {
    GArray *order = preorder(f, root);
    for (guint k = order->len; k-- > 1;) {
        int d = g_array_index(order, int, k);
        if (f->v[d].msg != NONE) continue;
        if (f->v[d].first == NONE) {
            node_unlink(f, d);
            continue;
        }
        if (f->v[d].parent == root && f->v[d].first != f->v[d].last) continue;
        while (f->v[d].first != NONE) {
            int c = f->v[d].first;
            node_unlink(f, c);
            node_insert_before(f, d, c);
        }
        node_unlink(f, d);
    }
    g_array_free(order, TRUE);
}

static const char *node_subject(const struct forest *f, int x) {
    int m = node_msg(f, x);
    return m == NONE || !f->msgs[m].subject ? "" : f->msgs[m].subject;
}

static bool node_is_reply(const struct forest *f, int x) {
    return f->v[x].msg != NONE && f->msgs[f->v[x].msg].reply;
}

/* (5) threads under root with the same base subject are gathered. */
static void merge_subjects(struct forest *f, int root) {
    GHashTable *table = g_hash_table_new(g_str_hash, g_str_equal);
    /* (B) one thread per subject: a dummy wins, then a non-reply */
    for (int x = f->v[root].first; x != NONE; x = f->v[x].next) {
        const char *s = node_subject(f, x);
        if (!*s) continue;
        gpointer v = g_hash_table_lookup(table, s);
        if (!v) {
            g_hash_table_insert(table, (gpointer)s, GINT_TO_POINTER(x + 1));
            continue;
        }
        int cur = GPOINTER_TO_INT(v) - 1;
        if (f->v[cur].msg != NONE &&
            (f->v[x].msg == NONE || (node_is_reply(f, cur) && !node_is_reply(f, x))))
            g_hash_table_insert(table, (gpointer)s, GINT_TO_POINTER(x + 1));
    }
    /* (C) merge the others into it */
    GArray *roots = g_array_new(FALSE, FALSE, sizeof(int));
    for (int x = f->v[root].first; x != NONE; x = f->v[x].next) g_array_append_val(roots, x);
    for (guint k = 0; k < roots->len; k++) {
        int x = g_array_index(roots, int, k);
        if (f->v[x].parent != root) continue; /* moved under a new dummy as a t */
        const char *s = node_subject(f, x);
        if (!*s) continue;
        int t = GPOINTER_TO_INT(g_hash_table_lookup(table, s)) - 1;
        if (t == NONE || t == x) continue;
        bool x_dummy = f->v[x].msg == NONE, t_dummy = f->v[t].msg == NONE;
        if (x_dummy && t_dummy) {
            /* (iii) both dummies: x's children join t's */
            while (f->v[x].first != NONE) {
                int c = f->v[x].first;
                node_unlink(f, c);
                node_append(f, t, c);
            }
            node_unlink(f, x);
        } else if (t_dummy || (node_is_reply(f, x) && !node_is_reply(f, t))) {
            /* (iv) into the dummy; (v) a reply under the original */
            node_unlink(f, x);
            node_append(f, t, x);
        } else {
            /* (vi) both under a new dummy that takes t's place */
            int d = node_new(f, NONE);
            node_insert_before(f, t, d);
            node_unlink(f, t);
            node_unlink(f, x);
            node_append(f, d, t);
            node_append(f, d, x);
            /* s points into msgs, not into the forest: still valid */
            g_hash_table_insert(table, (gpointer)s, GINT_TO_POINTER(d + 1));
        }
    }
    g_array_free(roots, TRUE);
    g_hash_table_destroy(table);
}

/* RFC 5256 3, REFERENCES, steps (1)-(6). */
void imap_thread_references(const struct imap_thread_msg *msgs, size_t n, buf_t *out) {
    if (n == 0) return;
    struct forest f = {.msgs = msgs};
    int root = node_new(&f, NONE);
    build_links(&f, root, n);
    prune_dummies(&f, root);
    GArray *tmp = g_array_new(FALSE, FALSE, sizeof(int));
    /* (4) roots by sent date; a dummy by its first child, so its children first */
    for (int x = f.v[root].first; x != NONE; x = f.v[x].next)
        if (f.v[x].msg == NONE) sort_children(&f, x, tmp);
    sort_children(&f, root, tmp);
    merge_subjects(&f, root);
    /* (6) every set of siblings by sent date, the deepest first */
    GArray *order = preorder(&f, root);
    for (guint k = order->len; k-- > 0;) sort_children(&f, g_array_index(order, int, k), tmp);
    g_array_free(order, TRUE);
    g_array_free(tmp, TRUE);
    format_forest(&f, root, out);
    free(f.v);
}
