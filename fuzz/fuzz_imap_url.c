/*
 * fuzz_imap_url - libFuzzer target for the CATENATE URL parser. Checks:
 * never crashes; an accepted URL has a UID, its decoded parts are no
 * longer than the input, and a refused one leaves nothing allocated.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct imap_url u;
    if (imap_url_parse((const char *)data, size, &u)) {
        if (u.uid == 0) abort();
        if (u.mailbox && strlen(u.mailbox) > size) abort();
        if (u.section && strlen(u.section) > size) abort();
        imap_url_free(&u);
    } else if (u.mailbox || u.section) {
        abort();
    }
    return 0;
}
