/*
 * Unit tests for imap_mutf7: modified UTF-7 (RFC 3501 5.1.3) both ways and
 * the mailbox-name validator.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "imap/imap_mutf7.h"

static void check_pair(const char *utf8, const char *mutf7) {
    buf_t b = BUF_INIT;
    assert_true(imap_mutf7_encode(utf8, strlen(utf8), &b));
    assert_string_equal(buf_cstr(&b), mutf7);
    buf_reset(&b);
    assert_true(imap_mutf7_decode(mutf7, strlen(mutf7), &b));
    assert_string_equal(buf_cstr(&b), utf8);
    buf_free(&b);
}

static void test_roundtrip(void **state) {
    (void)state;
    check_pair("INBOX", "INBOX");
    check_pair("", "");
    check_pair("a&b", "a&-b");
    check_pair("&", "&-");
    /* RFC 3501 example: ~peter/mail/台北/日本語 */
    check_pair("~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
               "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
    check_pair("Entw\xc3\xbc" "rfe", "Entw&APw-rfe");
    check_pair("\xc3\xa4\xc3\xb6\xc3\xbc", "&AOQA9gD8-");
    /* astral plane: surrogate pair (U+1F600) */
    check_pair("\xf0\x9f\x98\x80", "&2D3eAA-");
    check_pair("Sent Items", "Sent Items");
}

static void test_decode_invalid(void **state) {
    (void)state;
    static const char *bad[] = {
        "&",          /* unterminated */
        "&U,BTFw",    /* missing '-' */
        "&-&",        /* trailing & */
        "&AGE-",      /* "a" encoded: printable ASCII must be literal */
        "&2D0-",      /* lone high surrogate */
        "&3gA-",      /* lone low surrogate */
        "&AOR-",      /* leftover non-zero bits */
        "&AOQA9g-x&", /* bad tail */
        "&A-",        /* too short for a UTF-16 unit */
        "a\x01" "b",  /* control char */
        "\xc3\xa4",   /* raw 8-bit */
        "&AOQ/-",     /* '/' is not in the modified alphabet */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        buf_t b = BUF_INIT;
        assert_false(imap_mutf7_decode(bad[i], strlen(bad[i]), &b));
        buf_free(&b);
    }
}

static void test_encode_invalid(void **state) {
    (void)state;
    static const char *bad[] = {"\xff", "\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        buf_t b = BUF_INIT;
        assert_false(imap_mutf7_encode(bad[i], strlen(bad[i]), &b));
        buf_free(&b);
    }
}

static void test_mailbox_names(void **state) {
    (void)state;
    const char *why;
    static const char *good[] = {"INBOX", "Sent", "Archive.2024", "a.b.c", "Caf\xc3\xa9", "with space", "x-y_z"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(imap_mailbox_name_valid(good[i], strlen(good[i]), &why));
    static const char *bad[] = {"", "..", "a..b", ".hidden", "trail.", "a/b", "../etc", "a\x01",
                                "a\x7f", "~root", "a.~b", "a\\b", "\xff"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        assert_false(imap_mailbox_name_valid(bad[i], strlen(bad[i]), &why));
        assert_non_null(why);
    }
    char longname[IMAP_MAILBOX_MAX_NAME + 2];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_false(imap_mailbox_name_valid(longname, strlen(longname), &why));
    assert_true(imap_mailbox_name_valid(longname, IMAP_MAILBOX_MAX_NAME, &why));
    char deep[IMAP_MAILBOX_MAX_LEVELS * 2 + 2];
    size_t n = 0;
    for (int i = 0; i <= IMAP_MAILBOX_MAX_LEVELS; i++) {
        if (i) deep[n++] = '.';
        deep[n++] = 'x';
    }
    assert_false(imap_mailbox_name_valid(deep, n, &why));
}

static void test_from_client(void **state) {
    (void)state;
    const char *why;
    buf_t b = BUF_INIT;
    assert_true(imap_mailbox_name_from_client("inbox", 5, &b, &why));
    assert_string_equal(buf_cstr(&b), "INBOX");
    buf_reset(&b);
    assert_true(imap_mailbox_name_from_client("Inbox.Sub", 9, &b, &why));
    assert_string_equal(buf_cstr(&b), "INBOX.Sub");
    buf_reset(&b);
    assert_true(imap_mailbox_name_from_client("Entw&APw-rfe", 12, &b, &why));
    assert_string_equal(buf_cstr(&b), "Entw\xc3\xbcrfe");
    buf_reset(&b);
    assert_true(imap_mailbox_name_from_client("inboxes", 7, &b, &why));
    assert_string_equal(buf_cstr(&b), "inboxes");
    buf_reset(&b);
    /* "." hidden in base64 is still caught after decoding: &AC4-. is invalid
     * mutf7 (ASCII encoded) and "..": */
    assert_false(imap_mailbox_name_from_client("&AC4AC4-", 8, &b, &why));
    assert_int_equal(b.len, 0);
    assert_false(imap_mailbox_name_from_client("a..b", 4, &b, &why));
    assert_false(imap_mailbox_name_from_client("a/b", 3, &b, &why));
    /* control character smuggled as UTF-16 (U+0085, NEL) */
    assert_false(imap_mailbox_name_from_client("&AIU-", 5, &b, &why));
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),     cmocka_unit_test(test_decode_invalid),
        cmocka_unit_test(test_encode_invalid), cmocka_unit_test(test_mailbox_names),
        cmocka_unit_test(test_from_client),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
