#include "app/authguard.h"
#include "core/clock.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glib.h>

#include "core/xalloc.h"

/* Past this many keys, expired ones are dropped before adding more. */
#define AUTHGUARD_PRUNE_AT 4096

struct authguard {
    GHashTable *until; /* key -> int64_t* time its backlog ends */
    int64_t delay_ms, max_delay_ms;
};

struct authguard *authguard_new(int64_t delay_ms, int64_t max_delay_ms) {
    struct authguard *g = xcalloc(1, sizeof *g);
    g->until = g_hash_table_new_full(g_str_hash, g_str_equal, free, free);
    authguard_set(g, delay_ms, max_delay_ms);
    return g;
}

void authguard_free(struct authguard *g) {
    if (!g) return;
    g_hash_table_destroy(g->until);
    free(g);
}

void authguard_set(struct authguard *g, int64_t delay_ms, int64_t max_delay_ms) {
    g->delay_ms = delay_ms < 0 ? 0 : delay_ms;
    g->max_delay_ms = max_delay_ms < g->delay_ms ? g->delay_ms : max_delay_ms;
}

static char *key_of(const char *kind, const char *v) {
    size_t n = strlen(v);
    if (n > 320) n = 320; /* longer names share a key: still slowed */
    size_t kl = strlen(kind);
    char *k = xmalloc(kl + n + 2);
    memcpy(k, kind, kl);
    k[kl] = ':';
    for (size_t i = 0; i < n; i++) k[kl + 1 + i] = (char)tolower((unsigned char)v[i]);
    k[kl + 1 + n] = '\0';
    return k;
}

static int64_t backlog(struct authguard *g, const char *key, int64_t now) {
    const int64_t *u = g_hash_table_lookup(g->until, key);
    return u && *u > now ? *u - now : 0;
}

static gboolean expired(gpointer k, gpointer v, gpointer now) {
    return *(int64_t *)v <= *(int64_t *)now;
}

/* Add one failure to key, whose backlog now is b. */
static void add(struct authguard *g, char *key, int64_t b, int64_t now) {
    if (g_hash_table_size(g->until) >= AUTHGUARD_PRUNE_AT) g_hash_table_foreach_remove(g->until, expired, &now);
    int64_t *u = xmalloc(sizeof *u);
    /* the backlog never grows past twice the cap: old failures fade */
    int64_t nb = b + g->delay_ms;
    if (nb > 2 * g->max_delay_ms) nb = 2 * g->max_delay_ms;
    *u = now + nb;
    g_hash_table_replace(g->until, key, u);
}

bool authguard_locked(struct authguard *g, const char *peer, const char *user, int64_t now_ms) {
    if (g->delay_ms == 0) return false;
    char *a = key_of("ip", peer), *u = key_of("user", user);
    int64_t b = backlog(g, a, now_ms), bu = backlog(g, u, now_ms);
    free(a);
    free(u);
    return (b > bu ? b : bu) > g->max_delay_ms;
}

int64_t authguard_failed(struct authguard *g, const char *peer, const char *user, int64_t now_ms) {
    if (g->delay_ms == 0) return 0;
    char *a = key_of("ip", peer), *u = key_of("user", user);
    int64_t b = backlog(g, a, now_ms), bu = backlog(g, u, now_ms);
    add(g, a, b, now_ms);
    add(g, u, bu, now_ms);
    int64_t d = g->delay_ms + (b > bu ? b : bu);
    return d > g->max_delay_ms ? g->max_delay_ms : d;
}

unsigned authguard_size(struct authguard *g, int64_t now_ms) {
    g_hash_table_foreach_remove(g->until, expired, &now_ms);
    return g_hash_table_size(g->until);
}

int64_t authguard_now_ms(void) {
    return clock_mono_ms();
}
