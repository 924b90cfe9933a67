/*
 * test_client_setup - the mail-client settings built from a config: which
 * listeners become which servers (order, socket type, auth, wildcard
 * hosts), address checks and domain order, and the documents: Thunderbird
 * autoconfig, Outlook autodiscover (answer and request parsing), Apple
 * profile and text. Well-formedness is checked with GLib's XML parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "app/client_setup.h"
#include "conf/config.h"
#include "core/buf.h"

/* A self-signed certificate, only for the profile's root payload. */
static const char *const CA_PEM =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBiTCCAS+gAwIBAgIUSfQOUjyFQaYCZ2nNrpON3g5WffswCgYIKoZIzj0EAwIw\n"
    "GjEYMBYGA1UEAwwPZGV2bWFpbCB0ZXN0IENBMB4XDTI2MTIwMzEyNTMzNVoXDTM2\n"
    "MTEzMDEyNTMzNVowGjEYMBYGA1UEAwwPZGV2bWFpbCB0ZXN0IENBMFkwEwYHKoZI\n"
    "zj0CAQYIKoZIzj0DAQcDQgAEZ9l4Qr3rnByzMRssEH8AA9BU4leHLhCTI2CC3FOk\n"
    "2lioVC4z/SCGnZ1U+sLNhypDDwxpKhu+D4zfnvU7CFz/i6NTMFEwHQYDVR0OBBYE\n"
    "FPlZU6QQ+V+9AGZ+647IMws/+7XNMB8GA1UdIwQYMBaAFPlZU6QQ+V+9AGZ+647I\n"
    "Mws/+7XNMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIhAPYOeATq\n"
    "uEEmp0ipeTRqiWtmmYy5mDk2yY89/md7r9i0AiASZZ8BX+m/zhO81LfOZD3s7QKi\n"
    "BlMsbWj0yKZnpARERw==\n"
    "-----END CERTIFICATE-----\n";

static void set(struct config *cfg, const char *key, const char *value) {
    buf_t err = BUF_INIT;
    if (config_set(cfg, key, value, 3, &err) < 0) fail_msg("%s: %s", key, buf_cstr(&err));
    buf_free(&err);
}

/* The recipe's shape: two domains, every kind of listener, one wildcard. */
static void recipe_config(struct config *cfg) {
    config_defaults(cfg);
    set(cfg, "hostname", "mail.example.com");
    set(cfg, "domain", "example.com, Example.NET");
    set(cfg, "passdb", "/nonexistent");
    set(cfg, "smtp_listen", "127.0.0.1:2525");
    set(cfg, "smtps_listen", "0.0.0.0:2465");
    set(cfg, "imap_listen", "127.0.0.1:2143, [::1]:2144");
    set(cfg, "imaps_listen", "127.0.0.1:2993");
    set(cfg, "pop3_listen", "127.0.0.1:2110");
    set(cfg, "pop3s_listen", "");
    set(cfg, "smtp_auth", "optional");
}

static void well_formed(const buf_t *doc) {
    GMarkupParser p = {0};
    GMarkupParseContext *ctx = g_markup_parse_context_new(&p, 0, NULL, NULL);
    GError *e = NULL;
    gboolean ok = g_markup_parse_context_parse(ctx, doc->data, (gssize)doc->len, &e) &&
                  g_markup_parse_context_end_parse(ctx, &e);
    if (!ok) fail_msg("not well-formed: %s\n%.*s", e ? e->message : "?", (int)doc->len, doc->data);
    g_markup_parse_context_free(ctx);
}

static void has(buf_t *doc, const char *needle) {
    if (!strstr(buf_cstr(doc), needle)) fail_msg("missing %s in:\n%s", needle, buf_cstr(doc));
}

static void lacks(buf_t *doc, const char *needle) {
    if (strstr(buf_cstr(doc), needle)) fail_msg("unexpected %s in:\n%s", needle, buf_cstr(doc));
}

static void test_client_setup_servers(void **state) {
    (void)state;
    struct config cfg;
    recipe_config(&cfg);
    struct client_setup cs;
    buf_t err = BUF_INIT;
    assert_int_equal(client_setup_build(&cs, &cfg, "Alice@Example.NET", NULL, &err), 0);
    /* implicit TLS first, then STARTTLS; IMAP, POP3, SMTP */
    static const struct {
        enum client_setup_proto proto;
        enum client_setup_socket sock;
        enum client_setup_auth auth;
        const char *host;
        int port;
    } want[] = {
        {CLIENT_SETUP_IMAP, CLIENT_SETUP_SSL, CLIENT_SETUP_AUTH_PASSWORD, "127.0.0.1", 2993},
        {CLIENT_SETUP_IMAP, CLIENT_SETUP_STARTTLS, CLIENT_SETUP_AUTH_PASSWORD, "127.0.0.1", 2143},
        {CLIENT_SETUP_IMAP, CLIENT_SETUP_STARTTLS, CLIENT_SETUP_AUTH_PASSWORD, "::1", 2144},
        {CLIENT_SETUP_POP3, CLIENT_SETUP_STARTTLS, CLIENT_SETUP_AUTH_PASSWORD, "127.0.0.1", 2110},
        {CLIENT_SETUP_SMTP, CLIENT_SETUP_SSL, CLIENT_SETUP_AUTH_PASSWORD, "mail.example.com", 2465},
        {CLIENT_SETUP_SMTP, CLIENT_SETUP_STARTTLS, CLIENT_SETUP_AUTH_PASSWORD, "127.0.0.1", 2525},
    };
    assert_int_equal(cs.nservers, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < cs.nservers; i++) {
        assert_int_equal(cs.servers[i].proto, want[i].proto);
        assert_int_equal(cs.servers[i].socket, want[i].sock);
        assert_int_equal(cs.servers[i].auth, want[i].auth);
        assert_string_equal(cs.servers[i].host, want[i].host);
        assert_int_equal(cs.servers[i].port, want[i].port);
    }
    /* the address's domain (lower-cased) first */
    assert_string_equal(cs.address, "Alice@example.net");
    assert_true(cs.address_served);
    assert_int_equal(cs.ndomains, 2);
    assert_string_equal(cs.domains[0], "example.net");
    assert_string_equal(cs.domains[1], "example.com");
    assert_false(cs.any_password);
    client_setup_free(&cs);
    /* SMTP without AUTH: "none" */
    set(&cfg, "smtp_auth", "off");
    assert_int_equal(client_setup_build(&cs, &cfg, NULL, NULL, &err), 0);
    assert_null(cs.address);
    assert_int_equal(cs.servers[cs.nservers - 1].auth, CLIENT_SETUP_AUTH_NONE);
    assert_string_equal(cs.domains[0], "example.com");
    client_setup_free(&cs);
    /* another domain is not served */
    assert_int_equal(client_setup_build(&cs, &cfg, "bob@elsewhere.org", NULL, &err), 0);
    assert_false(cs.address_served);
    assert_int_equal(cs.ndomains, 2);
    client_setup_free(&cs);
    buf_free(&err);
    config_free(&cfg);
}

static void test_client_setup_zero_config(void **state) {
    (void)state;
    struct config cfg;
    config_defaults(&cfg);
    struct client_setup cs;
    buf_t err = BUF_INIT;
    /* every domain is accepted: the address's, then the catch-all's */
    assert_int_equal(client_setup_build(&cs, &cfg, "me@devmail.localhost", NULL, &err), 0);
    assert_true(cs.address_served);
    assert_int_equal(cs.ndomains, 2);
    assert_string_equal(cs.domains[0], "devmail.localhost");
    assert_string_equal(cs.domains[1], "localhost");
    assert_true(cs.any_password);
    /* the defaults: IMAPS 1993, IMAP 1143, POP3 1110, SMTP 1025 */
    assert_int_equal(cs.nservers, 4);
    assert_int_equal(cs.servers[0].port, 1993);
    assert_int_equal(cs.servers[3].port, 1025);
    assert_int_equal(cs.servers[3].auth, CLIENT_SETUP_AUTH_NONE);
    client_setup_free(&cs);
    buf_free(&err);
    config_free(&cfg);
}

static void test_client_setup_bad_addresses(void **state) {
    (void)state;
    struct config cfg;
    config_defaults(&cfg);
    static const char *const bad[] = {"nobody", "@example.com", "a@", "a@b@c.com", "a@-x.com", "a@x..com",
                                      "a@x_y.com", "a b@x.com", "a<b@x.com", "a@x.com.", "a@x.com-",
                                      "a\"b@x.com", "ali\xa3" "e@example.com"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct client_setup cs;
        buf_t err = BUF_INIT;
        if (client_setup_build(&cs, &cfg, bad[i], NULL, &err) != -1) fail_msg("accepted %s", bad[i]);
        assert_true(err.len > 0);
        buf_free(&err);
    }
    char longaddr[CLIENT_SETUP_MAX_ADDRESS + 2];
    memset(longaddr, 'a', sizeof longaddr - 1);
    longaddr[sizeof longaddr - 1] = '\0';
    memcpy(longaddr + sizeof longaddr - 7, "@x.com", 7); /* 255 octets */
    struct client_setup cs;
    buf_t err = BUF_INIT;
    assert_int_equal(client_setup_build(&cs, &cfg, longaddr, NULL, &err), -1);
    buf_free(&err);
    /* UTF-8 local parts are fine (RFC 6531) */
    assert_int_equal(client_setup_build(&cs, &cfg, "j\xc3\xbcrgen@example.com", NULL, &err), 0);
    client_setup_free(&cs);
    assert_true(client_setup_valid_domain("a-b.c0", 6));
    assert_false(client_setup_valid_domain("", 0));
    char label[70];
    memset(label, 'x', 64);
    memcpy(label + 64, ".com", 5);
    assert_false(client_setup_valid_domain(label, strlen(label)));
    assert_true(client_setup_valid_domain(label + 1, strlen(label + 1)));
    config_free(&cfg);
}

static void test_client_setup_thunderbird(void **state) {
    (void)state;
    struct config cfg;
    recipe_config(&cfg);
    set(&cfg, "hostname", "mail<&>.example.com"); /* escaped, not trusted */
    struct client_setup cs;
    buf_t err = BUF_INIT, doc = BUF_INIT;
    assert_int_equal(client_setup_build(&cs, &cfg, "a@example.com", NULL, &err), 0);
    assert_int_equal(client_setup_thunderbird(&cs, &doc, &err), 0);
    well_formed(&doc);
    has(&doc, "<clientConfig version=\"1.1\">");
    has(&doc, "<emailProvider id=\"example.com\">\n    <domain>example.com</domain>");
    has(&doc, "<emailProvider id=\"example.net\">");
    /* example.com first: Thunderbird reads only the first emailProvider */
    assert_true(strstr(doc.data, "id=\"example.com\"") < strstr(doc.data, "id=\"example.net\""));
    has(&doc, "<incomingServer type=\"imap\">\n      <hostname>127.0.0.1</hostname>\n      <port>2993</port>\n"
              "      <socketType>SSL</socketType>\n      <username>%EMAILADDRESS%</username>\n"
              "      <authentication>password-cleartext</authentication>");
    has(&doc, "<port>2143</port>\n      <socketType>STARTTLS</socketType>");
    has(&doc, "<incomingServer type=\"pop3\">");
    has(&doc, "<outgoingServer type=\"smtp\">\n      <hostname>mail&lt;&amp;&gt;.example.com</hostname>\n"
              "      <port>2465</port>\n      <socketType>SSL</socketType>");
    lacks(&doc, "<&>");
    buf_reset(&doc);
    client_setup_free(&cs);
    /* without an SMTP listener there is no usable document */
    config_free(&cfg);
    config_defaults(&cfg);
    set(&cfg, "smtp_listen", "");
    assert_int_equal(client_setup_build(&cs, &cfg, NULL, NULL, &err), 0);
    assert_int_equal(client_setup_thunderbird(&cs, &doc, &err), -1);
    assert_non_null(strstr(buf_cstr(&err), "SMTP"));
    client_setup_free(&cs);
    config_free(&cfg);
    config_defaults(&cfg);
    set(&cfg, "imap_listen", "");
    set(&cfg, "imaps_listen", "");
    set(&cfg, "pop3_listen", "");
    buf_reset(&err);
    assert_int_equal(client_setup_build(&cs, &cfg, NULL, NULL, &err), 0);
    assert_int_equal(client_setup_mobileconfig(&cs, &doc, &err), -1);
    assert_non_null(strstr(buf_cstr(&err), "IMAP or POP3"));
    client_setup_free(&cs);
    buf_free(&doc);
    buf_free(&err);
    config_free(&cfg);
}

static void test_client_setup_autodiscover(void **state) {
    (void)state;
    struct config cfg;
    recipe_config(&cfg);
    struct client_setup cs;
    buf_t err = BUF_INIT, doc = BUF_INIT;
    assert_int_equal(client_setup_build(&cs, &cfg, "a@example.com", NULL, &err), 0);
    client_setup_autodiscover(&cs, &doc);
    well_formed(&doc);
    has(&doc, "<Response xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a\">");
    has(&doc, "<Type>IMAP</Type>\n        <Server>127.0.0.1</Server>\n        <Port>2993</Port>");
    has(&doc, "<Port>2143</Port>\n        <DomainRequired>off</DomainRequired>\n        <LoginName>a@example.com</LoginName>\n"
              "        <SPA>off</SPA>\n        <SSL>on</SSL>\n        <Encryption>TLS</Encryption>");
    has(&doc, "<Type>SMTP</Type>");
    has(&doc, "<UsePOPAuth>on</UsePOPAuth>");
    lacks(&doc, "<Error");
    client_setup_free(&cs);
    /* an address of a domain not served: an Error answer */
    buf_reset(&doc);
    assert_int_equal(client_setup_build(&cs, &cfg, "a@other.example", NULL, &err), 0);
    client_setup_autodiscover(&cs, &doc);
    well_formed(&doc);
    has(&doc, "<ErrorCode>600</ErrorCode>");
    lacks(&doc, "<Protocol>");
    client_setup_free(&cs);
    buf_reset(&doc);
    assert_int_equal(client_setup_build(&cs, &cfg, NULL, NULL, &err), 0);
    client_setup_autodiscover(&cs, &doc);
    well_formed(&doc);
    has(&doc, "<ErrorCode>600</ErrorCode>");
    client_setup_free(&cs);
    buf_free(&doc);
    buf_free(&err);
    config_free(&cfg);
}

static void test_client_setup_autodiscover_request(void **state) {
    (void)state;
    /* what Thunderbird posts */
    const char *tb = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
                     "    <Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006\">\n"
                     "      <Request>\n        <EMailAddress> a@example.com\n</EMailAddress>\n"
                     "        <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/"
                     "responseschema/2006a</AcceptableResponseSchema>\n      </Request>\n    </Autodiscover>";
    buf_t out = BUF_INIT;
    assert_int_equal(client_setup_autodiscover_request(tb, strlen(tb), &out), 0);
    assert_string_equal(buf_cstr(&out), "a@example.com");
    buf_reset(&out);
    const char *prefixed = "<a:Autodiscover xmlns:a=\"x\"><a:Request><a:EMailAddress>b&amp;c@x.org</a:EMailAddress>"
                           "<a:EMailAddress>second@x.org</a:EMailAddress></a:Request></a:Autodiscover>";
    assert_int_equal(client_setup_autodiscover_request(prefixed, strlen(prefixed), &out), 0);
    assert_string_equal(buf_cstr(&out), "b&c@x.org");
    static const char *const bad[] = {
        "",
        "<Autodiscover><Request></Request></Autodiscover>",
        "<Autodiscover><Request><EMailAddress>a@b.c</EMailAddress>",          /* truncated */
        "<Autodiscover><EMailAddress>a@b.c</Autodiscover>",                    /* mismatched */
        "<Autodiscover><EMailAddress>   </EMailAddress></Autodiscover>",      /* empty */
        "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><Autodiscover><EMailAddress>&e;</EMailAddress></Autodiscover>",
        "not xml at all",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        buf_reset(&out);
        if (client_setup_autodiscover_request(bad[i], strlen(bad[i]), &out) != -1)
            fail_msg("accepted %s as %s", bad[i], buf_cstr(&out));
    }
    buf_free(&out);
}

static void test_client_setup_mobileconfig(void **state) {
    (void)state;
    struct config cfg;
    recipe_config(&cfg);
    struct client_setup cs;
    buf_t err = BUF_INIT, doc = BUF_INIT, again = BUF_INIT, other = BUF_INIT;
    assert_int_equal(client_setup_build(&cs, &cfg, "alice@example.com", CA_PEM, &err), 0);
    assert_int_equal(client_setup_mobileconfig(&cs, &doc, &err), 0);
    well_formed(&doc);
    has(&doc, "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\"");
    has(&doc, "<key>PayloadType</key>\n      <string>com.apple.mail.managed</string>");
    has(&doc, "<key>EmailAccountType</key>\n      <string>EmailTypeIMAP</string>");
    has(&doc, "<key>EmailAddress</key>\n      <string>alice@example.com</string>");
    has(&doc, "<key>IncomingMailServerPortNumber</key>\n      <integer>2993</integer>");
    has(&doc, "<key>OutgoingMailServerHostName</key>\n      <string>mail.example.com</string>");
    has(&doc, "<key>OutgoingMailServerAuthentication</key>\n      <string>EmailAuthPassword</string>");
    has(&doc, "<key>PayloadType</key>\n      <string>com.apple.security.root</string>");
    has(&doc, "<data>\n      MIIBiTCCAS+gAwIBAgIUSfQOUjyFQaYCZ2nNrpON3g5WffswCgYIKoZIzj0EAwIw\n");
    has(&doc, "<key>PayloadType</key>\n  <string>Configuration</string>");
    /* the same input gives the same identifiers; another address others */
    client_setup_mobileconfig(&cs, &again, &err);
    assert_int_equal(doc.len, again.len);
    assert_memory_equal(doc.data, again.data, doc.len);
    client_setup_free(&cs);
    assert_int_equal(client_setup_build(&cs, &cfg, "bob@example.com", NULL, &err), 0);
    assert_int_equal(client_setup_mobileconfig(&cs, &other, &err), 0);
    well_formed(&other);
    lacks(&other, "com.apple.security.root");
    const char *u1 = strstr(doc.data, "<key>PayloadUUID</key>\n  <string>");
    const char *u2 = strstr(other.data, "<key>PayloadUUID</key>\n  <string>");
    assert_non_null(u1);
    assert_non_null(u2);
    assert_memory_not_equal(u1, u2, 33 + 36);
    /* an UUID's version nibble */
    assert_int_equal(u1[33 + 14], '8');
    client_setup_free(&cs);
    /* no address: no EmailAddress key (the device asks) */
    buf_reset(&other);
    assert_int_equal(client_setup_build(&cs, &cfg, NULL, NULL, &err), 0);
    assert_int_equal(client_setup_mobileconfig(&cs, &other, &err), 0);
    lacks(&other, "<key>EmailAddress</key>");
    client_setup_free(&cs);
    /* a CA that is not PEM */
    assert_int_equal(client_setup_build(&cs, &cfg, NULL, "junk", &err), 0);
    buf_reset(&other);
    assert_int_equal(client_setup_mobileconfig(&cs, &other, &err), -1);
    client_setup_free(&cs);
    buf_free(&doc);
    buf_free(&again);
    buf_free(&other);
    buf_free(&err);
    config_free(&cfg);
}

static void test_client_setup_text(void **state) {
    (void)state;
    struct config cfg;
    recipe_config(&cfg);
    struct client_setup cs;
    buf_t err = BUF_INIT, doc = BUF_INIT;
    assert_int_equal(client_setup_build(&cs, &cfg, "a+b@example.com", CA_PEM, &err), 0);
    client_setup_text(&cs, "http://127.0.0.1:8025", "/data/tls/ca.pem", &doc);
    has(&doc, "Mail client settings for a+b@example.com on devmail mail.example.com");
    has(&doc, "Incoming mail (IMAP)\n  server 127.0.0.1  port 2993  SSL/TLS  user a+b@example.com, normal password\n");
    has(&doc, "Outgoing mail (SMTP)\n  server mail.example.com  port 2465  SSL/TLS");
    has(&doc, "devmail.mobileconfig?emailaddress=a%2Bb@example.com\n");
    has(&doc, "http://127.0.0.1:8025/client-setup/ca.crt");
    has(&doc, "/data/tls/ca.pem");
    has(&doc, "the account's password in the passdb");
    client_setup_free(&cs);
    buf_free(&doc);
    buf_free(&err);
    config_free(&cfg);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_setup_servers),
        cmocka_unit_test(test_client_setup_zero_config),
        cmocka_unit_test(test_client_setup_bad_addresses),
        cmocka_unit_test(test_client_setup_thunderbird),
        cmocka_unit_test(test_client_setup_autodiscover),
        cmocka_unit_test(test_client_setup_autodiscover_request),
        cmocka_unit_test(test_client_setup_mobileconfig),
        cmocka_unit_test(test_client_setup_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
