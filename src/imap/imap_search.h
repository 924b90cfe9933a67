/*
 * imap_search - SEARCH programs (RFC 3501 6.4.4, ESEARCH RFC 4731 RETURN
 * options, CONDSTORE RFC 7162 MODSEQ): parsed from imap_parser arguments
 * into a tree, then evaluated per message against a struct imap_search_msg
 * that the caller fills (cheap fields directly, header and body text through
 * callbacks so they are only loaded when a key needs them).
 *
 * Depth: NOT/OR chains and parenthesized groups nest; both parsing and
 * evaluation recurse, bounded by IMAP_SEARCH_MAX_DEPTH (deeper is a parse
 * error), so client input cannot exhaust the stack.
 *
 * Text keys (BCC, BODY, CC, FROM, HEADER, SUBJECT, TEXT, TO) match a
 * case-insensitive substring of what the callbacks return: decoded (RFC
 * 2047, charset-converted to UTF-8) header values and body text, both
 * sides folded for all of Unicode (core/text_fold.h, as the JSON API's
 * search folds). HEADER name "" matches the messages that have the field.
 * Date keys compare calendar days, ignoring time of day (RFC 3501):
 * internal_date/sent_date are shifted by their *_tz offsets first.
 */
#ifndef DEVMAIL_IMAP_SEARCH_H
#define DEVMAIL_IMAP_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_parser.h"
#include "imap/imap_seqset.h"

/* Nesting of NOT / OR / ( ) in one program. */
#define IMAP_SEARCH_MAX_DEPTH 32
/* Search keys in one program. */
#define IMAP_SEARCH_MAX_KEYS 1000

/* System flags of a message, as a bitmask. */
#define IMAP_SEARCH_F_SEEN 0x01u
#define IMAP_SEARCH_F_ANSWERED 0x02u
#define IMAP_SEARCH_F_FLAGGED 0x04u
#define IMAP_SEARCH_F_DELETED 0x08u
#define IMAP_SEARCH_F_DRAFT 0x10u
#define IMAP_SEARCH_F_RECENT 0x20u

/* ESEARCH RETURN options (RFC 4731), and RFC 5267's for contexts:
 * UPDATE (live ADDTO/REMOVEFROM), CONTEXT (a hint, accepted) and
 * PARTIAL lo:hi (positions lo..hi of the result). SORT's RETURN takes the
 * same options (imap_sort.h). */
#define IMAP_SEARCH_RET_MIN 0x01u
#define IMAP_SEARCH_RET_MAX 0x02u
#define IMAP_SEARCH_RET_ALL 0x04u
#define IMAP_SEARCH_RET_COUNT 0x08u
#define IMAP_SEARCH_RET_UPDATE 0x10u
#define IMAP_SEARCH_RET_CONTEXT 0x20u
#define IMAP_SEARCH_RET_PARTIAL 0x40u
#define IMAP_SEARCH_RET_KNOWN 0x7fu

struct imap_search_return {
    unsigned opts;                  /* IMAP_SEARCH_RET_* */
    uint32_t partial_lo, partial_hi; /* PARTIAL: 1 <= lo <= hi */
};

/* The list after RETURN: options in any order, UPDATE and PARTIAL at most
 * once (a repeated MIN, MAX, ALL, COUNT or CONTEXT is taken once); PARTIAL
 * takes "n:m" (nz-numbers, either order) and excludes ALL. With no option
 * but CONTEXT the result is ALL (RFC 4731 3.1, "RETURN ()"). false: a
 * syntax error, *reason says which. */
bool imap_search_return_parse(const struct imap_arg *list, struct imap_search_return *r, const char **reason);

enum imap_search_key {
    IMAP_SK_AND = 0,   /* children: all must match (also the program root) */
    IMAP_SK_OR,        /* two children */
    IMAP_SK_NOT,       /* one child */
    IMAP_SK_ALL,
    IMAP_SK_SEQSET,    /* seqset, message sequence numbers */
    IMAP_SK_UID,       /* seqset of UIDs */
    IMAP_SK_FLAGS_SET, /* number: flag bits that must all be set */
    IMAP_SK_FLAGS_UNSET, /* number: flag bits that must all be clear */
    IMAP_SK_KEYWORD,   /* str */
    IMAP_SK_UNKEYWORD, /* str */
    IMAP_SK_BEFORE,    /* number: day (days since 1970-01-01), internal date */
    IMAP_SK_ON,
    IMAP_SK_SINCE,
    IMAP_SK_SENTBEFORE, /* same, Date: header */
    IMAP_SK_SENTON,
    IMAP_SK_SENTSINCE,
    IMAP_SK_LARGER,    /* number: RFC822.SIZE */
    IMAP_SK_SMALLER,
    IMAP_SK_HEADER,    /* field (lower-cased: "from", "subject", ...), str */
    IMAP_SK_BODY,      /* str */
    IMAP_SK_TEXT,      /* str: header or body */
    IMAP_SK_MODSEQ,    /* number: modseq >= value */
};

struct imap_search_node {
    enum imap_search_key key;
    char *field;       /* HEADER field name */
    char *str;         /* text / keyword */
    size_t str_len;
    char *fold;        /* text keys: str folded (core/text_fold.h) */
    size_t fold_len;
    uint64_t number;
    struct imap_seqset set;
    struct imap_search_node **child;
    size_t nchild;
};

struct imap_search_program {
    struct imap_search_node *root; /* an AND node */
    unsigned return_opts;   /* IMAP_SEARCH_RET_*; 0: not an ESEARCH request */
    uint32_t partial_lo, partial_hi; /* with IMAP_SEARCH_RET_PARTIAL */
    bool esearch;           /* RETURN was given (reply with * ESEARCH) */
    bool uses_modseq;       /* MODSEQ key present: reply needs (MODSEQ n) */
    bool uses_sent_date;    /* SENTBEFORE/SENTON/SENTSINCE present */
};

enum imap_search_error {
    IMAP_SEARCH_OK = 0,
    IMAP_SEARCH_ERR_SYNTAX,     /* reply BAD */
    IMAP_SEARCH_ERR_BADCHARSET, /* reply NO [BADCHARSET (UTF-8 US-ASCII)] */
};

/* Parse the arguments of SEARCH (after the command name, and after "UID"
 * handling by the caller). On error *reason is a text for the reply. */
enum imap_search_error imap_search_parse(const struct imap_arg *args, size_t nargs,
                                         struct imap_search_program *prog, const char **reason);
void imap_search_program_free(struct imap_search_program *prog);

/* What a message offers to the evaluator. Callbacks may be NULL (then the
 * keys needing them do not match); they return a pointer valid until the
 * next callback on the same ctx, and the length in *len; NULL if absent. */
struct imap_search_msg {
    uint32_t seq, uid;
    uint32_t seq_star;        /* value of "*" for sequence numbers (EXISTS) */
    uint32_t uid_star;        /* value of "*" for UIDs (highest UID) */
    unsigned flags;           /* IMAP_SEARCH_F_* */
    const char *const *keywords;
    size_t nkeywords;
    int64_t internal_date;    /* unix time */
    int32_t internal_tz;      /* seconds east of UTC for the day computation */
    bool has_sent_date;
    int64_t sent_date;        /* Date: header as unix time */
    int32_t sent_tz;          /* its zone offset, seconds east of UTC */
    uint64_t size;
    uint64_t modseq;
    void *ctx;
    /* Decoded values of all fields named name (lower-case), joined; NULL
     * when the message has no such field (an indexed copy may return ""
     * for an absent field: has_header decides existence). */
    const char *(*get_header)(void *ctx, const char *name, size_t *len);
    /* Whether the message has a field named name (HEADER name ""); NULL:
     * get_header's answer is taken. */
    bool (*has_header)(void *ctx, const char *name);
    /* The whole (decoded) header block, for TEXT. */
    const char *(*get_headers)(void *ctx, size_t *len);
    /* The decoded body text. */
    const char *(*get_body)(void *ctx, size_t *len);
};

bool imap_search_match(const struct imap_search_program *prog, const struct imap_search_msg *m);

/* Parse an IMAP date "1-Feb-1994" / "01-Feb-1994" into days since epoch. */
bool imap_search_parse_date(const char *s, size_t len, int64_t *day);
/* Case-insensitive (Unicode folding) substring test; an empty needle matches. */
bool imap_search_contains(const char *hay, size_t hlen, const char *needle, size_t nlen);

#endif
