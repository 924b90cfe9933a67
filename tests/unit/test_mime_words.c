/*
 * test_mime_words - the repair of RFC 2047 encoded-word runs before GMime
 * decodes them: a character split across two base64 words, padded words
 * in the middle of a run, Q and B words mixed, different charsets kept
 * apart, text between words kept, and input left alone when nothing needs
 * repair.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gmime/gmime.h>

#include "core/mime_words.h"

/* merge, then decode with GMime as the store does */
static char *decoded(const char *raw) {
    char *m = mime_words_merge(raw, strlen(raw));
    char *d = g_mime_utils_header_decode_text(NULL, m ? m : raw);
    char *out = strdup(d);
    g_free(d);
    free(m);
    return out;
}

static void expect(const char *raw, const char *text) {
    char *d = decoded(raw);
    if (strcmp(d, text) != 0) fail_msg("%s\n decoded to [%s]\n expected   [%s]", raw, d, text);
    free(d);
}

static void test_split_character(void **state) {
    (void)state;
    /* "✓ 日本語" (e2 9c 93 20 e6 97 a5 e6 9c ac e8 aa 9e) split inside 日 */
    expect("=?utf-8?b?4pyTIOaX?= =?utf-8?b?peacrOiqng==?=", "✓ 日本語");
    /* a padded word in the middle of a run (Python's email package) */
    expect("=?utf-8?b?eHggIA==?=\r\n =?utf-8?b?4pyTIOaXpeacrOiqng==?=", "xx  ✓ 日本語");
    /* Q then B, one character across them */
    expect("=?UTF-8?Q?caf=C3?= =?utf-8?B?qQ==?=", "café");
    expect("=?utf-8?q?a_b?=\t=?utf-8?q?_c?=", "a b c");
}

static void test_left_alone(void **state) {
    (void)state;
    static const char *const same[] = {
        "plain text", "=?utf-8?b?4pyT?=", "x =?utf-8?b?4pyT?= y =?utf-8?b?4pyT?=", "=?utf-8?b?4pyT?= =?iso-8859-1?q?caf=E9?=",
        "=?broken", "=?utf-8?x?abc?= =?utf-8?x?abc?=", "=? ?b?QQ==?= =? ?b?QQ==?=", "",
    };
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        char *m = mime_words_merge(same[i], strlen(same[i]));
        if (m) fail_msg("changed [%s] to [%s]", same[i], m);
    }
    expect("=?utf-8?b?4pyT?= =?iso-8859-1?q?caf=E9?=", "✓café");
    expect("x =?utf-8?b?4pyT?= y", "x ✓ y");
    assert_null(mime_words_merge(NULL, 0));
}

static void test_text_around_runs(void **state) {
    (void)state;
    const char *in = "Re: =?utf-8?b?4pyT?= =?utf-8?b?4pyT?= (2)";
    char *m = mime_words_merge(in, strlen(in));
    assert_non_null(m);
    assert_string_equal(m, "Re: =?utf-8?B?4pyT4pyT?= (2)");
    free(m);
    expect("Re: =?utf-8?b?4pyT?= =?utf-8?b?4pyT?= (2)", "Re: ✓✓ (2)");
}

int main(void) {
    g_mime_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_character),
        cmocka_unit_test(test_left_alone),
        cmocka_unit_test(test_text_around_runs),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    g_mime_shutdown();
    return rc;
}
