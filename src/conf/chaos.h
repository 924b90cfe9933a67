/*
 * chaos - SMTP failure injection, so an application's retry paths can be
 * tested (Mailpit's "chaos"): each trigger fails MAIL FROM (sender), RCPT
 * TO (recipient) or AUTH (authentication) with its reply code at its
 * probability in percent. The `chaos_triggers` syntax is Mailpit's
 * --chaos-triggers: "sender:451:5,recipient:550:10,authentication:535:100".
 * Pure: parsing, and the decision given a random number.
 */
#ifndef DEVMAIL_CHAOS_H
#define DEVMAIL_CHAOS_H

#include <stdbool.h>

#include "core/buf.h"

enum chaos_point { CHAOS_SENDER, CHAOS_RECIPIENT, CHAOS_AUTHENTICATION, CHAOS_POINTS };

struct chaos_trigger {
    int error_code;  /* 400..599 */
    int probability; /* 0..100 percent */
};

struct chaos {
    struct chaos_trigger t[CHAOS_POINTS];
};

/* Defaults: 451, 451, 535, all at 0 %. */
void chaos_defaults(struct chaos *c);
/* The trigger named key ("sender", "recipient"/"recipients",
 * "auth"/"authentication"), -1 if none. */
int chaos_point_of(const char *key);
const char *chaos_point_name(enum chaos_point p);
/* Set one trigger, checking the ranges; 0 or -1 with err. */
int chaos_set(struct chaos *c, enum chaos_point p, int error_code, int probability, buf_t *err);
/* Parse a chaos_triggers value onto c (starting from the defaults);
 * "" gives the defaults. 0 or -1 with err. */
int chaos_parse(const char *spec, struct chaos *c, buf_t *err);
/* Does the trigger fire for a random roll in 0..99? */
bool chaos_fires(const struct chaos_trigger *t, int roll);

#endif
