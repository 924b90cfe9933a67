/*
 * autoconfig - the HTTP routes that set up a mail client with nothing
 * typed but an address and a password:
 *
 *   GET  /mail/config-v1.1.xml[?emailaddress=A]             Thunderbird autoconfig
 *   GET  /.well-known/autoconfig/mail/config-v1.1.xml[?...]  (the same)
 *   POST /autodiscover/autodiscover.xml                      Outlook autodiscover (any case)
 *   GET  /client-setup[?emailaddress=A]                      the settings as text
 *   GET  /client-setup.json[?emailaddress=A]                 the same as JSON (the page)
 *   GET  /client-setup/devmail.mobileconfig[?emailaddress=A] Apple profile
 *   GET  /client-setup/ca.crt                                the local CA certificate
 *
 * Clients ask these before they have an account, under the names
 * autoconfig.<domain>, autodiscover.<domain> or <domain>: they are public
 * (no HTTP login) and answered under any Host name. They carry nothing
 * secret (what is served where, and a public certificate) and change
 * nothing, so a DNS-rebound page learns no more than the URL itself
 * publishes. The documents come from app/client_setup.c.
 */
#ifndef DEVMAIL_AUTOCONFIG_H
#define DEVMAIL_AUTOCONFIG_H

#include "http/http_server.h"

/* The routes above (HTTP_AUTH_PUBLIC, any method: each answers 405 to a
 * method it does not take), for the server's route tables. */
extern const struct http_route autoconfig_routes[];

#endif
