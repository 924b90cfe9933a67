/*
 * test_passdb - the Dovecot passwd-file reader: line syntax (comments,
 * extra fields, missing scheme means CRYPT, errors with name:line), and
 * password checks for PLAIN, CLEARTEXT, CRYPT (DES), MD5-CRYPT,
 * SHA256-CRYPT, SHA512-CRYPT and BLF-CRYPT with fixed known hashes and
 * with hashes made by passdb_hash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf/passdb.h"
#include "core/buf.h"

/* Known hashes of "password", made with `openssl passwd -6 -salt abc
 * password` (-5, -1) and Python's crypt for DES and bcrypt. */
#define SHA512_PASSWORD "$6$abc$rvqzMBuMVukmply9mZJpW0wJMdDfgUKLDrSNxf9l66h/ytQiKNAdqHSj5YPJpxWJpVjRXibQXRddCl9xYHQnd0"
#define SHA256_PASSWORD "$5$abc$6va2Z4O.keO7R84v9g0B9d2NkB7NOyTy0sMeQ5Z3LLA"
#define MD5_PASSWORD "$1$abc$BXBqpb9BZcZhXLgbee.0s/"
#define DES_PASSWORD "abJnggxhB/yWI"
#define BLF_PASSWORD "$2b$04$abcdefghijklmnopqrstuughE8Ev8uGFaUgY2cNEySvxngrb/Jzdm"
/* bcrypt of "secret" with the same salt */
#define BLF_SECRET "$2b$04$abcdefghijklmnopqrstuu2r9OfJnfCsdneAXAGHnS4UpFFP8WIrW"

static void parse_ok(struct passdb *db, const char *text) {
    buf_t err = BUF_INIT;
    if (passdb_parse(db, "passwd", text, strlen(text), &err) != 0) fail_msg("parse failed: %s", buf_cstr(&err));
    buf_free(&err);
}

static bool verify(const struct passdb *db, const char *user, const char *pw) {
    return passdb_verify(db, user, pw, strlen(pw));
}

static void test_parse_lines(void **state) {
    (void)state;
    struct passdb db;
    parse_ok(&db,
             "# accounts\n"
             "\n"
             "all@example.com:{PLAIN}password\n"
             "  bob@example.com:{sha512-crypt}" SHA512_PASSWORD ":1000:1000::/home/bob::userdb_quota_rule=*:storage=1G\n"
             "carol@example.com:" DES_PASSWORD "\r\n"
             "\t# indented comment\n"
             "dave@example.com:{PLAIN}with spaces inside   \n"
             "erin@example.com:{PLAIN}:::\n"
             "frank@example.com:{PLAIN}last-line-without-newline");
    assert_int_equal(db.n, 6);
    assert_string_equal(db.v[0].user, "all@example.com");
    assert_string_equal(db.v[0].scheme, "PLAIN");
    assert_string_equal(db.v[0].secret, "password");
    assert_string_equal(db.v[1].user, "bob@example.com");
    assert_string_equal(db.v[1].scheme, "SHA512-CRYPT"); /* upper-cased */
    assert_string_equal(db.v[1].secret, SHA512_PASSWORD); /* extra fields dropped */
    assert_string_equal(db.v[2].scheme, "CRYPT");         /* no scheme: CRYPT */
    assert_string_equal(db.v[2].secret, DES_PASSWORD);   /* CR stripped */
    assert_string_equal(db.v[3].secret, "with spaces inside");
    assert_string_equal(db.v[4].secret, "");
    assert_string_equal(db.v[5].secret, "last-line-without-newline");

    assert_ptr_equal(passdb_find(&db, "ALL@Example.COM"), &db.v[0]);
    assert_ptr_equal(passdb_find(&db, "frank@example.com"), &db.v[5]);
    assert_null(passdb_find(&db, "nobody@example.com"));
    assert_null(passdb_find(&db, "all@example.co"));
    passdb_free(&db);
    assert_int_equal(db.n, 0);
    assert_null(db.v);

    parse_ok(&db, "");
    assert_int_equal(db.n, 0);
    passdb_free(&db);
    parse_ok(&db, "# only a comment\n\n");
    assert_int_equal(db.n, 0);
    passdb_free(&db);
}

static void parse_err(const char *text, const char *want) {
    struct passdb db;
    buf_t err = BUF_INIT;
    assert_int_equal(passdb_parse(&db, "passwd", text, strlen(text), &err), -1);
    if (strcmp(buf_cstr(&err), want) != 0) fail_msg("error '%s', expected '%s'", buf_cstr(&err), want);
    assert_int_equal(db.n, 0);
    assert_null(db.v);
    buf_free(&err);
}

static void test_parse_errors(void **state) {
    (void)state;
    parse_err("no-colon-here\n", "passwd:1: expected user:{SCHEME}password");
    parse_err("a@b:{PLAIN}x\n# c\n:{PLAIN}x\n", "passwd:3: expected user:{SCHEME}password");
    parse_err("a@b:{PLAIN}x\nb@c:{PLAINx\n", "passwd:2: unterminated {SCHEME}");
    /* the '}' must be inside the password field */
    parse_err("a@b:{PLAIN:}x\n", "passwd:1: unterminated {SCHEME}");
    /* a NUL byte would cut the user or the secret short */
    struct passdb db;
    buf_t err = BUF_INIT;
    static const char nul[] = "a@b:{PLAIN}x\nc\0d@e:{PLAIN}pw\n";
    assert_int_equal(passdb_parse(&db, "passwd", nul, sizeof nul - 1, &err), -1);
    assert_string_equal(buf_cstr(&err), "passwd:2: NUL byte in line");
    assert_int_equal(db.n, 0);
    buf_reset(&err);
    static const char nul2[] = "a@b:{PLAIN}pass\0word\n";
    assert_int_equal(passdb_parse(&db, "passwd", nul2, sizeof nul2 - 1, &err), -1);
    assert_string_equal(buf_cstr(&err), "passwd:1: NUL byte in line");
    buf_free(&err);
}

static void test_verify_plain(void **state) {
    (void)state;
    struct passdb db;
    parse_ok(&db, "all@example.com:{PLAIN}password\nclear@example.com:{CLEARTEXT}pw2\nempty@example.com:{PLAIN}\n");
    assert_true(verify(&db, "all@example.com", "password"));
    assert_true(verify(&db, "ALL@EXAMPLE.COM", "password"));
    assert_false(verify(&db, "all@example.com", "Password"));
    assert_false(verify(&db, "all@example.com", "passwor"));
    assert_false(verify(&db, "all@example.com", "password "));
    assert_false(verify(&db, "all@example.com", ""));
    assert_true(verify(&db, "clear@example.com", "pw2"));
    assert_false(verify(&db, "nobody@example.com", "password"));
    /* an empty PLAIN secret matches only the empty password */
    assert_true(verify(&db, "empty@example.com", ""));
    assert_false(verify(&db, "empty@example.com", "x"));
    /* a NUL in the password never matches, even as a prefix trick */
    assert_false(passdb_verify(&db, "all@example.com", "password\0x", 10));
    assert_false(passdb_verify(&db, "all@example.com", "pass\0word", 9));
    /* only the given length counts */
    assert_true(passdb_verify(&db, "all@example.com", "passwordXYZ", 8));
    /* over-long passwords are refused */
    char big[PASSDB_MAX_PASSWORD + 2];
    memset(big, 'a', sizeof big);
    assert_false(passdb_verify(&db, "all@example.com", big, sizeof big));
    passdb_free(&db);
}

static void test_verify_crypt_schemes(void **state) {
    (void)state;
    struct passdb db;
    parse_ok(&db,
             "s512@x:{SHA512-CRYPT}" SHA512_PASSWORD "\n"
             "s256@x:{SHA256-CRYPT}" SHA256_PASSWORD "\n"
             "md5@x:{MD5-CRYPT}" MD5_PASSWORD "\n"
             "blf@x:{BLF-CRYPT}" BLF_PASSWORD "\n"
             "blf2@x:{BLF-CRYPT}" BLF_SECRET "\n"
             "des@x:{CRYPT}" DES_PASSWORD "\n"
             "bare@x:" SHA512_PASSWORD "\n"
             "unknown@x:{SSHA}abcdef\n"
             "broken@x:{SHA512-CRYPT}$6$abc$notarealhash\n"
             "emptycrypt@x:{CRYPT}\n"
             "star@x:{CRYPT}*\n");
    static const char *const users[] = {"s512@x", "s256@x", "md5@x", "blf@x", "des@x", "bare@x", NULL};
    for (int i = 0; users[i]; i++) {
        if (!verify(&db, users[i], "password")) fail_msg("%s: right password refused", users[i]);
        if (verify(&db, users[i], "wrong")) fail_msg("%s: wrong password accepted", users[i]);
        if (verify(&db, users[i], "")) fail_msg("%s: empty password accepted", users[i]);
        if (passdb_verify(&db, users[i], "password\0", 9)) fail_msg("%s: NUL accepted", users[i]);
    }
    assert_true(verify(&db, "blf2@x", "secret"));
    assert_false(verify(&db, "blf2@x", "password"));
    /* DES crypt looks at 8 characters only: a property of the scheme */
    assert_false(verify(&db, "des@x", "passwor"));
    /* unknown schemes and unusable hashes never match */
    assert_false(verify(&db, "unknown@x", "abcdef"));
    assert_false(verify(&db, "broken@x", "password"));
    assert_false(verify(&db, "emptycrypt@x", ""));
    assert_false(verify(&db, "emptycrypt@x", "x"));
    assert_false(verify(&db, "star@x", "*"));
    assert_false(verify(&db, "star@x", ""));
    passdb_free(&db);
}

static void test_hash_roundtrip(void **state) {
    (void)state;
    static const char *const schemes[] = {"SHA512-CRYPT", "sha256-crypt", "BLF-CRYPT", "PLAIN", NULL};
    static const char *const prefixes[] = {"{SHA512-CRYPT}$6$", "{SHA256-CRYPT}$5$", "{BLF-CRYPT}$2b$", "{PLAIN}", NULL};
    for (int i = 0; schemes[i]; i++) {
        buf_t h = BUF_INIT;
        assert_int_equal(passdb_hash(schemes[i], "s3cret pass", &h), 0);
        if (strncmp(buf_cstr(&h), prefixes[i], strlen(prefixes[i])) != 0)
            fail_msg("%s: hash '%s'", schemes[i], buf_cstr(&h));
        buf_t line = BUF_INIT;
        buf_printf(&line, "u@example.com:%s:extra\n", buf_cstr(&h));
        struct passdb db;
        parse_ok(&db, buf_cstr(&line));
        assert_true(verify(&db, "u@example.com", "s3cret pass"));
        assert_false(verify(&db, "u@example.com", "s3cret pas"));
        assert_false(verify(&db, "u@example.com", "s3cret pass "));
        passdb_free(&db);
        /* two hashes of the same password differ (random salt) */
        if (strcmp(schemes[i], "PLAIN") != 0) {
            buf_t h2 = BUF_INIT;
            assert_int_equal(passdb_hash(schemes[i], "s3cret pass", &h2), 0);
            assert_string_not_equal(buf_cstr(&h), buf_cstr(&h2));
            buf_free(&h2);
        }
        buf_free(&line);
        buf_free(&h);
    }
    buf_t h = BUF_INIT;
    assert_int_equal(passdb_hash("MD4", "x", &h), -1);
    assert_int_equal(passdb_hash("", "x", &h), -1);
    assert_int_equal(h.len, 0);
    buf_free(&h);
}

static void test_load(void **state) {
    (void)state;
    const char *tmp = getenv("TMPDIR");
    buf_t pb = BUF_INIT;
    buf_printf(&pb, "%s/devmail-test-passdb-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    char *path = buf_steal(&pb);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char text[] = "all@example.com:{PLAIN}password\n";
    assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    struct passdb db;
    buf_t err = BUF_INIT;
    assert_int_equal(passdb_load(&db, path, &err), 0);
    assert_true(verify(&db, "all@example.com", "password"));
    passdb_free(&db);
    unlink(path);
    assert_int_equal(passdb_load(&db, path, &err), -1);
    assert_non_null(strstr(buf_cstr(&err), path));
    buf_free(&err);
    free(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_lines),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_verify_plain),
        cmocka_unit_test(test_verify_crypt_schemes),
        cmocka_unit_test(test_hash_roundtrip),
        cmocka_unit_test(test_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
