/*
 * fuzz_mail_lint - libFuzzer target for the deliverability lint: any bytes
 * give a report whose findings all have a code, a message and a place,
 * whose severities are known, and which never lists more than
 * LINT_MAX_PER_CODE + 1 findings of one code.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check/mail_lint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct lint_report r;
    mail_lint((const char *)data, size, &r);
    for (size_t i = 0; i < r.n; i++) {
        const struct lint_finding *f = &r.v[i];
        if (!f->code || !f->message || !f->where || f->severity > LINT_ERROR) abort();
        size_t same = 0;
        for (size_t k = 0; k < r.n; k++) same += !strcmp(r.v[k].code, f->code);
        if (same > LINT_MAX_PER_CODE + 1) abort();
    }
    if (lint_report_worst(&r) > LINT_ERROR) abort();
    lint_report_free(&r);
    return 0;
}
