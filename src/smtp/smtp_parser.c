#include "smtp/smtp_parser.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xalloc.h"

enum smtp_line_result smtp_line_find(const char *buf, size_t len, size_t max, size_t *line_len, size_t *consumed) {
    size_t lim = len < max ? len : max;
    const char *nl = memchr(buf, '\n', lim);
    if (!nl) return len >= max ? SMTP_LINE_TOO_LONG : SMTP_LINE_NEED_MORE;
    size_t n = (size_t)(nl - buf);
    *consumed = n + 1;
    if (n > 0 && buf[n - 1] == '\r') n--;
    *line_len = n;
    return SMTP_LINE_OK;
}

static const struct {
    const char *name;
    enum smtp_verb verb;
} smtp_verbs[] = {
    {"HELO", SMTP_HELO}, {"EHLO", SMTP_EHLO}, {"MAIL", SMTP_MAIL}, {"RCPT", SMTP_RCPT},
    {"DATA", SMTP_DATA}, {"BDAT", SMTP_BDAT}, {"RSET", SMTP_RSET}, {"NOOP", SMTP_NOOP},
    {"QUIT", SMTP_QUIT}, {"VRFY", SMTP_VRFY}, {"EXPN", SMTP_EXPN}, {"HELP", SMTP_HELP},
    {"STARTTLS", SMTP_STARTTLS}, {"AUTH", SMTP_AUTH},
};

const char *smtp_verb_name(enum smtp_verb v) {
    for (size_t i = 0; i < sizeof smtp_verbs / sizeof smtp_verbs[0]; i++)
        if (smtp_verbs[i].verb == v) return smtp_verbs[i].name;
    return "UNKNOWN";
}

void smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd) {
    memset(cmd, 0, sizeof *cmd);
    cmd->has_nul = memchr(line, '\0', len) != NULL;
    size_t i = 0;
    while (i < len && line[i] == ' ') i++; /* tolerate leading blanks */
    size_t vstart = i;
    while (i < len && line[i] != ' ' && line[i] != '\t') i++;
    size_t vlen = i - vstart;
    cmd->verb = SMTP_UNKNOWN;
    for (size_t k = 0; k < sizeof smtp_verbs / sizeof smtp_verbs[0]; k++) {
        if (mem_ieq(line + vstart, vlen, smtp_verbs[k].name)) {
            cmd->verb = smtp_verbs[k].verb;
            break;
        }
    }
    while (i < len && (line[i] == ' ' || line[i] == '\t')) i++;
    size_t end = len;
    while (end > i && (line[end - 1] == ' ' || line[end - 1] == '\t')) end--;
    cmd->arg = line + i;
    cmd->arg_len = end - i;
}

static bool atext(unsigned char c) {
    /* RFC 5322 atext, plus any 8-bit byte (SMTPUTF8 addresses). */
    if (c >= 0x80) return true;
    if (isalnum(c)) return true;
    return strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL && c != '\0';
}

static bool domain_valid(const char *d, size_t n) {
    if (n == 0 || n > SMTP_MAX_DOMAIN) return false;
    if (d[0] == '[') {
        /* address literal: [1.2.3.4] or [IPv6:...]; accept printable content */
        if (d[n - 1] != ']' || n < 3) return false;
        for (size_t i = 1; i + 1 < n; i++)
            if (d[i] <= ' ' || d[i] == '[' || d[i] == ']' || d[i] == '\\' || (unsigned char)d[i] >= 0x7f) return false;
        return true;
    }
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)d[i];
        if (c == '.') {
            if (label == 0) return false;
            label = 0;
            continue;
        }
        if (!(isalnum(c) || c == '-' || c >= 0x80)) return false;
        if (++label > 63) return false;
    }
    return label > 0;
}

bool smtp_addr_valid(const char *addr, size_t len) {
    if (len == 0 || len > SMTP_MAX_PATH) return false;
    /* the local part may be quoted and contain '@'; the domain cannot */
    const char *at = NULL;
    for (size_t i = len; i > 0; i--) {
        if (addr[i - 1] == '@') {
            at = addr + i - 1;
            break;
        }
    }
    if (!at) return false;
    size_t ll = (size_t)(at - addr);
    if (ll == 0 || ll > SMTP_MAX_LOCAL_PART) return false;
    if (addr[0] == '"') {
        if (ll < 2 || addr[ll - 1] != '"') return false;
        for (size_t i = 1; i + 1 < ll; i++) {
            unsigned char c = (unsigned char)addr[i];
            if (c == '\\') {
                /* RFC 5321 quoted-pairSMTP: backslash and one of %d32-126 */
                if (++i + 1 >= ll || addr[i] < 32 || addr[i] > 126) return false;
                continue;
            }
            if (c == '"' || c < 0x20 || c == 0x7f) return false;
        }
    } else {
        bool dot_ok = false;
        for (size_t i = 0; i < ll; i++) {
            unsigned char c = (unsigned char)addr[i];
            if (c == '.') {
                if (!dot_ok) return false;
                dot_ok = false;
                continue;
            }
            if (!atext(c)) return false;
            dot_ok = true;
        }
        if (!dot_ok) return false;
    }
    return domain_valid(at + 1, len - ll - 1);
}

const char *smtp_addr_domain(const char *addr) {
    const char *at = strrchr(addr, '@');
    return at ? at + 1 : "";
}

int smtp_xtext_decode(const char *s, buf_t *out) {
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '+') {
            if (!isxdigit((unsigned char)p[1]) || !isxdigit((unsigned char)p[2])) return -1;
            char hex[3] = {p[1], p[2], 0};
            buf_append_char(out, (char)strtol(hex, NULL, 16));
            p += 2;
        } else if (c < 33 || c > 126 || c == '=') {
            return -1;
        } else {
            buf_append_char(out, (char)c);
        }
    }
    return 0;
}

void smtp_path_free(struct smtp_path *p) {
    free(p->addr);
    for (size_t i = 0; i < p->nparams; i++) {
        free(p->params[i].key);
        free(p->params[i].value);
    }
    memset(p, 0, sizeof *p);
}

const struct smtp_param *smtp_path_param(const struct smtp_path *p, const char *key) {
    for (size_t i = 0; i < p->nparams; i++)
        if (strcmp(p->params[i].key, key) == 0) return &p->params[i];
    return NULL;
}

int smtp_path_parse(const char *arg, size_t len, const char *prefix, struct smtp_path *out, const char **reply) {
    memset(out, 0, sizeof *out);
    size_t pl = strlen(prefix);
    /* "FROM:" may be followed by spaces (common in the wild, accepted by Postfix). */
    if (!mem_istarts(arg, len, prefix)) {
        *reply = strcasecmp(prefix, "FROM:") == 0 ? "501 5.5.4 Syntax: MAIL FROM:<address>"
                                                  : "501 5.5.4 Syntax: RCPT TO:<address>";
        return -1;
    }
    size_t i = pl;
    while (i < len && arg[i] == ' ') i++;
    size_t astart, aend, next;
    bool bracketed = i < len && arg[i] == '<';
    if (i < len && arg[i] == '<') {
        /* find the closing '>' outside a quoted local part */
        bool q = false;
        size_t j = i + 1;
        for (; j < len; j++) {
            if (arg[j] == '\\' && q) {
                j++;
                continue;
            }
            if (arg[j] == '"') q = !q;
            else if (arg[j] == '>' && !q) break;
        }
        if (j >= len) {
            *reply = "501 5.1.7 Bad address syntax";
            return -1;
        }
        astart = i + 1;
        aend = j;
        next = j + 1;
        /* source route "@a,@b:user@d" (RFC 5321 4.1.2): keep only the mailbox */
        if (astart < aend && arg[astart] == '@') {
            const char *colon = memchr(arg + astart, ':', aend - astart);
            if (!colon) {
                *reply = "501 5.1.7 Bad address syntax";
                return -1;
            }
            astart = (size_t)(colon - arg) + 1;
            if (astart == aend) { /* "<@a:>" is not the null path */
                *reply = "501 5.1.7 Bad address syntax";
                return -1;
            }
        }
    } else {
        /* bare address (RFC 821 clients, the recipe's nc transcript) */
        astart = i;
        while (i < len && arg[i] != ' ') i++;
        aend = i;
        next = i;
        if (aend == astart) {
            *reply = "501 5.1.7 Bad address syntax";
            return -1;
        }
    }
    if (next < len && arg[next] != ' ') {
        *reply = "501 5.1.7 Bad address syntax";
        return -1;
    }
    size_t alen = aend - astart;
    /* RFC 5321 4.1.1.3: RCPT TO:<Postmaster> names the postmaster without
     * a domain; it is the one mailbox accepted without one */
    bool postmaster = bracketed && strcasecmp(prefix, "TO:") == 0 && mem_ieq(arg + astart, alen, "postmaster");
    if (!postmaster && alen > 0 && !smtp_addr_valid(arg + astart, alen)) {
        *reply = "501 5.1.3 Bad recipient address syntax";
        if (strcasecmp(prefix, "FROM:") == 0) *reply = "501 5.1.7 Bad sender address syntax";
        return -1;
    }
    out->addr = postmaster ? xstrdup("postmaster") : xstrndup(arg + astart, alen);
    /* parameters: keyword[=value] separated by spaces */
    i = next;
    while (i < len) {
        while (i < len && arg[i] == ' ') i++;
        if (i >= len) break;
        size_t ks = i;
        while (i < len && arg[i] != ' ' && arg[i] != '=') i++;
        size_t ke = i;
        char *value = NULL;
        if (i < len && arg[i] == '=') {
            size_t vs = ++i;
            while (i < len && arg[i] != ' ') i++;
            value = xstrndup(arg + vs, i - vs);
        }
        if (ke == ks || out->nparams >= SMTP_MAX_PARAMS) {
            free(value);
            smtp_path_free(out);
            *reply = "555 5.5.4 Too many or malformed parameters";
            return -1;
        }
        /* check the raw bytes: a NUL would hide the rest from xstrndup */
        bool bad = value && strlen(value) != (size_t)(i - (ke + 1));
        for (size_t c = ks; c < ke; c++)
            if (!isalnum((unsigned char)arg[c]) && arg[c] != '-') bad = true;
        if (bad) {
            free(value);
            smtp_path_free(out);
            *reply = "555 5.5.4 Malformed parameter";
            return -1;
        }
        char *key = xstrndup(arg + ks, ke - ks);
        for (char *c = key; *c; c++) *c = (char)toupper((unsigned char)*c);
        out->params[out->nparams].key = key;
        out->params[out->nparams].value = value;
        out->nparams++;
    }
    return 0;
}
