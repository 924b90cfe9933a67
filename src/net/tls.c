#include "net/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "core/log.h"

static void ssl_err(buf_t *err, const char *what) {
    unsigned long e = ERR_get_error();
    char msg[256];
    ERR_error_string_n(e, msg, sizeof msg);
    buf_printf(err, "%s: %s", what, e ? msg : "unknown error");
    ERR_clear_error();
}

int tls_generate_self_signed(const char *cert_path, const char *key_path, const char *hostname, buf_t *err) {
    int rc = -1;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    FILE *kf = NULL, *cf = NULL;
    if (!key || !x) {
        ssl_err(err, "cannot generate a key");
        goto out;
    }
    X509_set_version(x, 2);
    unsigned char serial[16];
    FILE *ur = fopen("/dev/urandom", "r");
    if (!ur || fread(serial, 1, sizeof serial, ur) != sizeof serial) {
        if (ur) fclose(ur);
        buf_printf(err, "cannot read /dev/urandom");
        goto out;
    }
    fclose(ur);
    serial[0] &= 0x7f;
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
    BN_free(bn);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), (long)TLS_SELF_SIGNED_DAYS * 86400);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"devmail", -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)hostname, -1, -1, 0);
    X509_set_issuer_name(x, name);
    buf_t san = BUF_INIT;
    buf_printf(&san, "DNS:%s,DNS:localhost,IP:127.0.0.1,IP:::1", hostname);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, buf_cstr(&san));
    buf_free(&san);
    if (ext) {
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
    }
    ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:FALSE");
    if (ext) {
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
    }
    if (!X509_sign(x, key, EVP_sha256())) {
        ssl_err(err, "cannot sign the certificate");
        goto out;
    }
    int kfd = open(key_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (kfd < 0 || !(kf = fdopen(kfd, "w"))) {
        buf_printf(err, "%s: %s", key_path, strerror(errno));
        if (kfd >= 0) close(kfd);
        goto out;
    }
    cf = fopen(cert_path, "w");
    if (!cf) {
        buf_printf(err, "%s: %s", cert_path, strerror(errno));
        goto out;
    }
    if (!PEM_write_PrivateKey(kf, key, NULL, NULL, 0, NULL, NULL) || !PEM_write_X509(cf, x)) {
        ssl_err(err, "cannot write the certificate");
        goto out;
    }
    rc = 0;
out:
    if (kf && fclose(kf) != 0) rc = -1;
    if (cf && fclose(cf) != 0) rc = -1;
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

SSL_CTX *tls_ctx_new(const char *cert_path, const char *key_path, const char *data_dir, const char *hostname,
                     buf_t *err) {
    buf_t cert = BUF_INIT, key = BUF_INIT;
    if (cert_path && *cert_path) {
        buf_append_str(&cert, cert_path);
        buf_append_str(&key, key_path);
    } else {
        buf_printf(&cert, "%s/tls", data_dir);
        mkdir(buf_cstr(&cert), 0700);
        buf_append_str(&cert, "/cert.pem");
        buf_printf(&key, "%s/tls/key.pem", data_dir);
        if (access(buf_cstr(&cert), R_OK) != 0 || access(buf_cstr(&key), R_OK) != 0) {
            if (tls_generate_self_signed(buf_cstr(&cert), buf_cstr(&key), hostname, err) < 0) {
                buf_free(&cert);
                buf_free(&key);
                return NULL;
            }
            log_info("generated a self-signed TLS certificate for %s in %s", hostname, buf_cstr(&cert));
        }
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
