/*
 * imap_message - IMAP message commands: FETCH (every RFC 3501 item,
 * CONDSTORE's MODSEQ and CHANGEDSINCE, QRESYNC's VANISHED), STORE
 * (UNCHANGEDSINCE), COPY and MOVE (UIDPLUS COPYUID), SEARCH (ESEARCH),
 * BINARY (RFC 3516: BINARY[part]<partial>, BINARY.PEEK, BINARY.SIZE, decoded
 * by imap_binary).
 *
 * A FETCH over many messages writes one message at a time and yields to
 * the network when the output buffer is past IMAP_OUTPUT_HIGH_WATER, so a
 * `FETCH 1:* BODY[]` on a large mailbox needs memory for one message, not
 * for the mailbox.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <gmime/gmime.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "imap/imap_binary.h"
#include "imap/imap_bodystructure.h"
#include "imap/imap_internal.h"
#include "imap/imap_mutf7.h"
#include "imap/imap_search.h"
#include "store/fetch_data.h"
#include "store/search_rows.h"

/* ---- loading a message as the client sees it (CRLF) ------------------- */

enum load_result { LOAD_OK, LOAD_EXPUNGED, LOAD_UNREADABLE };

/* A message's bytes with CRLF line ends. LOAD_EXPUNGED: its row was gone
 * already (the session will be told at its next sync); LOAD_UNREADABLE:
 * the row was there but its file could not be read. */
static enum load_result load_message_why(struct imap_session *s, int64_t row, buf_t *out) {
    struct store_msg m;
    if (store_msg_get(s->app->store, row, &m) < 0) return LOAD_EXPUNGED;
    buf_t raw = BUF_INIT;
    int rc = buf_load_file(&raw, m.path);
    store_msg_free(&m);
    if (rc == -ENOENT) {
        /* renamed by another program meanwhile: resync and retry once */
        imap_check_maildir(s);
        if (store_msg_get(s->app->store, row, &m) < 0) {
            buf_free(&raw);
            return LOAD_UNREADABLE;
        }
        buf_reset(&raw);
        rc = buf_load_file(&raw, m.path);
        store_msg_free(&m);
    }
    if (rc < 0) {
        buf_free(&raw);
        return LOAD_UNREADABLE;
    }
    imap_bodystructure_crlf(raw.data ? raw.data : "", raw.len, out);
    buf_free(&raw);
    return LOAD_OK;
}

static bool load_message(struct imap_session *s, int64_t row, buf_t *out) {
    return load_message_why(s, row, out) == LOAD_OK;
}

static void format_internaldate(int64_t t, buf_t *out) {
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    char d[64];
    strftime(d, sizeof d, "%d-%b-%Y %H:%M:%S +0000", &tm);
    buf_printf(out, "\"%s\"", d);
}

/* ---- FETCH ---------------------------------------------------------------- */

enum fetch_kind {
    FI_UID, FI_FLAGS, FI_INTERNALDATE, FI_SIZE, FI_ENVELOPE, FI_BODYSTRUCTURE, FI_BODY, FI_SECTION,
    FI_RFC822, FI_RFC822_HEADER, FI_RFC822_TEXT, FI_MODSEQ, FI_BINARY_SIZE,
};

struct fetch_item {
    enum fetch_kind kind;
    struct imap_fetch_att att; /* FI_SECTION, FI_BINARY_SIZE */
    bool peek;
    bool binary; /* BINARY[...] / BINARY.PEEK[...] / BINARY.SIZE[...] (RFC 3516) */
};

struct fetch_state {
    char *tag;
    GArray *idx;     /* snapshot indexes to send */
    guint pos;
    struct fetch_item *items;
    size_t nitems;
    bool uid;
    bool needs_file, needs_row, sets_seen;
    bool needs_struct; /* ENVELOPE / BODY / BODYSTRUCTURE: cached in the index */
    uint64_t changedsince;
    bool has_changedsince;
    struct store_fetch_cursor *data; /* when needs_row or needs_struct */
    bool expunged;   /* a message had been expunged meanwhile */
    bool unreadable; /* a message's file could not be read */
    bool unknown_cte; /* BINARY of a part in an encoding we cannot undo */
};

static void fetch_state_free(void *p) {
    struct fetch_state *f = p;
    if (!f) return;
    for (size_t i = 0; i < f->nitems; i++)
        if (f->items[i].kind == FI_SECTION || f->items[i].kind == FI_BINARY_SIZE) imap_fetch_att_free(&f->items[i].att);
    free(f->items);
    if (f->idx) g_array_free(f->idx, TRUE);
    store_fetch_cursor_free(&f->data);
    free(f->tag);
    free(f);
}

static bool add_item(struct fetch_state *f, const struct imap_arg *a, const char **err) {
    if (a->type != IMAP_ARG_ATOM) {
        *err = "Invalid FETCH item.";
        return false;
    }
    struct fetch_item it = {0};
    const char *n = a->str;
    size_t len = a->len;
    if (mem_ieq(n, len, "ALL") || mem_ieq(n, len, "FAST") || mem_ieq(n, len, "FULL")) {
        enum fetch_kind macro[5] = {FI_FLAGS, FI_INTERNALDATE, FI_SIZE, FI_ENVELOPE, FI_BODY};
        size_t cnt = mem_ieq(n, len, "FAST") ? 3 : mem_ieq(n, len, "ALL") ? 4 : 5;
        for (size_t i = 0; i < cnt; i++) {
            f->items = xrealloc(f->items, (f->nitems + 1) * sizeof *f->items);
            memset(&f->items[f->nitems], 0, sizeof *f->items);
            f->items[f->nitems++].kind = macro[i];
            if (macro[i] == FI_ENVELOPE || macro[i] == FI_BODY) f->needs_struct = true;
            if (macro[i] == FI_INTERNALDATE || macro[i] == FI_SIZE) f->needs_row = true;
        }
        return true;
    }
    if (mem_ieq(n, len, "UID")) it.kind = FI_UID;
    else if (mem_ieq(n, len, "FLAGS")) it.kind = FI_FLAGS;
    else if (mem_ieq(n, len, "INTERNALDATE")) it.kind = FI_INTERNALDATE;
    else if (mem_ieq(n, len, "RFC822.SIZE")) it.kind = FI_SIZE;
    else if (mem_ieq(n, len, "ENVELOPE")) it.kind = FI_ENVELOPE;
    else if (mem_ieq(n, len, "BODYSTRUCTURE")) it.kind = FI_BODYSTRUCTURE;
    else if (mem_ieq(n, len, "BODY")) it.kind = FI_BODY;
    else if (mem_ieq(n, len, "RFC822")) it.kind = FI_RFC822;
    else if (mem_ieq(n, len, "RFC822.HEADER")) it.kind = FI_RFC822_HEADER;
    else if (mem_ieq(n, len, "RFC822.TEXT")) it.kind = FI_RFC822_TEXT;
    else if (mem_ieq(n, len, "MODSEQ")) it.kind = FI_MODSEQ;
    else {
        if (!imap_parser_fetch_att(n, len, &it.att) || !it.att.has_section ||
            (strcmp(it.att.name, "BODY") && strcmp(it.att.name, "BODY.PEEK") && strcmp(it.att.name, "BINARY") &&
             strcmp(it.att.name, "BINARY.PEEK") && strcmp(it.att.name, "BINARY.SIZE"))) {
            if (it.att.storage_) imap_fetch_att_free(&it.att);
            *err = "Invalid FETCH item.";
            return false;
        }
        it.kind = FI_SECTION;
        it.peek = strstr(it.att.name, ".PEEK") != NULL;
        it.binary = strncmp(it.att.name, "BINARY", 6) == 0;
        if (it.binary) {
            /* section-binary is a part number only; BINARY.SIZE has no partial */
            bool size = strcmp(it.att.name, "BINARY.SIZE") == 0;
            if (!imap_binary_spec_valid(it.att.section, strlen(it.att.section)) || (size && it.att.has_partial)) {
                imap_fetch_att_free(&it.att);
                *err = "Invalid BINARY section.";
                return false;
            }
            if (size) {
                it.kind = FI_BINARY_SIZE;
                it.peek = true;
            }
        }
        /* a malformed section is BAD now, not NIL per message later: the
         * resolver only fails on syntax, so try it on an empty message */
        struct imap_bodystructure *empty = imap_bodystructure_parse("\r\n", 2);
        struct imap_section sec;
        const char *why = NULL;
        bool valid = imap_bodystructure_section(empty, it.att.section, strlen(it.att.section), &sec, &why);
        if (valid) imap_section_free(&sec);
        imap_bodystructure_free(empty);
        if (!valid) {
            imap_fetch_att_free(&it.att);
            *err = why ? why : "Invalid FETCH section.";
            return false;
        }
    }
    if (it.kind == FI_INTERNALDATE || it.kind == FI_SIZE) f->needs_row = true;
    if (it.kind == FI_ENVELOPE || it.kind == FI_BODYSTRUCTURE || it.kind == FI_BODY) f->needs_struct = true;
    if (it.kind == FI_SECTION || it.kind == FI_BINARY_SIZE || it.kind == FI_RFC822 || it.kind == FI_RFC822_HEADER ||
        it.kind == FI_RFC822_TEXT)
        f->needs_file = true;
    if ((it.kind == FI_SECTION && !it.peek) || it.kind == FI_RFC822 || it.kind == FI_RFC822_TEXT) f->sets_seen = true;
    f->items = xrealloc(f->items, (f->nitems + 1) * sizeof *f->items);
    f->items[f->nitems++] = it;
    return true;
}

static void append_literal(buf_t *b, const char *data, size_t len) {
    buf_printf(b, "{%zu}\r\n", len);
    buf_append(b, data, len);
}

/* BINARY content: a literal8 "~{n}" when it holds NUL (RFC 3516 4.2). */
static void append_literal8(buf_t *b, const char *data, size_t len) {
    if (imap_binary_has_nul(data, len)) buf_append_char(b, '~');
    append_literal(b, data, len);
}

/* The decoded BINARY sections of one message, one per item (unused for
 * others); false (nothing kept) when one has an unknown encoding. */
static bool binary_sections(const struct fetch_state *f, const struct imap_bodystructure *bs,
                            struct imap_section *out) {
    for (size_t i = 0; i < f->nitems; i++) {
        memset(&out[i], 0, sizeof out[i]);
        out[i].data = "";
    }
    for (size_t i = 0; i < f->nitems; i++) {
        if (!f->items[i].binary) continue;
        if (imap_binary_section(bs, f->items[i].att.section, &out[i]) != IMAP_BINARY_OK) {
            for (size_t k = 0; k <= i; k++) imap_section_free(&out[k]);
            return false;
        }
    }
    return true;
}

/* Write one message's FETCH response. */
static void fetch_one(struct imap_session *s, struct fetch_state *f, size_t index) {
    struct imap_msg *m = imap_msg_at(s, index);
    if (f->has_changedsince && m->modseq <= f->changedsince) return;
    int64_t internaldate = 0, size = 0;
    /* ENVELOPE, BODY and BODYSTRUCTURE of an (immutable) message are kept
     * in the index after their first FETCH, as Dovecot's cache does, so
     * header listings do not reopen and reparse files. */
    char *cache[3] = {NULL, NULL, NULL}; /* envelope, body, bodystructure */
    if (f->needs_row || f->needs_struct) {
        struct store_fetch_data d;
        int rc = store_fetch_data_get(f->data, m->row, &d);
        if (rc == -EIO) {
            f->unreadable = true;
            return;
        }
        /* -ENOENT: expunged meanwhile, found out below when the file is
         * needed (zeros otherwise, as the row cannot say more) */
        internaldate = d.internaldate;
        size = d.size;
        cache[0] = d.envelope;
        cache[1] = d.body;
        cache[2] = d.bodystructure;
    }
    bool cached = cache[0] && cache[1] && cache[2];
    buf_t msg = BUF_INIT;
    struct imap_bodystructure *bs = NULL;
    struct imap_section *bin = NULL; /* BINARY items, decoded */
    if (f->needs_file || (f->needs_struct && !cached)) {
        enum load_result lr = load_message_why(s, m->row, &msg);
        if (lr != LOAD_OK) {
            /* gone under us: nothing is sent for it. Expunged by another
             * session: OK, the EXPUNGE follows at the next sync (RFC 2180
             * 4.1.3); a file removed by another program: NO (4.1.2) */
            if (lr == LOAD_EXPUNGED) f->expunged = true;
            else f->unreadable = true;
            buf_free(&msg);
            for (int k = 0; k < 3; k++) free(cache[k]);
            return;
        }
        bs = imap_bodystructure_parse(msg.data ? msg.data : "", msg.len);
        bin = xcalloc(f->nitems, sizeof *bin);
        if (!binary_sections(f, bs, bin)) {
            /* no reply for it; the command ends NO [UNKNOWN-CTE] */
            f->unknown_cte = true;
            free(bin);
            imap_bodystructure_free(bs);
            buf_free(&msg);
            for (int k = 0; k < 3; k++) free(cache[k]);
            return;
        }
        if (f->needs_struct && !cached) {
            buf_t out[3] = {BUF_INIT, BUF_INIT, BUF_INIT};
            imap_bodystructure_envelope(bs, &out[0]);
            imap_bodystructure_write(bs, false, &out[1]);
            imap_bodystructure_write(bs, true, &out[2]);
            for (int k = 0; k < 3; k++) {
                free(cache[k]);
                cache[k] = buf_steal(&out[k]);
            }
            /* a failed write only costs a reparse next time (logged) */
            store_fetch_cache_set(f->data, m->row, cache[0], cache[1], cache[2]);
        }
    }
    bool flags_changed = false;
    if (f->sets_seen && !s->readonly && !(m->flags & MSG_SEEN)) {
        const void *prev = store_origin_begin(s->app->store, s);
        /* added to what is stored: other sessions' changes are kept */
        struct store_flags now;
        if (store_update_flags(s->app->store, m->row, STORE_FLAGS_ADD, MSG_SEEN, NULL, NULL, &now) == 0) {
            m->flags = now.flags;
            m->modseq = now.modseq;
            free(m->keywords);
            m->keywords = *now.keywords ? xstrdup(now.keywords) : NULL;
            flags_changed = true;
            store_flags_free(&now);
        }
        store_origin_end(s->app->store, prev);
    }
    /* the stored keywords may include one another session just set */
    if (flags_changed) {
        imap_announce_keywords(s, m->keywords);
        imap_context_touch(s, m->uid);
    }
    buf_t b = BUF_INIT;
    buf_printf(&b, "* %zu FETCH (", index + 1);
    size_t start = b.len;
    bool sent_uid = false, sent_flags = false, sent_modseq = false;
#define SEP()                                                                                                          \
    do {                                                                                                               \
        if (b.len > start) buf_append_char(&b, ' ');                                                                   \
    } while (0)
    for (size_t i = 0; i < f->nitems; i++) {
        struct fetch_item *it = &f->items[i];
        switch (it->kind) {
        case FI_UID:
            if (sent_uid) break;
            SEP();
            buf_printf(&b, "UID %u", m->uid);
            sent_uid = true;
            break;
        case FI_FLAGS:
            if (sent_flags) break;
            SEP();
            buf_append_str(&b, "FLAGS ");
            imap_append_flags(&b, m->flags, m->keywords, m->recent);
            sent_flags = true;
            break;
        case FI_INTERNALDATE:
            SEP();
            buf_append_str(&b, "INTERNALDATE ");
            format_internaldate(internaldate, &b);
            break;
        case FI_SIZE:
            SEP();
            buf_printf(&b, "RFC822.SIZE %lld", (long long)(msg.data ? (int64_t)msg.len : size));
            break;
        case FI_MODSEQ:
            if (sent_modseq) break;
            SEP();
            buf_printf(&b, "MODSEQ (%llu)", (unsigned long long)m->modseq);
            sent_modseq = true;
            break;
        case FI_ENVELOPE:
            SEP();
            buf_append_str(&b, "ENVELOPE ");
            buf_append_str(&b, cache[0]);
            break;
        case FI_BODYSTRUCTURE:
            SEP();
            buf_append_str(&b, "BODYSTRUCTURE ");
            buf_append_str(&b, cache[2]);
            break;
        case FI_BODY:
            SEP();
            buf_append_str(&b, "BODY ");
            buf_append_str(&b, cache[1]);
            break;
        case FI_RFC822:
            SEP();
            buf_append_str(&b, "RFC822 ");
            append_literal(&b, msg.data ? msg.data : "", msg.len);
            break;
        case FI_RFC822_HEADER:
        case FI_RFC822_TEXT: {
            struct imap_section sec;
            const char *reason;
            const char *spec = it->kind == FI_RFC822_HEADER ? "HEADER" : "TEXT";
            SEP();
            buf_append_str(&b, it->kind == FI_RFC822_HEADER ? "RFC822.HEADER " : "RFC822.TEXT ");
            if (imap_bodystructure_section(bs, spec, strlen(spec), &sec, &reason)) {
                append_literal(&b, sec.data ? sec.data : "", sec.len);
                imap_section_free(&sec);
            } else {
                buf_append_str(&b, "\"\"");
            }
            break;
        }
        case FI_BINARY_SIZE:
            SEP();
            if (!bin[i].found) buf_printf(&b, "BINARY.SIZE[%s] NIL", it->att.section);
            else buf_printf(&b, "BINARY.SIZE[%s] %zu", it->att.section, bin[i].len);
            break;
        case FI_SECTION: {
            struct imap_section sec;
            const char *reason;
            SEP();
            if (it->binary) {
                struct imap_section *bsec = &bin[i];
                buf_printf(&b, "BINARY[%s]", it->att.section);
                if (!bsec->found) {
                    buf_append_str(&b, " NIL");
                    break;
                }
                if (it->att.has_partial) {
                    imap_section_partial(bsec, it->att.partial_offset, it->att.partial_count);
                    buf_printf(&b, "<%llu>", (unsigned long long)it->att.partial_offset);
                }
                buf_append_char(&b, ' ');
                append_literal8(&b, bsec->data ? bsec->data : "", bsec->len);
                break;
            }
            buf_printf(&b, "BODY[%s]", it->att.section);
            if (!imap_bodystructure_section(bs, it->att.section, strlen(it->att.section), &sec, &reason)) {
                buf_append_str(&b, " NIL");
                break;
            }
            if (it->att.has_partial) {
                imap_section_partial(&sec, it->att.partial_offset, it->att.partial_count);
                buf_printf(&b, "<%llu>", (unsigned long long)it->att.partial_offset);
            }
            buf_append_char(&b, ' ');
            append_literal(&b, sec.data ? sec.data : "", sec.len);
            imap_section_free(&sec);
            break;
        }
        }
    }
    if ((f->uid || f->has_changedsince) && !sent_uid) {
        SEP();
        buf_printf(&b, "UID %u", m->uid);
    }
    if (flags_changed && !sent_flags) {
        SEP();
        buf_append_str(&b, "FLAGS ");
        imap_append_flags(&b, m->flags, m->keywords, m->recent);
    }
    if ((s->condstore && (flags_changed || f->has_changedsince)) && !sent_modseq) {
        SEP();
        buf_printf(&b, "MODSEQ (%llu)", (unsigned long long)m->modseq);
    }
#undef SEP
    buf_append_str(&b, ")\r\n");
    imap_send_raw(s, b.data, b.len);
    buf_free(&b);
    if (bin) {
        for (size_t i = 0; i < f->nitems; i++) imap_section_free(&bin[i]);
        free(bin);
    }
    if (bs) imap_bodystructure_free(bs);
    buf_free(&msg);
    for (int k = 0; k < 3; k++) free(cache[k]);
}

static void fetch_continue(struct imap_session *s) {
    struct fetch_state *f = s->cont_state;
    while (f->pos < f->idx->len) {
        size_t index = g_array_index(f->idx, size_t, f->pos++);
        if (index < imap_exists(s)) fetch_one(s, f, index);
        if (conn_output_pending(s->conn) > IMAP_OUTPUT_HIGH_WATER && f->pos < f->idx->len) {
            s->cont = fetch_continue;
            conn_set_drain_watermark(s->conn, IMAP_OUTPUT_HIGH_WATER / 4);
            return;
        }
    }
    s->cont = NULL;
    s->cont_state = NULL;
    s->cont_free = NULL;
    conn_set_drain_watermark(s->conn, 0);
    imap_sync(s, false);
    if (f->unknown_cte)
        imap_tagged(s, f->tag, "NO [UNKNOWN-CTE] A part has a Content-Transfer-Encoding that cannot be decoded.");
    else if (f->unreadable) imap_tagged(s, f->tag, "NO [EXPUNGEISSUED] Some messages could not be FETCHed.");
    else if (f->expunged) imap_tagged(s, f->tag, "OK [EXPUNGEISSUED] Some messages were already expunged.");
    else imap_tagged(s, f->tag, "OK Fetch completed.");
    fetch_state_free(f);
}

struct fetch_state *imap_fetch_compile(struct imap_session *s, const struct imap_arg *list, const char **err) {
    struct fetch_state *f = xcalloc(1, sizeof *f);
    f->uid = true; /* sequence numbers move under a NOTIFY client: UID always */
    *err = NULL;
    for (size_t i = 0; i < list->nlist; i++)
        if (!add_item(f, &list->list[i], err)) {
            fetch_state_free(f);
            return NULL;
        }
    return f;
}

void imap_fetch_compiled_free(struct fetch_state *f) {
    fetch_state_free(f);
}

void imap_fetch_send(struct imap_session *s, struct fetch_state *f, const size_t *indexes, size_t n) {
    if ((f->needs_row || f->needs_struct) && !(f->data = store_fetch_cursor_new(s->app->store))) return; /* logged */
    for (size_t i = 0; i < n; i++)
        if (indexes[i] < imap_exists(s)) fetch_one(s, f, indexes[i]);
    store_fetch_cursor_free(&f->data);
    f->expunged = f->unreadable = f->unknown_cte = false;
}

void imap_cmd_fetch(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid) {
    if (nargs < 2 || args[0].type != IMAP_ARG_ATOM) {
        imap_tagged(s, tag, "BAD Syntax: FETCH sequence-set items");
        return;
    }
    struct imap_seqset set;
    imap_seqset_init(&set);
    if (!imap_seqset_parse(args[0].str, args[0].len, &set)) {
        imap_tagged(s, tag, "BAD Invalid sequence set.");
        return;
    }
    struct fetch_state *f = xcalloc(1, sizeof *f);
    f->tag = xstrdup(tag);
    f->uid = uid;
    const char *err = NULL;
    bool ok = true;
    if (args[1].type == IMAP_ARG_LIST) {
        for (size_t i = 0; i < args[1].nlist && ok; i++) ok = add_item(f, &args[1].list[i], &err);
    } else {
        ok = add_item(f, &args[1], &err);
    }
    bool vanished = false;
    if (ok && nargs >= 3) {
        /* (CHANGEDSINCE n [VANISHED]) */
        if (args[2].type != IMAP_ARG_LIST) ok = false;
        for (size_t i = 0; ok && i < args[2].nlist; i++) {
            const struct imap_arg *a = &args[2].list[i];
            if (imap_arg_atom_is(a, "CHANGEDSINCE") && i + 1 < args[2].nlist &&
                imap_arg_number64(&args[2].list[i + 1], &f->changedsince)) {
                f->has_changedsince = true;
                i++;
            } else if (imap_arg_atom_is(a, "VANISHED") && uid && s->qresync) {
                vanished = true;
            } else {
                ok = false;
            }
        }
        if (!ok) err = "Invalid FETCH modifiers.";
        if (vanished && !f->has_changedsince) {
            ok = false;
            err = "VANISHED needs CHANGEDSINCE.";
        }
    }
    if (!ok) {
        imap_tagged(s, tag, "BAD %s", err ? err : "Invalid FETCH.");
        imap_seqset_free(&set);
        fetch_state_free(f);
        return;
    }
    if (!uid && imap_seqset_has_star(&set) == false && imap_exists(s) > 0) {
        /* sequence numbers beyond EXISTS are an error (RFC 3501 6.4.5) */
        struct imap_seqset c;
        imap_seqset_init(&c);
        /* ...but a range up to 4294967295, the largest number, means "to the
         * end" as "n:*" does (Dovecot reads it so too) */
        for (size_t i = 0; i < set.n; i++)
            imap_seqset_add(&c, set.r[i].lo, set.r[i].hi == UINT32_MAX && set.r[i].lo != UINT32_MAX ? IMAP_SEQSET_STAR : set.r[i].hi);
        imap_seqset_resolve(&c, imap_exists(s));
        bool beyond = imap_seqset_clip(&c, imap_exists(s));
        imap_seqset_free(&c);
        if (beyond) {
            imap_tagged(s, tag, "BAD Error in IMAP command FETCH: Invalid messageset");
            imap_seqset_free(&set);
            fetch_state_free(f);
            return;
        }
    } else if (!uid && imap_exists(s) == 0) {
        imap_tagged(s, tag, "BAD Error in IMAP command FETCH: Invalid messageset");
        imap_seqset_free(&set);
        fetch_state_free(f);
        return;
    }
    bool modseq_item = false;
    for (size_t i = 0; i < f->nitems; i++)
        if (f->items[i].kind == FI_MODSEQ) modseq_item = true;
    if (modseq_item || f->has_changedsince) imap_enable_condstore(s);
    if (s->condstore) {
        bool have = false;
        for (size_t i = 0; i < f->nitems; i++)
            if (f->items[i].kind == FI_MODSEQ) have = true;
        if (!have && f->has_changedsince) {
            f->items = xrealloc(f->items, (f->nitems + 1) * sizeof *f->items);
            memset(&f->items[f->nitems], 0, sizeof *f->items);
            f->items[f->nitems++].kind = FI_MODSEQ;
        }
    }
    if (vanished) {
        /* UIDs in the set that are no longer here */
        struct store_mailbox_info mb;
        store_mailbox_info(s->app->store, s->account, s->mailbox, false, &mb);
        uint32_t maxuid = mb.uidnext > 1 ? mb.uidnext - 1 : 0;
        struct imap_seqset r, gone;
        imap_seqset_init(&r);
        imap_seqset_init(&gone);
        for (size_t i = 0; i < set.n; i++) imap_seqset_add(&r, set.r[i].lo, set.r[i].hi);
        imap_seqset_resolve(&r, maxuid);
        for (size_t k = 0; k < r.n && gone.n < 10000; k++)
            for (uint64_t u = r.r[k].lo; u <= r.r[k].hi && u <= maxuid && gone.n < 10000; u++)
                if (!imap_seq_of_uid(s, (uint32_t)u)) imap_seqset_add(&gone, (uint32_t)u, (uint32_t)u);
        if (gone.n) {
            imap_seqset_resolve(&gone, 0);
            buf_t b = BUF_INIT;
            imap_seqset_format(&gone, &b);
            imap_send(s, "* VANISHED (EARLIER) %s", buf_cstr(&b));
            buf_free(&b);
        }
        imap_seqset_free(&r);
        imap_seqset_free(&gone);
    }
    f->idx = imap_resolve_set(s, &set, uid);
    imap_seqset_free(&set);
    if ((f->needs_row || f->needs_struct) && !(f->data = store_fetch_cursor_new(s->app->store))) {
        imap_tagged(s, tag, "NO [SERVERBUG] Cannot read the mailbox.");
        fetch_state_free(f);
        return;
    }
    s->cont_state = f;
    s->cont_free = fetch_state_free;
    fetch_continue(s);
}

/* ---- STORE ---------------------------------------------------------------- */

void imap_cmd_store(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid) {
    if (nargs < 3 || args[0].type != IMAP_ARG_ATOM) {
        imap_tagged(s, tag, "BAD Syntax: STORE sequence-set [(UNCHANGEDSINCE n)] item flags");
        return;
    }
    if (s->readonly) {
        imap_tagged(s, tag, "NO Mailbox is read-only.");
        return;
    }
    size_t a = 1;
    uint64_t unchangedsince = 0;
    bool has_unchanged = false;
    if (args[a].type == IMAP_ARG_LIST) {
        const struct imap_arg *l = &args[a];
        if (l->nlist != 2 || !imap_arg_atom_is(&l->list[0], "UNCHANGEDSINCE") ||
            !imap_arg_number64(&l->list[1], &unchangedsince)) {
            imap_tagged(s, tag, "BAD Invalid STORE modifier.");
            return;
        }
        has_unchanged = true;
        imap_enable_condstore(s);
        a++;
    }
    if (nargs < a + 2 || args[a].type != IMAP_ARG_ATOM) {
        imap_tagged(s, tag, "BAD Syntax: STORE sequence-set item flags");
        return;
    }
    const char *item = args[a].str;
    int op;
    const char *rest = item;
    if (*rest == '+') {
        op = 1;
        rest++;
    } else if (*rest == '-') {
        op = -1;
        rest++;
    } else {
        op = 0;
    }
    bool silent;
    if (!strcasecmp(rest, "FLAGS")) silent = false;
    else if (!strcasecmp(rest, "FLAGS.SILENT")) silent = true;
    else {
        imap_tagged(s, tag, "BAD Invalid STORE item.");
        return;
    }
    int flags = 0;
    buf_t kw = BUF_INIT;
    bool ok = true;
    if (nargs == a + 2) {
        ok = imap_parse_flags(&args[a + 1], &flags, &kw);
    } else {
        /* flags given without parentheses */
        for (size_t i = a + 1; i < nargs && ok; i++) {
            int f1 = 0;
            ok = imap_parse_flags(&args[i], &f1, &kw);
            flags |= f1;
        }
    }
    if (!ok) {
        imap_tagged(s, tag, "BAD Invalid flags.");
        buf_free(&kw);
        return;
    }
    struct imap_seqset set;
    imap_seqset_init(&set);
    if (!imap_seqset_parse(args[0].str, args[0].len, &set)) {
        imap_tagged(s, tag, "BAD Invalid sequence set.");
        buf_free(&kw);
        return;
    }
    GArray *idx = imap_resolve_set(s, &set, uid);
    imap_seqset_free(&set);
    struct imap_seqset modified;
    imap_seqset_init(&modified);
    enum store_flags_op fop = op > 0 ? STORE_FLAGS_ADD : op < 0 ? STORE_FLAGS_REMOVE : STORE_FLAGS_REPLACE;
    size_t n = idx->len;
    int64_t *rows = xcalloc(n ? n : 1, sizeof *rows);
    int *rcs = xcalloc(n ? n : 1, sizeof *rcs);
    struct store_flags *now = xcalloc(n ? n : 1, sizeof *now);
    for (size_t k = 0; k < n; k++) rows[k] = imap_msg_at(s, g_array_index(idx, size_t, k))->row;
    /* read-modify-write of what is stored, not of this session's view:
     * other sessions' changes it has not seen yet are kept */
    const void *prev = store_origin_begin(s->app->store, s);
    store_update_flags_set(s->app->store, rows, n, fop, flags, buf_cstr(&kw), has_unchanged ? &unchangedsince : NULL,
                           rcs, now);
    store_origin_end(s->app->store, prev);
    for (size_t k = 0; k < n; k++) {
        size_t i = g_array_index(idx, size_t, k);
        struct imap_msg *m = imap_msg_at(s, i);
        if (rcs[k] == STORE_FLAGS_MODIFIED) {
            /* the session learns of the other change in its next update */
            imap_seqset_add(&modified, uid ? m->uid : (uint32_t)i + 1, uid ? m->uid : (uint32_t)i + 1);
            store_flags_free(&now[k]);
            continue;
        }
        if (rcs[k] < 0) continue; /* expunged meanwhile: reported later */
        m->flags = now[k].flags;
        m->modseq = now[k].modseq;
        free(m->keywords);
        m->keywords = *now[k].keywords ? xstrdup(now[k].keywords) : NULL;
        store_flags_free(&now[k]);
        imap_announce_keywords(s, m->keywords);
        imap_context_touch(s, m->uid);
        if (!silent || (s->condstore && has_unchanged)) {
            buf_t b = BUF_INIT;
            buf_printf(&b, "* %zu FETCH (", i + 1);
            if (!silent) {
                buf_append_str(&b, "FLAGS ");
                imap_append_flags(&b, m->flags, m->keywords, m->recent);
            }
            if (uid) buf_printf(&b, "%sUID %u", silent ? "" : " ", m->uid);
            if (s->condstore) buf_printf(&b, "%sMODSEQ (%llu)", (silent && !uid) ? "" : " ", (unsigned long long)m->modseq);
            buf_append_char(&b, ')');
            imap_send(s, "%s", buf_cstr(&b));
            buf_free(&b);
        }
    }
    free(rows);
    free(rcs);
    free(now);
    g_array_free(idx, TRUE);
    buf_free(&kw);
    imap_sync(s, false);
    if (modified.n) {
        imap_seqset_resolve(&modified, 0);
        buf_t b = BUF_INIT;
        imap_seqset_format(&modified, &b);
        imap_tagged(s, tag, "OK [MODIFIED %s] Conditional STORE failed", buf_cstr(&b));
        buf_free(&b);
    } else {
        imap_tagged(s, tag, "OK Store completed.");
    }
    imap_seqset_free(&modified);
}

/* ---- COPY / MOVE ---------------------------------------------------------- */

/* A COPY/MOVE whose copies wait for their directory sync. */
struct copy_wait {
    struct imap_session *s;
    struct conn *conn;
    char *tag;
    bool move;
    uint32_t uidvalidity;
    buf_t src_uids, dst_uids;
    GArray *rows; /* source rows (MOVE expunges them) */
};

static void copy_wait_free(struct copy_wait *w) {
    free(w->tag);
    buf_free(&w->src_uids);
    buf_free(&w->dst_uids);
    g_array_free(w->rows, TRUE);
    free(w);
}

void imap_copy_wait_detach(struct copy_wait *w) {
    w->s = NULL;
}

/* The copies are durable: answer, and for MOVE remove the sources. */
static void copy_synced(int result, void *arg) {
    struct copy_wait *w = arg;
    struct conn *c = w->conn;
    struct imap_session *s = w->s;
    if (conn_is_closing(c) || !s || s->copy_wait != w) {
        /* the client went away meanwhile; the copies stay */
        if (s && s->copy_wait == w) s->copy_wait = NULL;
        copy_wait_free(w);
        conn_unref(c);
        return;
    }
    s->copy_wait = NULL;
    s->waiting = false;
    if (result < 0) {
        imap_tagged(s, w->tag, "NO [SERVERBUG] %s failed: %s", w->move ? "Move" : "Copy", strerror(-result));
    } else if (w->move) {
        if (w->rows->len)
            imap_send(s, "* OK [COPYUID %u %s %s] Moved UIDs.", w->uidvalidity, buf_cstr(&w->src_uids),
                      buf_cstr(&w->dst_uids));
        const void *prev = store_origin_begin(s->app->store, s);
        store_expunge_set(s->app->store, (const int64_t *)(void *)w->rows->data, w->rows->len);
        store_origin_end(s->app->store, prev);
        imap_sync(s, true);
        imap_tagged(s, w->tag, "OK Move completed.");
    } else {
        imap_sync(s, false);
        if (w->rows->len)
            imap_tagged(s, w->tag, "OK [COPYUID %u %s %s] Copy completed.", w->uidvalidity, buf_cstr(&w->src_uids),
                        buf_cstr(&w->dst_uids));
        else imap_tagged(s, w->tag, "OK Copy completed.");
    }
    copy_wait_free(w);
    imap_notify_flush(s);
    conn_resume(c);
    conn_unref(c);
}

static void copy_move(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid,
                      bool move) {
    if (nargs != 2 || args[0].type != IMAP_ARG_ATOM) {
        imap_tagged(s, tag, "BAD Syntax: %s sequence-set mailbox", move ? "MOVE" : "COPY");
        return;
    }
    if (move && s->readonly) {
        imap_tagged(s, tag, "NO Mailbox is read-only.");
        return;
    }
    buf_t dest = BUF_INIT;
    if (!imap_mailbox_arg(s, tag, &args[1], &dest)) {
        buf_free(&dest);
        return;
    }
    struct store_mailbox_info mb;
    if (store_mailbox_info(s->app->store, s->account, buf_cstr(&dest), false, &mb) < 0) {
        imap_tagged(s, tag, "NO [TRYCREATE] Mailbox doesn't exist: %s", buf_cstr(&dest));
        buf_free(&dest);
        return;
    }
    struct imap_seqset set;
    imap_seqset_init(&set);
    if (!imap_seqset_parse(args[0].str, args[0].len, &set)) {
        imap_tagged(s, tag, "BAD Invalid sequence set.");
        buf_free(&dest);
        return;
    }
    GArray *idx = imap_resolve_set(s, &set, uid);
    imap_seqset_free(&set);
    struct copy_wait *w = xcalloc(1, sizeof *w);
    w->s = s;
    w->conn = s->conn;
    w->tag = xstrdup(tag);
    w->move = move;
    w->uidvalidity = mb.uidvalidity;
    w->rows = g_array_new(FALSE, FALSE, sizeof(int64_t));
    size_t n = idx->len;
    int64_t *rows = xcalloc(n ? n : 1, sizeof *rows);
    uint32_t *new_uids = xcalloc(n ? n : 1, sizeof *new_uids);
    for (size_t k = 0; k < n; k++) rows[k] = imap_msg_at(s, g_array_index(idx, size_t, k))->row;
    int rc = store_copy_set(s->app->store, rows, n, buf_cstr(&dest), new_uids, NULL);
    if (rc == 0) {
        /* both ascending, so the compacted sets still pair up (RFC 4315) */
        struct imap_seqset src, dst;
        imap_seqset_init(&src);
        imap_seqset_init(&dst);
        for (size_t k = 0; k < n; k++) {
            uint32_t u = imap_msg_at(s, g_array_index(idx, size_t, k))->uid;
            imap_seqset_add(&src, u, u);
            imap_seqset_add(&dst, new_uids[k], new_uids[k]);
            g_array_append_val(w->rows, rows[k]);
        }
        imap_seqset_resolve(&src, 0);
        imap_seqset_resolve(&dst, 0);
        imap_seqset_format(&src, &w->src_uids);
        imap_seqset_format(&dst, &w->dst_uids);
        imap_seqset_free(&src);
        imap_seqset_free(&dst);
    }
    free(rows);
    free(new_uids);
    g_array_free(idx, TRUE);
    if (rc < 0) {
        /* nothing was copied (RFC 3501 6.4.7); EXPUNGEISSUED as RFC 5530 */
        if (rc == -ESTALE) imap_tagged(s, tag, "NO [EXPUNGEISSUED] Some of the requested messages no longer exist.");
        else if (rc == -ENOENT) imap_tagged(s, tag, "NO [TRYCREATE] Mailbox doesn't exist: %s", buf_cstr(&dest));
        else imap_tagged(s, tag, "NO [SERVERBUG] %s failed: %s", move ? "Move" : "Copy", strerror(-rc));
        copy_wait_free(w);
        buf_free(&dest);
        return;
    }
    /* The reply waits until the new directory entries are on disk; the
     * sync runs on the commit thread so other sessions are not stalled. */
    s->copy_wait = w;
    s->waiting = true;
    conn_pause(s->conn);
    conn_ref(s->conn);
    store_sync_mailbox_dir(s->app->store, s->account, buf_cstr(&dest), copy_synced, w);
    buf_free(&dest);
}

void imap_cmd_copy(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid) {
    copy_move(s, tag, args, nargs, uid, false);
}

void imap_cmd_move(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid) {
    copy_move(s, tag, args, nargs, uid, true);
}

/* ---- SEARCH --------------------------------------------------------------- */

/* A SEARCH whose snapshot keys leave at most 1/SEARCH_LOOKUP_FRACTION of
 * the mailbox reads those rows by id instead of scanning all of them. */
#define SEARCH_LOOKUP_FRACTION 8

/* Lazily loaded message text for header/body keys. */
struct search_ctx {
    struct imap_session *s;
    int64_t row;
    const char *subject, *from, *to, *cc, *bcc; /* decoded, from the index */
    bool loaded;
    GMimeMessage *msg;
    buf_t raw;
    buf_t headers;
    char *body;
    buf_t scratch;
};

static void search_ctx_reset(struct search_ctx *c) {
    if (c->msg) g_object_unref(c->msg);
    c->msg = NULL;
    c->loaded = false;
    buf_reset(&c->raw);
    buf_reset(&c->headers);
    free(c->body);
    c->body = NULL;
}

static void search_load(struct search_ctx *c) {
    if (c->loaded) return;
    c->loaded = true;
    if (!load_message(c->s, c->row, &c->raw)) return;
    GMimeStream *stream = g_mime_stream_mem_new_with_buffer(c->raw.data ? c->raw.data : "", c->raw.len);
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    c->msg = g_mime_parser_construct_message(parser, NULL);
    g_object_unref(parser);
    g_object_unref(stream);
}

static const char *search_get_header(void *ctx, const char *name, size_t *len) {
    struct search_ctx *c = ctx;
    /* the index has the decoded common fields: no file access */
    const char *fast = !strcmp(name, "subject") ? c->subject
                       : !strcmp(name, "from")  ? c->from
                       : !strcmp(name, "to")    ? c->to
                       : !strcmp(name, "cc")    ? c->cc
                       : !strcmp(name, "bcc")   ? c->bcc
                                                : NULL;
    if (fast) {
        *len = strlen(fast);
        return fast;
    }
    search_load(c);
    if (!c->msg) return NULL;
    GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(c->msg));
    buf_reset(&c->scratch);
    bool any = false;
    int n = g_mime_header_list_get_count(hl);
    for (int i = 0; i < n; i++) {
        GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
        if (strcasecmp(g_mime_header_get_name(h), name)) continue;
        const char *v = g_mime_header_get_value(h);
        char *dec = v ? g_mime_utils_header_decode_text(NULL, v) : NULL;
        if (c->scratch.len) buf_append_char(&c->scratch, ' ');
        buf_append_str(&c->scratch, dec ? dec : "");
        g_free(dec);
        any = true;
    }
    if (!any) return NULL;
    *len = c->scratch.len;
    return c->scratch.data ? c->scratch.data : "";
}

/* HEADER name "": the index keeps "" for an absent field, so only an
 * empty indexed value needs the file. */
static bool search_has_header(void *ctx, const char *name) {
    struct search_ctx *c = ctx;
    const char *fast = !strcmp(name, "subject") ? c->subject
                       : !strcmp(name, "from")  ? c->from
                       : !strcmp(name, "to")    ? c->to
                       : !strcmp(name, "cc")    ? c->cc
                       : !strcmp(name, "bcc")   ? c->bcc
                                                : NULL;
    if (fast && *fast) return true;
    search_load(c);
    if (!c->msg) return false;
    GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(c->msg));
    int n = g_mime_header_list_get_count(hl);
    for (int i = 0; i < n; i++)
        if (!strcasecmp(g_mime_header_get_name(g_mime_header_list_get_header_at(hl, i)), name)) return true;
    return false;
}

/* The Date header's zone as written, for a row indexed before the index
 * kept it: read from the message file. */
static int32_t search_sent_tz(struct search_ctx *c) {
    search_load(c);
    if (!c->msg) return 0;
    GDateTime *dt = g_mime_message_get_date(c->msg);
    return dt ? (int32_t)(g_date_time_get_utc_offset(dt) / G_TIME_SPAN_SECOND) : 0;
}

static const char *search_get_headers(void *ctx, size_t *len) {
    struct search_ctx *c = ctx;
    search_load(c);
    if (!c->msg) return NULL;
    if (!c->headers.len) {
        GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(c->msg));
        int n = g_mime_header_list_get_count(hl);
        for (int i = 0; i < n; i++) {
            GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
            const char *v = g_mime_header_get_value(h);
            char *dec = v ? g_mime_utils_header_decode_text(NULL, v) : NULL;
            buf_printf(&c->headers, "%s: %s\n", g_mime_header_get_name(h), dec ? dec : "");
            g_free(dec);
        }
    }
    *len = c->headers.len;
    return c->headers.data ? c->headers.data : "";
}

static const char *search_get_body(void *ctx, size_t *len) {
    struct search_ctx *c = ctx;
    if (!c->body) {
        search_load(c);
        struct msg_summary sum;
        summary_from_bytes(c->raw.data ? c->raw.data : "", c->raw.len, &sum);
        c->body = sum.text;
        sum.text = NULL;
        summary_free(&sum);
    }
    *len = strlen(c->body);
    return c->body;
}

static char **split_keywords(const char *kw, size_t *n) {
    *n = 0;
    if (!kw || !*kw) return NULL;
    char **v = NULL;
    const char *p = kw;
    while (*p) {
        const char *sp = strchr(p, ' ');
        size_t wl = sp ? (size_t)(sp - p) : strlen(p);
        v = xrealloc(v, (*n + 1) * sizeof *v);
        v[(*n)++] = xstrndup(p, wl);
        if (!sp) break;
        p = sp + 1;
    }
    return v;
}

/* Does the subtree look only at what the session's snapshot holds
 * (sequence numbers, UIDs, flags, keywords, MODSEQ)? Trees are at most
 * IMAP_SEARCH_MAX_DEPTH deep: bounded recursion. */
static bool snapshot_only(const struct imap_search_node *n) {
    switch (n->key) {
    case IMAP_SK_AND:
    case IMAP_SK_OR:
    case IMAP_SK_NOT:
        for (size_t i = 0; i < n->nchild; i++)
            if (!snapshot_only(n->child[i])) return false;
        return true;
    case IMAP_SK_ALL:
    case IMAP_SK_SEQSET:
    case IMAP_SK_UID:
    case IMAP_SK_FLAGS_SET:
    case IMAP_SK_FLAGS_UNSET:
    case IMAP_SK_KEYWORD:
    case IMAP_SK_UNKEYWORD:
    case IMAP_SK_MODSEQ:
        return true;
    default:
        return false;
    }
}

/* The snapshot's part of a message for the evaluator; *kws (free with
 * free_keywords) holds its keywords. */
static void snapshot_msg(struct imap_session *s, uint32_t i, uint32_t n, uint32_t uid_star, char ***kws, size_t *nkw,
                         struct imap_search_msg *sm) {
    const struct imap_msg *m = imap_msg_at(s, i);
    *kws = split_keywords(m->keywords, nkw);
    memset(sm, 0, sizeof *sm);
    sm->seq = i + 1;
    sm->uid = m->uid;
    sm->seq_star = n;
    sm->uid_star = uid_star;
    sm->flags = (unsigned)(m->flags & 0x1f) | (m->recent ? IMAP_SEARCH_F_RECENT : 0);
    sm->keywords = (const char *const *)*kws;
    sm->nkeywords = *nkw;
    sm->modseq = m->modseq;
}

static void free_keywords(char **kws, size_t nkw) {
    for (size_t k = 0; k < nkw; k++) free(kws[k]);
    free(kws);
}

/* The whole program against message i and its index row r. */
static bool match_with_row(struct imap_session *s, const struct imap_search_program *prog, struct search_ctx *ctx,
                           uint32_t i, uint32_t n, uint32_t uid_star, const struct store_search_row *r) {
    char **kws;
    size_t nkw;
    struct imap_search_msg sm;
    snapshot_msg(s, i, n, uid_star, &kws, &nkw, &sm);
    ctx->row = imap_msg_at(s, i)->row;
    ctx->subject = r->subject;
    ctx->from = r->from;
    ctx->to = r->to;
    ctx->cc = r->cc;
    ctx->bcc = r->bcc;
    int64_t sent = r->sent_date;
    int32_t sent_tz = r->sent_tz;
    if (sent && !r->sent_tz_known && prog->uses_sent_date) sent_tz = search_sent_tz(ctx);
    sm.internal_date = r->internaldate;
    sm.has_sent_date = sent != 0;
    sm.sent_date = sent;
    sm.sent_tz = sent_tz;
    sm.size = (uint64_t)r->size;
    sm.ctx = ctx;
    sm.get_header = search_get_header;
    sm.has_header = search_has_header;
    sm.get_headers = search_get_headers;
    sm.get_body = search_get_body;
    bool hit = imap_search_match(prog, &sm);
    search_ctx_reset(ctx);
    free_keywords(kws, nkw);
    return hit;
}

GArray *imap_search_eval(struct imap_session *s, const struct imap_search_program *prog, bool snapshot_only_ok,
                         uint64_t *max_modseq_r) {
    return imap_search_eval_in(s, prog, snapshot_only_ok, NULL, max_modseq_r);
}

GArray *imap_search_eval_in(struct imap_session *s, const struct imap_search_program *prog, bool snapshot_only_ok,
                            const bool *only, uint64_t *max_modseq_r) {
    uint32_t n = imap_exists(s);
    uint32_t uid_star = n ? imap_msg_at(s, n - 1)->uid : 0;
    GArray *hits = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    uint64_t max_modseq = 0;
    /* The keys of the top-level AND that the snapshot answers (flags,
     * keywords, UIDs, ...) are tried first, on every message: a message
     * failing one of them is no hit whatever its index row says. */
    struct imap_search_node pre_root = {.key = IMAP_SK_AND};
    const struct imap_search_node *root = prog->root;
    bool whole = root && snapshot_only(root);
    if (root && !whole && root->key == IMAP_SK_AND) {
        pre_root.child = xcalloc(root->nchild ? root->nchild : 1, sizeof *pre_root.child);
        for (size_t k = 0; k < root->nchild; k++)
            if (snapshot_only(root->child[k])) pre_root.child[pre_root.nchild++] = root->child[k];
    }
    struct imap_search_program pre = {.root = whole ? prog->root : &pre_root};
    bool *cand = NULL;
    uint32_t ncand = n;
    if (whole || pre_root.nchild || only) {
        cand = xcalloc(n ? n : 1, sizeof *cand);
        ncand = 0;
        for (uint32_t i = 0; i < n; i++) {
            if (only && !only[i]) continue;
            if (!whole && !pre_root.nchild) {
                cand[i] = true;
                ncand++;
                continue;
            }
            char **kws;
            size_t nkw;
            struct imap_search_msg sm;
            snapshot_msg(s, i, n, uid_star, &kws, &nkw, &sm);
            if (imap_search_match(&pre, &sm)) {
                cand[i] = true;
                ncand++;
            }
            free_keywords(kws, nkw);
        }
    }
    free(pre_root.child);
    if (whole && snapshot_only_ok) {
        /* nothing to read from the index */
        for (uint32_t i = 0; i < n; i++)
            if (cand[i]) {
                g_array_append_val(hits, i);
                if (imap_msg_at(s, i)->modseq > max_modseq) max_modseq = imap_msg_at(s, i)->modseq;
            }
        free(cand);
        if (max_modseq_r) *max_modseq_r = max_modseq;
        return hits;
    }
    struct store_search_rows *rows = ncand ? store_search_rows_open(s->app->store, s->mailbox_id) : NULL;
    if (ncand && !rows) {
        free(cand);
        g_array_free(hits, TRUE);
        return NULL;
    }
    struct search_ctx ctx = {0};
    ctx.s = s;
    struct store_search_row r;
    int more = 0;
    if (ncand && ncand <= n / SEARCH_LOOKUP_FRACTION) {
        /* few candidates: their rows one by one, not the whole mailbox */
        for (uint32_t i = 0; i < n && more >= 0; i++) {
            if (!cand[i]) continue;
            more = store_search_rows_get(rows, imap_msg_at(s, i)->row, &r);
            if (more <= 0) continue; /* gone from the index meanwhile: no hit */
            if (match_with_row(s, prog, &ctx, i, n, uid_star, &r)) {
                g_array_append_val(hits, i);
                if (imap_msg_at(s, i)->modseq > max_modseq) max_modseq = imap_msg_at(s, i)->modseq;
            }
        }
    } else {
        uint32_t i = 0;
        while (ncand && i < n && (more = store_search_rows_next(rows, &r)) > 0) {
            uint32_t ruid = r.uid;
            while (i < n && imap_msg_at(s, i)->uid < ruid) i++; /* row gone from the index: skip */
            if (i >= n || imap_msg_at(s, i)->uid != ruid) continue;
            if ((!cand || cand[i]) && match_with_row(s, prog, &ctx, i, n, uid_star, &r)) {
                g_array_append_val(hits, i);
                if (imap_msg_at(s, i)->modseq > max_modseq) max_modseq = imap_msg_at(s, i)->modseq;
            }
            i++;
        }
    }
    free(cand);
    store_search_rows_close(&rows);
    buf_free(&ctx.raw);
    buf_free(&ctx.headers);
    buf_free(&ctx.scratch);
    if (more < 0) {
        /* no partial answer: a SEARCH result is all or nothing */
        g_array_free(hits, TRUE);
        return NULL;
    }
    if (max_modseq_r) *max_modseq_r = max_modseq;
    return hits;
}

void imap_cmd_search(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid) {
    struct imap_search_program prog;
    const char *reason = NULL;
    enum imap_search_error e = imap_search_parse(args, nargs, &prog, &reason);
    if (e == IMAP_SEARCH_ERR_BADCHARSET) {
        imap_tagged(s, tag, "NO [BADCHARSET (UTF-8 US-ASCII)] %s", reason ? reason : "Unsupported charset");
        return;
    }
    if (e != IMAP_SEARCH_OK) {
        imap_tagged(s, tag, "BAD %s", reason ? reason : "Invalid search program.");
        return;
    }
    bool update = (prog.return_opts & IMAP_SEARCH_RET_UPDATE) != 0;
    if (update && imap_context_tag_busy(s, tag)) {
        imap_search_program_free(&prog);
        imap_tagged(s, tag, "BAD An updating search already has this tag.");
        return;
    }
    if (prog.uses_modseq) imap_enable_condstore(s);
    uint64_t max_modseq = 0;
    GArray *hits = imap_search_eval(s, &prog, false, &max_modseq);
    if (!hits) {
        imap_search_program_free(&prog);
        imap_tagged(s, tag, "NO [SERVERBUG] Cannot read the mailbox.");
        return;
    }
    /* snapshot indexes to what the client asked for, and each one's MODSEQ
     * (and UID, for an updating search) */
    GArray *hit_modseq = g_array_sized_new(FALSE, FALSE, sizeof(uint64_t), hits->len);
    uint32_t *hit_uids = update ? xmalloc((hits->len ? hits->len : 1) * sizeof *hit_uids) : NULL;
    for (guint k = 0; k < hits->len; k++) {
        uint32_t *v = &g_array_index(hits, uint32_t, k);
        const struct imap_msg *m = imap_msg_at(s, *v);
        g_array_append_val(hit_modseq, m->modseq);
        if (hit_uids) hit_uids[k] = m->uid;
        *v = uid ? m->uid : *v + 1;
    }
    buf_t b = BUF_INIT;
    if (prog.esearch) {
        buf_printf(&b, "* ESEARCH (TAG \"%s\")%s", tag, uid ? " UID" : "");
        if (hits->len) {
            if (prog.return_opts & IMAP_SEARCH_RET_MIN) buf_printf(&b, " MIN %u", g_array_index(hits, uint32_t, 0));
            if (prog.return_opts & IMAP_SEARCH_RET_MAX)
                buf_printf(&b, " MAX %u", g_array_index(hits, uint32_t, hits->len - 1));
            if (prog.return_opts & IMAP_SEARCH_RET_ALL) {
                buf_append_str(&b, " ALL ");
                imap_seqset_append_list(&b, (const uint32_t *)(void *)hits->data, hits->len);
            }
        }
        if (prog.return_opts & IMAP_SEARCH_RET_PARTIAL) {
            /* RFC 5267 4.4: the hits at positions lo..hi, NIL when none */
            buf_printf(&b, " PARTIAL (%u:%u ", prog.partial_lo, prog.partial_hi);
            if (prog.partial_lo <= hits->len) {
                size_t hi = prog.partial_hi < hits->len ? prog.partial_hi : hits->len;
                imap_seqset_append_list(&b, (const uint32_t *)(void *)hits->data + prog.partial_lo - 1,
                                        hi - prog.partial_lo + 1);
            } else {
                buf_append_str(&b, "NIL");
            }
            buf_append_char(&b, ')');
        }
        if (prog.return_opts & IMAP_SEARCH_RET_COUNT) buf_printf(&b, " COUNT %u", hits->len);
        if (prog.uses_modseq && hits->len) {
            /* RFC 4731 3.2 / RFC 7162 3.1.5: with only MIN and/or MAX, the
             * highest MODSEQ of the messages returned; else of all hits */
            uint64_t ms = max_modseq;
            if (!(prog.return_opts & (IMAP_SEARCH_RET_ALL | IMAP_SEARCH_RET_COUNT))) {
                ms = 0;
                uint64_t lo = g_array_index(hit_modseq, uint64_t, 0);
                uint64_t hi = g_array_index(hit_modseq, uint64_t, hits->len - 1);
                if (prog.return_opts & IMAP_SEARCH_RET_MIN) ms = lo;
                if ((prog.return_opts & IMAP_SEARCH_RET_MAX) && hi > ms) ms = hi;
            }
            buf_printf(&b, " MODSEQ %llu", (unsigned long long)ms);
        }
    } else {
        buf_append_str(&b, "* SEARCH");
        for (guint k = 0; k < hits->len; k++) buf_printf(&b, " %u", g_array_index(hits, uint32_t, k));
        if (prog.uses_modseq && hits->len) buf_printf(&b, " (MODSEQ %llu)", (unsigned long long)max_modseq);
    }
    imap_send(s, "%s", buf_cstr(&b));
    buf_free(&b);
    if (update) imap_context_add(s, tag, uid, &prog, NULL, 0, hit_uids, hits->len);
    free(hit_uids);
    g_array_free(hits, TRUE);
    g_array_free(hit_modseq, TRUE);
    imap_search_program_free(&prog);
    imap_sync(s, false);
    imap_tagged(s, tag, "OK Search completed.");
}
