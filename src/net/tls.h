/*
 * tls - the server's OpenSSL context (TLS 1.2+) and devmail's local
 * certificate authority.
 *
 * With tls_cert/tls_key configured, that certificate is used and nothing
 * is generated. Otherwise <data_dir>/tls/ holds a local CA (ca.pem, its
 * key ca-key.pem mode 0600, created on first start) and a server
 * certificate it signed (cert.pem, key.pem) for every name a client may
 * use (tls_server_names). A user imports ca.pem once and every listener
 * verifies, host names included. The server certificate is signed again
 * at start when it is not the CA's (the self-signed kind older versions
 * made), misses a name, or is about to expire; the CA stays, so it need
 * not be imported again.
 *
 * Security: whoever reads ca-key.pem can make certificates that a machine
 * trusting the CA accepts; the directory is 0700 and the keys 0600.
 */
#ifndef DEVMAIL_TLS_H
#define DEVMAIL_TLS_H

#include <openssl/ssl.h>

#include "conf/config.h"
#include "core/buf.h"

/* Validity of the local CA, in days. */
#define TLS_CA_DAYS 3650
/* Validity of the server certificate: 825 days is the longest Apple's
 * platforms accept for a TLS server certificate (iOS 13 / macOS 10.15). */
#define TLS_CERT_DAYS 825
/* At start, a server certificate expiring within this many days is renewed. */
#define TLS_RENEW_DAYS 30

/* Files in <data_dir>/tls/. */
#define TLS_DIR_NAME "tls"
#define TLS_LOCK_NAME "lock" /* flock()ed while the files are checked or made */
#define TLS_CA_CERT_NAME "ca.pem"
#define TLS_CA_KEY_NAME "ca-key.pem"
#define TLS_CERT_NAME "cert.pem"
#define TLS_KEY_NAME "key.pem"

/* The server context: cfg->tls_cert, or the local CA's certificate
 * (tls_local_ensure). NULL on error with the reason in err. */
SSL_CTX *tls_ctx_new(const struct config *cfg, buf_t *err);

/* "<data_dir>/tls/<name>" appended to out. */
void tls_local_path(const char *data_dir, const char *name, buf_t *out);

/* The names the server certificate carries, without duplicates, appended
 * to dns and ip: hostname, localhost, each served domain (or, without
 * domains, the default account's) with its autoconfig., autodiscover.,
 * imap., smtp. and mail. names; 127.0.0.1, ::1 and every listen address
 * that is not a wildcard. A hostname that is an address goes to ip. */
void tls_server_names(const struct config *cfg, struct strlist *dns, struct strlist *ip);

/* Make sure <data_dir>/tls holds the local CA (created when missing) and a
 * server certificate signed by it, naming everything tls_server_names
 * lists and valid for TLS_RENEW_DAYS more days; otherwise sign a new one.
 * What was done (nothing: empty) is appended to did for the log. 0, or -1
 * with the reason in err. */
int tls_local_ensure(const struct config *cfg, buf_t *did, buf_t *err);

/* The local CA certificate (PEM) appended to out. 0; -1 with the reason in
 * err when tls_cert is configured (the local CA signs nothing then) or the
 * file cannot be read. */
int tls_local_ca_pem(const struct config *cfg, buf_t *out, buf_t *err);

#endif
