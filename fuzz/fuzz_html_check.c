/*
 * fuzz_html_check - libFuzzer target for the HTML compatibility check
 * (Gumbo's tree, the CSS tokenizer of style attributes and <style>): any
 * bytes give a report whose counts fit the bound, whose partial and
 * unsupported totals are shares (the supported total, 100 minus both as
 * in Mailpit, can go below 0 when they come from different features),
 * and JSON that prints. The first byte picks the node bound.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "check/css_scan.h"
#include "check/html_check.h"

static void tok(void *arg, enum css_tok kind, const char *t, size_t len) {
    (void)kind;
    *(size_t *)arg += len ? 1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t max = size ? (size_t)data[0] * 4 + 1 : 64;
    struct html_check_report r;
    html_check((const char *)data, size, max, &r);
    for (size_t i = 0; i < r.n; i++)
        if (r.v[i].found == 0) abort();
    if (!(r.partial >= 0 && r.partial <= 100.001f) || !(r.unsupported >= 0 && r.unsupported <= 100.001f)) abort();
    if (!(r.supported >= -100.001f && r.supported <= 100.001f)) abort();
    if (r.nodes > max) abort();
    cJSON *j = html_check_report_json(&r);
    char *s = cJSON_PrintUnformatted(j);
    if (!s) abort();
    free(s);
    cJSON_Delete(j);
    html_check_free(&r);
    /* the tokenizer alone, on the same bytes as CSS */
    size_t n = 0;
    struct css_sink k = {0};
    css_scan_sheet((const char *)data, size, &k);
    css_scan_inline((const char *)data, size, &k);
    css_scan_tokens((const char *)data, size, tok, &n);
    return 0;
}
