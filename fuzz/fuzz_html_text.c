/*
 * fuzz_html_text - libFuzzer target for HTML-to-text: any bytes give at
 * most the limit, with no NUL inside, and counts that fit the output.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check/html_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    buf_t b = BUF_INIT;
    struct html_facts f;
    size_t max = size ? (size_t)data[0] * 8 + 1 : 64;
    html_to_text((const char *)data, size, max, &b, &f);
    if (b.len > max) abort();
    if (f.text_chars > b.len) abort();
    buf_free(&b);
    return 0;
}
