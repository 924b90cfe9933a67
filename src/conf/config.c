#include "conf/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "conf/chaos.h"
#include "core/invariant.h"
#include "core/tags.h"
#include "core/xalloc.h"

#define OFF(field) offsetof(struct config, field)

static const char *const smtp_auth_names[] = {"off", "optional", "required", "any", NULL};
static const char *const relay_tls_names[] = {"none", "starttls", "tls", NULL};
static const char *const relay_auth_names[] = {"none", "plain", "login", NULL};
static const char *const log_level_names[] = {"error", "warning", "info", "debug", NULL};

/* The one list of settings. Keep README's reference in step with
 * `devmail check-config --reference`, which prints this table. */
const struct config_entry config_table[] = {
    {"hostname", CONF_STR, OFF(hostname), "localhost", "name in the SMTP greeting, Received: lines and the TLS certificate", NULL, 0, 0, CONF_RELOAD},
    {"data_dir", CONF_STR, OFF(data_dir), "./devmail-data", "where Maildirs, the index and the generated certificate live (<data_dir>/<domain>/<user>/Maildir)", NULL, 0, 0, CONF_RESTART},
    {"domain", CONF_LIST, OFF(domains), "", "domains served; mail for any other domain gets 554 5.7.1 Relay access denied. Empty: accept every recipient", NULL, 0, 0, CONF_RELOAD},
    {"recipient_map", CONF_STR, OFF(recipient_map), "", "Postfix virtual_mailbox_maps-style file: `@domain account` catch-alls and `user@domain account` entries (account as user@domain or domain/user/Maildir/)", NULL, 0, 0, CONF_RELOAD},
    {"default_account", CONF_STR, OFF(default_account), "catchall@localhost", "account that receives every recipient when no domain is configured (zero-config catch-all)", NULL, 0, 0, CONF_RELOAD},
    {"passdb", CONF_STR, OFF(passdb), "", "Dovecot passwd-file (user@domain:{SCHEME}secret); empty: any login is accepted into the catch-all account", NULL, 0, 0, CONF_RELOAD},
    {"smtp_listen", CONF_LIST, OFF(smtp_listen), "127.0.0.1:1025", "SMTP listen addresses (ADDR:PORT, [v6]:PORT); empty disables", NULL, 0, 0, CONF_RESTART},
    {"smtps_listen", CONF_LIST, OFF(smtps_listen), "", "SMTP with implicit TLS (submissions) listen addresses", NULL, 0, 0, CONF_RESTART},
    {"imap_listen", CONF_LIST, OFF(imap_listen), "127.0.0.1:1143", "IMAP (STARTTLS available) listen addresses", NULL, 0, 0, CONF_RESTART},
    {"imaps_listen", CONF_LIST, OFF(imaps_listen), "127.0.0.1:1993", "IMAP with implicit TLS listen addresses", NULL, 0, 0, CONF_RESTART},
    {"pop3_listen", CONF_LIST, OFF(pop3_listen), "127.0.0.1:1110", "POP3 (STLS available) listen addresses", NULL, 0, 0, CONF_RESTART},
    {"pop3s_listen", CONF_LIST, OFF(pop3s_listen), "", "POP3 with implicit TLS listen addresses", NULL, 0, 0, CONF_RESTART},
    {"http_listen", CONF_LIST, OFF(http_listen), "127.0.0.1:8025", "web page and JSON API listen addresses", NULL, 0, 0, CONF_RESTART},
    {"https_listen", CONF_LIST, OFF(https_listen), "", "web page and JSON API over TLS (tls_cert or the generated certificate)", NULL, 0, 0, CONF_RESTART},
    {"autoconfig_listen", CONF_LIST, OFF(autoconfig_listen), "", "plain-HTTP listen addresses serving only the mail-client setup routes (Thunderbird autoconfig, Outlook autodiscover, Apple profile, CA certificate), for clients that ask port 80 of autoconfig.<domain>, e.g. 127.0.0.1:80; empty: off", NULL, 0, 0, CONF_RESTART},
    {"autoconfig_tls_listen", CONF_LIST, OFF(autoconfig_tls_listen), "", "the same over TLS (tls_cert or the local CA's certificate, which names autoconfig.<domain>), for https://autoconfig.<domain>/, which Thunderbird asks first, e.g. 127.0.0.1:443; empty: off", NULL, 0, 0, CONF_RESTART},
    {"tls_cert", CONF_STR, OFF(tls_cert), "", "PEM certificate (chain); empty: devmail's local CA (created in data_dir on first start) signs a certificate for hostname, the served domains' autoconfig./imap./smtp. names, localhost and the listen addresses", NULL, 0, 0, CONF_RESTART},
    {"tls_key", CONF_STR, OFF(tls_key), "", "PEM private key for tls_cert", NULL, 0, 0, CONF_RESTART},
    {"smtp_auth", CONF_ENUM, OFF(smtp_auth), "off", "SMTP AUTH: off, optional (advertised, checked against passdb), required (no mail without login), any (every credential accepted)", smtp_auth_names, 0, 0, CONF_RELOAD},
    {"smtp_require_tls_for_auth", CONF_BOOL, OFF(smtp_require_tls_for_auth), "no", "offer SMTP AUTH only after STARTTLS or on the implicit-TLS listener", NULL, 0, 0, CONF_RELOAD},
    {"message_size_limit", CONF_SIZE, OFF(message_size_limit), "10240000", "largest message accepted, in bytes (SIZE in EHLO; 552 5.3.4 beyond)", NULL, 1024, 0, CONF_RELOAD},
    {"smtp_max_line_length", CONF_SIZE, OFF(smtp_max_line_length), "4096", "longest SMTP command line (500 5.5.2 beyond); message lines are not limited", NULL, 512, 0, CONF_RELOAD},
    {"smtp_max_recipients", CONF_INT, OFF(smtp_max_recipients), "1000", "recipients per message (452 4.5.3 beyond)", NULL, 1, 0, CONF_RELOAD},
    {"smtp_max_bad_commands", CONF_INT, OFF(smtp_max_bad_commands), "20", "bad commands in one SMTP session before 421 and disconnect", NULL, 1, 0, CONF_RELOAD},
    {"smtp_idle_timeout", CONF_DURATION, OFF(smtp_idle_timeout), "5m", "SMTP client silence before 421 4.4.2", NULL, 0, 0, CONF_RELOAD},
    {"smtp_transaction_timeout", CONF_DURATION, OFF(smtp_transaction_timeout), "30m", "longest one SMTP session may last before 421 4.4.2", NULL, 0, 0, CONF_RELOAD},
    {"max_connections", CONF_INT, OFF(max_connections), "1024", "concurrent connections over all protocols (421 4.7.0 / BYE / -ERR beyond)", NULL, 1, 0, CONF_RESTART},
    {"max_connections_per_ip", CONF_INT, OFF(max_connections_per_ip), "256", "concurrent connections of one protocol from one client address", NULL, 1, 0, CONF_RESTART},
    {"smtp_max_connections", CONF_INT, OFF(smtp_max_connections), "256", "concurrent SMTP connections (421 4.7.0 beyond); each protocol has its own share of max_connections, so one cannot lock out the others; 0: only max_connections", NULL, 0, 0, CONF_RELOAD},
    {"imap_max_connections", CONF_INT, OFF(imap_max_connections), "256", "concurrent IMAP connections (* BYE beyond)", NULL, 0, 0, CONF_RELOAD},
    {"pop3_max_connections", CONF_INT, OFF(pop3_max_connections), "128", "concurrent POP3 connections (-ERR beyond)", NULL, 0, 0, CONF_RELOAD},
    {"http_max_connections", CONF_INT, OFF(http_max_connections), "256", "concurrent HTTP connections (503 beyond)", NULL, 0, 0, CONF_RELOAD},
    {"slow_client_timeout", CONF_DURATION, OFF(slow_client_timeout), "30s", "a command line, request head or message body must arrive within this time from its first byte, plus one second per min_data_rate bytes received; slower clients are disconnected with the protocol's timeout reply", NULL, 0, 0, CONF_RELOAD},
    {"min_data_rate", CONF_SIZE, OFF(min_data_rate), "1024", "bytes per second a client must keep up while sending a command or body (see slow_client_timeout); 0 disables the check", NULL, 0, 0, CONF_RELOAD},
    {"max_output_buffer", CONF_SIZE, OFF(max_output_buffer), "1M", "bytes of answers waiting for one client beyond which devmail takes no further command from it until it has read half of them (pipelined FETCHes, RETRs, downloads that are never read); 0: no limit", NULL, 0, 0, CONF_RELOAD},
    {"send_timeout", CONF_DURATION, OFF(send_timeout), "60s", "a client that reads none of the answers waiting for it for this long is disconnected; 0: never", NULL, 0, 0, CONF_RELOAD},
    {"auth_failure_delay_ms", CONF_INT, OFF(auth_failure_delay_ms), "1000", "delay before answering a failed login, in milliseconds; each failure also adds it to the backlog of the client address and of the user name", NULL, 0, 0, CONF_RELOAD},
    {"auth_failure_max_delay", CONF_DURATION, OFF(auth_failure_max_delay), "15s", "longest wait for a failed login's answer; while an address's or user's backlog is longer, logins are refused unchecked", NULL, 0, 0, CONF_RELOAD},
    {"auth_max_failures", CONF_INT, OFF(auth_max_failures), "3", "failed logins on one IMAP, POP3 or SMTP connection before it is closed", NULL, 1, 0, CONF_RELOAD},
    {"imap_max_bad_commands", CONF_INT, OFF(imap_max_bad_commands), "20", "bad commands in one IMAP session before * BYE and disconnect", NULL, 1, 0, CONF_RELOAD},
    {"imap_plaintext_login", CONF_BOOL, OFF(imap_plaintext_login), "yes", "allow LOGIN/AUTHENTICATE PLAIN without TLS (Dovecot's disable_plaintext_auth = no)", NULL, 0, 0, CONF_RELOAD},
    {"imap_max_line_length", CONF_SIZE, OFF(imap_max_line_length), "65536", "longest IMAP command line, literals excluded", NULL, 1024, 0, CONF_RELOAD},
    {"imap_max_literal_size", CONF_SIZE, OFF(imap_max_literal_size), "0", "literal bytes in one IMAP command after login, all its literals together (NO [TOOBIG] beyond, BYE for a {n+} literal); 0: message_size_limit", NULL, 0, 0, CONF_RELOAD},
    {"imap_preauth_max_literal_size", CONF_SIZE, OFF(imap_preauth_max_literal_size), "8192", "literal bytes in one IMAP command before login, all together (NO [TOOBIG] beyond, BYE for a {n+} literal)", NULL, 0, 0, CONF_RELOAD},
    {"imap_idle_timeout", CONF_DURATION, OFF(imap_idle_timeout), "30m", "IMAP autologout (RFC 3501: at least 30 minutes)", NULL, 0, 0, CONF_RELOAD},
    {"imap_max_sessions_per_user", CONF_INT, OFF(imap_max_sessions_per_user), "50", "concurrent IMAP sessions of one account", NULL, 1, 0, CONF_RELOAD},
    {"imap_max_update_contexts", CONF_INT, OFF(imap_max_update_contexts), "10", "updating searches (SEARCH or SORT RETURN (UPDATE), RFC 5267) one IMAP session keeps at once; beyond, the search is answered with * NO [NOUPDATE] and not updated; 0: none", NULL, 0, 0, CONF_RELOAD},
    {"pop3_max_bad_commands", CONF_INT, OFF(pop3_max_bad_commands), "20", "bad commands in one POP3 session before -ERR and disconnect", NULL, 1, 0, CONF_RELOAD},
    {"pop3_plaintext_login", CONF_BOOL, OFF(pop3_plaintext_login), "yes", "allow USER/PASS and AUTH PLAIN without TLS (Dovecot's disable_plaintext_auth = no, for POP3)", NULL, 0, 0, CONF_RELOAD},
    {"pop3_idle_timeout", CONF_DURATION, OFF(pop3_idle_timeout), "10m", "POP3 autologout (RFC 1939: at least 10 minutes)", NULL, 0, 0, CONF_RELOAD},
    {"http_allowed_hosts", CONF_LIST, OFF(http_allowed_hosts), "", "Host names the web page and API answer to besides localhost, *.localhost, hostname and IP addresses (a DNS-rebound name gets 421); `*.example.com` for subdomains, `*` for any", NULL, 0, 0, CONF_RELOAD},
    {"http_cors_origins", CONF_LIST, OFF(http_cors_origins), "", "other web origins (scheme://host[:port]) that may use the API from their pages: CORS headers and state-changing requests; `*` for any; empty: the server's own pages only", NULL, 0, 0, CONF_RELOAD},
    {"http_admin_users", CONF_LIST, OFF(http_admin_users), "", "HTTP logins that see server-wide figures (/metrics, the SMTP counters and database of /api/v1/info) when HTTP auth is on; other logins see their own account's only, and /metrics answers them 403", NULL, 0, 0, CONF_RELOAD},
    {"http_max_body_size", CONF_SIZE, OFF(http_max_body_size), "32M", "largest HTTP request body (POST /api/v1/send with base64 attachments is about 1.37 times the message); 413 and the connection closed beyond, judged on Content-Length before the body is read", NULL, 1024, 0, CONF_RELOAD},
    {"http_max_waiters", CONF_INT, OFF(http_max_waiters), "1000", "requests held by ?wait= at once (503 with Retry-After beyond); each is matched against every new message", NULL, 0, 0, CONF_RELOAD},
    {"http_passdb", CONF_STR, OFF(http_passdb), "", "passwd-file for HTTP basic auth; empty: same as passdb when set, else no auth", NULL, 0, 0, CONF_RELOAD},
    {"chaos", CONF_BOOL, OFF(chaos), "no", "SMTP failure injection for testing retry paths: enables GET/PUT /api/v1/chaos (Mailpit's --enable-chaos)", NULL, 0, 0, CONF_RELOAD},
    {"chaos_triggers", CONF_STR, OFF(chaos_triggers), "", "failures to inject (implies chaos), Mailpit's syntax: `sender:451:5,recipient:550:10,authentication:535:100` (point:code:percent; MAIL FROM, RCPT TO, AUTH)", NULL, 0, 0, CONF_RELOAD},
    {"tag", CONF_STR, OFF(tag), "", "Mailpit's --tag: tag new messages matching a search, `tags=query` rules separated by spaces, a quoted rule may hold spaces (`\"Tag 1,urgent=subject:reset\" invoice=has:attachment`)", NULL, 0, 0, CONF_RESTART},
    {"webhook_url", CONF_STR, OFF(webhook_url), "", "POST each new message's summary (JSON, as Mailpit's webhook) to this http:// or https:// URL (the server's certificate and name are verified); empty: off", NULL, 0, 0, CONF_RELOAD},
    {"webhook_ca_file", CONF_STR, OFF(webhook_ca_file), "", "PEM file of the CA certificates an https:// webhook_url's certificate must chain to; empty: the system's trust store", NULL, 0, 0, CONF_RELOAD},
    {"webhook_queue_size", CONF_INT, OFF(webhook_queue_size), "1000", "notifications waiting for the webhook at most; beyond, the oldest is dropped (deliveries never wait)", NULL, 1, 0, CONF_RELOAD},
    {"webhook_retries", CONF_INT, OFF(webhook_retries), "5", "retries of a failed webhook request (no answer, 429, 5xx) after 1, 2, 4 ... seconds", NULL, 0, 0, CONF_RELOAD},
    {"webhook_timeout", CONF_DURATION, OFF(webhook_timeout), "5s", "longest wait for the webhook's answer", NULL, 1, 0, CONF_RELOAD},
    {"link_check_allowed", CONF_LIST, OFF(link_check_allowed), "", "hosts the link check (/api/v1/message/{ID}/link-check) may contact: name patterns (`*.example.com`, `localhost`, `*` for any name) or networks (`127.0.0.0/8`, `::1`) the name must resolve into; empty: none, every link answers 451 Blocked", NULL, 0, 0, CONF_RELOAD},
    {"html_check_max_nodes", CONF_INT, OFF(html_check_max_nodes), "10000", "HTML elements the HTML compatibility check (/api/v1/message/{ID}/html-check, `devmail check --html`) looks at, and twice as many tags it parses; the rest of a bigger message is not checked (parse time grows with nesting depth times tags)", NULL, 1, 1000000, CONF_RELOAD},
    {"attached_message_max_depth", CONF_INT, OFF(attached_message_max_depth), "3", "attached messages (message/rfc822 parts, a forwarded .eml) the API opens one inside the other: /api/v1/message/{ID}/part/{PartID}/message and the parts of an attached message; deeper ones answer 422 and their parts 404", NULL, 0, 32, CONF_RELOAD},
    {"calendar_max_size", CONF_SIZE, OFF(calendar_max_size), "256K", "largest calendar part (.ics, text/calendar) the invitation summary (/api/v1/message/{ID}/part/{PartID}/calendar) parses (an invitation is a few KB); 413 beyond", NULL, 1024, 0, CONF_RELOAD},
    {"link_check_timeout", CONF_DURATION, OFF(link_check_timeout), "10s", "longest wait for one link's answer", NULL, 1, 0, CONF_RELOAD},
    {"spamassassin", CONF_STR, OFF(spamassassin), "", "SpamAssassin's spamd (HOST:PORT) for the spam check (/api/v1/message/{ID}/sa-check, `devmail check --spam`); empty: off", NULL, 0, 0, CONF_RELOAD},
    {"spamassassin_timeout", CONF_DURATION, OFF(spamassassin_timeout), "8s", "longest wait for spamd's answer", NULL, 1, 0, CONF_RELOAD},
    {"relay_host", CONF_STR, OFF(relay_host), "", "SMTP server (HOST:PORT) that POST /api/v1/message/{ID}/release sends a caught message on to; empty: release is off. Nothing else ever leaves devmail", NULL, 0, 0, CONF_RELOAD},
    {"relay_tls", CONF_ENUM, OFF(relay_tls), "starttls", "TLS to the relay: none, starttls (required) or tls (implicit, port 465)", relay_tls_names, 0, 0, CONF_RELOAD},
    {"relay_tls_verify", CONF_BOOL, OFF(relay_tls_verify), "yes", "check the relay's certificate and host name against the system's CAs", NULL, 0, 0, CONF_RELOAD},
    {"relay_auth", CONF_ENUM, OFF(relay_auth), "none", "SMTP AUTH at the relay: none, plain or login (relay_username, relay_password)", relay_auth_names, 0, 0, CONF_RELOAD},
    {"relay_username", CONF_STR, OFF(relay_username), "", "user name for relay_auth", NULL, 0, 0, CONF_RELOAD},
    {"relay_password", CONF_STR, OFF(relay_password), "", "password for relay_auth (check-config does not print it)", NULL, 0, 0, CONF_RELOAD},
    {"relay_allowed_recipients", CONF_LIST, OFF(relay_allowed_recipients), "", "addresses a message may be released to, as shell patterns (`*@example.com`, `ann@*`), case-insensitive; empty: none, so nothing can leave unasked", NULL, 0, 0, CONF_RELOAD},
    {"relay_return_path", CONF_STR, OFF(relay_return_path), "", "envelope sender (and Return-Path) of released mail; empty: the message's Sender or From", NULL, 0, 0, CONF_RELOAD},
    {"relay_preserve_message_ids", CONF_BOOL, OFF(relay_preserve_message_ids), "no", "keep the Message-ID of a released message (default: a new one, so the copy is not taken for a duplicate)", NULL, 0, 0, CONF_RELOAD},
    {"relay_timeout", CONF_DURATION, OFF(relay_timeout), "60s", "longest wait for each of the relay's replies", NULL, 1, 0, CONF_RELOAD},
    {"retention", CONF_DURATION, OFF(retention), "7d", "messages older than this (by arrival) are expunged automatically; 0 disables", NULL, 0, 0, CONF_RELOAD},
    {"retention_count", CONF_INT, OFF(retention_count), "0", "keep at most this many messages per mailbox (oldest go first); 0 disables", NULL, 0, 0, CONF_RELOAD},
    {"min_free_disk", CONF_SIZE, OFF(min_free_disk), "64M", "refuse mail with 452 4.3.1 when the data filesystem has less free space", NULL, 0, 0, CONF_RELOAD},
    {"shutdown_timeout", CONF_DURATION, OFF(shutdown_timeout), "10s", "on SIGTERM, how long running transactions may take to finish", NULL, 0, 0, CONF_RELOAD},
    {"log_file", CONF_STR, OFF(log_file), "", "log file; empty logs to stderr, `syslog` to the system log (facility mail); a file is reopened on SIGHUP/SIGUSR1", NULL, 0, 0, CONF_RELOAD},
    {"log_level", CONF_ENUM, OFF(log_level), "info", "least important records logged: error, warning, info or debug (verbose implies debug)", log_level_names, 0, 0, CONF_RELOAD},
    {"verbose", CONF_BOOL, OFF(verbose), "no", "log every protocol line (-v)", NULL, 0, 0, CONF_RELOAD},
    {"pidfile", CONF_STR, OFF(pidfile), "", "write the server's pid here", NULL, 0, 0, CONF_RESTART},
    {"user", CONF_STR, OFF(user), "", "when started as root, switch to this user after binding", NULL, 0, 0, CONF_RESTART},
    {"group", CONF_STR, OFF(group), "", "group for `user` (default: the user's primary group)", NULL, 0, 0, CONF_RESTART},
    {NULL, 0, 0, NULL, NULL, NULL, 0, 0, 0},
};

/* Which source last assigned each list key; decides replace vs append. */
#define CONFIG_MAX_KEYS 128
static int list_source[CONFIG_MAX_KEYS];

void strlist_add(struct strlist *l, const char *s) {
    l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = xstrdup(s);
}

void strlist_clear(struct strlist *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

const struct config_entry *config_find(const char *key) {
    for (const struct config_entry *e = config_table; e->key; e++)
        if (strcmp(e->key, key) == 0) return e;
    return NULL;
}

const struct config_entry *config_find_flag(const char *flag) {
    char key[64];
    size_t n = strlen(flag);
    if (n >= sizeof key) return NULL;
    for (size_t i = 0; i <= n; i++) key[i] = flag[i] == '-' ? '_' : flag[i];
    return config_find(key);
}

int config_parse_size(const char *s, int64_t *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || errno || v < 0) return -1;
    int64_t mul = 1;
    if (*end) {
        switch (toupper((unsigned char)*end)) {
        case 'K': mul = 1024; break;
        case 'M': mul = 1024 * 1024; break;
        case 'G': mul = 1024LL * 1024 * 1024; break;
        default: return -1;
        }
        end++;
        if (*end == 'B' || *end == 'b') end++;
        if (*end) return -1;
    }
    if (v > INT64_MAX / mul) return -1;
    *out = v * mul;
    return 0;
}

int config_parse_duration(const char *s, int64_t *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || errno || v < 0) return -1;
    int64_t mul = 1;
    if (*end) {
        switch (*end) {
        case 's': mul = 1; break;
        case 'm': mul = 60; break;
        case 'h': mul = 3600; break;
        case 'd': mul = 86400; break;
        case 'w': mul = 7 * 86400; break;
        default: return -1;
        }
        if (end[1]) return -1;
    }
    if (v > INT64_MAX / mul) return -1;
    *out = v * mul;
    return 0;
}

int config_parse_bool(const char *s, bool *out) {
    if (!strcasecmp(s, "yes") || !strcasecmp(s, "true") || !strcasecmp(s, "on") || !strcmp(s, "1")) {
        *out = true;
        return 0;
    }
    if (!strcasecmp(s, "no") || !strcasecmp(s, "false") || !strcasecmp(s, "off") || !strcmp(s, "0")) {
        *out = false;
        return 0;
    }
    return -1;
}

static void list_assign(struct strlist *l, const char *value) {
    /* Comma or white space separated; an empty value leaves the list empty. */
    const char *p = value;
    while (*p) {
        while (*p == ',' || isspace((unsigned char)*p)) p++;
        const char *start = p;
        while (*p && *p != ',' && !isspace((unsigned char)*p)) p++;
        if (p > start) {
            char *item = xstrndup(start, (size_t)(p - start));
            strlist_add(l, item);
            free(item);
        }
    }
}

int config_set(struct config *cfg, const char *key, const char *value, int source, buf_t *err) {
    const struct config_entry *e = config_find(key);
    if (!e) {
        buf_printf(err, "unknown setting '%s'", key);
        return -1;
    }
    void *field = (char *)cfg + e->offset;
    switch (e->type) {
    case CONF_STR:
        free(*(char **)field);
        *(char **)field = xstrdup(value);
        return 0;
    case CONF_INT: {
        char *end;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (end == value || *end || errno || v < 0) {
            buf_printf(err, "%s: '%s' is not a non-negative number", key, value);
            return -1;
        }
        *(int64_t *)field = v;
        return 0;
    }
    case CONF_SIZE:
        if (config_parse_size(value, (int64_t *)field) < 0) {
            buf_printf(err, "%s: '%s' is not a size (e.g. 10240000, 512K, 10M)", key, value);
            return -1;
        }
        return 0;
    case CONF_DURATION:
        if (config_parse_duration(value, (int64_t *)field) < 0) {
            buf_printf(err, "%s: '%s' is not a duration (e.g. 30s, 5m, 12h, 7d)", key, value);
            return -1;
        }
        return 0;
    case CONF_BOOL:
        if (config_parse_bool(value, (bool *)field) < 0) {
            buf_printf(err, "%s: '%s' is not yes or no", key, value);
            return -1;
        }
        return 0;
    case CONF_ENUM:
        for (int i = 0; e->enum_names[i]; i++) {
            if (!strcasecmp(e->enum_names[i], value)) {
                *(int *)field = i;
                return 0;
            }
        }
        buf_printf(err, "%s: '%s' is not one of", key, value);
        for (int i = 0; e->enum_names[i]; i++) buf_printf(err, "%s %s", i ? "," : "", e->enum_names[i]);
        return -1;
    case CONF_LIST: {
        size_t idx = (size_t)(e - config_table);
        struct strlist *l = field;
        INVARIANT(idx < CONFIG_MAX_KEYS); /* raise CONFIG_MAX_KEYS with the table */
        if (idx >= CONFIG_MAX_KEYS) idx = CONFIG_MAX_KEYS - 1;
        if (list_source[idx] != source) {
            strlist_clear(l);
            list_source[idx] = source;
        }
        list_assign(l, value);
        return 0;
    }
    }
    return -1;
}

void config_defaults(struct config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    memset(list_source, 0, sizeof list_source);
    buf_t err = BUF_INIT;
    for (const struct config_entry *e = config_table; e->key; e++) {
        if (config_set(cfg, e->key, e->def, 0, &err) < 0) {
            fprintf(stderr, "devmail: bad built-in default: %s\n", buf_cstr(&err));
            abort();
        }
    }
    buf_free(&err);
}

void config_free(struct config *cfg) {
    for (const struct config_entry *e = config_table; e->key; e++) {
        void *field = (char *)cfg + e->offset;
        if (e->type == CONF_STR) free(*(char **)field);
        else if (e->type == CONF_LIST) strlist_clear(field);
    }
    memset(cfg, 0, sizeof *cfg);
}

static char *trim(char *s, char *end) {
    while (s < end && isspace((unsigned char)*s)) s++;
    while (end > s && isspace((unsigned char)end[-1])) end--;
    *end = '\0';
    return s;
}

int config_parse_text(struct config *cfg, const char *name, const char *text, size_t len, buf_t *err) {
    char *copy = xstrndup(text, len);
    int lineno = 0, rc = 0;
    char *p = copy;
    /* Walk lines by hand: strtok would skip empty lines and miscount. */
    while (p && rc == 0) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = '\0';
        lineno++;
        char *line = p;
        p = nl ? nl + 1 : NULL;
        /* '#' starts a comment, except inside a value quoted from its start */
        char quote = 0, prev = 0;
        for (char *c = line; *c; c++) {
            if (quote) {
                if (*c == quote) quote = 0;
            } else if ((*c == '"' || *c == '\'') && prev == '=') {
                quote = *c;
            } else if (*c == '#') {
                *c = '\0';
                break;
            }
            if (!isspace((unsigned char)*c)) prev = *c;
        }
        char *t = trim(line, line + strlen(line));
        if (!*t) continue;
        char *eq = strchr(t, '=');
        if (!eq) {
            buf_printf(err, "%s:%d: expected 'key = value'", name, lineno);
            rc = -1;
            break;
        }
        char *key = trim(t, eq);
        char *val = trim(eq + 1, eq + 1 + strlen(eq + 1));
        /* Allow optional quotes around a value: key = "" */
        size_t vl = strlen(val);
        if (vl >= 2 && ((val[0] == '"' && val[vl - 1] == '"') || (val[0] == '\'' && val[vl - 1] == '\''))) {
            val[vl - 1] = '\0';
            val++;
        }
        buf_t why = BUF_INIT;
        if (config_set(cfg, key, val, 1, &why) < 0) {
            buf_printf(err, "%s:%d: %s", name, lineno, buf_cstr(&why));
            rc = -1;
        }
        buf_free(&why);
    }
    free(copy);
    return rc;
}

int config_load_file(struct config *cfg, const char *path, buf_t *err) {
    buf_t text = BUF_INIT;
    int rc = buf_load_file_or_explain(&text, path, err);
    if (rc == 0) rc = config_parse_text(cfg, path, text.data ? text.data : "", text.len, err);
    buf_free(&text);
    return rc;
}

static void env_name(const char *key, char *out, size_t n) {
    snprintf(out, n, "DEVMAIL_%s", key);
    for (char *c = out; *c; c++) *c = (char)toupper((unsigned char)*c);
}

int config_load_env(struct config *cfg, buf_t *err) {
    char name[96];
    for (const struct config_entry *e = config_table; e->key; e++) {
        env_name(e->key, name, sizeof name);
        const char *v = getenv(name);
        if (!v) continue;
        buf_t why = BUF_INIT;
        if (config_set(cfg, e->key, v, 2, &why) < 0) {
            buf_printf(err, "%s: %s", name, buf_cstr(&why));
            buf_free(&why);
            return -1;
        }
        buf_free(&why);
    }
    return 0;
}

int config_validate(const struct config *cfg, buf_t *err) {
    if (!cfg->hostname[0]) {
        buf_printf(err, "hostname must not be empty");
        return -1;
    }
    if (!cfg->data_dir[0]) {
        buf_printf(err, "data_dir must not be empty");
        return -1;
    }
    if ((cfg->tls_cert[0] != 0) != (cfg->tls_key[0] != 0)) {
        buf_printf(err, "tls_cert and tls_key must be set together");
        return -1;
    }
    /* each number within its key's bounds (the table says which) */
    for (const struct config_entry *e = config_table; e->key; e++) {
        if (e->type != CONF_INT && e->type != CONF_SIZE && e->type != CONF_DURATION) continue;
        int64_t v = *(const int64_t *)((const char *)cfg + e->offset);
        if (v < e->min) {
            buf_printf(err, "%s must be at least %lld", e->key, (long long)e->min);
            return -1;
        }
        if (e->max && v > e->max) {
            buf_printf(err, "%s must be at most %lld", e->key, (long long)e->max);
            return -1;
        }
    }
    struct chaos chaos;
    if (chaos_parse(cfg->chaos_triggers, &chaos, err) < 0) return -1;
    if (cfg->relay_host[0] && !strrchr(cfg->relay_host, ':')) {
        buf_printf(err, "relay_host must be HOST:PORT");
        return -1;
    }
    struct tag_rule *rules;
    size_t nrules;
    buf_t why = BUF_INIT;
    if (tag_rules_parse(cfg->tag, &rules, &nrules, &why) < 0) {
        buf_printf(err, "tag: %s", buf_cstr(&why));
        buf_free(&why);
        return -1;
    }
    tag_rules_free(rules, nrules);
    buf_free(&why);
    if (cfg->webhook_url[0] && strncasecmp(cfg->webhook_url, "http://", 7) != 0 &&
        strncasecmp(cfg->webhook_url, "https://", 8) != 0) {
        buf_printf(err, "webhook_url must be an http:// or https:// URL");
        return -1;
    }
    if (cfg->smtp_auth == SMTP_AUTH_REQUIRED || cfg->smtp_auth == SMTP_AUTH_OPTIONAL) {
        if (!cfg->passdb[0]) {
            buf_printf(err, "smtp_auth = %s needs a passdb", cfg->smtp_auth == SMTP_AUTH_REQUIRED ? "required" : "optional");
            return -1;
        }
    }
    return 0;
}

static void value_text(const struct config *cfg, const struct config_entry *e, buf_t *out) {
    const void *field = (const char *)cfg + e->offset;
    switch (e->type) {
    case CONF_STR: buf_append_str(out, *(char *const *)field); break;
    case CONF_INT:
    case CONF_SIZE: buf_printf(out, "%lld", (long long)*(const int64_t *)field); break;
    case CONF_DURATION: {
        int64_t v = *(const int64_t *)field;
        if (v && v % 86400 == 0) buf_printf(out, "%lldd", (long long)(v / 86400));
        else if (v && v % 3600 == 0) buf_printf(out, "%lldh", (long long)(v / 3600));
        else if (v && v % 60 == 0) buf_printf(out, "%lldm", (long long)(v / 60));
        else buf_printf(out, "%llds", (long long)v);
        break;
    }
    case CONF_BOOL: buf_append_str(out, *(const bool *)field ? "yes" : "no"); break;
    case CONF_ENUM: buf_append_str(out, e->enum_names[*(const int *)field]); break;
    case CONF_LIST: {
        const struct strlist *l = field;
        for (size_t i = 0; i < l->n; i++) buf_printf(out, "%s%s", i ? ", " : "", l->v[i]);
        break;
    }
    }
}

void config_dump(const struct config *cfg, buf_t *out) {
    for (const struct config_entry *e = config_table; e->key; e++) {
        buf_printf(out, "%s = ", e->key);
        size_t kl = strlen(e->key);
        /* secrets are not printed */
        const char *const *sv = (const char *const *)(const void *)((const char *)cfg + e->offset);
        if (e->type == CONF_STR && kl > 9 && !strcmp(e->key + kl - 9, "_password") && (*sv)[0]) {
            buf_append_str(out, "(set)\n");
            continue;
        }
        value_text(cfg, e, out);
        buf_append_char(out, '\n');
    }
}

void config_reference(buf_t *out) {
    char env[96];
    buf_append_str(out, "| key | flag | environment | default | SIGHUP | meaning |\n"
                        "| --- | --- | --- | --- | --- | --- |\n");
    for (const struct config_entry *e = config_table; e->key; e++) {
        env_name(e->key, env, sizeof env);
        buf_printf(out, "| `%s` | `--", e->key);
        for (const char *c = e->key; *c; c++) buf_append_char(out, *c == '_' ? '-' : *c);
        buf_printf(out, "` | `%s` | `%s` | %s | %s", env, e->def[0] ? e->def : "\"\"",
                   e->reload == CONF_RESTART ? "restart" : "applied", e->help);
        if (e->min > 0 && e->max > 0) buf_printf(out, " (%lld to %lld)", (long long)e->min, (long long)e->max);
        else if (e->min > 0) buf_printf(out, " (at least %lld)", (long long)e->min);
        else if (e->max > 0) buf_printf(out, " (at most %lld)", (long long)e->max);
        buf_append_str(out, " |\n");
    }
}
