/*
 * test_chaos - Mailpit's chaos trigger syntax (point:code:percent, comma
 * separated), its ranges and the firing rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "conf/chaos.h"
#include "core/buf.h"

static void test_parse(void **state) {
    (void)state;
    struct chaos c;
    buf_t err = BUF_INIT;
    assert_int_equal(chaos_parse("", &c, &err), 0);
    assert_int_equal(c.t[CHAOS_SENDER].error_code, 451);
    assert_int_equal(c.t[CHAOS_AUTHENTICATION].error_code, 535);
    assert_int_equal(c.t[CHAOS_RECIPIENT].probability, 0);
    assert_int_equal(chaos_parse("sender:452:5, Recipients:550:100,auth:454:0", &c, &err), 0);
    assert_int_equal(c.t[CHAOS_SENDER].error_code, 452);
    assert_int_equal(c.t[CHAOS_SENDER].probability, 5);
    assert_int_equal(c.t[CHAOS_RECIPIENT].error_code, 550);
    assert_int_equal(c.t[CHAOS_RECIPIENT].probability, 100);
    assert_int_equal(c.t[CHAOS_AUTHENTICATION].error_code, 454);
    assert_int_equal(chaos_parse("authentication:535:50", &c, &err), 0);
    assert_int_equal(c.t[CHAOS_SENDER].probability, 0); /* back to the defaults */
    assert_int_equal(c.t[CHAOS_AUTHENTICATION].probability, 50);
    static const char *const bad[] = {"sender", "sender:451", "sender:45:5", "sender:4511:5", "sender:451:5x",
                                      "helo:451:5", "sender:399:5", "sender:600:5", "sender:451:101", ":451:5",
                                      "sender:451:-1", "sender::5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        buf_t e = BUF_INIT;
        if (chaos_parse(bad[i], &c, &e) != -1) fail_msg("'%s' was accepted", bad[i]);
        assert_true(e.len > 0);
        buf_free(&e);
    }
    buf_free(&err);
}

static void test_fires(void **state) {
    (void)state;
    struct chaos_trigger never = {451, 0}, half = {451, 50}, always = {451, 100};
    for (int roll = 0; roll < 100; roll++) {
        assert_false(chaos_fires(&never, roll));
        assert_true(chaos_fires(&always, roll));
        assert_int_equal(chaos_fires(&half, roll), roll < 50);
    }
    assert_int_equal(chaos_point_of("AUTH"), CHAOS_AUTHENTICATION);
    assert_int_equal(chaos_point_of("x"), -1);
    assert_string_equal(chaos_point_name(CHAOS_RECIPIENT), "Recipient");
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_parse), cmocka_unit_test(test_fires)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
