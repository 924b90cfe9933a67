/*
 * passdb - Dovecot passwd-file accounts: "user@domain:{SCHEME}secret[:...]".
 *
 * Schemes: PLAIN and CLEARTEXT; CRYPT, MD5-CRYPT, SHA256-CRYPT,
 * SHA512-CRYPT and BLF-CRYPT (checked with libcrypt's crypt_r); a secret
 * without {SCHEME} is CRYPT, as in Dovecot. Extra fields are ignored.
 */
#ifndef DEVMAIL_PASSDB_H
#define DEVMAIL_PASSDB_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

/* Longest user name and password accepted from a client. */
#define PASSDB_MAX_USER 256
#define PASSDB_MAX_PASSWORD 1024

struct passdb_entry {
    char *user;
    char *scheme; /* upper-case, e.g. "SHA512-CRYPT" */
    char *secret;
};

struct passdb {
    struct passdb_entry *v;
    size_t n;
};

/* Parse passwd-file text (pure). Bad lines: -1 with "name:line: reason". */
int passdb_parse(struct passdb *db, const char *name, const char *text, size_t len, buf_t *err);
int passdb_load(struct passdb *db, const char *path, buf_t *err);
void passdb_free(struct passdb *db);
/* Find by user name (case-insensitive, as Dovecot's default). */
const struct passdb_entry *passdb_find(const struct passdb *db, const char *user);
/* Check a password; false for unknown users or schemes. */
bool passdb_verify(const struct passdb *db, const char *user, const char *password, size_t password_len);
/* Hash a password as "{SCHEME}hash" (SHA512-CRYPT default, or BLF-CRYPT,
 * SHA256-CRYPT, PLAIN). -1 for an unsupported scheme. */
int passdb_hash(const char *scheme, const char *password, buf_t *out);

#endif
