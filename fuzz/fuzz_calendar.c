/*
 * fuzz_calendar - libFuzzer target for the invitation summary (libical
 * parses untrusted .ics parts): any bytes give NULL or a summary whose
 * strings are valid UTF-8 and whose lists keep their bounds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <glib.h>

#include "check/calendar.h"

static void check_strings(const cJSON *o) {
    for (const cJSON *c = o ? o->child : NULL; c; c = c->next) {
        if (cJSON_IsString(c) && !g_utf8_validate(c->valuestring, -1, NULL)) abort();
        check_strings(c);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cJSON *o = calendar_summary((const char *)data, size);
    if (o) {
        if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "Events")) > CALENDAR_MAX_EVENTS) abort();
        check_strings(o);
        cJSON_Delete(o);
    }
    return 0;
}
