#include "app/app.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/statvfs.h>

#include "app/authguard.h"
#include "core/xalloc.h"

bool app_login(struct app *app, const char *user, const char *password, size_t password_len, char **account) {
    if (strlen(user) > PASSDB_MAX_USER || password_len > PASSDB_MAX_PASSWORD) return false;
    if (app->has_passdb) {
        if (!passdb_verify(&app->passdb, user, password, password_len)) return false;
        char *a = xstrdup_lower(user);
        if (!strchr(a, '@') && app->cfg->domains.n > 0) {
            /* "all" in a one-domain setup means all@<domain> */
            buf_t b = BUF_INIT;
            buf_printf(&b, "%s@%s", a, app->cfg->domains.v[0]);
            free(a);
            a = buf_steal(&b);
        }
        if (!rcptmap_account_valid(a)) {
            free(a);
            return false;
        }
        *account = a;
        return true;
    }
    /* Zero-config: every login is accepted. An address of a served domain
     * opens that account; anything else opens the catch-all. */
    char *a = xstrdup_lower(user);
    const char *at = strrchr(a, '@');
    bool served = false;
    for (size_t i = 0; at && i < app->cfg->domains.n; i++)
        if (!strcasecmp(app->cfg->domains.v[i], at + 1)) served = true;
    if (served && rcptmap_account_valid(a)) {
        const char *mapped = rcptmap_lookup(&app->rcptmap, a);
        if (mapped) {
            free(a);
            a = xstrdup(mapped);
        }
        *account = a;
        return true;
    }
    free(a);
    *account = xstrdup_lower(app->cfg->default_account);
    return true;
}

const double app_latency_bounds[APP_LATENCY_BUCKETS] = {0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5};

void app_stats_commit_latency(struct app_stats *st, double seconds) {
    size_t i = 0;
    while (i < APP_LATENCY_BUCKETS && seconds > app_latency_bounds[i]) i++;
    st->commit_latency_buckets[i]++;
    st->commit_latency_sum += seconds;
    st->commit_latency_count++;
}

bool app_disk_full(struct app *app) {
    if (app->cfg->min_free_disk <= 0) return false;
    struct statvfs st;
    if (statvfs(app->cfg->data_dir, &st) < 0) return false;
    uint64_t avail = (uint64_t)st.f_bavail * st.f_frsize;
    return avail < (uint64_t)app->cfg->min_free_disk;
}

int app_login_guarded(struct app *app, const char *peer, const char *user, const char *password,
                      size_t password_len, char **account, int64_t *delay_ms) {
    *delay_ms = app->cfg->auth_failure_delay_ms;
    int64_t now = authguard_now_ms();
    if (app->authguard && authguard_locked(app->authguard, peer, user, now)) return -1;
    if (app_login(app, user, password, password_len, account)) return 1;
    if (app->authguard) *delay_ms = authguard_failed(app->authguard, peer, user, now);
    return 0;
}

void app_add_reloader(struct app *app, const struct app_reloader *r) {
    app->reloaders = xrealloc(app->reloaders, (app->nreloaders + 1) * sizeof *app->reloaders);
    app->reloaders[app->nreloaders++] = *r;
}

int app_reload(struct app *app, const struct config *fresh, void (*install)(void *arg), void *install_arg,
               buf_t *err) {
    size_t prepared = 0;
    for (; prepared < app->nreloaders; prepared++) {
        struct app_reloader *r = &app->reloaders[prepared];
        buf_t why = BUF_INIT;
        if (r->prepare && r->prepare(r->arg, fresh, &why) < 0) {
            buf_printf(err, "%s: %s", r->name, buf_cstr(&why));
            buf_free(&why);
            for (size_t i = 0; i < prepared; i++)
                if (app->reloaders[i].discard) app->reloaders[i].discard(app->reloaders[i].arg);
            return -1;
        }
        buf_free(&why);
    }
    install(install_arg);
    for (size_t i = 0; i < app->nreloaders; i++)
        if (app->reloaders[i].commit) app->reloaders[i].commit(app->reloaders[i].arg);
    return 0;
}

void app_chaos_from_config(struct app *app) {
    buf_t err = BUF_INIT;
    /* config_validate parsed it already */
    if (chaos_parse(app->cfg->chaos_triggers, &app->chaos, &err) < 0) chaos_defaults(&app->chaos);
    buf_free(&err);
    app->chaos_enabled = app->cfg->chaos || app->cfg->chaos_triggers[0];
}

bool app_chaos_fires(struct app *app, enum chaos_point point, int *code) {
    if (!app->chaos_enabled) return false;
    const struct chaos_trigger *t = &app->chaos.t[point];
    if (!chaos_fires(t, (int)arc4random_uniform(100))) return false;
    *code = t->error_code;
    return true;
}
