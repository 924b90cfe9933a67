/*
 * fuzz_text_fold - libFuzzer target for the search case folding: any
 * input folds to valid UTF-8 without NUL, folding again changes nothing,
 * and the folded text contains itself and each of its halves.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "core/text_fold.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t n;
    char *f = text_fold((const char *)data, size, &n);
    if (strlen(f) != n || !g_utf8_validate(f, (gssize)n, NULL)) abort();
    size_t n2;
    char *again = text_fold(f, n, &n2);
    if (n2 != n || memcmp(again, f, n) != 0) abort();
    if (!text_fold_contains((const char *)data, size, "", 0)) abort();
    if (memchr(data, 0, size) == NULL && !text_fold_contains((const char *)data, size, f, n)) abort();
    free(again);
    free(f);
    return 0;
}
