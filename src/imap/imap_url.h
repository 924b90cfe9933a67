/*
 * imap_url - pure parser of the IMAP URLs CATENATE (RFC 4469) takes: the
 * message parts of RFC 5092 this server can resolve itself, as a path
 * relative to the server ("/INBOX;UIDVALIDITY=5/;UID=20/;SECTION=1.2/;PARTIAL=0.100")
 * or relative to the selected mailbox (";UID=20/;SECTION=HEADER"). Keys
 * are case-insensitive; the mailbox name and the section are
 * percent-decoded. Full "imap://host/..." URLs, URLAUTH and anything else
 * are refused (the caller answers NO [BADURL]).
 */
#ifndef DEVMAIL_IMAP_URL_H
#define DEVMAIL_IMAP_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest URL accepted (bytes). */
#define IMAP_URL_MAX 8192

struct imap_url {
    char *mailbox;        /* UTF-8; NULL: the selected mailbox */
    bool has_uidvalidity;
    uint32_t uidvalidity;
    uint32_t uid;         /* never 0 */
    char *section;        /* NULL: the whole message */
    bool has_partial;
    uint64_t partial_offset;
    uint64_t partial_len; /* 0: to the end */
};

/* false if s[0..len) is not such a URL (out is then empty). */
bool imap_url_parse(const char *s, size_t len, struct imap_url *out);
void imap_url_free(struct imap_url *u);

#endif
