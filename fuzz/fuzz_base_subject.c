/*
 * fuzz_base_subject - libFuzzer target for RFC 5256 base subject
 * extraction and the i;unicode-casemap key: any bytes give valid UTF-8
 * no longer than the input allows, extraction is idempotent on its own
 * result except for a reply marker, and the key of the key is the key.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "core/base_subject.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    bool reply = false;
    char *base = base_subject_extract((const char *)data, size, &reply);
    size_t n = strlen(base);
    if (!g_utf8_validate(base, (gssize)n, NULL)) abort();
    /* invalid bytes become U+FFFD (3 bytes each) at most */
    if (n > size * 3) abort();
    bool again_reply = false;
    char *again = base_subject_extract(base, n, &again_reply);
    /* the base subject of a base subject is itself, with one exception
     * RFC 5256 allows: a blob kept because it was the whole text */
    if (strcmp(again, base) != 0 && !(base[0] == '[')) abort();
    char *key = base_subject_casemap(base, n);
    if (!g_utf8_validate(key, -1, NULL)) abort();
    char *key2 = base_subject_casemap(key, strlen(key));
    if (strcmp(key, key2) != 0) abort();
    free(key2);
    free(key);
    free(again);
    free(base);
    return 0;
}
