/*
 * autoconfig - mail-client setup routes; see autoconfig.h. Each answer
 * is built per request from the running configuration (app->cfg, which
 * SIGHUP may replace) and, for the CA, the certificate file in the data
 * directory.
 */
#include "http/autoconfig.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "app/client_setup.h"
#include "net/tls.h"

#define ROUTE_TB "/mail/config-v1.1.xml"
#define ROUTE_TB_WELL_KNOWN "/.well-known/autoconfig/mail/config-v1.1.xml"
/* Outlook writes /Autodiscover/Autodiscover.xml, Thunderbird lower case */
#define ROUTE_AUTODISCOVER "/autodiscover/autodiscover.xml"
#define ROUTE_TEXT "/client-setup"
#define ROUTE_JSON "/client-setup.json"
#define ROUTE_MOBILECONFIG "/client-setup/devmail.mobileconfig"
#define ROUTE_CA "/client-setup/ca.crt"

static bool method_get(struct http_ctx *x) {
    if (!strcmp(x->req->method, "GET") || !strcmp(x->req->method, "HEAD")) return true;
    http_reply_text(x, 405, "method not allowed");
    http_add_header(x, "Allow: GET, HEAD");
    return false;
}

/* The local CA's PEM, or NULL (tls_cert configured, or not created yet). */
static char *ca_pem(struct http_ctx *x) {
    buf_t pem = BUF_INIT, err = BUF_INIT;
    char *s = tls_local_ca_pem(x->app->cfg, &pem, &err) == 0 ? buf_steal(&pem) : NULL;
    buf_free(&pem);
    buf_free(&err);
    return s;
}

/* Build the settings for ?emailaddress= (400 when it is not an address). */
static bool setup_for_request(struct http_ctx *x, const char *address, struct client_setup *cs) {
    buf_t q = BUF_INIT, err = BUF_INIT;
    if (!address && http_query_get(x->req->query, "emailaddress", &q)) address = buf_cstr(&q);
    char *ca = ca_pem(x);
    int rc = client_setup_build(cs, x->app->cfg, address, ca, &err);
    free(ca);
    if (rc < 0) {
        buf_t msg = BUF_INIT;
        buf_printf(&msg, "emailaddress: %s", buf_cstr(&err));
        http_reply_text(x, 400, buf_cstr(&msg));
        buf_free(&msg);
    }
    buf_free(&q);
    buf_free(&err);
    return rc == 0;
}

static void reply_doc(struct http_ctx *x, const char *type, buf_t *doc) {
    http_reply(x, 200, type, doc->data, doc->len);
    /* settings follow the configuration: no stale copies after a reload */
    http_add_header(x, "Cache-Control: no-cache");
}

static void thunderbird(struct http_ctx *x) {
    struct client_setup cs;
    if (!method_get(x) || !setup_for_request(x, NULL, &cs)) return;
    buf_t doc = BUF_INIT, err = BUF_INIT;
    if (client_setup_thunderbird(&cs, &doc, &err) == 0) reply_doc(x, "text/xml; charset=utf-8", &doc);
    else http_reply_text(x, 404, buf_cstr(&err));
    buf_free(&doc);
    buf_free(&err);
    client_setup_free(&cs);
}

static void autodiscover(struct http_ctx *x) {
    if (strcmp(x->req->method, "POST") != 0) {
        http_reply_text(x, 405, "autodiscover requests are POSTed");
        http_add_header(x, "Allow: POST");
        return;
    }
    buf_t addr = BUF_INIT;
    /* an unreadable request still gets a well-formed Error answer */
    bool have = x->req->body && client_setup_autodiscover_request(x->req->body, x->req->body_len, &addr) == 0;
    struct client_setup cs;
    buf_t err = BUF_INIT;
    if (client_setup_build(&cs, x->app->cfg, have ? buf_cstr(&addr) : NULL, NULL, &err) < 0)
        client_setup_build(&cs, x->app->cfg, NULL, NULL, &err);
    buf_t doc = BUF_INIT;
    client_setup_autodiscover(&cs, &doc);
    reply_doc(x, "text/xml; charset=utf-8", &doc);
    buf_free(&doc);
    buf_free(&err);
    buf_free(&addr);
    client_setup_free(&cs);
}

static void mobileconfig(struct http_ctx *x) {
    struct client_setup cs;
    if (!method_get(x) || !setup_for_request(x, NULL, &cs)) return;
    buf_t doc = BUF_INIT, err = BUF_INIT;
    if (client_setup_mobileconfig(&cs, &doc, &err) == 0) {
        reply_doc(x, "application/x-apple-aspen-config", &doc);
        http_add_header(x, "Content-Disposition: attachment; filename=\"devmail.mobileconfig\"");
    } else {
        http_reply_text(x, 404, buf_cstr(&err));
    }
    buf_free(&doc);
    buf_free(&err);
    client_setup_free(&cs);
}

static void text(struct http_ctx *x) {
    struct client_setup cs;
    if (!method_get(x) || !setup_for_request(x, NULL, &cs)) return;
    const char *host = http_request_header(x->req, "Host");
    buf_t base = BUF_INIT, doc = BUF_INIT;
    if (host && strcspn(host, "/\\ \t\"<>") == strlen(host)) buf_printf(&base, "http://%s", host);
    /* no file paths: this route answers any page under any name */
    client_setup_text(&cs, base.len ? buf_cstr(&base) : NULL, NULL, &doc);
    reply_doc(x, "text/plain; charset=utf-8", &doc);
    buf_free(&base);
    buf_free(&doc);
    client_setup_free(&cs);
}

/* The settings of client_setup_text as JSON, for the web page's
 * "Connect a mail client" table: one entry per listener and the download
 * paths (same origin). */
static void json(struct http_ctx *x) {
    struct client_setup cs;
    if (!method_get(x) || !setup_for_request(x, NULL, &cs)) return;
    static const char *const protos[] = {"IMAP", "POP3", "SMTP"};
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "Hostname", cs.hostname);
    if (cs.address) cJSON_AddStringToObject(o, "Address", cs.address);
    else cJSON_AddNullToObject(o, "Address");
    cJSON_AddBoolToObject(o, "AddressServed", cs.address_served);
    cJSON *domains = cJSON_AddArrayToObject(o, "Domains");
    for (size_t i = 0; i < cs.ndomains; i++) cJSON_AddItemToArray(domains, cJSON_CreateString(cs.domains[i]));
    cJSON *servers = cJSON_AddArrayToObject(o, "Servers");
    for (size_t i = 0; i < cs.nservers; i++) {
        const struct client_setup_server *s = &cs.servers[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "Protocol", protos[s->proto]);
        cJSON_AddStringToObject(e, "Host", s->host);
        cJSON_AddNumberToObject(e, "Port", s->port);
        cJSON_AddStringToObject(e, "Security", s->socket == CLIENT_SETUP_SSL ? "SSL/TLS" : "STARTTLS");
        bool pw = s->auth == CLIENT_SETUP_AUTH_PASSWORD;
        cJSON_AddStringToObject(e, "Authentication", pw ? "normal password" : "none");
        if (pw) cJSON_AddStringToObject(e, "UserName", cs.address ? cs.address : "your address (user@domain)");
        else cJSON_AddNullToObject(e, "UserName");
        cJSON_AddItemToArray(servers, e);
    }
    cJSON_AddBoolToObject(o, "AnyPassword", cs.any_password);
    cJSON_AddStringToObject(o, "Password", cs.any_password ? "any (no passdb: every login is accepted)"
                                                           : "the account's password in the passdb");
    /* the documents that cannot be made (no IMAP/POP3 or SMTP listener) are null */
    buf_t probe = BUF_INIT, err = BUF_INIT;
    bool have_tb = client_setup_thunderbird(&cs, &probe, &err) == 0;
    buf_reset(&probe);
    bool have_mc = client_setup_mobileconfig(&cs, &probe, &err) == 0;
    buf_free(&probe);
    buf_free(&err);
    cJSON *dl = cJSON_AddObjectToObject(o, "Downloads");
    if (have_tb) cJSON_AddStringToObject(dl, "Autoconfig", ROUTE_TB_WELL_KNOWN);
    else cJSON_AddNullToObject(dl, "Autoconfig");
    cJSON_AddStringToObject(dl, "Autodiscover", ROUTE_AUTODISCOVER);
    buf_t mc = BUF_INIT;
    buf_append_str(&mc, ROUTE_MOBILECONFIG);
    if (cs.address) {
        buf_append_str(&mc, "?emailaddress=");
        for (const char *c = cs.address; *c; c++) {
            if (isalnum((unsigned char)*c) || strchr("-._~@", *c)) buf_append_char(&mc, *c);
            else buf_printf(&mc, "%%%02X", (unsigned char)*c);
        }
    }
    if (have_mc) cJSON_AddStringToObject(dl, "Mobileconfig", buf_cstr(&mc));
    else cJSON_AddNullToObject(dl, "Mobileconfig");
    buf_free(&mc);
    if (cs.ca_pem) cJSON_AddStringToObject(dl, "CACertificate", ROUTE_CA);
    else cJSON_AddNullToObject(dl, "CACertificate");
    http_reply_json(x, 200, o);
    http_add_header(x, "Cache-Control: no-cache");
    client_setup_free(&cs);
}

static void ca_cert(struct http_ctx *x) {
    if (!method_get(x)) return;
    buf_t pem = BUF_INIT, err = BUF_INIT;
    if (tls_local_ca_pem(x->app->cfg, &pem, &err) == 0) {
        /* this type makes browsers offer to import it as a CA */
        http_reply(x, 200, "application/x-x509-ca-cert", pem.data, pem.len);
    } else {
        http_reply_text(x, 404, buf_cstr(&err));
    }
    buf_free(&pem);
    buf_free(&err);
}

const struct http_route autoconfig_routes[] = {
    {"*", ROUTE_TB, thunderbird, HTTP_AUTH_PUBLIC, false, NULL},
    {"*", ROUTE_TB_WELL_KNOWN, thunderbird, HTTP_AUTH_PUBLIC, false, NULL},
    {"*", "~" ROUTE_AUTODISCOVER, autodiscover, HTTP_AUTH_PUBLIC, false, NULL}, /* any case */
    {"*", ROUTE_TEXT, text, HTTP_AUTH_PUBLIC, false, NULL},
    {"*", ROUTE_JSON, json, HTTP_AUTH_PUBLIC, false, NULL},
    {"*", ROUTE_MOBILECONFIG, mobileconfig, HTTP_AUTH_PUBLIC, false, NULL},
    {"*", ROUTE_CA, ca_cert, HTTP_AUTH_PUBLIC, false, NULL},
    {NULL, NULL, NULL, HTTP_AUTH_PUBLIC, false, NULL},
};
