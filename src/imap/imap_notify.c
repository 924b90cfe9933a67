/*
 * imap_notify - NOTIFY's arguments (RFC 5465 8); see imap_notify.h.
 */
#include "imap/imap_notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xalloc.h"

static const char *const event_names[] = {
    "MessageNew",  "MessageExpunge",     "FlagChange",            "AnnotationChange",
    "MailboxName", "SubscriptionChange", "MailboxMetadataChange", "ServerMetadataChange",
};
#define N_EVENTS (sizeof event_names / sizeof event_names[0])

void imap_notify_event_names(unsigned bits, char *out, size_t outsz) {
    size_t used = 0;
    if (outsz) out[0] = '\0';
    for (size_t i = 0; i < N_EVENTS; i++) {
        if (!(bits & (1u << i))) continue;
        int n = snprintf(out + used, outsz - used, "%s%s", used ? " " : "", event_names[i]);
        if (n < 0 || (size_t)n >= outsz - used) return;
        used += (size_t)n;
    }
}

bool imap_notify_in_subtree(const char *root, const char *name) {
    size_t n = strlen(root);
    /* INBOX is named in any case */
    bool same = strcasecmp(root, "INBOX") == 0 ? strncasecmp(name, root, n) == 0 : strncmp(name, root, n) == 0;
    return same && (name[n] == '\0' || name[n] == '.');
}

void imap_notify_request_free(struct imap_notify_request *req) {
    free(req->groups);
    req->groups = NULL;
    req->ngroups = 0;
}

/* events = "(" event *(SP event) ")" / "NONE"; into *bits, *fetch. */
static bool parse_events(const struct imap_arg *a, bool selected, struct imap_notify_request *req, unsigned *bits,
                         const struct imap_arg **fetch, const char **why) {
    *bits = 0;
    *fetch = NULL;
    if (imap_arg_atom_is(a, "NONE")) return true;
    if (a->type != IMAP_ARG_LIST || a->nlist == 0) {
        *why = "Expected a list of events or NONE.";
        return false;
    }
    for (size_t i = 0; i < a->nlist; i++) {
        const struct imap_arg *e = &a->list[i];
        if (e->type != IMAP_ARG_ATOM) {
            *why = "Expected an event name.";
            return false;
        }
        unsigned bit = 0;
        for (size_t k = 0; k < N_EVENTS; k++)
            if (strcasecmp(e->str, event_names[k]) == 0) bit = 1u << k;
        if (!bit) {
            req->unknown = true; /* event-ext: well formed, not offered */
            continue;
        }
        *bits |= bit; /* given twice: once, as Dovecot takes it */
        if (bit == IMAP_NOTIFY_MESSAGE_NEW && i + 1 < a->nlist && a->list[i + 1].type == IMAP_ARG_LIST) {
            if (!selected) {
                *why = "Fetch attributes for MessageNew are only allowed with SELECTED or SELECTED-DELAYED.";
                return false;
            }
            if (a->list[i + 1].nlist == 0) {
                *why = "Empty fetch attribute list.";
                return false;
            }
            *fetch = &a->list[++i];
        }
    }
    if (selected && (*bits & ~(unsigned)IMAP_NOTIFY_MESSAGE_EVENTS)) {
        *why = "Only message events may be used with SELECTED or SELECTED-DELAYED.";
        return false;
    }
    if (selected) {
        /* RFC 5465 5 */
        bool n = *bits & IMAP_NOTIFY_MESSAGE_NEW, x = *bits & IMAP_NOTIFY_MESSAGE_EXPUNGE;
        if (n != x) {
            *why = "MessageNew and MessageExpunge must be given together.";
            return false;
        }
        if ((*bits & (IMAP_NOTIFY_FLAG_CHANGE | IMAP_NOTIFY_ANNOTATION_CHANGE)) && !n) {
            *why = "FlagChange and AnnotationChange need MessageNew and MessageExpunge.";
            return false;
        }
    }
    req->unsupported |= *bits & ~(unsigned)IMAP_NOTIFY_SUPPORTED;
    return true;
}

bool imap_notify_parse(const struct imap_arg *args, size_t nargs, struct imap_notify_request *req,
                       const char **why) {
    memset(req, 0, sizeof *req);
    *why = NULL;
    if (nargs == 1 && imap_arg_atom_is(&args[0], "NONE")) {
        req->none = true;
        return true;
    }
    if (nargs < 1 || !imap_arg_atom_is(&args[0], "SET")) {
        *why = "Expected SET or NONE.";
        return false;
    }
    size_t i = 1;
    if (i < nargs && imap_arg_atom_is(&args[i], "STATUS")) {
        req->status = true;
        i++;
    }
    if (i >= nargs) {
        *why = "Expected an event group.";
        return false;
    }
    req->groups = xcalloc(nargs - i, sizeof *req->groups);
    for (; i < nargs; i++) {
        const struct imap_arg *g = &args[i];
        if (g->type != IMAP_ARG_LIST || g->nlist < 2 || g->list[0].type != IMAP_ARG_ATOM) {
            *why = "Expected (filter events).";
            goto bad;
        }
        const struct imap_arg *f = &g->list[0];
        bool sel = imap_arg_atom_is(f, "SELECTED"), delayed = imap_arg_atom_is(f, "SELECTED-DELAYED");
        if (sel || delayed) {
            if (g->nlist != 2) {
                *why = "Expected (SELECTED events).";
                goto bad;
            }
            if (req->selected) {
                *why = "Only one SELECTED or SELECTED-DELAYED group is allowed.";
                goto bad;
            }
            req->selected = true;
            req->selected_delayed = delayed;
            if (!parse_events(&g->list[1], true, req, &req->selected_events, &req->fetch, why)) goto bad;
            continue;
        }
        struct imap_notify_group grp = {0};
        size_t ev = 1;
        if (imap_arg_atom_is(f, "INBOXES")) grp.filter = IMAP_NOTIFY_INBOXES;
        else if (imap_arg_atom_is(f, "PERSONAL")) grp.filter = IMAP_NOTIFY_PERSONAL;
        else if (imap_arg_atom_is(f, "SUBSCRIBED")) grp.filter = IMAP_NOTIFY_SUBSCRIBED;
        else if (imap_arg_atom_is(f, "SUBTREE") || imap_arg_atom_is(f, "MAILBOXES")) {
            grp.filter = imap_arg_atom_is(f, "SUBTREE") ? IMAP_NOTIFY_SUBTREE : IMAP_NOTIFY_MAILBOXES;
            const struct imap_arg *m = &g->list[1];
            if (imap_arg_is_astring(m)) {
                grp.names = m;
                grp.nnames = 1;
            } else if (m->type == IMAP_ARG_LIST && m->nlist > 0) {
                for (size_t k = 0; k < m->nlist; k++)
                    if (!imap_arg_is_astring(&m->list[k])) {
                        *why = "Expected a mailbox name.";
                        goto bad;
                    }
                grp.names = m->list;
                grp.nnames = m->nlist;
            } else {
                *why = "Expected a mailbox name or a list of them.";
                goto bad;
            }
            ev = 2;
        } else {
            *why = "Unknown mailbox filter.";
            goto bad;
        }
        if (g->nlist != ev + 1) {
            *why = "Expected (filter events).";
            goto bad;
        }
        const struct imap_arg *unused_fetch;
        if (!parse_events(&g->list[ev], false, req, &grp.events, &unused_fetch, why)) goto bad;
        if (grp.events) req->groups[req->ngroups++] = grp;
    }
    return true;
bad:
    imap_notify_request_free(req);
    return false;
}
