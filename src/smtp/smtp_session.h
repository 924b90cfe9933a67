/*
 * smtp_session - one SMTP conversation (RFC 5321 with PIPELINING,
 * SIZE, 8BITMIME, SMTPUTF8, DSN, CHUNKING, STARTTLS, AUTH, ENHANCED-
 * STATUSCODES). Input arrives from the net layer; commands are parsed
 * with smtp_parser, the body with smtp_data, and accepted mail goes to
 * the store, which acknowledges only once it is durable.
 *
 * Replies and enhanced codes follow Postfix so that scripts written
 * against the recipe's server see the same answers.
 */
#ifndef DEVMAIL_SMTP_SESSION_H
#define DEVMAIL_SMTP_SESSION_H

#include "app/app.h"
#include "net/net.h"

/* The connection handler for SMTP listeners (listener arg: struct app *). */
extern const struct conn_handler smtp_conn_handler;

/* Start SMTP listeners from the config. 0 or -1 with err. */
int smtp_server_start(struct app *app, buf_t *err);

#endif
