/*
 * test_imap_thread - RFC 5256 threading (imap/imap_thread.h) and the
 * SORT / THREAD argument parser (imap/imap_sort.h): the thread-list
 * syntax example of RFC 5256 section 4, REFERENCES steps (1)-(6) one by
 * one (links from References, In-Reply-To, dummies pruned or kept, the
 * subject merge with its reply rules, sibling order by date), hostile
 * input (reference loops, duplicate and self references, a chain deeper
 * than any stack), ORDEREDSUBJECT on imaptest's example, and SORT/THREAD
 * arguments good and bad.
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
#include "core/buf.h"
#include "imap/imap_parser.h"
#include "imap/imap_sort.h"
#include "imap/imap_thread.h"

/* A test message: id, Message-ID, References, subject as written, date. */
struct tm_in {
    const char *mid, *refs, *subject;
    int64_t date;
    const char *irt;
};

static char *run_alg(const struct tm_in *in, size_t n, bool refs_alg) {
    struct imap_thread_msg *m = calloc(n ? n : 1, sizeof *m);
    char **keys = calloc(n ? n : 1, sizeof *keys);
    for (size_t i = 0; i < n; i++) {
        bool reply = false;
        const char *subj = in[i].subject ? in[i].subject : "";
        keys[i] = base_subject_key(subj, strlen(subj), &reply);
        m[i] = (struct imap_thread_msg){(uint32_t)i + 1, in[i].date, in[i].mid, in[i].irt, in[i].refs, keys[i], reply};
    }
    buf_t b = BUF_INIT;
    if (refs_alg) imap_thread_references(m, n, &b);
    else imap_thread_orderedsubject(m, n, &b);
    for (size_t i = 0; i < n; i++) free(keys[i]);
    free(keys);
    free(m);
    char *out = strdup(buf_cstr(&b));
    buf_free(&b);
    return out;
}

#define EXPECT_THREADS(in, alg, want)                                                                           \
    do {                                                                                                       \
        char *got_ = run_alg(in, sizeof in / sizeof in[0], alg);                                               \
        if (strcmp(got_, want) != 0) fail_msg("threads [%s], expected [%s]", got_, want);                      \
        free(got_);                                                                                            \
    } while (0)

/* RFC 5256 section 4: "* THREAD (2)(3 6 (4 23)(44 7 96))". Numbers here
 * are positions, so the tree is built over 96 messages and only those
 * named are in threads of their own shape; we rebuild it with 9. */
static void test_imap_thread_rfc_syntax_example(void **state) {
    (void)state;
    /* 1=2, 2=3, 3=6, 4=4, 5=23, 6=44, 7=7, 8=96: written as positions */
    static const struct tm_in in[] = {
        {"a", "", "one", 10, NULL},          /* (1) */
        {"b", "", "two", 20, NULL},          /* (2 3 (4 5)(6 7 8)) */
        {"c", "b", "two", 30, NULL},
        {"d", "b c", "two", 40, NULL},
        {"e", "b c d", "two", 50, NULL},
        {"f", "b c", "two", 60, NULL},
        {"g", "b c f", "two", 70, NULL},
        {"h", "b c f g", "two", 80, NULL},
    };
    EXPECT_THREADS(in, true, "(1)(2 3 (4 5)(6 7 8))");
}

static void test_imap_thread_references_links(void **state) {
    (void)state;
    /* imaptest "thread": 3 replies to 2, 1 stands alone, dates out of order */
    static const struct tm_in a[] = {
        {"m1", "", "x", 300, NULL}, {"m2", "", "y", 100, NULL}, {"m3", "m2", "y", 200, NULL},
    };
    EXPECT_THREADS(a, true, "(2 3)(1)");
    /* In-Reply-To stands in for a missing References */
    static const struct tm_in b[] = {
        {"m1", "", "x", 1, NULL}, {"m2", "", "other", 2, "m1"},
    };
    EXPECT_THREADS(b, true, "(1 2)");
    /* a missing parent with two children stays as a dummy at the top */
    static const struct tm_in c[] = {
        {"m1", "gone", "p", 1, NULL}, {"m2", "gone", "q", 2, NULL}, {"m3", "", "r", 3, NULL},
    };
    EXPECT_THREADS(c, true, "((1)(2))(3)");
    /* a missing parent with one child: the child takes its place */
    static const struct tm_in d[] = {{"m1", "gone", "p", 1, NULL}, {"m2", "", "q", 2, NULL}};
    EXPECT_THREADS(d, true, "(1)(2)");
    /* a missing message in the middle of a chain is pruned, the chain holds */
    static const struct tm_in e[] = {
        {"m1", "", "s", 1, NULL}, {"m3", "m1 m2", "s", 3, NULL}, {"m4", "m1 m2", "s", 4, NULL},
    };
    EXPECT_THREADS(e, true, "(1 (2)(3))");
    /* a later, fuller References moves a message to its real parent */
    static const struct tm_in f[] = {
        {"m1", "", "s", 1, NULL}, {"m3", "m1", "t", 3, NULL}, {"m2", "m1", "u", 2, NULL},
        {"m4", "m1 m2 m3", "v", 4, NULL},
    };
    /* (1)(A) keeps m2's and m3's first parent; m2 sorts first by date */
    EXPECT_THREADS(f, true, "(1 (3)(2 4))");
    /* the same three, now m3 says it follows m2: (1)(A) links m2 -> m3 */
    static const struct tm_in g[] = {
        {"m1", "", "s", 1, NULL}, {"m2", "m1", "s", 2, NULL}, {"m3", "m1 m2", "s", 3, NULL},
    };
    EXPECT_THREADS(g, true, "(1 2 3)");
}

static void test_imap_thread_references_subjects(void **state) {
    (void)state;
    /* (5): a reply without references joins the original's thread */
    static const struct tm_in a[] = {
        {"m1", "", "Hello", 1, NULL}, {"m2", "", "Re: Hello", 2, NULL}, {"m3", "", "Other", 3, NULL},
    };
    EXPECT_THREADS(a, true, "(1 2)(3)");
    /* two non-replies with one subject: both under a new dummy */
    static const struct tm_in b[] = {{"m1", "", "Hello", 1, NULL}, {"m2", "", "hello", 2, NULL}};
    EXPECT_THREADS(b, true, "((1)(2))");
    /* the original arrives after the reply: the reply still goes under it */
    static const struct tm_in c[] = {{"m1", "", "Re: Hello", 1, NULL}, {"m2", "", "Hello", 2, NULL}};
    EXPECT_THREADS(c, true, "(2 1)");
    /* empty subjects are never merged */
    static const struct tm_in d[] = {{"m1", "", "", 1, NULL}, {"m2", "", "Re:", 2, NULL}};
    EXPECT_THREADS(d, true, "(1)(2)");
    /* a dummy thread takes a same-subject message in among its children */
    static const struct tm_in e[] = {
        {"m1", "gone", "Topic", 1, NULL}, {"m2", "gone", "Topic", 3, NULL}, {"m3", "", "Topic", 2, NULL},
    };
    EXPECT_THREADS(e, true, "((1)(3)(2))");
}

static void test_imap_thread_references_hostile(void **state) {
    (void)state;
    /* a loop of references: m1 goes under m2, and m2's link back is
     * refused; a self reference is no parent; every message shows once */
    static const struct tm_in a[] = {
        {"m1", "m2", "a", 1, NULL}, {"m2", "m1", "b", 2, NULL}, {"m3", "m3", "c", 3, NULL},
    };
    EXPECT_THREADS(a, true, "(2 1)(3)");
    /* duplicate Message-IDs: the second is a message of its own */
    static const struct tm_in b[] = {
        {"m1", "", "a", 1, NULL}, {"m1", "", "b", 2, NULL}, {"m2", "m1", "c", 3, NULL},
    };
    EXPECT_THREADS(b, true, "(1 3)(2)");
    /* no Message-ID at all, a References list that names itself midway */
    static const struct tm_in c[] = {
        {"", "", "a", 1, NULL}, {NULL, NULL, "b", 2, NULL}, {"m3", "x m3 y", "c", 3, NULL},
    };
    EXPECT_THREADS(c, true, "(1)(2)(3)");
    /* a chain far deeper than the C stack would allow to recurse */
    enum { DEEP = 200000 };
    struct tm_in *d = calloc(DEEP, sizeof *d);
    char (*ids)[16] = calloc(DEEP, sizeof *ids);
    for (int i = 0; i < DEEP; i++) {
        snprintf(ids[i], sizeof ids[i], "d%d", i);
        d[i] = (struct tm_in){ids[i], i ? ids[i - 1] : "", "deep", i, NULL};
    }
    char *out = run_alg(d, DEEP, true);
    assert_true(strncmp(out, "(1 2 3 4 ", 9) == 0);
    assert_string_equal(out + strlen(out) - 14, "199999 200000)");
    free(out);
    free(ids);
    free(d);
}

/* imaptest's thread-orderedsubject: expected
 * (1)(2 (7)(12)(13))(3 (5)(11))(4)(6)(8)(9 10)(14)(15) */
static void test_imap_thread_orderedsubject(void **state) {
    (void)state;
    static const struct tm_in a[] = {
        {"", "", "a", 1, NULL},       {"", "", "b", 2, NULL},       {"", "", "c", 3, NULL},
        {"", "", "d", 4, NULL},       {"", "", "re: c", 5, NULL},   {"", "", "e", 6, NULL},
        {"", "", "re: b", 7, NULL},   {"", "", "f", 8, NULL},       {"", "", "g", 9, NULL},
        {"", "", "g", 10, NULL},      {"", "", "c", 11, NULL},      {"", "", "b", 12, NULL},
        {"", "", "Re: b", 13, NULL},  {"", "", "h", 14, NULL},      {"", "", "i", 15, NULL},
    };
    EXPECT_THREADS(a, false, "(1)(2 (7)(12)(13))(3 (5)(11))(4)(6)(8)(9 10)(14)(15)");
    /* threads by the date of their first message; ties by mailbox order */
    static const struct tm_in b[] = {{"", "", "z", 5, NULL}, {"", "", "a", 5, NULL}, {"", "", "Re: z", 1, NULL}};
    EXPECT_THREADS(b, false, "(3 1)(2)");
    static const struct tm_in none[1] = {{0}};
    char *out = run_alg(none, 0, false);
    assert_string_equal(out, "");
    free(out);
}

/* ---- SORT / THREAD arguments ------------------------------------------- */

static struct imap_command parse_line(const char *line) {
    struct imap_parser p;
    imap_parser_init(&p, 65536, 65536);
    struct imap_command cmd;
    size_t used;
    assert_int_equal(imap_parser_parse(&p, line, strlen(line), &cmd, &used), IMAP_PARSE_COMPLETE);
    return cmd;
}

static enum imap_sort_error sort_args(const char *args, struct imap_sort_request *req) {
    buf_t b = BUF_INIT;
    buf_printf(&b, "t SORT %s\r\n", args);
    struct imap_command cmd = parse_line(buf_cstr(&b));
    const char *why = NULL;
    enum imap_sort_error e = imap_sort_parse(cmd.args, cmd.nargs, req, &why);
    if (e != IMAP_SORT_OK) assert_non_null(why);
    else assert_true(req->search_arg < cmd.nargs);
    imap_command_free(&cmd);
    buf_free(&b);
    return e;
}

static void test_imap_sort_parse(void **state) {
    (void)state;
    struct imap_sort_request r;
    assert_int_equal(sort_args("(DATE) UTF-8 ALL", &r), IMAP_SORT_OK);
    assert_int_equal(r.ncrit, 1);
    assert_int_equal(r.crit[0].key, IMAP_SORT_DATE);
    assert_false(r.crit[0].reverse);
    assert_false(r.esort);
    assert_int_equal(r.search_arg, 2);
    assert_int_equal(sort_args("(reverse subject From displayfrom REVERSE DISPLAYTO arrival cc to size) us-ascii 1:5",
                               &r),
                     IMAP_SORT_OK);
    assert_int_equal(r.ncrit, 8);
    assert_true(r.crit[0].reverse);
    assert_int_equal(r.crit[0].key, IMAP_SORT_SUBJECT);
    assert_int_equal(r.crit[2].key, IMAP_SORT_DISPLAYFROM);
    assert_true(r.crit[3].reverse);
    assert_int_equal(r.crit[3].key, IMAP_SORT_DISPLAYTO);
    assert_int_equal(sort_args("RETURN (MIN COUNT) (SIZE) UTF-8 ALL", &r), IMAP_SORT_OK);
    assert_true(r.esort);
    assert_int_equal(r.return_opts, IMAP_SORT_RET_MIN | IMAP_SORT_RET_COUNT);
    assert_int_equal(r.search_arg, 4);
    assert_int_equal(sort_args("RETURN () (SIZE) UTF-8 ALL", &r), IMAP_SORT_OK);
    assert_int_equal(r.return_opts, IMAP_SORT_RET_ALL);
    /* RFC 5267 contexts: UPDATE and PARTIAL, as for SEARCH */
    assert_int_equal(sort_args("RETURN (UPDATE PARTIAL 5:1) (DATE) UTF-8 ALL", &r), IMAP_SORT_OK);
    assert_int_equal(r.return_opts, IMAP_SORT_RET_UPDATE | IMAP_SORT_RET_PARTIAL);
    assert_int_equal(r.partial_lo, 1);
    assert_int_equal(r.partial_hi, 5);
    assert_int_equal(r.search_arg, 4);

    static const char *const bad[] = {
        "() UTF-8 ALL", "(DATE)", "(DATE) UTF-8", "(REVERSE) UTF-8 ALL", "(REVERSE REVERSE DATE) UTF-8 ALL",
        "(NAME) UTF-8 ALL", "DATE UTF-8 ALL", "RETURN (PARTIAL 1) (DATE) UTF-8 ALL", "RETURN (DATE) UTF-8 ALL",
        "RETURN (PARTIAL 1:5 ALL) (DATE) UTF-8 ALL",
        "((DATE)) UTF-8 ALL", "(DATE) (UTF-8) ALL",
        "(DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE) UTF-8 ALL",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (sort_args(bad[i], &r) != IMAP_SORT_ERR_SYNTAX) fail_msg("accepted SORT %s", bad[i]);
    assert_int_equal(sort_args("(DATE) ISO-8859-1 ALL", &r), IMAP_SORT_ERR_BADCHARSET);
}

static enum imap_sort_error thread_args(const char *args, enum imap_thread_alg *alg, size_t *first) {
    buf_t b = BUF_INIT;
    buf_printf(&b, "t THREAD %s\r\n", args);
    struct imap_command cmd = parse_line(buf_cstr(&b));
    const char *why = NULL;
    enum imap_sort_error e = imap_thread_parse(cmd.args, cmd.nargs, alg, first, &why);
    if (e != IMAP_SORT_OK) assert_non_null(why);
    imap_command_free(&cmd);
    buf_free(&b);
    return e;
}

static void test_imap_thread_parse(void **state) {
    (void)state;
    enum imap_thread_alg alg;
    size_t first;
    assert_int_equal(thread_args("REFERENCES UTF-8 ALL", &alg, &first), IMAP_SORT_OK);
    assert_int_equal(alg, IMAP_THREAD_REFERENCES);
    assert_int_equal(first, 2);
    assert_int_equal(thread_args("orderedsubject us-ascii SINCE 1-Jan-2020", &alg, &first), IMAP_SORT_OK);
    assert_int_equal(alg, IMAP_THREAD_ORDEREDSUBJECT);
    assert_int_equal(thread_args("REFS UTF-8 ALL", &alg, &first), IMAP_SORT_ERR_SYNTAX);
    assert_int_equal(thread_args("REFERENCES UTF-8", &alg, &first), IMAP_SORT_ERR_SYNTAX);
    assert_int_equal(thread_args("(REFERENCES) UTF-8 ALL", &alg, &first), IMAP_SORT_ERR_SYNTAX);
    assert_int_equal(thread_args("REFERENCES KOI8-R ALL", &alg, &first), IMAP_SORT_ERR_BADCHARSET);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_imap_thread_rfc_syntax_example),
        cmocka_unit_test(test_imap_thread_references_links),
        cmocka_unit_test(test_imap_thread_references_subjects),
        cmocka_unit_test(test_imap_thread_references_hostile),
        cmocka_unit_test(test_imap_thread_orderedsubject),
        cmocka_unit_test(test_imap_sort_parse),
        cmocka_unit_test(test_imap_thread_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
