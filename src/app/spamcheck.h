/*
 * spamcheck - ask SpamAssassin's spamd (the `spamassassin` key, HOST:PORT)
 * for a message's score and rules, without blocking the event loop.
 */
#ifndef DEVMAIL_SPAMCHECK_H
#define DEVMAIL_SPAMCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "check/spamd.h"

struct event_base;

/* r is NULL when error says what went wrong (no connection, timeout, not
 * spamd's answer). Called from the loop, never from spamcheck_start. */
typedef void (*spamcheck_done_fn)(void *arg, const struct spam_result *r, const char *error);

/* 0 (done() will be called), -1 with err (bad address). */
int spamcheck_start(struct event_base *base, const char *hostport, int64_t timeout_s, const char *msg, size_t len,
                    spamcheck_done_fn done, void *arg, buf_t *err);
/* A caller going away: its done() will not be called. */
void spamcheck_cancel(void *arg);
void spamcheck_shutdown(void);

#endif
