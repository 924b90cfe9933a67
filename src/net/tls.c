/*
 * tls - OpenSSL server context and the local CA; see tls.h.
 *
 * Keys are EC P-256. The CA: basicConstraints critical CA:TRUE,
 * pathlen:0; keyUsage critical keyCertSign, cRLSign. The server
 * certificate: CA:FALSE, keyUsage digitalSignature, extendedKeyUsage
 * serverAuth (Apple requires it), subjectAltName with every name of
 * tls_server_names built as GENERAL_NAMEs (no config-string parsing, so a
 * name can never inject another extension). Files are written to a
 * temporary name and renamed, keys created 0600.
 */
#include "net/tls.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "core/log.h"

/* RFC 5280 appendix A.1: ub-common-name 64 */
#define TLS_CN_MAX 64

static void ssl_err(buf_t *err, const char *what) {
    unsigned long e = ERR_get_error();
    char msg[256];
    ERR_error_string_n(e, msg, sizeof msg);
    buf_printf(err, "%s: %s", what, e ? msg : "unknown error");
    ERR_clear_error();
}

void tls_local_path(const char *data_dir, const char *name, buf_t *out) {
    buf_printf(out, "%s/" TLS_DIR_NAME "/%s", data_dir, name);
}

/* ---- names ---------------------------------------------------------------- */

static bool strlist_has(const struct strlist *l, const char *s) {
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i], s)) return true;
    return false;
}

static void add_unique(struct strlist *l, const char *s) {
    if (*s && !strlist_has(l, s)) strlist_add(l, s);
}

static void add_dns(struct strlist *dns, const char *prefix, const char *name) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s%s", prefix, name);
    for (char *c = buf; *c; c++) *c = (char)tolower((unsigned char)*c);
    size_t n = strlen(buf);
    if (n && buf[n - 1] == '.') buf[n - 1] = '\0';
    add_unique(dns, buf);
}

/* The address of a listen entry as text; false for a wildcard or junk. */
static bool listen_ip(const char *listen, char *out, size_t outlen) {
    struct sockaddr_storage ss;
    int len = (int)sizeof ss;
    memset(&ss, 0, sizeof ss);
    if (evutil_parse_sockaddr_port(listen, (struct sockaddr *)&ss, &len) != 0) return false;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
        return a->sin_addr.s_addr != htonl(INADDR_ANY) && inet_ntop(AF_INET, &a->sin_addr, out, (socklen_t)outlen);
    }
    if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
        return !IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr) && inet_ntop(AF_INET6, &a->sin6_addr, out, (socklen_t)outlen);
    }
    return false;
}

static bool is_ip(const char *s) {
    unsigned char tmp[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, s, tmp) == 1 || inet_pton(AF_INET6, s, tmp) == 1;
}

void tls_server_names(const struct config *cfg, struct strlist *dns, struct strlist *ip) {
    if (is_ip(cfg->hostname)) add_unique(ip, cfg->hostname);
    else add_dns(dns, "", cfg->hostname);
    add_dns(dns, "", "localhost");
    static const char *const prefixes[] = {"", "autoconfig.", "autodiscover.", "imap.", "smtp.", "mail."};
    const char *fallback[1];
    const char *const *domains = (const char *const *)cfg->domains.v;
    size_t ndomains = cfg->domains.n;
    if (ndomains == 0) {
        const char *at = strrchr(cfg->default_account, '@');
        fallback[0] = at ? at + 1 : "localhost";
        domains = fallback;
        ndomains = 1;
    }
    for (size_t i = 0; i < ndomains; i++) {
        if (!*domains[i] || is_ip(domains[i])) continue;
        for (size_t p = 0; p < sizeof prefixes / sizeof prefixes[0]; p++) add_dns(dns, prefixes[p], domains[i]);
    }
    add_unique(ip, "127.0.0.1");
    add_unique(ip, "::1");
    const struct strlist *lists[] = {&cfg->smtp_listen, &cfg->smtps_listen, &cfg->imap_listen,
                                     &cfg->imaps_listen, &cfg->pop3_listen, &cfg->pop3s_listen,
                                     &cfg->http_listen, &cfg->https_listen, &cfg->autoconfig_listen,
                                     &cfg->autoconfig_tls_listen};
    for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++)
        for (size_t i = 0; i < lists[l]->n; i++) {
            char text[INET6_ADDRSTRLEN];
            if (listen_ip(lists[l]->v[i], text, sizeof text)) add_unique(ip, text);
        }
}

/* ---- files ------------------------------------------------------------------ */

static X509 *load_cert(const char *path) {
    FILE *fp = fopen(path, "r");
    if (!fp) return NULL;
    X509 *x = PEM_read_X509(fp, NULL, NULL, NULL);
    fclose(fp);
    ERR_clear_error();
    return x;
}

static EVP_PKEY *load_key(const char *path) {
    FILE *fp = fopen(path, "r");
    if (!fp) return NULL;
    EVP_PKEY *k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
    fclose(fp);
    ERR_clear_error();
    return k;
}

/* Write a certificate or a key to path via path.tmp and rename. */
static int write_pem(const char *path, X509 *x, EVP_PKEY *key, buf_t *err) {
    buf_t tmp = BUF_INIT;
    buf_printf(&tmp, "%s.tmp", path);
    unlink(buf_cstr(&tmp));
    int fd = open(buf_cstr(&tmp), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, key ? 0600 : 0644);
    FILE *fp = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!fp) {
        buf_printf(err, "%s: %s", buf_cstr(&tmp), strerror(errno));
        if (fd >= 0) close(fd);
        buf_free(&tmp);
        return -1;
    }
    bool ok = key ? PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL) == 1 : PEM_write_X509(fp, x) == 1;
    ok = fflush(fp) == 0 && fsync(fileno(fp)) == 0 && ok;
    if (fclose(fp) != 0) ok = false;
    if (!ok || rename(buf_cstr(&tmp), path) != 0) {
        buf_printf(err, "cannot write %s: %s", path, ok ? strerror(errno) : "write failed");
        unlink(buf_cstr(&tmp));
        buf_free(&tmp);
        ERR_clear_error();
        return -1;
    }
    buf_free(&tmp);
    return 0;
}

/* ---- certificates ------------------------------------------------------------ */

static bool add_ext(X509 *x, X509 *issuer, int nid, const char *value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext) return false;
    bool ok = X509_add_ext(x, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

/* A new certificate for key with a random serial, valid from an hour ago
 * (clock skew) for days, subject O=devmail, CN=cn. */
static X509 *new_cert(EVP_PKEY *key, const char *cn, long days) {
    X509 *x = X509_new();
    unsigned char serial[16];
    if (!x || RAND_bytes(serial, sizeof serial) != 1) {
        X509_free(x);
        return NULL;
    }
    serial[0] &= 0x7f; /* positive (RFC 5280 4.1.2.2) */
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
    bool ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) && X509_set_version(x, 2) &&
              X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
              X509_gmtime_adj(X509_getm_notAfter(x), days * 86400) && X509_set_pubkey(x, key);
    BN_free(bn);
    X509_NAME *name = X509_get_subject_name(x);
    ok = ok && X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"devmail", -1, -1, 0);
    if (ok && cn && strlen(cn) <= TLS_CN_MAX)
        ok = X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static int make_ca(X509 **ca_r, EVP_PKEY **key_r, const char *hostname, buf_t *err) {
    EVP_PKEY *key = EVP_EC_gen("P-256");
    unsigned char id[3];
    char cn[TLS_CN_MAX + 1];
    if (!key || RAND_bytes(id, sizeof id) != 1) {
        ssl_err(err, "cannot generate the local CA's key");
        EVP_PKEY_free(key);
        return -1;
    }
    /* a distinct name per CA: trust stores list several side by side */
    int n = snprintf(cn, sizeof cn, "devmail local CA %02x%02x%02x %s", id[0], id[1], id[2], hostname);
    if (n < 0 || (size_t)n >= sizeof cn) snprintf(cn, sizeof cn, "devmail local CA %02x%02x%02x", id[0], id[1], id[2]);
    X509 *x = new_cert(key, cn, TLS_CA_DAYS);
    bool ok = x && X509_set_issuer_name(x, X509_get_subject_name(x)) &&
              add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
              add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") &&
              add_ext(x, x, NID_subject_key_identifier, "hash") && X509_sign(x, key, EVP_sha256()) > 0;
    if (!ok) {
        ssl_err(err, "cannot make the local CA certificate");
        X509_free(x);
        EVP_PKEY_free(key);
        return -1;
    }
    *ca_r = x;
    *key_r = key;
    return 0;
}

static bool add_san(X509 *x, const struct strlist *dns, const struct strlist *ip) {
    GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
    bool ok = names != NULL;
    for (size_t i = 0; ok && i < dns->n; i++) {
        GENERAL_NAME *g = GENERAL_NAME_new();
        ASN1_IA5STRING *s = ASN1_IA5STRING_new();
        ok = g && s && ASN1_STRING_set(s, dns->v[i], (int)strlen(dns->v[i]));
        if (ok) {
            GENERAL_NAME_set0_value(g, GEN_DNS, s);
            ok = sk_GENERAL_NAME_push(names, g) > 0;
            if (!ok) GENERAL_NAME_free(g);
        } else {
            ASN1_IA5STRING_free(s);
            GENERAL_NAME_free(g);
        }
    }
    for (size_t i = 0; ok && i < ip->n; i++) {
        ASN1_OCTET_STRING *a = a2i_IPADDRESS(ip->v[i]);
        GENERAL_NAME *g = a ? GENERAL_NAME_new() : NULL;
        ok = g != NULL;
        if (ok) {
            GENERAL_NAME_set0_value(g, GEN_IPADD, a);
            ok = sk_GENERAL_NAME_push(names, g) > 0;
            if (!ok) GENERAL_NAME_free(g);
        } else {
            ASN1_OCTET_STRING_free(a);
        }
    }
    ok = ok && X509_add1_ext_i2d(x, NID_subject_alt_name, names, 0, 0) == 1;
    GENERAL_NAMES_free(names);
    return ok;
}

static int make_server_cert(X509 *ca, EVP_PKEY *ca_key, const char *hostname, const struct strlist *dns,
                            const struct strlist *ip, X509 **cert_r, EVP_PKEY **key_r, buf_t *err) {
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = key ? new_cert(key, hostname, TLS_CERT_DAYS) : NULL;
    bool ok = x && X509_set_issuer_name(x, X509_get_subject_name(ca)) &&
              add_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE") &&
              add_ext(x, ca, NID_key_usage, "critical,digitalSignature") &&
              add_ext(x, ca, NID_ext_key_usage, "serverAuth") && add_ext(x, ca, NID_subject_key_identifier, "hash") &&
              add_ext(x, ca, NID_authority_key_identifier, "keyid:always") && add_san(x, dns, ip) &&
              X509_sign(x, ca_key, EVP_sha256()) > 0;
    if (!ok) {
        ssl_err(err, "cannot make the server certificate");
        X509_free(x);
        EVP_PKEY_free(key);
        return -1;
    }
    *cert_r = x;
    *key_r = key;
    return 0;
}

/* Why the server certificate must be signed again, or NULL when it is fine. */
static const char *server_cert_problem(X509 *cert, EVP_PKEY *key, X509 *ca, const struct strlist *dns,
                                       const struct strlist *ip, buf_t *why) {
    if (!cert || !key) return "there is none yet";
    if (X509_check_private_key(cert, key) != 1) return "its key does not match";
    if (X509_check_issued(ca, cert) != X509_V_OK || X509_verify(cert, X509_get0_pubkey(ca)) != 1) {
        ERR_clear_error();
        return "it is not signed by the local CA (an older devmail made it self-signed)";
    }
    for (size_t i = 0; i < dns->n; i++)
        if (X509_check_host(cert, dns->v[i], 0, X509_CHECK_FLAG_NO_WILDCARDS, NULL) != 1) {
            buf_printf(why, "it does not name %s", dns->v[i]);
            return buf_cstr(why);
        }
    for (size_t i = 0; i < ip->n; i++)
        if (X509_check_ip_asc(cert, ip->v[i], 0) != 1) {
            buf_printf(why, "it does not name %s", ip->v[i]);
            return buf_cstr(why);
        }
    time_t soon = time(NULL) + (time_t)TLS_RENEW_DAYS * 86400;
    if (X509_cmp_time(X509_get0_notAfter(cert), &soon) <= 0) {
        buf_printf(why, "it expires within %d days", TLS_RENEW_DAYS);
        return buf_cstr(why);
    }
    return NULL;
}

int tls_local_ensure(const struct config *cfg, buf_t *did, buf_t *err) {
    buf_t dir = BUF_INIT, ca_path = BUF_INIT, ca_key_path = BUF_INIT, cert_path = BUF_INIT, key_path = BUF_INIT,
          why = BUF_INIT;
    int rc = -1;
    X509 *ca = NULL, *cert = NULL;
    EVP_PKEY *ca_key = NULL, *key = NULL;
    struct strlist dns = {0}, ip = {0};
    int lock_fd = -1;
    if (mkdir(cfg->data_dir, 0700) < 0 && errno != EEXIST) {
        buf_printf(err, "%s: %s", cfg->data_dir, strerror(errno));
        goto out;
    }
    buf_printf(&dir, "%s/" TLS_DIR_NAME, cfg->data_dir);
    if (mkdir(buf_cstr(&dir), 0700) < 0 && errno != EEXIST) {
        buf_printf(err, "%s: %s", buf_cstr(&dir), strerror(errno));
        goto out;
    }
    /* Two processes starting at once on a fresh data directory (a server
     * and `devmail ca-cert`, or two servers) would each make a CA and
     * interleave the files: one at a time, the second finds the first's. */
    buf_append_str(&dir, "/" TLS_LOCK_NAME);
    lock_fd = open(buf_cstr(&dir), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd < 0 || flock(lock_fd, LOCK_EX) < 0) {
        buf_printf(err, "%s: %s", buf_cstr(&dir), strerror(errno));
        goto out;
    }
    tls_local_path(cfg->data_dir, TLS_CA_CERT_NAME, &ca_path);
    tls_local_path(cfg->data_dir, TLS_CA_KEY_NAME, &ca_key_path);
    tls_local_path(cfg->data_dir, TLS_CERT_NAME, &cert_path);
    tls_local_path(cfg->data_dir, TLS_KEY_NAME, &key_path);
    ca = load_cert(buf_cstr(&ca_path));
    ca_key = load_key(buf_cstr(&ca_key_path));
    time_t now = time(NULL);
    bool ca_ok = ca && ca_key && X509_check_private_key(ca, ca_key) == 1 &&
                 X509_cmp_time(X509_get0_notAfter(ca), &now) > 0;
    ERR_clear_error();
    if (!ca_ok) {
        bool had = ca != NULL;
        X509_free(ca);
        EVP_PKEY_free(ca_key);
        ca = NULL;
        ca_key = NULL;
        if (make_ca(&ca, &ca_key, cfg->hostname, err) < 0) goto out;
        /* the key first: a CA certificate on disk always has its key */
        if (write_pem(buf_cstr(&ca_key_path), NULL, ca_key, err) < 0 || write_pem(buf_cstr(&ca_path), ca, NULL, err) < 0)
            goto out;
        buf_printf(did, "%s a local CA in %s (import it once into your mail clients: devmail ca-cert)",
                   had ? "replaced an unusable or expired" : "created", buf_cstr(&ca_path));
    }
    tls_server_names(cfg, &dns, &ip);
    cert = load_cert(buf_cstr(&cert_path));
    key = load_key(buf_cstr(&key_path));
    const char *problem = server_cert_problem(cert, key, ca, &dns, &ip, &why);
    if (problem) {
        buf_t reason = BUF_INIT;
        buf_append_str(&reason, problem);
        X509_free(cert);
        EVP_PKEY_free(key);
        cert = NULL;
        key = NULL;
        if (make_server_cert(ca, ca_key, cfg->hostname, &dns, &ip, &cert, &key, err) < 0 ||
            write_pem(buf_cstr(&key_path), NULL, key, err) < 0 || write_pem(buf_cstr(&cert_path), cert, NULL, err) < 0) {
            buf_free(&reason);
            goto out;
        }
        buf_printf(did, "%ssigned a new server certificate for %zu names with the local CA (%s)", did->len ? "; " : "",
                   dns.n + ip.n, buf_cstr(&reason));
        buf_free(&reason);
    }
    rc = 0;
out:
    if (lock_fd >= 0) close(lock_fd); /* releases the lock */
    X509_free(ca);
    X509_free(cert);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(key);
    strlist_clear(&dns);
    strlist_clear(&ip);
    buf_free(&dir);
    buf_free(&ca_path);
    buf_free(&ca_key_path);
    buf_free(&cert_path);
    buf_free(&key_path);
    buf_free(&why);
    return rc;
}

int tls_local_ca_pem(const struct config *cfg, buf_t *out, buf_t *err) {
    if (cfg->tls_cert[0]) {
        buf_printf(err, "tls_cert is configured: the local CA signs nothing");
        return -1;
    }
    buf_t path = BUF_INIT;
    tls_local_path(cfg->data_dir, TLS_CA_CERT_NAME, &path);
    int rc = buf_load_file_or_explain(out, buf_cstr(&path), err);
    buf_free(&path);
    return rc;
}

SSL_CTX *tls_ctx_new(const struct config *cfg, buf_t *err) {
    buf_t cert = BUF_INIT, key = BUF_INIT;
    if (cfg->tls_cert[0]) {
        buf_append_str(&cert, cfg->tls_cert);
        buf_append_str(&key, cfg->tls_key);
    } else {
        buf_t did = BUF_INIT;
        if (tls_local_ensure(cfg, &did, err) < 0) {
            buf_free(&did);
            return NULL;
        }
        if (did.len) log_info("tls: %s", buf_cstr(&did));
        buf_free(&did);
        tls_local_path(cfg->data_dir, TLS_CERT_NAME, &cert);
        tls_local_path(cfg->data_dir, TLS_KEY_NAME, &key);
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        ssl_err(err, "SSL_CTX_new");
        goto fail;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_use_certificate_chain_file(ctx, buf_cstr(&cert)) != 1) {
        ssl_err(err, buf_cstr(&cert));
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, buf_cstr(&key), SSL_FILETYPE_PEM) != 1) {
        ssl_err(err, buf_cstr(&key));
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        ssl_err(err, "certificate and key do not match");
        goto fail;
    }
    buf_free(&cert);
    buf_free(&key);
    return ctx;
fail:
    SSL_CTX_free(ctx);
    buf_free(&cert);
    buf_free(&key);
    return NULL;
}
