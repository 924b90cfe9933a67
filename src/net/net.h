/*
 * net - listeners and connections over libevent bufferevents, with TLS
 * (implicit or STARTTLS), timeouts and connection limits. Knows nothing
 * of any protocol: a protocol registers a handler when it listens and
 * gets called with input; it answers with conn_write().
 */
#ifndef DEVMAIL_NET_H
#define DEVMAIL_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "core/buf.h"

struct conn;

struct conn_handler {
    const char *proto;      /* "smtp", "imap", ... for logs */
    const char *busy_reply; /* sent when over the connection limits */
    /* A new connection; return the protocol state (greeting sent here). */
    void *(*on_open)(struct conn *c, void *listener_arg);
    /* Input is available in conn_input(c). */
    void (*on_input)(struct conn *c, void *proto);
    /* Output fell below the low-water mark (for streaming large replies). */
    void (*on_drain)(struct conn *c, void *proto);
    /* Idle timeout or deadline passed: write the protocol's goodbye, then conn_close(). */
    void (*on_timeout)(struct conn *c, void *proto);
    /* The protocol is at its connection limit and a new client is waiting:
     * may this connection (not logged in, nothing in hand) make room? If
     * so, write the protocol's goodbye, conn_close() and return true.
     * Optional. The oldest such connection goes, as Dovecot does with
     * pre-login connections, so a new client is always answered. */
    bool (*on_evict)(struct conn *c, void *proto);
    /* The connection is gone (peer closed, error, or after conn_close);
     * free the protocol state. Called once. */
    void (*on_close)(struct conn *c, void *proto);
};

struct net_limits {
    int64_t max_connections;        /* all protocols together */
    int64_t max_connections_per_ip; /* of one protocol from one address */
};

struct net;

struct net *net_new(struct event_base *base, SSL_CTX *tls, const struct net_limits *limits);
void net_free(struct net *n);
/* Connections one protocol ("smtp", "imap", "pop3", "http": the handler's
 * proto) may hold at once; 0 for only the total. Takes effect for new
 * connections. */
void net_set_protocol_limit(struct net *n, const char *proto, int64_t max);
/* Listen on "ADDR:PORT" or "[ADDR]:PORT". implicit_tls: TLS from the first byte.
 * 0, or -1 with a reason in err. */
int net_listen(struct net *n, const char *addr, bool implicit_tls, const struct conn_handler *h, void *arg,
               buf_t *err);
/* net_listen for each of addrs[0..n) (e.g. one config list). */
int net_listen_all(struct net *n, char *const *addrs, size_t count, bool implicit_tls, const struct conn_handler *h,
                   void *arg, buf_t *err);
/* Stop accepting (graceful shutdown). */
void net_stop_listening(struct net *n);
/* Connections open now (all protocols). */
size_t net_connection_count(struct net *n);
/* Ask every connection's protocol to close (on_timeout is called). */
void net_close_all(struct net *n);
/* Tear down every connection now, without waiting for output to flush
 * (after the event loop has stopped). net_free does it too. */
void net_finish_all(struct net *n);
struct event_base *net_base(struct net *n);
SSL_CTX *net_tls(struct net *n);
/* Split "ADDR:PORT" (IPv6 in brackets) into a sockaddr. */
int net_parse_addr(const char *s, struct sockaddr_storage *ss, int *len);
/* "host:port" or "[v6]:port" into a malloc'd host (a name or address,
 * without brackets) and a port 1..65535. 0, or -1 when s is not that. */
int net_split_hostport(const char *s, char **host, int *port);

/* Start an outgoing connection of bev (a socket bufferevent without an fd)
 * to host:port, resolving the name with the system resolver. libevent may
 * report an immediate failure through bev's event callback from inside the
 * connect call; here such a report is held back and delivered through the
 * same callback after the call returns, as is a failure to start
 * (BEV_EVENT_ERROR), so the callback may free bev's owner. Call it from a
 * fresh event (a zero timer), not from the code that created the owner,
 * when the callback frees it. */
void net_connect_hostname(struct bufferevent *bev, const char *host, int port);

/* --- connection ---------------------------------------------------- */

uint64_t conn_id(const struct conn *c);
const char *conn_peer(const struct conn *c);  /* "127.0.0.1" */
bool conn_is_tls(const struct conn *c);
bool conn_is_closing(const struct conn *c);
struct evbuffer *conn_input(struct conn *c);
struct evbuffer *conn_output(struct conn *c);
void conn_write(struct conn *c, const void *data, size_t len);
void conn_write_str(struct conn *c, const char *s);
void conn_printf(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
size_t conn_output_pending(struct conn *c);
/* Switch to TLS now (after the "ready" reply was written): pending
 * plaintext input is discarded (no command injection across STARTTLS).
 * Returns 0 or -1. */
int conn_starttls(struct conn *c);
/* Close once the output is flushed; on_close follows. */
void conn_close(struct conn *c);
/* Idle timeout for reads, in seconds (0: none). */
void conn_set_idle_timeout(struct conn *c, int64_t seconds);
/* Slow clients: a unit (command line, request head, message body) must
 * arrive within timeout_s of its first byte, plus one second per
 * min_data_rate bytes received since (Apache mod_reqtimeout's rule);
 * beyond, on_timeout is called. min_data_rate 0 turns it off. A unit is
 * under way while input is left unconsumed after on_input, or while the
 * protocol says it is receiving a body it consumes as it comes. */
void net_set_slow_limits(struct net *n, int64_t timeout_s, int64_t min_data_rate);
void conn_set_receiving(struct conn *c, bool receiving);
/* The protocol leaves buffered input alone for now (busy with an earlier
 * request): its wait does not count against the client. */
void conn_set_input_held(struct conn *c, bool held);
/* Connections closed for sending too slowly, since start. */
uint64_t net_slow_closed(const struct net *n);
/* Clients that do not read: conn_output_full() is true while more than
 * max_output bytes wait to be sent on the connection (0: never); a
 * protocol then takes no further command (returns from on_input) and is
 * called again (on_drain, then on_input with what is buffered) once the
 * client has read half of it. A connection whose waiting output has not
 * moved for send_timeout_s is closed without a goodbye (0: never). */
void net_set_output_limits(struct net *n, size_t max_output, int64_t send_timeout_s);
bool conn_output_full(struct conn *c);
/* Connections closed for reading nothing of their output, since start. */
uint64_t net_nonreaders_closed(const struct net *n);
/* Absolute limit on the connection's life from now (0: none). */
void conn_set_deadline(struct conn *c, int64_t seconds);
/* Stop/start delivering input (while waiting for a commit, a delay...). */
void conn_pause(struct conn *c);
void conn_resume(struct conn *c);
/* Run a callback once after ms milliseconds, unless the conn closes first. */
void conn_after(struct conn *c, int64_t ms, void (*fn)(struct conn *c, void *arg), void *arg);
/* Extra reference: a closed conn stays allocated until conn_unref. Used
 * by asynchronous work (commits) that must not touch freed memory. */
void conn_ref(struct conn *c);
void conn_unref(struct conn *c);
/* Enable the drain callback when output falls to or below bytes. */
void conn_set_drain_watermark(struct conn *c, size_t bytes);

#endif
