/*
 * imap_catenate - CATENATE (RFC 4469) for APPEND: a message built from
 * TEXT literals and URL parts (imap_url) that name messages, or sections
 * of them, in this account's mailboxes. A URL part is read as a FETCH
 * BODY[section]<partial> would give it (CRLF line ends).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xalloc.h"
#include "imap/imap_bodystructure.h"
#include "imap/imap_internal.h"
#include "imap/imap_mutf7.h"
#include "imap/imap_url.h"

/* Append what url names to out; false if it names nothing. */
static bool url_part(struct imap_session *s, const struct imap_url *u, buf_t *out) {
    buf_t name = BUF_INIT;
    if (u->mailbox) {
        if (!strcasecmp(u->mailbox, "INBOX")) buf_append_str(&name, "INBOX");
        else if (!imap_mutf7_encode(u->mailbox, strlen(u->mailbox), &name)) goto fail;
    } else if (s->state == IMAP_SELECTED && s->mailbox) {
        buf_append_str(&name, s->mailbox);
    } else {
        goto fail;
    }
    struct store_mailbox_info mb;
    if (store_mailbox_info(s->app->store, s->account, buf_cstr(&name), false, &mb) < 0) goto fail;
    if (u->has_uidvalidity && u->uidvalidity != mb.uidvalidity) goto fail;
    struct store_view_msg vm;
    if (store_view_lookup(s->app->store, mb.id, &u->uid, 1, &vm) < 0 || vm.row == 0) goto fail;
    store_view_msg_clear(&vm);
    struct store_msg m;
    if (store_msg_get(s->app->store, vm.row, &m) < 0) goto fail;
    buf_t raw = BUF_INIT, crlf = BUF_INIT;
    int rc = buf_load_file(&raw, m.path);
    store_msg_free(&m);
    if (rc < 0) {
        buf_free(&raw);
        goto fail;
    }
    imap_bodystructure_crlf(raw.data ? raw.data : "", raw.len, &crlf);
    buf_free(&raw);
    struct imap_bodystructure *bs = imap_bodystructure_parse(crlf.data ? crlf.data : "", crlf.len);
    struct imap_section sec;
    const char *reason;
    const char *spec = u->section ? u->section : "";
    bool ok = imap_bodystructure_section(bs, spec, strlen(spec), &sec, &reason) && sec.found;
    if (ok) {
        if (u->has_partial) imap_section_partial(&sec, u->partial_offset, u->partial_len ? u->partial_len : UINT64_MAX);
        buf_append(out, sec.data, sec.len);
        imap_section_free(&sec);
    }
    imap_bodystructure_free(bs);
    buf_free(&crlf);
    buf_free(&name);
    return ok;
fail:
    buf_free(&name);
    return false;
}

enum imap_catenate_result imap_catenate_build(struct imap_session *s, const struct imap_arg *list, buf_t *out,
                                              const char **bad_url) {
    *bad_url = NULL;
    if (list->type != IMAP_ARG_LIST || list->nlist == 0 || list->nlist % 2) return IMAP_CATENATE_BAD;
    uint64_t limit = (uint64_t)s->app->cfg->message_size_limit;
    for (size_t i = 0; i < list->nlist; i += 2) {
        const struct imap_arg *kind = &list->list[i], *val = &list->list[i + 1];
        if (imap_arg_atom_is(kind, "TEXT")) {
            if (val->type != IMAP_ARG_LITERAL && val->type != IMAP_ARG_LITERAL8) return IMAP_CATENATE_BAD;
            buf_append(out, val->str, val->len);
        } else if (imap_arg_atom_is(kind, "URL")) {
            if (!imap_arg_is_astring(val)) return IMAP_CATENATE_BAD;
            struct imap_url u;
            if (!imap_url_parse(val->str, val->len, &u)) {
                *bad_url = val->str;
                return IMAP_CATENATE_BADURL;
            }
            bool ok = url_part(s, &u, out);
            imap_url_free(&u);
            if (!ok) {
                *bad_url = val->str;
                return IMAP_CATENATE_BADURL;
            }
        } else {
            return IMAP_CATENATE_BAD;
        }
        /* the limit of every way in, checked as the message grows */
        if ((uint64_t)out->len > limit) return IMAP_CATENATE_TOOBIG;
    }
    return IMAP_CATENATE_OK;
}
