/*
 * fuzz_config - libFuzzer target for the config file parser: parse,
 * validate and dump arbitrary text. Errors must carry "name:line:";
 * a successful parse must dump one line per key.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf/config.h"
#include "core/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct config cfg;
    config_defaults(&cfg);
    buf_t err = BUF_INIT;
    if (config_parse_text(&cfg, "fuzz.conf", (const char *)data, size, &err) != 0) {
        if (strncmp(buf_cstr(&err), "fuzz.conf:", 10) != 0) abort();
    } else {
        if (err.len) abort();
        buf_reset(&err);
        (void)config_validate(&cfg, &err);
        buf_t dump = BUF_INIT;
        config_dump(&cfg, &dump);
        size_t lines = 0, keys = 0;
        for (size_t i = 0; i < dump.len; i++) lines += dump.data[i] == '\n';
        for (const struct config_entry *e = config_table; e->key; e++) keys++;
        /* values cannot hold a line end: the parser splits on LF */
        if (lines != keys) abort();
        buf_free(&dump);
    }
    buf_free(&err);
    config_free(&cfg);
    return 0;
}
