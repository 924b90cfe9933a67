/*
 * pop3_session - one POP3 conversation (RFC 1939 with CAPA and response
 * codes from RFC 2449/3206, STLS from RFC 2595, AUTH PLAIN from RFC 5034).
 *
 * The maildrop is the account's INBOX as the index lists it at login;
 * DELE marks, QUIT (the UPDATE state) expunges through the store so IMAP
 * sessions, the API and the web page see the removal. A message expunged
 * by someone else meanwhile answers -ERR. RETR streams the Maildir file
 * (LF line ends) as CRLF lines with dot-stuffing. Accounts are the same
 * as IMAP's (app_login). One POP3 session per account at a time: a second
 * login gets -ERR [IN-USE] (RFC 1939's exclusive maildrop lock).
 */
#ifndef DEVMAIL_POP3_SESSION_H
#define DEVMAIL_POP3_SESSION_H

#include "app/app.h"
#include "net/net.h"

/* The connection handler for POP3 listeners (listener arg: struct app *). */
extern const struct conn_handler pop3_conn_handler;

/* Start the pop3_listen (plain, STLS) and pop3s_listen (implicit TLS)
 * listeners from the config. 0 or -1 with err. */
int pop3_server_start(struct app *app, buf_t *err);

#endif
