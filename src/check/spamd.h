/*
 * spamd - SpamAssassin's spamd protocol (SPAMC/1.5), client side, as pure
 * functions: the REPORT request and the parse of its response into a
 * score and the rules that fired, in Mailpit's JSON shape for sa-check.
 */
#ifndef DEVMAIL_SPAMD_H
#define DEVMAIL_SPAMD_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

/* Longest response accepted (the report of a message is a few KB). */
#define SPAMD_MAX_RESPONSE (1024 * 1024)
#define SPAMD_MAX_RULES 200

struct spam_rule {
    double score;
    char *name;
    char *description;
};

struct spam_result {
    int code;          /* spamd's EX_* code, 0 = EX_OK */
    char *message;     /* "EX_OK" */
    bool is_spam;
    double score, threshold;
    struct spam_rule *rules;
    size_t nrules;
};

/* REPORT request for msg. */
void spamd_request(const char *msg, size_t len, buf_t *out);
/* Parse a complete response (spamd closes the connection after it):
 * 0, or -1 with err when it is not spamd's. */
int spamd_parse_response(const char *buf, size_t len, struct spam_result *out, buf_t *err);
void spam_result_free(struct spam_result *r);

/* Mailpit's sa-check shape: {"IsSpam","Error","Score","Rules":[{"Score",
 * "Name","Description"}]}, scores cut to one decimal as Mailpit does.
 * error (NULL: none) goes into "Error" with an empty result. */
struct cJSON;
struct cJSON *spam_result_json(const struct spam_result *r, const char *error);

#endif
