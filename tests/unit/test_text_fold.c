/*
 * Unit tests for text_fold: Unicode case folding with NFKC, the ASCII fast
 * path, invalid UTF-8, and the folded substring test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/text_fold.h"

static void expect_fold(const char *in, const char *want) {
    size_t n;
    char *f = text_fold(in, strlen(in), &n);
    assert_string_equal(f, want);
    assert_int_equal(n, strlen(want));
    free(f);
}

static bool contains(const char *hay, const char *needle) {
    size_t n;
    char *f = text_fold(needle, strlen(needle), &n);
    bool r = text_fold_contains(hay, strlen(hay), f, n);
    free(f);
    return r;
}

static void test_fold(void **state) {
    (void)state;
    expect_fold("Hello WORLD 123", "hello world 123");
    expect_fold("", "");
    expect_fold("\xc3\x89QUIPE", "\xc3\xa9quipe");                 /* ÉQUIPE */
    expect_fold("E\xcc\x81quipe", "\xc3\xa9quipe");                /* E + combining acute: composed */
    expect_fold("Stra\xc3\x9f" "e", "strasse");                    /* ß: full folding */
    expect_fold("\xce\xa3\xce\x99\xce\xa3\xce\xa5\xce\xa6\xce\x9f\xcf\x82", /* ΣΙΣΥΦΟς */
                "\xcf\x83\xce\xb9\xcf\x83\xcf\x85\xcf\x86\xce\xbf\xcf\x83");
    expect_fold("\xef\xac\x81le", "file");                          /* ﬁ ligature: NFKC */
    expect_fold("\xd0\x9c\xd0\x9e\xd0\xa1\xd0\x9a\xd0\x92\xd0\x90", /* МОСКВА */
                "\xd0\xbc\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0");
    /* invalid UTF-8 is replaced, never passed on */
    size_t n;
    char *f = text_fold("A\xff" "B", 3, &n);
    assert_string_equal(f, "a\xef\xbf\xbd" "b");
    free(f);
    f = text_fold(NULL, 0, NULL);
    assert_string_equal(f, "");
    free(f);
}

static void test_contains(void **state) {
    (void)state;
    assert_true(contains("R\xc3\xa9union de l'\xc3\xa9quipe", "\xc3\x89QUIPE"));
    assert_true(contains("R\xc3\xa9union de l'\xc3\xa9quipe", "R\xc3\x89UNION"));
    assert_false(contains("R\xc3\xa9union de l'\xc3\xa9quipe", "equipe")); /* accents are kept */
    assert_true(contains("Gro\xc3\x9f" "e STRASSE", "stra\xc3\x9f" "e"));
    assert_true(contains("Meeting NOTES", "ting no"));
    assert_false(contains("Meeting", "meetings"));
    assert_true(contains("anything", ""));
    assert_false(contains("", "x"));
    /* a needle with other characters is never in ASCII text */
    assert_false(contains("equipe", "\xc3\xa9quipe"));
    assert_true(contains("ASCII hay", "hay"));
}

/* folding folded text changes nothing, for every code point */
static void test_idempotent(void **state) {
    (void)state;
    int bad = 0;
    for (unsigned cp = 0x80; cp <= 0x10FFFF; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF) continue;
        char in[8];
        int n = 0;
        if (cp < 0x800) {
            in[n++] = (char)(0xC0 | (cp >> 6));
        } else if (cp < 0x10000) {
            in[n++] = (char)(0xE0 | (cp >> 12));
            in[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        } else {
            in[n++] = (char)(0xF0 | (cp >> 18));
            in[n++] = (char)(0x80 | ((cp >> 12) & 0x3F));
            in[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        }
        in[n++] = (char)(0x80 | (cp & 0x3F));
        size_t l1, l2;
        char *f1 = text_fold(in, (size_t)n, &l1);
        char *f2 = text_fold(f1, l1, &l2);
        if (l1 != l2 || memcmp(f1, f2, l1) != 0) {
            if (bad++ < 10) print_message("U+%04X folds to a text that folds again\n", cp);
        }
        free(f1);
        free(f2);
    }
    assert_int_equal(bad, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fold),
        cmocka_unit_test(test_contains),
        cmocka_unit_test(test_idempotent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
