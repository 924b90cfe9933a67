/*
 * pop3_parser - pure POP3 wire handling (RFC 1939, RFC 2449, RFC 5034),
 * no sockets and no sessions:
 *
 *   pop3_line_find     find one command line in received bytes
 *   pop3_cmd_parse     split a line into keyword and arguments
 *   pop3_parse_number  a message number or line count argument
 *   pop3_encoder_*     turn a Maildir file (LF line ends) into the body of
 *                      a RETR/TOP answer: CRLF line ends, byte-stuffed
 *                      dots, optionally only headers and N body lines
 *
 * The session (pop3_session.c) decides what a parsed command does.
 */
#ifndef DEVMAIL_POP3_PARSER_H
#define DEVMAIL_POP3_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* RFC 2449 4: a command line is at most 255 octets including CRLF. */
#define POP3_MAX_LINE 255
/* RFC 5034 4: a SASL response line is not bound by the command limit;
 * this is the longest one accepted (a PLAIN response is far shorter). */
#define POP3_MAX_AUTH_LINE 8192
/* Arguments after the keyword: TOP and AUTH take two, the others fewer. */
#define POP3_MAX_ARGS 2
/* RFC 1939 3: keywords are three or four characters. */
#define POP3_MAX_KEYWORD 4
/* Largest message number or line count accepted. */
#define POP3_MAX_NUMBER 2000000000u

enum pop3_verb {
    POP3_UNKNOWN = 0,
    POP3_USER, POP3_PASS, POP3_APOP, POP3_AUTH, POP3_STLS, POP3_CAPA, POP3_QUIT,
    POP3_STAT, POP3_LIST, POP3_RETR, POP3_DELE, POP3_NOOP, POP3_RSET, POP3_TOP, POP3_UIDL,
};

enum pop3_line_result { POP3_LINE_NEED_MORE = 0, POP3_LINE_OK = 1, POP3_LINE_TOO_LONG = -1 };

/* Look for a complete line (ended by CRLF, or a bare LF) whose length with
 * its line end is at most max bytes. OK: *line_len excludes the line end,
 * *consumed includes it. TOO_LONG: no line end within max bytes.
 * NEED_MORE: wait for more input. */
enum pop3_line_result pop3_line_find(const char *buf, size_t len, size_t max, size_t *line_len, size_t *consumed);

struct pop3_cmd {
    enum pop3_verb verb;
    char keyword[POP3_MAX_KEYWORD + 1]; /* upper-cased, for messages */
    size_t nargs;
    const char *args[POP3_MAX_ARGS]; /* point into the line; not NUL-terminated */
    size_t arg_lens[POP3_MAX_ARGS];
    /* Everything after the keyword and one space (PASS takes its password
     * from here: RFC 1939 7 lets it contain spaces). */
    const char *rest;
    size_t rest_len;
};

/* Parse a command line (without its line end). Returns 0, or -1 with a
 * reason for "-ERR" in *err (a static string): empty line, NUL or control
 * bytes, malformed keyword, too many arguments. An unknown but well-formed
 * keyword parses to POP3_UNKNOWN. */
int pop3_cmd_parse(const char *line, size_t len, struct pop3_cmd *cmd, const char **err);
const char *pop3_verb_name(enum pop3_verb v);

/* A decimal number of 1 to 10 digits, no sign, at most POP3_MAX_NUMBER.
 * Returns 0 or -1. */
int pop3_parse_number(const char *p, size_t len, uint32_t *out);

/* --- answer encoding ------------------------------------------------- */

struct pop3_encoder {
    bool line_start;   /* the next byte begins a line */
    bool prev_cr;      /* the last byte seen was CR */
    bool in_headers;   /* still in the header section */
    bool header_blank; /* the current header-section line is empty so far */
    bool limit_body;   /* TOP: stop after body_lines body lines */
    uint32_t body_lines;
    bool done;         /* TOP limit reached: ignore further input */
};

/* Start encoding one message. top_lines < 0: whole message (RETR);
 * else the headers, the blank line and at most top_lines body lines. */
void pop3_encoder_init(struct pop3_encoder *e, int64_t top_lines);
/* Encode a chunk of the file, appending to out. Returns true once a TOP
 * limit has been reached (the rest of the file is not needed). */
bool pop3_encoder_feed(struct pop3_encoder *e, const char *p, size_t len, buf_t *out);
/* Terminate: a CRLF if the last line was unterminated, then ".\r\n". */
void pop3_encoder_finish(struct pop3_encoder *e, buf_t *out);

#endif
