/*
 * imap_session - the IMAP4rev1 server (RFC 3501) with IDLE, UIDPLUS,
 * MOVE, NAMESPACE, ID, ENABLE, UNSELECT, LITERAL+, SASL-IR, SPECIAL-USE,
 * CHILDREN, LIST-EXTENDED, LIST-STATUS, ESEARCH, CONDSTORE and QRESYNC,
 * over the store (Maildir++ folders, SQLite index).
 *
 * Files: imap_session.c (connection, command loop, literals, state,
 * change notifications, login), imap_mailbox.c (mailbox commands),
 * imap_message.c (FETCH, STORE, SEARCH, COPY/MOVE, EXPUNGE, APPEND).
 */
#ifndef DEVMAIL_IMAP_SESSION_H
#define DEVMAIL_IMAP_SESSION_H

#include "app/app.h"
#include "net/net.h"

extern const struct conn_handler imap_conn_handler;

/* Start IMAP and IMAPS listeners from the config. 0 or -1 with err. */
int imap_server_start(struct app *app, buf_t *err);

#endif
