/*
 * imap_parser - IMAP command tokenizer; see imap_parser.h for the contract.
 *
 * The command is parsed one "segment" at a time: a segment is the text up
 * to the next LF (the first one starts with the tag, later ones follow a
 * literal's data). A segment is only tokenized once its line end is in the
 * buffer, so every syntax error has a line end the session can skip to.
 * Lists are built iteratively with an explicit stack bounded by
 * IMAP_PARSER_MAX_DEPTH (no recursion on client input).
 */
#include "imap/imap_parser.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xalloc.h"

void imap_parser_init(struct imap_parser *p, size_t max_line, uint64_t max_literal) {
    p->max_line = max_line;
    p->max_literal = max_literal;
    p->literals_acked = 0;
}

void imap_parser_reset(struct imap_parser *p) {
    p->literals_acked = 0;
}

void imap_parser_literal_acked(struct imap_parser *p) {
    p->literals_acked++;
}

static void args_free(struct imap_arg *v, size_t n) {
    /* Lists nest at most IMAP_PARSER_MAX_DEPTH deep: bounded recursion. */
    for (size_t i = 0; i < n; i++) {
        free(v[i].str);
        if (v[i].list) args_free(v[i].list, v[i].nlist);
    }
    free(v);
}

void imap_command_free(struct imap_command *cmd) {
    free(cmd->tag);
    free(cmd->name);
    if (cmd->args) args_free(cmd->args, cmd->nargs);
    cmd->tag = NULL;
    cmd->name = NULL;
    cmd->args = NULL;
    cmd->nargs = 0;
}

struct frame {
    struct imap_arg *v;
    size_t n, cap;
};

static bool frame_push(struct frame *f, const struct imap_arg *a) {
    if (f->n >= IMAP_PARSER_MAX_ARGS) return false;
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 8;
        f->v = xrealloc(f->v, f->cap * sizeof(*f->v));
    }
    f->v[f->n++] = *a;
    return true;
}

/* Characters allowed in a tag: ASTRING-CHAR except "+" (RFC 3501 9). */
static bool is_tag_char(unsigned char c) {
    if (c <= 0x20 || c == 0x7f) return false;
    return !strchr("(){%*\"\\+", c);
}

/* Characters ending an atom argument. */
static bool is_atom_end(unsigned char c) {
    return c == ' ' || c == '(' || c == ')';
}

static bool is_ctl(unsigned char c) {
    return c < 0x20 || c == 0x7f;
}

/* Find the LF of the segment starting at pos. */
static const char *find_lf(const char *buf, size_t pos, size_t len) {
    return memchr(buf + pos, '\n', len - pos);
}

enum imap_parse_result imap_parser_parse(struct imap_parser *p, const char *buf, size_t len,
                                         struct imap_command *cmd, size_t *consumed) {
    memset(cmd, 0, sizeof(*cmd));
    *consumed = 0;

    struct frame stack[IMAP_PARSER_MAX_DEPTH + 1];
    memset(stack, 0, sizeof(stack));
    size_t depth = 0;
    unsigned sync_seen = 0;
    uint64_t literal_total = 0; /* the command's literals so far: p->max_literal is for all */
    size_t line_bytes = 0;
    enum imap_parse_result res = IMAP_PARSE_ERROR;

    size_t pos = 0;     /* start of the current segment */
    size_t seg_lf = 0;  /* index of its LF */
    size_t text_end = 0; /* end of its text (before CR LF) */
    size_t i = 0;

/* Locate the segment starting at pos; may return from the function. */
#define NEXT_SEGMENT()                                                                 \
    do {                                                                               \
        const char *lf_ = find_lf(buf, pos, len);                                      \
        if (!lf_) {                                                                    \
            if (line_bytes + (len - pos) > p->max_line) {                              \
                cmd->error = "Command line too long";                                  \
                res = IMAP_PARSE_TOOBIG_LINE;                                          \
            } else {                                                                   \
                res = IMAP_PARSE_NEED_MORE;                                            \
            }                                                                          \
            goto out;                                                                  \
        }                                                                              \
        seg_lf = (size_t)(lf_ - buf);                                                  \
        line_bytes += seg_lf + 1 - pos;                                                \
        text_end = seg_lf;                                                             \
        if (text_end > pos && buf[text_end - 1] == '\r') text_end--;                   \
        if (line_bytes > p->max_line) {                                                \
            cmd->error = "Command line too long";                                      \
            *consumed = seg_lf + 1;                                                    \
            res = IMAP_PARSE_TOOBIG_LINE;                                              \
            goto out;                                                                  \
        }                                                                              \
        if (memchr(buf + pos, '\0', seg_lf - pos)) {                                   \
            cmd->error = "NUL byte in command line";                                   \
            goto fail;                                                                 \
        }                                                                              \
        i = pos;                                                                       \
    } while (0)

    NEXT_SEGMENT();

    /* Tag. */
    size_t t0 = i;
    while (i < text_end && is_tag_char((unsigned char)buf[i])) i++;
    if (i == t0 || (i < text_end && buf[i] != ' ') || i - t0 > IMAP_PARSER_MAX_TAG) {
        cmd->error = i == text_end && t0 == text_end ? "Empty command line" : "Invalid tag";
        goto fail;
    }
    cmd->tag = xstrndup(buf + t0, i - t0);
    if (i == text_end) {
        cmd->error = "Missing command name";
        goto fail;
    }
    i++; /* SP */

    /* Command name. */
    size_t n0 = i;
    while (i < text_end && isalnum((unsigned char)buf[i])) i++;
    if (i == n0 || (i < text_end && buf[i] != ' ')) {
        cmd->error = "Invalid command name";
        goto fail;
    }
    cmd->name = xstrndup(buf + n0, i - n0);
    for (char *c = cmd->name; *c; c++) *c = (char)toupper((unsigned char)*c);

    /* Arguments. */
    for (;;) {
        while (i < text_end && buf[i] == ' ') i++;
        if (i >= text_end) {
            if (depth > 0) {
                cmd->error = "Missing ')'";
                goto fail;
            }
            break;
        }
        unsigned char c = (unsigned char)buf[i];
        struct imap_arg a;
        memset(&a, 0, sizeof(a));
        if (c == '(') {
            if (depth >= IMAP_PARSER_MAX_DEPTH) {
                cmd->error = "Too deep parenthesis nesting";
                goto fail;
            }
            depth++;
            memset(&stack[depth], 0, sizeof(stack[depth]));
            i++;
            continue;
        }
        if (c == ')') {
            if (depth == 0) {
                cmd->error = "Unexpected ')'";
                goto fail;
            }
            a.type = IMAP_ARG_LIST;
            a.list = stack[depth].v;
            a.nlist = stack[depth].n;
            memset(&stack[depth], 0, sizeof(stack[depth]));
            depth--;
            if (!frame_push(&stack[depth], &a)) {
                args_free(a.list, a.nlist);
                cmd->error = "Too many arguments";
                goto fail;
            }
            i++;
            continue;
        }
        if (c == '"') {
            i++;
            char *s = xmalloc(text_end - i + 1);
            size_t sl = 0;
            bool closed = false;
            while (i < text_end) {
                char ch = buf[i++];
                if (ch == '"') {
                    closed = true;
                    break;
                }
                if (ch == '\\') {
                    if (i >= text_end || (buf[i] != '\\' && buf[i] != '"')) {
                        free(s);
                        cmd->error = "Invalid escape in quoted string";
                        goto fail;
                    }
                    ch = buf[i++];
                }
                if (ch == '\r') {
                    free(s);
                    cmd->error = "CR in quoted string";
                    goto fail;
                }
                s[sl++] = ch;
            }
            if (!closed) {
                free(s);
                cmd->error = "Missing '\"'";
                goto fail;
            }
            s[sl] = '\0';
            a.type = IMAP_ARG_QUOTED;
            a.str = s;
            a.len = sl;
        } else if (c == '{' || (c == '~' && i + 1 < text_end && buf[i + 1] == '{')) {
            bool lit8 = c == '~';
            i += lit8 ? 2 : 1;
            uint64_t n = 0;
            size_t d0 = i;
            while (i < text_end && isdigit((unsigned char)buf[i])) {
                if (i - d0 >= IMAP_PARSER_MAX_LITERAL_DIGITS) {
                    cmd->error = "Literal size too large";
                    goto fail;
                }
                n = n * 10 + (uint64_t)(buf[i] - '0');
                i++;
            }
            bool nonsync = false;
            if (i < text_end && buf[i] == '+') {
                nonsync = true;
                i++;
            }
            if (i == d0 || i >= text_end || buf[i] != '}' || i + 1 != text_end) {
                cmd->error = "Invalid literal";
                goto fail;
            }
            if (n > p->max_literal - literal_total) {
                cmd->error = "Literal too big";
                cmd->literal_size = n;
                cmd->literal_nonsync = nonsync;
                *consumed = seg_lf + 1;
                res = IMAP_PARSE_TOOBIG_LITERAL;
                goto out;
            }
            if (!nonsync) {
                if (sync_seen >= p->literals_acked) {
                    cmd->literal_size = n;
                    res = IMAP_PARSE_NEED_LITERAL;
                    goto out;
                }
                sync_seen++;
            }
            size_t data = seg_lf + 1;
            if (len - data < n) {
                res = IMAP_PARSE_NEED_MORE;
                goto out;
            }
            literal_total += n;
            a.type = lit8 ? IMAP_ARG_LITERAL8 : IMAP_ARG_LITERAL;
            a.str = xmalloc((size_t)n + 1);
            memcpy(a.str, buf + data, (size_t)n);
            a.str[n] = '\0';
            a.len = (size_t)n;
            if (!frame_push(&stack[depth], &a)) {
                free(a.str);
                cmd->error = "Too many arguments";
                goto fail;
            }
            pos = data + (size_t)n;
            NEXT_SEGMENT();
            if (i < text_end && buf[i] != ' ' && buf[i] != ')') {
                cmd->error = "Missing space after literal";
                goto fail;
            }
            continue;
        } else {
            size_t a0 = i;
            while (i < text_end && !is_atom_end((unsigned char)buf[i])) {
                unsigned char ch = (unsigned char)buf[i];
                if (is_ctl(ch) || ch == '"' || ch == '{') {
                    cmd->error = "Invalid characters in atom";
                    goto fail;
                }
                if (ch == '[') {
                    /* a FETCH section swallows up to its "]"; without one
                     * "[" is an ordinary atom character (SELECT a[b) */
                    const char *rb = memchr(buf + i, ']', text_end - i);
                    if (rb) i = (size_t)(rb - buf);
                }
                i++;
            }
            /* NIL keeps its text: where the grammar has an astring, a flag
             * or a pattern, the atom NIL is just that (SEARCH SUBJECT NIL) */
            a.type = i - a0 == 3 && strncasecmp(buf + a0, "NIL", 3) == 0 ? IMAP_ARG_NIL : IMAP_ARG_ATOM;
            a.str = xstrndup(buf + a0, i - a0);
            a.len = i - a0;
        }
        if (!frame_push(&stack[depth], &a)) {
            free(a.str);
            cmd->error = "Too many arguments";
            goto fail;
        }
    }
#undef NEXT_SEGMENT

    cmd->args = stack[0].v;
    cmd->nargs = stack[0].n;
    stack[0].v = NULL;
    *consumed = seg_lf + 1;
    imap_parser_reset(p);
    return IMAP_PARSE_COMPLETE;

fail:
    res = IMAP_PARSE_ERROR;
    *consumed = seg_lf + 1;
out:
    for (size_t d = 0; d <= depth; d++)
        if (stack[d].v) args_free(stack[d].v, stack[d].n);
    if (res != IMAP_PARSE_NEED_MORE && res != IMAP_PARSE_NEED_LITERAL) imap_parser_reset(p);
    return res;
}

enum imap_parse_result imap_parser_line(const char *buf, size_t len, size_t max,
                                        size_t *line_len, size_t *consumed) {
    *line_len = 0;
    *consumed = 0;
    const char *lf = memchr(buf, '\n', len);
    if (!lf) return len > max ? IMAP_PARSE_TOOBIG_LINE : IMAP_PARSE_NEED_MORE;
    size_t n = (size_t)(lf - buf);
    if (n + 1 > max) {
        *consumed = n + 1;
        return IMAP_PARSE_TOOBIG_LINE;
    }
    *consumed = n + 1;
    if (memchr(buf, '\0', n)) return IMAP_PARSE_ERROR;
    if (n > 0 && buf[n - 1] == '\r') n--;
    *line_len = n;
    return IMAP_PARSE_COMPLETE;
}

bool imap_parser_is_done(const char *line, size_t len) {
    while (len > 0 && (line[0] == ' ' || line[0] == '\t')) {
        line++;
        len--;
    }
    while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t')) len--;
    return len == 4 && strncasecmp(line, "DONE", 4) == 0;
}

bool imap_arg_is_astring(const struct imap_arg *a) {
    return a->type == IMAP_ARG_ATOM || a->type == IMAP_ARG_NIL || a->type == IMAP_ARG_QUOTED ||
           a->type == IMAP_ARG_LITERAL;
}

bool imap_arg_is_nstring(const struct imap_arg *a) {
    return imap_arg_is_astring(a) || a->type == IMAP_ARG_NIL;
}

bool imap_arg_atom_is(const struct imap_arg *a, const char *s) {
    return a->type == IMAP_ARG_ATOM && strcasecmp(a->str, s) == 0;
}

bool imap_arg_number64(const struct imap_arg *a, uint64_t *out) {
    if (a->type != IMAP_ARG_ATOM || a->len == 0 || a->len > 20) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < a->len; i++) {
        unsigned char c = (unsigned char)a->str[i];
        if (!isdigit(c)) return false;
        uint64_t d = (uint64_t)(c - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

bool imap_arg_number(const struct imap_arg *a, uint32_t *out) {
    uint64_t v;
    if (!imap_arg_number64(a, &v) || v > UINT32_MAX) return false;
    *out = (uint32_t)v;
    return true;
}

static bool parse_u64(const char *s, size_t n, uint64_t *out) {
    if (n == 0 || n > 20) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) return false;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

bool imap_parser_fetch_att(const char *atom, size_t len, struct imap_fetch_att *out) {
    memset(out, 0, sizeof(*out));
    char *s = xmalloc(len + 2);
    memcpy(s, atom, len);
    s[len] = '\0';
    s[len + 1] = '\0';
    out->storage_ = s;
    size_t i = 0;
    while (i < len && s[i] != '[' && s[i] != '<') i++;
    if (i == 0) goto bad;
    char *name_end = s + i;
    if (i < len && s[i] == '[') {
        char *rb = memchr(s + i, ']', len - i);
        if (!rb) goto bad;
        out->has_section = true;
        out->section = s + i + 1;
        *rb = '\0';
        i = (size_t)(rb - s) + 1;
    }
    if (i < len && s[i] == '<') {
        if (!out->has_section || s[len - 1] != '>') goto bad;
        const char *p = s + i + 1;
        const char *end = s + len - 1;
        const char *dot = memchr(p, '.', (size_t)(end - p));
        if (!dot || !parse_u64(p, (size_t)(dot - p), &out->partial_offset) ||
            !parse_u64(dot + 1, (size_t)(end - dot - 1), &out->partial_count) || out->partial_count == 0)
            goto bad;
        out->has_partial = true;
        i = len;
    }
    if (i != len) goto bad;
    *name_end = '\0';
    out->name = s;
    for (char *c = s; *c; c++) *c = (char)toupper((unsigned char)*c);
    for (char *c = s; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '.') goto bad;
    return true;
bad:
    imap_fetch_att_free(out);
    return false;
}

void imap_fetch_att_free(struct imap_fetch_att *f) {
    free(f->storage_);
    memset(f, 0, sizeof(*f));
}

/* ---- the command framer ------------------------------------------------ */

void imap_framer_init(struct imap_framer *f) {
    memset(f, 0, sizeof *f);
}

/* Does the line whose last bytes are t[0..n) (line end removed) end with
 * a literal announcement? The tail is reset at each line and holds enough
 * bytes for the longest, so it never reaches into the line before. */
static bool tail_literal(const unsigned char *t, size_t n, uint64_t *size, bool *sync) {
    if (n < 3 || t[n - 1] != '}') return false;
    size_t i = n - 1;
    bool plus = false;
    if (t[i - 1] == '+') {
        plus = true;
        i--;
    }
    size_t digits_end = i;
    while (i > 0 && t[i - 1] >= '0' && t[i - 1] <= '9') i--;
    if (i == digits_end || i == 0 || t[i - 1] != '{' || digits_end - i > IMAP_PARSER_MAX_LITERAL_DIGITS) return false;
    uint64_t v = 0;
    for (size_t k = i; k < digits_end; k++) v = v * 10 + (uint64_t)(t[k] - '0');
    *size = v;
    *sync = !plus;
    return true;
}

static void tail_push(struct imap_framer *f, const char *p, size_t n) {
    const size_t cap = sizeof f->tail;
    if (n >= cap) {
        memcpy(f->tail, p + n - cap, cap);
        f->tail_len = cap;
        return;
    }
    if (f->tail_len + n > cap) {
        size_t drop = f->tail_len + n - cap;
        memmove(f->tail, f->tail + drop, f->tail_len - drop);
        f->tail_len -= drop;
    }
    memcpy(f->tail + f->tail_len, p, n);
    f->tail_len += n;
}

enum imap_frame_result imap_framer_feed(struct imap_framer *f, const char *data, size_t len, size_t max_line,
                                        size_t *used) {
    size_t i = 0;
    while (i < len) {
        if (f->skip) {
            size_t take = len - i < f->skip ? len - i : (size_t)f->skip;
            i += take;
            f->pos += take;
            f->skip -= take;
            continue;
        }
        const char *nl = memchr(data + i, '\n', len - i);
        size_t run = nl ? (size_t)(nl - (data + i)) : len - i;
        /* the line's bytes, LF excluded (its CR counts, as one of the 2 spare) */
        if (f->line_len + run > (uint64_t)max_line + 2) {
            *used = i;
            return IMAP_FRAME_TOOBIG_LINE;
        }
        tail_push(f, data + i, run);
        f->line_len += run;
        f->pos += run;
        i += run;
        if (!nl) break;
        i++; /* the LF */
        f->pos++;
        size_t n = f->tail_len;
        if (n > 0 && f->tail[n - 1] == '\r') n--;
        uint64_t size;
        bool sync;
        bool lit = tail_literal(f->tail, n, &size, &sync);
        f->line_len = 0;
        f->tail_len = 0;
        *used = i;
        if (!lit) return IMAP_FRAME_COMPLETE;
        f->literal_size = size;
        f->literal_sync = sync;
        return IMAP_FRAME_LITERAL;
    }
    *used = len;
    return IMAP_FRAME_NEED_MORE;
}

void imap_framer_accept_literal(struct imap_framer *f) {
    f->skip = f->literal_size;
    f->literal_total += f->literal_size;
    f->literal_size = 0;
}

void imap_trace_command(const char *buf, size_t len, size_t max, buf_t *out) {
    struct imap_framer f;
    imap_framer_init(&f);
    size_t off = 0, text = 0, line_start = 0;
    while (off < len) {
        size_t used;
        enum imap_frame_result r = imap_framer_feed(&f, buf + off, len - off, SIZE_MAX / 4, &used);
        /* the text of the line just ended (or what is left) */
        size_t end = off + used;
        size_t le = end;
        if (r != IMAP_FRAME_NEED_MORE && le > line_start && buf[le - 1] == '\n') le--;
        if (le > line_start && buf[le - 1] == '\r') le--;
        for (size_t i = line_start; i < le; i++) {
            if (text >= max) break;
            unsigned char c = (unsigned char)buf[i];
            buf_append_char(out, c >= 0x20 && c != 0x7f ? (char)c : '?');
            text++;
        }
        if (text >= max) {
            buf_append_str(out, "...");
            return;
        }
        off = end;
        if (r != IMAP_FRAME_LITERAL) return;
        uint64_t n = f.literal_size;
        buf_printf(out, "<%llu bytes>", (unsigned long long)n);
        imap_framer_accept_literal(&f);
        size_t skip = n > len - off ? len - off : (size_t)n;
        imap_framer_feed(&f, buf + off, skip, SIZE_MAX / 4, &used);
        off += skip;
        line_start = off;
    }
}
