/*
 * tls - the server's OpenSSL context: TLS 1.2+, the configured certificate
 * and key, or a self-signed certificate (CN = hostname, subjectAltName =
 * hostname, localhost, 127.0.0.1, ::1) generated on first start and kept
 * as <data_dir>/tls/{cert,key}.pem.
 */
#ifndef DEVMAIL_TLS_H
#define DEVMAIL_TLS_H

#include <openssl/ssl.h>

#include "core/buf.h"

/* Validity of the generated certificate. */
#define TLS_SELF_SIGNED_DAYS 3650

/* NULL on error with the reason in err. */
SSL_CTX *tls_ctx_new(const char *cert_path, const char *key_path, const char *data_dir, const char *hostname,
                     buf_t *err);
/* Generate key + self-signed certificate files (0 or -1 with err). */
int tls_generate_self_signed(const char *cert_path, const char *key_path, const char *hostname, buf_t *err);

#endif
