/*
 * imap_internal - what the IMAP session files share. Not for other modules.
 */
#ifndef DEVMAIL_IMAP_INTERNAL_H
#define DEVMAIL_IMAP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "app/app.h"
#include "imap/imap_parser.h"
#include "imap/imap_seqset.h"
#include "net/net.h"
#include "store/view.h"

/* Output queued before a long FETCH yields to the network. */
#define IMAP_OUTPUT_HIGH_WATER (1024 * 1024)
/* Folders created on first login, with their SPECIAL-USE attribute. */
#define IMAP_SPECIAL_USE_COUNT 4
/* How often an IDLE session looks at its Maildir for outside changes. */
#define IMAP_IDLE_POLL_MS 2000

enum imap_state { IMAP_NOAUTH, IMAP_AUTH, IMAP_SELECTED, IMAP_LOGOUT };

struct imap_msg {
    uint32_t uid;
    int64_t row;
    int flags;       /* MSG_* */
    bool recent;
    uint64_t modseq;
    char *keywords;  /* NULL when none */
};

struct imap_session;
typedef void (*imap_cont_fn)(struct imap_session *s);

struct imap_session {
    struct app *app;
    struct conn *conn;
    enum imap_state state;
    struct imap_parser parser;
    char *account;
    bool condstore, qresync, utf8_accept;
    int bad_commands;
    int auth_failures;
    bool auth_locked; /* the last login was refused unchecked */
    /* selected mailbox */
    int64_t mailbox_id;
    char *mailbox;
    bool readonly;
    uint32_t uidvalidity;
    uint64_t highestmodseq;
    GArray *msgs; /* struct imap_msg, ordered by uid: seq = index + 1 */
    /* keywords announced in * FLAGS: lower-cased -> as first seen */
    GHashTable *kw_known;
    GPtrArray *kw_order; /* the same, in the order announced */
    /* changes waiting for a point where they may be reported */
    bool pending_new;
    bool pending_rescan;     /* the Maildir changed outside devmail */
    GArray *pending_expunge; /* uint32_t uids */
    GArray *pending_update;  /* uint32_t uids */
    /* IDLE */
    bool idling;
    char *idle_tag;
    struct event *idle_poll;
    /* AUTHENTICATE waiting for its continuation line */
    char *auth_tag;
    struct imap_command *held; /* run once the mailbox it needs is indexed */
    /* a long command in progress (FETCH), resumed when output drains */
    imap_cont_fn cont;
    void *cont_state;
    void (*cont_free)(void *state);
    bool waiting; /* paused on a login delay or a COPY's sync */
    struct copy_wait *copy_wait; /* a COPY/MOVE waiting for its sync */
    /* updating searches (imap_context.c) */
    GPtrArray *contexts;  /* struct imap_context *, NULL when none yet */
    GArray *ctx_touched;  /* uint32_t uids changed or new since the last refresh */
    bool ctx_shifted;     /* EXISTS or EXPUNGE moved sequence numbers meanwhile */
    /* NOTIFY (imap_cmd_notify.c): NULL without one, or after NOTIFY NONE */
    struct imap_notify *notify;
    bool in_command; /* a command handler is running: nothing unsolicited */
};

/* Untagged or continuation text: appends CRLF. */
void imap_send(struct imap_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void imap_send_raw(struct imap_session *s, const void *data, size_t len);
/* Tagged completion. */
void imap_tagged(struct imap_session *s, const char *tag, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Append an IMAP string: atom-safe quoted, or a literal when needed. */
void imap_append_string(buf_t *out, const char *s, size_t len);
void imap_append_nstring(buf_t *out, const char *s);
/* "(\Seen \Flagged kw)" */
void imap_append_flags(buf_t *out, int flags, const char *keywords, bool recent);
/* Parse a flag list or single flag into bits and keywords; false if bad. */
bool imap_parse_flags(const struct imap_arg *a, int *flags, buf_t *keywords);

/* A CONDSTORE-enabling command (RFC 7162 3.1: FETCH/SEARCH MODSEQ,
 * CHANGEDSINCE, UNCHANGEDSINCE, STATUS HIGHESTMODSEQ, ENABLE): from now
 * on FETCH replies carry MODSEQ; the first one in a selected mailbox
 * announces OK [HIGHESTMODSEQ n]. */
void imap_enable_condstore(struct imap_session *s);

/* * FLAGS and * OK [PERMANENTFLAGS] with every keyword in use in the
 * selected mailbox (as this session has seen it). */
void imap_send_flags(struct imap_session *s);
/* Before a response shows keywords (space separated, may be NULL): a new
 * * FLAGS when one of them has not been announced yet. */
void imap_announce_keywords(struct imap_session *s, const char *keywords);

/* Report pending changes; expunges only when allowed (RFC 3501 7.4.1). */
void imap_sync(struct imap_session *s, bool allow_expunge);
/* Reload the whole snapshot from the index (after outside changes). */
void imap_rescan(struct imap_session *s);
/* Open a mailbox snapshot (SELECT/EXAMINE); false if it does not exist. */
bool imap_open_mailbox(struct imap_session *s, const char *name, bool readonly);
/* Look for outside changes in the Maildir and pick them up. */
void imap_check_maildir(struct imap_session *s);
void imap_close_mailbox(struct imap_session *s);
/* Resolve a sequence or UID set to snapshot indexes (sorted, unique). */
GArray *imap_resolve_set(struct imap_session *s, const struct imap_seqset *set, bool uid);
/* seq (1-based) of a uid, or 0. */
uint32_t imap_seq_of_uid(struct imap_session *s, uint32_t uid);
struct imap_msg *imap_msg_at(struct imap_session *s, size_t index);
uint32_t imap_exists(struct imap_session *s);

/* Mailbox name from the client: validated, INBOX normalized. */
bool imap_mailbox_arg(struct imap_session *s, const char *tag, const struct imap_arg *a, buf_t *out);
/* The mailbox a command reads or writes besides the selected one, as
 * the store names it, into out; *all when it reads every mailbox of the
 * account (LIST ... RETURN (STATUS ...)). false: none, or none valid (the
 * command itself reports that). */
bool imap_command_mailbox(const struct imap_command *cmd, buf_t *out, bool *all);

/* Command handlers: tag, args. */
typedef void (*imap_cmd_fn)(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs,
                            bool uid);
void imap_cmd_select(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid);
void imap_cmd_examine(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid);
void imap_cmd_create(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid);
void imap_cmd_delete(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid);
void imap_cmd_rename(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid);
void imap_cmd_subscribe(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid);
void imap_cmd_unsubscribe(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs,
                          bool uid);
void imap_cmd_list(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid);
void imap_cmd_lsub(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid);
void imap_cmd_status(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid);
void imap_cmd_append(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid);
void imap_cmd_check(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid);
void imap_cmd_close(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid);
void imap_cmd_unselect(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid);
void imap_cmd_expunge(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid);
void imap_cmd_fetch(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid);
void imap_cmd_store(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid);
void imap_cmd_copy(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid);
void imap_cmd_move(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid);
void imap_cmd_search(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid);
void imap_cmd_sort(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid);
void imap_cmd_thread(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid);

/* Evaluate a SEARCH program over the selected mailbox's snapshot (the
 * index's columns, message files only for keys that need them). Returns
 * the matching snapshot indexes (uint32_t, ascending; g_array_free) and
 * the highest MODSEQ among them in *max_modseq_r (may be NULL), or NULL
 * when the mailbox could not be read (logged): no partial result. */
struct imap_search_program;
/* A message another session has expunged (and this one not been told of
 * yet) is no hit. With snapshot_only_ok, a program of only snapshot keys
 * (flags, keywords, UIDs, sequence numbers, MODSEQ) is answered from the
 * snapshot alone, such a message included (SORT and THREAD then drop it
 * for want of its sort keys). */
GArray *imap_search_eval(struct imap_session *s, const struct imap_search_program *prog, bool snapshot_only_ok,
                         uint64_t *max_modseq_r);
/* The same over the snapshot indexes i with only[i] set (only has
 * imap_exists() entries). */
GArray *imap_search_eval_in(struct imap_session *s, const struct imap_search_program *prog, bool snapshot_only_ok,
                            const bool *only, uint64_t *max_modseq_r);

/* CATENATE (RFC 4469): the message an APPEND's "CATENATE (TEXT literal
 * URL url ...)" list describes, appended to out. BADURL sets *bad_url to
 * the URL that names nothing this session may read. */
enum imap_catenate_result { IMAP_CATENATE_OK, IMAP_CATENATE_BAD, IMAP_CATENATE_BADURL, IMAP_CATENATE_TOOBIG };
enum imap_catenate_result imap_catenate_build(struct imap_session *s, const struct imap_arg *list, buf_t *out,
                                              const char **bad_url);

/* Updating searches (RFC 5267 CONTEXT=SEARCH / CONTEXT=SORT), see
 * imap_context.c. A SEARCH or SORT with RETURN (UPDATE) hands its result
 * over: members are UIDs, ascending for a SEARCH, in sort order for a SORT
 * (crit non-NULL); prog is taken over. At the session's limit it answers
 * * NO [NOUPDATE] instead and keeps nothing. */
struct store_sort_criterion;
bool imap_context_tag_busy(struct imap_session *s, const char *tag);
void imap_context_add(struct imap_session *s, const char *tag, bool uid, struct imap_search_program *prog,
                      const struct store_sort_criterion *crit, size_t ncrit, const uint32_t *members, size_t n);
/* A message whose flags changed or that is new to the snapshot. */
void imap_context_touch(struct imap_session *s, uint32_t uid);
/* Before the EXPUNGEs of these UIDs are sent: REMOVEFROM for members. */
void imap_contexts_expunging(struct imap_session *s, const uint32_t *uids, size_t n);
/* Report what the touched messages changed in each context. */
void imap_contexts_refresh(struct imap_session *s);
/* The mailbox is closed: every context ends. */
void imap_contexts_free(struct imap_session *s);
void imap_cmd_cancelupdate(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs,
                           bool uid);

/* The session is going away: a pending COPY/MOVE must not touch it. */
void imap_copy_wait_detach(struct copy_wait *w);

/* A mailbox name as LIST and STATUS show it (an atom when it can be). */
void imap_append_mailbox_name(buf_t *b, const char *name);
/* "* STATUS name (...)" with the items IMAP_STATUS_ITEM_* into out, from
 * known when given, else read now: 0, -ENOENT or -EIO (out empty). */
enum {
    IMAP_STATUS_ITEM_MESSAGES = 1 << 0,
    IMAP_STATUS_ITEM_UIDNEXT = 1 << 1,
    IMAP_STATUS_ITEM_UIDVALIDITY = 1 << 2,
    IMAP_STATUS_ITEM_UNSEEN = 1 << 3,
    IMAP_STATUS_ITEM_HIGHESTMODSEQ = 1 << 4,
};
int imap_status_items_line(struct imap_session *s, const char *name, unsigned items,
                           const struct store_mailbox_status *known, buf_t *out);
/* "* LIST (attributes) "." name" for one name as it is now: \NonExistent
 * when no mailbox has it, \Subscribed when subscribed; with old_name the
 * RFC 5465 OLDNAME extended item of a rename. */
void imap_list_one(struct imap_session *s, const char *name, const char *old_name, buf_t *out);

/* FETCH attributes compiled once and sent for messages as they arrive
 * (NOTIFY's MessageNew list): UID always, as if a UID FETCH. NULL with
 * *err when an item is invalid. */
struct fetch_state;
struct fetch_state *imap_fetch_compile(struct imap_session *s, const struct imap_arg *list, const char **err);
void imap_fetch_send(struct imap_session *s, struct fetch_state *f, const size_t *indexes, size_t n);
void imap_fetch_compiled_free(struct fetch_state *f);

/* NOTIFY (RFC 5465), see imap_cmd_notify.c. */
void imap_cmd_notify(struct imap_session *s, const char *tag, const struct imap_arg *args, size_t nargs, bool uid);
/* Every store event, before the session's own handling of it. */
void imap_notify_event(struct imap_session *s, const struct store_event *ev);
/* Does NOTIFY ask for these IMAP_NOTIFY_* events in the selected mailbox
 * (false without NOTIFY)? */
bool imap_notify_selected_wants(struct imap_session *s, unsigned events);
/* Between commands: send what NOTIFY has gathered. */
void imap_notify_flush(struct imap_session *s);
/* The same IMAP_NOTIFY_DELAY_MS from now (changes coming in a burst are
 * sent together). */
#define IMAP_NOTIFY_DELAY_MS 100
void imap_notify_later(struct imap_session *s);
/* After EXISTS announced the snapshot indexes from..to-1: NOTIFY's
 * MessageNew FETCH for those this session did not add itself. */
void imap_notify_new_messages(struct imap_session *s, size_t from, size_t to);
/* The selected mailbox is closed. */
void imap_notify_selected_closed(struct imap_session *s);
void imap_notify_free(struct imap_session *s);

/* Create the SPECIAL-USE folders of an account if missing. */
void imap_ensure_special_folders(struct imap_session *s);
/* SPECIAL-USE attribute of a folder name, or NULL. */
const char *imap_special_use(const char *name);

#endif
