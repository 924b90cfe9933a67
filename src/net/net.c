#include "net/net.h"
#include "core/clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <glib.h>
#include <openssl/err.h>

#include <time.h>

#include "core/log.h"
#include "core/xalloc.h"

/* While closing, how often and how long to wait for TLS to flush. */
#define CONN_CLOSE_POLL_US 5000
#define CONN_CLOSE_MAX_POLLS 2000

struct listener {
    struct net *net;
    struct evconnlistener *ev;
    bool implicit_tls;
    const struct conn_handler *h;
    void *arg;
    struct listener *next;
};

struct net {
    struct event_base *base;
    SSL_CTX *tls;
    struct net_limits limits;
    struct listener *listeners;
    GHashTable *per_ip; /* "proto/peer" -> count */
    GHashTable *per_proto; /* proto -> struct proto_limit */
    struct conn *conns; /* doubly linked, all open connections */
    size_t nconns;
    uint64_t next_id;
    int64_t slow_timeout_ms; /* a unit must arrive within this ... */
    int64_t min_data_rate;   /* ... plus 1 s per this many bytes (0: off) */
    uint64_t slow_closed;    /* connections closed for sending too slowly */
    size_t max_output;       /* conn_output_full beyond this (0: never) */
    int64_t send_timeout_ms; /* no output read for this long: closed (0: off) */
    uint64_t nonreaders_closed;
    struct event *send_watch; /* checks every connection's output progress */
};

/* Each protocol has its own share, so a flood of one cannot lock out the
 * others; max_connections stays the total. */
struct proto_limit {
    int64_t max; /* 0: only the total applies */
    int64_t count;
};

struct conn {
    struct net *net;
    char limit_key[INET6_ADDRSTRLEN + 16]; /* "proto/peer" */
    struct proto_limit *plimit;
    uint64_t id;
    char peer[INET6_ADDRSTRLEN];
    struct bufferevent *bev;
    const struct conn_handler *h;
    void *proto;
    bool tls;
    bool closing;
    bool closed; /* on_close done */
    bool paused;
    bool eof_pending; /* peer half-closed while we were paused */
    int closing_polls;
    bool shutdown_sent;
    bool finish_from_loop;
    struct event *close_timer;
    int refs;
    int64_t idle_timeout;
    struct event *deadline;
    struct conn_timer *timers; /* pending conn_after calls */
    /* a unit (command line, request head, message body) under way */
    bool receiving;           /* the protocol waits for the rest of a body */
    bool held;                /* the protocol holds input back (busy) */
    bool in_unit;
    int64_t unit_start_ms;
    uint64_t unit_bytes;
    size_t in_seen;           /* input length after the last on_input */
    struct event *rate_timer;
    /* output the client has not read yet */
    struct evbuffer *sent_buf; /* the lowest output buffer, counted below */
    uint64_t sent_total;       /* bytes that left it (to the kernel) */
    uint64_t sent_at_check;
    int64_t stalled_since_ms;  /* output waiting and none read since (0: not) */
    bool out_wait;             /* the protocol stopped at conn_output_full */
    struct event *out_resume;
    struct conn *prev, *next;
};

struct conn_timer {
    struct conn *c;
    void (*fn)(struct conn *c, void *arg);
    void *arg;
    struct event *ev;
    struct conn_timer *next;
};

static void conn_timer_unlink(struct conn_timer *t) {
    for (struct conn_timer **p = &t->c->timers; *p; p = &(*p)->next) {
        if (*p == t) {
            *p = t->next;
            return;
        }
    }
}

int net_parse_addr(const char *s, struct sockaddr_storage *ss, int *len) {
    memset(ss, 0, sizeof *ss);
    *len = (int)sizeof *ss;
    return evutil_parse_sockaddr_port(s, (struct sockaddr *)ss, len);
}

struct held_event {
    bufferevent_event_cb cb;
    void *arg;
    short what;
};

static void hold_event(struct bufferevent *bev, short what, void *arg) {
    struct held_event *h = arg;
    if (!(what & BEV_EVENT_CONNECTED)) h->what = what;
    else if (h->cb) h->cb(bev, what, h->arg);
}

void net_connect_hostname(struct bufferevent *bev, const char *host, int port) {
    bufferevent_data_cb rd, wr;
    struct held_event h = {0};
    bufferevent_getcb(bev, &rd, &wr, &h.cb, &h.arg);
    bufferevent_setcb(bev, rd, wr, hold_event, &h);
    int rc = bufferevent_socket_connect_hostname(bev, NULL, AF_UNSPEC, host, port);
    bufferevent_setcb(bev, rd, wr, h.cb, h.arg);
    if (!h.what && rc < 0) h.what = BEV_EVENT_ERROR;
    if (h.what && h.cb) h.cb(bev, h.what, h.arg);
}

int net_split_hostport(const char *s, char **host, int *port) {
    const char *colon = s ? strrchr(s, ':') : NULL;
    if (!colon || colon == s || !colon[1]) return -1;
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || p < 1 || p > 65535) return -1;
    size_t hl = (size_t)(colon - s);
    if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') s++, hl -= 2; /* [v6]:port */
    if (hl == 0) return -1;
    *host = xstrndup(s, hl);
    *port = (int)p;
    return 0;
}

struct net *net_new(struct event_base *base, SSL_CTX *tls, const struct net_limits *limits) {
    struct net *n = xcalloc(1, sizeof *n);
    n->base = base;
    n->tls = tls;
    n->limits = *limits;
    n->per_ip = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
    n->per_proto = g_hash_table_new_full(g_str_hash, g_str_equal, free, free);
    return n;
}

struct event_base *net_base(struct net *n) {
    return n->base;
}

SSL_CTX *net_tls(struct net *n) {
    return n->tls;
}

size_t net_connection_count(struct net *n) {
    return n->nconns;
}

void net_stop_listening(struct net *n) {
    for (struct listener *l = n->listeners; l; l = l->next) {
        if (l->ev) evconnlistener_free(l->ev);
        l->ev = NULL;
    }
}

static void conn_finish(struct conn *c);

void net_finish_all(struct net *n) {
    while (n->conns) conn_finish(n->conns);
}

void net_free(struct net *n) {
    if (!n) return;
    net_stop_listening(n);
    net_finish_all(n);
    while (n->listeners) {
        struct listener *l = n->listeners;
        n->listeners = l->next;
        free(l);
    }
    if (n->send_watch) event_free(n->send_watch);
    g_hash_table_destroy(n->per_ip);
    g_hash_table_destroy(n->per_proto);
    free(n);
}

static void conn_free_now(struct conn *c) {
    if (c->out_resume) event_free(c->out_resume);
    if (c->close_timer) event_free(c->close_timer);
    if (c->rate_timer) event_free(c->rate_timer);
    if (c->deadline) event_free(c->deadline);
    if (c->bev) bufferevent_free(c->bev);
    free(c);
}

void conn_ref(struct conn *c) {
    c->refs++;
}

void conn_unref(struct conn *c) {
    if (--c->refs == 0) conn_free_now(c);
}

/* Tear down: tell the protocol once, unlink, drop our reference. */
static void conn_finish(struct conn *c) {
    if (c->closed) return;
    c->closed = true;
    c->closing = true;
    struct net *n = c->net;
    if (c->prev) c->prev->next = c->next;
    else n->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    n->nconns--;
    gpointer cnt = g_hash_table_lookup(n->per_ip, c->limit_key);
    if (GPOINTER_TO_INT(cnt) <= 1) g_hash_table_remove(n->per_ip, c->limit_key);
    else g_hash_table_insert(n->per_ip, xstrdup(c->limit_key), GINT_TO_POINTER(GPOINTER_TO_INT(cnt) - 1));
    if (c->plimit) c->plimit->count--;
    if (c->bev) {
        bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
        bufferevent_disable(c->bev, EV_READ | EV_WRITE);
        /* free the socket now; the struct lives until the last unref */
        bufferevent_free(c->bev);
        c->bev = NULL;
    }
    if (c->deadline) {
        event_free(c->deadline);
        c->deadline = NULL;
    }
    if (c->close_timer) {
        event_free(c->close_timer);
        c->close_timer = NULL;
    }
    if (c->rate_timer) {
        event_free(c->rate_timer);
        c->rate_timer = NULL;
    }
    if (c->out_resume) {
        event_free(c->out_resume);
        c->out_resume = NULL;
    }
    c->sent_buf = NULL;
    /* a delayed reply for a connection that is gone is never sent: its
     * timer goes now, so nothing of this connection outlives the loop */
    conn_ref(c);
    while (c->timers) {
        struct conn_timer *t = c->timers;
        c->timers = t->next;
        event_free(t->ev);
        conn_unref(c);
        free(t);
    }
    if (c->h->on_close) c->h->on_close(c, c->proto);
    c->proto = NULL;
    conn_unref(c);
    conn_unref(c);
}

static size_t conn_unsent(struct conn *c);

/* When the unit under way must be complete: slow_timeout after its first
 * byte, one second later per min_data_rate bytes received since. */
static int64_t unit_deadline(const struct conn *c) {
    const struct net *n = c->net;
    return c->unit_start_ms + n->slow_timeout_ms + (int64_t)(c->unit_bytes * 1000 / (uint64_t)n->min_data_rate);
}

static void rate_arm(struct conn *c, int64_t at_ms);

static void rate_timer_cb(evutil_socket_t fd, short what, void *arg) {
    struct conn *c = arg;
    if (c->closing || !c->in_unit) return;
    int64_t now = clock_mono_ms(), due = unit_deadline(c);
    if (c->paused || c->held || conn_unsent(c) > 0) {
        /* we are busy with the client's data (a commit), or it is reading
         * our answer: not a delay in what it sends */
        c->unit_start_ms += 1000;
        rate_arm(c, now + 1000);
        return;
    }
    if (now < due) {
        rate_arm(c, due);
        return;
    }
    c->net->slow_closed++;
    log_info("%s[%llu] %s: too slow: %llu bytes in %lld ms of an unfinished command or body", c->h->proto,
             (unsigned long long)c->id, c->peer, (unsigned long long)c->unit_bytes,
             (long long)(now - c->unit_start_ms));
    conn_ref(c);
    if (c->h->on_timeout) c->h->on_timeout(c, c->proto);
    else conn_close(c);
    conn_unref(c);
}

static void rate_arm(struct conn *c, int64_t at_ms) {
    if (!c->rate_timer) c->rate_timer = evtimer_new(c->net->base, rate_timer_cb, c);
    int64_t d = at_ms - clock_mono_ms();
    if (d < 0) d = 0;
    struct timeval tv = {d / 1000, (d % 1000) * 1000};
    evtimer_add(c->rate_timer, &tv);
}

/* After the protocol took what it could: is a unit left unfinished (part
 * of a line in the buffer, or a body the protocol waits for)? */
static void unit_track(struct conn *c, size_t arrived) {
    if (c->closing || c->net->min_data_rate <= 0) return;
    size_t left = c->bev ? evbuffer_get_length(bufferevent_get_input(c->bev)) : 0;
    c->in_seen = left;
    bool open = left > 0 || c->receiving;
    if (!open) {
        if (c->in_unit && c->rate_timer) evtimer_del(c->rate_timer);
        c->in_unit = false;
        return;
    }
    if (!c->in_unit) {
        c->in_unit = true;
        c->unit_start_ms = clock_mono_ms();
        c->unit_bytes = left;
        rate_arm(c, unit_deadline(c));
        return;
    }
    c->unit_bytes += arrived;
}

void conn_set_receiving(struct conn *c, bool receiving) {
    c->receiving = receiving;
}

void conn_set_input_held(struct conn *c, bool held) {
    c->held = held;
}

void net_set_slow_limits(struct net *n, int64_t timeout_s, int64_t min_data_rate) {
    n->slow_timeout_ms = timeout_s * 1000;
    n->min_data_rate = min_data_rate;
}

uint64_t net_slow_closed(const struct net *n) {
    return n->slow_closed;
}

static void conn_read_cb(struct bufferevent *bev, void *arg) {
    struct conn *c = arg;
    if (c->closing || c->paused) return;
    size_t len = evbuffer_get_length(bufferevent_get_input(bev));
    size_t arrived = len > c->in_seen ? len - c->in_seen : 0;
    conn_ref(c);
    c->h->on_input(c, c->proto);
    unit_track(c, arrived);
    conn_unref(c);
}

/* Bytes not yet handed to the kernel: with TLS the filter's output
 * and the encrypted bytes waiting in the socket bufferevent under it. */
static size_t conn_unsent(struct conn *c) {
    if (!c->bev) return 0;
    size_t n = evbuffer_get_length(bufferevent_get_output(c->bev));
    struct bufferevent *under = bufferevent_get_underlying(c->bev);
    if (under) n += evbuffer_get_length(bufferevent_get_output(under));
    return n;
}

static void conn_close_poll(evutil_socket_t fd, short what, void *arg);

/* Closing: finish once everything is on the wire, checking again shortly
 * while the TLS layer still holds bytes (its flush has no callback to us). */
static void conn_finish_when_flushed(struct conn *c) {
    if (!c->close_timer) c->close_timer = evtimer_new(c->net->base, conn_close_poll, c);
    if (!c->finish_from_loop) {
        /* Called from protocol code (conn_close): the protocol's state must
         * stay valid until its current callback returns, so the teardown
         * always happens from the loop, never inside the caller. */
        struct timeval now = {0, 0};
        evtimer_add(c->close_timer, &now);
        return;
    }
    if (conn_unsent(c) == 0 && c->tls && !c->shutdown_sent && c->bev) {
        /* everything is out: now close_notify, so the client sees a clean
         * end rather than a truncation (it may itself need flushing) */
        c->shutdown_sent = true;
        SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
        if (ssl && SSL_is_init_finished(ssl)) SSL_shutdown(ssl);
        ERR_clear_error();
    }
    if (conn_unsent(c) == 0 || c->closing_polls > CONN_CLOSE_MAX_POLLS) {
        conn_finish(c);
        return;
    }
    c->closing_polls++;
    struct timeval tv = {0, CONN_CLOSE_POLL_US};
    evtimer_add(c->close_timer, &tv);
}

static void conn_close_poll(evutil_socket_t fd, short what, void *arg) {
    struct conn *c = arg;
    c->finish_from_loop = true;
    conn_finish_when_flushed(c);
}

static void conn_write_cb(struct bufferevent *bev, void *arg) {
    struct conn *c = arg;
    if (c->closing) {
        if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) conn_finish_when_flushed(c);
        return;
    }
    if (c->h->on_drain) {
        conn_ref(c);
        c->h->on_drain(c, c->proto);
        conn_unref(c);
    }
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg) {
    struct conn *c = arg;
    if (what & BEV_EVENT_TIMEOUT) {
        if (c->closing) {
            conn_finish(c);
            return;
        }
        /* re-enable reading: libevent disables it on timeout */
        bufferevent_enable(bev, EV_READ);
        conn_ref(c);
        if (c->h->on_timeout) c->h->on_timeout(c, c->proto);
        else conn_close(c);
        conn_unref(c);
        return;
    }
    if (what & BEV_EVENT_CONNECTED) return;
    if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) && c->paused && !c->closing) {
        /* The client sent everything and shut its side (nc does): finish
         * the work in hand and answer what it pipelined, then close. */
        c->eof_pending = true;
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        if (what & BEV_EVENT_ERROR) {
            unsigned long e;
            while ((e = bufferevent_get_openssl_error(bev))) {
                char msg[200];
                ERR_error_string_n(e, msg, sizeof msg);
                log_debug("%s[%llu] %s: TLS error: %s", c->h->proto, (unsigned long long)c->id, c->peer, msg);
            }
        }
        conn_finish(c);
    }
}

/* --- clients that do not read ------------------------------------------
 * What a client has not read waits in its connection's output buffers.
 * Protocols ask conn_output_full() before each command and stop taking
 * commands while it says so; once the client has read half of it, the
 * connection takes input again. A client that reads nothing of what waits
 * for it for send_timeout is disconnected (its output is dropped). */

static void out_resume_cb(evutil_socket_t fd, short what, void *arg) {
    struct conn *c = arg;
    if (c->closing || !c->bev || !c->out_wait) return;
    c->out_wait = false;
    if (!c->paused) bufferevent_enable(c->bev, EV_READ);
    conn_ref(c);
    if (c->h->on_drain) c->h->on_drain(c, c->proto);
    if (!c->closing && c->bev && !c->paused && !c->out_wait &&
        evbuffer_get_length(bufferevent_get_input(c->bev)) > 0) {
        size_t len = evbuffer_get_length(bufferevent_get_input(c->bev));
        c->h->on_input(c, c->proto);
        unit_track(c, len > c->in_seen ? len - c->in_seen : 0);
    }
    conn_unref(c);
}

/* Bytes left the lowest output buffer: they are the client's now. */
static void sent_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg) {
    struct conn *c = arg;
    if (!info->n_deleted) return;
    c->sent_total += info->n_deleted;
    if (c->out_wait && !c->closing && conn_unsent(c) <= c->net->max_output / 2) {
        if (!c->out_resume) c->out_resume = evtimer_new(c->net->base, out_resume_cb, c);
        struct timeval now = {0, 0};
        evtimer_add(c->out_resume, &now);
    }
}

/* Count what leaves the buffer nearest the socket (under TLS, the
 * encrypted bytes of the socket bufferevent below the filter). */
static void sent_watch_attach(struct conn *c) {
    struct bufferevent *low = bufferevent_get_underlying(c->bev);
    struct evbuffer *out = bufferevent_get_output(low ? low : c->bev);
    if (out == c->sent_buf) return;
    c->sent_buf = out;
    evbuffer_add_cb(out, sent_cb, c);
}

bool conn_output_full(struct conn *c) {
    if (c->closing || !c->bev || c->net->max_output == 0) return false;
    if (conn_unsent(c) <= c->net->max_output) return false;
    /* nothing more from this client until it reads: what it sends waits
     * in the kernel, not in our input buffer */
    c->out_wait = true;
    bufferevent_disable(c->bev, EV_READ);
    return true;
}

static void send_watch_cb(evutil_socket_t fd, short what, void *arg) {
    struct net *n = arg;
    int64_t now = clock_mono_ms();
    struct conn *c = n->conns;
    while (c) {
        struct conn *next = c->next;
        if (!c->closed && c->bev) {
            if (conn_unsent(c) == 0 || c->sent_total != c->sent_at_check) {
                c->stalled_since_ms = conn_unsent(c) ? now : 0;
            } else if (!c->stalled_since_ms) {
                c->stalled_since_ms = now;
            } else if (n->send_timeout_ms > 0 && now - c->stalled_since_ms >= n->send_timeout_ms) {
                n->nonreaders_closed++;
                log_info("%s[%llu] %s: not reading: %zu bytes unsent for %lld ms; disconnected", c->h->proto,
                         (unsigned long long)c->id, c->peer, conn_unsent(c), (long long)(now - c->stalled_since_ms));
                conn_finish(c); /* c may be freed now */
                c = next;
                continue;
            }
            c->sent_at_check = c->sent_total;
        }
        c = next;
    }
}

void net_set_output_limits(struct net *n, size_t max_output, int64_t send_timeout_s) {
    n->max_output = max_output;
    n->send_timeout_ms = send_timeout_s * 1000;
    if (!n->send_watch) {
        n->send_watch = event_new(n->base, -1, EV_PERSIST, send_watch_cb, n);
        struct timeval tv = {0, 500000};
        event_add(n->send_watch, &tv);
    }
}

uint64_t net_nonreaders_closed(const struct net *n) {
    return n->nonreaders_closed;
}

static void conn_setup_bev(struct conn *c) {
    bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    sent_watch_attach(c);
    if (c->idle_timeout > 0) {
        struct timeval tv = {c->idle_timeout, 0};
        bufferevent_set_timeouts(c->bev, &tv, NULL);
    }
}

static struct proto_limit *proto_limit(struct net *n, const char *proto) {
    struct proto_limit *pl = g_hash_table_lookup(n->per_proto, proto);
    if (!pl) {
        pl = xcalloc(1, sizeof *pl);
        g_hash_table_insert(n->per_proto, xstrdup(proto), pl);
    }
    return pl;
}

void net_set_protocol_limit(struct net *n, const char *proto, int64_t max) {
    proto_limit(n, proto)->max = max;
}

/* Make room for a new connection of protocol h: the oldest connection of
 * h that its protocol lets go. The list is newest first. */
static bool evict_oldest(struct net *n, const struct conn_handler *h) {
    if (!h->on_evict) return false;
    struct conn *oldest = NULL;
    for (struct conn *c = n->conns; c; c = c->next)
        if (c->h == h && !c->closing) oldest = c;
    /* walk from the oldest towards the newest until one goes */
    for (struct conn *c = oldest; c; c = c->prev) {
        if (c->h != h || c->closing) continue;
        conn_ref(c);
        bool gone = h->on_evict(c, c->proto);
        conn_unref(c);
        if (gone) return true;
    }
    return false;
}

static void listener_accept(struct evconnlistener *ev, evutil_socket_t fd, struct sockaddr *sa, int salen,
                            void *arg) {
    struct listener *l = arg;
    struct net *n = l->net;
    char peer[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET) inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, peer, sizeof peer);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, peer, sizeof peer);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char key[INET6_ADDRSTRLEN + 16];
    snprintf(key, sizeof key, "%s/%s", l->h->proto, peer);
    int per_ip = GPOINTER_TO_INT(g_hash_table_lookup(n->per_ip, key));
    struct proto_limit *pl = proto_limit(n, l->h->proto);
    bool full = (int64_t)n->nconns >= n->limits.max_connections || (pl->max > 0 && pl->count >= pl->max);
    if (full && per_ip < n->limits.max_connections_per_ip && evict_oldest(n, l->h)) full = false;
    if (full || per_ip >= n->limits.max_connections_per_ip) {
        log_warn("%s: refusing %s: too many connections (%zu total, %lld %s, %d %s from this address)",
                 l->h->proto, peer, n->nconns, (long long)pl->count, l->h->proto, per_ip, l->h->proto);
        /* Best effort: the busy line fits the socket buffer of a fresh connection. */
        if (!l->implicit_tls && l->h->busy_reply) {
            ssize_t w = write(fd, l->h->busy_reply, strlen(l->h->busy_reply));
            (void)w;
        }
        evutil_closesocket(fd);
        return;
    }
    struct conn *c = xcalloc(1, sizeof *c);
    c->net = n;
    c->id = ++n->next_id;
    c->h = l->h;
    c->refs = 1;
    snprintf(c->peer, sizeof c->peer, "%s", peer);
    if (l->implicit_tls) {
        SSL *ssl = SSL_new(n->tls);
        c->bev = bufferevent_openssl_socket_new(n->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
        c->tls = true;
    } else {
        c->bev = bufferevent_socket_new(n->base, fd, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    }
    if (!c->bev) {
        evutil_closesocket(fd);
        free(c);
        return;
    }
    c->next = n->conns;
    if (n->conns) n->conns->prev = c;
    n->conns = c;
    n->nconns++;
    snprintf(c->limit_key, sizeof c->limit_key, "%s", key);
    g_hash_table_insert(n->per_ip, xstrdup(key), GINT_TO_POINTER(per_ip + 1));
    c->plimit = pl;
    pl->count++;
    conn_setup_bev(c);
    conn_ref(c);
    c->proto = l->h->on_open(c, l->arg);
    conn_unref(c);
}

static void listener_error(struct evconnlistener *ev, void *arg) {
    struct listener *l = arg;
    int e = EVUTIL_SOCKET_ERROR();
    log_error("%s: accept failed: %s", l->h->proto, evutil_socket_error_to_string(e));
    /* EMFILE and friends: keep listening; the loop retries. */
}

int net_listen(struct net *n, const char *addr, bool implicit_tls, const struct conn_handler *h, void *arg,
               buf_t *err) {
    struct sockaddr_storage ss;
    int len;
    if (net_parse_addr(addr, &ss, &len) < 0) {
        buf_printf(err, "%s: bad listen address '%s' (want ADDR:PORT or [ADDR]:PORT)", h->proto, addr);
        return -1;
    }
    if (implicit_tls && !n->tls) {
        buf_printf(err, "%s: TLS is not available", h->proto);
        return -1;
    }
    struct listener *l = xcalloc(1, sizeof *l);
    l->net = n;
    l->implicit_tls = implicit_tls;
    l->h = h;
    l->arg = arg;
    l->ev = evconnlistener_new_bind(n->base, listener_accept, l,
                                    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 511,
                                    (struct sockaddr *)&ss, len);
    if (!l->ev) {
        buf_printf(err, "%s: cannot listen on %s: %s", h->proto, addr, strerror(errno));
        free(l);
        return -1;
    }
    evconnlistener_set_error_cb(l->ev, listener_error);
    l->next = n->listeners;
    n->listeners = l;
    return 0;
}

int net_listen_all(struct net *n, char *const *addrs, size_t count, bool implicit_tls, const struct conn_handler *h,
                   void *arg, buf_t *err) {
    for (size_t i = 0; i < count; i++)
        if (net_listen(n, addrs[i], implicit_tls, h, arg, err) < 0) return -1;
    return 0;
}

void net_close_all(struct net *n) {
    struct conn *c = n->conns;
    while (c) {
        struct conn *next = c->next;
        if (!c->closing) {
            conn_ref(c);
            if (c->h->on_timeout) c->h->on_timeout(c, c->proto);
            else conn_close(c);
            conn_unref(c);
        }
        c = next;
    }
}

uint64_t conn_id(const struct conn *c) {
    return c->id;
}

const char *conn_peer(const struct conn *c) {
    return c->peer;
}

bool conn_is_tls(const struct conn *c) {
    return c->tls;
}

bool conn_is_closing(const struct conn *c) {
    return c->closing;
}

struct evbuffer *conn_input(struct conn *c) {
    return bufferevent_get_input(c->bev);
}

struct evbuffer *conn_output(struct conn *c) {
    return bufferevent_get_output(c->bev);
}

void conn_write(struct conn *c, const void *data, size_t len) {
    if (c->closed || !c->bev) return;
    bufferevent_write(c->bev, data, len);
}

void conn_write_str(struct conn *c, const char *s) {
    conn_write(c, s, strlen(s));
}

void conn_printf(struct conn *c, const char *fmt, ...) {
    if (c->closed || !c->bev) return;
    va_list ap;
    va_start(ap, fmt);
    evbuffer_add_vprintf(bufferevent_get_output(c->bev), fmt, ap);
    va_end(ap);
}

size_t conn_output_pending(struct conn *c) {
    return c->bev ? evbuffer_get_length(bufferevent_get_output(c->bev)) : 0;
}

int conn_starttls(struct conn *c) {
    if (c->tls || !c->net->tls || !c->bev) return -1;
    /* Anything the client pipelined after STARTTLS was sent in the clear
     * and must not be executed inside the TLS session (CVE-2011-0411). */
    struct evbuffer *in = bufferevent_get_input(c->bev);
    evbuffer_drain(in, evbuffer_get_length(in));
    SSL *ssl = SSL_new(c->net->tls);
    struct bufferevent *tls = bufferevent_openssl_filter_new(c->net->base, c->bev, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                             BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (!tls) return -1;
    c->bev = tls;
    c->tls = true;
    conn_setup_bev(c);
    return 0;
}

void conn_close(struct conn *c) {
    if (c->closing) return;
    c->closing = true;
    if (!c->bev) return;
    bufferevent_disable(c->bev, EV_READ);
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
        conn_finish_when_flushed(c);
        return;
    }
    /* wait for the flush, but not forever */
    struct timeval tv = {10, 0};
    bufferevent_set_timeouts(c->bev, NULL, &tv);
}

void conn_set_idle_timeout(struct conn *c, int64_t seconds) {
    c->idle_timeout = seconds;
    if (!c->bev) return;
    if (seconds > 0) {
        struct timeval tv = {seconds, 0};
        bufferevent_set_timeouts(c->bev, &tv, NULL);
    } else {
        bufferevent_set_timeouts(c->bev, NULL, NULL);
    }
}

static void conn_deadline_cb(evutil_socket_t fd, short what, void *arg) {
    struct conn *c = arg;
    if (c->closing) return;
    conn_ref(c);
    if (c->h->on_timeout) c->h->on_timeout(c, c->proto);
    else conn_close(c);
    conn_unref(c);
}

void conn_set_deadline(struct conn *c, int64_t seconds) {
    if (c->deadline) {
        event_free(c->deadline);
        c->deadline = NULL;
    }
    if (seconds <= 0) return;
    c->deadline = evtimer_new(c->net->base, conn_deadline_cb, c);
    struct timeval tv = {seconds, 0};
    evtimer_add(c->deadline, &tv);
}

void conn_pause(struct conn *c) {
    c->paused = true;
    if (c->bev) bufferevent_disable(c->bev, EV_READ);
}

void conn_resume(struct conn *c) {
    if (!c->paused) return;
    c->paused = false;
    if (!c->bev || c->closing) return;
    if (c->eof_pending) {
        /* no more input will come: process what is buffered, then close */
        conn_ref(c);
        if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0) c->h->on_input(c, c->proto);
        if (!c->paused) conn_close(c);
        conn_unref(c);
        return;
    }
    if (!c->out_wait) bufferevent_enable(c->bev, EV_READ);
    /* Input that arrived (pipelined) while paused is processed now. */
    if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
        bufferevent_trigger(c->bev, EV_READ, BEV_OPT_DEFER_CALLBACKS);
}

static void conn_timer_cb(evutil_socket_t fd, short what, void *arg) {
    struct conn_timer *t = arg;
    struct conn *c = t->c;
    conn_timer_unlink(t);
    event_free(t->ev);
    conn_ref(c);
    t->fn(c, t->arg);
    free(t);
    conn_unref(c); /* the timer's reference */
    conn_unref(c);
}

void conn_after(struct conn *c, int64_t ms, void (*fn)(struct conn *c, void *arg), void *arg) {
    struct conn_timer *t = xcalloc(1, sizeof *t);
    t->c = c;
    t->fn = fn;
    t->arg = arg;
    conn_ref(c);
    t->next = c->timers;
    c->timers = t;
    t->ev = evtimer_new(c->net->base, conn_timer_cb, t);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(t->ev, &tv);
}

void conn_set_drain_watermark(struct conn *c, size_t bytes) {
    if (c->bev) bufferevent_setwatermark(c->bev, EV_WRITE, bytes, 0);
}
