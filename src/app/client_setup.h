/*
 * client_setup - what a mail client needs to know to use devmail, and the
 * documents that tell it:
 *
 *   - Thunderbird's autoconfig file (clientConfig version 1.1, one
 *     emailProvider per served domain, the asked-for domain first),
 *   - Microsoft's Outlook autodiscover answer (responseschema 2006a),
 *   - an Apple configuration profile (.mobileconfig: a
 *     com.apple.mail.managed payload, plus the local CA as a
 *     com.apple.security.root payload),
 *   - a plain-text summary for people (`devmail client-setup`).
 *
 * Everything is derived from the configuration alone: the listeners
 * actually configured (IMAP/POP3/SMTP with STARTTLS, their implicit-TLS
 * twins with SSL), the served domains and the SMTP auth mode. Pure
 * functions over memory, no I/O; http/autoconfig.c serves the results
 * and cli/setup.c prints them.
 */
#ifndef DEVMAIL_CLIENT_SETUP_H
#define DEVMAIL_CLIENT_SETUP_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/config.h"
#include "core/buf.h"

/* Longest address accepted (RFC 5321 4.5.3.1.3: a path is at most 256
 * octets including the angle brackets). */
#define CLIENT_SETUP_MAX_ADDRESS 254
/* Longest domain name (RFC 1035 2.3.4, without the final dot). */
#define CLIENT_SETUP_MAX_DOMAIN 253

enum client_setup_proto { CLIENT_SETUP_IMAP, CLIENT_SETUP_POP3, CLIENT_SETUP_SMTP };
/* How the connection gets TLS: STARTTLS on the plain listeners (devmail
 * always offers it), SSL (implicit TLS) on the *s_listen ones. */
enum client_setup_socket { CLIENT_SETUP_STARTTLS, CLIENT_SETUP_SSL };
enum client_setup_auth { CLIENT_SETUP_AUTH_NONE, CLIENT_SETUP_AUTH_PASSWORD };

struct client_setup_server {
    enum client_setup_proto proto;
    enum client_setup_socket socket;
    enum client_setup_auth auth;
    char *host; /* the listener's address, or hostname for a wildcard one */
    int port;
};

struct client_setup {
    char *hostname;   /* the server's name (profile identifiers, texts) */
    char *address;    /* the user's address, lower-case domain; NULL: unknown */
    bool address_served; /* its domain is served (always, without domains) */
    char **domains;   /* one emailProvider each; the address's domain first */
    size_t ndomains;
    struct client_setup_server *servers; /* preference order: SSL first */
    size_t nservers;
    bool any_password; /* no passdb: every login is accepted */
    char *ca_pem;      /* the local CA certificate (PEM), or NULL */
};

/* Fill cs from cfg for address (NULL or "" when unknown) and the local CA
 * (ca_pem, NULL when none). Listener addresses that do not parse are
 * skipped. Returns 0, or -1 with a reason in err when address is not
 * local@domain with a valid domain of at most the lengths above (cs then
 * holds nothing to free). Free with client_setup_free. */
int client_setup_build(struct client_setup *cs, const struct config *cfg, const char *address, const char *ca_pem,
                       buf_t *err);
void client_setup_free(struct client_setup *cs);

/* Is s a syntactically valid domain name (letters, digits, '-', dots
 * between non-empty labels of at most 63 octets)? */
bool client_setup_valid_domain(const char *s, size_t len);

/* "scheme://host:port" of a listen address (the hostname for a wildcard,
 * brackets around IPv6), appended to out; false when it does not parse. */
bool client_setup_listen_url(const char *listen, const char *hostname, const char *scheme, buf_t *out);

/* Thunderbird clientConfig 1.1 XML, appended to out. -1 with a reason in
 * err when no IMAP/POP3 or no SMTP listener is configured. */
int client_setup_thunderbird(const struct client_setup *cs, buf_t *out, buf_t *err);

/* Outlook autodiscover answer (Response in responseschema 2006a): an
 * Account with a Protocol per listener for a served address, else an
 * Error (600 Invalid Request). Always well-formed XML. */
void client_setup_autodiscover(const struct client_setup *cs, buf_t *out);

/* The EMailAddress of an autodiscover request body (XML, any namespace
 * prefix), appended to out. 0, or -1 when the body is not well-formed
 * XML or names no address. */
int client_setup_autodiscover_request(const char *body, size_t len, buf_t *out);

/* Apple configuration profile (XML plist): one mail account (IMAP
 * preferred, else POP3; the first SMTP listener) and, with ca_pem, a
 * root-certificate payload. Without an address, iOS/macOS ask for it on
 * installation. Identifiers and UUIDs are derived from hostname and
 * address, so installing a newer profile replaces the older one. -1 with
 * a reason in err when no IMAP/POP3 or no SMTP listener is configured or
 * ca_pem is not a PEM certificate. */
int client_setup_mobileconfig(const struct client_setup *cs, buf_t *out, buf_t *err);

/* Human-readable settings; http_base ("http://127.0.0.1:8025", or NULL)
 * adds the download links, ca_path the CA file's location. */
void client_setup_text(const struct client_setup *cs, const char *http_base, const char *ca_path, buf_t *out);

#endif
