/*
 * client_setup - mail-client settings documents; see client_setup.h.
 *
 * Formats:
 *   Thunderbird  https://wiki.mozilla.org/Thunderbird:Autoconfiguration:ConfigFileFormat
 *                (read by Thunderbird's readFromXML: the first emailProvider
 *                counts, its first usable incomingServer/outgoingServer win)
 *   Outlook      [MS-OXDSCLI] POX autodiscover, responseschema 2006a
 *                (Protocol Type IMAP/POP3/SMTP, Encryption SSL or TLS)
 *   Apple        Configuration Profile Reference, Mail payload
 *                (com.apple.mail.managed) and Root payload
 *                (com.apple.security.root)
 * Every value taken from a request (the address) is XML-escaped; no I/O.
 */
#include "app/client_setup.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/util.h>
#include <glib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/xalloc.h"

/* ---- helpers ------------------------------------------------------------ */

/* Append s XML-escaped (element text and attribute values alike). */
static void xml_text(buf_t *out, const char *s) {
    gchar *e = g_markup_escape_text(s, -1);
    buf_append_str(out, e);
    g_free(e);
}

/* "<name>text</name>\n" with indentation. */
static void xml_elem(buf_t *out, int indent, const char *name, const char *text) {
    buf_printf(out, "%*s<%s>", indent, "", name);
    xml_text(out, text);
    buf_printf(out, "</%s>\n", name);
}

bool client_setup_valid_domain(const char *s, size_t len) {
    if (len == 0 || len > CLIENT_SETUP_MAX_DOMAIN) return false;
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            if (label == 0 || s[i - 1] == '-') return false;
            label = 0;
            continue;
        }
        if (!isalnum(c) && c != '-') return false;
        if (c == '-' && label == 0) return false;
        if (++label > 63) return false;
    }
    return label > 0 && s[len - 1] != '-';
}

static bool list_has(char **v, size_t n, const char *s) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i], s)) return true;
    return false;
}

static void lower(char *s) {
    for (; *s; s++) *s = (char)tolower((unsigned char)*s);
}

/* The host a client should connect to for a listen address: the address
 * itself, or hostname for a wildcard (0.0.0.0, [::]). false: unusable. */
static bool listener_host(const char *listen, const char *hostname, char **host, int *port) {
    struct sockaddr_storage ss;
    int len = (int)sizeof ss;
    memset(&ss, 0, sizeof ss);
    if (evutil_parse_sockaddr_port(listen, (struct sockaddr *)&ss, &len) != 0) return false;
    char text[INET6_ADDRSTRLEN];
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
        *port = ntohs(a->sin_port);
        if (a->sin_addr.s_addr == htonl(INADDR_ANY)) {
            *host = xstrdup(hostname);
        } else {
            if (!inet_ntop(AF_INET, &a->sin_addr, text, sizeof text)) return false;
            *host = xstrdup(text);
        }
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
        *port = ntohs(a->sin6_port);
        if (IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr)) {
            *host = xstrdup(hostname);
        } else {
            if (!inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text)) return false;
            *host = xstrdup(text);
        }
    } else {
        return false;
    }
    return *port > 0;
}

bool client_setup_listen_url(const char *listen, const char *hostname, const char *scheme, buf_t *out) {
    char *host;
    int port;
    if (!listener_host(listen, hostname, &host, &port)) return false;
    bool v6 = strchr(host, ':') != NULL;
    buf_printf(out, "%s://%s%s%s:%d", scheme, v6 ? "[" : "", host, v6 ? "]" : "", port);
    free(host);
    return true;
}

static void add_servers(struct client_setup *cs, const struct strlist *l, const char *hostname,
                        enum client_setup_proto proto, enum client_setup_socket sock, enum client_setup_auth auth) {
    for (size_t i = 0; i < l->n; i++) {
        char *host;
        int port;
        if (!listener_host(l->v[i], hostname, &host, &port)) continue;
        cs->servers = xrealloc(cs->servers, (cs->nservers + 1) * sizeof *cs->servers);
        cs->servers[cs->nservers++] = (struct client_setup_server){proto, sock, auth, host, port};
    }
}

static const struct client_setup_server *first_server(const struct client_setup *cs, enum client_setup_proto p) {
    for (size_t i = 0; i < cs->nservers; i++)
        if (cs->servers[i].proto == p) return &cs->servers[i];
    return NULL;
}

static const struct client_setup_server *first_incoming(const struct client_setup *cs) {
    const struct client_setup_server *s = first_server(cs, CLIENT_SETUP_IMAP);
    return s ? s : first_server(cs, CLIENT_SETUP_POP3);
}

/* ---- building ------------------------------------------------------------ */

int client_setup_build(struct client_setup *cs, const struct config *cfg, const char *address, const char *ca_pem,
                       buf_t *err) {
    memset(cs, 0, sizeof *cs);
    char *domain = NULL;
    if (address && *address) {
        size_t len = strlen(address);
        const char *at = strrchr(address, '@');
        /* UTF-8 only (RFC 6531): the documents are UTF-8 XML */
        if (len > CLIENT_SETUP_MAX_ADDRESS || !g_utf8_validate(address, (gssize)len, NULL) || !at || at == address ||
            strchr(address, '@') != at ||
            !client_setup_valid_domain(at + 1, strlen(at + 1))) {
            buf_printf(err, "not an email address (local@domain)");
            return -1;
        }
        for (const char *p = address; p < at; p++)
            if ((unsigned char)*p <= ' ' || *p == '<' || *p == '>' || *p == '"' || *p == '\\' || *p == 0x7f) {
                buf_printf(err, "not an email address (local@domain)");
                return -1;
            }
        cs->address = xstrdup(address);
        lower(cs->address + (at - address) + 1);
        domain = cs->address + (at - address) + 1;
    }
    cs->hostname = xstrdup(cfg->hostname);
    /* Domains: the served ones; without any (zero config) every recipient
     * is accepted, so the address's own domain and the catch-all's. */
    if (domain) {
        cs->address_served = cfg->domains.n == 0;
        for (size_t i = 0; i < cfg->domains.n; i++)
            if (!strcasecmp(cfg->domains.v[i], domain)) cs->address_served = true;
    }
    cs->domains = xcalloc(cfg->domains.n + 2, sizeof *cs->domains);
    if (domain && cs->address_served) cs->domains[cs->ndomains++] = xstrdup(domain);
    for (size_t i = 0; i < cfg->domains.n; i++) {
        char *d = xstrdup(cfg->domains.v[i]);
        lower(d);
        if (list_has(cs->domains, cs->ndomains, d)) free(d);
        else cs->domains[cs->ndomains++] = d;
    }
    if (cfg->domains.n == 0) {
        const char *at = strrchr(cfg->default_account, '@');
        const char *d = at ? at + 1 : "localhost";
        if (client_setup_valid_domain(d, strlen(d)) && !list_has(cs->domains, cs->ndomains, d)) {
            cs->domains[cs->ndomains] = xstrdup(d);
            lower(cs->domains[cs->ndomains++]);
        }
    }
    enum client_setup_auth smtp_auth =
        cfg->smtp_auth == SMTP_AUTH_OFF ? CLIENT_SETUP_AUTH_NONE : CLIENT_SETUP_AUTH_PASSWORD;
    add_servers(cs, &cfg->imaps_listen, cfg->hostname, CLIENT_SETUP_IMAP, CLIENT_SETUP_SSL, CLIENT_SETUP_AUTH_PASSWORD);
    add_servers(cs, &cfg->imap_listen, cfg->hostname, CLIENT_SETUP_IMAP, CLIENT_SETUP_STARTTLS,
                CLIENT_SETUP_AUTH_PASSWORD);
    add_servers(cs, &cfg->pop3s_listen, cfg->hostname, CLIENT_SETUP_POP3, CLIENT_SETUP_SSL, CLIENT_SETUP_AUTH_PASSWORD);
    add_servers(cs, &cfg->pop3_listen, cfg->hostname, CLIENT_SETUP_POP3, CLIENT_SETUP_STARTTLS,
                CLIENT_SETUP_AUTH_PASSWORD);
    add_servers(cs, &cfg->smtps_listen, cfg->hostname, CLIENT_SETUP_SMTP, CLIENT_SETUP_SSL, smtp_auth);
    add_servers(cs, &cfg->smtp_listen, cfg->hostname, CLIENT_SETUP_SMTP, CLIENT_SETUP_STARTTLS, smtp_auth);
    cs->any_password = !cfg->passdb[0];
    cs->ca_pem = ca_pem ? xstrdup(ca_pem) : NULL;
    return 0;
}

void client_setup_free(struct client_setup *cs) {
    free(cs->hostname);
    free(cs->address);
    for (size_t i = 0; i < cs->ndomains; i++) free(cs->domains[i]);
    free(cs->domains);
    for (size_t i = 0; i < cs->nservers; i++) free(cs->servers[i].host);
    free(cs->servers);
    free(cs->ca_pem);
    memset(cs, 0, sizeof *cs);
}

static const char *proto_name(enum client_setup_proto p) {
    return p == CLIENT_SETUP_IMAP ? "IMAP" : p == CLIENT_SETUP_POP3 ? "POP3" : "SMTP";
}

static int need_servers(const struct client_setup *cs, buf_t *err) {
    if (!first_incoming(cs)) {
        buf_printf(err, "no IMAP or POP3 listener is configured");
        return -1;
    }
    if (!first_server(cs, CLIENT_SETUP_SMTP)) {
        buf_printf(err, "no SMTP listener is configured");
        return -1;
    }
    return 0;
}

/* ---- Thunderbird --------------------------------------------------------- */

/*
 * clientConfig version="1.1"
 *   emailProvider id=DOMAIN: domain, displayName, displayShortName,
 *     incomingServer type=imap|pop3: hostname port socketType username authentication
 *     outgoingServer type=smtp: hostname port socketType [username] authentication
 */
int client_setup_thunderbird(const struct client_setup *cs, buf_t *out, buf_t *err) {
    if (need_servers(cs, err) < 0) return -1;
    buf_append_str(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<clientConfig version=\"1.1\">\n");
    for (size_t d = 0; d < cs->ndomains; d++) {
        buf_append_str(out, "  <emailProvider id=\"");
        xml_text(out, cs->domains[d]);
        buf_append_str(out, "\">\n");
        xml_elem(out, 4, "domain", cs->domains[d]);
        buf_t name = BUF_INIT;
        buf_printf(&name, "devmail %s (%s)", cs->hostname, cs->domains[d]);
        xml_elem(out, 4, "displayName", buf_cstr(&name));
        buf_free(&name);
        xml_elem(out, 4, "displayShortName", "devmail");
        for (size_t i = 0; i < cs->nservers; i++) {
            const struct client_setup_server *s = &cs->servers[i];
            bool in = s->proto != CLIENT_SETUP_SMTP;
            buf_printf(out, "    <%s type=\"%s\">\n", in ? "incomingServer" : "outgoingServer",
                       s->proto == CLIENT_SETUP_IMAP ? "imap" : s->proto == CLIENT_SETUP_POP3 ? "pop3" : "smtp");
            xml_elem(out, 6, "hostname", s->host);
            buf_printf(out, "      <port>%d</port>\n", s->port);
            xml_elem(out, 6, "socketType", s->socket == CLIENT_SETUP_SSL ? "SSL" : "STARTTLS");
            if (s->auth == CLIENT_SETUP_AUTH_PASSWORD) {
                xml_elem(out, 6, "username", "%EMAILADDRESS%");
                xml_elem(out, 6, "authentication", "password-cleartext");
            } else {
                xml_elem(out, 6, "authentication", "none");
            }
            buf_printf(out, "    </%s>\n", in ? "incomingServer" : "outgoingServer");
        }
        buf_append_str(out, "  </emailProvider>\n");
    }
    buf_append_str(out, "</clientConfig>\n");
    return 0;
}

/* ---- Outlook autodiscover ------------------------------------------------ */

#define AUTODISCOVER_NS "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
#define AUTODISCOVER_OUTLOOK_NS "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"

void client_setup_autodiscover(const struct client_setup *cs, buf_t *out) {
    buf_append_str(out, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Autodiscover xmlns=\"" AUTODISCOVER_NS "\">\n");
    if (!cs->address || !cs->address_served || !first_incoming(cs)) {
        /* [MS-OXDSCLI] 2.2.4.1.1.2.1: ErrorCode 600 "Invalid Request" */
        buf_append_str(out, "  <Response>\n    <Error Id=\"0\">\n      <ErrorCode>600</ErrorCode>\n"
                            "      <Message>Invalid Request</Message>\n      <DebugData>");
        xml_text(out, !cs->address ? "no EMailAddress in the request"
                      : !cs->address_served ? "this server does not serve the address's domain"
                                            : "no IMAP or POP3 listener is configured");
        buf_append_str(out, "</DebugData>\n    </Error>\n  </Response>\n</Autodiscover>\n");
        return;
    }
    buf_append_str(out, "  <Response xmlns=\"" AUTODISCOVER_OUTLOOK_NS "\">\n    <User>\n");
    buf_t name = BUF_INIT;
    buf_printf(&name, "devmail %s", cs->hostname);
    xml_elem(out, 6, "DisplayName", buf_cstr(&name));
    buf_free(&name);
    buf_append_str(out, "    </User>\n    <Account>\n      <AccountType>email</AccountType>\n"
                        "      <Action>settings</Action>\n");
    for (size_t i = 0; i < cs->nservers; i++) {
        const struct client_setup_server *s = &cs->servers[i];
        bool auth = s->auth == CLIENT_SETUP_AUTH_PASSWORD;
        buf_append_str(out, "      <Protocol>\n");
        xml_elem(out, 8, "Type", proto_name(s->proto));
        xml_elem(out, 8, "Server", s->host);
        buf_printf(out, "        <Port>%d</Port>\n", s->port);
        xml_elem(out, 8, "DomainRequired", "off");
        if (auth) xml_elem(out, 8, "LoginName", cs->address);
        xml_elem(out, 8, "SPA", "off");
        xml_elem(out, 8, "SSL", "on");
        /* "TLS" is STARTTLS, "SSL" TLS from the first byte */
        xml_elem(out, 8, "Encryption", s->socket == CLIENT_SETUP_SSL ? "SSL" : "TLS");
        xml_elem(out, 8, "AuthRequired", auth ? "on" : "off");
        if (s->proto == CLIENT_SETUP_SMTP) {
            xml_elem(out, 8, "UsePOPAuth", auth ? "on" : "off");
            xml_elem(out, 8, "SMTPLast", "off");
        }
        buf_append_str(out, "      </Protocol>\n");
    }
    buf_append_str(out, "    </Account>\n  </Response>\n</Autodiscover>\n");
}

struct ad_parse {
    bool in_address;
    bool found;
    buf_t *out;
};

static const char *local_name(const char *name) {
    const char *c = strrchr(name, ':');
    return c ? c + 1 : name;
}

static void ad_start(GMarkupParseContext *ctx, const gchar *name, const gchar **an, const gchar **av, gpointer data,
                     GError **error) {
    struct ad_parse *p = data;
    if (!p->found && !strcmp(local_name(name), "EMailAddress")) p->in_address = true;
}

static void ad_end(GMarkupParseContext *ctx, const gchar *name, gpointer data, GError **error) {
    struct ad_parse *p = data;
    if (p->in_address) {
        p->in_address = false;
        p->found = true;
    }
}

static void ad_text(GMarkupParseContext *ctx, const gchar *text, gsize len, gpointer data, GError **error) {
    struct ad_parse *p = data;
    if (p->in_address) buf_append(p->out, text, len);
}

/* Request: <Autodiscover><Request><EMailAddress>a@b</EMailAddress>
 * <AcceptableResponseSchema>...</AcceptableResponseSchema></Request></Autodiscover>
 * GMarkup expands no external entities and keeps no DTD. */
int client_setup_autodiscover_request(const char *body, size_t len, buf_t *out) {
    buf_t addr = BUF_INIT;
    struct ad_parse p = {false, false, &addr};
    GMarkupParser parser = {ad_start, ad_end, ad_text, NULL, NULL};
    GMarkupParseContext *ctx = g_markup_parse_context_new(&parser, 0, &p, NULL);
    GError *gerr = NULL;
    bool ok = g_markup_parse_context_parse(ctx, body, (gssize)len, &gerr) &&
              g_markup_parse_context_end_parse(ctx, &gerr);
    if (gerr) g_error_free(gerr);
    g_markup_parse_context_free(ctx);
    /* trim the whitespace around the address */
    size_t s = 0, e = addr.len;
    while (s < e && isspace((unsigned char)addr.data[s])) s++;
    while (e > s && isspace((unsigned char)addr.data[e - 1])) e--;
    int rc = -1;
    if (ok && p.found && e > s) {
        buf_append(out, addr.data + s, e - s);
        rc = 0;
    }
    buf_free(&addr);
    return rc;
}

/* ---- Apple profile --------------------------------------------------------- */

/* A name-based UUID (RFC 9562 5.8 layout, SHA-256 of the parts) so that
 * the same server and address always give the same identifiers. */
static void stable_uuid(const struct client_setup *cs, const char *kind, char out[37]) {
    buf_t in = BUF_INIT;
    buf_printf(&in, "devmail\n%s\n%s\n%s", cs->hostname, cs->address ? cs->address : "", kind);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_Digest(in.data, in.len, md, &mdlen, EVP_sha256(), NULL);
    buf_free(&in);
    md[6] = (unsigned char)((md[6] & 0x0f) | 0x80);
    md[8] = (unsigned char)((md[8] & 0x3f) | 0x80);
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = hex[md[i] >> 4];
        out[o++] = hex[md[i] & 15];
    }
    out[o] = '\0';
}

static void plist_key_string(buf_t *out, int indent, const char *key, const char *value) {
    buf_printf(out, "%*s<key>%s</key>\n", indent, "", key);
    xml_elem(out, indent, "string", value);
}

static void plist_key_int(buf_t *out, int indent, const char *key, int value) {
    buf_printf(out, "%*s<key>%s</key>\n%*s<integer>%d</integer>\n", indent, "", key, indent, "", value);
}

static void plist_key_bool(buf_t *out, int indent, const char *key, bool value) {
    buf_printf(out, "%*s<key>%s</key>\n%*s<%s/>\n", indent, "", key, indent, "", value ? "true" : "false");
}

/* The certificate of a PEM text, DER in base64 (for a plist <data>). */
static int pem_to_der_base64(const char *pem, buf_t *out) {
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (!x) return -1;
    unsigned char *der = NULL;
    int len = i2d_X509(x, &der);
    X509_free(x);
    if (len <= 0) return -1;
    /* 64 characters a line, as Apple's own profiles */
    for (int off = 0; off < len; off += 48) {
        int n = len - off < 48 ? len - off : 48;
        unsigned char line[65];
        EVP_EncodeBlock(line, der + off, n);
        buf_printf(out, "      %s\n", line);
    }
    OPENSSL_free(der);
    return 0;
}

int client_setup_mobileconfig(const struct client_setup *cs, buf_t *out, buf_t *err) {
    if (need_servers(cs, err) < 0) return -1;
    const struct client_setup_server *in = first_incoming(cs);
    const struct client_setup_server *smtp = first_server(cs, CLIENT_SETUP_SMTP);
    buf_t ca = BUF_INIT;
    if (cs->ca_pem && pem_to_der_base64(cs->ca_pem, &ca) < 0) {
        buf_printf(err, "the local CA certificate is not PEM");
        buf_free(&ca);
        return -1;
    }
    char uuid[37], mail_uuid[37], ca_uuid[37];
    stable_uuid(cs, "profile", uuid);
    stable_uuid(cs, "mail", mail_uuid);
    stable_uuid(cs, "ca", ca_uuid);
    buf_t id = BUF_INIT, text = BUF_INIT;
    buf_printf(&id, "devmail.%s%s%s", cs->hostname, cs->address ? "." : "", cs->address ? cs->address : "");
    buf_append_str(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                        "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
                        "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
                        "<plist version=\"1.0\">\n<dict>\n  <key>PayloadContent</key>\n  <array>\n    <dict>\n");
    buf_printf(&text, "devmail %s", cs->hostname);
    plist_key_string(out, 6, "EmailAccountDescription", buf_cstr(&text));
    if (cs->address) {
        buf_reset(&text);
        buf_append(&text, cs->address, (size_t)(strchr(cs->address, '@') - cs->address));
        plist_key_string(out, 6, "EmailAccountName", buf_cstr(&text));
        plist_key_string(out, 6, "EmailAddress", cs->address);
    }
    plist_key_string(out, 6, "EmailAccountType", in->proto == CLIENT_SETUP_IMAP ? "EmailTypeIMAP" : "EmailTypePOP");
    plist_key_string(out, 6, "IncomingMailServerAuthentication", "EmailAuthPassword");
    plist_key_string(out, 6, "IncomingMailServerHostName", in->host);
    plist_key_int(out, 6, "IncomingMailServerPortNumber", in->port);
    /* Apple Mail speaks STARTTLS on a non-TLS port when UseSSL is set */
    plist_key_bool(out, 6, "IncomingMailServerUseSSL", true);
    if (cs->address) plist_key_string(out, 6, "IncomingMailServerUsername", cs->address);
    bool smtp_auth = smtp->auth == CLIENT_SETUP_AUTH_PASSWORD;
    plist_key_string(out, 6, "OutgoingMailServerAuthentication", smtp_auth ? "EmailAuthPassword" : "EmailAuthNone");
    plist_key_string(out, 6, "OutgoingMailServerHostName", smtp->host);
    plist_key_int(out, 6, "OutgoingMailServerPortNumber", smtp->port);
    plist_key_bool(out, 6, "OutgoingMailServerUseSSL", true);
    if (smtp_auth && cs->address) plist_key_string(out, 6, "OutgoingMailServerUsername", cs->address);
    plist_key_bool(out, 6, "OutgoingPasswordSameAsIncomingPassword", smtp_auth);
    plist_key_string(out, 6, "PayloadDescription", "Mail account on the devmail development mail server");
    buf_reset(&text);
    buf_printf(&text, "devmail mail account%s%s", cs->address ? " " : "", cs->address ? cs->address : "");
    plist_key_string(out, 6, "PayloadDisplayName", buf_cstr(&text));
    buf_reset(&text);
    buf_printf(&text, "%s.mail", buf_cstr(&id));
    plist_key_string(out, 6, "PayloadIdentifier", buf_cstr(&text));
    plist_key_string(out, 6, "PayloadType", "com.apple.mail.managed");
    plist_key_string(out, 6, "PayloadUUID", mail_uuid);
    plist_key_int(out, 6, "PayloadVersion", 1);
    plist_key_bool(out, 6, "PreventAppSheet", false);
    plist_key_bool(out, 6, "PreventMove", false);
    plist_key_bool(out, 6, "SMIMEEnabled", false);
    buf_append_str(out, "    </dict>\n");
    if (cs->ca_pem) {
        buf_append_str(out, "    <dict>\n");
        plist_key_string(out, 6, "PayloadCertificateFileName", "devmail-ca.crt");
        buf_append_str(out, "      <key>PayloadContent</key>\n      <data>\n");
        buf_append(out, ca.data, ca.len);
        buf_append_str(out, "      </data>\n");
        plist_key_string(out, 6, "PayloadDescription", "The local certificate authority that signs devmail's TLS certificate");
        buf_reset(&text);
        buf_printf(&text, "devmail local CA (%s)", cs->hostname);
        plist_key_string(out, 6, "PayloadDisplayName", buf_cstr(&text));
        buf_reset(&text);
        buf_printf(&text, "%s.ca", buf_cstr(&id));
        plist_key_string(out, 6, "PayloadIdentifier", buf_cstr(&text));
        plist_key_string(out, 6, "PayloadType", "com.apple.security.root");
        plist_key_string(out, 6, "PayloadUUID", ca_uuid);
        plist_key_int(out, 6, "PayloadVersion", 1);
        buf_append_str(out, "    </dict>\n");
    }
    buf_append_str(out, "  </array>\n");
    plist_key_string(out, 2, "PayloadDescription",
                     cs->ca_pem ? "Mail account and local CA of the devmail development mail server"
                                : "Mail account of the devmail development mail server");
    buf_reset(&text);
    buf_printf(&text, "devmail %s", cs->hostname);
    plist_key_string(out, 2, "PayloadDisplayName", buf_cstr(&text));
    plist_key_string(out, 2, "PayloadIdentifier", buf_cstr(&id));
    plist_key_bool(out, 2, "PayloadRemovalDisallowed", false);
    plist_key_string(out, 2, "PayloadType", "Configuration");
    plist_key_string(out, 2, "PayloadUUID", uuid);
    plist_key_int(out, 2, "PayloadVersion", 1);
    buf_append_str(out, "</dict>\n</plist>\n");
    buf_free(&id);
    buf_free(&text);
    buf_free(&ca);
    return 0;
}

/* ---- text ------------------------------------------------------------------ */

void client_setup_text(const struct client_setup *cs, const char *http_base, const char *ca_path, buf_t *out) {
    const char *user = cs->address ? cs->address : "your address (user@domain)";
    buf_printf(out, "Mail client settings for %s on devmail %s\n", cs->address ? cs->address : "any address",
               cs->hostname);
    if (cs->address && !cs->address_served) buf_printf(out, "  note: %s is not in a served domain\n", cs->address);
    if (cs->ndomains) {
        buf_append_str(out, "  domains:");
        for (size_t i = 0; i < cs->ndomains; i++) buf_printf(out, " %s", cs->domains[i]);
        buf_append_char(out, '\n');
    }
    static const char *const titles[] = {"Incoming mail (IMAP)", "Incoming mail (POP3)", "Outgoing mail (SMTP)"};
    for (int p = CLIENT_SETUP_IMAP; p <= CLIENT_SETUP_SMTP; p++) {
        bool any = false;
        for (size_t i = 0; i < cs->nservers; i++) {
            const struct client_setup_server *s = &cs->servers[i];
            if ((int)s->proto != p) continue;
            if (!any) buf_printf(out, "\n%s\n", titles[p]);
            any = true;
            buf_printf(out, "  server %s  port %d  %s  ", s->host, s->port,
                       s->socket == CLIENT_SETUP_SSL ? "SSL/TLS" : "STARTTLS");
            if (s->auth == CLIENT_SETUP_AUTH_PASSWORD) buf_printf(out, "user %s, normal password\n", user);
            else buf_append_str(out, "no authentication\n");
        }
    }
    buf_printf(out, "\nPassword: %s\n",
               cs->any_password ? "any (no passdb: every login is accepted)" : "the account's password in the passdb");
    if (http_base) {
        buf_append_str(out, "\nAutomatic setup\n");
        buf_printf(out, "  Thunderbird autoconfig  %s/.well-known/autoconfig/mail/config-v1.1.xml\n", http_base);
        buf_printf(out, "  Outlook autodiscover    %s/autodiscover/autodiscover.xml (POST)\n", http_base);
        buf_printf(out, "  Apple profile           %s/client-setup/devmail.mobileconfig%s", http_base,
                   cs->address ? "?emailaddress=" : "\n");
        if (cs->address) {
            /* the address in a URL query: escape what is not unreserved */
            for (const char *c = cs->address; *c; c++) {
                if (isalnum((unsigned char)*c) || strchr("-._~@", *c)) buf_append_char(out, *c);
                else buf_printf(out, "%%%02X", (unsigned char)*c);
            }
            buf_append_char(out, '\n');
        }
        if (cs->ca_pem) buf_printf(out, "  local CA certificate    %s/client-setup/ca.crt\n", http_base);
    }
    if (cs->ca_pem) {
        buf_append_str(out, "\nTLS: the server certificate is signed by devmail's local CA; import it once\n"
                            "(README: Connecting a mail client) and no client asks about the certificate.\n");
        if (ca_path) buf_printf(out, "  CA certificate: %s (devmail ca-cert prints it)\n", ca_path);
    }
}
