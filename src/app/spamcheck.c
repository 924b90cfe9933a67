#include "app/spamcheck.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "core/xalloc.h"
#include "net/net.h"

struct spamcheck {
    struct bufferevent *bev;
    struct event *start;
    char *host;
    int port;
    spamcheck_done_fn done;
    void *arg;
    struct spamcheck *next;
};

static struct spamcheck *active;

static void sc_free(struct spamcheck *c) {
    for (struct spamcheck **pp = &active; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    if (c->start) event_free(c->start);
    if (c->bev) bufferevent_free(c->bev);
    free(c->host);
    free(c);
}

static void finish(struct spamcheck *c, const struct spam_result *r, const char *error) {
    if (c->done) c->done(c->arg, r, error);
    sc_free(c);
}

static void read_cb(struct bufferevent *bev, void *arg) {
    struct spamcheck *c = arg;
    if (evbuffer_get_length(bufferevent_get_input(bev)) > SPAMD_MAX_RESPONSE) finish(c, NULL, "spamd's answer is too long");
}

static void event_cb(struct bufferevent *bev, short what, void *arg) {
    struct spamcheck *c = arg;
    if (what & BEV_EVENT_CONNECTED) return;
    if (what & BEV_EVENT_EOF) {
        /* spamd answers and closes */
        struct evbuffer *in = bufferevent_get_input(bev);
        size_t len = evbuffer_get_length(in);
        const char *data = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
        struct spam_result r;
        buf_t err = BUF_INIT;
        if (spamd_parse_response(data ? data : "", len, &r, &err) < 0) {
            finish(c, NULL, buf_cstr(&err));
        } else if (r.code != 0) {
            buf_printf(&err, "spamd answered %d %s", r.code, r.message);
            finish(c, NULL, buf_cstr(&err));
            spam_result_free(&r);
        } else {
            finish(c, &r, NULL);
            spam_result_free(&r);
        }
        buf_free(&err);
        return;
    }
    buf_t why = BUF_INIT;
    if (what & BEV_EVENT_TIMEOUT) buf_append_str(&why, "spamd did not answer in time");
    else {
        int dns = bufferevent_socket_get_dns_error(bev);
        if (dns) buf_printf(&why, "cannot resolve %s: %s", c->host, evutil_gai_strerror(dns));
        else buf_printf(&why, "cannot connect to spamd at %s:%d: %s", c->host, c->port,
                        evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    }
    finish(c, NULL, buf_cstr(&why));
    buf_free(&why);
}

static void connect_cb(evutil_socket_t fd, short what, void *arg) {
    struct spamcheck *c = arg;
    net_connect_hostname(c->bev, c->host, c->port);
}

int spamcheck_start(struct event_base *base, const char *hostport, int64_t timeout_s, const char *msg, size_t len,
                    spamcheck_done_fn done, void *arg, buf_t *err) {
    char *host;
    int port;
    if (net_split_hostport(hostport, &host, &port) < 0) {
        buf_append_str(err, "spamassassin must be HOST:PORT");
        return -1;
    }
    struct spamcheck *c = xcalloc(1, sizeof *c);
    c->host = host;
    c->port = port;
    c->done = done;
    c->arg = arg;
    c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(c->bev, read_cb, NULL, event_cb, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    struct timeval tv = {timeout_s, 0};
    bufferevent_set_timeouts(c->bev, &tv, &tv);
    buf_t req = BUF_INIT;
    spamd_request(msg, len, &req);
    bufferevent_write(c->bev, req.data, req.len);
    buf_free(&req);
    c->next = active;
    active = c;
    c->start = evtimer_new(base, connect_cb, c);
    struct timeval zero = {0, 0};
    evtimer_add(c->start, &zero);
    return 0;
}

void spamcheck_cancel(void *arg) {
    for (struct spamcheck *c = active; c; c = c->next)
        if (c->arg == arg) c->done = NULL;
}

void spamcheck_shutdown(void) {
    while (active) sc_free(active);
}
