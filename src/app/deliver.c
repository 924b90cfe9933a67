#include "app/deliver.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "core/xalloc.h"

int deliver_route(struct app *app, const char *addr, char **account, buf_t *why) {
    const struct config *cfg = app->cfg;
    return rcptmap_route(&app->rcptmap, cfg->domains.v, cfg->domains.n, cfg->default_account, addr, account, why);
}

enum deliver_check deliver_check(struct app *app, int64_t size) {
    if (size >= 0 && app->cfg->message_size_limit > 0 && size > app->cfg->message_size_limit) return DELIVER_TOO_BIG;
    if (app_disk_full(app)) return DELIVER_DISK_FULL;
    return DELIVER_OK;
}

void deliver_trace_headers(buf_t *h, const char *hostname, const char *mail_from, const struct deliver_rcpt *rcpts,
                           size_t n, const char *account, const struct deliver_trace *t) {
    buf_printf(h, "Return-Path: <%s>\n", mail_from ? mail_from : "");
    const char *first = NULL;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(rcpts[i].account, account) != 0) continue;
        bool dup = false;
        for (size_t k = 0; k < i && !dup; k++)
            dup = !strcmp(rcpts[k].account, account) && !strcasecmp(rcpts[k].addr, rcpts[i].addr);
        if (dup) continue;
        buf_printf(h, "X-Original-To: %s\n", rcpts[i].addr);
        if (!first) first = rcpts[i].addr;
    }
    buf_printf(h, "Delivered-To: %s\n", first ? first : account);
    char date[64];
    struct tm tm;
    localtime_r(&t->when, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z (%Z)", &tm);
    /* client text (the HELO name): printable and bounded */
    buf_t helo = BUF_INIT;
    const char *hn = t->helo ? t->helo : "unknown";
    for (size_t i = 0; hn[i] && i < 255; i++) {
        unsigned char c = (unsigned char)hn[i];
        buf_append_char(&helo, (c < 0x21 || c > 0x7e || c == '(' || c == ')') ? '?' : (char)c);
    }
    const char *peer = t->peer ? t->peer : "127.0.0.1";
    bool local = !strncmp(peer, "127.", 4) || !strcmp(peer, "::1");
    buf_printf(h, "Received: from %s (%s [%s])\n", buf_cstr(&helo), local ? "localhost" : "unknown", peer);
    if (t->auth_user) {
        /* Postfix's smtpd_sasl_authenticated_header; the API's Username */
        buf_append_str(h, "\t(Authenticated sender: ");
        for (size_t i = 0; t->auth_user[i] && i < 255; i++) {
            unsigned char c = (unsigned char)t->auth_user[i];
            buf_append_char(h, (c < 0x21 || c > 0x7e || c == '(' || c == ')') ? '?' : (char)c);
        }
        buf_append_str(h, ")\n");
    }
    buf_printf(h, "\tby %s (devmail) with %s", hostname, t->with);
    if (t->id) buf_printf(h, " id %s", t->id);
    /* Postfix names the recipient only when there is exactly one */
    if (n == 1) buf_printf(h, "\n\tfor <%s>", rcpts[0].addr);
    buf_printf(h, "; %s\n", date);
    buf_free(&helo);
}

void deliver_queue_id(char *out, size_t size) {
    static unsigned counter;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    snprintf(out, size, "%05lX%05lX%02X", (unsigned long)(tv.tv_sec & 0xFFFFF), (unsigned long)(tv.tv_usec & 0xFFFFF),
             (++counter) & 0xFF);
}

int deliver_begin(struct app *app, struct store_delivery *d, const char *mail_from, const struct deliver_rcpt *rcpts,
                  size_t n, const struct deliver_trace *t) {
    char **accounts = xcalloc(n ? n : 1, sizeof *accounts);
    size_t na = 0;
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t k = 0; k < na && !seen; k++) seen = !strcmp(accounts[k], rcpts[i].account);
        if (!seen) accounts[na++] = (char *)rcpts[i].account;
    }
    buf_t all = BUF_INIT;
    for (size_t i = 0; i < n; i++) buf_printf(&all, "%s%s", i ? ", " : "", rcpts[i].addr);
    int rc = store_delivery_begin(app->store, d, accounts, na, mail_from ? mail_from : "", buf_cstr(&all));
    buf_free(&all);
    if (rc == 0) {
        for (size_t a = 0; a < na; a++) {
            buf_t h = BUF_INIT;
            deliver_trace_headers(&h, app->cfg->hostname, mail_from, rcpts, n, accounts[a], t);
            store_delivery_write_one(d, a, h.data, h.len);
            buf_free(&h);
        }
    }
    free(accounts);
    return rc < 0 ? -1 : 0;
}
