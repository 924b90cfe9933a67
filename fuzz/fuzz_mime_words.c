/*
 * fuzz_mime_words - libFuzzer target for the RFC 2047 encoded-word run
 * repair: any input, NUL-free output of at most a bounded size, and a
 * second pass over the output changes nothing more than merging again
 * (a merged word is never split).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/mime_words.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *out = mime_words_merge((const char *)data, size);
    if (!out) return 0;
    size_t n = strlen(out);
    /* each merged run shrinks or grows by at most base64's 4/3 */
    if (n > size * 2 + 64) abort();
    char *again = mime_words_merge(out, n);
    if (again && strlen(again) > n) abort();
    free(again);
    free(out);
    return 0;
}
