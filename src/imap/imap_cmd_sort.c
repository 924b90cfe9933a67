/*
 * imap_cmd_sort - the SORT (RFC 5256, RFC 5957 SORT=DISPLAY, RFC 5267
 * ESORT) and THREAD (RFC 5256 REFERENCES, ORDEREDSUBJECT) commands, UID
 * forms included. The search criteria are evaluated as SEARCH does
 * (imap_search_eval); the order and the threading data come from keys the
 * index stored at delivery (store/sort.h), so no message file is read to
 * sort or thread.
 */
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "imap/imap_internal.h"
#include "imap/imap_search.h"
#include "imap/imap_sort.h"
#include "imap/imap_thread.h"
#include "store/sort.h"

static enum store_sort_key store_key_of(enum imap_sort_key k) {
    switch (k) {
    case IMAP_SORT_ARRIVAL: return STORE_SORT_ARRIVAL;
    case IMAP_SORT_CC: return STORE_SORT_CC;
    case IMAP_SORT_DATE: return STORE_SORT_DATE;
    case IMAP_SORT_FROM: return STORE_SORT_FROM;
    case IMAP_SORT_SIZE: return STORE_SORT_SIZE;
    case IMAP_SORT_SUBJECT: return STORE_SORT_SUBJECT;
    case IMAP_SORT_TO: return STORE_SORT_TO;
    case IMAP_SORT_DISPLAYFROM: return STORE_SORT_DISPLAYFROM;
    case IMAP_SORT_DISPLAYTO: return STORE_SORT_DISPLAYTO;
    }
    return STORE_SORT_ARRIVAL;
}

/* The search criteria after SORT's or THREAD's charset, evaluated: the
 * UIDs of the matching messages (ascending; free), or NULL when a reply
 * was sent already. */
static uint32_t *search_uids(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs,
                             size_t *n_r, struct imap_search_program *prog, uint64_t *max_modseq) {
    const char *reason = NULL;
    /* RETURN and CHARSET belong before the sort criteria, not here */
    if (nargs && (imap_arg_atom_is(&args[0], "RETURN") || imap_arg_atom_is(&args[0], "CHARSET"))) {
        imap_tagged(s, tag, "BAD Unknown search key");
        return NULL;
    }
    enum imap_search_error e = imap_search_parse(args, nargs, prog, &reason);
    if (e != IMAP_SEARCH_OK) {
        imap_tagged(s, tag, "BAD %s", reason ? reason : "Invalid search criteria");
        return NULL;
    }
    if (prog->uses_modseq) imap_enable_condstore(s);
    GArray *hits = imap_search_eval(s, prog, true, max_modseq);
    if (!hits) {
        imap_search_program_free(prog);
        imap_tagged(s, tag, "NO [SERVERBUG] Cannot read the mailbox.");
        return NULL;
    }
    uint32_t *uids = xmalloc((hits->len ? hits->len : 1) * sizeof *uids);
    for (guint k = 0; k < hits->len; k++) uids[k] = imap_msg_at(s, g_array_index(hits, uint32_t, k))->uid;
    *n_r = hits->len;
    g_array_free(hits, TRUE);
    return uids;
}

void imap_cmd_sort(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid) {
    struct imap_sort_request req;
    const char *reason = NULL;
    enum imap_sort_error e = imap_sort_parse(args, nargs, &req, &reason);
    if (e == IMAP_SORT_ERR_BADCHARSET) {
        imap_tagged(s, tag, "NO [BADCHARSET (UTF-8 US-ASCII)] %s", reason);
        return;
    }
    if (e != IMAP_SORT_OK) {
        imap_tagged(s, tag, "BAD %s", reason);
        return;
    }
    bool update = (req.return_opts & IMAP_SORT_RET_UPDATE) != 0;
    if (update && imap_context_tag_busy(s, tag)) {
        imap_tagged(s, tag, "BAD An updating search already has this tag.");
        return;
    }
    struct imap_search_program prog;
    uint64_t max_modseq = 0;
    size_t n = 0;
    uint32_t *uids =
        search_uids(s, tag, args + req.search_arg, nargs - req.search_arg, &n, &prog, &max_modseq);
    if (!uids) return;
    struct store_sort_criterion crit[IMAP_SORT_MAX_CRITERIA];
    for (size_t i = 0; i < req.ncrit; i++) {
        crit[i].key = store_key_of(req.crit[i].key);
        crit[i].reverse = req.crit[i].reverse;
    }
    uint32_t *sorted = xmalloc((n ? n : 1) * sizeof *sorted);
    size_t ns = 0;
    if (store_sort_uids(s->app->store, s->mailbox_id, crit, req.ncrit, uids, n, sorted, &ns) < 0) {
        free(sorted);
        free(uids);
        imap_search_program_free(&prog);
        imap_tagged(s, tag, "NO [SERVERBUG] Cannot read the mailbox.");
        return;
    }
    if (update) imap_context_add(s, tag, uid, &prog, crit, req.ncrit, sorted, ns);
    if (!uid)
        for (size_t i = 0; i < ns; i++) sorted[i] = imap_seq_of_uid(s, sorted[i]);
    buf_t b = BUF_INIT;
    if (req.esort) {
        buf_printf(&b, "* ESEARCH (TAG \"%s\")%s", tag, uid ? " UID" : "");
        if (ns) {
            if (req.return_opts & IMAP_SORT_RET_MIN) buf_printf(&b, " MIN %u", sorted[0]);
            if (req.return_opts & IMAP_SORT_RET_MAX) buf_printf(&b, " MAX %u", sorted[ns - 1]);
            if (req.return_opts & IMAP_SORT_RET_ALL) {
                buf_append_str(&b, " ALL ");
                imap_seqset_append_list(&b, sorted, ns);
            }
        }
        if (req.return_opts & IMAP_SORT_RET_PARTIAL) {
            /* RFC 5267 4.4: positions lo..hi of the sorted result */
            buf_printf(&b, " PARTIAL (%u:%u ", req.partial_lo, req.partial_hi);
            if (req.partial_lo <= ns) {
                size_t hi = req.partial_hi < ns ? req.partial_hi : ns;
                imap_seqset_append_list(&b, sorted + req.partial_lo - 1, hi - req.partial_lo + 1);
            } else {
                buf_append_str(&b, "NIL");
            }
            buf_append_char(&b, ')');
        }
        if (req.return_opts & IMAP_SORT_RET_COUNT) buf_printf(&b, " COUNT %zu", ns);
        if (prog.uses_modseq && ns) buf_printf(&b, " MODSEQ %llu", (unsigned long long)max_modseq);
    } else {
        buf_append_str(&b, "* SORT");
        for (size_t i = 0; i < ns; i++) buf_printf(&b, " %u", sorted[i]);
        /* RFC 7162 3.1.5: as for SEARCH */
        if (prog.uses_modseq && ns) buf_printf(&b, " (MODSEQ %llu)", (unsigned long long)max_modseq);
    }
    imap_send(s, "%s", buf_cstr(&b));
    buf_free(&b);
    free(sorted);
    free(uids);
    imap_search_program_free(&prog);
    imap_sync(s, false);
    imap_tagged(s, tag, "OK Sort completed.");
}

void imap_cmd_thread(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid) {
    enum imap_thread_alg alg;
    size_t first = 0;
    const char *reason = NULL;
    enum imap_sort_error e = imap_thread_parse(args, nargs, &alg, &first, &reason);
    if (e == IMAP_SORT_ERR_BADCHARSET) {
        imap_tagged(s, tag, "NO [BADCHARSET (UTF-8 US-ASCII)] %s", reason);
        return;
    }
    if (e != IMAP_SORT_OK) {
        imap_tagged(s, tag, "BAD %s", reason);
        return;
    }
    struct imap_search_program prog;
    size_t n = 0;
    uint32_t *uids = search_uids(s, tag, args + first, nargs - first, &n, &prog, NULL);
    if (!uids) return;
    struct store_thread_set set;
    if (store_thread_load(s->app->store, s->mailbox_id, uids, n, &set) < 0) {
        free(uids);
        imap_search_program_free(&prog);
        imap_tagged(s, tag, "NO [SERVERBUG] Cannot read the mailbox.");
        return;
    }
    struct imap_thread_msg *tm = xcalloc(set.n ? set.n : 1, sizeof *tm);
    for (size_t i = 0; i < set.n; i++) {
        const struct store_thread_msg *m = &set.msgs[i];
        tm[i] = (struct imap_thread_msg){
            .id = uid ? m->uid : imap_seq_of_uid(s, m->uid),
            .date = m->date,
            .message_id = m->message_id,
            .in_reply_to = m->in_reply_to,
            .references = m->references,
            .subject = m->subject,
            .reply = m->reply,
        };
    }
    buf_t b = BUF_INIT;
    buf_append_str(&b, "* THREAD ");
    if (alg == IMAP_THREAD_REFERENCES) imap_thread_references(tm, set.n, &b);
    else imap_thread_orderedsubject(tm, set.n, &b);
    if (set.n == 0) b.len--; /* "* THREAD" alone */
    imap_send(s, "%s", buf_cstr(&b));
    buf_free(&b);
    free(tm);
    store_thread_set_free(&set);
    free(uids);
    imap_search_program_free(&prog);
    imap_sync(s, false);
    imap_tagged(s, tag, "OK Thread completed.");
}
