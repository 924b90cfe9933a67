/*
 * release - send one caught message on to the real SMTP server named by
 * relay_host, on request (the API's release route). The only way mail
 * ever leaves devmail: never automatic, only to addresses matching
 * relay_allowed_recipients (empty by default), and logged. The message
 * goes without devmail's trace headers (Return-Path, Delivered-To,
 * X-Original-To) and without Bcc, with a new Date and, unless
 * relay_preserve_message_ids, a new Message-ID (as Mailpit does).
 */
#ifndef DEVMAIL_RELEASE_H
#define DEVMAIL_RELEASE_H

#include <stdbool.h>
#include <stddef.h>

#include "app/app.h"
#include "core/buf.h"

/* ok, or the reason (error: the relay's reply or the connection
 * problem); refused: recipients the relay refused while others were
 * accepted ("" when none). */
typedef void (*release_done_fn)(void *arg, bool ok, const char *error, const char *refused);

/* Check the request and start sending. 0: done() will be called (from
 * the event loop, never from here); -1: refused at once with err (not
 * configured, an address not allowed or invalid, no sender). */
int release_start(struct app *app, const char *message, size_t len, const char *const *to, size_t nto,
                  const char *label, release_done_fn done, void *arg, buf_t *err);
/* A caller going away: its done() will not be called. */
void release_cancel(void *arg);

/* Pure parts, for tests. */
/* Is addr allowed by the patterns (shell patterns, case-insensitive)? */
bool release_allowed(const char *const *patterns, size_t n, const char *addr);
/* The message to send: the header without Return-Path, Delivered-To,
 * X-Original-To and Bcc, with Date set to date and, when message_id is
 * not NULL, Message-ID set to it. */
void release_rewrite(const char *msg, size_t len, const char *date, const char *message_id, buf_t *out);

/* Free what is still open (shutdown). */
void release_shutdown(void);

#endif
