/*
 * imap_sort - the arguments of SORT (RFC 5256, RFC 5957 SORT=DISPLAY,
 * RFC 5267 ESORT RETURN options) and THREAD (RFC 5256), parsed from
 * imap_parser arguments; the search criteria that follow are left to
 * imap_search_parse. Pure: no session, no store.
 *
 *   sort         = ["UID" SP] "SORT" [SP sort-return-opts] SP sort-criteria
 *                  SP search-criteria                       ; RFC 5267
 *   sort-criteria = "(" sort-criterion *(SP sort-criterion) ")"
 *   sort-criterion = ["REVERSE" SP] sort-key
 *   sort-key     = "ARRIVAL" / "CC" / "DATE" / "FROM" / "SIZE" /
 *                  "SUBJECT" / "TO" / "DISPLAYFROM" / "DISPLAYTO"
 *   thread       = ["UID" SP] "THREAD" SP thread-alg SP search-criteria
 *   search-criteria = charset 1*(SP search-key)             ; RFC 5256
 */
#ifndef DEVMAIL_IMAP_SORT_H
#define DEVMAIL_IMAP_SORT_H

#include <stdbool.h>
#include <stddef.h>

#include "imap/imap_parser.h"
#include "imap/imap_search.h"

/* Criteria in one SORT: each of the nine keys, both ways, would be 18;
 * more can only repeat a key. */
#define IMAP_SORT_MAX_CRITERIA 18

enum imap_sort_key {
    IMAP_SORT_ARRIVAL,
    IMAP_SORT_CC,
    IMAP_SORT_DATE,
    IMAP_SORT_FROM,
    IMAP_SORT_SIZE,
    IMAP_SORT_SUBJECT,
    IMAP_SORT_TO,
    IMAP_SORT_DISPLAYFROM,
    IMAP_SORT_DISPLAYTO,
};

struct imap_sort_criterion {
    enum imap_sort_key key;
    bool reverse;
};

/* ESORT RETURN options (RFC 5267 3.1 and 4): those of SEARCH. */
#define IMAP_SORT_RET_MIN IMAP_SEARCH_RET_MIN
#define IMAP_SORT_RET_MAX IMAP_SEARCH_RET_MAX
#define IMAP_SORT_RET_ALL IMAP_SEARCH_RET_ALL
#define IMAP_SORT_RET_COUNT IMAP_SEARCH_RET_COUNT
#define IMAP_SORT_RET_UPDATE IMAP_SEARCH_RET_UPDATE
#define IMAP_SORT_RET_PARTIAL IMAP_SEARCH_RET_PARTIAL

struct imap_sort_request {
    struct imap_sort_criterion crit[IMAP_SORT_MAX_CRITERIA];
    size_t ncrit;
    bool esort;           /* RETURN given: answer with * ESEARCH */
    unsigned return_opts; /* IMAP_SORT_RET_*; RETURN () means ALL */
    uint32_t partial_lo, partial_hi; /* with IMAP_SORT_RET_PARTIAL */
    size_t search_arg;    /* index of the first search key after the charset */
};

enum imap_thread_alg { IMAP_THREAD_ORDEREDSUBJECT, IMAP_THREAD_REFERENCES };

enum imap_sort_error {
    IMAP_SORT_OK = 0,
    IMAP_SORT_ERR_SYNTAX,     /* reply BAD */
    IMAP_SORT_ERR_BADCHARSET, /* reply NO [BADCHARSET (UTF-8 US-ASCII)] */
};

/* Parse SORT's arguments up to and including the charset. On success
 * req->search_arg indexes the first search key (there is at least one).
 * On error *reason is a text for the reply. */
enum imap_sort_error imap_sort_parse(const struct imap_arg *args, size_t nargs, struct imap_sort_request *req,
                                     const char **reason);

/* Parse THREAD's algorithm and charset; *search_arg as above. */
enum imap_sort_error imap_thread_parse(const struct imap_arg *args, size_t nargs, enum imap_thread_alg *alg,
                                       size_t *search_arg, const char **reason);

#endif
