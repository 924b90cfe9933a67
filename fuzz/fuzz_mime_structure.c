/*
 * fuzz_mime_structure - libFuzzer target for the raw MIME scanner and the
 * ENVELOPE / BODY / BODYSTRUCTURE writers and BODY[section] resolution.
 * Checks: never crashes or loops, output parentheses outside strings and
 * literals balance, and every section result lies inside the message (or
 * in its own buffer for HEADER.FIELDS).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "imap/imap_bodystructure.h"

/* Walk IMAP output, skipping quoted strings and literals; parens balance. */
static void check_balanced(const buf_t *b) {
    long depth = 0;
    size_t i = 0;
    while (i < b->len) {
        char c = b->data[i];
        if (c == '"') {
            i++;
            while (i < b->len && b->data[i] != '"') i += b->data[i] == '\\' ? 2 : 1;
            if (i >= b->len) abort();
            i++;
            continue;
        }
        if (c == '{') {
            size_t n = 0;
            i++;
            while (i < b->len && b->data[i] >= '0' && b->data[i] <= '9') n = n * 10 + (size_t)(b->data[i++] - '0');
            if (i + 3 > b->len || memcmp(b->data + i, "}\r\n", 3) != 0) abort();
            i += 3 + n;
            if (i > b->len) abort();
            continue;
        }
        if (c == '(') depth++;
        if (c == ')' && --depth < 0) abort();
        i++;
    }
    if (depth != 0) abort();
}

static const char *const specs[] = {
    "", "1", "2", "1.1", "1.2", "2.1", "1.1.1", "2.2.1", "1.MIME", "2.MIME", "1.2.MIME", "HEADER", "TEXT",
    "1.HEADER", "2.TEXT", "2.1.HEADER", "HEADER.FIELDS (From Subject)", "HEADER.FIELDS.NOT (Content-Type)",
    "1.HEADER.FIELDS (To)", "3.2.1.1",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *msg = (const char *)data;
    struct imap_bodystructure *bs = imap_bodystructure_parse(msg, size);
    buf_t out = BUF_INIT;
    imap_bodystructure_envelope(bs, &out);
    check_balanced(&out);
    buf_reset(&out);
    imap_bodystructure_write(bs, true, &out);
    check_balanced(&out);
    buf_reset(&out);
    imap_bodystructure_write(bs, false, &out);
    check_balanced(&out);
    buf_free(&out);
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        struct imap_section s;
        const char *why;
        if (!imap_bodystructure_section(bs, specs[i], strlen(specs[i]), &s, &why)) abort();
        bool inside = size == 0 || (s.data >= msg && s.data + s.len <= msg + size);
        bool owned = s.owned.data && s.data == s.owned.data && s.len == s.owned.len;
        if (!inside && !owned && s.len != 0) abort();
        imap_section_partial(&s, 3, 5);
        if (s.len > 5) abort();
        imap_section_free(&s);
    }
    imap_bodystructure_free(bs);
    return 0;
}
