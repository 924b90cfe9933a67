/*
 * fuzz_links - libFuzzer target for link collection: any bytes, as HTML
 * and as text, give at most LINKS_MAX unique http(s) URLs without
 * control characters.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check/links.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct links l = {0};
    links_from_html((const char *)data, size, &l);
    links_from_text((const char *)data, size, &l);
    if (l.n > LINKS_MAX) abort();
    for (size_t i = 0; i < l.n; i++) {
        if (strncasecmp(l.v[i], "http://", 7) && strncasecmp(l.v[i], "https://", 8)) abort();
        for (const char *c = l.v[i]; *c; c++)
            if ((unsigned char)*c < 0x21) abort();
        for (size_t k = 0; k < i; k++)
            if (!strcmp(l.v[i], l.v[k])) abort();
    }
    links_free(&l);
    return 0;
}
