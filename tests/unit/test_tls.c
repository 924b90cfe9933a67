/*
 * test_tls - the local CA: the names the server certificate must carry,
 * first-start creation (file modes, a chain that verifies with the CA as
 * the only trust anchor, host names and addresses), nothing redone on the
 * next start, and a new server certificate (same CA) when the old one is
 * self-signed, misses a name or is about to expire; a configured tls_cert
 * disables it all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "conf/config.h"
#include "core/buf.h"
#include "net/tls.h"

static void set(struct config *cfg, const char *key, const char *value) {
    buf_t err = BUF_INIT;
    if (config_set(cfg, key, value, 3, &err) < 0) fail_msg("%s: %s", key, buf_cstr(&err));
    buf_free(&err);
}

static bool has(const struct strlist *l, const char *s) {
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i], s)) return true;
    return false;
}

static void test_tls_names(void **state) {
    (void)state;
    struct config cfg;
    config_defaults(&cfg);
    set(&cfg, "hostname", "Devbox.Example.COM");
    set(&cfg, "domain", "example.com, dev.localhost");
    set(&cfg, "imap_listen", "0.0.0.0:1143, 192.0.2.7:1143");
    set(&cfg, "http_listen", "[2001:db8::5]:8025, 127.0.0.1:8025");
    struct strlist dns = {0}, ip = {0};
    tls_server_names(&cfg, &dns, &ip);
    static const char *const want_dns[] = {"devbox.example.com", "localhost", "example.com", "autoconfig.example.com",
                                           "autodiscover.example.com", "imap.example.com", "smtp.example.com",
                                           "mail.example.com", "dev.localhost", "autoconfig.dev.localhost",
                                           "imap.dev.localhost", "smtp.dev.localhost"};
    for (size_t i = 0; i < sizeof want_dns / sizeof want_dns[0]; i++)
        if (!has(&dns, want_dns[i])) fail_msg("no DNS name %s", want_dns[i]);
    static const char *const want_ip[] = {"127.0.0.1", "::1", "192.0.2.7", "2001:db8::5"};
    for (size_t i = 0; i < sizeof want_ip / sizeof want_ip[0]; i++)
        if (!has(&ip, want_ip[i])) fail_msg("no IP %s", want_ip[i]);
    assert_false(has(&ip, "0.0.0.0"));
    for (size_t i = 0; i < ip.n; i++)
        for (size_t j = i + 1; j < ip.n; j++) assert_string_not_equal(ip.v[i], ip.v[j]);
    assert_int_equal(dns.n, 2 + 6 + 6);
    strlist_clear(&dns);
    strlist_clear(&ip);
    /* zero config: the catch-all's domain; an address as hostname */
    config_free(&cfg);
    config_defaults(&cfg);
    set(&cfg, "hostname", "10.1.2.3");
    tls_server_names(&cfg, &dns, &ip);
    assert_true(has(&ip, "10.1.2.3"));
    assert_false(has(&dns, "10.1.2.3"));
    assert_true(has(&dns, "autoconfig.localhost"));
    strlist_clear(&dns);
    strlist_clear(&ip);
    config_free(&cfg);
}

static char *path_of(const char *dir, const char *name) {
    buf_t b = BUF_INIT;
    tls_local_path(dir, name, &b);
    return buf_steal(&b);
}

static X509 *read_cert(const char *dir, const char *name) {
    char *p = path_of(dir, name);
    FILE *fp = fopen(p, "r");
    free(p);
    assert_non_null(fp);
    X509 *x = PEM_read_X509(fp, NULL, NULL, NULL);
    fclose(fp);
    assert_non_null(x);
    return x;
}

static char *read_text(const char *dir, const char *name) {
    char *p = path_of(dir, name);
    buf_t b = BUF_INIT;
    assert_int_equal(buf_load_file(&b, p), 0);
    free(p);
    return buf_steal(&b);
}

static int mode_of(const char *dir, const char *name) {
    char *p = path_of(dir, name);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    free(p);
    return (int)(st.st_mode & 0777);
}

/* Does cert verify for name (a host or an address) with ca as the only anchor? */
static bool verifies(X509 *ca, X509 *cert, const char *host, const char *ipaddr) {
    X509_STORE *store = X509_STORE_new();
    X509_STORE_add_cert(store, ca);
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store, cert, NULL);
    X509_VERIFY_PARAM *p = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_purpose(p, X509_PURPOSE_SSL_SERVER);
    if (host) X509_VERIFY_PARAM_set1_host(p, host, 0);
    if (ipaddr) X509_VERIFY_PARAM_set1_ip_asc(p, ipaddr);
    bool ok = X509_verify_cert(ctx) == 1;
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return ok;
}

static void ensure(struct config *cfg, const char *expect_in_did) {
    buf_t did = BUF_INIT, err = BUF_INIT;
    if (tls_local_ensure(cfg, &did, &err) < 0) fail_msg("ensure: %s", buf_cstr(&err));
    if (!expect_in_did && did.len) fail_msg("unexpected: %s", buf_cstr(&did));
    if (expect_in_did && !strstr(buf_cstr(&did), expect_in_did))
        fail_msg("'%s' lacks '%s'", buf_cstr(&did), expect_in_did);
    buf_free(&did);
    buf_free(&err);
}

static void test_tls_local_ca(void **state) {
    (void)state;
    char dir[] = "/tmp/devmail-test-tls-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct config cfg;
    config_defaults(&cfg);
    set(&cfg, "data_dir", dir);
    set(&cfg, "hostname", "devbox.test");
    set(&cfg, "domain", "example.com");
    ensure(&cfg, "created a local CA");
    assert_int_equal(mode_of(dir, TLS_CA_KEY_NAME), 0600);
    assert_int_equal(mode_of(dir, TLS_KEY_NAME), 0600);
    assert_int_equal(mode_of(dir, TLS_CA_CERT_NAME), 0644);
    X509 *ca = read_cert(dir, TLS_CA_CERT_NAME), *cert = read_cert(dir, TLS_CERT_NAME);
    assert_int_equal(X509_check_ca(ca), 1);
    assert_int_equal(X509_check_ca(cert), 0);
    assert_true(verifies(ca, cert, "localhost", NULL));
    assert_true(verifies(ca, cert, "devbox.test", NULL));
    assert_true(verifies(ca, cert, "autoconfig.example.com", NULL));
    assert_true(verifies(ca, cert, "imap.example.com", NULL));
    assert_true(verifies(ca, cert, "smtp.example.com", NULL));
    assert_true(verifies(ca, cert, NULL, "127.0.0.1"));
    assert_true(verifies(ca, cert, NULL, "::1"));
    assert_false(verifies(ca, cert, "attacker.example", NULL));
    assert_false(verifies(ca, cert, NULL, "192.0.2.1"));
    /* valid for at most 825 days (Apple) */
    time_t limit = time(NULL) + (time_t)(TLS_CERT_DAYS + 1) * 86400;
    assert_true(X509_cmp_time(X509_get0_notAfter(cert), &limit) < 0);
    X509_free(cert);
    char *ca_text = read_text(dir, TLS_CA_CERT_NAME), *cert_text = read_text(dir, TLS_CERT_NAME);

    /* the next start changes nothing */
    ensure(&cfg, NULL);
    char *t = read_text(dir, TLS_CERT_NAME);
    assert_string_equal(t, cert_text);
    free(t);

    /* the self-signed kind older versions made: signed again, same CA */
    char *cmd;
    assert_true(asprintf(&cmd,
                         "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost "
                         "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -days 30 -keyout %s/tls/key.pem "
                         "-out %s/tls/cert.pem 2>/dev/null",
                         dir, dir) > 0);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    ensure(&cfg, "not signed by the local CA");
    t = read_text(dir, TLS_CA_CERT_NAME);
    assert_string_equal(t, ca_text);
    free(t);
    cert = read_cert(dir, TLS_CERT_NAME);
    assert_true(verifies(ca, cert, "localhost", NULL));
    X509_free(cert);

    /* a new served domain: a new certificate naming it */
    set(&cfg, "domain", "example.org");
    ensure(&cfg, "does not name example.org");
    cert = read_cert(dir, TLS_CERT_NAME);
    assert_true(verifies(ca, cert, "autoconfig.example.org", NULL));
    X509_free(cert);

    /* the same certificate, re-signed by the CA for 10 days: renewed */
    assert_true(asprintf(&cmd,
                         "cd %s/tls && openssl x509 -x509toreq -in cert.pem -signkey key.pem -copy_extensions copy "
                         "2>/dev/null | openssl x509 -req -CA ca.pem -CAkey ca-key.pem -days 10 -copy_extensions copy "
                         "-out cert.pem 2>/dev/null",
                         dir) > 0);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    cert = read_cert(dir, TLS_CERT_NAME);
    assert_true(verifies(ca, cert, "autoconfig.example.org", NULL));
    X509_free(cert);
    ensure(&cfg, "expires within 30 days");
    cert = read_cert(dir, TLS_CERT_NAME);
    limit = time(NULL) + (time_t)(TLS_CERT_DAYS - 1) * 86400;
    assert_true(X509_cmp_time(X509_get0_notAfter(cert), &limit) > 0);
    X509_free(cert);

    /* the CA is served as PEM, unless a certificate is configured */
    buf_t pem = BUF_INIT, err = BUF_INIT;
    assert_int_equal(tls_local_ca_pem(&cfg, &pem, &err), 0);
    assert_string_equal(buf_cstr(&pem), ca_text);
    buf_reset(&pem);
    set(&cfg, "tls_cert", "/x/cert.pem");
    set(&cfg, "tls_key", "/x/key.pem");
    assert_int_equal(tls_local_ca_pem(&cfg, &pem, &err), -1);
    assert_non_null(strstr(buf_cstr(&err), "tls_cert"));
    buf_free(&pem);
    buf_free(&err);

    X509_free(ca);
    free(ca_text);
    free(cert_text);
    config_free(&cfg);
    assert_true(asprintf(&cmd, "rm -rf %s", dir) > 0);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls_names),
        cmocka_unit_test(test_tls_local_ca),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
