/* web_assets - the files of web/, embedded at build time by scripts/embed.sh. */
#ifndef DEVMAIL_WEB_ASSETS_H
#define DEVMAIL_WEB_ASSETS_H

#include <stddef.h>

struct web_asset {
    const char *path; /* "/index.html" */
    const unsigned char *data;
    size_t size;
    const unsigned char *gz; /* the same bytes, gzip-compressed */
    size_t gz_size;
    const char *etag; /* "\"<16 hex digits of the content's SHA-256>\"" */
};

/* Terminated by an entry with path == NULL. */
extern const struct web_asset web_assets[];

#endif
