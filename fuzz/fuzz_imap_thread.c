/*
 * fuzz_imap_thread - libFuzzer target for RFC 5256 threading
 * (imap/imap_thread.h) with hostile headers. The input is read as lines
 * "message-id|references|in-reply-to|subject|date", one message each
 * (at most FUZZ_MAX_MSGS), so loops, duplicates, self references and
 * odd spacing all come up. Checks: both algorithms print every message
 * exactly once, parentheses balance and never nest empty, and the output
 * uses only digits, spaces and parentheses.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/base_subject.h"
#include "core/buf.h"
#include "imap/imap_thread.h"

#define FUZZ_MAX_MSGS 64

static void check(const char *out, size_t n) {
    unsigned seen[FUZZ_MAX_MSGS + 1] = {0};
    long depth = 0;
    char prev = 0;
    for (const char *p = out; *p; p++) {
        if (*p == '(') depth++;
        else if (*p == ')') {
            if (prev == '(' || --depth < 0) abort();
        } else if (*p >= '0' && *p <= '9') {
            if (prev >= '0' && prev <= '9') {
                prev = *p;
                continue;
            }
            unsigned long v = strtoul(p, NULL, 10);
            if (v < 1 || v > n || seen[v]++) abort();
        } else if (*p != ' ') {
            abort();
        }
        prev = *p;
    }
    if (depth != 0) abort();
    for (size_t i = 1; i <= n; i++)
        if (seen[i] != 1) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    struct imap_thread_msg msgs[FUZZ_MAX_MSGS];
    char *keys[FUZZ_MAX_MSGS];
    size_t n = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line && n < FUZZ_MAX_MSGS; line = strtok_r(NULL, "\n", &save)) {
        char *f[5] = {"", "", "", "", "0"};
        char *p = line;
        for (int k = 0; k < 5 && p; k++) {
            f[k] = p;
            p = strchr(p, '|');
            if (p) *p++ = '\0';
        }
        bool reply = false;
        keys[n] = base_subject_key(f[3], strlen(f[3]), &reply);
        msgs[n] = (struct imap_thread_msg){(uint32_t)n + 1, strtoll(f[4], NULL, 10) % 100, f[0], f[2], f[1], keys[n],
                                           reply};
        n++;
    }
    buf_t b = BUF_INIT;
    imap_thread_references(msgs, n, &b);
    check(buf_cstr(&b), n);
    buf_reset(&b);
    imap_thread_orderedsubject(msgs, n, &b);
    check(buf_cstr(&b), n);
    buf_free(&b);
    for (size_t i = 0; i < n; i++) free(keys[i]);
    free(text);
    return 0;
}
