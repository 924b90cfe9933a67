/*
 * app - the process context every protocol module shares: the effective
 * configuration, accounts (passwd-file), the recipient map, the store, the
 * network layer and counters for /metrics. Built by main.c.
 */
#ifndef DEVMAIL_APP_H
#define DEVMAIL_APP_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <openssl/ssl.h>

#include "conf/chaos.h"
#include "conf/config.h"
#include "conf/passdb.h"
#include "conf/rcptmap.h"
#include "net/net.h"
#include "store/store.h"

/* Upper bounds (seconds) of the SMTP commit latency histogram buckets. */
#define APP_LATENCY_BUCKETS 8
extern const double app_latency_bounds[APP_LATENCY_BUCKETS];

struct app_stats {
    /* end of DATA to the 250 (durable commit), Prometheus histogram */
    uint64_t commit_latency_buckets[APP_LATENCY_BUCKETS + 1]; /* last: +Inf */
    double commit_latency_sum;
    uint64_t commit_latency_count;
    uint64_t smtp_connections, imap_connections, pop3_connections, http_requests;
    uint64_t messages_accepted, messages_refused, recipients_refused;
    uint64_t bytes_accepted;
    uint64_t auth_failures;
};

/* A module's part in SIGHUP: prepare() reads what the fresh configuration
 * names (files) without changing anything visible, 0 or -1 with err;
 * when every module prepared, app->cfg becomes the fresh configuration
 * and commit() makes the prepared state current; after any failure every
 * prepared module gets discard() and nothing changes. */
struct app_reloader {
    const char *name;
    int (*prepare)(void *arg, const struct config *fresh, buf_t *err);
    void (*commit)(void *arg);
    void (*discard)(void *arg);
    void *arg;
};

struct app {
    struct config *cfg;
    struct passdb passdb;
    bool has_passdb;
    struct rcptmap rcptmap;
    struct store *store;
    struct net *net;
    struct event_base *base;
    SSL_CTX *tls;
    struct app_stats stats;
    bool draining; /* SIGTERM received: finish, accept nothing new */
    struct authguard *authguard; /* failed logins per address and account */
    /* SMTP failure injection: from chaos/chaos_triggers at start and on
     * reload, changed at run time by PUT /api/v1/chaos */
    bool chaos_enabled;
    struct chaos chaos;
    struct app_reloader *reloaders;
    size_t nreloaders;
    time_t started;              /* when the process started serving */
};

/* (Re)set the chaos triggers from the configuration. */
void app_chaos_from_config(struct app *app);
/* Does the chaos trigger of point fire now? Then *code is its reply code. */
bool app_chaos_fires(struct app *app, enum chaos_point point, int *code);

/* Take part in SIGHUP reloads (r is copied). */
void app_add_reloader(struct app *app, const struct app_reloader *r);
/* Prepare every module for fresh; on success call install(fresh) (which
 * makes it app->cfg) and commit them all, 0; else discard, -1 with err
 * naming the module. */
int app_reload(struct app *app, const struct config *fresh, void (*install)(void *arg), void *install_arg,
               buf_t *err);

/* Check a login against the passwd-file (or accept any when none is
 * configured) and name the account it opens. true on success. */
bool app_login(struct app *app, const char *user, const char *password, size_t password_len, char **account);

/* app_login behind the authguard: 1 logged in; 0 failed, -1 refused
 * unchecked (too many recent failures for the address or the user). On
 * 0 and -1 the reply waits *delay_ms. */
int app_login_guarded(struct app *app, const char *peer, const char *user, const char *password,
                      size_t password_len, char **account, int64_t *delay_ms);

/* Record one SMTP commit latency in seconds. */
void app_stats_commit_latency(struct app_stats *st, double seconds);

/* Is the data directory's filesystem below min_free_disk? */
bool app_disk_full(struct app *app);

#endif
