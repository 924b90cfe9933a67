/*
 * rcptmap - where a recipient's mail goes, in the spirit of Postfix's
 * virtual_mailbox_domains + virtual_mailbox_maps.
 *
 * Map file lines: "<key> <account>", '#' comments. key is "user@domain"
 * (exact) or "@domain" (catch-all); account is "user@domain" or the
 * Postfix form "domain/user/Maildir/" (relative to the data directory),
 * so the recipe's vmailbox file works unchanged. Exact entries win over
 * catch-alls; lookups ignore case.
 *
 * Policy (rcptmap_route):
 *  - no domains configured: every recipient is accepted, into its map
 *    entry if any, else the default (catch-all) account;
 *  - domains configured: another domain gets "554 5.7.1 <rcpt>: Relay
 *    access denied"; a served domain goes to its map entry, or with no map
 *    to the account of the same name; with a map and no entry, "550 5.1.1
 *    ... User unknown in virtual mailbox table" as Postfix says.
 */
#ifndef DEVMAIL_RCPTMAP_H
#define DEVMAIL_RCPTMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

struct rcptmap_entry {
    char *key;     /* lower-case "user@domain" or "@domain" */
    char *account; /* lower-case "user@domain" */
};

struct rcptmap {
    struct rcptmap_entry *v;
    size_t n;
    bool loaded; /* a map file is configured */
};

int rcptmap_parse(struct rcptmap *m, const char *name, const char *text, size_t len, buf_t *err);
int rcptmap_load(struct rcptmap *m, const char *path, buf_t *err);
void rcptmap_free(struct rcptmap *m);
/* Map lookup only: account for addr, or NULL. */
const char *rcptmap_lookup(const struct rcptmap *m, const char *addr);

/* Apply the policy above. On acceptance returns 0 and a malloc'd account
 * in *account; on refusal returns -1 with the full SMTP reply in reply. */
int rcptmap_route(const struct rcptmap *m, char *const *domains, size_t ndomains, const char *default_account,
                  const char *addr, char **account, buf_t *reply);

/* Is account a safe "user@domain" that maps to a path inside the data
 * directory (no '/', no leading '.', no control characters)? */
bool rcptmap_account_valid(const char *account);

#endif
