/*
 * imap_search - SEARCH program parser and evaluator; see imap_search.h.
 */
#include "imap/imap_search.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/text_fold.h"
#include "core/xalloc.h"

struct parse_ctx {
    const char *reason;
    size_t nkeys;
    bool uses_modseq;
    bool uses_sent_date;
};

static struct imap_search_node *node_new(enum imap_search_key key) {
    struct imap_search_node *n = xcalloc(1, sizeof(*n));
    n->key = key;
    imap_seqset_init(&n->set);
    return n;
}

/* Trees are at most IMAP_SEARCH_MAX_DEPTH deep: bounded recursion. */
static void node_free(struct imap_search_node *n) {
    if (!n) return;
    for (size_t i = 0; i < n->nchild; i++) node_free(n->child[i]);
    free(n->child);
    free(n->field);
    free(n->str);
    free(n->fold);
    imap_seqset_free(&n->set);
    free(n);
}

static void node_add(struct imap_search_node *parent, struct imap_search_node *c) {
    parent->child = xrealloc(parent->child, (parent->nchild + 1) * sizeof(*parent->child));
    parent->child[parent->nchild++] = c;
}

void imap_search_program_free(struct imap_search_program *prog) {
    node_free(prog->root);
    memset(prog, 0, sizeof(*prog));
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

bool imap_search_parse_date(const char *s, size_t len, int64_t *day) {
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    size_t i = 0;
    unsigned d = 0;
    while (i < len && i < 2 && isdigit((unsigned char)s[i])) d = d * 10 + (unsigned)(s[i++] - '0');
    if (i == 0 || i + 9 != len || s[i] != '-' || s[i + 4] != '-') return false;
    int mon = -1;
    for (int k = 0; k < 12; k++)
        if (strncasecmp(s + i + 1, months[k], 3) == 0) mon = k;
    if (mon < 0) return false;
    unsigned y = 0;
    for (size_t k = i + 5; k < len; k++) {
        if (!isdigit((unsigned char)s[k])) return false;
        y = y * 10 + (unsigned)(s[k] - '0');
    }
    if (d < 1 || d > mdays[mon]) return false;
    *day = days_from_civil((int64_t)y, (unsigned)mon + 1, d);
    return true;
}

static bool want_astring(const struct imap_arg *args, size_t nargs, size_t *i, const char **s, size_t *len) {
    if (*i >= nargs || !imap_arg_is_astring(&args[*i])) return false;
    *s = args[*i].str;
    *len = args[*i].len;
    (*i)++;
    return true;
}

static struct imap_search_node *flag_node(enum imap_search_key key, unsigned bits) {
    struct imap_search_node *n = node_new(key);
    n->number = bits;
    return n;
}

static struct imap_search_node *parse_key(const struct imap_arg *args, size_t nargs, size_t *i, unsigned depth,
                                          struct parse_ctx *pc);

/* Parse keys args[*i..end) into parent (an AND node). */
static bool parse_keys(const struct imap_arg *args, size_t nargs, size_t *i, unsigned depth,
                       struct parse_ctx *pc, struct imap_search_node *parent) {
    while (*i < nargs) {
        struct imap_search_node *c = parse_key(args, nargs, i, depth, pc);
        if (!c) return false;
        node_add(parent, c);
    }
    return true;
}

static struct imap_search_node *parse_key(const struct imap_arg *args, size_t nargs, size_t *i, unsigned depth,
                                          struct parse_ctx *pc) {
    if (depth >= IMAP_SEARCH_MAX_DEPTH) {
        pc->reason = "Search program nested too deeply";
        return NULL;
    }
    if (++pc->nkeys > IMAP_SEARCH_MAX_KEYS) {
        pc->reason = "Too many search keys";
        return NULL;
    }
    if (*i >= nargs) {
        pc->reason = "Missing search key";
        return NULL;
    }
    const struct imap_arg *a = &args[(*i)++];
    if (a->type == IMAP_ARG_LIST) {
        if (a->nlist == 0) {
            pc->reason = "Empty search key list";
            return NULL;
        }
        struct imap_search_node *n = node_new(IMAP_SK_AND);
        size_t j = 0;
        if (!parse_keys(a->list, a->nlist, &j, depth + 1, pc, n)) {
            node_free(n);
            return NULL;
        }
        return n;
    }
    if (a->type != IMAP_ARG_ATOM) {
        pc->reason = "Invalid search key";
        return NULL;
    }
    const char *k = a->str;
    const char *s;
    size_t sl;
    struct imap_search_node *n = NULL;

    static const struct {
        const char *name;
        enum imap_search_key key;
        unsigned bits;
    } flagkeys[] = {
        {"ANSWERED", IMAP_SK_FLAGS_SET, IMAP_SEARCH_F_ANSWERED},
        {"DELETED", IMAP_SK_FLAGS_SET, IMAP_SEARCH_F_DELETED},
        {"DRAFT", IMAP_SK_FLAGS_SET, IMAP_SEARCH_F_DRAFT},
        {"FLAGGED", IMAP_SK_FLAGS_SET, IMAP_SEARCH_F_FLAGGED},
        {"SEEN", IMAP_SK_FLAGS_SET, IMAP_SEARCH_F_SEEN},
        {"RECENT", IMAP_SK_FLAGS_SET, IMAP_SEARCH_F_RECENT},
        {"OLD", IMAP_SK_FLAGS_UNSET, IMAP_SEARCH_F_RECENT},
        {"UNANSWERED", IMAP_SK_FLAGS_UNSET, IMAP_SEARCH_F_ANSWERED},
        {"UNDELETED", IMAP_SK_FLAGS_UNSET, IMAP_SEARCH_F_DELETED},
        {"UNDRAFT", IMAP_SK_FLAGS_UNSET, IMAP_SEARCH_F_DRAFT},
        {"UNFLAGGED", IMAP_SK_FLAGS_UNSET, IMAP_SEARCH_F_FLAGGED},
        {"UNSEEN", IMAP_SK_FLAGS_UNSET, IMAP_SEARCH_F_SEEN},
    };
    for (size_t f = 0; f < sizeof(flagkeys) / sizeof(flagkeys[0]); f++)
        if (strcasecmp(k, flagkeys[f].name) == 0) return flag_node(flagkeys[f].key, flagkeys[f].bits);

    static const struct {
        const char *name;
        const char *field;
    } hdrkeys[] = {{"BCC", "bcc"}, {"CC", "cc"}, {"FROM", "from"}, {"SUBJECT", "subject"}, {"TO", "to"}};
    for (size_t f = 0; f < sizeof(hdrkeys) / sizeof(hdrkeys[0]); f++) {
        if (strcasecmp(k, hdrkeys[f].name) == 0) {
            if (!want_astring(args, nargs, i, &s, &sl)) goto missing;
            n = node_new(IMAP_SK_HEADER);
            n->field = xstrdup(hdrkeys[f].field);
            n->str = xmemdup(s, sl + 1);
            n->str_len = sl;
            n->fold = text_fold(s, sl, &n->fold_len);
            return n;
        }
    }

    static const struct {
        const char *name;
        enum imap_search_key key;
    } datekeys[] = {{"BEFORE", IMAP_SK_BEFORE},         {"ON", IMAP_SK_ON},
                    {"SINCE", IMAP_SK_SINCE},           {"SENTBEFORE", IMAP_SK_SENTBEFORE},
                    {"SENTON", IMAP_SK_SENTON},         {"SENTSINCE", IMAP_SK_SENTSINCE}};
    for (size_t f = 0; f < sizeof(datekeys) / sizeof(datekeys[0]); f++) {
        if (strcasecmp(k, datekeys[f].name) == 0) {
            int64_t day;
            if (!want_astring(args, nargs, i, &s, &sl)) goto missing;
            if (!imap_search_parse_date(s, sl, &day)) {
                pc->reason = "Invalid search date";
                return NULL;
            }
            n = node_new(datekeys[f].key);
            n->number = (uint64_t)day;
            if (datekeys[f].key >= IMAP_SK_SENTBEFORE) pc->uses_sent_date = true;
            return n;
        }
    }

    if (strcasecmp(k, "ALL") == 0) return node_new(IMAP_SK_ALL);
    if (strcasecmp(k, "NEW") == 0) {
        n = node_new(IMAP_SK_AND);
        node_add(n, flag_node(IMAP_SK_FLAGS_SET, IMAP_SEARCH_F_RECENT));
        node_add(n, flag_node(IMAP_SK_FLAGS_UNSET, IMAP_SEARCH_F_SEEN));
        return n;
    }
    if (strcasecmp(k, "BODY") == 0 || strcasecmp(k, "TEXT") == 0) {
        if (!want_astring(args, nargs, i, &s, &sl)) goto missing;
        n = node_new(toupper((unsigned char)k[0]) == 'B' ? IMAP_SK_BODY : IMAP_SK_TEXT);
        n->str = xmemdup(s, sl + 1);
        n->str_len = sl;
        n->fold = text_fold(s, sl, &n->fold_len);
        return n;
    }
    if (strcasecmp(k, "HEADER") == 0) {
        const char *f;
        size_t fl;
        if (!want_astring(args, nargs, i, &f, &fl) || !want_astring(args, nargs, i, &s, &sl)) goto missing;
        if (fl == 0 || memchr(f, '\0', fl) || memchr(f, ':', fl)) {
            pc->reason = "Invalid header field name";
            return NULL;
        }
        n = node_new(IMAP_SK_HEADER);
        n->field = xstrndup(f, fl);
        for (char *c = n->field; *c; c++) *c = (char)tolower((unsigned char)*c);
        n->str = xmemdup(s, sl + 1);
        n->str_len = sl;
        n->fold = text_fold(s, sl, &n->fold_len);
        return n;
    }
    if (strcasecmp(k, "KEYWORD") == 0 || strcasecmp(k, "UNKEYWORD") == 0) {
        if (*i >= nargs || args[*i].type != IMAP_ARG_ATOM) goto missing;
        s = args[*i].str;
        sl = args[*i].len;
        (*i)++;
        n = node_new(toupper((unsigned char)k[0]) == 'K' ? IMAP_SK_KEYWORD : IMAP_SK_UNKEYWORD);
        n->str = xmemdup(s, sl + 1);
        n->str_len = sl;
        return n;
    }
    if (strcasecmp(k, "LARGER") == 0 || strcasecmp(k, "SMALLER") == 0) {
        uint64_t v;
        if (*i >= nargs || !imap_arg_number64(&args[*i], &v)) goto missing;
        (*i)++;
        n = node_new(toupper((unsigned char)k[0]) == 'L' ? IMAP_SK_LARGER : IMAP_SK_SMALLER);
        n->number = v;
        return n;
    }
    if (strcasecmp(k, "NOT") == 0) {
        struct imap_search_node *c = parse_key(args, nargs, i, depth + 1, pc);
        if (!c) return NULL;
        n = node_new(IMAP_SK_NOT);
        node_add(n, c);
        return n;
    }
    if (strcasecmp(k, "OR") == 0) {
        struct imap_search_node *c1 = parse_key(args, nargs, i, depth + 1, pc);
        if (!c1) return NULL;
        struct imap_search_node *c2 = parse_key(args, nargs, i, depth + 1, pc);
        if (!c2) {
            node_free(c1);
            return NULL;
        }
        n = node_new(IMAP_SK_OR);
        node_add(n, c1);
        node_add(n, c2);
        return n;
    }
    if (strcasecmp(k, "UID") == 0) {
        if (*i >= nargs || args[*i].type != IMAP_ARG_ATOM) goto missing;
        n = node_new(IMAP_SK_UID);
        if (!imap_seqset_parse(args[*i].str, args[*i].len, &n->set)) {
            node_free(n);
            pc->reason = "Invalid UID set";
            return NULL;
        }
        (*i)++;
        return n;
    }
    if (strcasecmp(k, "MODSEQ") == 0) {
        /* MODSEQ [entry-name entry-type-req] mod-sequence-valzer */
        if (*i < nargs && args[*i].type == IMAP_ARG_QUOTED) {
            if (*i + 1 >= nargs || !(imap_arg_atom_is(&args[*i + 1], "priv") ||
                                     imap_arg_atom_is(&args[*i + 1], "shared") ||
                                     imap_arg_atom_is(&args[*i + 1], "all")))
                goto missing;
            *i += 2;
        }
        uint64_t v;
        if (*i >= nargs || !imap_arg_number64(&args[*i], &v)) goto missing;
        (*i)++;
        n = node_new(IMAP_SK_MODSEQ);
        n->number = v;
        pc->uses_modseq = true;
        return n;
    }
    if (isdigit((unsigned char)k[0]) || k[0] == '*') {
        n = node_new(IMAP_SK_SEQSET);
        if (!imap_seqset_parse(a->str, a->len, &n->set)) {
            node_free(n);
            pc->reason = "Invalid message sequence set";
            return NULL;
        }
        return n;
    }
    pc->reason = "Unknown search key";
    return NULL;
missing:
    pc->reason = "Missing or invalid search key argument";
    return NULL;
}

/* partial-range = nz-number ":" nz-number (RFC 5267 4.4) */
static bool parse_partial_range(const struct imap_arg *a, uint32_t *lo, uint32_t *hi) {
    if (a->type != IMAP_ARG_ATOM) return false;
    uint64_t v[2] = {0, 0};
    const char *c = a->str;
    for (int part = 0; part < 2; part++) {
        if (*c < '1' || *c > '9') return false;
        while (*c >= '0' && *c <= '9') {
            v[part] = v[part] * 10 + (uint64_t)(*c++ - '0');
            if (v[part] > UINT32_MAX) return false;
        }
        if (part == 0 && *c++ != ':') return false;
    }
    if (*c) return false;
    *lo = (uint32_t)(v[0] < v[1] ? v[0] : v[1]);
    *hi = (uint32_t)(v[0] < v[1] ? v[1] : v[0]);
    return true;
}

bool imap_search_return_parse(const struct imap_arg *list, struct imap_search_return *r, const char **reason) {
    static const struct {
        const char *name;
        unsigned bit;
    } opts[] = {
        {"MIN", IMAP_SEARCH_RET_MIN},       {"MAX", IMAP_SEARCH_RET_MAX},
        {"ALL", IMAP_SEARCH_RET_ALL},       {"COUNT", IMAP_SEARCH_RET_COUNT},
        {"UPDATE", IMAP_SEARCH_RET_UPDATE}, {"CONTEXT", IMAP_SEARCH_RET_CONTEXT},
        {"PARTIAL", IMAP_SEARCH_RET_PARTIAL},
    };
    memset(r, 0, sizeof *r);
    if (list->type != IMAP_ARG_LIST) {
        *reason = "RETURN needs a list of options";
        return false;
    }
    for (size_t j = 0; j < list->nlist; j++) {
        const struct imap_arg *o = &list->list[j];
        unsigned bit = 0;
        for (size_t k = 0; k < sizeof opts / sizeof opts[0] && !bit; k++)
            if (imap_arg_atom_is(o, opts[k].name)) bit = opts[k].bit;
        if (!bit) {
            *reason = "Unknown RETURN option";
            return false;
        }
        if ((r->opts & bit) && (bit & (IMAP_SEARCH_RET_UPDATE | IMAP_SEARCH_RET_PARTIAL))) {
            *reason = "UPDATE and PARTIAL may be given once";
            return false;
        }
        r->opts |= bit;
        if (bit == IMAP_SEARCH_RET_PARTIAL) {
            if (++j >= list->nlist || !parse_partial_range(&list->list[j], &r->partial_lo, &r->partial_hi)) {
                *reason = "PARTIAL needs a range n:m of positions";
                return false;
            }
        }
    }
    if ((r->opts & IMAP_SEARCH_RET_PARTIAL) && (r->opts & IMAP_SEARCH_RET_ALL)) {
        *reason = "PARTIAL conflicts with ALL";
        return false;
    }
    if ((r->opts & ~IMAP_SEARCH_RET_CONTEXT) == 0) r->opts |= IMAP_SEARCH_RET_ALL;
    return true;
}

enum imap_search_error imap_search_parse(const struct imap_arg *args, size_t nargs,
                                         struct imap_search_program *prog, const char **reason) {
    memset(prog, 0, sizeof(*prog));
    *reason = NULL;
    size_t i = 0;
    if (i < nargs && imap_arg_atom_is(&args[i], "RETURN")) {
        i++;
        if (i >= nargs || args[i].type != IMAP_ARG_LIST) {
            *reason = "RETURN needs a list of options";
            return IMAP_SEARCH_ERR_SYNTAX;
        }
        struct imap_search_return ret;
        if (!imap_search_return_parse(&args[i++], &ret, reason)) return IMAP_SEARCH_ERR_SYNTAX;
        prog->esearch = true;
        prog->return_opts = ret.opts;
        prog->partial_lo = ret.partial_lo;
        prog->partial_hi = ret.partial_hi;
    }
    if (i < nargs && imap_arg_atom_is(&args[i], "CHARSET")) {
        i++;
        if (i >= nargs || !imap_arg_is_astring(&args[i])) {
            *reason = "Missing charset";
            return IMAP_SEARCH_ERR_SYNTAX;
        }
        if (strcasecmp(args[i].str, "UTF-8") != 0 && strcasecmp(args[i].str, "US-ASCII") != 0) {
            *reason = "Unsupported charset";
            return IMAP_SEARCH_ERR_BADCHARSET;
        }
        i++;
    }
    if (i >= nargs) {
        *reason = "Missing search program";
        return IMAP_SEARCH_ERR_SYNTAX;
    }
    struct parse_ctx pc = {0};
    prog->root = node_new(IMAP_SK_AND);
    if (!parse_keys(args, nargs, &i, 0, &pc, prog->root)) {
        *reason = pc.reason ? pc.reason : "Invalid search program";
        imap_search_program_free(prog);
        return IMAP_SEARCH_ERR_SYNTAX;
    }
    prog->uses_modseq = pc.uses_modseq;
    prog->uses_sent_date = pc.uses_sent_date;
    return IMAP_SEARCH_OK;
}

bool imap_search_contains(const char *hay, size_t hlen, const char *needle, size_t nlen) {
    size_t fl;
    char *f = text_fold(needle, nlen, &fl);
    bool r = text_fold_contains(hay, hlen, f, fl);
    free(f);
    return r;
}

static int64_t day_of(int64_t t, int32_t tz) {
    int64_t x = t + tz;
    int64_t d = x / 86400;
    if (x % 86400 < 0) d--;
    return d;
}

static bool date_cmp(enum imap_search_key key, int64_t day, int64_t want) {
    switch (key) {
    case IMAP_SK_BEFORE:
    case IMAP_SK_SENTBEFORE:
        return day < want;
    case IMAP_SK_ON:
    case IMAP_SK_SENTON:
        return day == want;
    default:
        return day >= want;
    }
}

static bool match_node(const struct imap_search_node *n, const struct imap_search_msg *m) {
    const char *t;
    size_t tl = 0;
    switch (n->key) {
    case IMAP_SK_AND:
        for (size_t i = 0; i < n->nchild; i++)
            if (!match_node(n->child[i], m)) return false;
        return true;
    case IMAP_SK_OR:
        return match_node(n->child[0], m) || match_node(n->child[1], m);
    case IMAP_SK_NOT:
        return !match_node(n->child[0], m);
    case IMAP_SK_ALL:
        return true;
    case IMAP_SK_SEQSET:
        return imap_seqset_contains(&n->set, m->seq, m->seq_star);
    case IMAP_SK_UID:
        return imap_seqset_contains(&n->set, m->uid, m->uid_star);
    case IMAP_SK_FLAGS_SET:
        return (m->flags & n->number) == n->number;
    case IMAP_SK_FLAGS_UNSET:
        return (m->flags & n->number) == 0;
    case IMAP_SK_KEYWORD:
    case IMAP_SK_UNKEYWORD: {
        bool has = false;
        for (size_t i = 0; i < m->nkeywords && !has; i++)
            has = strcasecmp(m->keywords[i], n->str) == 0;
        return n->key == IMAP_SK_KEYWORD ? has : !has;
    }
    case IMAP_SK_BEFORE:
    case IMAP_SK_ON:
    case IMAP_SK_SINCE:
        return date_cmp(n->key, day_of(m->internal_date, m->internal_tz), (int64_t)n->number);
    case IMAP_SK_SENTBEFORE:
    case IMAP_SK_SENTON:
    case IMAP_SK_SENTSINCE:
        if (!m->has_sent_date) return false;
        return date_cmp(n->key, day_of(m->sent_date, m->sent_tz), (int64_t)n->number);
    case IMAP_SK_LARGER:
        return m->size > n->number;
    case IMAP_SK_SMALLER:
        return m->size < n->number;
    case IMAP_SK_MODSEQ:
        return m->modseq >= n->number;
    case IMAP_SK_HEADER:
        /* an empty string matches every message that has the field */
        if (n->str_len == 0 && m->has_header) return m->has_header(m->ctx, n->field);
        if (!m->get_header) return false;
        t = m->get_header(m->ctx, n->field, &tl);
        if (!t) return false;
        return text_fold_contains(t, tl, n->fold, n->fold_len);
    case IMAP_SK_BODY:
        if (!m->get_body) return false;
        t = m->get_body(m->ctx, &tl);
        return t && text_fold_contains(t, tl, n->fold, n->fold_len);
    case IMAP_SK_TEXT:
        if (m->get_headers) {
            t = m->get_headers(m->ctx, &tl);
            if (t && text_fold_contains(t, tl, n->fold, n->fold_len)) return true;
        }
        if (m->get_body) {
            t = m->get_body(m->ctx, &tl);
            if (t && text_fold_contains(t, tl, n->fold, n->fold_len)) return true;
        }
        return false;
    }
    return false;
}

bool imap_search_match(const struct imap_search_program *prog, const struct imap_search_msg *m) {
    return prog->root && match_node(prog->root, m);
}
