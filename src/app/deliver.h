/*
 * deliver - the one way mail comes in: recipient routing, one file per
 * account (a recipient named twice, or two addresses of one account, give
 * one copy), the trace headers Postfix's virtual(8) delivery writes
 * (Return-Path, X-Original-To, Delivered-To, Received), and the size and
 * free-space rules. SMTP and the HTTP send endpoint both deliver through
 * it (`devmail sendmail` speaks SMTP to the server, IMAP APPEND applies
 * deliver_check), so the rules cannot drift apart.
 */
#ifndef DEVMAIL_DELIVER_H
#define DEVMAIL_DELIVER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "app/app.h"
#include "core/buf.h"
#include "store/store.h"

/* Route one recipient address to the account that gets it (malloc'd
 * into *account). 0, or -1 with why (an SMTP reply: "550 5.1.1 ..."). */
int deliver_route(struct app *app, const char *addr, char **account, buf_t *why);

/* Can a message of size bytes (CRLF size; <0: not known yet) come in? */
enum deliver_check { DELIVER_OK, DELIVER_TOO_BIG, DELIVER_DISK_FULL };
enum deliver_check deliver_check(struct app *app, int64_t size);

struct deliver_rcpt {
    const char *addr;    /* as the client gave it */
    const char *account; /* from deliver_route */
};

/* Where a message came from, for its Received: line. */
struct deliver_trace {
    const char *helo; /* the client's HELO/EHLO name (NULL: none) */
    const char *peer; /* the client's address */
    const char *with; /* RFC 3848 protocol name: "ESMTPS", "UTF8SMTPA", "HTTP" */
    const char *id;   /* queue id (NULL: none) */
    time_t when;
    const char *auth_user; /* the SMTP AUTH (or HTTP) login, NULL: none; written as
                            * Postfix's "(Authenticated sender: user)", the API's Username */
};

/* The trace headers of the copy for one account, as Postfix's virtual(8)
 * writes them: Return-Path, X-Original-To for each distinct address of
 * that account (case-insensitively), Delivered-To, Received. Pure (LF
 * line ends, as the Maildir file keeps them). */
void deliver_trace_headers(buf_t *out, const char *hostname, const char *mail_from, const struct deliver_rcpt *rcpts,
                           size_t n, const char *account, const struct deliver_trace *t);

/* A unique queue id ("Postfix-like": hex of time and a sequence). */
void deliver_queue_id(char *out, size_t size);

/* Open a delivery: one file per distinct account of rcpts, each starting
 * with its trace headers; then store_delivery_write the message and
 * store_delivery_commit (or _abort). 0, or -1 (files could not be made). */
int deliver_begin(struct app *app, struct store_delivery *d, const char *mail_from, const struct deliver_rcpt *rcpts,
                  size_t n, const struct deliver_trace *t);

#endif
