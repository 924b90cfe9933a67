/*
 * test_maildir_keywords - Dovecot's dovecot-keywords file ("N name" lines,
 * N = 0..25, letter 'a' + N in file names): parsing as Dovecot reads it
 * (bad lines skipped, CRLF, duplicates), writing it back byte for byte,
 * letters <-> keywords, the 26-letter limit, and a file written by
 * mdkw_save read again by mdkw_load.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "store/maildir_keywords.h"

static void test_parse_dovecot_file(void **state) {
    (void)state;
    /* as Dovecot writes it: one line per used letter, in order */
    const char *text = "0 $Forwarded\n1 Junk\n3 $label1\n";
    struct mdkw k;
    mdkw_init(&k);
    assert_int_equal(mdkw_parse(&k, text, strlen(text)), 3);
    assert_string_equal(k.names[0], "$Forwarded");
    assert_string_equal(k.names[1], "Junk");
    assert_null(k.names[2]);
    assert_string_equal(k.names[3], "$label1");
    assert_int_equal(mdkw_find(&k, "junk", 4), 1);
    assert_int_equal(mdkw_find(&k, "$LABEL1", 7), 3);
    assert_int_equal(mdkw_find(&k, "Jun", 3), -1);
    /* written back byte for byte */
    buf_t out = BUF_INIT;
    mdkw_format(&k, &out);
    assert_int_equal(out.len, strlen(text));
    assert_memory_equal(out.data, text, out.len);
    buf_free(&out);
    mdkw_free(&k);
}

static void test_parse_skips_bad_lines(void **state) {
    (void)state;
    static const char text[] =
        "no-space\n"       /* Dovecot's .customflags header: skipped */
        "26 toohigh\n"     /* only 0..25 */
        "-1 negative\n"
        "x1 notanumber\n"
        "2 \n"             /* empty name */
        "4 two words\n"    /* a keyword is an atom */
        "5 (paren\n"
        "6 \\Seen\n"       /* not a system flag */
        "007 threedigits\n"
        "7 ok\r\n"         /* CRLF */
        "8 ok\n"           /* the same name again: the lower letter keeps it */
        "9 first\n"
        "9 second\n"       /* the same letter again: the later line wins */
        "10 nul\0byte\n"
        "11 last-without-newline";
    struct mdkw k;
    mdkw_init(&k);
    assert_int_equal(mdkw_parse(&k, text, sizeof text - 1), 3);
    assert_string_equal(k.names[7], "ok");
    assert_null(k.names[8]);
    assert_string_equal(k.names[9], "second");
    assert_string_equal(k.names[11], "last-without-newline");
    for (int i = 0; i < MDKW_MAX; i++)
        if (i != 7 && i != 9 && i != 11) assert_null(k.names[i]);
    /* parsing again starts afresh */
    assert_int_equal(mdkw_parse(&k, "", 0), 0);
    assert_null(k.names[7]);
    mdkw_free(&k);
}

static void test_letters_and_names(void **state) {
    (void)state;
    struct mdkw k;
    mdkw_init(&k);
    assert_int_equal(mdkw_add(&k, "urgent", 6), 0);
    assert_int_equal(mdkw_add(&k, "$label2", 7), 1);
    assert_int_equal(mdkw_add(&k, "URGENT", 6), 0); /* has one already */
    assert_int_equal(mdkw_add(&k, "bad word", 8), -1);
    assert_int_equal(mdkw_add(&k, "", 0), -1);
    buf_t b = BUF_INIT;
    /* in letter order, whatever the order of the list; unknown ones left out */
    mdkw_letters(&k, "$label2  unknown urgent", &b);
    assert_string_equal(buf_cstr(&b), "ab");
    buf_reset(&b);
    mdkw_letters(&k, "", &b);
    mdkw_letters(&k, NULL, &b);
    assert_int_equal(b.len, 0);
    /* from a file name's info: standard flags and unnamed letters ignored */
    mdkw_names(&k, "FSbaz", &b);
    assert_string_equal(buf_cstr(&b), "urgent $label2");
    buf_reset(&b);
    buf_append_str(&b, "kept");
    mdkw_names(&k, "a", &b);
    assert_string_equal(buf_cstr(&b), "kept urgent");
    buf_free(&b);
    mdkw_free(&k);
}

static void test_26_letters(void **state) {
    (void)state;
    struct mdkw k;
    mdkw_init(&k);
    char name[16];
    for (int i = 0; i < MDKW_MAX; i++) {
        snprintf(name, sizeof name, "kw%d", i);
        assert_int_equal(mdkw_add(&k, name, strlen(name)), i);
    }
    assert_int_equal(mdkw_add(&k, "one-too-many", 12), -1);
    assert_int_equal(mdkw_find(&k, "kw25", 4), 25);
    buf_t b = BUF_INIT;
    mdkw_letters(&k, "kw25 kw0 one-too-many", &b);
    assert_string_equal(buf_cstr(&b), "az");
    /* a freed letter is given out again */
    free(k.names[3]);
    k.names[3] = NULL;
    assert_int_equal(mdkw_add(&k, "new", 3), 3);
    buf_free(&b);
    mdkw_free(&k);
}

static void test_save_and_load(void **state) {
    (void)state;
    char dir[] = "/tmp/devmail-test-mdkw-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct mdkw k, back;
    mdkw_init(&k);
    mdkw_init(&back);
    /* no file: no keywords */
    assert_int_equal(mdkw_load(&back, dir), 0);
    for (int i = 0; i < MDKW_MAX; i++) assert_null(back.names[i]);
    mdkw_add(&k, "$Forwarded", 10);
    mdkw_add(&k, "tag-1", 5);
    assert_int_equal(mdkw_save(&k, dir), 0);
    buf_t p = BUF_INIT, text = BUF_INIT;
    buf_printf(&p, "%s/dovecot-keywords", dir);
    assert_int_equal(buf_load_file(&text, buf_cstr(&p)), 0);
    assert_string_equal(buf_cstr(&text), "0 $Forwarded\n1 tag-1\n");
    assert_int_equal(mdkw_load(&back, dir), 0);
    assert_string_equal(back.names[0], "$Forwarded");
    assert_string_equal(back.names[1], "tag-1");
    /* a stale lock file from a crash does not stop the next write */
    buf_t lock = BUF_INIT;
    buf_printf(&lock, "%s/dovecot-keywords.lock", dir);
    FILE *fp = fopen(buf_cstr(&lock), "w");
    assert_non_null(fp);
    fclose(fp);
    mdkw_add(&k, "third", 5);
    assert_int_equal(mdkw_save(&k, dir), 0);
    assert_int_equal(access(buf_cstr(&lock), F_OK), -1);
    assert_int_equal(mdkw_load(&back, dir), 0);
    assert_string_equal(back.names[2], "third");
    unlink(buf_cstr(&p));
    rmdir(dir);
    buf_free(&p);
    buf_free(&lock);
    buf_free(&text);
    mdkw_free(&k);
    mdkw_free(&back);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_dovecot_file),
        cmocka_unit_test(test_parse_skips_bad_lines),
        cmocka_unit_test(test_letters_and_names),
        cmocka_unit_test(test_26_letters),
        cmocka_unit_test(test_save_and_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
