/*
 * pop3_session - the POP3 server: states AUTHORIZATION, TRANSACTION and
 * UPDATE (RFC 1939 3), one function per command, replies with RFC 2449
 * response codes. See pop3_session.h for the behaviour.
 */
#include "pop3/pop3_session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/sasl.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "pop3/pop3_parser.h"
#include "store/view.h"

/* Bad commands in one session before it is closed. */
/* Streaming RETR/TOP: file bytes read per step, and how much encoded
 * output may wait in the connection before we stop and wait for drain. */
#define POP3_READ_CHUNK (64 * 1024)
#define POP3_SEND_HIGH_WATER (256 * 1024)
#define POP3_SEND_LOW_WATER (64 * 1024)
/* RFC 1939 7: a unique-id is 1 to 70 characters 0x21..0x7E. */
#define POP3_MAX_UIDL 70

enum pop3_state {
    P3_AUTHORIZATION, /* greeting sent, no login yet */
    P3_SASL,          /* AUTH PLAIN: waiting for the client's response line */
    P3_WAIT,          /* paused: failed-login delay */
    P3_INDEXING,      /* paused: logged in, the account's mail is being indexed */
    P3_TRANSACTION,   /* logged in, maildrop open */
    P3_SENDING,       /* streaming a RETR/TOP answer; input paused */
    P3_QUIT,
};

struct pop3_msg {
    int64_t row;   /* messages.id */
    int64_t size;  /* RFC822 (CRLF) size */
    char *uidl;
    bool deleted;
    bool retrieved; /* RETR'd: marked \Seen at QUIT */
};

struct pop3_session {
    struct app *app;
    struct conn *conn;
    enum pop3_state state;
    int bad_commands;
    int auth_failures;
    bool auth_locked; /* the last login was refused unchecked */
    bool skip_line;       /* discarding the rest of an over-long line */
    char *user;           /* from USER */
    char *account;        /* logged in: the maildrop's account */
    char *wait_account, *wait_user; /* P3_INDEXING: the login to finish */
    struct pop3_msg *msgs;
    size_t nmsgs;
    /* streaming */
    FILE *fp;
    struct pop3_encoder enc;
    buf_t chunk, out;
    bool close_after_send;
    /* sessions holding a maildrop lock */
    struct pop3_session *lock_next;
};

/* Logged-in sessions: RFC 1939 4's exclusive lock on a maildrop. */
static struct pop3_session *pop3_locks;

static void pop3_process(struct pop3_session *s);

static void reply(struct pop3_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(struct pop3_session *s, const char *fmt, ...) {
    buf_t b = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (s->app->cfg->verbose)
        log_info("pop3[%llu] %s: > %s", (unsigned long long)conn_id(s->conn), conn_peer(s->conn), buf_cstr(&b));
    buf_append_str(&b, "\r\n");
    conn_write(s->conn, b.data, b.len);
    buf_free(&b);
}

static void lock_release(struct pop3_session *s) {
    for (struct pop3_session **p = &pop3_locks; *p; p = &(*p)->lock_next) {
        if (*p == s) {
            *p = s->lock_next;
            s->lock_next = NULL;
            return;
        }
    }
}

static bool lock_held_by_other(const char *account) {
    for (struct pop3_session *o = pop3_locks; o; o = o->lock_next)
        if (!strcmp(o->account, account)) return true;
    return false;
}

static void maildrop_free(struct pop3_session *s) {
    for (size_t i = 0; i < s->nmsgs; i++) free(s->msgs[i].uidl);
    free(s->msgs);
    s->msgs = NULL;
    s->nmsgs = 0;
}

static void login_indexed(void *arg);

static void session_free(struct pop3_session *s) {
    store_when_ready_cancel(s->app->store, login_indexed, s);
    free(s->wait_account);
    free(s->wait_user);
    lock_release(s);
    if (s->fp) fclose(s->fp);
    maildrop_free(s);
    free(s->user);
    free(s->account);
    buf_free(&s->chunk);
    buf_free(&s->out);
    free(s);
}

/* Count a bad command; past the limit the session ends. true if closed. */
static bool bad_command(struct pop3_session *s) {
    if (++s->bad_commands >= s->app->cfg->pop3_max_bad_commands) {
        reply(s, "-ERR Too many bad commands, closing connection");
        s->state = P3_QUIT;
        conn_close(s->conn);
        return true;
    }
    return false;
}

static bool plaintext_allowed(struct pop3_session *s) {
    /* Dovecot's disable_plaintext_auth, for POP3 */
    return s->app->cfg->pop3_plaintext_login || conn_is_tls(s->conn);
}

static bool uidl_valid(const char *u) {
    size_t n = strlen(u);
    if (n == 0 || n > POP3_MAX_UIDL) return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)u[i] < 0x21 || (unsigned char)u[i] > 0x7e) return false;
    return true;
}

/* The maildrop: the account's INBOX as the index lists it now. */
static int maildrop_load(struct pop3_session *s) {
    struct store_inbox_msg *v;
    size_t n;
    if (store_inbox_list(s->app->store, s->account, &v, &n) < 0) {
        log_error("pop3[%llu] %s: cannot list %s", (unsigned long long)conn_id(s->conn), conn_peer(s->conn),
                  s->account);
        return -1;
    }
    s->msgs = n ? xcalloc(n, sizeof *s->msgs) : NULL;
    s->nmsgs = n;
    for (size_t i = 0; i < n; i++) {
        struct pop3_msg *m = &s->msgs[i];
        m->row = v[i].row;
        m->size = v[i].size;
        /* The Maildir unique name is stable across sessions and restarts;
         * a name unfit for UIDL falls back to UIDVALIDITY.UID. */
        if (uidl_valid(v[i].api_id)) {
            m->uidl = v[i].api_id; /* taken over */
            v[i].api_id = NULL;
        } else {
            buf_t b = BUF_INIT;
            buf_printf(&b, "%lld.%lld", (long long)v[i].uidvalidity, (long long)v[i].uid);
            m->uidl = buf_steal(&b);
        }
    }
    store_inbox_free(&v, n);
    return 0;
}

static void maildrop_totals(struct pop3_session *s, size_t *count, int64_t *octets) {
    *count = 0;
    *octets = 0;
    for (size_t i = 0; i < s->nmsgs; i++) {
        if (s->msgs[i].deleted) continue;
        (*count)++;
        *octets += s->msgs[i].size;
    }
}

/* The message an argument names, or NULL after answering -ERR. */
static struct pop3_msg *msg_arg(struct pop3_session *s, const char *arg, size_t len, uint32_t *num) {
    uint32_t n;
    if (pop3_parse_number(arg, len, &n) < 0) {
        reply(s, "-ERR Invalid message number: %.*s", (int)(len > 40 ? 40 : len), arg);
        return NULL;
    }
    if (n == 0 || n > s->nmsgs) {
        reply(s, "-ERR There's no message %u.", n);
        return NULL;
    }
    struct pop3_msg *m = &s->msgs[n - 1];
    if (m->deleted) {
        reply(s, "-ERR Message %u is deleted.", n);
        return NULL;
    }
    *num = n;
    return m;
}

/* ---- login ------------------------------------------------------------ */

static void auth_fail_reply(struct conn *c, void *arg) {
    struct pop3_session *s = arg;
    if (s->auth_locked) reply(s, "-ERR [SYS/TEMP] Too many failed logins, try again later.");
    else reply(s, "-ERR [AUTH] Authentication failed.");
    if (s->auth_failures >= s->app->cfg->auth_max_failures) {
        s->state = P3_QUIT;
        conn_close(c);
        return;
    }
    s->state = P3_AUTHORIZATION;
    conn_resume(c);
}

static void login_finish(struct pop3_session *s, char *account, char *u);

/* The account's mail is indexed now: the login goes on. */
static void login_indexed(void *arg) {
    struct pop3_session *s = arg;
    struct conn *c = s->conn;
    conn_ref(c);
    char *account = s->wait_account, *u = s->wait_user;
    s->wait_account = s->wait_user = NULL;
    login_finish(s, account, u);
    if (!conn_is_closing(c)) conn_resume(c);
    conn_unref(c);
}

static void login(struct pop3_session *s, const char *user, size_t ul, const char *pw, size_t pl) {
    char *u = xstrndup(user, ul);
    char *account = NULL;
    int64_t delay;
    int ok = app_login_guarded(s->app, conn_peer(s->conn), u, pw, pl, &account, &delay);
    if (ok != 1) {
        s->auth_locked = ok < 0;
        log_warn("pop3[%llu] %s: authentication failed for %s%s", (unsigned long long)conn_id(s->conn),
                 conn_peer(s->conn), u, ok < 0 ? " (refused unchecked: too many recent failures)" : "");
        free(u);
        s->app->stats.auth_failures++;
        s->auth_failures++;
        /* Slow down password guessing: answer after a delay. */
        s->state = P3_WAIT;
        conn_pause(s->conn);
        conn_after(s->conn, delay, auth_fail_reply, s);
        return;
    }
    if (!store_mailbox_ready(s->app->store, account, "INBOX")) {
        /* its maildrop is still being indexed from start: answer once it is */
        s->wait_account = account;
        s->wait_user = u;
        s->state = P3_INDEXING;
        conn_pause(s->conn);
        store_when_ready(s->app->store, account, "INBOX", login_indexed, s);
        return;
    }
    login_finish(s, account, u);
}

static void login_finish(struct pop3_session *s, char *account, char *u) {
    s->state = P3_AUTHORIZATION;
    if (lock_held_by_other(account)) {
        log_info("pop3[%llu] %s: %s: maildrop in use by another POP3 session", (unsigned long long)conn_id(s->conn),
                 conn_peer(s->conn), account);
        reply(s, "-ERR [IN-USE] Mailbox is locked by another POP3 session.");
        free(account);
        free(u);
        return;
    }
    s->account = account;
    if (maildrop_load(s) < 0) {
        reply(s, "-ERR [SYS/TEMP] Cannot open the mailbox, try again later.");
        free(s->account);
        s->account = NULL;
        free(u);
        return;
    }
    s->lock_next = pop3_locks;
    pop3_locks = s;
    s->state = P3_TRANSACTION;
    size_t count;
    int64_t octets;
    maildrop_totals(s, &count, &octets);
    log_info("pop3[%llu] %s: login as %s (user %s, %zu messages)", (unsigned long long)conn_id(s->conn),
             conn_peer(s->conn), s->account, u, count);
    free(u);
    reply(s, "+OK Logged in, %zu messages (%lld octets).", count, (long long)octets);
}

static void sasl_plain(struct pop3_session *s, const char *b64, size_t len) {
    buf_t dec = BUF_INIT;
    const char *user, *pw;
    size_t ul, pl;
    if (sasl_plain_decode(b64, len, &dec, &user, &ul, &pw, &pl) < 0) {
        s->state = P3_AUTHORIZATION;
        reply(s, "-ERR Invalid SASL PLAIN response.");
        buf_free(&dec);
        bad_command(s);
        return;
    }
    login(s, user, ul, pw, pl);
    buf_free(&dec);
}

static void cmd_user(struct pop3_session *s, const struct pop3_cmd *cmd) {
    if (!plaintext_allowed(s)) {
        reply(s, "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.");
        bad_command(s);
        return;
    }
    if (cmd->nargs != 1 || cmd->arg_lens[0] > PASSDB_MAX_USER) {
        reply(s, "-ERR Syntax: USER name");
        bad_command(s);
        return;
    }
    free(s->user);
    s->user = xstrndup(cmd->args[0], cmd->arg_lens[0]);
    reply(s, "+OK");
}

static void cmd_pass(struct pop3_session *s, const struct pop3_cmd *cmd) {
    if (!s->user) {
        reply(s, "-ERR No username given.");
        bad_command(s);
        return;
    }
    char *user = s->user;
    s->user = NULL;
    login(s, user, strlen(user), cmd->rest, cmd->rest_len);
    free(user);
}

static void cmd_auth(struct pop3_session *s, const struct pop3_cmd *cmd) {
    if (cmd->nargs == 0) {
        /* the pre-RFC 5034 form some clients still send: list mechanisms */
        reply(s, "+OK");
        if (plaintext_allowed(s)) conn_write_str(s->conn, "PLAIN\r\n");
        conn_write_str(s->conn, ".\r\n");
        return;
    }
    if (!mem_ieq(cmd->args[0], cmd->arg_lens[0], "PLAIN")) {
        reply(s, "-ERR Unsupported authentication mechanism.");
        bad_command(s);
        return;
    }
    if (!plaintext_allowed(s)) {
        reply(s, "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.");
        bad_command(s);
        return;
    }
    if (cmd->nargs == 2) {
        /* RFC 5034 4: "=" is an empty initial response */
        bool empty = cmd->arg_lens[1] == 1 && cmd->args[1][0] == '=';
        sasl_plain(s, cmd->args[1], empty ? 0 : cmd->arg_lens[1]);
        return;
    }
    s->state = P3_SASL;
    reply(s, "+ ");
}

static void sasl_line(struct pop3_session *s, const char *line, size_t len) {
    if (len == 1 && line[0] == '*') {
        s->state = P3_AUTHORIZATION;
        reply(s, "-ERR Authentication aborted.");
        return;
    }
    sasl_plain(s, line, len);
}

static void cmd_stls(struct pop3_session *s) {
    if (conn_is_tls(s->conn)) {
        reply(s, "-ERR TLS is already active.");
        bad_command(s);
        return;
    }
    if (!s->app->tls) {
        reply(s, "-ERR TLS support isn't enabled.");
        bad_command(s);
        return;
    }
    reply(s, "+OK Begin TLS negotiation now.");
    if (conn_starttls(s->conn) < 0) {
        conn_close(s->conn);
        return;
    }
    /* RFC 2595 4: forget what was said before TLS */
    free(s->user);
    s->user = NULL;
}

static void cmd_capa(struct pop3_session *s) {
    buf_t b = BUF_INIT;
    buf_append_str(&b, "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n");
    if (s->state == P3_AUTHORIZATION) {
        if (plaintext_allowed(s)) buf_append_str(&b, "USER\r\nSASL PLAIN\r\n");
        if (!conn_is_tls(s->conn) && s->app->tls) buf_append_str(&b, "STLS\r\n");
    }
    buf_append_str(&b, "IMPLEMENTATION devmail\r\n.\r\n");
    if (s->app->cfg->verbose)
        log_info("pop3[%llu] %s: > +OK capability list", (unsigned long long)conn_id(s->conn), conn_peer(s->conn));
    conn_write(s->conn, b.data, b.len);
    buf_free(&b);
}

/* ---- transaction ------------------------------------------------------ */

static void cmd_stat(struct pop3_session *s) {
    size_t count;
    int64_t octets;
    maildrop_totals(s, &count, &octets);
    reply(s, "+OK %zu %lld", count, (long long)octets);
}

static void cmd_list(struct pop3_session *s, const struct pop3_cmd *cmd, bool uidl) {
    if (cmd->nargs == 1) {
        uint32_t n;
        struct pop3_msg *m = msg_arg(s, cmd->args[0], cmd->arg_lens[0], &n);
        if (!m) return;
        if (uidl) reply(s, "+OK %u %s", n, m->uidl);
        else reply(s, "+OK %u %lld", n, (long long)m->size);
        return;
    }
    size_t count;
    int64_t octets;
    maildrop_totals(s, &count, &octets);
    buf_t b = BUF_INIT;
    if (uidl) buf_append_str(&b, "+OK\r\n");
    else buf_printf(&b, "+OK %zu messages (%lld octets)\r\n", count, (long long)octets);
    for (size_t i = 0; i < s->nmsgs; i++) {
        if (s->msgs[i].deleted) continue;
        if (uidl) buf_printf(&b, "%zu %s\r\n", i + 1, s->msgs[i].uidl);
        else buf_printf(&b, "%zu %lld\r\n", i + 1, (long long)s->msgs[i].size);
    }
    buf_append_str(&b, ".\r\n");
    if (s->app->cfg->verbose)
        log_info("pop3[%llu] %s: > +OK %s of %zu messages", (unsigned long long)conn_id(s->conn), conn_peer(s->conn),
                 uidl ? "UIDL" : "LIST", count);
    conn_write(s->conn, b.data, b.len);
    buf_free(&b);
}

static void send_finish(struct pop3_session *s) {
    buf_reset(&s->out);
    pop3_encoder_finish(&s->enc, &s->out);
    conn_write(s->conn, s->out.data, s->out.len);
    buf_reset(&s->out);
    fclose(s->fp);
    s->fp = NULL;
    s->state = P3_TRANSACTION;
    if (s->close_after_send) {
        /* shutting down: this answer was the last */
        s->state = P3_QUIT;
        conn_close(s->conn);
        return;
    }
    conn_resume(s->conn);
}

/* Encode file data into the output until enough waits to be sent; the
 * drain callback brings us back. */
static void send_pump(struct pop3_session *s) {
    while (s->state == P3_SENDING && !conn_is_closing(s->conn) &&
           conn_output_pending(s->conn) < POP3_SEND_HIGH_WATER) {
        buf_reset(&s->chunk);
        buf_reserve(&s->chunk, POP3_READ_CHUNK);
        size_t n = fread(s->chunk.data, 1, POP3_READ_CHUNK, s->fp);
        if (n == 0) {
            if (ferror(s->fp)) {
                /* the answer has begun: a clean -ERR is impossible now */
                log_error("pop3[%llu] %s: read error while sending a message: %s",
                          (unsigned long long)conn_id(s->conn), conn_peer(s->conn), strerror(errno));
                s->state = P3_QUIT;
                conn_close(s->conn);
                return;
            }
            send_finish(s);
            return;
        }
        buf_reset(&s->out);
        bool done = pop3_encoder_feed(&s->enc, s->chunk.data, n, &s->out);
        conn_write(s->conn, s->out.data, s->out.len);
        if (done) {
            send_finish(s);
            return;
        }
    }
}

static void cmd_retr(struct pop3_session *s, const struct pop3_cmd *cmd, bool top) {
    if (cmd->nargs != (top ? 2u : 1u)) {
        reply(s, top ? "-ERR Syntax: TOP msg lines" : "-ERR Syntax: RETR msg");
        bad_command(s);
        return;
    }
    uint32_t n, lines = 0;
    if (top && pop3_parse_number(cmd->args[1], cmd->arg_lens[1], &lines) < 0) {
        reply(s, "-ERR Invalid line count.");
        bad_command(s);
        return;
    }
    struct pop3_msg *m = msg_arg(s, cmd->args[0], cmd->arg_lens[0], &n);
    if (!m) return;
    struct store_msg sm;
    if (store_msg_get(s->app->store, m->row, &sm) < 0) {
        reply(s, "-ERR Message %u was expunged by another session.", n);
        return;
    }
    FILE *fp = fopen(sm.path, "rb");
    if (!fp) {
        int e = errno;
        log_error("pop3[%llu] %s: cannot open %s: %s", (unsigned long long)conn_id(s->conn), conn_peer(s->conn),
                  sm.path, strerror(e));
        store_msg_free(&sm);
        if (e == ENOENT) reply(s, "-ERR Message %u was expunged by another session.", n);
        else reply(s, "-ERR [SYS/TEMP] Cannot read message %u.", n);
        return;
    }
    store_msg_free(&sm);
    if (!top) m->retrieved = true;
    s->fp = fp;
    pop3_encoder_init(&s->enc, top ? (int64_t)lines : -1);
    s->state = P3_SENDING;
    conn_pause(s->conn);
    if (top) reply(s, "+OK");
    else reply(s, "+OK %lld octets", (long long)m->size);
    send_pump(s);
}

static void cmd_dele(struct pop3_session *s, const struct pop3_cmd *cmd) {
    if (cmd->nargs != 1) {
        reply(s, "-ERR Syntax: DELE msg");
        bad_command(s);
        return;
    }
    uint32_t n;
    struct pop3_msg *m = msg_arg(s, cmd->args[0], cmd->arg_lens[0], &n);
    if (!m) return;
    m->deleted = true;
    reply(s, "+OK Marked to be deleted.");
}

static void cmd_rset(struct pop3_session *s) {
    for (size_t i = 0; i < s->nmsgs; i++) s->msgs[i].deleted = false;
    size_t count;
    int64_t octets;
    maildrop_totals(s, &count, &octets);
    reply(s, "+OK %zu messages (%lld octets).", count, (long long)octets);
}

/* The UPDATE state (RFC 1939 6): remove what DELE marked, mark what RETR
 * fetched as seen, then say goodbye. */
static void cmd_quit_update(struct pop3_session *s) {
    size_t removed = 0, failed = 0, left = 0;
    for (size_t i = 0; i < s->nmsgs; i++) {
        struct pop3_msg *m = &s->msgs[i];
        if (m->deleted) {
            int rc = store_expunge(s->app->store, m->row);
            if (rc == 0 || rc == -ENOENT) removed++;
            else failed++;
            continue;
        }
        left++;
        if (!m->retrieved) continue;
        struct store_msg sm;
        if (store_msg_get(s->app->store, m->row, &sm) < 0) continue;
        if (!(sm.flags & MSG_SEEN)) store_set_flags(s->app->store, m->row, sm.flags | MSG_SEEN, NULL);
        store_msg_free(&sm);
    }
    log_info("pop3[%llu] %s: logout %s: %zu deleted, %zu left", (unsigned long long)conn_id(s->conn),
             conn_peer(s->conn), s->account, removed, left);
    /* UPDATE is over: the maildrop is free before the client hears +OK, so
     * a client that logs in again at once is not told it is locked */
    lock_release(s);
    if (failed) reply(s, "-ERR [SYS/TEMP] %zu messages could not be deleted.", failed);
    else reply(s, "+OK Logging out, %zu messages deleted.", removed);
}

/* ---- dispatch --------------------------------------------------------- */

static void dispatch(struct pop3_session *s, const char *line, size_t len) {
    struct pop3_cmd cmd;
    const char *err;
    int rc = pop3_cmd_parse(line, len, &cmd, &err);
    if (s->app->cfg->verbose) {
        /* never log secrets */
        bool secret = rc == 0 && (cmd.verb == POP3_PASS || cmd.verb == POP3_AUTH);
        log_info("pop3[%llu] %s: < %.*s%s", (unsigned long long)conn_id(s->conn), conn_peer(s->conn),
                 secret ? 4 : (int)len, line, secret ? " ***" : "");
    }
    if (rc < 0) {
        reply(s, "-ERR %s", err);
        bad_command(s);
        return;
    }
    bool authz = s->state == P3_AUTHORIZATION;
    switch (cmd.verb) {
    case POP3_CAPA: cmd_capa(s); return;
    case POP3_NOOP:
        if (authz) break;
        reply(s, "+OK");
        return;
    case POP3_QUIT:
        if (authz) reply(s, "+OK Logging out.");
        else cmd_quit_update(s);
        s->state = P3_QUIT;
        conn_close(s->conn);
        return;
    case POP3_USER:
        if (!authz) break;
        cmd_user(s, &cmd);
        return;
    case POP3_PASS:
        if (!authz) break;
        cmd_pass(s, &cmd);
        return;
    case POP3_AUTH:
        if (!authz) break;
        cmd_auth(s, &cmd);
        return;
    case POP3_STLS:
        if (!authz) break;
        cmd_stls(s);
        return;
    case POP3_APOP:
        if (!authz) break;
        reply(s, "-ERR APOP is not supported; use USER/PASS or AUTH PLAIN.");
        bad_command(s);
        return;
    case POP3_STAT:
        if (authz) break;
        cmd_stat(s);
        return;
    case POP3_LIST:
    case POP3_UIDL:
        if (authz) break;
        cmd_list(s, &cmd, cmd.verb == POP3_UIDL);
        return;
    case POP3_RETR:
    case POP3_TOP:
        if (authz) break;
        cmd_retr(s, &cmd, cmd.verb == POP3_TOP);
        return;
    case POP3_DELE:
        if (authz) break;
        cmd_dele(s, &cmd);
        return;
    case POP3_RSET:
        if (authz) break;
        cmd_rset(s);
        return;
    case POP3_UNKNOWN:
    default:
        reply(s, "-ERR Unknown command: %s", cmd.keyword);
        bad_command(s);
        return;
    }
    reply(s, "-ERR %s is not valid in this state.", cmd.keyword);
    bad_command(s);
}

static void pop3_process(struct pop3_session *s) {
    /* The net layer holds a reference on the conn during on_input, but a
     * conn_close may free the session at once (nothing left to flush):
     * after a command, look at the conn, never at s, before going on. */
    struct conn *c = s->conn;
    while (!conn_is_closing(c)) {
        struct evbuffer *in = conn_input(c); /* STLS replaces the buffer */
        if (s->state != P3_AUTHORIZATION && s->state != P3_TRANSACTION && s->state != P3_SASL) return;
        size_t max = s->state == P3_SASL ? POP3_MAX_AUTH_LINE : POP3_MAX_LINE;
        size_t have = evbuffer_get_length(in);
        if (have == 0) return;
        /* answers the client has not read: no further command until it does */
        if (conn_output_full(c)) return;
        if (s->skip_line) {
            struct evbuffer_ptr nl = evbuffer_search(in, "\n", 1, NULL);
            if (nl.pos < 0) {
                evbuffer_drain(in, have);
                return;
            }
            evbuffer_drain(in, (size_t)nl.pos + 1);
            s->skip_line = false;
            if (s->state == P3_SASL) s->state = P3_AUTHORIZATION;
            reply(s, "-ERR Line too long.");
            if (bad_command(s)) return;
            continue;
        }
        size_t look = have < max ? have : max;
        const char *p = (const char *)evbuffer_pullup(in, (ssize_t)look);
        size_t line_len = 0, consumed = 0;
        enum pop3_line_result r = pop3_line_find(p, look, max, &line_len, &consumed);
        if (r == POP3_LINE_NEED_MORE) return;
        if (r == POP3_LINE_TOO_LONG) {
            s->skip_line = true;
            continue;
        }
        buf_t line = BUF_INIT;
        buf_append(&line, p, line_len);
        evbuffer_drain(in, consumed);
        if (s->state == P3_SASL) {
            if (s->app->cfg->verbose)
                log_info("pop3[%llu] %s: < (SASL response)", (unsigned long long)conn_id(s->conn), conn_peer(s->conn));
            sasl_line(s, line.data ? line.data : "", line.len);
        } else {
            dispatch(s, line.data ? line.data : "", line.len);
        }
        buf_free(&line);
    }
}

/* ---- connection handler ---------------------------------------------- */

static void *pop3_on_open(struct conn *c, void *arg) {
    struct app *app = arg;
    struct pop3_session *s = xcalloc(1, sizeof *s);
    s->app = app;
    s->conn = c;
    s->state = P3_AUTHORIZATION;
    app->stats.pop3_connections++;
    conn_set_idle_timeout(c, app->cfg->pop3_idle_timeout);
    conn_set_drain_watermark(c, POP3_SEND_LOW_WATER);
    if (app->cfg->verbose) log_info("pop3[%llu] %s: connect", (unsigned long long)conn_id(c), conn_peer(c));
    if (app->draining) {
        reply(s, "-ERR [SYS/TEMP] Server shutting down.");
        s->state = P3_QUIT;
        conn_close(c);
        return s;
    }
    reply(s, "+OK devmail POP3 ready.");
    return s;
}

static void pop3_on_input(struct conn *c, void *proto) {
    (void)c;
    pop3_process(proto);
}

static void pop3_on_drain(struct conn *c, void *proto) {
    (void)c;
    struct pop3_session *s = proto;
    if (s && s->state == P3_SENDING) send_pump(s);
}

static void pop3_on_timeout(struct conn *c, void *proto) {
    struct pop3_session *s = proto;
    if (s->state == P3_SENDING && s->app->draining) {
        /* a running RETR finishes, then the session ends (no UPDATE) */
        s->close_after_send = true;
        return;
    }
    if (s->app->draining) reply(s, "-ERR [SYS/TEMP] Server shutting down.");
    else reply(s, "-ERR Disconnected for inactivity.");
    log_info("pop3[%llu] %s: %s", (unsigned long long)conn_id(c), conn_peer(c),
             s->app->draining ? "closed for shutdown" : "timeout");
    s->state = P3_QUIT;
    conn_close(c);
}

static void pop3_on_close(struct conn *c, void *proto) {
    struct pop3_session *s = proto;
    if (!s) return;
    if (s->app->cfg->verbose) log_info("pop3[%llu] %s: disconnect", (unsigned long long)conn_id(c), conn_peer(c));
    session_free(s);
}

/* At the connection limit, a session that has not logged in makes room
 * for a new client (the oldest first). */
static bool pop3_on_evict(struct conn *c, void *proto) {
    struct pop3_session *s = proto;
    if (!s || (s->state != P3_AUTHORIZATION && s->state != P3_WAIT)) return false;
    log_info("pop3[%llu] %s: disconnected before login to make room for a new connection",
             (unsigned long long)conn_id(c), conn_peer(c));
    reply(s, "-ERR [SYS/TEMP] Too many connections; disconnected before login.");
    s->state = P3_QUIT;
    conn_close(c);
    return true;
}

const struct conn_handler pop3_conn_handler = {
    .on_evict = pop3_on_evict,
    .proto = "pop3",
    .busy_reply = "-ERR [SYS/TEMP] Too many connections.\r\n",
    .on_open = pop3_on_open,
    .on_input = pop3_on_input,
    .on_drain = pop3_on_drain,
    .on_timeout = pop3_on_timeout,
    .on_close = pop3_on_close,
};

int pop3_server_start(struct app *app, buf_t *err) {
    const struct config *cfg = app->cfg;
    if (net_listen_all(app->net, cfg->pop3_listen.v, cfg->pop3_listen.n, false, &pop3_conn_handler, app, err) < 0) return -1;
    return net_listen_all(app->net, cfg->pop3s_listen.v, cfg->pop3s_listen.n, true, &pop3_conn_handler, app, err);
}
