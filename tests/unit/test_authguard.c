/*
 * test_authguard - failed logins are slowed per address and per user:
 * the backlog grows by the delay per failure, answers wait for it (up to
 * the cap), and beyond the cap logins are refused unchecked until it
 * drains, so parallel connections gain an attacker nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "app/authguard.h"

static void test_one_failure_waits_the_delay(void **state) {
    (void)state;
    struct authguard *g = authguard_new(1000, 15000);
    assert_false(authguard_locked(g, "127.0.0.1", "u", 0));
    assert_int_equal(authguard_failed(g, "127.0.0.1", "u", 0), 1000);
    /* long after, the backlog is gone */
    assert_int_equal(authguard_failed(g, "127.0.0.1", "u", 60000), 1000);
    assert_int_equal(authguard_size(g, 200000), 0);
    authguard_free(g);
}

static void test_parallel_failures_queue_up(void **state) {
    (void)state;
    struct authguard *g = authguard_new(1000, 15000);
    /* many connections failing at the same moment from one address wait
     * longer and longer, up to the cap, then get refused unchecked */
    int64_t last = 0;
    int checked = 0;
    for (int i = 0; i < 100; i++) {
        if (authguard_locked(g, "127.0.0.1", i % 2 ? "a" : "b", 0)) continue;
        checked++;
        int64_t d = authguard_failed(g, "127.0.0.1", i % 2 ? "a" : "b", 0);
        assert_true(d >= last);
        assert_true(d <= 15000);
        last = d;
    }
    assert_int_equal(last, 15000);
    assert_true(checked <= 17);
    /* the same from another address and another user is not slowed */
    assert_false(authguard_locked(g, "127.0.0.2", "c", 0));
    assert_int_equal(authguard_failed(g, "127.0.0.2", "c", 0), 1000);
    authguard_free(g);
}

static void test_long_run_rate(void **state) {
    (void)state;
    /* 100 tries every 100 ms for 60 s from one address: about one
     * password checked per delay, not 1,000 per second */
    struct authguard *g = authguard_new(1000, 15000);
    int checked = 0;
    for (int64_t t = 0; t < 60000; t += 100) {
        for (int k = 0; k < 100; k++) {
            if (authguard_locked(g, "10.0.0.1", "victim", t)) continue;
            checked++;
            authguard_failed(g, "10.0.0.1", "victim", t);
        }
    }
    assert_true(checked <= 60 + 30);
    authguard_free(g);
}

static void test_user_key_across_addresses(void **state) {
    (void)state;
    struct authguard *g = authguard_new(1000, 5000);
    char peer[32];
    int checked = 0;
    for (int i = 0; i < 50; i++) {
        snprintf(peer, sizeof peer, "127.0.0.%d", i + 1);
        if (authguard_locked(g, peer, "Victim@Example.com", 0)) continue;
        checked++;
        authguard_failed(g, peer, i % 2 ? "victim@example.com" : "VICTIM@example.com", 0);
    }
    assert_true(checked <= 7);
    authguard_free(g);
}

static void test_zero_delay_disables(void **state) {
    (void)state;
    struct authguard *g = authguard_new(0, 0);
    for (int i = 0; i < 1000; i++) {
        assert_false(authguard_locked(g, "127.0.0.1", "u", 0));
        assert_int_equal(authguard_failed(g, "127.0.0.1", "u", 0), 0);
    }
    authguard_free(g);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_failure_waits_the_delay),
        cmocka_unit_test(test_parallel_failures_queue_up),
        cmocka_unit_test(test_long_run_rate),
        cmocka_unit_test(test_user_key_across_addresses),
        cmocka_unit_test(test_zero_delay_disables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
