/*
 * Unit tests for imap_parser (commands, literals, quoted strings, FETCH
 * items) and imap_seqset (sequence sets).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "imap/imap_parser.h"
#include "imap/imap_seqset.h"

#define MAX_LINE 8192
#define MAX_LIT 1000

static enum imap_parse_result parse(const char *s, struct imap_command *cmd, size_t *consumed) {
    struct imap_parser p;
    imap_parser_init(&p, MAX_LINE, MAX_LIT);
    return imap_parser_parse(&p, s, strlen(s), cmd, consumed);
}

static void test_simple(void **state) {
    (void)state;
    struct imap_command c;
    size_t used;
    const char *in = "a1 login all@example.com password\r\nnext";
    assert_int_equal(parse(in, &c, &used), IMAP_PARSE_COMPLETE);
    assert_int_equal(used, strlen("a1 login all@example.com password\r\n"));
    assert_string_equal(c.tag, "a1");
    assert_string_equal(c.name, "LOGIN");
    assert_int_equal(c.nargs, 2);
    assert_int_equal(c.args[0].type, IMAP_ARG_ATOM);
    assert_string_equal(c.args[0].str, "all@example.com");
    assert_string_equal(c.args[1].str, "password");
    imap_command_free(&c);

    assert_int_equal(parse("a2 NOOP\n", &c, &used), IMAP_PARSE_COMPLETE);
    assert_int_equal(used, 8);
    assert_string_equal(c.name, "NOOP");
    assert_int_equal(c.nargs, 0);
    imap_command_free(&c);
}

static void test_quoted_and_lists(void **state) {
    (void)state;
    struct imap_command c;
    size_t used;
    assert_int_equal(parse("t LIST \"\" \"*\"\r\n", &c, &used), IMAP_PARSE_COMPLETE);
    assert_int_equal(c.nargs, 2);
    assert_int_equal(c.args[0].type, IMAP_ARG_QUOTED);
    assert_int_equal(c.args[0].len, 0);
    assert_string_equal(c.args[1].str, "*");
    imap_command_free(&c);

    assert_int_equal(parse("t LOGIN \"a\\\"b\\\\c\" NIL\r\n", &c, &used), IMAP_PARSE_COMPLETE);
    assert_string_equal(c.args[0].str, "a\"b\\c");
    assert_int_equal(c.args[1].type, IMAP_ARG_NIL);
    imap_command_free(&c);

    assert_int_equal(parse("t STORE 1:3 +FLAGS.SILENT (\\Seen \\Deleted (x))\r\n", &c, &used), IMAP_PARSE_COMPLETE);
    assert_int_equal(c.nargs, 3);
    assert_int_equal(c.args[2].type, IMAP_ARG_LIST);
    assert_int_equal(c.args[2].nlist, 3);
    assert_string_equal(c.args[2].list[0].str, "\\Seen");
    assert_int_equal(c.args[2].list[2].type, IMAP_ARG_LIST);
    assert_string_equal(c.args[2].list[2].list[0].str, "x");
    imap_command_free(&c);

    /* lenient spacing */
    assert_int_equal(parse("t FETCH 1  ( FLAGS  UID )  \r\n", &c, &used), IMAP_PARSE_COMPLETE);
    assert_int_equal(c.args[1].nlist, 2);
    imap_command_free(&c);
}

static void test_fetch_sections(void **state) {
    (void)state;
    struct imap_command c;
    size_t used;
    assert_int_equal(parse("f1 UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (From To)]<0.2048> BODY[])\r\n", &c, &used),
                     IMAP_PARSE_COMPLETE);
    assert_string_equal(c.name, "UID");
    assert_int_equal(c.nargs, 3);
    const struct imap_arg *l = &c.args[2];
    assert_int_equal(l->nlist, 3);
    assert_string_equal(l->list[1].str, "BODY.PEEK[HEADER.FIELDS (From To)]<0.2048>");
    assert_string_equal(l->list[2].str, "BODY[]");

    struct imap_fetch_att fa;
    assert_true(imap_parser_fetch_att(l->list[1].str, l->list[1].len, &fa));
    assert_string_equal(fa.name, "BODY.PEEK");
    assert_true(fa.has_section);
    assert_string_equal(fa.section, "HEADER.FIELDS (From To)");
    assert_true(fa.has_partial);
    assert_int_equal(fa.partial_offset, 0);
    assert_int_equal(fa.partial_count, 2048);
    imap_fetch_att_free(&fa);

    assert_true(imap_parser_fetch_att("body[]", 6, &fa));
    assert_string_equal(fa.name, "BODY");
    assert_string_equal(fa.section, "");
    assert_false(fa.has_partial);
    imap_fetch_att_free(&fa);

    assert_true(imap_parser_fetch_att("RFC822.SIZE", 11, &fa));
    assert_false(fa.has_section);
    imap_fetch_att_free(&fa);

    assert_false(imap_parser_fetch_att("BODY[1", 6, &fa));
    assert_false(imap_parser_fetch_att("BODY[]<1>", 9, &fa));
    assert_false(imap_parser_fetch_att("BODY[]<1.0>", 11, &fa));
    imap_command_free(&c);

    /* section with odd spacing and a macro atom alone */
    assert_int_equal(parse("f2 FETCH 2 BODY[HEADER.FIELDS  ( SUBJECT   FROM )]\r\n", &c, &used), IMAP_PARSE_COMPLETE);
    assert_int_equal(c.nargs, 2);
    assert_string_equal(c.args[1].str, "BODY[HEADER.FIELDS  ( SUBJECT   FROM )]");
    imap_command_free(&c);

    /* without its "]" the "[" is an atom character: the parse succeeds and
     * the FETCH item is refused when split */
    assert_int_equal(parse("f3 FETCH 2 BODY[HEADER.FIELDS (A)\r\n", &c, &used), IMAP_PARSE_COMPLETE);
    assert_string_equal(c.args[1].str, "BODY[HEADER.FIELDS");
    assert_false(imap_parser_fetch_att(c.args[1].str, c.args[1].len, &fa));
    imap_command_free(&c);
    assert_int_equal(parse("s SELECT a[b\r\n", &c, &used), IMAP_PARSE_COMPLETE);
    assert_string_equal(c.args[0].str, "a[b");
    imap_command_free(&c);
    /* NIL is its own type, and keeps its text for astring uses */
    assert_int_equal(parse("s SEARCH SUBJECT nil\r\n", &c, &used), IMAP_PARSE_COMPLETE);
    assert_int_equal(c.args[1].type, IMAP_ARG_NIL);
    assert_string_equal(c.args[1].str, "nil");
    assert_true(imap_arg_is_astring(&c.args[1]));
    imap_command_free(&c);
}

static void test_literal_sync(void **state) {
    (void)state;
    struct imap_parser p;
    imap_parser_init(&p, MAX_LINE, MAX_LIT);
    struct imap_command c;
    size_t used;
    const char *full = "a LOGIN {5}\r\nuser\0 {3}\r\npwd\r\n";
    size_t flen = 11 + 2 + 5 + 1 + 3 + 2 + 3 + 2;
    /* only the first line: ask for continuation */
    assert_int_equal(imap_parser_parse(&p, full, 13, &c, &used), IMAP_PARSE_NEED_LITERAL);
    assert_int_equal(c.literal_size, 5);
    assert_string_equal(c.tag, "a");
    imap_command_free(&c);
    imap_parser_literal_acked(&p);
    /* part of the literal */
    assert_int_equal(imap_parser_parse(&p, full, 15, &c, &used), IMAP_PARSE_NEED_MORE);
    imap_command_free(&c);
    /* second literal announced */
    assert_int_equal(imap_parser_parse(&p, full, 25, &c, &used), IMAP_PARSE_NEED_LITERAL);
    assert_int_equal(c.literal_size, 3);
    imap_command_free(&c);
    imap_parser_literal_acked(&p);
    assert_int_equal(imap_parser_parse(&p, full, flen - 1, &c, &used), IMAP_PARSE_NEED_MORE);
    imap_command_free(&c);
    assert_int_equal(imap_parser_parse(&p, full, flen, &c, &used), IMAP_PARSE_COMPLETE);
    assert_int_equal(used, flen);
    assert_int_equal(c.nargs, 2);
    assert_int_equal(c.args[0].type, IMAP_ARG_LITERAL);
    assert_int_equal(c.args[0].len, 5);
    assert_memory_equal(c.args[0].str, "user\0", 5); /* NUL inside a literal is data */
    assert_string_equal(c.args[1].str, "pwd");
    assert_int_equal(p.literals_acked, 0);
    imap_command_free(&c);
}

static void test_literal_plus_and_limits(void **state) {
    (void)state;
    struct imap_command c;
    size_t used;
    const char *in = "a APPEND INBOX (\\Seen) {3+}\r\nabc\r\n";
    assert_int_equal(parse(in, &c, &used), IMAP_PARSE_COMPLETE);
    assert_int_equal(used, strlen(in));
    assert_int_equal(c.nargs, 3);
    assert_int_equal(c.args[2].type, IMAP_ARG_LITERAL);
    assert_string_equal(c.args[2].str, "abc");
    imap_command_free(&c);

    /* literal inside a list, then more arguments */
    in = "a SEARCH (SUBJECT {2+}\r\nhi) ALL\r\n";
    assert_int_equal(parse(in, &c, &used), IMAP_PARSE_COMPLETE);
    assert_int_equal(c.nargs, 2);
    assert_string_equal(c.args[0].list[1].str, "hi");
    imap_command_free(&c);

    assert_int_equal(parse("a APPEND INBOX {1001}\r\n", &c, &used), IMAP_PARSE_TOOBIG_LITERAL);
    assert_int_equal(c.literal_size, 1001);
    assert_false(c.literal_nonsync);
    assert_int_equal(used, strlen("a APPEND INBOX {1001}\r\n"));
    imap_command_free(&c);
    assert_int_equal(parse("a APPEND INBOX {99999999999+}\r\n", &c, &used), IMAP_PARSE_TOOBIG_LITERAL);
    assert_true(c.literal_nonsync);
    imap_command_free(&c);
    assert_int_equal(parse("a APPEND INBOX {99999999999999999999999}\r\n", &c, &used), IMAP_PARSE_ERROR);
    imap_command_free(&c);

    /* line length */
    struct imap_parser p;
    imap_parser_init(&p, 16, MAX_LIT);
    assert_int_equal(imap_parser_parse(&p, "a NOOP xxxxxxxxxxxxxxxxxxxxx", 28, &c, &used), IMAP_PARSE_TOOBIG_LINE);
    assert_int_equal(used, 0);
    imap_command_free(&c);
    assert_int_equal(imap_parser_parse(&p, "a NOOP xxxxxxxxxxxxxx\r\nb", 24, &c, &used), IMAP_PARSE_TOOBIG_LINE);
    assert_int_equal(used, 23);
    imap_command_free(&c);
    assert_int_equal(imap_parser_parse(&p, "a NOOP", 6, &c, &used), IMAP_PARSE_NEED_MORE);
    imap_command_free(&c);
}

static void test_errors(void **state) {
    (void)state;
    struct imap_command c;
    size_t used;
    static const char *bad[] = {
        "\r\n", "a\r\n", "* NOOP\r\n", "+ NOOP\r\n", "a NO\"OP\r\n", "a LOGIN \"abc\r\n",
        "a LOGIN \"a\\b\"\r\n", "a FETCH 1 (FLAGS\r\n", "a FETCH 1 FLAGS)\r\n", "a LOGIN {3}x\r\n",
        "a LOGIN {}\r\n", "a LOGIN a{3}\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse(bad[i], &c, &used), IMAP_PARSE_ERROR);
        assert_non_null(c.error);
        assert_int_equal(used, strlen(bad[i]));
        imap_command_free(&c);
    }
    /* tag known even when arguments are bad */
    assert_int_equal(parse("x1 FETCH (\r\n", &c, &used), IMAP_PARSE_ERROR);
    assert_string_equal(c.tag, "x1");
    imap_command_free(&c);

    /* NUL byte in the line */
    const char nul[] = "a LOGIN u\0x p\r\nz";
    assert_int_equal(parse(nul, &c, &used), IMAP_PARSE_NEED_MORE); /* strlen stops at NUL */
    imap_command_free(&c);
    struct imap_parser p;
    imap_parser_init(&p, MAX_LINE, MAX_LIT);
    assert_int_equal(imap_parser_parse(&p, nul, sizeof(nul) - 1, &c, &used), IMAP_PARSE_ERROR);
    assert_int_equal(used, sizeof(nul) - 2);
    imap_command_free(&c);

    /* nesting limit */
    char deep[IMAP_PARSER_MAX_DEPTH * 2 + 32];
    size_t n = 0;
    memcpy(deep, "a X ", 4);
    n = 4;
    for (int i = 0; i <= IMAP_PARSER_MAX_DEPTH; i++) deep[n++] = '(';
    for (int i = 0; i <= IMAP_PARSER_MAX_DEPTH; i++) deep[n++] = ')';
    deep[n++] = '\r';
    deep[n++] = '\n';
    deep[n] = '\0';
    assert_int_equal(parse(deep, &c, &used), IMAP_PARSE_ERROR);
    imap_command_free(&c);
}

static void test_plain_lines(void **state) {
    (void)state;
    size_t ll, used;
    assert_int_equal(imap_parser_line("DONE\r\nx", 7, 100, &ll, &used), IMAP_PARSE_COMPLETE);
    assert_int_equal(ll, 4);
    assert_int_equal(used, 6);
    assert_true(imap_parser_is_done("done", 4));
    assert_true(imap_parser_is_done(" DONE ", 6));
    assert_false(imap_parser_is_done("DONEX", 5));
    assert_int_equal(imap_parser_line("dGVzdA==", 8, 100, &ll, &used), IMAP_PARSE_NEED_MORE);
    assert_int_equal(imap_parser_line("dGVzdA==", 8, 4, &ll, &used), IMAP_PARSE_TOOBIG_LINE);
    assert_int_equal(imap_parser_line("a\0b\n", 4, 100, &ll, &used), IMAP_PARSE_ERROR);
    assert_int_equal(used, 4);
}

static void test_arg_helpers(void **state) {
    (void)state;
    struct imap_command c;
    size_t used;
    assert_int_equal(parse("a X 42 4294967296 abc \"q\"\r\n", &c, &used), IMAP_PARSE_COMPLETE);
    uint32_t v;
    uint64_t v64;
    assert_true(imap_arg_number(&c.args[0], &v));
    assert_int_equal(v, 42);
    assert_false(imap_arg_number(&c.args[1], &v));
    assert_true(imap_arg_number64(&c.args[1], &v64));
    assert_true(v64 == 4294967296ULL);
    assert_false(imap_arg_number(&c.args[2], &v));
    assert_true(imap_arg_atom_is(&c.args[2], "ABC"));
    assert_true(imap_arg_is_astring(&c.args[3]));
    assert_false(imap_arg_atom_is(&c.args[3], "q"));
    imap_command_free(&c);
}

/* ---- sequence sets ---- */

static void test_seqset(void **state) {
    (void)state;
    struct imap_seqset s;
    assert_true(imap_seqset_parse("1:3,5,7:*", 9, &s));
    assert_int_equal(s.n, 3);
    assert_true(imap_seqset_contains(&s, 2, 10));
    assert_false(imap_seqset_contains(&s, 4, 10));
    assert_true(imap_seqset_contains(&s, 5, 10));
    assert_true(imap_seqset_contains(&s, 10, 10));
    assert_false(imap_seqset_contains(&s, 11, 10));
    assert_true(imap_seqset_has_star(&s));
    imap_seqset_resolve(&s, 10);
    assert_int_equal(imap_seqset_count(&s), 3 + 1 + 4);
    buf_t b = BUF_INIT;
    imap_seqset_format(&s, &b);
    assert_string_equal(buf_cstr(&b), "1:3,5,7:10");
    buf_free(&b);
    imap_seqset_free(&s);

    /* a list as written: ascending runs become ranges, the order stays */
    static const uint32_t listed[] = {1, 2, 3, 7, 5, 6, 4294967295u};
    imap_seqset_append_list(&b, listed, 7);
    assert_string_equal(buf_cstr(&b), "1:3,7,5:6,4294967295");
    buf_reset(&b);
    imap_seqset_append_list(&b, listed, 0);
    assert_string_equal(buf_cstr(&b), "");
    buf_free(&b);

    /* reversed, overlapping and adjacent ranges merge */
    assert_true(imap_seqset_parse("9:7,1,2,3:4,8", 13, &s));
    imap_seqset_resolve(&s, 100);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.r[0].lo, 1);
    assert_int_equal(s.r[0].hi, 4);
    assert_int_equal(s.r[1].lo, 7);
    assert_int_equal(s.r[1].hi, 9);
    assert_true(imap_seqset_clip(&s, 8));
    assert_int_equal(s.r[1].hi, 8);
    imap_seqset_free(&s);

    /* UID n:* with n above the highest UID still includes the highest */
    assert_true(imap_seqset_parse("500:*", 5, &s));
    assert_true(imap_seqset_contains(&s, 400, 400));
    assert_false(imap_seqset_contains(&s, 399, 400));
    imap_seqset_resolve(&s, 400);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.r[0].lo, 400);
    assert_int_equal(s.r[0].hi, 500);
    imap_seqset_free(&s);

    /* "*" in an empty mailbox matches nothing */
    assert_true(imap_seqset_parse("*", 1, &s));
    assert_false(imap_seqset_contains(&s, 0, 0));
    imap_seqset_resolve(&s, 0);
    assert_int_equal(s.n, 0);
    imap_seqset_free(&s);

    static const char *bad[] = {"", "0", "0:5", "1:0", "01", "1,", ",1", "1::2", "a", "1:2:3", "4294967296", "1 2", "$"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(imap_seqset_parse(bad[i], strlen(bad[i]), &s));
        assert_int_equal(s.n, 0);
    }
    assert_true(imap_seqset_parse("4294967294", 10, &s));
    imap_seqset_free(&s);
    /* 2^32-1 is a valid number (RFC 3501 nz-number), and is not "*" */
    assert_true(imap_seqset_parse("1:4294967295", 12, &s));
    assert_false(imap_seqset_has_star(&s));
    assert_true(imap_seqset_contains(&s, 7, 5));
    imap_seqset_resolve(&s, 5);
    assert_int_equal(s.r[0].lo, 1);
    assert_int_equal(s.r[0].hi, 4294967295u);
    imap_seqset_free(&s);
    assert_true(imap_seqset_parse("4294967295", 10, &s));
    assert_false(imap_seqset_contains(&s, 5, 5));
    imap_seqset_free(&s);
}

/* The literal budget is for the whole command: two literals of 600 pass
 * the 1000-byte limit that each alone fits. */
static void test_literal_total(void **state) {
    (void)state;
    struct imap_command c;
    size_t used;
    char in[2000];
    int n = snprintf(in, sizeof in, "a SEARCH TEXT {600+}\r\n%0600d TEXT {600+}\r\n", 0);
    assert_int_equal(parse(in, &c, &used), IMAP_PARSE_TOOBIG_LITERAL);
    assert_int_equal(c.literal_size, 600);
    assert_true(c.literal_nonsync);
    assert_int_equal(used, (size_t)n);
    imap_command_free(&c);
    snprintf(in, sizeof in, "a SEARCH TEXT {500+}\r\n%0500d TEXT {500+}\r\n%0500d\r\n", 0, 0);
    assert_int_equal(parse(in, &c, &used), IMAP_PARSE_COMPLETE);
    imap_command_free(&c);
}

/* Frame `in` in pieces of `step` bytes, accepting every literal; the
 * events are written to ev as "L<size><s|+>@pos", "C@pos", "T". */
static void frame(const char *in, size_t len, size_t step, size_t max_line, char *ev, size_t evcap) {
    struct imap_framer f;
    imap_framer_init(&f);
    size_t off = 0, base = 0, w = 0;
    ev[0] = '\0';
    while (off < len) {
        size_t n = len - off < step ? len - off : step, used;
        enum imap_frame_result r = imap_framer_feed(&f, in + off, n, max_line, &used);
        assert_true(used <= n);
        off += used;
        assert_int_equal(base + f.pos, off);
        if (r == IMAP_FRAME_NEED_MORE) continue;
        if (r == IMAP_FRAME_TOOBIG_LINE) {
            w += (size_t)snprintf(ev + w, evcap - w, "T ");
            return;
        }
        if (r == IMAP_FRAME_LITERAL) {
            w += (size_t)snprintf(ev + w, evcap - w, "L%llu%c@%zu ", (unsigned long long)f.literal_size,
                                  f.literal_sync ? 's' : '+', off);
            imap_framer_accept_literal(&f);
            continue;
        }
        w += (size_t)snprintf(ev + w, evcap - w, "C@%zu ", off);
        base = off;
        imap_framer_init(&f);
    }
}

static void check_frames(const char *in, size_t max_line, const char *want) {
    char ev[512];
    for (size_t step = 1; step <= strlen(in); step++) {
        frame(in, strlen(in), step, max_line, ev, sizeof ev);
        if (strcmp(ev, want) != 0) fail_msg("step %zu: '%s', expected '%s'", step, ev, want);
    }
}

static void test_framer(void **state) {
    (void)state;
    check_frames("a NOOP\r\nb NOOP\n", 100, "C@8 C@15 ");
    /* literals: their bytes (even LFs and "{1}") are skipped, not scanned */
    check_frames("a LOGIN {3}\r\nx\ny {4+}\r\n{1}\n\r\n", 100, "L3s@13 L4+@23 C@29 ");
    /* not announcements: no digits, a space inside, text after the brace */
    check_frames("a X {}\r\nb X { 1}\r\nc X {1}x\r\n", 100, "C@8 C@18 C@28 ");
    /* twenty digits are not a literal size */
    check_frames("a X {12345678901234567890}\r\n", 100, "C@28 ");
    check_frames("a X {1234567890123456789}\r\n" "1234567890123456789\r\n", 100, "L1234567890123456789s@27 ");
    /* line limit: literals do not count, every line does */
    check_frames("a X {10+}\r\n0123456789012345 Y\r\n", 16, "L10+@11 C@31 ");
    check_frames("a XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\r\n", 16, "T ");
}


/* literal8 (RFC 3516): "~{n}" is a literal of any octets with its own
 * argument type, synchronizing or not, under the same limits; several
 * messages in one APPEND (MULTIAPPEND) are just more arguments. */
static void test_literal8(void **state) {
    (void)state;
    struct imap_command c;
    size_t used;
    const char in[] = "a APPEND INBOX (\\Seen) ~{4+}\r\nx\0\ny {2+}\r\nab\r\n";
    struct imap_parser p;
    imap_parser_init(&p, MAX_LINE, MAX_LIT);
    assert_int_equal(imap_parser_parse(&p, in, sizeof in - 1, &c, &used), IMAP_PARSE_COMPLETE);
    assert_int_equal(used, sizeof in - 1);
    assert_int_equal(c.nargs, 4);
    assert_int_equal(c.args[2].type, IMAP_ARG_LITERAL8);
    assert_int_equal(c.args[2].len, 4);
    assert_memory_equal(c.args[2].str, "x\0\ny", 4);
    assert_false(imap_arg_is_astring(&c.args[2]));
    assert_int_equal(c.args[3].type, IMAP_ARG_LITERAL);
    imap_command_free(&c);

    /* synchronizing: the same continuation as "{n}" */
    imap_parser_init(&p, MAX_LINE, MAX_LIT);
    const char *sync = "a APPEND INBOX ~{3}\r\nabc\r\n";
    assert_int_equal(imap_parser_parse(&p, sync, 21, &c, &used), IMAP_PARSE_NEED_LITERAL);
    assert_int_equal(c.literal_size, 3);
    imap_command_free(&c);
    imap_parser_literal_acked(&p);
    assert_int_equal(imap_parser_parse(&p, sync, strlen(sync), &c, &used), IMAP_PARSE_COMPLETE);
    assert_int_equal(c.args[1].type, IMAP_ARG_LITERAL8);
    imap_command_free(&c);

    /* the budget is shared with ordinary literals */
    char big[2000];
    snprintf(big, sizeof big, "a APPEND INBOX {600+}\r\n%0600d ~{600+}\r\n", 0);
    assert_int_equal(parse(big, &c, &used), IMAP_PARSE_TOOBIG_LITERAL);
    imap_command_free(&c);

    /* "~" not followed by "{" is an atom character; "~{" without a size is bad */
    assert_int_equal(parse("a X ~a\r\n", &c, &used), IMAP_PARSE_COMPLETE);
    assert_int_equal(c.args[0].type, IMAP_ARG_ATOM);
    assert_string_equal(c.args[0].str, "~a");
    imap_command_free(&c);
    assert_int_equal(parse("a X ~{x}\r\n", &c, &used), IMAP_PARSE_ERROR);
    imap_command_free(&c);
    assert_int_equal(parse("a X ~{3} y\r\n", &c, &used), IMAP_PARSE_ERROR);
    imap_command_free(&c);

    /* the framer sees the announcement like any other */
    check_frames("a APPEND X ~{3}\r\na\nb {1+}\r\nc\r\n", 100, "L3s@17 L1+@27 C@30 ");
}

static void check_trace(const char *in, size_t max, const char *want) {
    buf_t t = BUF_INIT;
    imap_trace_command(in, strlen(in), max, &t);
    if (strcmp(buf_cstr(&t), want) != 0) fail_msg("trace '%s', expected '%s'", buf_cstr(&t), want);
    buf_free(&t);
}

static void test_trace(void **state) {
    (void)state;
    check_trace("a NOOP\r\n", 100, "a NOOP");
    check_trace("a APPEND INBOX {5+}\r\nHi\r\n!\r\n", 100, "a APPEND INBOX {5+}<5 bytes>");
    check_trace("a SEARCH TEXT {2}\r\nab TEXT {1}\r\nc\r\n", 100, "a SEARCH TEXT {2}<2 bytes> TEXT {1}<1 bytes>");
    check_trace("a X \x01\x7f\n", 100, "a X ??");
    check_trace("a NOOP with a long tail\r\n", 6, "a NOOP...");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple),          cmocka_unit_test(test_quoted_and_lists),
        cmocka_unit_test(test_fetch_sections),  cmocka_unit_test(test_literal_sync),
        cmocka_unit_test(test_literal_plus_and_limits), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_plain_lines),     cmocka_unit_test(test_arg_helpers),
        cmocka_unit_test(test_seqset),          cmocka_unit_test(test_literal_total),
        cmocka_unit_test(test_framer),          cmocka_unit_test(test_trace),
        cmocka_unit_test(test_literal8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
