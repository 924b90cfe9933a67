/*
 * links - the web links of a message, as Mailpit's link check collects
 * them: <a href>, <link rel=stylesheet href> and <img src> of the HTML
 * (parsed by Gumbo), then http(s) URLs written in the text; unique, in
 * that order, at most LINKS_MAX. And the allow-list that decides which
 * hosts the link check may contact (host patterns and networks).
 */
#ifndef DEVMAIL_LINKS_H
#define DEVMAIL_LINKS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define LINKS_MAX 100
#define LINKS_MAX_URL 2048

struct links {
    char *v[LINKS_MAX];
    size_t n;
};

void links_from_html(const char *html, size_t len, struct links *out);
void links_from_text(const char *text, size_t len, struct links *out);
void links_free(struct links *l);

/* Does an allow-list entry admit this host name? Entries are shell
 * patterns of host names ("*.example.com", "localhost") or networks
 * ("127.0.0.0/8", "::1/128", "192.0.2.7"); "*" admits every name. */
bool links_host_allowed(const char *const *allow, size_t n, const char *host);
/* Is this resolved address inside one of the networks of allow? */
bool links_addr_allowed(const char *const *allow, size_t n, const struct sockaddr *sa);

#endif
