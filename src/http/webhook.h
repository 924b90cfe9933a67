/*
 * webhook - notify webhook_url of each new message (see webhook.c).
 */
#ifndef DEVMAIL_WEBHOOK_H
#define DEVMAIL_WEBHOOK_H

#include <stdint.h>

#include "app/app.h"

struct webhook_stats {
    uint64_t sent, retried, failed, dropped;
    size_t queued;
};

/* Subscribe to the store's new-message events (does nothing while
 * webhook_url is empty; a reload may set it). */
void webhook_start(struct app *app);
void webhook_stop(void);
void webhook_stats(struct webhook_stats *out);

#endif
