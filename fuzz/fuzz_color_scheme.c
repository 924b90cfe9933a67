/*
 * fuzz_color_scheme - libFuzzer target for the dark/light preview of a
 * mail: any bytes give the root style first, then the input with only its
 * prefers-color-scheme conditions replaced; replacing them both ways
 * leaves the same bytes around them, so the two outputs differ only where
 * a condition was.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check/color_scheme.h"

#define ROOT_LEN(dark) strlen(dark ? "<style>:root{color-scheme:dark}</style>" : "<style>:root{color-scheme:light}</style>")

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    buf_t d = BUF_INIT, l = BUF_INIT;
    html_force_color_scheme((const char *)data, size, true, &d);
    html_force_color_scheme((const char *)data, size, false, &l);
    if (d.len < ROOT_LEN(true) || memcmp(d.data, "<style>:root{color-scheme:dark}</style>", ROOT_LEN(true)) != 0)
        abort();
    if (l.len < ROOT_LEN(false)) abort();
    /* both replacements have the same length: the outputs align */
    if (strlen(COLOR_SCHEME_TRUE) == strlen(COLOR_SCHEME_FALSE) &&
        d.len - ROOT_LEN(true) != l.len - ROOT_LEN(false))
        abort();
    /* nothing replaced: the input comes back as it was */
    if (!memmem(data, size, ":", 1) && (d.len - ROOT_LEN(true) != size || memcmp(d.data + ROOT_LEN(true), data, size)))
        abort();
    /* the doctype the view keeps first: within the input, ending at '>' */
    size_t dt = html_doctype_end((const char *)data, size);
    if (dt > size || (dt && data[dt - 1] != '>')) abort();
    buf_free(&d);
    buf_free(&l);
    return 0;
}
