/*
 * authguard - failed logins are slowed per client address and per account,
 * not only per connection, so parallel connections do not multiply the
 * guesses an attacker gets (IMAP, POP3 and SMTP AUTH).
 *
 * Each key (the address, the lower-cased user name) has a backlog: the
 * time its recent failures still "owe". A failure adds auth_failure_delay
 * to the backlog of both keys and is answered after that delay plus the
 * larger backlog, capped at auth_failure_max_delay. While a key's backlog
 * exceeds the cap the login is refused without checking the password, so
 * a key is verified at most about once per auth_failure_delay in the long
 * run, however many connections try. Times are milliseconds from any
 * monotonic clock (pure: the caller passes now).
 */
#ifndef DEVMAIL_AUTHGUARD_H
#define DEVMAIL_AUTHGUARD_H

#include <stdbool.h>
#include <stdint.h>

struct authguard;

struct authguard *authguard_new(int64_t delay_ms, int64_t max_delay_ms);
void authguard_free(struct authguard *g);
/* Change the delays (SIGHUP). */
void authguard_set(struct authguard *g, int64_t delay_ms, int64_t max_delay_ms);
/* Refuse without checking the password? */
bool authguard_locked(struct authguard *g, const char *peer, const char *user, int64_t now_ms);
/* Record a failure; the ms to wait before answering it. */
int64_t authguard_failed(struct authguard *g, const char *peer, const char *user, int64_t now_ms);
/* Keys tracked now (for tests and /metrics). */
unsigned authguard_size(struct authguard *g, int64_t now_ms);
/* A monotonic clock in ms, for callers. */
int64_t authguard_now_ms(void);

#endif
