/*
 * fuzz_imap_binary - libFuzzer target for IMAP BINARY: section syntax,
 * Content-Transfer-Encoding decoding and BINARY[part] of a parsed
 * message, and the base64 rewrite of a literal8 APPEND. Checks: never
 * crashes or loops; decoding never grows the data (base64 and
 * quoted-printable only shrink); a rewritten message parses again.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "imap/imap_binary.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *d = (const char *)data;
    (void)imap_binary_spec_valid(d, size < 32 ? size : 32);
    static const char *const ctes[] = {NULL, "base64", "quoted-printable", "7bit", "x-what"};
    for (size_t k = 0; k < sizeof ctes / sizeof *ctes; k++) {
        buf_t out = BUF_INIT;
        if (imap_binary_decode(ctes[k], d, size, &out) == IMAP_BINARY_OK && out.len > size) abort();
        buf_free(&out);
    }
    buf_t crlf = BUF_INIT;
    imap_bodystructure_crlf(d, size, &crlf);
    struct imap_bodystructure *bs = imap_bodystructure_parse(crlf.data ? crlf.data : "", crlf.len);
    static const char *const specs[] = {"", "1", "2", "1.1", "2.1", "3.2.1"};
    for (size_t k = 0; k < sizeof specs / sizeof *specs; k++) {
        struct imap_section sec;
        (void)imap_binary_section(bs, specs[k], &sec);
        if (sec.found && sec.len && !sec.data) abort();
        imap_section_free(&sec);
    }
    imap_bodystructure_free(bs);
    buf_t enc = BUF_INIT;
    if (imap_binary_append_encode(crlf.data ? crlf.data : "", crlf.len, &enc)) {
        struct imap_bodystructure *re = imap_bodystructure_parse(enc.data ? enc.data : "", enc.len);
        struct imap_section sec;
        (void)imap_binary_section(re, "1", &sec);
        imap_section_free(&sec);
        imap_bodystructure_free(re);
    }
    buf_free(&enc);
    buf_free(&crlf);
    return 0;
}
