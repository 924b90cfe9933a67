/*
 * Unit tests for imap_search: parsing every RFC 3501 key, CHARSET,
 * ESEARCH RETURN, MODSEQ, depth limits, and evaluation against messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "imap/imap_parser.h"
#include "imap/imap_search.h"

struct fake {
    const char *subject, *from, *body, *headers;
};

static const char *fake_header(void *ctx, const char *name, size_t *len) {
    struct fake *f = ctx;
    const char *v = NULL;
    if (strcmp(name, "subject") == 0) v = f->subject;
    if (strcmp(name, "from") == 0) v = f->from;
    if (v) *len = strlen(v);
    return v;
}

static const char *fake_headers(void *ctx, size_t *len) {
    struct fake *f = ctx;
    *len = strlen(f->headers);
    return f->headers;
}

static const char *fake_body(void *ctx, size_t *len) {
    struct fake *f = ctx;
    *len = strlen(f->body);
    return f->body;
}

static struct fake F = {"Caf\xc3\xa9 Meeting notes", "Alice <alice@example.com>", "the quarterly BUDGET is attached",
                        "Subject: Caf\xc3\xa9 Meeting notes\r\nX-Tag: zebra\r\n"};

static struct imap_search_msg msg(void) {
    struct imap_search_msg m;
    memset(&m, 0, sizeof(m));
    static const char *const kw[] = {"$Forwarded", "Work"};
    m.seq = 3;
    m.uid = 30;
    m.seq_star = 5;
    m.uid_star = 50;
    m.flags = IMAP_SEARCH_F_SEEN | IMAP_SEARCH_F_FLAGGED;
    m.keywords = kw;
    m.nkeywords = 2;
    /* 2024-01-15 23:30 UTC; at +01:00 that is already 16-Jan */
    m.internal_date = 1705361400;
    m.internal_tz = 0;
    m.has_sent_date = true;
    m.sent_date = 1705361400;
    m.sent_tz = 3600;
    m.size = 2048;
    m.modseq = 77;
    m.ctx = &F;
    m.get_header = fake_header;
    m.get_headers = fake_headers;
    m.get_body = fake_body;
    return m;
}

/* Parse "SEARCH <prog>" and return the result; *match = evaluation. */
static enum imap_search_error run(const char *prog, bool *match, struct imap_search_program *out_prog) {
    buf_t line = BUF_INIT;
    buf_printf(&line, "t SEARCH %s\r\n", prog);
    struct imap_parser p;
    imap_parser_init(&p, 65536, 65536);
    struct imap_command cmd;
    size_t used;
    assert_int_equal(imap_parser_parse(&p, line.data, line.len, &cmd, &used), IMAP_PARSE_COMPLETE);
    struct imap_search_program sp;
    const char *why;
    enum imap_search_error e = imap_search_parse(cmd.args, cmd.nargs, &sp, &why);
    if (e == IMAP_SEARCH_OK) {
        struct imap_search_msg m = msg();
        if (match) *match = imap_search_match(&sp, &m);
        if (out_prog)
            *out_prog = sp;
        else
            imap_search_program_free(&sp);
    } else {
        assert_non_null(why);
    }
    imap_command_free(&cmd);
    buf_free(&line);
    return e;
}

static void expect(const char *prog, bool want) {
    bool got = !want;
    enum imap_search_error e = run(prog, &got, NULL);
    if (e != IMAP_SEARCH_OK || got != want) {
        fprintf(stderr, "program: %s (err %d, got %d)\n", prog, (int)e, (int)got);
        fail();
    }
}

static void test_flags_and_sets(void **state) {
    (void)state;
    expect("ALL", true);
    expect("SEEN", true);
    expect("UNSEEN", false);
    expect("FLAGGED SEEN", true);
    expect("ANSWERED", false);
    expect("UNANSWERED UNDELETED UNDRAFT", true);
    expect("DELETED", false);
    expect("DRAFT", false);
    expect("UNFLAGGED", false);
    expect("RECENT", false);
    expect("OLD", true);
    expect("NEW", false);
    expect("KEYWORD work", true);
    expect("KEYWORD Other", false);
    expect("UNKEYWORD $Forwarded", false);
    expect("UNKEYWORD Other", true);
    expect("3", true);
    expect("1:2,4:*", false);
    expect("2:*", true);
    expect("*", false);
    expect("UID 30", true);
    expect("UID 31:*", false);
    expect("UID 1:29,31", false);
    expect("NOT 3", false);
    expect("OR 1 3", true);
    expect("OR 1 2", false);
    expect("(SEEN FLAGGED) NOT (DELETED)", true);
    expect("OR (DELETED) (NOT OR 1 2)", true);
    expect("seen not deleted", true);
}

static void test_sizes_dates_modseq(void **state) {
    (void)state;
    expect("LARGER 2047", true);
    expect("LARGER 2048", false);
    expect("SMALLER 2049", true);
    expect("SMALLER 2048", false);
    expect("ON 15-Jan-2024", true);
    expect("ON \"15-Jan-2024\"", true);
    expect("SINCE 15-Jan-2024", true);
    expect("SINCE 16-Jan-2024", false);
    expect("BEFORE 16-Jan-2024", true);
    expect("BEFORE 15-Jan-2024", false);
    expect("SENTON 16-Jan-2024", true); /* the Date: header's own zone */
    expect("SENTBEFORE 16-Jan-2024", false);
    expect("SENTSINCE 1-Jan-2024", true);
    expect("MODSEQ 77", true);
    expect("MODSEQ 78", false);
    expect("MODSEQ \"/flags/\\\\Seen\" all 10", true);
    struct imap_search_program sp;
    assert_int_equal(run("MODSEQ 1", NULL, &sp), IMAP_SEARCH_OK);
    assert_true(sp.uses_modseq);
    imap_search_program_free(&sp);
}

static void test_text_keys(void **state) {
    (void)state;
    expect("SUBJECT meeting", true);
    expect("SUBJECT \"caf\xc3\xa9 m\"", true);
    expect("SUBJECT xyz", false);
    expect("FROM ALICE@example", true);
    expect("TO alice", false); /* no To header */
    expect("CC x", false);
    expect("BCC x", false);
    expect("BODY budget", true);
    expect("BODY zebra", false);
    expect("TEXT zebra", true);
    expect("TEXT BUDGET", true);
    expect("TEXT nothing", false);
    expect("HEADER Subject notes", true);
    expect("HEADER X-Missing \"\"", false);
    expect("HEADER subject \"\"", true); /* empty string: header present */
    expect("CHARSET UTF-8 SUBJECT {5+}\r\nCaf\xc3\xa9", true);
    expect("CHARSET us-ascii BODY budget", true);
    /* Unicode case folding on both sides */
    expect("SUBJECT CAF\xc3\x89", true);
    expect("CHARSET UTF-8 SUBJECT {5+}\r\nCAF\xc3\x89", true);
    expect("SUBJECT cafe", false); /* accents are kept */
    expect("BODY budg\xc3\x89t", false);
}

/* has_header decides HEADER name "" where an indexed field reads "" when
 * the message has no such field */
static bool fake_has(void *ctx, const char *name) {
    (void)ctx;
    return strcmp(name, "x-present") == 0;
}

static void test_header_existence(void **state) {
    (void)state;
    struct imap_search_program sp;
    bool m;
    assert_int_equal(run("HEADER X-Present \"\"", &m, &sp), IMAP_SEARCH_OK);
    struct imap_search_msg msg1 = msg();
    assert_false(imap_search_match(&sp, &msg1)); /* get_header has no X-Present */
    msg1.has_header = fake_has;
    assert_true(imap_search_match(&sp, &msg1));
    imap_search_program_free(&sp);
    assert_int_equal(run("NOT HEADER Subject \"\"", &m, &sp), IMAP_SEARCH_OK);
    msg1 = msg();
    msg1.has_header = fake_has;
    assert_true(imap_search_match(&sp, &msg1)); /* has_header says: no Subject */
    imap_search_program_free(&sp);
    /* a non-empty string still reads the value */
    assert_int_equal(run("HEADER Subject notes", &m, &sp), IMAP_SEARCH_OK);
    assert_true(imap_search_match(&sp, &msg1));
    assert_false(sp.uses_sent_date);
    imap_search_program_free(&sp);
    assert_int_equal(run("OR SEEN SENTSINCE 1-Jan-2000", &m, &sp), IMAP_SEARCH_OK);
    assert_true(sp.uses_sent_date);
    imap_search_program_free(&sp);
    assert_int_equal(run("SINCE 1-Jan-2000", &m, &sp), IMAP_SEARCH_OK);
    assert_false(sp.uses_sent_date);
    imap_search_program_free(&sp);
}

static void test_errors(void **state) {
    (void)state;
    static const char *syntax[] = {
        "", "FOO", "SUBJECT", "LARGER x", "LARGER", "BEFORE 32-Jan-2024", "BEFORE 1-Foo-2024",
        "ON 2024-01-01", "OR SEEN", "NOT", "()", "UID", "UID 0", "0", "1:0", "HEADER", "HEADER X",
        "KEYWORD", "RETURN", "RETURN (SAVE) ALL", "CHARSET", "MODSEQ", "MODSEQ \"x\" bogus 5", "(SEEN",
    };
    for (size_t i = 0; i < sizeof(syntax) / sizeof(syntax[0]); i++) {
        if (strcmp(syntax[i], "(SEEN") == 0) continue; /* parser-level error */
        enum imap_search_error e = run(syntax[i], NULL, NULL);
        if (e != IMAP_SEARCH_ERR_SYNTAX) {
            fprintf(stderr, "program: %s -> %d\n", syntax[i], (int)e);
            fail();
        }
    }
    assert_int_equal(run("CHARSET ISO-8859-1 SUBJECT x", NULL, NULL), IMAP_SEARCH_ERR_BADCHARSET);
    assert_int_equal(run("CHARSET KOI8-R ALL", NULL, NULL), IMAP_SEARCH_ERR_BADCHARSET);

    /* depth: NOT NOT ... beyond the limit */
    buf_t deep = BUF_INIT;
    for (int i = 0; i < IMAP_SEARCH_MAX_DEPTH + 1; i++) buf_append_str(&deep, "NOT ");
    buf_append_str(&deep, "ALL");
    assert_int_equal(run(buf_cstr(&deep), NULL, NULL), IMAP_SEARCH_ERR_SYNTAX);
    buf_reset(&deep);
    for (int i = 0; i < IMAP_SEARCH_MAX_DEPTH - 2; i++) buf_append_str(&deep, "NOT ");
    buf_append_str(&deep, "ALL");
    bool m;
    assert_int_equal(run(buf_cstr(&deep), &m, NULL), IMAP_SEARCH_OK);
    assert_true(m == ((IMAP_SEARCH_MAX_DEPTH - 2) % 2 == 0));
    buf_free(&deep);
}

/* RFC 5267: UPDATE, CONTEXT and PARTIAL beside the RFC 4731 options. */
static void test_context_return(void **state) {
    (void)state;
    struct imap_search_program sp;
    assert_int_equal(run("RETURN (UPDATE) UNSEEN", NULL, &sp), IMAP_SEARCH_OK);
    assert_int_equal(sp.return_opts, IMAP_SEARCH_RET_UPDATE); /* no ALL: updates only */
    imap_search_program_free(&sp);
    assert_int_equal(run("RETURN (CONTEXT) ALL", NULL, &sp), IMAP_SEARCH_OK);
    assert_int_equal(sp.return_opts, IMAP_SEARCH_RET_CONTEXT | IMAP_SEARCH_RET_ALL); /* a hint only */
    imap_search_program_free(&sp);
    assert_int_equal(run("RETURN (update count PARTIAL 5:2) ALL", NULL, &sp), IMAP_SEARCH_OK);
    assert_int_equal(sp.return_opts, IMAP_SEARCH_RET_UPDATE | IMAP_SEARCH_RET_COUNT | IMAP_SEARCH_RET_PARTIAL);
    assert_int_equal(sp.partial_lo, 2);
    assert_int_equal(sp.partial_hi, 5);
    imap_search_program_free(&sp);
    /* repeated RFC 4731 options are taken once, as before contexts */
    assert_int_equal(run("RETURN (MIN MIN COUNT) ALL", NULL, &sp), IMAP_SEARCH_OK);
    assert_int_equal(sp.return_opts, IMAP_SEARCH_RET_MIN | IMAP_SEARCH_RET_COUNT);
    imap_search_program_free(&sp);
    assert_int_equal(run("RETURN (PARTIAL 4294967295:1) ALL", NULL, &sp), IMAP_SEARCH_OK);
    assert_int_equal(sp.partial_lo, 1);
    assert_int_equal(sp.partial_hi, 4294967295u);
    imap_search_program_free(&sp);
    static const char *bad[] = {
        "RETURN (PARTIAL 1) ALL",        "RETURN (PARTIAL 1:*) ALL",     "RETURN (PARTIAL *:1) ALL",
        "RETURN (PARTIAL 0:3) ALL",      "RETURN (PARTIAL 1:4294967296) ALL", "RETURN (PARTIAL) ALL",
        "RETURN (PARTIAL 1:2 ALL) ALL",  "RETURN (ALL PARTIAL 1:2) ALL", "RETURN (UPDATE UPDATE) ALL",
        "RETURN (PARTIAL 1:2 PARTIAL 3:4) ALL", "RETURN (PARTIAL -1:2) ALL", "RETURN (PARTIAL \"1:2\") ALL",
        "RETURN (PARTIAL 01:2) ALL",     "RETURN (PARTIAL 1:2:3) ALL",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (run(bad[i], NULL, NULL) != IMAP_SEARCH_ERR_SYNTAX) {
            fprintf(stderr, "program: %s\n", bad[i]);
            fail();
        }
    }
}

static void test_esearch_return(void **state) {
    (void)state;
    struct imap_search_program sp;
    assert_int_equal(run("RETURN (MIN MAX COUNT) CHARSET UTF-8 SEEN", NULL, &sp), IMAP_SEARCH_OK);
    assert_true(sp.esearch);
    assert_int_equal(sp.return_opts, IMAP_SEARCH_RET_MIN | IMAP_SEARCH_RET_MAX | IMAP_SEARCH_RET_COUNT);
    imap_search_program_free(&sp);
    assert_int_equal(run("RETURN () ALL", NULL, &sp), IMAP_SEARCH_OK);
    assert_int_equal(sp.return_opts, IMAP_SEARCH_RET_ALL);
    imap_search_program_free(&sp);
    assert_int_equal(run("RETURN (all) 1:*", NULL, &sp), IMAP_SEARCH_OK);
    assert_int_equal(sp.return_opts, IMAP_SEARCH_RET_ALL);
    imap_search_program_free(&sp);
    assert_int_equal(run("SEEN", NULL, &sp), IMAP_SEARCH_OK);
    assert_false(sp.esearch);
    assert_int_equal(sp.return_opts, 0);
    imap_search_program_free(&sp);
}

static void test_helpers(void **state) {
    (void)state;
    int64_t d;
    assert_true(imap_search_parse_date("1-Jan-1970", 10, &d));
    assert_int_equal(d, 0);
    assert_true(imap_search_parse_date("29-Feb-2024", 11, &d));
    assert_int_equal(d, 19782);
    assert_true(imap_search_parse_date("01-jan-2000", 11, &d));
    assert_int_equal(d, 10957);
    assert_false(imap_search_parse_date("1-Jan-70", 8, &d));
    assert_false(imap_search_parse_date("100-Jan-2000", 12, &d));
    assert_true(imap_search_contains("Hello World", 11, "o w", 3));
    assert_true(imap_search_contains("x", 1, "", 0));
    assert_false(imap_search_contains("Hell", 4, "hello", 5));
    assert_true(imap_search_contains("R\xc3\xa9union de l'\xc3\xa9quipe", 21, "\xc3\x89QUIPE", 7));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flags_and_sets), cmocka_unit_test(test_sizes_dates_modseq),
        cmocka_unit_test(test_text_keys),      cmocka_unit_test(test_errors),
        cmocka_unit_test(test_esearch_return), cmocka_unit_test(test_helpers),
        cmocka_unit_test(test_context_return),
        cmocka_unit_test(test_header_existence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
