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
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/ssl.h>

#include "app/app.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "net/tls.h"
#include "smtp/smtp_session.h"

#define DEVMAIL_VERSION "0.1.0"

static void usage(FILE *fp) {
    fprintf(fp,
            "usage: devmail [serve] [-c FILE] [-v] [--KEY VALUE ...]\n"
            "       devmail check-config [-c FILE] [--KEY VALUE ...] [--reference]\n"
            "       devmail passwd [-s SHA512-CRYPT|SHA256-CRYPT|BLF-CRYPT|PLAIN] [USER]\n"
            "       devmail reindex [-c FILE] [--data-dir DIR]\n"
            "\n"
            "Every setting is a config file key, a --flag (underscores as dashes)\n"
            "and a DEVMAIL_* environment variable; `devmail check-config --reference`\n"
            "lists them all. Precedence: flag > environment > file > default.\n");
}

/* Load defaults, then file (-c), environment and flags. Unknown flags are
 * errors. Returns 0, or prints the reason and returns -1. */
static int load_config(struct config *cfg, int argc, char **argv, bool *reference) {
    config_defaults(cfg);
    buf_t err = BUF_INIT;
    const char *file = getenv("DEVMAIL_CONFIG");
    for (int i = 0; i < argc; i++) {
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc) file = argv[++i];
        else if (!strncmp(argv[i], "--config=", 9)) file = argv[i] + 9;
    }
    if (file && config_load_file(cfg, file, &err) < 0) goto fail;
    if (config_load_env(cfg, &err) < 0) goto fail;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-c") || !strcmp(a, "--config")) {
            i++;
            continue;
        }
        if (!strncmp(a, "--config=", 9)) continue;
        if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            cfg->verbose = true;
            continue;
        }
        if (!strcmp(a, "--reference") && reference) {
            *reference = true;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        }
        if (!strcmp(a, "--version")) {
            printf("devmail %s\n", DEVMAIL_VERSION);
            exit(0);
        }
        if (strncmp(a, "--", 2) != 0) {
            buf_printf(&err, "unexpected argument '%s'", a);
            goto fail;
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        char *flag = eq ? xstrndup(name, (size_t)(eq - name)) : xstrdup(name);
        const struct config_entry *e = config_find_flag(flag);
        if (!e) {
            buf_printf(&err, "unknown option --%s (see devmail check-config --reference)", flag);
            free(flag);
            goto fail;
        }
        const char *value;
        if (eq) value = eq + 1;
        else if (i + 1 < argc) value = argv[++i];
        else if (e->type == CONF_BOOL) value = "yes";
        else {
            buf_printf(&err, "--%s needs a value", flag);
            free(flag);
            goto fail;
        }
        buf_t why = BUF_INIT;
        int rc = config_set(cfg, e->key, value, 3, &why);
        free(flag);
        if (rc < 0) {
            buf_printf(&err, "%s", buf_cstr(&why));
            buf_free(&why);
            goto fail;
        }
        buf_free(&why);
    }
    if (config_validate(cfg, &err) < 0) goto fail;
    buf_free(&err);
    return 0;
fail:
    fprintf(stderr, "devmail: %s\n", buf_cstr(&err));
    buf_free(&err);
    return -1;
}

static int cmd_check_config(int argc, char **argv) {
    struct config cfg;
    bool reference = false;
    if (load_config(&cfg, argc, argv, &reference) < 0) return 1;
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
            usage(stderr);
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
    if (load_config(&cfg, argc, argv, NULL) < 0) return 1;
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
    sqlite3_stmt *q;
    sqlite3_prepare_v2(index_db(st->idx), "SELECT count(*) FROM messages", -1, &q, NULL);
    long long n = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    sqlite3_finalize(q);
    printf("reindexed %lld messages in %s\n", n, cfg.data_dir);
    store_close(st);
    buf_free(&err);
    config_free(&cfg);
    return 0;
}

/* ---- serve --------------------------------------------------------------- */

static struct app app;
static struct event *shutdown_timer;

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
    struct event *poll = event_new(app.base, -1, EV_PERSIST, shutdown_poll, NULL);
    struct timeval ptv = {0, 50000};
    event_add(poll, &ptv);
}

static void on_sighup(evutil_socket_t sig, short what, void *arg) {
    log_reopen();
    buf_t err = BUF_INIT;
    if (app.cfg->passdb[0]) {
        struct passdb db;
        if (passdb_load(&db, app.cfg->passdb, &err) < 0) {
            log_error("reload: %s (keeping the old accounts)", buf_cstr(&err));
        } else {
            passdb_free(&app.passdb);
            app.passdb = db;
        }
    }
    buf_reset(&err);
    if (app.cfg->recipient_map[0]) {
        struct rcptmap m;
        if (rcptmap_load(&m, app.cfg->recipient_map, &err) < 0) {
            log_error("reload: %s (keeping the old map)", buf_cstr(&err));
        } else {
            rcptmap_free(&app.rcptmap);
            app.rcptmap = m;
        }
    }
    buf_free(&err);
    log_info("reloaded accounts and recipient map; log reopened");
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

static void warn_unserved(const char *proto, const struct strlist *l) {
    if (l->n) log_warn("%s listener %s ignored: %s is not served by this build yet", proto, l->v[0], proto);
}

static int cmd_serve(int argc, char **argv) {
    static struct config cfg;
    if (load_config(&cfg, argc, argv, NULL) < 0) return 1;
    if (log_open(cfg.log_file) < 0) {
        fprintf(stderr, "devmail: cannot open log file %s: %s\n", cfg.log_file, strerror(errno));
        return 1;
    }
    if (cfg.verbose) log_set_level(LOG_DEBUG);
    signal(SIGPIPE, SIG_IGN);
    evthread_use_pthreads();
    app.cfg = &cfg;
    app.base = event_base_new();
    buf_t err = BUF_INIT;
    if (cfg.passdb[0]) {
        if (passdb_load(&app.passdb, cfg.passdb, &err) < 0) goto fail;
        app.has_passdb = true;
    }
    if (cfg.recipient_map[0] && rcptmap_load(&app.rcptmap, cfg.recipient_map, &err) < 0) goto fail;
    app.store = store_open(app.base, cfg.data_dir, cfg.hostname, &err);
    if (!app.store) goto fail;
    app.tls = tls_ctx_new(cfg.tls_cert, cfg.tls_key, cfg.data_dir, cfg.hostname, &err);
    if (!app.tls) goto fail;
    struct net_limits limits = {cfg.max_connections, cfg.max_connections_per_ip};
    app.net = net_new(app.base, app.tls, &limits);
    if (smtp_server_start(&app, &err) < 0) goto fail;
    warn_unserved("imap", &cfg.imap_listen);
    warn_unserved("imaps", &cfg.imaps_listen);
    warn_unserved("pop3", &cfg.pop3_listen);
    warn_unserved("pop3s", &cfg.pop3s_listen);
    warn_unserved("http", &cfg.http_listen);
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

    log_info("devmail %s started (pid %ld), data in %s", DEVMAIL_VERSION, (long)getpid(), cfg.data_dir);
    for (size_t i = 0; i < cfg.smtp_listen.n; i++) log_info("  SMTP   smtp://%s (STARTTLS available)", cfg.smtp_listen.v[i]);
    for (size_t i = 0; i < cfg.smtps_listen.n; i++) log_info("  SMTPS  smtps://%s", cfg.smtps_listen.v[i]);
    if (cfg.domains.n == 0)
        log_info("  zero-config: every recipient is accepted into %s; any login is accepted", cfg.default_account);
    else
        for (size_t i = 0; i < cfg.domains.n; i++) log_info("  domain %s", cfg.domains.v[i]);
    if (!app.has_passdb) log_info("  no passdb: IMAP/POP3 accept any user name and password");

    event_base_dispatch(app.base);

    log_info("stopped");
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) event_free(sigs[i]);
    if (cfg.pidfile[0]) unlink(cfg.pidfile);
    store_close(app.store);
    net_free(app.net);
    SSL_CTX_free(app.tls);
    if (app.has_passdb) passdb_free(&app.passdb);
    rcptmap_free(&app.rcptmap);
    buf_free(&err);
    config_free(&cfg);
    return 0;
fail:
    fprintf(stderr, "devmail: %s\n", buf_cstr(&err));
    buf_free(&err);
    return 1;
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "check-config")) return cmd_check_config(argc - 2, argv + 2);
    if (argc > 1 && !strcmp(argv[1], "passwd")) return cmd_passwd(argc - 2, argv + 2);
    if (argc > 1 && !strcmp(argv[1], "reindex")) return cmd_reindex(argc - 2, argv + 2);
    if (argc > 1 && !strcmp(argv[1], "serve")) return cmd_serve(argc - 2, argv + 2);
    if (argc > 1 && argv[1][0] != '-') {
        fprintf(stderr, "devmail: unknown command '%s'\n", argv[1]);
        usage(stderr);
        return 2;
    }
    return cmd_serve(argc - 1, argv + 1);
}
