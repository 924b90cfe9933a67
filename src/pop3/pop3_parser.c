/*
 * pop3_parser - POP3 command lines and answer encoding; see pop3_parser.h.
 * Everything here is a pure function over byte buffers so that it can be
 * unit-tested and fuzzed without a socket.
 */
#include "pop3/pop3_parser.h"

#include <string.h>

static const struct {
    const char *name;
    enum pop3_verb verb;
} pop3_verbs[] = {
    {"USER", POP3_USER}, {"PASS", POP3_PASS}, {"APOP", POP3_APOP}, {"AUTH", POP3_AUTH}, {"STLS", POP3_STLS},
    {"CAPA", POP3_CAPA}, {"QUIT", POP3_QUIT}, {"STAT", POP3_STAT}, {"LIST", POP3_LIST}, {"RETR", POP3_RETR},
    {"DELE", POP3_DELE}, {"NOOP", POP3_NOOP}, {"RSET", POP3_RSET}, {"TOP", POP3_TOP},   {"UIDL", POP3_UIDL},
};

enum pop3_line_result pop3_line_find(const char *buf, size_t len, size_t max, size_t *line_len, size_t *consumed) {
    size_t look = len < max ? len : max;
    const char *nl = look ? memchr(buf, '\n', look) : NULL;
    if (!nl) return len >= max ? POP3_LINE_TOO_LONG : POP3_LINE_NEED_MORE;
    size_t n = (size_t)(nl - buf);
    *consumed = n + 1;
    if (n > 0 && buf[n - 1] == '\r') n--;
    *line_len = n;
    return POP3_LINE_OK;
}

const char *pop3_verb_name(enum pop3_verb v) {
    for (size_t i = 0; i < sizeof pop3_verbs / sizeof pop3_verbs[0]; i++)
        if (pop3_verbs[i].verb == v) return pop3_verbs[i].name;
    return "UNKNOWN";
}

static char upper(char c) {
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

int pop3_cmd_parse(const char *line, size_t len, struct pop3_cmd *cmd, const char **err) {
    memset(cmd, 0, sizeof *cmd);
    *err = NULL;
    if (len == 0) {
        *err = "Empty command";
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)line[i];
        /* TAB is tolerated in passwords; other controls are never valid */
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            *err = "Invalid characters in command";
            return -1;
        }
    }
    size_t k = 0;
    while (k < len && line[k] != ' ') {
        char c = upper(line[k]);
        if (c < 'A' || c > 'Z' || k >= POP3_MAX_KEYWORD) {
            *err = "Invalid command keyword";
            return -1;
        }
        cmd->keyword[k++] = c;
    }
    if (k < 3) {
        *err = "Invalid command keyword";
        return -1;
    }
    cmd->keyword[k] = '\0';
    for (size_t i = 0; i < sizeof pop3_verbs / sizeof pop3_verbs[0]; i++)
        if (!strcmp(cmd->keyword, pop3_verbs[i].name)) cmd->verb = pop3_verbs[i].verb;
    if (k < len) {
        cmd->rest = line + k + 1;
        cmd->rest_len = len - k - 1;
    } else {
        cmd->rest = line + len;
    }
    /* Arguments are separated by spaces; runs of spaces are tolerated. */
    size_t i = k;
    while (i < len) {
        while (i < len && line[i] == ' ') i++;
        if (i >= len) break;
        size_t start = i;
        while (i < len && line[i] != ' ') i++;
        if (cmd->nargs >= POP3_MAX_ARGS) {
            if (cmd->verb == POP3_PASS) break; /* the password is taken from rest */
            cmd->nargs = 0;
            *err = "Too many arguments";
            return -1;
        }
        cmd->args[cmd->nargs] = line + start;
        cmd->arg_lens[cmd->nargs] = i - start;
        cmd->nargs++;
    }
    return 0;
}

int pop3_parse_number(const char *p, size_t len, uint32_t *out) {
    if (len == 0 || len > 10) return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') return -1;
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    if (v > POP3_MAX_NUMBER) return -1;
    *out = (uint32_t)v;
    return 0;
}

/* --- answer encoding ------------------------------------------------- */

void pop3_encoder_init(struct pop3_encoder *e, int64_t top_lines) {
    memset(e, 0, sizeof *e);
    e->line_start = true;
    e->in_headers = true;
    e->header_blank = true;
    if (top_lines >= 0) {
        e->limit_body = true;
        e->body_lines = top_lines > (int64_t)POP3_MAX_NUMBER ? POP3_MAX_NUMBER : (uint32_t)top_lines;
    }
}

bool pop3_encoder_feed(struct pop3_encoder *e, const char *p, size_t len, buf_t *out) {
    if (e->done) return true;
    if (len == 0) return false;
    buf_reserve(out, len + len / 8 + 16);
    size_t run = 0; /* bytes of p copied verbatim, flushed in one append */
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        if (e->line_start && c == '.') {
            /* RFC 1939 3: byte-stuff a line that begins with the termination octet */
            buf_append(out, p + i - run, run);
            run = 0;
            buf_append_char(out, '.');
        }
        e->line_start = false;
        if (c == '\n') {
            buf_append(out, p + i - run, run);
            run = 0;
            /* bare LF (the Maildir convention) becomes CRLF */
            buf_append_str(out, e->prev_cr ? "\n" : "\r\n");
            e->line_start = true;
            e->prev_cr = false;
            if (e->in_headers) {
                if (e->header_blank) {
                    e->in_headers = false;
                    if (e->limit_body && e->body_lines == 0) e->done = true;
                }
                e->header_blank = true;
            } else if (e->limit_body && --e->body_lines == 0) {
                e->done = true;
            }
            if (e->done) return true;
            continue;
        }
        e->prev_cr = c == '\r';
        if (c != '\r') e->header_blank = false;
        run++;
    }
    buf_append(out, p + len - run, run);
    return false;
}

void pop3_encoder_finish(struct pop3_encoder *e, buf_t *out) {
    if (!e->line_start) buf_append_str(out, e->prev_cr ? "\n" : "\r\n");
    buf_append_str(out, ".\r\n");
}
