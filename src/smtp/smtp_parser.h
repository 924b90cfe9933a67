/*
 * smtp_parser - pure parsing of SMTP client input (RFC 5321, 1870, 6152,
 * 6531, 3461, 3030, 4954). Knows nothing of sockets or sessions.
 *
 *   smtp_line_find   find one command line in received bytes
 *   smtp_cmd_parse   split a line into verb and argument
 *   smtp_path_parse  parse "FROM:<addr> PARAM=VALUE ..." / "TO:..."
 *
 * Addresses are accepted with or without angle brackets (the recipe's
 * `MAIL FROM:auser@example.com`), with a space after the colon, with a
 * source route (ignored), quoted local parts and address literals.
 * `RCPT TO:<Postmaster>` (any case) gives the address "postmaster", the
 * one mailbox without a domain (RFC 5321 4.1.1.3); the session names
 * its domain.
 */
#ifndef DEVMAIL_SMTP_PARSER_H
#define DEVMAIL_SMTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/buf.h"

/* RFC 5321 4.5.3.1: 64 octets of local part, 255 of domain, 256 of path. */
#define SMTP_MAX_LOCAL_PART 64
#define SMTP_MAX_DOMAIN 255
#define SMTP_MAX_PATH 256
/* ESMTP parameters accepted on one MAIL or RCPT command. */
#define SMTP_MAX_PARAMS 16

enum smtp_verb {
    SMTP_UNKNOWN = 0,
    SMTP_HELO, SMTP_EHLO, SMTP_MAIL, SMTP_RCPT, SMTP_DATA, SMTP_BDAT, SMTP_RSET,
    SMTP_NOOP, SMTP_QUIT, SMTP_VRFY, SMTP_EXPN, SMTP_HELP, SMTP_STARTTLS, SMTP_AUTH,
};

enum smtp_line_result { SMTP_LINE_NEED_MORE = 0, SMTP_LINE_OK = 1, SMTP_LINE_TOO_LONG = -1 };

/* Look for a complete line (ended by LF, CRLF preferred) within max bytes.
 * OK: *line_len is the length without the line end, *consumed includes it.
 * TOO_LONG: no line end within max bytes. NEED_MORE: wait for more input. */
enum smtp_line_result smtp_line_find(const char *buf, size_t len, size_t max, size_t *line_len, size_t *consumed);

struct smtp_cmd {
    enum smtp_verb verb;
    const char *arg; /* after the verb and one or more spaces; not NUL-terminated */
    size_t arg_len;
    bool has_nul;    /* the line contained a NUL byte */
};

void smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd);
const char *smtp_verb_name(enum smtp_verb v);

struct smtp_param {
    char *key;   /* upper-cased */
    char *value; /* NULL when the parameter has no value */
};

struct smtp_path {
    char *addr;  /* without brackets; "" for the null path <> */
    struct smtp_param params[SMTP_MAX_PARAMS];
    size_t nparams;
};

/* Parse the argument of MAIL ("FROM:...") or RCPT ("TO:...").
 * On error returns -1 and sets *reply to a complete SMTP reply line
 * (code, enhanced code, text) without CRLF. */
int smtp_path_parse(const char *arg, size_t len, const char *prefix, struct smtp_path *out, const char **reply);
void smtp_path_free(struct smtp_path *p);
/* Find a parameter by upper-case key; NULL if absent. */
const struct smtp_param *smtp_path_param(const struct smtp_path *p, const char *key);

/* Validate a mailbox "local@domain" (the path without brackets). */
bool smtp_addr_valid(const char *addr, size_t len);
/* The domain part of an address (after the last '@'), or "" */
const char *smtp_addr_domain(const char *addr);

/* xtext decoding (RFC 3461 4) for ENVID and ORCPT; -1 if malformed. */
int smtp_xtext_decode(const char *s, buf_t *out);

#endif
