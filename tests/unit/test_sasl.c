/*
 * test_sasl - strict base64 (RFC 4648 vectors, padding rules, invalid
 * characters, binary round trips) and the SASL PLAIN message split
 * (RFC 4616: authzid NUL authcid NUL password).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "app/sasl.h"
#include "core/buf.h"

static const struct {
    const char *plain;
    const char *b64;
} vectors[] = {
    /* RFC 4648 section 10 */
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

static void test_b64_vectors(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        buf_t enc = BUF_INIT, dec = BUF_INIT;
        sasl_b64_encode(vectors[i].plain, strlen(vectors[i].plain), &enc);
        assert_int_equal(enc.len, strlen(vectors[i].b64));
        assert_memory_equal(buf_cstr(&enc), vectors[i].b64, enc.len);
        assert_int_equal(sasl_b64_decode(vectors[i].b64, strlen(vectors[i].b64), &dec), 0);
        assert_int_equal(dec.len, strlen(vectors[i].plain));
        if (dec.len) assert_memory_equal(dec.data, vectors[i].plain, dec.len);
        buf_free(&enc);
        buf_free(&dec);
    }
}

static void test_b64_alphabet_and_binary(void **state) {
    (void)state;
    /* every byte value, every length mod 3 */
    unsigned char all[256];
    for (int i = 0; i < 256; i++) all[i] = (unsigned char)i;
    for (size_t n = 250; n <= 256; n++) {
        buf_t enc = BUF_INIT, dec = BUF_INIT;
        sasl_b64_encode(all, n, &enc);
        assert_int_equal(enc.len, (n + 2) / 3 * 4);
        for (size_t k = 0; k < enc.len; k++) {
            char c = enc.data[k];
            assert_true((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
                        c == '/' || c == '=');
        }
        assert_int_equal(sasl_b64_decode(enc.data, enc.len, &dec), 0);
        assert_int_equal(dec.len, n);
        assert_memory_equal(dec.data, all, n);
        buf_free(&enc);
        buf_free(&dec);
    }
    /* '+' and '/' map to 62 and 63 */
    buf_t dec = BUF_INIT;
    assert_int_equal(sasl_b64_decode("+/+/", 4, &dec), 0);
    assert_int_equal(dec.len, 3);
    assert_memory_equal(dec.data, "\xfb\xff\xbf", 3);
    buf_free(&dec);
}

static void test_b64_invalid(void **state) {
    (void)state;
    static const char *const bad[] = {
        "Zg",       /* no padding */
        "Zg=",      /* short padding */
        "Zm9",      /* length not a multiple of 4 */
        "Z===",     /* three pad characters */
        "====",     /* only padding */
        "Zg==Zg==", /* padding in the middle */
        "Z=g=",     /* data after padding */
        "Zm=v",     /* data after padding */
        "Zm9v\r\n", /* no white space */
        "Zm 9",
        "Zm9-",     /* URL alphabet is not base64 */
        "Zm9_",
        "Zm9*",
        "Zm\x80v",
        NULL,
    };
    for (int i = 0; bad[i]; i++) {
        buf_t dec = BUF_INIT;
        if (sasl_b64_decode(bad[i], strlen(bad[i]), &dec) != -1) fail_msg("'%s' accepted", bad[i]);
        buf_free(&dec);
    }
    buf_t dec = BUF_INIT;
    static const char nul[] = "Zm\0v";
    assert_int_equal(sasl_b64_decode(nul, 4, &dec), -1);
    /* the length bounds the input */
    buf_reset(&dec);
    assert_int_equal(sasl_b64_decode("Zm9vJUNK", 4, &dec), 0);
    assert_int_equal(dec.len, 3);
    assert_memory_equal(dec.data, "foo", 3);
    buf_free(&dec);
}

static int split(const char *msg, size_t len, const char **u, size_t *ul, const char **p, size_t *pl) {
    return sasl_plain_split(msg, len, u, ul, p, pl);
}

static void test_plain_split(void **state) {
    (void)state;
    const char *u, *p;
    size_t ul, pl;
    static const char m1[] = "\0all@example.com\0password";
    assert_int_equal(split(m1, sizeof m1 - 1, &u, &ul, &p, &pl), 0);
    assert_int_equal(ul, 15);
    assert_memory_equal(u, "all@example.com", 15);
    assert_int_equal(pl, 8);
    assert_memory_equal(p, "password", 8);
    assert_ptr_equal(u, m1 + 1);

    /* with an authorization identity (ignored here) */
    static const char m2[] = "admin\0user\0pw";
    assert_int_equal(split(m2, sizeof m2 - 1, &u, &ul, &p, &pl), 0);
    assert_int_equal(ul, 4);
    assert_memory_equal(u, "user", 4);
    assert_int_equal(pl, 2);
    assert_memory_equal(p, "pw", 2);

    /* an empty password is well-formed */
    static const char m3[] = "\0user\0";
    assert_int_equal(split(m3, sizeof m3 - 1, &u, &ul, &p, &pl), 0);
    assert_int_equal(ul, 4);
    assert_int_equal(pl, 0);

    /* malformed */
    static const char b1[] = "user password";
    assert_int_equal(split(b1, sizeof b1 - 1, &u, &ul, &p, &pl), -1);
    static const char b2[] = "\0userpassword";
    assert_int_equal(split(b2, sizeof b2 - 1, &u, &ul, &p, &pl), -1);
    static const char b3[] = "\0\0password"; /* empty authcid */
    assert_int_equal(split(b3, sizeof b3 - 1, &u, &ul, &p, &pl), -1);
    static const char b4[] = "\0user\0pass\0word"; /* a third NUL */
    assert_int_equal(split(b4, sizeof b4 - 1, &u, &ul, &p, &pl), -1);
    assert_int_equal(split("", 0, &u, &ul, &p, &pl), -1);
    static const char b5[] = "\0";
    assert_int_equal(split(b5, 1, &u, &ul, &p, &pl), -1);
}

static void test_plain_from_b64(void **state) {
    (void)state;
    /* what `AUTH PLAIN AGFsbEBleGFtcGxlLmNvbQBwYXNzd29yZA==` carries */
    buf_t dec = BUF_INIT;
    const char *b64 = "AGFsbEBleGFtcGxlLmNvbQBwYXNzd29yZA==";
    assert_int_equal(sasl_b64_decode(b64, strlen(b64), &dec), 0);
    const char *u, *p;
    size_t ul, pl;
    assert_int_equal(sasl_plain_split(dec.data, dec.len, &u, &ul, &p, &pl), 0);
    assert_int_equal(ul, 15);
    assert_memory_equal(u, "all@example.com", ul);
    assert_int_equal(pl, 8);
    assert_memory_equal(p, "password", pl);
    buf_free(&dec);
}

/* sasl_plain_decode: base64 and split in one step, failing on either. */
static void test_plain_decode(void **state) {
    (void)state;
    buf_t dec = BUF_INIT;
    const char *u, *p;
    size_t ul, pl;
    /* "\0all@example.com\0password" */
    assert_int_equal(sasl_plain_decode("AGFsbEBleGFtcGxlLmNvbQBwYXNzd29yZA==", 36, &dec, &u, &ul, &p, &pl), 0);
    assert_int_equal(ul, 15);
    assert_memory_equal(u, "all@example.com", 15);
    assert_int_equal(pl, 8);
    assert_memory_equal(p, "password", 8);
    buf_reset(&dec);
    assert_int_equal(sasl_plain_decode("not base64!", 11, &dec, &u, &ul, &p, &pl), -1);
    buf_reset(&dec);
    assert_int_equal(sasl_plain_decode("", 0, &dec, &u, &ul, &p, &pl), -1);
    buf_reset(&dec);
    assert_int_equal(sasl_plain_decode("dXNlcg==", 8, &dec, &u, &ul, &p, &pl), -1); /* "user": no NULs */
    buf_free(&dec);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64_vectors),
        cmocka_unit_test(test_b64_alphabet_and_binary),
        cmocka_unit_test(test_b64_invalid),
        cmocka_unit_test(test_plain_split),
        cmocka_unit_test(test_plain_from_b64),
        cmocka_unit_test(test_plain_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
