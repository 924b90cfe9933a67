/*
 * devmail - a development mail server: catches every message an
 * application sends over SMTP, keeps it durably in Maildir, and serves it
 * over IMAP, POP3, a web page and a JSON API.
 *
 * Subcommands:
 *   devmail [serve] [-c FILE] [--key value ...]   run the server
 *   devmail check-config [-c FILE] [--reference]  print the effective config
 *   devmail passwd [-s SCHEME] [USER]             print a passwd-file line
 *   devmail reindex [-c FILE]                     rebuild the index from the Maildirs
 *   devmail purge --older-than 7d [--mailbox M]   expunge old mail now (server may run)
 *   devmail sendmail [-t] [-i] [-f FROM] [RCPT..] sendmail(1)-style injector over SMTP
 *   devmail client-setup [ADDRESS] [--format F]  mail-client settings (text, thunderbird, ...)
 *   devmail ca-cert                               the local CA certificate to import
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/ssl.h>

#include "app/app.h"
#include "app/linkcheck.h"
#include "app/release.h"
#include "app/spamcheck.h"
#include "app/authguard.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "cli/cli_config.h"
#include "cli/check.h"
#include "cli/purge.h"
#include "cli/sendmail.h"
#include "cli/setup.h"
#include "app/client_setup.h"
#include "net/tls.h"
#include "pop3/pop3_session.h"
#include "http/autoconfig.h"
#include "http/http_api.h"
#include "http/http_server.h"
#include "http/webhook.h"
#include "imap/imap_session.h"
#include "smtp/smtp_session.h"
#include "store/api_query.h"
#include "store/retention.h"

static int cmd_check_config(int argc, char **argv) {
    struct config cfg;
    bool reference = false;
    if (cli_load_config(&cfg, argc, argv, &reference) < 0) return 1;
    buf_t out = BUF_INIT;
    if (reference) config_reference(&out);
    else config_dump(&cfg, &out);
    int rc = 0;
    if (!reference && cfg.passdb[0]) {
        struct passdb db;
        buf_t err = BUF_INIT;
        if (passdb_load(&db, cfg.passdb, &err) < 0) {
            fprintf(stderr, "devmail: %s\n", buf_cstr(&err));
            rc = 1;
        } else {
            passdb_free(&db);
        }
        buf_free(&err);
    }
    if (!reference && cfg.recipient_map[0]) {
        struct rcptmap m;
        buf_t err = BUF_INIT;
        if (rcptmap_load(&m, cfg.recipient_map, &err) < 0) {
            fprintf(stderr, "devmail: %s\n", buf_cstr(&err));
            rc = 1;
        } else {
            rcptmap_free(&m);
        }
        buf_free(&err);
    }
    fwrite(out.data, 1, out.len, stdout);
    buf_free(&out);
    config_free(&cfg);
    return rc;
}

static int cmd_passwd(int argc, char **argv) {
    const char *scheme = "SHA512-CRYPT";
    const char *user = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-s") && i + 1 < argc) scheme = argv[++i];
        else if (argv[i][0] != '-') user = argv[i];
        else {
            cli_usage(stderr);
            return 2;
        }
    }
    /* read the password from the terminal without echo, or from stdin */
    bool tty = isatty(STDIN_FILENO);
    struct termios old, noecho;
    if (tty) {
        fprintf(stderr, "Password: ");
        tcgetattr(STDIN_FILENO, &old);
        noecho = old;
        noecho.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSANOW, &noecho);
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSANOW, &old);
        fprintf(stderr, "\n");
    }
    if (n < 0) {
        fprintf(stderr, "devmail passwd: no password given\n");
        free(line);
        return 1;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
    buf_t out = BUF_INIT;
    if (passdb_hash(scheme, line, &out) < 0) {
        fprintf(stderr, "devmail passwd: unsupported scheme %s\n", scheme);
        free(line);
        return 2;
    }
    free(line);
    if (user) printf("%s:%s\n", user, buf_cstr(&out));
    else printf("%s\n", buf_cstr(&out));
    buf_free(&out);
    return 0;
}

static int cmd_reindex(int argc, char **argv) {
    struct config cfg;
    if (cli_load_config(&cfg, argc, argv, NULL) < 0) return 1;
    buf_t path = BUF_INIT;
    buf_printf(&path, "%s/index.sqlite", cfg.data_dir);
    /* The Maildir is the truth: drop the cache and build it again. */
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        buf_t p = BUF_INIT;
        buf_printf(&p, "%s%s", buf_cstr(&path), suffixes[i]);
        unlink(buf_cstr(&p));
        buf_free(&p);
    }
    buf_free(&path);
    buf_t err = BUF_INIT;
    struct store *st = store_open(NULL, cfg.data_dir, cfg.hostname, &err);
    if (!st) {
        fprintf(stderr, "devmail: %s\n", buf_cstr(&err));
        return 1;
    }
    int64_t n = 0;
    if (api_query_store_totals(st, &n, NULL) < 0) {
        fprintf(stderr, "devmail: cannot count the reindexed messages\n");
        store_close(st);
        buf_free(&err);
        config_free(&cfg);
        return 1;
    }
    printf("reindexed %lld messages in %s\n", (long long)n, cfg.data_dir);
    store_close(st);
    buf_free(&err);
    config_free(&cfg);
    return 0;
}

/* ---- serve --------------------------------------------------------------- */

static struct app app;
static struct event *shutdown_timer, *shutdown_poller;
static struct retention_timer *retention;
/* the serve command line, re-applied over the re-read file on SIGHUP */
static int serve_argc;
static char **serve_argv;
/* configurations replaced by SIGHUP: kept until exit, since sessions may
 * still point at their strings */
static struct config **retired;
static size_t nretired;

static void set_protocol_limits(const struct config *cfg) {
    net_set_protocol_limit(app.net, "smtp", cfg->smtp_max_connections);
    net_set_protocol_limit(app.net, "imap", cfg->imap_max_connections);
    net_set_protocol_limit(app.net, "pop3", cfg->pop3_max_connections);
    net_set_protocol_limit(app.net, "http", cfg->http_max_connections);
    net_set_slow_limits(app.net, cfg->slow_client_timeout, cfg->min_data_rate);
    net_set_output_limits(app.net, (size_t)cfg->max_output_buffer, cfg->send_timeout);
}

static void shutdown_force(evutil_socket_t fd, short what, void *arg) {
    log_warn("shutdown: timeout; %zu connections still open", net_connection_count(app.net));
    event_base_loopbreak(app.base);
}

static void shutdown_poll(evutil_socket_t fd, short what, void *arg) {
    if (net_connection_count(app.net) == 0) event_base_loopbreak(app.base);
}

static void on_sigterm(evutil_socket_t sig, short what, void *arg) {
    if (app.draining) {
        event_base_loopbreak(app.base);
        return;
    }
    log_info("received %s: draining (up to %llds)", sig == SIGINT ? "SIGINT" : "SIGTERM",
             (long long)app.cfg->shutdown_timeout);
    app.draining = true;
    net_stop_listening(app.net);
    /* idle sessions get their protocol's goodbye now; busy ones finish */
    net_close_all(app.net);
    struct timeval tv = {app.cfg->shutdown_timeout, 0};
    shutdown_timer = evtimer_new(app.base, shutdown_force, NULL);
    evtimer_add(shutdown_timer, &tv);
    shutdown_poller = event_new(app.base, -1, EV_PERSIST, shutdown_poll, NULL);
    struct timeval ptv = {0, 50000};
    event_add(shutdown_poller, &ptv);
}

static bool config_field_equal(const struct config_entry *e, const struct config *a, const struct config *b) {
    const void *fa = (const char *)a + e->offset, *fb = (const char *)b + e->offset;
    switch (e->type) {
    case CONF_STR: return strcmp(*(char *const *)fa, *(char *const *)fb) == 0;
    case CONF_LIST: {
        const struct strlist *la = fa, *lb = fb;
        if (la->n != lb->n) return false;
        for (size_t i = 0; i < la->n; i++)
            if (strcmp(la->v[i], lb->v[i]) != 0) return false;
        return true;
    }
    case CONF_BOOL: return *(const bool *)fa == *(const bool *)fb;
    case CONF_ENUM: return *(const int *)fa == *(const int *)fb;
    default: return *(const int64_t *)fa == *(const int64_t *)fb;
    }
}

static void config_field_swap(const struct config_entry *e, struct config *a, struct config *b) {
    char *fa = (char *)a + e->offset, *fb = (char *)b + e->offset;
    size_t size = e->type == CONF_STR    ? sizeof(char *)
                  : e->type == CONF_LIST ? sizeof(struct strlist)
                  : e->type == CONF_BOOL ? sizeof(bool)
                  : e->type == CONF_ENUM ? sizeof(int)
                                         : sizeof(int64_t);
    char tmp[sizeof(struct strlist) > sizeof(int64_t) ? sizeof(struct strlist) : sizeof(int64_t)];
    memcpy(tmp, fa, size);
    memcpy(fa, fb, size);
    memcpy(fb, tmp, size);
}

/* SIGHUP reload parts owned here: the passwd-file and the recipient map
 * (read in prepare, so an error keeps the old ones), and the settings
 * whose running objects are here (log, retention, login delays,
 * connection shares). */
static struct passdb pending_passdb;
static bool pending_has_passdb;
static struct rcptmap pending_rcptmap;

static int accounts_prepare(void *arg, const struct config *fresh, buf_t *err) {
    pending_has_passdb = false;
    memset(&pending_passdb, 0, sizeof pending_passdb);
    if (fresh->passdb[0]) {
        if (passdb_load(&pending_passdb, fresh->passdb, err) < 0) return -1;
        pending_has_passdb = true;
    }
    return 0;
}

static void accounts_commit(void *arg) {
    if (app.has_passdb) passdb_free(&app.passdb);
    app.passdb = pending_passdb;
    app.has_passdb = pending_has_passdb;
    pending_has_passdb = false;
}

static void accounts_discard(void *arg) {
    if (pending_has_passdb) passdb_free(&pending_passdb);
    pending_has_passdb = false;
}

static int rcptmap_prepare(void *arg, const struct config *fresh, buf_t *err) {
    memset(&pending_rcptmap, 0, sizeof pending_rcptmap);
    if (fresh->recipient_map[0] && rcptmap_load(&pending_rcptmap, fresh->recipient_map, err) < 0) return -1;
    return 0;
}

static void rcptmap_commit(void *arg) {
    rcptmap_free(&app.rcptmap);
    app.rcptmap = pending_rcptmap;
    memset(&pending_rcptmap, 0, sizeof pending_rcptmap);
}

static void rcptmap_discard(void *arg) {
    rcptmap_free(&pending_rcptmap);
}

static void settings_commit(void *arg) {
    log_set_level(app.cfg->verbose ? LOG_DEBUG : (enum log_level)app.cfg->log_level);
    retention_timer_set(retention, app.cfg->retention, app.cfg->retention_count);
    authguard_set(app.authguard, app.cfg->auth_failure_delay_ms, app.cfg->auth_failure_max_delay * 1000);
    set_protocol_limits(app.cfg);
    app_chaos_from_config(&app);
}

static struct config *installing;

/* The fresh configuration becomes app.cfg; sessions may hold pointers
 * into the old strings: retire it, do not free it. */
static void install_config(void *arg) {
    struct config *old = xmalloc(sizeof *old);
    *old = *app.cfg;
    *app.cfg = *installing;
    retired = xrealloc(retired, (nretired + 1) * sizeof *retired);
    retired[nretired++] = old;
}

static void add_main_reloaders(void) {
    app_add_reloader(&app, &(struct app_reloader){"passdb", accounts_prepare, accounts_commit, accounts_discard, NULL});
    app_add_reloader(&app,
                     &(struct app_reloader){"recipient_map", rcptmap_prepare, rcptmap_commit, rcptmap_discard, NULL});
    app_add_reloader(&app, &(struct app_reloader){"settings", NULL, settings_commit, NULL, NULL});
}

/* SIGHUP: re-read the whole configuration (file, environment, the same
 * command line) and every file it names (passwd-files, the recipient
 * map), through each module's reloader. Any error keeps everything as it
 * was. Restart-only keys (the table says which) keep their running value
 * and are logged. Connections stay open. */
static void on_sighup(evutil_socket_t sig, short what, void *arg) {
    log_reopen();
    struct config fresh;
    if (cli_load_config(&fresh, serve_argc, serve_argv, NULL) < 0) {
        log_error("reload: the configuration has an error (see above); keeping the old one");
        return;
    }
    size_t kept = 0;
    for (const struct config_entry *e = config_table; e->key; e++) {
        if (e->reload != CONF_RESTART || config_field_equal(e, &fresh, app.cfg)) continue;
        log_warn("reload: %s changed; it takes effect at restart (listeners are not re-bound)", e->key);
        config_field_swap(e, &fresh, app.cfg); /* fresh keeps the running value */
        kept++;
    }
    if (strcmp(fresh.log_file, app.cfg->log_file) != 0 && log_open(fresh.log_file) < 0)
        log_error("reload: cannot open log file %s: %s", fresh.log_file, strerror(errno));
    buf_t err = BUF_INIT;
    installing = &fresh;
    if (app_reload(&app, &fresh, install_config, NULL, &err) < 0) {
        log_error("reload: %s; keeping the old configuration, accounts and recipient map", buf_cstr(&err));
        buf_free(&err);
        config_free(&fresh);
        return;
    }
    buf_free(&err);
    log_info("reloaded the configuration, accounts (%s) and recipient map%s", app.has_passdb ? app.cfg->passdb : "none: any login",
             kept ? "; restart-only settings kept their running values" : "");
}

static void on_sigusr1(evutil_socket_t sig, short what, void *arg) {
    log_reopen();
}

static int drop_privileges(const struct config *cfg) {
    if (geteuid() != 0 || !cfg->user[0]) return 0;
    struct passwd *pw = getpwnam(cfg->user);
    if (!pw) {
        fprintf(stderr, "devmail: unknown user %s\n", cfg->user);
        return -1;
    }
    gid_t gid = pw->pw_gid;
    if (cfg->group[0]) {
        struct group *gr = getgrnam(cfg->group);
        if (!gr) {
            fprintf(stderr, "devmail: unknown group %s\n", cfg->group);
            return -1;
        }
        gid = gr->gr_gid;
    }
    if (chown(cfg->data_dir, pw->pw_uid, gid) < 0) {
        /* not fatal: the directory may belong to someone else on purpose */
    }
    if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(pw->pw_uid) < 0) {
        fprintf(stderr, "devmail: cannot switch to user %s: %s\n", cfg->user, strerror(errno));
        return -1;
    }
    return 0;
}


/* Does the domain resolve to loopback without DNS (RFC 6761 6.3)? */
static bool is_localhost_domain(const char *d) {
    size_t n = strlen(d);
    return !strcasecmp(d, "localhost") || (n > 10 && !strcasecmp(d + n - 10, ".localhost"));
}

/* The banner's part for mail clients: where the setup is served, which
 * hosts entry makes Thunderbird find it, and the CA to import. */
static void log_client_setup(const struct config *cfg) {
    for (size_t i = 0; i < cfg->autoconfig_listen.n; i++)
        log_info("  SETUP  http://%s/ (mail-client autoconfig only)", cfg->autoconfig_listen.v[i]);
    for (size_t i = 0; i < cfg->autoconfig_tls_listen.n; i++)
        log_info("  SETUP  https://%s/ (mail-client autoconfig only)", cfg->autoconfig_tls_listen.v[i]);
    if (!cfg->tls_cert[0])
        log_info("  TLS    certificate signed by the local CA %s/" TLS_DIR_NAME "/" TLS_CA_CERT_NAME
                 ": import it once (devmail ca-cert)",
                 cfg->data_dir);
    /* Thunderbird asks http://autoconfig.<domain>/ on port 80 */
    const char *port80 = NULL;
    for (size_t i = 0; i < cfg->autoconfig_listen.n && !port80; i++) {
        const char *a = cfg->autoconfig_listen.v[i];
        size_t n = strlen(a);
        if (n > 3 && !strcmp(a + n - 3, ":80")) port80 = a;
    }
    for (size_t i = 0; i < cfg->http_listen.n && !port80; i++) {
        const char *a = cfg->http_listen.v[i];
        size_t n = strlen(a);
        if (n > 3 && !strcmp(a + n - 3, ":80")) port80 = a;
    }
    if (!port80) {
        log_info("  mail clients: `devmail client-setup ADDRESS` prints the settings; for Thunderbird to find them "
                 "by itself set autoconfig_listen = 127.0.0.1:80");
        return;
    }
    /* the address a hosts entry points to: the listener's, loopback for a wildcard */
    char ip[64];
    snprintf(ip, sizeof ip, "%s", port80);
    ip[strlen(ip) - 3] = '\0';
    char *addr = ip;
    if (addr[0] == '[') {
        addr++;
        addr[strlen(addr) - 1] = '\0';
    }
    if (!*addr || !strcmp(addr, "0.0.0.0")) addr = "127.0.0.1";
    else if (!strcmp(addr, "::")) addr = "::1";
    if (cfg->domains.n == 0) {
        log_info("  mail clients: type any address under .localhost (e.g. you@devmail.localhost) and any password: "
                 "Thunderbird finds the settings with no hosts entry (.localhost is loopback)");
        return;
    }
    for (size_t i = 0; i < cfg->domains.n; i++) {
        const char *d = cfg->domains.v[i];
        if (is_localhost_domain(d))
            log_info("  mail clients: addresses @%s need no hosts entry (autoconfig.%s is loopback)", d, d);
        else
            log_info("  mail clients: for addresses @%s add the hosts entry \"%s autoconfig.%s\" (/etc/hosts), "
                     "then type only address and password",
                     d, addr, d);
    }
}

static int cmd_serve(int argc, char **argv) {
    static struct config cfg;
    if (cli_load_config(&cfg, argc, argv, NULL) < 0) return 1;
    serve_argc = argc;
    serve_argv = argv;
    if (log_open(cfg.log_file) < 0) {
        fprintf(stderr, "devmail: cannot open log file %s: %s\n", cfg.log_file, strerror(errno));
        return 1;
    }
    log_set_level(cfg.verbose ? LOG_DEBUG : (enum log_level)cfg.log_level);
    signal(SIGPIPE, SIG_IGN);
    evthread_use_pthreads();
    app.cfg = &cfg;
    app.base = event_base_new();
    app.authguard = authguard_new(cfg.auth_failure_delay_ms, cfg.auth_failure_max_delay * 1000);
    buf_t err = BUF_INIT;
    if (cfg.passdb[0]) {
        if (passdb_load(&app.passdb, cfg.passdb, &err) < 0) goto fail;
        app.has_passdb = true;
    }
    if (cfg.recipient_map[0] && rcptmap_load(&app.rcptmap, cfg.recipient_map, &err) < 0) goto fail;
    app.store = store_open(app.base, cfg.data_dir, cfg.hostname, &err);
    if (!app.store) goto fail;
    if (store_set_tag_rules(app.store, cfg.tag, &err) < 0) goto fail;
    app.tls = tls_ctx_new(&cfg, &err);
    if (!app.tls) goto fail;
    struct net_limits limits = {cfg.max_connections, cfg.max_connections_per_ip};
    app.net = net_new(app.base, app.tls, &limits);
    set_protocol_limits(&cfg);
    app_chaos_from_config(&app);
    add_main_reloaders();
    if (smtp_server_start(&app, &err) < 0) goto fail;
    if (imap_server_start(&app, &err) < 0) goto fail;
    if (pop3_server_start(&app, &err) < 0) goto fail;
    /* the HTTP server's routes: add a module's table here */
    static const struct http_handlers http_handlers = {
        .tables = {http_api_routes, autoconfig_routes},
        .stats_frame = http_api_stats_frame,
        .event_frame = http_api_event_frame,
    };
    app.started = time(NULL);
    if (http_server_start(&app, &http_handlers, &err) < 0) goto fail;
    webhook_start(&app);
    if (drop_privileges(&cfg) < 0) return 1;
    if (cfg.pidfile[0]) {
        FILE *fp = fopen(cfg.pidfile, "w");
        if (!fp) {
            buf_printf(&err, "%s: %s", cfg.pidfile, strerror(errno));
            goto fail;
        }
        fprintf(fp, "%ld\n", (long)getpid());
        fclose(fp);
    }
    struct event *sigs[] = {
        evsignal_new(app.base, SIGTERM, on_sigterm, NULL), evsignal_new(app.base, SIGINT, on_sigterm, NULL),
        evsignal_new(app.base, SIGHUP, on_sighup, NULL), evsignal_new(app.base, SIGUSR1, on_sigusr1, NULL)};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) event_add(sigs[i], NULL);

    log_info("version %s started (pid %ld), data in %s", DEVMAIL_VERSION, (long)getpid(), cfg.data_dir);
    for (size_t i = 0; i < cfg.smtp_listen.n; i++) log_info("  SMTP   smtp://%s (STARTTLS available)", cfg.smtp_listen.v[i]);
    for (size_t i = 0; i < cfg.smtps_listen.n; i++) log_info("  SMTPS  smtps://%s", cfg.smtps_listen.v[i]);
    for (size_t i = 0; i < cfg.imap_listen.n; i++) log_info("  IMAP   imap://%s (STARTTLS available)", cfg.imap_listen.v[i]);
    for (size_t i = 0; i < cfg.imaps_listen.n; i++) log_info("  IMAPS  imaps://%s", cfg.imaps_listen.v[i]);
    for (size_t i = 0; i < cfg.pop3_listen.n; i++) log_info("  POP3   pop3://%s (STLS available)", cfg.pop3_listen.v[i]);
    for (size_t i = 0; i < cfg.pop3s_listen.n; i++) log_info("  POP3S  pop3s://%s", cfg.pop3s_listen.v[i]);
    for (size_t i = 0; i < cfg.http_listen.n; i++) log_info("  WEB    http://%s/ (page and JSON API)", cfg.http_listen.v[i]);
    for (size_t i = 0; i < cfg.https_listen.n; i++) log_info("  WEB    https://%s/ (page and JSON API)", cfg.https_listen.v[i]);
    if (cfg.smtp_listen.n)
        log_info("  point your application's SMTP settings at %s (no authentication%s)", cfg.smtp_listen.v[0],
                 cfg.smtp_auth == SMTP_AUTH_REQUIRED ? " is not enough: smtp_auth = required" : " needed");
    if (cfg.domains.n == 0)
        log_info("  zero-config: every recipient is accepted into %s; any login is accepted", cfg.default_account);
    else
        for (size_t i = 0; i < cfg.domains.n; i++) log_info("  domain %s", cfg.domains.v[i]);
    if (!app.has_passdb) log_info("  no passdb: IMAP/POP3 accept any user name and password");
    log_client_setup(&cfg);

    retention = retention_timer_new(app.base, app.store, cfg.retention, cfg.retention_count);
    if (cfg.retention > 0 || cfg.retention_count > 0)
        log_info("  retention: messages older than %llds%s are expunged", (long long)cfg.retention,
                 cfg.retention_count > 0 ? " or beyond the per-mailbox count" : "");

    event_base_dispatch(app.base);

    log_info("stopped");
    retention_timer_free(retention);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) event_free(sigs[i]);
    if (shutdown_timer) event_free(shutdown_timer);
    if (shutdown_poller) event_free(shutdown_poller);
    if (cfg.pidfile[0]) unlink(cfg.pidfile);
    /* Sessions still open (shutdown_timeout passed, or a second signal) go
     * first, while the store they point at is open; a message still being
     * committed keeps its session until the committer hands it back. */
    net_finish_all(app.net);
    release_shutdown();
    spamcheck_shutdown();
    linkcheck_shutdown();
    webhook_stop();
    http_server_stop();
    store_close(app.store);
    /* A freed bufferevent goes when its deferred callbacks have run: let
     * the loop run them (nothing else is registered any more). */
    for (int i = 0; i < 16 && event_base_loop(app.base, EVLOOP_NONBLOCK) == 0; i++) {
    }
    net_free(app.net);
    SSL_CTX_free(app.tls);
    if (app.has_passdb) passdb_free(&app.passdb);
    rcptmap_free(&app.rcptmap);
    buf_free(&err);
    config_free(&cfg);
    for (size_t i = 0; i < nretired; i++) {
        config_free(retired[i]);
        free(retired[i]);
    }
    free(retired);
    authguard_free(app.authguard);
    free(app.reloaders);
    event_base_free(app.base);
    return 0;
fail:
    fprintf(stderr, "devmail: %s\n", buf_cstr(&err));
    buf_free(&err);
    return 1;
}

int main(int argc, char **argv) {
    /* installed as (a link named) sendmail: behave as `devmail sendmail` */
    const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;
    base = base ? base + 1 : (argc > 0 ? argv[0] : "");
    if (!strcmp(base, "sendmail")) return cli_sendmail(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "check-config")) return cmd_check_config(argc - 2, argv + 2);
    if (argc > 1 && !strcmp(argv[1], "passwd")) return cmd_passwd(argc - 2, argv + 2);
    if (argc > 1 && !strcmp(argv[1], "reindex")) return cmd_reindex(argc - 2, argv + 2);
    if (argc > 1 && !strcmp(argv[1], "serve")) return cmd_serve(argc - 2, argv + 2);
    if (argc > 1 && !strcmp(argv[1], "sendmail")) return cli_sendmail(argc - 2, argv + 2);
    if (argc > 1 && !strcmp(argv[1], "purge")) return cli_purge(argc - 2, argv + 2);
    if (argc > 1 && !strcmp(argv[1], "check")) return cli_check(argc - 2, argv + 2);
    if (argc > 1 && !strcmp(argv[1], "client-setup")) return cli_client_setup(argc - 2, argv + 2);
    if (argc > 1 && !strcmp(argv[1], "ca-cert")) return cli_ca_cert(argc - 2, argv + 2);
    if (argc > 1 && argv[1][0] != '-') {
        fprintf(stderr, "devmail: unknown command '%s'\n", argv[1]);
        cli_usage(stderr);
        return 2;
    }
    return cmd_serve(argc - 1, argv + 1);
}
