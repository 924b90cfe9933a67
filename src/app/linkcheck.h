/*
 * linkcheck - HTTP status of a message's links (Mailpit's link check):
 * a HEAD request per link through libevent's HTTP client, at most
 * LINKCHECK_PARALLEL at once, each bounded by link_check_timeout, with up
 * to 3 redirects followed on request. Only hosts that link_check_allowed
 * admits are contacted (by name pattern, or by the network of every
 * address the name resolves to), so the check cannot be turned into a
 * probe of the network devmail runs in; others get 451 "Blocked".
 */
#ifndef DEVMAIL_LINKCHECK_H
#define DEVMAIL_LINKCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "app/app.h"
#include "check/links.h"

#define LINKCHECK_PARALLEL 8
#define LINKCHECK_MAX_REDIRECTS 3

struct linkcheck_result {
    char *url;
    int status_code; /* 0: no HTTP answer */
    char *status;    /* "OK", "Not Found", or what went wrong */
};

/* Called once, from the loop, with one result per link in order. */
typedef void (*linkcheck_done_fn)(void *arg, const struct linkcheck_result *v, size_t n);

/* Check links (taken over: freed by the check). Always 0: done() comes
 * from the loop, even for no links. */
int linkcheck_start(struct app *app, struct links *links, bool follow, linkcheck_done_fn done, void *arg);
void linkcheck_cancel(void *arg);
void linkcheck_shutdown(void);

/* The standard reason phrase of an HTTP status (RFC 9110), "" if none. */
const char *linkcheck_reason(int code);

#endif
