/*
 * fuzz_spamd - libFuzzer target for the spamd answer parser: any bytes
 * parse or fail cleanly, rules are bounded and named, and the JSON shape
 * is always produced.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "check/spamd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct spam_result r;
    buf_t err = BUF_INIT;
    if (spamd_parse_response((const char *)data, size, &r, &err) == 0) {
        if (r.nrules > SPAMD_MAX_RULES || !r.message) abort();
        for (size_t i = 0; i < r.nrules; i++)
            if (!r.rules[i].name || !r.rules[i].name[0] || !r.rules[i].description) abort();
        cJSON *j = spam_result_json(&r, NULL);
        if (!j) abort();
        cJSON_Delete(j);
        spam_result_free(&r);
    } else if (!err.len) {
        abort();
    }
    buf_free(&err);
    return 0;
}
