/*
 * test_base_subject - RFC 5256 2.1 base subject extraction: Re:/Fw:/Fwd:
 * leaders with list blobs, "(fwd)" trailers, "[fwd: ...]" wrappers, a
 * blob that is the whole subject, white space, the reply-or-forward flag
 * (RFC 5256 section 4), and the i;unicode-casemap key (RFC 5051) in the
 * order imaptest's sort-subject test expects.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/base_subject.h"

static void expect(const char *in, const char *base, bool reply) {
    bool r = !reply;
    char *b = base_subject_extract(in, strlen(in), &r);
    if (strcmp(b, base) != 0) fail_msg("[%s]\n extracted [%s]\n expected  [%s]", in, b, base);
    if (r != reply) fail_msg("[%s]: reply=%d, expected %d", in, r, reply);
    free(b);
}

static void test_base_subject_leaders(void **state) {
    (void)state;
    expect("Hello World", "Hello World", false);
    expect("Re: Hello", "Hello", true);
    expect("RE:Hello", "Hello", true);
    expect("re: re: Re:   Hello", "Hello", true);
    expect("Fw: x", "x", true);
    expect("FWD: x", "x", true);
    expect("Re[2]: x", "x", true);
    expect("Re [2] : x", "x", true);
    expect("[list] Re: x", "x", true);
    expect("[a] [b] Re: [c] Fwd: x", "x", true);
    expect("Ad: Re: x", "Ad: Re: x", false);
    expect("Reply: x", "Reply: x", false);
    expect("Re x", "Re x", false);
    expect("Fwx: y", "Fwx: y", false);
}

static void test_base_subject_blobs(void **state) {
    (void)state;
    /* a list tag alone is not a reply */
    expect("[list] x", "x", false);
    expect("[a][b] x", "x", false);
    /* a blob that would leave nothing stays */
    expect("[xyz]", "[xyz]", false);
    expect("[a] [b]", "[b]", false);
    expect("[a] [b]  ", "[b]", false);
    expect("[unterminated x", "[unterminated x", false);
    expect("[a[b] x", "[a[b] x", false);
}

static void test_base_subject_trailers_and_wrappers(void **state) {
    (void)state;
    expect("x (fwd)", "x", true);
    expect("x (FWD)  (fwd) ", "x", true);
    expect("x(fwd)", "x", true);
    expect("[fwd: x]", "x", true);
    expect("[Fwd: Re: x (fwd)]", "x", true);
    expect("Re: [FWD: c]", "c", true);
    expect("re: [fwd: [fwd: re: [fwd: babylon]]]", "babylon", true);
    expect("[foo] Fwd: [bar] Re: fw: b (fWd)  (fwd)", "b", true);
    expect("[fwd: x", "[fwd: x", false);
}

static void test_base_subject_space(void **state) {
    (void)state;
    expect("", "", false);
    expect(" ", "", false);
    expect("  a \t\r\n b  ", "a b", false);
    expect("Re:", "", true);
    expect("(fwd)", "", true);
    /* NUL ends the text; NULL is the empty subject */
    bool r = true;
    char *b = base_subject_extract("ab\0cd", 5, &r);
    assert_string_equal(b, "ab");
    assert_false(r);
    free(b);
    b = base_subject_extract(NULL, 3, NULL);
    assert_string_equal(b, "");
    free(b);
    /* invalid UTF-8 is replaced, never passed on */
    b = base_subject_extract("Re: a\xff", 6, NULL);
    assert_true(strncmp(b, "a", 1) == 0);
    assert_null(strchr(b, '\xff'));
    free(b);
}

static void test_base_subject_casemap(void **state) {
    (void)state;
    char *k = base_subject_casemap("hello World_", 12);
    assert_string_equal(k, "HELLO WORLD_");
    free(k);
    /* é (precomposed) and e + combining acute give one key */
    char *a = base_subject_casemap("r\xc3\xa9union", 8);
    char *b2 = base_subject_casemap("Re\xcc\x81UNION", 9);
    assert_string_equal(a, b2);
    free(a);
    free(b2);
    /* the fi ligature decomposes (NFKD) */
    k = base_subject_casemap("\xef\xac\x81le", 5);
    assert_string_equal(k, "FILE");
    free(k);
}

static int cmp_key(const void *a, const void *b) {
    const char *const *x = a, *const *y = b;
    int c = strcmp(x[0], y[0]);
    if (c) return c;
    return strcmp(x[1], y[1]); /* x[1]: the message number, zero-padded */
}

/* imaptest's sort-subject: 15 messages (9 has no Subject; 10-13 are
 * RFC 2047 words, given here decoded), sorted by (SUBJECT). */
static void test_base_subject_imaptest_order(void **state) {
    (void)state;
    static const char *const subjects[15] = {
        "a", "C", "b", "_", "[foo] Fwd: [bar] Re: fw: b (fWd)  (fwd)", "b (a)", "Re: [FWD: c]", "[xyz]", "",
        " ", "Re: b", "RE: C", "Re: c", "Ad: Re: Ad: Re: Ad: x", "re: [fwd: [fwd: re: [fwd: babylon]]]",
    };
    char *keys[15][2];
    char num[15][12];
    for (int i = 0; i < 15; i++) {
        keys[i][0] = base_subject_key(subjects[i], strlen(subjects[i]), NULL);
        snprintf(num[i], sizeof num[i], "%02d", i + 1);
        keys[i][1] = num[i];
    }
    qsort(keys, 15, sizeof keys[0], cmp_key);
    char got[64] = "";
    for (int i = 0; i < 15; i++) {
        char n[8];
        snprintf(n, sizeof n, "%s%d", i ? " " : "", atoi(keys[i][1]));
        strcat(got, n);
        free(keys[i][0]);
    }
    assert_string_equal(got, "9 10 1 14 3 5 11 6 15 2 7 12 13 8 4");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base_subject_leaders),
        cmocka_unit_test(test_base_subject_blobs),
        cmocka_unit_test(test_base_subject_trailers_and_wrappers),
        cmocka_unit_test(test_base_subject_space),
        cmocka_unit_test(test_base_subject_casemap),
        cmocka_unit_test(test_base_subject_imaptest_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
