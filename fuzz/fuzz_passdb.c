/*
 * fuzz_passdb - libFuzzer target for the passwd-file reader and the
 * recipient map parser on the same input. Checks that every parsed
 * account is found again, PLAIN secrets verify (crypt schemes are not
 * run: a fuzzed bcrypt cost would only measure time), every map account
 * is a safe path and the routing policy answers every key.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf/passdb.h"
#include "conf/rcptmap.h"
#include "core/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    buf_t err = BUF_INIT;
    struct passdb db;
    if (passdb_parse(&db, "p", text, size, &err) == 0) {
        for (size_t i = 0; i < db.n; i++) {
            const struct passdb_entry *e = passdb_find(&db, db.v[i].user);
            if (!e) abort();
            if (!strcmp(e->scheme, "PLAIN") || !strcmp(e->scheme, "CLEARTEXT")) {
                if (strlen(e->secret) <= PASSDB_MAX_PASSWORD &&
                    !passdb_verify(&db, e->user, e->secret, strlen(e->secret)))
                    abort();
                size_t sl = strlen(e->secret);
                if (sl > 0 && passdb_verify(&db, e->user, e->secret, sl - 1)) abort();
            }
        }
        passdb_free(&db);
    } else if (strncmp(buf_cstr(&err), "p:", 2) != 0 || db.n != 0) {
        abort();
    }
    buf_reset(&err);

    struct rcptmap m;
    if (rcptmap_parse(&m, "m", text, size, &err) == 0) {
        char *domains[] = {"example.com", "b.example"};
        for (size_t i = 0; i < m.n; i++) {
            if (!rcptmap_account_valid(m.v[i].account)) abort();
            if (!strchr(m.v[i].key, '@')) abort();
            if (!rcptmap_lookup(&m, m.v[i].key)) abort();
            char *acc = NULL;
            buf_t reply = BUF_INIT;
            int rc = rcptmap_route(&m, domains, 2, "catchall@localhost", m.v[i].key, &acc, &reply);
            if (rc == 0) {
                if (!acc || !rcptmap_account_valid(acc)) abort();
                free(acc);
            } else if (reply.len < 4 || reply.data[0] != '5') {
                abort();
            }
            buf_free(&reply);
            rc = rcptmap_route(&m, NULL, 0, "catchall@localhost", m.v[i].key, &acc, &reply);
            if (rc != 0) abort();
            free(acc);
        }
        rcptmap_free(&m);
    } else if (strncmp(buf_cstr(&err), "m:", 2) != 0 || m.n != 0) {
        abort();
    }
    buf_free(&err);
    return 0;
}
