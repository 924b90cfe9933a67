/*
 * Unit tests for imap_binary: BINARY section syntax, Content-Transfer-
 * Encoding decoding (GMime's base64 and quoted-printable), BINARY of parts
 * of a parsed message, and the base64 rewrite of literal8 APPENDs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "imap/imap_binary.h"

static void test_spec(void **state) {
    (void)state;
    const char *good[] = {"", "1", "2.1", "10.20.3"};
    const char *bad[] = {"0", "1.", ".1", "1..2", "1.0", "HEADER", "1.MIME", "1.TEXT", " 1", "a"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        assert_true(imap_binary_spec_valid(good[i], strlen(good[i])));
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (imap_binary_spec_valid(bad[i], strlen(bad[i]))) fail_msg("'%s' accepted", bad[i]);
}

static void check_decode(const char *cte, const char *in, const char *want, size_t want_len) {
    buf_t out = BUF_INIT;
    assert_int_equal(imap_binary_decode(cte, in, strlen(in), &out), IMAP_BINARY_OK);
    assert_int_equal(out.len, want_len);
    if (want_len) assert_memory_equal(out.data, want, want_len);
    buf_free(&out);
}

static void test_decode(void **state) {
    (void)state;
    check_decode(NULL, "as is\r\n", "as is\r\n", 7);
    check_decode(" 8BIT ", "as is", "as is", 5);
    check_decode("binary", "a\r\nb", "a\r\nb", 4);
    check_decode("base64", "AAEC/w==\r\n", "\x00\x01\x02\xff", 4);
    check_decode("Base64 (comment)", "aGVs\r\nbG8=", "hello", 5);
    /* soft breaks, hex, trailing white space removed (also after "=") */
    check_decode("quoted-printable", "caf=C3=A9 =\r\nau  \r\nlait= \t\r\n!\r\n", "caf\xc3\xa9 au\r\nlait!\r\n", 17);
    check_decode("quoted-printable", "x=00y", "x\0y", 3);
    buf_t out = BUF_INIT;
    assert_int_equal(imap_binary_decode("x-uue", "abc", 3, &out), IMAP_BINARY_UNKNOWN_CTE);
    assert_int_equal(imap_binary_decode("gzip", "abc", 3, &out), IMAP_BINARY_UNKNOWN_CTE);
    assert_int_equal(out.len, 0);
    buf_free(&out);
}

static const char MSG[] = "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
                          "--b\r\n"
                          "Content-Transfer-Encoding: base64\r\n\r\n"
                          "aGk=\r\n"
                          "--b\r\n"
                          "Content-Type: message/rfc822\r\n\r\n"
                          "Content-Transfer-Encoding: base64\r\n\r\n"
                          "aGk=\r\n"
                          "--b\r\n"
                          "Content-Transfer-Encoding: bogus\r\n\r\n"
                          "x\r\n"
                          "--b--\r\n";

static void test_sections(void **state) {
    (void)state;
    struct imap_bodystructure *bs = imap_bodystructure_parse(MSG, sizeof MSG - 1);
    struct imap_section sec;
    /* a leaf part: decoded */
    assert_int_equal(imap_binary_section(bs, "1", &sec), IMAP_BINARY_OK);
    assert_true(sec.found);
    assert_int_equal(sec.len, 2);
    assert_memory_equal(sec.data, "hi", 2);
    imap_section_free(&sec);
    /* an embedded message: its bytes as stored; its own body part decoded */
    assert_int_equal(imap_binary_section(bs, "2", &sec), IMAP_BINARY_OK);
    assert_true(sec.len > 10);
    assert_memory_equal(sec.data, "Content-Transfer-Encoding", 25);
    imap_section_free(&sec);
    assert_int_equal(imap_binary_section(bs, "2.1", &sec), IMAP_BINARY_OK);
    assert_int_equal(sec.len, 2);
    imap_section_free(&sec);
    /* the whole message: as stored */
    assert_int_equal(imap_binary_section(bs, "", &sec), IMAP_BINARY_OK);
    assert_int_equal(sec.len, sizeof MSG - 1);
    imap_section_free(&sec);
    assert_int_equal(imap_binary_section(bs, "3", &sec), IMAP_BINARY_UNKNOWN_CTE);
    imap_section_free(&sec);
    assert_int_equal(imap_binary_section(bs, "7", &sec), IMAP_BINARY_OK);
    assert_false(sec.found);
    imap_section_free(&sec);
    imap_bodystructure_free(bs);
}

static void test_append_encode(void **state) {
    (void)state;
    const char raw[] = "Subject: x\r\nContent-Transfer-Encoding: binary\r\n\r\n\x00\x01\r\n\xff";
    buf_t out = BUF_INIT;
    assert_true(imap_binary_append_encode(raw, sizeof raw - 1, &out));
    assert_null(memchr(out.data, '\0', out.len));
    struct imap_bodystructure *bs = imap_bodystructure_parse(out.data, out.len);
    struct imap_section sec;
    assert_int_equal(imap_binary_section(bs, "1", &sec), IMAP_BINARY_OK);
    assert_int_equal(sec.len, 5);
    assert_memory_equal(sec.data, "\x00\x01\r\n\xff", 5);
    imap_section_free(&sec);
    imap_bodystructure_free(bs);
    assert_non_null(strstr(buf_cstr(&out), "Subject: x"));
    buf_free(&out);
    /* nothing declared binary: stored as sent */
    const char text[] = "Subject: y\r\n\r\nhello\r\n";
    assert_false(imap_binary_append_encode(text, sizeof text - 1, &out));
    assert_int_equal(out.len, 0);
    buf_free(&out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec),
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_sections),
        cmocka_unit_test(test_append_encode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
