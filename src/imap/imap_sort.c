/*
 * imap_sort - SORT / THREAD argument parser; see imap_sort.h. RFC 5256
 * section 5 (formal syntax), RFC 5957 (DISPLAYFROM, DISPLAYTO), RFC 5267
 * 3.1 (SORT RETURN). No I/O.
 */
#include "imap/imap_sort.h"

#include <string.h>
#include <strings.h>

/* search-criteria = charset 1*(SP search-key): SORT and THREAD name the
 * charset always (RFC 5256 5). */
static enum imap_sort_error parse_charset(const struct imap_arg *args, size_t nargs, size_t *i, const char **reason) {
    if (*i >= nargs || !imap_arg_is_astring(&args[*i])) {
        *reason = "Missing charset";
        return IMAP_SORT_ERR_SYNTAX;
    }
    const char *cs = args[*i].str;
    if (strcasecmp(cs, "UTF-8") != 0 && strcasecmp(cs, "US-ASCII") != 0) {
        *reason = "Unsupported charset";
        return IMAP_SORT_ERR_BADCHARSET;
    }
    (*i)++;
    if (*i >= nargs) {
        *reason = "Missing search criteria";
        return IMAP_SORT_ERR_SYNTAX;
    }
    return IMAP_SORT_OK;
}

static bool sort_key_of(const struct imap_arg *a, enum imap_sort_key *k) {
    static const struct {
        const char *name;
        enum imap_sort_key key;
    } keys[] = {
        {"ARRIVAL", IMAP_SORT_ARRIVAL}, {"CC", IMAP_SORT_CC},     {"DATE", IMAP_SORT_DATE},
        {"FROM", IMAP_SORT_FROM},       {"SIZE", IMAP_SORT_SIZE}, {"SUBJECT", IMAP_SORT_SUBJECT},
        {"TO", IMAP_SORT_TO},           {"DISPLAYFROM", IMAP_SORT_DISPLAYFROM},
        {"DISPLAYTO", IMAP_SORT_DISPLAYTO},
    };
    if (a->type != IMAP_ARG_ATOM) return false;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (strcasecmp(a->str, keys[i].name) == 0) {
            *k = keys[i].key;
            return true;
        }
    }
    return false;
}

/* sort-return-opts = "RETURN" SP "(" [sort-return-opt *(SP sort-return-opt)] ")":
 * the RFC 4731 options and RFC 5267's UPDATE, CONTEXT and PARTIAL, as
 * for SEARCH */
static bool parse_return(const struct imap_arg *l, struct imap_sort_request *req, const char **reason) {
    struct imap_search_return r;
    if (!imap_search_return_parse(l, &r, reason)) return false;
    req->esort = true;
    req->return_opts = r.opts;
    req->partial_lo = r.partial_lo;
    req->partial_hi = r.partial_hi;
    return true;
}

enum imap_sort_error imap_sort_parse(const struct imap_arg *args, size_t nargs, struct imap_sort_request *req,
                                     const char **reason) {
    memset(req, 0, sizeof *req);
    *reason = NULL;
    size_t i = 0;
    if (i < nargs && imap_arg_atom_is(&args[i], "RETURN")) {
        i++;
        if (i >= nargs || args[i].type != IMAP_ARG_LIST) {
            *reason = "RETURN needs a list of options";
            return IMAP_SORT_ERR_SYNTAX;
        }
        if (!parse_return(&args[i], req, reason)) return IMAP_SORT_ERR_SYNTAX;
        i++;
    }
    if (i >= nargs || args[i].type != IMAP_ARG_LIST || args[i].nlist == 0) {
        *reason = "Missing sort criteria";
        return IMAP_SORT_ERR_SYNTAX;
    }
    const struct imap_arg *l = &args[i++];
    for (size_t j = 0; j < l->nlist; j++) {
        bool reverse = false;
        if (imap_arg_atom_is(&l->list[j], "REVERSE")) {
            reverse = true;
            if (++j >= l->nlist) {
                *reason = "REVERSE needs a sort key after it";
                return IMAP_SORT_ERR_SYNTAX;
            }
        }
        enum imap_sort_key k;
        if (!sort_key_of(&l->list[j], &k)) {
            *reason = "Unknown sort key";
            return IMAP_SORT_ERR_SYNTAX;
        }
        if (req->ncrit >= IMAP_SORT_MAX_CRITERIA) {
            *reason = "Too many sort criteria";
            return IMAP_SORT_ERR_SYNTAX;
        }
        req->crit[req->ncrit].key = k;
        req->crit[req->ncrit].reverse = reverse;
        req->ncrit++;
    }
    enum imap_sort_error e = parse_charset(args, nargs, &i, reason);
    if (e != IMAP_SORT_OK) return e;
    req->search_arg = i;
    return IMAP_SORT_OK;
}

enum imap_sort_error imap_thread_parse(const struct imap_arg *args, size_t nargs, enum imap_thread_alg *alg,
                                       size_t *search_arg, const char **reason) {
    *reason = NULL;
    size_t i = 0;
    if (i >= nargs || args[i].type != IMAP_ARG_ATOM) {
        *reason = "Missing threading algorithm";
        return IMAP_SORT_ERR_SYNTAX;
    }
    if (strcasecmp(args[i].str, "REFERENCES") == 0) *alg = IMAP_THREAD_REFERENCES;
    else if (strcasecmp(args[i].str, "ORDEREDSUBJECT") == 0) *alg = IMAP_THREAD_ORDEREDSUBJECT;
    else {
        *reason = "Unknown threading algorithm";
        return IMAP_SORT_ERR_SYNTAX;
    }
    i++;
    enum imap_sort_error e = parse_charset(args, nargs, &i, reason);
    if (e != IMAP_SORT_OK) return e;
    *search_arg = i;
    return IMAP_SORT_OK;
}
