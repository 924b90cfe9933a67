/*
 * imap_parser - pure parsing of IMAP client commands (RFC 3501 section 9,
 * RFC 7888 LITERAL+). Knows nothing of sockets or sessions: it is given
 * the bytes received so far and answers "complete", "need more bytes",
 * "send a continuation for this literal" or "error, with this reason".
 *
 *   imap_parser_parse       one command: tag, name, typed argument tree
 *   imap_parser_line        one plain line (IDLE "DONE", AUTHENTICATE data)
 *   imap_parser_fetch_att   split a FETCH item atom into name/section/partial
 *   imap_framer_feed        find where a command ends, streaming, without
 *                           keeping its literals (see below)
 *
 * Incremental use: the session keeps the unparsed bytes and calls
 * imap_parser_parse() again when more arrive. Each call re-parses from the
 * start of the command; literal bodies are skipped by length, so the cost is
 * bounded by the line-length limit, not by literal sizes.
 *
 * Synchronizing literals: when the parser reaches "{n}" CRLF for the k-th
 * synchronizing literal of the command and the session has acknowledged
 * fewer than k (imap_parser_literal_acked), it returns
 * IMAP_PARSE_NEED_LITERAL with cmd->literal_size = n. The session checks the
 * size, sends "+ OK" and calls imap_parser_literal_acked(). A COMPLETE or
 * error result ends the command; imap_parser_reset() clears the count.
 *
 * FETCH sections: an atom containing "[" swallows everything up to the
 * matching "]" (spaces, parentheses and quotes included) and continues with
 * atom characters, so BODY.PEEK[HEADER.FIELDS (A B)]<0.2048> is ONE atom
 * with that exact text. imap_parser_fetch_att() splits it further.
 *
 * literal8 (RFC 3516): "~{n}" / "~{n+}" is a literal like "{n}" (same
 * limits, same continuation) whose argument type is IMAP_ARG_LITERAL8.
 *
 * Leniency (as Dovecot): bare LF accepted as line end, several spaces
 * between arguments, spaces after "(" and before ")", 8-bit bytes in atoms
 * and quoted strings. NUL bytes anywhere in a line are an error.
 */
#ifndef DEVMAIL_IMAP_PARSER_H
#define DEVMAIL_IMAP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Nesting depth of parenthesized lists in one command. */
#define IMAP_PARSER_MAX_DEPTH 16
/* Arguments in one list (or at top level); more is an error. */
#define IMAP_PARSER_MAX_ARGS 10000
/* Longest tag accepted. */
#define IMAP_PARSER_MAX_TAG 64
/* Digits in a literal length "{n}". */
#define IMAP_PARSER_MAX_LITERAL_DIGITS 19

enum imap_arg_type {
    IMAP_ARG_ATOM = 0, /* includes flags (\Seen), numbers, FETCH items */
    IMAP_ARG_QUOTED,   /* "..." with escapes removed */
    IMAP_ARG_LITERAL,  /* {n} or {n+} followed by n bytes (may hold NUL) */
    IMAP_ARG_NIL,      /* the atom NIL (any case); str keeps it as written */
    IMAP_ARG_LIST,     /* ( ... ) */
    IMAP_ARG_LITERAL8, /* ~{n} or ~{n+} (RFC 3516 BINARY): n bytes, any octets;
                          not an astring: only APPEND takes one */
};

struct imap_arg {
    enum imap_arg_type type;
    char *str;            /* ATOM/QUOTED/LITERAL: value, NUL-terminated copy */
    size_t len;           /* its length (a literal may contain NUL) */
    struct imap_arg *list; /* LIST: children */
    size_t nlist;
};

enum imap_parse_result {
    IMAP_PARSE_COMPLETE = 0, /* *consumed bytes form one command */
    IMAP_PARSE_NEED_MORE,    /* wait for more bytes, call again */
    IMAP_PARSE_NEED_LITERAL, /* send "+ OK" (or reject), see literal_size */
    IMAP_PARSE_ERROR,        /* syntax error: reply BAD with cmd->error */
    IMAP_PARSE_TOOBIG_LINE,  /* command line longer than the limit */
    IMAP_PARSE_TOOBIG_LITERAL, /* literal larger than the limit */
};

struct imap_command {
    char *tag;              /* NULL if no valid tag was seen (reply "* BAD") */
    char *name;             /* upper-cased command name, NULL if missing */
    struct imap_arg *args;  /* arguments after the name */
    size_t nargs;
    const char *error;      /* ERROR/TOOBIG: text for the BAD/NO reply */
    uint64_t literal_size;  /* NEED_LITERAL / TOOBIG_LITERAL: announced size */
    bool literal_nonsync;   /* TOOBIG_LITERAL: it was {n+}; the client is
                               already sending the data: close the connection */
};

struct imap_parser {
    size_t max_line;        /* bytes of command text, literals excluded */
    uint64_t max_literal;   /* literal bytes accepted in one command, all
                               its literals together */
    unsigned literals_acked; /* synchronizing literals answered with "+" */
};

void imap_parser_init(struct imap_parser *p, size_t max_line, uint64_t max_literal);
/* Forget acknowledged literals: call after each finished command. */
void imap_parser_reset(struct imap_parser *p);
/* The session sent "+ OK" for the literal announced by NEED_LITERAL. */
void imap_parser_literal_acked(struct imap_parser *p);

/* Parse one command from buf[0..len). cmd is always filled (free it with
 * imap_command_free). *consumed:
 *   COMPLETE: bytes of the command including its final line end;
 *   ERROR: bytes up to and including the end of the offending line, so the
 *          session can skip it (the line end is always present for ERROR);
 *   TOOBIG_LINE: bytes through the line end if one is in buf, else 0 (the
 *          session should then disconnect: it cannot resynchronize);
 *   TOOBIG_LITERAL: bytes through the "{n}" line end;
 *   otherwise 0. COMPLETE and errors call imap_parser_reset(). */
enum imap_parse_result imap_parser_parse(struct imap_parser *p, const char *buf, size_t len,
                                         struct imap_command *cmd, size_t *consumed);
void imap_command_free(struct imap_command *cmd);

/* Find one plain line (no literals) within max bytes: COMPLETE with
 * *line_len (without CRLF/LF) and *consumed, NEED_MORE, TOOBIG_LINE, or
 * ERROR if it contains a NUL byte (*consumed covers the line). */
enum imap_parse_result imap_parser_line(const char *buf, size_t len, size_t max,
                                        size_t *line_len, size_t *consumed);
/* The IDLE terminator "DONE" (any case, surrounding spaces ignored). */
bool imap_parser_is_done(const char *line, size_t len);

/* Argument helpers. */
/* ATOM, QUOTED or LITERAL (an IMAP astring). */
bool imap_arg_is_astring(const struct imap_arg *a);
/* astring or NIL (an nstring). */
bool imap_arg_is_nstring(const struct imap_arg *a);
/* ATOM equal to s, case-insensitive. */
bool imap_arg_atom_is(const struct imap_arg *a, const char *s);
/* ATOM of digits that fits in 32 bits (nz: not zero). */
bool imap_arg_number(const struct imap_arg *a, uint32_t *out);
bool imap_arg_number64(const struct imap_arg *a, uint64_t *out);

/* A FETCH item split into its parts, from an ATOM such as
 *   BODY.PEEK[1.2.HEADER.FIELDS (From To)]<0.2048>
 * name: "BODY.PEEK" (upper-cased), has_section, section: "1.2.HEADER.FIELDS
 * (From To)" (the text between the brackets, verbatim), has_partial,
 * partial_offset/partial_count. Pointers refer into the owned copy. */
struct imap_fetch_att {
    char *name;
    bool has_section;
    char *section;
    bool has_partial;
    uint64_t partial_offset;
    uint64_t partial_count;
    char *storage_; /* owned copy holding name and section */
};

/* false if the atom is malformed (unbalanced brackets, bad partial). */
bool imap_parser_fetch_att(const char *atom, size_t len, struct imap_fetch_att *out);
void imap_fetch_att_free(struct imap_fetch_att *f);

/*
 * The command framer: where does the command being received end? A command
 * is lines, each but the last ending in a literal announcement "{n}" or
 * "{n+}" followed by n bytes. The framer is fed the input in pieces as it
 * arrives (any split), looks at each byte once and keeps only a few bytes
 * of the current line, never the literals, so the session can bound what a
 * command may make it hold before the bytes are there.
 *
 * imap_framer_feed consumes from data[0..len) and stops at an event:
 *   NEED_MORE     all of data was consumed (*used = len);
 *   LITERAL       a line announcing a literal just ended (*used covers its
 *                 LF); f->literal_size and f->literal_sync describe it. The
 *                 session checks the size (f->literal_total is what the
 *                 command's earlier literals took), answers "+ OK" for a
 *                 synchronizing one, then calls imap_framer_accept_literal,
 *                 or refuses the command;
 *   COMPLETE      the command ends after *used bytes (f->pos in all);
 *   TOOBIG_LINE   a line (literals excluded) is longer than max_line.
 * f->pos counts every byte of the command consumed so far.
 */
enum imap_frame_result { IMAP_FRAME_NEED_MORE, IMAP_FRAME_LITERAL, IMAP_FRAME_COMPLETE, IMAP_FRAME_TOOBIG_LINE };

struct imap_framer {
    uint64_t pos;           /* bytes of the command consumed */
    uint64_t line_len;      /* bytes of the current line so far */
    uint64_t skip;          /* literal bytes still to pass over */
    uint64_t literal_total; /* bytes of the command's accepted literals */
    uint64_t literal_size;  /* LITERAL: the announced size */
    bool literal_sync;      /* LITERAL: "{n}" (true) or "{n+}" */
    unsigned char tail[IMAP_PARSER_MAX_LITERAL_DIGITS + 4]; /* end of the line */
    size_t tail_len;
};

void imap_framer_init(struct imap_framer *f);
enum imap_frame_result imap_framer_feed(struct imap_framer *f, const char *data, size_t len, size_t max_line,
                                        size_t *used);
/* Pass over the literal just announced (after LITERAL). */
void imap_framer_accept_literal(struct imap_framer *f);

/* The protocol trace of a complete command buf[0..len): its lines without
 * line ends, each literal's data replaced by "<n bytes>", non-printable
 * bytes as "?", at most max bytes of text (then "..."). */
void imap_trace_command(const char *buf, size_t len, size_t max, buf_t *out);

#endif
