#include "conf/chaos.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const names[CHAOS_POINTS] = {"Sender", "Recipient", "Authentication"};

void chaos_defaults(struct chaos *c) {
    c->t[CHAOS_SENDER] = (struct chaos_trigger){451, 0};
    c->t[CHAOS_RECIPIENT] = (struct chaos_trigger){451, 0};
    c->t[CHAOS_AUTHENTICATION] = (struct chaos_trigger){535, 0};
}

int chaos_point_of(const char *key) {
    if (!strcasecmp(key, "sender")) return CHAOS_SENDER;
    if (!strcasecmp(key, "recipient") || !strcasecmp(key, "recipients")) return CHAOS_RECIPIENT;
    if (!strcasecmp(key, "auth") || !strcasecmp(key, "authentication")) return CHAOS_AUTHENTICATION;
    return -1;
}

const char *chaos_point_name(enum chaos_point p) {
    return p < CHAOS_POINTS ? names[p] : "";
}

int chaos_set(struct chaos *c, enum chaos_point p, int error_code, int probability, buf_t *err) {
    if (error_code < 400 || error_code > 599) {
        buf_printf(err, "chaos error code must be between 400 and 599, not %d", error_code);
        return -1;
    }
    if (probability < 0 || probability > 100) {
        buf_printf(err, "chaos probability must be between 0 and 100, not %d", probability);
        return -1;
    }
    c->t[p] = (struct chaos_trigger){error_code, probability};
    return 0;
}

/* A decimal number of at most digits digits at *p, advancing it. */
static int number(const char **p, int digits, int *out) {
    const char *s = *p;
    int v = 0, n = 0;
    while (isdigit((unsigned char)*s) && n < digits) v = v * 10 + (*s++ - '0'), n++;
    if (n == 0 || isdigit((unsigned char)*s)) return -1;
    *p = s;
    *out = v;
    return 0;
}

int chaos_parse(const char *spec, struct chaos *c, buf_t *err) {
    chaos_defaults(c);
    const char *p = spec;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        if (!*p) break;
        const char *start = p;
        char key[32];
        size_t kl = 0;
        while (isalpha((unsigned char)*p) && kl < sizeof key - 1) key[kl++] = *p++;
        key[kl] = '\0';
        int point = chaos_point_of(key);
        int code = 0, prob = 0;
        if (point < 0 || *p++ != ':' || number(&p, 3, &code) < 0 || *p++ != ':' || number(&p, 3, &prob) < 0 ||
            (*p && *p != ',' && *p != ' ' && *p != '\t')) {
            const char *end = strchr(start, ',');
            buf_printf(err, "invalid chaos trigger '%.*s' (want sender|recipient|authentication:CODE:PERCENT)",
                       (int)(end ? (size_t)(end - start) : strlen(start)), start);
            return -1;
        }
        if (chaos_set(c, (enum chaos_point)point, code, prob, err) < 0) return -1;
    }
    return 0;
}

bool chaos_fires(const struct chaos_trigger *t, int roll) {
    return t->probability > 0 && roll < t->probability;
}
