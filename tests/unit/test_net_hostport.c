/*
 * test_net_hostport - HOST:PORT as relay_host and spamassassin take it:
 * names, IPv4, bracketed IPv6; missing or bad ports refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "net/net.h"

static void test_split(void **state) {
    (void)state;
    char *h;
    int p;
    assert_int_equal(net_split_hostport("smtp.example.com:587", &h, &p), 0);
    assert_string_equal(h, "smtp.example.com");
    assert_int_equal(p, 587);
    free(h);
    assert_int_equal(net_split_hostport("[::1]:783", &h, &p), 0);
    assert_string_equal(h, "::1");
    assert_int_equal(p, 783);
    free(h);
    assert_int_equal(net_split_hostport("127.0.0.1:25", &h, &p), 0);
    assert_string_equal(h, "127.0.0.1");
    free(h);
    static const char *const bad[] = {"", "host", "host:", ":25", "host:0", "host:65536", "host:2x", "[]:25"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) assert_int_equal(net_split_hostport(bad[i], &h, &p), -1);
    assert_int_equal(net_split_hostport(NULL, &h, &p), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_split)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
