#include "check/spamd.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "core/xalloc.h"

void spamd_request(const char *msg, size_t len, buf_t *out) {
    buf_printf(out, "REPORT SPAMC/1.5\r\nContent-length: %zu\r\n\r\n", len);
    buf_append(out, msg, len);
}

/* The next line of [*pos, len) without its line end; false at the end. */
static bool next_line(const char *buf, size_t len, size_t *pos, const char **line, size_t *n) {
    if (*pos >= len) return false;
    const char *nl = memchr(buf + *pos, '\n', len - *pos);
    size_t end = nl ? (size_t)(nl - buf) : len;
    *line = buf + *pos;
    *n = end - *pos;
    if (*n && (*line)[*n - 1] == '\r') (*n)--;
    *pos = nl ? end + 1 : len;
    return true;
}

static bool parse_double(const char *s, size_t n, double *out) {
    char tmp[32];
    if (n == 0 || n >= sizeof tmp) return false;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *end;
    double v = strtod(tmp, &end);
    if (end == tmp || *end || !isfinite(v)) return false;
    *out = v;
    return true;
}

static char *trimmed(const char *s, size_t n) {
    while (n && (*s == ' ' || *s == '\t')) s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    return xstrndup(s, n);
}

/* " 0.6 MISSING_MID            Missing Message-Id: header" */
static bool rule_line(const char *l, size_t n, struct spam_rule *r) {
    size_t i = 0;
    while (i < n && l[i] == ' ') i++;
    size_t s = i;
    while (i < n && (isdigit((unsigned char)l[i]) || l[i] == '.' || l[i] == '-')) i++;
    if (i == s || i >= n || l[i] != ' ') return false;
    double v;
    if (!parse_double(l + s, i - s, &v)) return false;
    while (i < n && l[i] == ' ') i++;
    size_t ns = i;
    while (i < n && (isalnum((unsigned char)l[i]) || l[i] == '_')) i++;
    if (i == ns) return false;
    r->score = v;
    r->name = xstrndup(l + ns, i - ns);
    r->description = trimmed(l + i, n - i);
    return true;
}

int spamd_parse_response(const char *buf, size_t len, struct spam_result *out, buf_t *err) {
    memset(out, 0, sizeof *out);
    if (len > SPAMD_MAX_RESPONSE) {
        buf_append_str(err, "spamd's answer is too long");
        return -1;
    }
    size_t pos = 0;
    const char *l;
    size_t n;
    /* "SPAMD/1.1 0 EX_OK" */
    if (!next_line(buf, len, &pos, &l, &n) || n < 8 || strncmp(l, "SPAMD/", 6) != 0) {
        buf_append_str(err, "not a spamd answer");
        return -1;
    }
    const char *sp = memchr(l, ' ', n);
    if (!sp) {
        buf_append_str(err, "not a spamd answer");
        return -1;
    }
    size_t i = (size_t)(sp - l) + 1;
    int code = 0, digits = 0;
    while (i < n && isdigit((unsigned char)l[i]) && digits < 4) code = code * 10 + (l[i++] - '0'), digits++;
    if (!digits) {
        buf_append_str(err, "not a spamd answer");
        return -1;
    }
    out->code = code;
    out->message = trimmed(l + i, n - i);
    bool have_spam = false;
    while (next_line(buf, len, &pos, &l, &n) && n > 0) {
        /* "Spam: True ; 6.0 / 5.0" */
        if (n > 5 && !strncasecmp(l, "Spam:", 5)) {
            const char *semi = memchr(l, ';', n);
            const char *slash = semi ? memchr(semi, '/', (size_t)(l + n - semi)) : NULL;
            if (!semi || !slash) continue;
            char *verdict = trimmed(l + 5, (size_t)(semi - l - 5));
            out->is_spam = !strcasecmp(verdict, "true") || !strcasecmp(verdict, "yes");
            free(verdict);
            char *score = trimmed(semi + 1, (size_t)(slash - semi - 1));
            char *thr = trimmed(slash + 1, (size_t)(l + n - slash - 1));
            have_spam = parse_double(score, strlen(score), &out->score) &&
                        parse_double(thr, strlen(thr), &out->threshold);
            free(score);
            free(thr);
        }
    }
    if (out->code != 0) return 0; /* an error answer: no report */
    if (!have_spam) {
        buf_append_str(err, "spamd's answer has no Spam: line");
        spam_result_free(out);
        return -1;
    }
    /* the report: rules follow the "---- ----" line under "Content analysis details" */
    bool in_rules = false, after_details = false;
    while (next_line(buf, len, &pos, &l, &n)) {
        if (!after_details) {
            after_details = n >= 24 && !strncmp(l, "Content analysis details", 24);
            continue;
        }
        if (!in_rules) {
            in_rules = n >= 4 && !strncmp(l, "----", 4);
            continue;
        }
        if (n == 0) break;
        struct spam_rule r;
        if (rule_line(l, n, &r)) {
            if (out->nrules == SPAMD_MAX_RULES) {
                free(r.name);
                free(r.description);
                continue;
            }
            out->rules = xrealloc(out->rules, (out->nrules + 1) * sizeof *out->rules);
            out->rules[out->nrules++] = r;
        } else if (out->nrules && n > 0 && l[0] == ' ') {
            /* a description continued on the next line */
            struct spam_rule *last = &out->rules[out->nrules - 1];
            char *more = trimmed(l, n);
            size_t a = strlen(last->description), b = strlen(more);
            last->description = xrealloc(last->description, a + b + 2);
            last->description[a] = ' ';
            memcpy(last->description + a + 1, more, b + 1);
            free(more);
        }
    }
    return 0;
}

void spam_result_free(struct spam_result *r) {
    for (size_t i = 0; i < r->nrules; i++) {
        free(r->rules[i].name);
        free(r->rules[i].description);
    }
    free(r->rules);
    free(r->message);
    memset(r, 0, sizeof *r);
}

static double cut1(double v) {
    return floor(v * 10) / 10;
}

cJSON *spam_result_json(const struct spam_result *r, const char *error) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "IsSpam", !error && r && r->is_spam);
    cJSON_AddStringToObject(o, "Error", error ? error : "");
    cJSON_AddNumberToObject(o, "Score", !error && r ? cut1(r->score) : 0);
    cJSON *rules = cJSON_AddArrayToObject(o, "Rules");
    for (size_t i = 0; !error && r && i < r->nrules; i++) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "Score", cut1(r->rules[i].score));
        cJSON_AddStringToObject(j, "Name", r->rules[i].name);
        cJSON_AddStringToObject(j, "Description", r->rules[i].description);
        cJSON_AddItemToArray(rules, j);
    }
    return o;
}
