/*
 * test_pop3_parser - POP3 command lines (keywords, arguments, PASS with
 * spaces, limits, bad bytes), message numbers, and the RETR/TOP encoder
 * (LF -> CRLF, byte-stuffing, TOP line counts, chunk boundaries).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "pop3/pop3_parser.h"

static struct pop3_cmd parse_ok(const char *s) {
    struct pop3_cmd c;
    const char *err = NULL;
    if (pop3_cmd_parse(s, strlen(s), &c, &err) != 0) fail_msg("parse of '%s' failed: %s", s, err);
    return c;
}

static void parse_err(const char *s, size_t len) {
    struct pop3_cmd c;
    const char *err = NULL;
    assert_int_equal(pop3_cmd_parse(s, len, &c, &err), -1);
    assert_non_null(err);
}

static void test_keywords(void **state) {
    (void)state;
    assert_int_equal(parse_ok("USER bob").verb, POP3_USER);
    assert_int_equal(parse_ok("stat").verb, POP3_STAT);
    assert_int_equal(parse_ok("Top 1 5").verb, POP3_TOP);
    assert_int_equal(parse_ok("CAPA").verb, POP3_CAPA);
    assert_int_equal(parse_ok("STLS").verb, POP3_STLS);
    struct pop3_cmd c = parse_ok("XTND foo");
    assert_int_equal(c.verb, POP3_UNKNOWN);
    assert_string_equal(c.keyword, "XTND");
    assert_string_equal(pop3_verb_name(POP3_UIDL), "UIDL");
    parse_err("", 0);
    parse_err("AB", 2);          /* too short */
    parse_err("RETRX 1", 7);     /* too long */
    parse_err("RE1R 1", 6);      /* not a letter */
    parse_err(" STAT", 5);       /* leading space */
    parse_err("STAT\0", 5);      /* NUL */
    parse_err("LIST\r1", 6);     /* control byte */
}

static void test_arguments(void **state) {
    (void)state;
    struct pop3_cmd c = parse_ok("TOP 12 0");
    assert_int_equal(c.nargs, 2);
    assert_int_equal(c.arg_lens[0], 2);
    assert_memory_equal(c.args[0], "12", 2);
    assert_memory_equal(c.args[1], "0", 1);
    c = parse_ok("LIST");
    assert_int_equal(c.nargs, 0);
    assert_int_equal(c.rest_len, 0);
    c = parse_ok("LIST  3");  /* runs of spaces are tolerated */
    assert_int_equal(c.nargs, 1);
    assert_memory_equal(c.args[0], "3", 1);
    parse_err("TOP 1 2 3", 9);
    /* PASS: the password is the rest of the line, spaces included */
    c = parse_ok("PASS my secret pass word");
    assert_int_equal(c.verb, POP3_PASS);
    assert_int_equal(c.rest_len, strlen("my secret pass word"));
    assert_memory_equal(c.rest, "my secret pass word", c.rest_len);
    c = parse_ok("PASS a\tb");
    assert_int_equal(c.rest_len, 3);
    c = parse_ok("AUTH PLAIN AGJvYgBzZWNyZXQ=");
    assert_int_equal(c.nargs, 2);
    assert_int_equal(c.arg_lens[1], strlen("AGJvYgBzZWNyZXQ="));
}

static void test_numbers(void **state) {
    (void)state;
    uint32_t n;
    assert_int_equal(pop3_parse_number("1", 1, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(pop3_parse_number("0", 1, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(pop3_parse_number("2000000000", 10, &n), 0);
    assert_int_equal(pop3_parse_number("2000000001", 10, &n), -1);
    assert_int_equal(pop3_parse_number("99999999999", 11, &n), -1);
    assert_int_equal(pop3_parse_number("", 0, &n), -1);
    assert_int_equal(pop3_parse_number("-1", 2, &n), -1);
    assert_int_equal(pop3_parse_number("+1", 2, &n), -1);
    assert_int_equal(pop3_parse_number("1a", 2, &n), -1);
}

static void test_line_find(void **state) {
    (void)state;
    size_t ll = 0, used = 0;
    assert_int_equal(pop3_line_find("STAT\r\nNOOP\r\n", 12, POP3_MAX_LINE, &ll, &used), POP3_LINE_OK);
    assert_int_equal(ll, 4);
    assert_int_equal(used, 6);
    assert_int_equal(pop3_line_find("STAT\n", 5, POP3_MAX_LINE, &ll, &used), POP3_LINE_OK);
    assert_int_equal(ll, 4);
    assert_int_equal(used, 5);
    assert_int_equal(pop3_line_find("STA", 3, POP3_MAX_LINE, &ll, &used), POP3_LINE_NEED_MORE);
    assert_int_equal(pop3_line_find("", 0, POP3_MAX_LINE, &ll, &used), POP3_LINE_NEED_MORE);
    /* 253 octets + CRLF = 255: allowed; one more is too long */
    char line[300];
    memset(line, 'A', sizeof line);
    memcpy(line + 253, "\r\n", 2);
    assert_int_equal(pop3_line_find(line, 255, POP3_MAX_LINE, &ll, &used), POP3_LINE_OK);
    assert_int_equal(ll, 253);
    memset(line, 'A', sizeof line);
    assert_int_equal(pop3_line_find(line, sizeof line, POP3_MAX_LINE, &ll, &used), POP3_LINE_TOO_LONG);
    assert_int_equal(pop3_line_find(line, 254, POP3_MAX_LINE, &ll, &used), POP3_LINE_NEED_MORE);
}

/* Encode in chunks of `step` bytes. */
static char *encode(const char *in, int64_t top, size_t step) {
    struct pop3_encoder e;
    buf_t out = BUF_INIT;
    pop3_encoder_init(&e, top);
    size_t len = strlen(in);
    for (size_t i = 0; i < len; i += step) {
        size_t n = len - i < step ? len - i : step;
        if (pop3_encoder_feed(&e, in + i, n, &out)) break;
    }
    pop3_encoder_finish(&e, &out);
    return buf_steal(&out);
}

static void check_all_steps(const char *in, int64_t top, const char *want) {
    for (size_t step = 1; step <= strlen(in) + 1; step++) {
        char *got = encode(in, top, step);
        if (strcmp(got, want) != 0) fail_msg("step %zu: got '%s' want '%s'", step, got, want);
        free(got);
    }
}

static void test_encoder_retr(void **state) {
    (void)state;
    check_all_steps("Subject: x\n\nhello\n", -1, "Subject: x\r\n\r\nhello\r\n.\r\n");
    /* dots at line starts are doubled, elsewhere untouched */
    check_all_steps("A: b\n\n.\n..x\na.b\n.", -1, "A: b\r\n\r\n..\r\n...x\r\na.b\r\n..\r\n.\r\n");
    /* CRLF already in the file stays one CRLF; a lone CR is kept */
    check_all_steps("A: b\r\n\r\nx\ry\r\n", -1, "A: b\r\n\r\nx\ry\r\n.\r\n");
    /* a file without a final line end gets one */
    check_all_steps("A: b\n\nno newline", -1, "A: b\r\n\r\nno newline\r\n.\r\n");
    check_all_steps("", -1, ".\r\n");
    check_all_steps(".", -1, "..\r\n.\r\n");
}

static void test_encoder_top(void **state) {
    (void)state;
    const char *msg = "A: 1\nB: 2\n continued\n\nl1\n.l2\nl3\n";
    check_all_steps(msg, 0, "A: 1\r\nB: 2\r\n continued\r\n\r\n.\r\n");
    check_all_steps(msg, 1, "A: 1\r\nB: 2\r\n continued\r\n\r\nl1\r\n.\r\n");
    check_all_steps(msg, 2, "A: 1\r\nB: 2\r\n continued\r\n\r\nl1\r\n..l2\r\n.\r\n");
    check_all_steps(msg, 100, "A: 1\r\nB: 2\r\n continued\r\n\r\nl1\r\n..l2\r\nl3\r\n.\r\n");
    /* CRLF blank line ends the headers too */
    check_all_steps("A: 1\r\n\r\nbody\r\n", 0, "A: 1\r\n\r\n.\r\n");
    /* no body at all */
    check_all_steps("A: 1\n", 5, "A: 1\r\n.\r\n");
    /* the encoder reports that the rest is not needed */
    struct pop3_encoder e;
    buf_t out = BUF_INIT;
    pop3_encoder_init(&e, 0);
    assert_true(pop3_encoder_feed(&e, "A: 1\n\nrest\n", 11, &out));
    assert_true(pop3_encoder_feed(&e, "more\n", 5, &out));
    buf_free(&out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keywords),     cmocka_unit_test(test_arguments),   cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_line_find),    cmocka_unit_test(test_encoder_retr), cmocka_unit_test(test_encoder_top),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
