/*
 * test_buf - the growable byte buffer: appends with NUL bytes, printf
 * (short and longer than the internal stack buffer), consume, cstr,
 * steal, and the case-insensitive helpers.
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

static void test_append(void **state) {
    (void)state;
    buf_t b = BUF_INIT;
    assert_int_equal(b.len, 0);
    assert_string_equal(buf_cstr(&b), ""); /* cstr of an empty buffer */
    buf_append(&b, "a\0b", 3);
    buf_append_char(&b, '\0');
    buf_append_str(&b, "cd");
    buf_append(&b, NULL, 0);
    assert_int_equal(b.len, 6);
    assert_memory_equal(b.data, "a\0b\0cd", 6);
    assert_true(b.cap > b.len);
    /* grow across many doublings */
    for (int i = 0; i < 10000; i++) buf_append_char(&b, (char)('0' + i % 10));
    assert_int_equal(b.len, 10006);
    assert_int_equal(b.data[10005], '9');
    assert_int_equal(buf_cstr(&b)[10006], '\0');
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(buf_cstr(&b), "");
    buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.cap, 0);
}

static void test_printf(void **state) {
    (void)state;
    buf_t b = BUF_INIT;
    buf_printf(&b, "%d-%s", 42, "x");
    buf_printf(&b, "%c", '!');
    assert_string_equal(buf_cstr(&b), "42-x!");
    /* longer than the 256-byte fast path */
    char big[1000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    buf_printf(&b, "[%s]", big);
    assert_int_equal(b.len, 5 + 1 + 999 + 1);
    assert_int_equal(b.data[5], '[');
    assert_int_equal(b.data[5 + 1 + 998], 'z');
    assert_int_equal(b.data[b.len - 1], ']');
    buf_printf(&b, "%s", "");
    assert_int_equal(b.len, 1006);
    buf_free(&b);
}

static void test_consume_and_steal(void **state) {
    (void)state;
    buf_t b = BUF_INIT;
    buf_append_str(&b, "hello world");
    buf_consume(&b, 6);
    assert_string_equal(buf_cstr(&b), "world");
    buf_consume(&b, 0);
    assert_string_equal(buf_cstr(&b), "world");
    buf_consume(&b, 100);
    assert_int_equal(b.len, 0);
    buf_append_str(&b, "again");
    char *s = buf_steal(&b);
    assert_string_equal(s, "again");
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    free(s);
    s = buf_steal(&b); /* stealing an empty buffer gives "" */
    assert_string_equal(s, "");
    free(s);
}

static void test_mem_helpers(void **state) {
    (void)state;
    assert_true(mem_ieq("HeLo", 4, "helo"));
    assert_false(mem_ieq("HeLo", 3, "helo"));
    assert_false(mem_ieq("HeLoX", 5, "helo"));
    assert_true(mem_ieq("", 0, ""));
    assert_false(mem_ieq("HE\0O", 4, "HELO"));
    assert_true(mem_istarts("FROM:<a>", 8, "from:"));
    assert_false(mem_istarts("FRO", 3, "from:"));
    assert_true(mem_istarts("x", 1, ""));
    assert_false(mem_istarts("TO:<a>", 6, "from:"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append),
        cmocka_unit_test(test_printf),
        cmocka_unit_test(test_consume_and_steal),
        cmocka_unit_test(test_mem_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
