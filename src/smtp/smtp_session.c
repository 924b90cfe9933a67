#include "smtp/smtp_session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "app/deliver.h"
#include "app/sasl.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "smtp/smtp_data.h"
#include "smtp/smtp_parser.h"

enum smtp_state {
    SS_CMD,        /* reading commands */
    SS_DATA,       /* reading a DATA body */
    SS_BDAT,       /* reading a BDAT chunk */
    SS_AUTH,       /* waiting for a SASL response line */
    SS_WAIT,       /* paused: commit or delay under way */
    SS_QUIT,
};

enum smtp_auth_step { AUTH_PLAIN, AUTH_LOGIN_USER, AUTH_LOGIN_PASS };

struct smtp_rcpt {
    char *addr;
    char *account;
    char *notify; /* DSN parameters kept with the message */
    char *orcpt;
};

struct smtp_session {
    struct app *app;
    struct conn *conn;
    enum smtp_state state;
    bool esmtp;
    char *helo;
    char *auth_user;    /* authenticated as */
    int bad_commands;
    int auth_failures;
    bool auth_locked; /* the last AUTH was refused unchecked */
    /* transaction */
    bool have_mail;
    char *mail_from;
    char *body_type;
    bool smtputf8;
    char *dsn_ret, *dsn_envid;
    struct smtp_rcpt *rcpts;
    size_t nrcpts;
    bool data_too_big;
    bool data_failed;
    bool delivery_open;
    struct store_delivery delivery;
    struct smtp_data data;
    struct smtp_crlf crlf;
    uint64_t bdat_remaining;
    bool bdat_last;
    uint64_t bdat_total;
    char queue_id[24];
    buf_t chunk;
    /* AUTH */
    enum smtp_auth_step auth_step;
    char *auth_login_user;
    /* a commit is in flight while the connection went away */
    bool orphaned;
    bool committing;
    struct timespec commit_start; /* end of DATA, for the latency metric */
    bool skip_line; /* discarding the rest of an over-long line */
    bool line_crlf; /* the last command line ended in CRLF (not a bare LF) */
    bool close_after_reply; /* draining: end the session after this message */
};

static void smtp_process(struct smtp_session *s);

static const char *hostname(struct smtp_session *s) {
    return s->app->cfg->hostname;
}

static void reply(struct smtp_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(struct smtp_session *s, const char *fmt, ...) {
    buf_t b = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (s->app->cfg->verbose)
        log_info("smtp[%llu] %s: > %s", (unsigned long long)conn_id(s->conn), conn_peer(s->conn), buf_cstr(&b));
    buf_append_str(&b, "\r\n");
    conn_write(s->conn, b.data, b.len);
    buf_free(&b);
}

static void transaction_reset(struct smtp_session *s) {
    if (s->delivery_open) {
        store_delivery_abort(&s->delivery);
        s->delivery_open = false;
    }
    free(s->mail_from);
    free(s->body_type);
    free(s->dsn_ret);
    free(s->dsn_envid);
    s->mail_from = s->body_type = s->dsn_ret = s->dsn_envid = NULL;
    for (size_t i = 0; i < s->nrcpts; i++) {
        free(s->rcpts[i].addr);
        free(s->rcpts[i].account);
        free(s->rcpts[i].notify);
        free(s->rcpts[i].orcpt);
    }
    free(s->rcpts);
    s->rcpts = NULL;
    s->nrcpts = 0;
    s->have_mail = false;
    s->smtputf8 = false;
    s->data_too_big = false;
    s->data_failed = false;
    s->bdat_total = 0;
    s->bdat_remaining = 0;
    s->bdat_last = false;
    buf_reset(&s->chunk);
}

static void session_free(struct smtp_session *s) {
    transaction_reset(s);
    free(s->helo);
    free(s->auth_user);
    free(s->auth_login_user);
    buf_free(&s->chunk);
    free(s);
}

/* Count a bad command; past the limit the session ends (Postfix's
 * smtpd_hard_error_limit). Returns true if the session was closed. */
static bool bad_command(struct smtp_session *s) {
    if (++s->bad_commands >= s->app->cfg->smtp_max_bad_commands) {
        reply(s, "421 4.7.0 %s Error: too many errors", hostname(s));
        s->state = SS_QUIT;
        conn_close(s->conn);
        return true;
    }
    return false;
}

/* ---- verbs ----------------------------------------------------------- */

static void cmd_ehlo(struct smtp_session *s, const struct smtp_cmd *cmd, bool esmtp) {
    if (cmd->arg_len == 0) {
        reply(s, "501 5.5.4 Syntax: %s hostname", esmtp ? "EHLO" : "HELO");
        bad_command(s);
        return;
    }
    transaction_reset(s);
    free(s->helo);
    s->helo = xstrndup(cmd->arg, cmd->arg_len);
    s->esmtp = esmtp;
    if (!esmtp) {
        reply(s, "250 %s", hostname(s));
        return;
    }
    const struct config *cfg = s->app->cfg;
    buf_t b = BUF_INIT;
    buf_printf(&b, "250-%s\r\n", hostname(s));
    buf_append_str(&b, "250-PIPELINING\r\n");
    buf_printf(&b, "250-SIZE %lld\r\n", (long long)cfg->message_size_limit);
    buf_append_str(&b, "250-VRFY\r\n");
    if (!conn_is_tls(s->conn) && s->app->tls) buf_append_str(&b, "250-STARTTLS\r\n");
    bool auth_offered = cfg->smtp_auth != SMTP_AUTH_OFF && !s->auth_user &&
                        (!cfg->smtp_require_tls_for_auth || conn_is_tls(s->conn));
    if (auth_offered) buf_append_str(&b, "250-AUTH PLAIN LOGIN\r\n");
    buf_append_str(&b, "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n");
    if (cfg->verbose) log_info("smtp[%llu] %s: > 250 EHLO list", (unsigned long long)conn_id(s->conn), conn_peer(s->conn));
    conn_write(s->conn, b.data, b.len);
    buf_free(&b);
}

/* An address with a byte outside ASCII needs SMTPUTF8 (RFC 6531 3.4). */
static bool has_8bit(const char *addr) {
    for (const unsigned char *c = (const unsigned char *)addr; *c; c++)
        if (*c >= 0x80) return true;
    return false;
}

static void cmd_mail(struct smtp_session *s, const struct smtp_cmd *cmd) {
    const struct config *cfg = s->app->cfg;
    if (s->have_mail) {
        reply(s, "503 5.5.1 Error: nested MAIL command");
        bad_command(s);
        return;
    }
    if (cfg->smtp_auth == SMTP_AUTH_REQUIRED && !s->auth_user) {
        reply(s, "530 5.7.0 Authentication required");
        bad_command(s);
        return;
    }
    struct smtp_path p;
    const char *err;
    if (smtp_path_parse(cmd->arg, cmd->arg_len, "FROM:", &p, &err) < 0) {
        reply(s, "%s", err);
        bad_command(s);
        return;
    }
    char *body = NULL, *ret = NULL, *envid = NULL;
    bool utf8 = false;
    for (size_t i = 0; i < p.nparams; i++) {
        const struct smtp_param *pr = &p.params[i];
        if (!strcmp(pr->key, "SIZE")) {
            /* RFC 1870: size-value ::= 1*20DIGIT (strtoull alone takes "-1") */
            size_t vl = pr->value ? strlen(pr->value) : 0;
            bool digits = vl > 0 && vl <= 20 && strspn(pr->value, "0123456789") == vl;
            errno = 0;
            unsigned long long v = digits ? strtoull(pr->value, NULL, 10) : 0;
            if (!digits || errno == ERANGE) {
                reply(s, "501 5.5.4 Bad message size syntax");
                goto fail;
            }
            if (deliver_check(s->app, v > INT64_MAX ? INT64_MAX : (int64_t)v) == DELIVER_TOO_BIG) {
                reply(s, "552 5.3.4 Message size exceeds fixed limit");
                goto fail;
            }
        } else if (!strcmp(pr->key, "BODY")) {
            /* BINARYMIME (RFC 3030) is not advertised, so not accepted */
            if (!pr->value || (strcasecmp(pr->value, "7BIT") && strcasecmp(pr->value, "8BITMIME"))) {
                reply(s, "501 5.5.4 Bad BODY keyword: %s", pr->value ? pr->value : "");
                goto fail;
            }
            free(body);
            body = xstrdup(pr->value);
        } else if (!strcmp(pr->key, "SMTPUTF8")) {
            if (pr->value) {
                reply(s, "501 5.5.4 Bad SMTPUTF8 parameter");
                goto fail;
            }
            utf8 = true;
        } else if (!strcmp(pr->key, "RET")) {
            if (!pr->value || (strcasecmp(pr->value, "FULL") && strcasecmp(pr->value, "HDRS"))) {
                reply(s, "501 5.5.4 Bad RET parameter syntax");
                goto fail;
            }
            free(ret);
            ret = xstrdup(pr->value);
        } else if (!strcmp(pr->key, "ENVID")) {
            buf_t x = BUF_INIT;
            if (!pr->value || smtp_xtext_decode(pr->value, &x) < 0 || x.len > 100) {
                buf_free(&x);
                reply(s, "501 5.5.4 Bad ENVID parameter syntax");
                goto fail;
            }
            buf_free(&x);
            free(envid);
            envid = xstrdup(pr->value);
        } else if (!strcmp(pr->key, "AUTH")) {
            /* RFC 4954 5: accepted and not used */
        } else {
            reply(s, "555 5.5.4 Unsupported option: %s", pr->key);
            goto fail;
        }
    }
    if (!utf8 && has_8bit(p.addr)) {
        reply(s, "553 5.6.7 Must declare SMTPUTF8 to send unicode address");
        goto fail;
    }
    int chaos_code;
    if (app_chaos_fires(s->app, CHAOS_SENDER, &chaos_code)) {
        log_info("smtp[%llu] %s: chaos: MAIL FROM:<%s> answered %d", (unsigned long long)conn_id(s->conn),
                 conn_peer(s->conn), p.addr, chaos_code);
        reply(s, "%d %d.0.0 Chaos sender error", chaos_code, chaos_code / 100);
        goto fail_nocount;
    }
    if (deliver_check(s->app, -1) == DELIVER_DISK_FULL) {
        log_warn("smtp[%llu] %s: refusing mail: less than %lld bytes free in %s", (unsigned long long)conn_id(s->conn),
                 conn_peer(s->conn), (long long)cfg->min_free_disk, cfg->data_dir);
        reply(s, "452 4.3.1 Insufficient system storage");
        goto fail_nocount;
    }
    s->mail_from = xstrdup(p.addr);
    s->body_type = body;
    s->dsn_ret = ret;
    s->dsn_envid = envid;
    s->smtputf8 = utf8;
    s->have_mail = true;
    smtp_path_free(&p);
    reply(s, "250 2.1.0 Ok");
    return;
fail:
    bad_command(s);
fail_nocount:
    free(body);
    free(ret);
    free(envid);
    smtp_path_free(&p);
}

static void cmd_rcpt(struct smtp_session *s, const struct smtp_cmd *cmd) {
    const struct config *cfg = s->app->cfg;
    if (!s->have_mail) {
        reply(s, "503 5.5.1 Error: need MAIL command");
        bad_command(s);
        return;
    }
    if (s->nrcpts >= (size_t)cfg->smtp_max_recipients) {
        reply(s, "452 4.5.3 Error: too many recipients");
        return;
    }
    struct smtp_path p;
    const char *err;
    if (smtp_path_parse(cmd->arg, cmd->arg_len, "TO:", &p, &err) < 0) {
        reply(s, "%s", err);
        bad_command(s);
        return;
    }
    if (!strcmp(p.addr, "postmaster")) {
        /* RFC 5321 4.5.1: <Postmaster> must be accepted; it is the
         * postmaster of our first domain (or of the hostname) */
        free(p.addr);
        buf_t pm = BUF_INIT;
        buf_printf(&pm, "postmaster@%s", cfg->domains.n ? cfg->domains.v[0] : cfg->hostname);
        p.addr = buf_steal(&pm);
    }
    if (!s->smtputf8 && has_8bit(p.addr)) {
        reply(s, "553 5.6.7 Must declare SMTPUTF8 to send unicode address");
        smtp_path_free(&p);
        bad_command(s);
        return;
    }
    if (!p.addr[0]) {
        /* RCPT TO:<> is not a mailbox; <postmaster> without domain neither */
        reply(s, "501 5.1.3 Bad recipient address syntax");
        smtp_path_free(&p);
        bad_command(s);
        return;
    }
    char *notify = NULL, *orcpt = NULL;
    for (size_t i = 0; i < p.nparams; i++) {
        const struct smtp_param *pr = &p.params[i];
        if (!strcmp(pr->key, "NOTIFY") && pr->value) {
            free(notify);
            notify = xstrdup(pr->value);
        } else if (!strcmp(pr->key, "ORCPT") && pr->value && strchr(pr->value, ';')) {
            free(orcpt);
            orcpt = xstrdup(pr->value);
        } else {
            reply(s, "555 5.5.4 Unsupported option: %s", pr->key);
            free(notify);
            free(orcpt);
            smtp_path_free(&p);
            bad_command(s);
            return;
        }
    }
    int chaos_code;
    if (app_chaos_fires(s->app, CHAOS_RECIPIENT, &chaos_code)) {
        log_info("smtp[%llu] %s: chaos: RCPT TO:<%s> answered %d", (unsigned long long)conn_id(s->conn),
                 conn_peer(s->conn), p.addr, chaos_code);
        reply(s, "%d %d.0.0 Chaos recipient error", chaos_code, chaos_code / 100);
        free(notify);
        free(orcpt);
        smtp_path_free(&p);
        return;
    }
    char *account = NULL;
    buf_t why = BUF_INIT;
    if (deliver_route(s->app, p.addr, &account, &why) < 0) {
        log_info("smtp[%llu] %s: reject RCPT from=<%s> to=<%s>: %s", (unsigned long long)conn_id(s->conn),
                 conn_peer(s->conn), s->mail_from, p.addr, buf_cstr(&why));
        reply(s, "%s", buf_cstr(&why));
        s->app->stats.recipients_refused++;
        buf_free(&why);
        free(notify);
        free(orcpt);
        smtp_path_free(&p);
        return;
    }
    buf_free(&why);
    s->rcpts = xrealloc(s->rcpts, (s->nrcpts + 1) * sizeof *s->rcpts);
    s->rcpts[s->nrcpts].addr = xstrdup(p.addr);
    s->rcpts[s->nrcpts].account = account;
    s->rcpts[s->nrcpts].notify = notify;
    s->rcpts[s->nrcpts].orcpt = orcpt;
    s->nrcpts++;
    smtp_path_free(&p);
    reply(s, "250 2.1.5 Ok");
}

/* Open the files of a delivery (one per distinct account), through the
 * one delivery service: it writes the trace headers. */
static bool delivery_open(struct smtp_session *s) {
    /* never two at once: a second open would lose the first's files */
    if (s->delivery_open) {
        store_delivery_abort(&s->delivery);
        s->delivery_open = false;
    }
    struct deliver_rcpt *r = xcalloc(s->nrcpts ? s->nrcpts : 1, sizeof *r);
    for (size_t i = 0; i < s->nrcpts; i++) r[i] = (struct deliver_rcpt){s->rcpts[i].addr, s->rcpts[i].account};
    /* RFC 3848 protocol names; RFC 6531 3.7.3 for SMTPUTF8 transactions */
    const char *with = s->esmtp ? (conn_is_tls(s->conn) ? (s->auth_user ? "ESMTPSA" : "ESMTPS")
                                                        : (s->auth_user ? "ESMTPA" : "ESMTP"))
                                : "SMTP";
    char utf8_with[16];
    if (s->smtputf8 && s->esmtp) {
        snprintf(utf8_with, sizeof utf8_with, "UTF8%s", with + 1); /* ESMTPS -> UTF8SMTPS */
        with = utf8_with;
    }
    deliver_queue_id(s->queue_id, sizeof s->queue_id);
    struct deliver_trace t = {s->helo, conn_peer(s->conn), with, s->queue_id, time(NULL), s->auth_user};
    int rc = deliver_begin(s->app, &s->delivery, s->mail_from, r, s->nrcpts, &t);
    free(r);
    if (rc < 0) return false;
    s->delivery_open = true;
    return true;
}

static void cmd_data(struct smtp_session *s, const struct smtp_cmd *cmd) {
    if (!s->have_mail) {
        reply(s, "503 5.5.1 Error: need MAIL command");
        bad_command(s);
        return;
    }
    if (s->nrcpts == 0) {
        reply(s, "554 5.5.1 Error: no valid recipients");
        bad_command(s);
        return;
    }
    if (s->bdat_total > 0 || s->delivery_open) {
        /* any BDAT, even "BDAT 0", started the message (RFC 3030 2) */
        reply(s, "503 5.5.1 Error: DATA after BDAT");
        bad_command(s);
        return;
    }
    if (cmd->arg_len) {
        reply(s, "501 5.5.4 Syntax: DATA");
        bad_command(s);
        return;
    }
    if (!delivery_open(s)) {
        reply(s, "451 4.3.0 Error: queue file write error");
        transaction_reset(s);
        return;
    }
    /* the DATA line's own line end is the one that can end the message */
    smtp_data_init(&s->data, s->line_crlf);
    s->state = SS_DATA;
    reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

static void delivery_done(struct store_delivery *d, int result, void *arg);

/* Hand the finished message to the store; the reply waits for the commit. */
static void finish_message(struct smtp_session *s, uint64_t crlf_size) {
    const struct config *cfg = s->app->cfg;
    if (s->data_too_big || crlf_size > (uint64_t)cfg->message_size_limit) {
        reply(s, "552 5.3.4 Message size exceeds fixed limit");
        s->app->stats.messages_refused++;
        transaction_reset(s);
        s->state = SS_CMD;
        return;
    }
    if (s->data_failed || !s->delivery_open) {
        reply(s, "451 4.3.0 Error: queue file write error");
        s->app->stats.messages_refused++;
        transaction_reset(s);
        s->state = SS_CMD;
        return;
    }
    s->state = SS_WAIT;
    s->committing = true;
    clock_gettime(CLOCK_MONOTONIC, &s->commit_start);
    conn_pause(s->conn);
    conn_ref(s->conn);
    s->delivery_open = false; /* owned by the commit now */
    store_delivery_commit(&s->delivery, delivery_done, s);
}

static void delivery_done(struct store_delivery *d, int result, void *arg) {
    struct smtp_session *s = arg;
    struct conn *c = s->conn;
    s->committing = false;
    buf_t rcpts = BUF_INIT;
    for (size_t i = 0; i < s->nrcpts; i++) buf_printf(&rcpts, "%s<%s>", i ? "," : "", s->rcpts[i].addr);
    int64_t size = d->n ? d->files[0].size + d->files[0].lines : 0;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double latency = (double)(now.tv_sec - s->commit_start.tv_sec) + (now.tv_nsec - s->commit_start.tv_nsec) / 1e9;
    if (result == 0) {
        app_stats_commit_latency(&s->app->stats, latency);
        log_info("smtp[%llu] %s: %s: from=<%s> to=%s size=%lld status=delivered (%zu mailbox%s)",
                 (unsigned long long)conn_id(c), conn_peer(c), s->queue_id, s->mail_from, buf_cstr(&rcpts),
                 (long long)size, d->n, d->n == 1 ? "" : "es");
        s->app->stats.messages_accepted++;
        s->app->stats.bytes_accepted += (uint64_t)size;
    } else {
        log_error("smtp[%llu] %s: %s: from=<%s> to=%s status=failed (%s)", (unsigned long long)conn_id(c),
                  conn_peer(c), s->queue_id, s->mail_from, buf_cstr(&rcpts), strerror(-result));
        s->app->stats.messages_refused++;
        for (size_t i = 0; i < d->n; i++)
            if (d->files[i].tmp_path && !d->files[i].new_path) unlink(d->files[i].tmp_path);
    }
    buf_free(&rcpts);
    store_delivery_free(d);
    if (s->orphaned) {
        session_free(s);
        conn_unref(c);
        return;
    }
    if (result == 0) reply(s, "250 2.0.0 Ok: queued as %s", s->queue_id);
    else reply(s, "451 4.3.0 Error: queue file write error");
    transaction_reset(s);
    s->state = SS_CMD;
    if (s->close_after_reply) {
        reply(s, "421 4.3.2 %s Service shutting down", hostname(s));
        conn_close(c);
        conn_unref(c);
        return;
    }
    conn_resume(c);
    conn_unref(c);
}

static void cmd_bdat(struct smtp_session *s, const struct smtp_cmd *cmd) {
    /* BDAT <size> [LAST] */
    char *arg = xstrndup(cmd->arg, cmd->arg_len);
    char *end;
    errno = 0;
    unsigned long long size = strtoull(arg, &end, 10);
    bool last = false;
    bool ok = end != arg && errno == 0 && arg[0] >= '0' && arg[0] <= '9';
    if (ok && *end) {
        while (*end == ' ') end++;
        if (!strcasecmp(end, "LAST")) last = true;
        else ok = false;
    }
    free(arg);
    if (!ok) {
        reply(s, "501 5.5.4 Syntax: BDAT size [LAST]");
        bad_command(s);
        return;
    }
    /* the chunk follows regardless; we must read (and drop) it on errors */
    s->bdat_remaining = size;
    s->bdat_last = last;
    s->state = SS_BDAT;
    if (!s->have_mail || s->nrcpts == 0) {
        s->data_failed = true; /* answered at the chunk's end */
    } else if (s->bdat_total == 0 && !s->delivery_open) {
        if (!delivery_open(s)) s->data_failed = true;
        smtp_crlf_init(&s->crlf);
    }
}

static void bdat_chunk_done(struct smtp_session *s) {
    if (!s->have_mail || s->nrcpts == 0) {
        reply(s, s->have_mail ? "554 5.5.1 Error: no valid recipients" : "503 5.5.1 Error: need MAIL command");
        transaction_reset(s);
        s->state = SS_CMD;
        bad_command(s);
        return;
    }
    if (!s->bdat_last) {
        if (s->data_too_big) reply(s, "552 5.3.4 Message size exceeds fixed limit");
        else reply(s, "250 2.0.0 Ok: %llu octets received", (unsigned long long)s->bdat_total);
        if (s->data_too_big) transaction_reset(s);
        s->state = SS_CMD;
        return;
    }
    buf_reset(&s->chunk);
    smtp_crlf_finish(&s->crlf, &s->chunk);
    if (s->delivery_open && !s->data_too_big) store_delivery_write(&s->delivery, s->chunk.data, s->chunk.len);
    buf_reset(&s->chunk);
    finish_message(s, s->crlf.bytes + s->crlf.lines);
}

static void auth_reply_fail(struct conn *c, void *arg) {
    struct smtp_session *s = arg;
    /* RFC 4954 6: 454 is the temporary failure */
    if (s->auth_locked) reply(s, "454 4.7.0 Temporary authentication failure: too many failed logins");
    else reply(s, "535 5.7.8 Error: authentication failed");
    s->state = SS_CMD;
    if (s->auth_failures >= s->app->cfg->auth_max_failures) {
        reply(s, "421 4.7.0 %s Error: too many failed logins", hostname(s));
        s->state = SS_QUIT;
        conn_close(c);
        return;
    }
    conn_resume(c);
}

static void auth_finish(struct smtp_session *s, const char *user, size_t ul, const char *pw, size_t pl) {
    char *u = xstrndup(user, ul);
    char *account = NULL;
    bool ok;
    int64_t delay = s->app->cfg->auth_failure_delay_ms;
    int r = 0;
    if (s->app->cfg->smtp_auth == SMTP_AUTH_ANY) ok = true;
    else if (!s->app->has_passdb) ok = false;
    else ok = (r = app_login_guarded(s->app, conn_peer(s->conn), u, pw, pl, &account, &delay)) == 1;
    free(account);
    s->auth_locked = r < 0;
    if (ok) {
        s->auth_user = u;
        log_info("smtp[%llu] %s: authenticated as %s", (unsigned long long)conn_id(s->conn), conn_peer(s->conn), u);
        reply(s, "235 2.7.0 Authentication successful");
        s->state = SS_CMD;
        return;
    }
    log_warn("smtp[%llu] %s: authentication failed for %s", (unsigned long long)conn_id(s->conn), conn_peer(s->conn), u);
    s->app->stats.auth_failures++;
    free(u);
    /* Slow down password guessing: answer after a delay. */
    s->state = SS_WAIT;
    conn_pause(s->conn);
    s->auth_failures++;
    conn_after(s->conn, delay, auth_reply_fail, s);
    bad_command(s);
}

static void auth_plain(struct smtp_session *s, const char *b64, size_t len) {
    buf_t dec = BUF_INIT;
    const char *user, *pw;
    size_t ul, pl;
    if (sasl_plain_decode(b64, len, &dec, &user, &ul, &pw, &pl) < 0) {
        reply(s, "501 5.5.2 Error: invalid SASL PLAIN response");
        s->state = SS_CMD;
        buf_free(&dec);
        bad_command(s);
        return;
    }
    auth_finish(s, user, ul, pw, pl);
    buf_free(&dec);
}

static void cmd_auth(struct smtp_session *s, const struct smtp_cmd *cmd) {
    const struct config *cfg = s->app->cfg;
    if (cfg->smtp_auth == SMTP_AUTH_OFF || (cfg->smtp_require_tls_for_auth && !conn_is_tls(s->conn))) {
        reply(s, "503 5.5.1 Error: authentication not enabled");
        bad_command(s);
        return;
    }
    if (s->auth_user) {
        reply(s, "503 5.5.1 Error: already authenticated");
        bad_command(s);
        return;
    }
    if (s->have_mail) {
        reply(s, "503 5.5.1 Error: MAIL transaction in progress");
        bad_command(s);
        return;
    }
    const char *sp = memchr(cmd->arg, ' ', cmd->arg_len);
    size_t ml = sp ? (size_t)(sp - cmd->arg) : cmd->arg_len;
    const char *ir = sp ? sp + 1 : NULL;
    size_t irl = sp ? cmd->arg_len - ml - 1 : 0;
    int chaos_code;
    if ((mem_ieq(cmd->arg, ml, "PLAIN") || mem_ieq(cmd->arg, ml, "LOGIN")) &&
        app_chaos_fires(s->app, CHAOS_AUTHENTICATION, &chaos_code)) {
        log_info("smtp[%llu] %s: chaos: AUTH answered %d", (unsigned long long)conn_id(s->conn), conn_peer(s->conn),
                 chaos_code);
        reply(s, "%d %d.0.0 Chaos authentication error", chaos_code, chaos_code / 100);
        return;
    }
    if (mem_ieq(cmd->arg, ml, "PLAIN")) {
        if (ir && irl == 1 && ir[0] == '=') irl = 0; /* empty initial response */
        if (ir && irl) {
            auth_plain(s, ir, irl);
        } else {
            s->auth_step = AUTH_PLAIN;
            s->state = SS_AUTH;
            reply(s, "334 ");
        }
    } else if (mem_ieq(cmd->arg, ml, "LOGIN")) {
        if (ir && irl) {
            buf_t dec = BUF_INIT;
            if (sasl_b64_decode(ir, irl, &dec) < 0) {
                reply(s, "501 5.5.2 Error: invalid SASL LOGIN response");
                buf_free(&dec);
                bad_command(s);
                return;
            }
            free(s->auth_login_user);
            s->auth_login_user = buf_steal(&dec);
            s->auth_step = AUTH_LOGIN_PASS;
            s->state = SS_AUTH;
            reply(s, "334 UGFzc3dvcmQ6");
        } else {
            s->auth_step = AUTH_LOGIN_USER;
            s->state = SS_AUTH;
            reply(s, "334 VXNlcm5hbWU6");
        }
    } else {
        reply(s, "504 5.5.4 Unrecognized authentication type");
        bad_command(s);
    }
}

static void auth_line(struct smtp_session *s, const char *line, size_t len) {
    if (len == 1 && line[0] == '*') {
        reply(s, "501 5.7.0 Authentication aborted");
        s->state = SS_CMD;
        return;
    }
    if (s->auth_step == AUTH_PLAIN) {
        auth_plain(s, line, len);
        return;
    }
    buf_t dec = BUF_INIT;
    if (sasl_b64_decode(line, len, &dec) < 0) {
        reply(s, "501 5.5.2 Error: invalid SASL LOGIN response");
        s->state = SS_CMD;
        buf_free(&dec);
        bad_command(s);
        return;
    }
    if (s->auth_step == AUTH_LOGIN_USER) {
        free(s->auth_login_user);
        s->auth_login_user = buf_steal(&dec);
        s->auth_step = AUTH_LOGIN_PASS;
        reply(s, "334 UGFzc3dvcmQ6");
        return;
    }
    const char *u = s->auth_login_user ? s->auth_login_user : "";
    auth_finish(s, u, strlen(u), dec.data ? dec.data : "", dec.len);
    buf_free(&dec);
}

static void cmd_starttls(struct smtp_session *s, const struct smtp_cmd *cmd) {
    if (cmd->arg_len) {
        reply(s, "501 5.5.4 Syntax: STARTTLS");
        bad_command(s);
        return;
    }
    if (conn_is_tls(s->conn)) {
        reply(s, "554 5.5.1 Error: TLS already active");
        bad_command(s);
        return;
    }
    if (!s->app->tls) {
        reply(s, "502 5.5.1 Error: command not implemented");
        bad_command(s);
        return;
    }
    reply(s, "220 2.0.0 Ready to start TLS");
    if (conn_starttls(s->conn) < 0) {
        conn_close(s->conn);
        return;
    }
    /* RFC 3207 4.2: forget everything learned before TLS */
    transaction_reset(s);
    free(s->helo);
    s->helo = NULL;
    s->esmtp = false;
}

static void dispatch(struct smtp_session *s, const char *line, size_t len) {
    struct smtp_cmd cmd;
    smtp_cmd_parse(line, len, &cmd);
    if (s->app->cfg->verbose) {
        /* never log AUTH secrets */
        int show = cmd.verb == SMTP_AUTH ? 4 : (int)len;
        log_info("smtp[%llu] %s: < %.*s", (unsigned long long)conn_id(s->conn), conn_peer(s->conn), show, line);
    }
    if (cmd.has_nul) {
        reply(s, "500 5.5.2 Error: bad syntax");
        bad_command(s);
        return;
    }
    switch (cmd.verb) {
    case SMTP_EHLO: cmd_ehlo(s, &cmd, true); break;
    case SMTP_HELO: cmd_ehlo(s, &cmd, false); break;
    case SMTP_MAIL: cmd_mail(s, &cmd); break;
    case SMTP_RCPT: cmd_rcpt(s, &cmd); break;
    case SMTP_DATA: cmd_data(s, &cmd); break;
    case SMTP_BDAT: cmd_bdat(s, &cmd); break;
    case SMTP_RSET:
        if (cmd.arg_len) {
            reply(s, "501 5.5.4 Syntax: RSET");
            bad_command(s);
            break;
        }
        transaction_reset(s);
        reply(s, "250 2.0.0 Ok");
        break;
    case SMTP_NOOP: reply(s, "250 2.0.0 Ok"); break;
    case SMTP_QUIT:
        reply(s, "221 2.0.0 Bye");
        s->state = SS_QUIT;
        conn_close(s->conn);
        break;
    case SMTP_VRFY:
        if (!cmd.arg_len) {
            reply(s, "501 5.5.4 Syntax: VRFY address");
            bad_command(s);
            break;
        }
        /* RFC 5321 3.5.3: cannot verify, but will accept and attempt delivery */
        reply(s, "252 2.0.0 %.*s", (int)(cmd.arg_len > 256 ? 256 : cmd.arg_len), cmd.arg);
        break;
    case SMTP_EXPN: reply(s, "502 5.5.1 Error: command not implemented"); break;
    case SMTP_HELP:
        reply(s, "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH");
        break;
    case SMTP_STARTTLS: cmd_starttls(s, &cmd); break;
    case SMTP_AUTH: cmd_auth(s, &cmd); break;
    case SMTP_UNKNOWN:
    default:
        reply(s, "502 5.5.2 Error: command not recognized");
        bad_command(s);
        break;
    }
}

/* DATA body: feed what is buffered into the dot-unstuffing machine. */
static bool process_data(struct smtp_session *s, struct evbuffer *in) {
    const struct config *cfg = s->app->cfg;
    while (evbuffer_get_length(in) > 0) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1) break;
        size_t consumed = 0;
        buf_reset(&s->chunk);
        bool done = smtp_data_feed(&s->data, v.iov_base, v.iov_len, &s->chunk, &consumed);
        if (!s->data_too_big && smtp_data_crlf_size(&s->data) > (uint64_t)cfg->message_size_limit) {
            /* stop storing, keep reading to the end, then say 552 */
            s->data_too_big = true;
            if (s->delivery_open) {
                store_delivery_abort(&s->delivery);
                s->delivery_open = false;
            }
        }
        if (s->delivery_open && !s->data_too_big) store_delivery_write(&s->delivery, s->chunk.data, s->chunk.len);
        evbuffer_drain(in, consumed);
        if (done) {
            finish_message(s, smtp_data_crlf_size(&s->data));
            return true;
        }
    }
    return false;
}

static bool process_bdat(struct smtp_session *s, struct evbuffer *in) {
    const struct config *cfg = s->app->cfg;
    while (s->bdat_remaining > 0 && evbuffer_get_length(in) > 0) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1) break;
        size_t n = v.iov_len < s->bdat_remaining ? v.iov_len : (size_t)s->bdat_remaining;
        if (!s->data_failed && s->have_mail) {
            buf_reset(&s->chunk);
            smtp_crlf_feed(&s->crlf, v.iov_base, n, &s->chunk);
            if (s->crlf.bytes + s->crlf.lines > (uint64_t)cfg->message_size_limit && !s->data_too_big) {
                s->data_too_big = true;
                if (s->delivery_open) {
                    store_delivery_abort(&s->delivery);
                    s->delivery_open = false;
                }
            }
            if (s->delivery_open && !s->data_too_big) store_delivery_write(&s->delivery, s->chunk.data, s->chunk.len);
        }
        s->bdat_total += n;
        s->bdat_remaining -= n;
        evbuffer_drain(in, n);
    }
    if (s->bdat_remaining == 0) {
        bdat_chunk_done(s);
        return true;
    }
    return false;
}

static void smtp_process(struct smtp_session *s) {
    size_t max = (size_t)s->app->cfg->smtp_max_line_length;
    while (!conn_is_closing(s->conn)) {
        /* fetched each time: STARTTLS replaces the connection's buffers */
        struct evbuffer *in = conn_input(s->conn);
        if (s->close_after_reply && s->state == SS_CMD) {
            reply(s, "421 4.3.2 %s Service shutting down", hostname(s));
            conn_close(s->conn);
            return;
        }
        if (s->state == SS_DATA) {
            if (!process_data(s, in)) return;
            continue;
        }
        /* replies the client has not read: no further command until it does */
        if (conn_output_full(s->conn)) return;
        if (s->state == SS_BDAT) {
            if (!process_bdat(s, in)) return;
            continue;
        }
        if (s->state != SS_CMD && s->state != SS_AUTH) return;
        size_t have = evbuffer_get_length(in);
        if (have == 0) return;
        if (s->skip_line) {
            struct evbuffer_ptr nl = evbuffer_search(in, "\n", 1, NULL);
            if (nl.pos < 0) {
                evbuffer_drain(in, have);
                return;
            }
            evbuffer_drain(in, (size_t)nl.pos + 1);
            s->skip_line = false;
            reply(s, "500 5.5.2 Error: line too long");
            if (s->state == SS_AUTH) s->state = SS_CMD;
            if (bad_command(s)) return;
            continue;
        }
        size_t look = have < max + 2 ? have : max + 2;
        const char *p = (const char *)evbuffer_pullup(in, (ssize_t)look);
        size_t line_len, consumed;
        enum smtp_line_result r = smtp_line_find(p, look, max + 2, &line_len, &consumed);
        if (r == SMTP_LINE_NEED_MORE) return;
        if (r == SMTP_LINE_TOO_LONG) {
            /* drop the over-long line (it may still be arriving), then answer */
            s->skip_line = true;
            continue;
        }
        buf_t line = BUF_INIT;
        buf_append(&line, p, line_len);
        s->line_crlf = consumed >= line_len + 2 && p[consumed - 2] == '\r';
        evbuffer_drain(in, consumed);
        if (s->state == SS_AUTH) auth_line(s, line.data ? line.data : "", line.len);
        else dispatch(s, line.data ? line.data : "", line.len);
        buf_free(&line);
    }
}

/* ---- connection handler ---------------------------------------------- */

static void *smtp_on_open(struct conn *c, void *arg) {
    struct app *app = arg;
    struct smtp_session *s = xcalloc(1, sizeof *s);
    s->app = app;
    s->conn = c;
    s->state = SS_CMD;
    app->stats.smtp_connections++;
    conn_set_idle_timeout(c, app->cfg->smtp_idle_timeout);
    conn_set_deadline(c, app->cfg->smtp_transaction_timeout);
    if (app->cfg->verbose) log_info("smtp[%llu] %s: connect", (unsigned long long)conn_id(c), conn_peer(c));
    if (app->draining) {
        reply(s, "421 4.3.2 %s Service shutting down", app->cfg->hostname);
        conn_close(c);
        return s;
    }
    reply(s, "220 %s ESMTP devmail", app->cfg->hostname);
    return s;
}

static void smtp_on_input(struct conn *c, void *proto) {
    struct smtp_session *s = proto;
    smtp_process(s);
    /* a message body is taken as it comes: say when one is under way */
    if (!conn_is_closing(c)) conn_set_receiving(c, s->state == SS_DATA || (s->state == SS_BDAT && s->bdat_remaining > 0));
}

static void smtp_on_timeout(struct conn *c, void *proto) {
    struct smtp_session *s = proto;
    if (s->committing) return; /* the reply comes with the commit */
    if (s->app->draining && (s->state == SS_DATA || s->state == SS_BDAT || s->state == SS_WAIT)) {
        /* shutting down: a message being received may finish (up to
         * shutdown_timeout); the session closes after its reply */
        s->close_after_reply = true;
        return;
    }
    if (s->app->draining) reply(s, "421 4.3.2 %s Service shutting down", hostname(s));
    else reply(s, "421 4.4.2 %s Error: timeout exceeded", hostname(s));
    log_info("smtp[%llu] %s: %s", (unsigned long long)conn_id(c), conn_peer(c),
             s->app->draining ? "closed for shutdown" : "timeout");
    s->state = SS_QUIT;
    conn_close(c);
}

static void smtp_on_close(struct conn *c, void *proto) {
    struct smtp_session *s = proto;
    if (!s) return;
    if (s->app->cfg->verbose) log_info("smtp[%llu] %s: disconnect", (unsigned long long)conn_id(c), conn_peer(c));
    if (s->committing) {
        /* the commit finishes and frees us; mail is never dropped */
        s->orphaned = true;
        return;
    }
    session_free(s);
}

/* At the connection limit, a session with no transaction under way (no
 * MAIL yet, nothing being received or committed) makes room for a new
 * client, the oldest first. */
static bool smtp_on_evict(struct conn *c, void *proto) {
    struct smtp_session *s = proto;
    if (!s || s->state != SS_CMD || s->have_mail || s->committing) return false;
    log_info("smtp[%llu] %s: disconnected without a transaction to make room for a new connection",
             (unsigned long long)conn_id(c), conn_peer(c));
    reply(s, "421 4.7.0 %s Error: too many connections", hostname(s));
    s->state = SS_QUIT;
    conn_close(c);
    return true;
}

const struct conn_handler smtp_conn_handler = {
    .on_evict = smtp_on_evict,
    .proto = "smtp",
    .busy_reply = "421 4.7.0 Error: too many connections\r\n",
    .on_open = smtp_on_open,
    .on_input = smtp_on_input,
    .on_timeout = smtp_on_timeout,
    .on_close = smtp_on_close,
};

int smtp_server_start(struct app *app, buf_t *err) {
    const struct config *cfg = app->cfg;
    if (net_listen_all(app->net, cfg->smtp_listen.v, cfg->smtp_listen.n, false, &smtp_conn_handler, app, err) < 0) return -1;
    return net_listen_all(app->net, cfg->smtps_listen.v, cfg->smtps_listen.n, true, &smtp_conn_handler, app, err);
}
