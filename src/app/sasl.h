/*
 * sasl - base64 and the SASL PLAIN message (RFC 4616), shared by SMTP
 * AUTH, IMAP AUTHENTICATE and POP3 AUTH. Pure functions.
 */
#ifndef DEVMAIL_SASL_H
#define DEVMAIL_SASL_H

#include <stddef.h>

#include "core/buf.h"

/* Decode strict base64 (padding required, no white space). -1 if invalid. */
int sasl_b64_decode(const char *in, size_t len, buf_t *out);
void sasl_b64_encode(const void *in, size_t len, buf_t *out);
/* Split "authzid NUL authcid NUL password". -1 if malformed. The pointers
 * point into msg (which must stay alive); lengths are returned. */
int sasl_plain_split(const char *msg, size_t len, const char **authcid, size_t *authcid_len, const char **password,
                     size_t *password_len);

/* Both steps of a client's PLAIN response: decode the base64 into dec,
 * then split it (pointers into dec). -1 if either step fails. */
int sasl_plain_decode(const char *b64, size_t len, buf_t *dec, const char **authcid, size_t *authcid_len,
                      const char **password, size_t *password_len);

#endif
