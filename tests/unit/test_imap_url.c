/*
 * Unit tests for imap_url: the IMAP URL message parts CATENATE takes
 * (RFC 4469 / RFC 5092), relative to the server or to the selected mailbox.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "imap/imap_url.h"

static struct imap_url parse_ok(const char *s) {
    struct imap_url u;
    if (!imap_url_parse(s, strlen(s), &u)) fail_msg("'%s' refused", s);
    return u;
}

static void test_absolute(void **state) {
    (void)state;
    struct imap_url u = parse_ok("/INBOX/;UID=20");
    assert_string_equal(u.mailbox, "INBOX");
    assert_false(u.has_uidvalidity);
    assert_int_equal(u.uid, 20);
    assert_null(u.section);
    assert_false(u.has_partial);
    imap_url_free(&u);

    u = parse_ok("/Sent%20Items;uidvalidity=12345/;uid=7/;section=1.2.MIME/;partial=100.50");
    assert_string_equal(u.mailbox, "Sent Items");
    assert_true(u.has_uidvalidity);
    assert_int_equal(u.uidvalidity, 12345);
    assert_int_equal(u.uid, 7);
    assert_string_equal(u.section, "1.2.MIME");
    assert_true(u.has_partial);
    assert_int_equal(u.partial_offset, 100);
    assert_int_equal(u.partial_len, 50);
    imap_url_free(&u);

    /* partial without a length: to the end; UTF-8 names percent-encoded */
    u = parse_ok("/caf%C3%A9/;UID=1/;PARTIAL=5");
    assert_string_equal(u.mailbox, "caf\xc3\xa9");
    assert_int_equal(u.partial_offset, 5);
    assert_int_equal(u.partial_len, 0);
    imap_url_free(&u);

    u = parse_ok("/a.b/;uid=4294967295/;section=HEADER.FIELDS%20(SUBJECT)");
    assert_int_equal(u.uid, 4294967295u);
    assert_string_equal(u.section, "HEADER.FIELDS (SUBJECT)");
    imap_url_free(&u);
}

static void test_relative(void **state) {
    (void)state;
    struct imap_url u = parse_ok(";UID=3/;SECTION=TEXT");
    assert_null(u.mailbox);
    assert_int_equal(u.uid, 3);
    assert_string_equal(u.section, "TEXT");
    imap_url_free(&u);
}

static void test_refused(void **state) {
    (void)state;
    const char *bad[] = {
        "", "imap://host/INBOX/;UID=1", "//host/INBOX/;UID=1", "/INBOX", "/INBOX/;UID=0", "/INBOX/;UID=",
        "/INBOX/;UID=4294967296", "/INBOX/;UID=1x", "/;UID=1", "/INBOX;UIDVALIDITY=0/;UID=1",
        "/INBOX;FOO=1/;UID=1", "/INBOX/;UID=1/;SECTION=", "/INBOX/;UID=1/;PARTIAL=1.0",
        "/INBOX/;UID=1/;PARTIAL=x", "/INBOX/;UID=1/;URLAUTH=anonymous", "/IN%2/;UID=1", "/IN%00X/;UID=1",
        "/INBOX/;UID=1/", "UID=1", ";UID=1/;SECTION=1/;PARTIAL=1.2/x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct imap_url u;
        if (imap_url_parse(bad[i], strlen(bad[i]), &u)) fail_msg("'%s' accepted", bad[i]);
        assert_null(u.mailbox);
        assert_null(u.section);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_absolute),
        cmocka_unit_test(test_relative),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
