/*
 * search_rows - the index columns IMAP SEARCH matches without opening a
 * message file: dates, size and the decoded Subject, From, To, Cc and Bcc,
 * for every message of a mailbox in UID order.
 */
#ifndef DEVMAIL_STORE_SEARCH_ROWS_H
#define DEVMAIL_STORE_SEARCH_ROWS_H

#include <stdbool.h>
#include <stdint.h>

struct store;
struct store_search_rows;

struct store_search_row {
    uint32_t uid;
    int64_t row;
    int64_t internaldate;
    int64_t sent_date; /* 0: no Date header */
    int32_t sent_tz;   /* the Date header's zone, seconds east of UTC */
    bool sent_tz_known; /* false for rows indexed before it was kept */
    int64_t size;
    /* decoded header fields, "" when absent; valid until the next
     * store_search_rows_next or store_search_rows_close */
    const char *subject, *from, *to, *cc, *bcc;
};

/* Start reading a mailbox's rows. NULL (logged) on error. The cursor
 * holds a read statement open: use it within one command. */
struct store_search_rows *store_search_rows_open(struct store *s, int64_t mailbox_id);
/* 1 with *out filled, 0 after the last row, -EIO. */
int store_search_rows_next(struct store_search_rows *c, struct store_search_row *out);
/* The same columns for one message by its row id (messages.id), for a
 * search that has narrowed the candidates down first: 1 with *out filled
 * (valid until the next call on c), 0 when the message is gone, -EIO. */
int store_search_rows_get(struct store_search_rows *c, int64_t row, struct store_search_row *out);
void store_search_rows_close(struct store_search_rows **c);

#endif
