/*
 * test_smtp_data - the DATA state machine (dot-unstuffing, end-of-data
 * detection, CRLF -> LF, CRLF size) and the BDAT CRLF converter. Every
 * message is also fed split at every byte boundary, byte by byte, two
 * bytes at a time and in pseudo-random chunks: the output, the bytes
 * consumed and the sizes must not depend on how the input arrived.
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
#include "smtp/smtp_data.h"

struct data_result {
    buf_t out;
    bool done;
    size_t consumed; /* bytes of input belonging to the message */
    uint64_t crlf_size;
    uint64_t bytes, lines;
};

/* The session's line end (the one its DATA command ended with). */
static bool session_crlf = true;

/* Feed in[0..len) in chunks whose sizes come from next_chunk(). */
static struct data_result feed_chunks(const char *in, size_t len, size_t (*next_chunk)(size_t i, void *), void *arg) {
    struct data_result r = {BUF_INIT, false, 0, 0, 0, 0};
    struct smtp_data d;
    smtp_data_init(&d, session_crlf);
    size_t off = 0, k = 0;
    while (off < len) {
        size_t n = next_chunk(k++, arg);
        if (n == 0) n = 1;
        if (n > len - off) n = len - off;
        size_t used = (size_t)-1;
        bool end = smtp_data_feed(&d, in + off, n, &r.out, &used);
        assert_true(used <= n);
        if (end) {
            r.done = true;
            r.consumed = off + used;
            break;
        }
        assert_int_equal(used, n); /* not done: everything was taken */
        off += n;
    }
    if (!r.done) r.consumed = len;
    r.crlf_size = smtp_data_crlf_size(&d);
    r.bytes = d.bytes;
    r.lines = d.lines;
    assert_int_equal(r.bytes, r.out.len);
    return r;
}

static size_t chunk_all(size_t i, void *arg) {
    (void)i;
    return *(size_t *)arg;
}

static size_t chunk_split(size_t i, void *arg) {
    /* first chunk of *arg bytes, then the rest */
    return i == 0 ? *(size_t *)arg : SIZE_MAX / 2;
}

static size_t chunk_random(size_t i, void *arg) {
    (void)i;
    uint32_t *seed = arg;
    *seed = *seed * 1103515245u + 12345u;
    return 1 + (*seed >> 16) % 17;
}

/* Feed the message every way and check it always gives the expected
 * output, completion and consumed count. */
static void check_data(const char *in, size_t len, const char *want, size_t want_len, bool want_done,
                       size_t want_consumed) {
    size_t all = len ? len : 1;
    struct data_result ref = feed_chunks(in, len, chunk_all, &all);
    if (ref.out.len != want_len || memcmp(buf_cstr(&ref.out), want, want_len) != 0)
        fail_msg("output '%.*s' (%zu), expected '%.*s' (%zu)", (int)ref.out.len, buf_cstr(&ref.out), ref.out.len,
                 (int)want_len, want, want_len);
    assert_int_equal(ref.done, want_done);
    assert_int_equal(ref.consumed, want_consumed);

    struct data_result r;
    for (size_t cut = 1; cut < len; cut++) {
        r = feed_chunks(in, len, chunk_split, &cut);
        if (r.out.len != ref.out.len || (r.out.len && memcmp(r.out.data, ref.out.data, r.out.len) != 0))
            fail_msg("split at %zu: output differs", cut);
        assert_int_equal(r.done, ref.done);
        assert_int_equal(r.consumed, ref.consumed);
        assert_int_equal(r.crlf_size, ref.crlf_size);
        assert_int_equal(r.lines, ref.lines);
        buf_free(&r.out);
    }
    for (size_t step = 1; step <= 3; step++) {
        r = feed_chunks(in, len, chunk_all, &step);
        if (r.out.len != ref.out.len || (r.out.len && memcmp(r.out.data, ref.out.data, r.out.len) != 0))
            fail_msg("%zu-byte chunks: output differs", step);
        assert_int_equal(r.done, ref.done);
        assert_int_equal(r.consumed, ref.consumed);
        assert_int_equal(r.crlf_size, ref.crlf_size);
        buf_free(&r.out);
    }
    for (uint32_t seed = 1; seed <= 20; seed++) {
        uint32_t s = seed;
        r = feed_chunks(in, len, chunk_random, &s);
        if (r.out.len != ref.out.len || (r.out.len && memcmp(r.out.data, ref.out.data, r.out.len) != 0))
            fail_msg("random chunks (seed %u): output differs", seed);
        assert_int_equal(r.consumed, ref.consumed);
        assert_int_equal(r.crlf_size, ref.crlf_size);
        buf_free(&r.out);
    }
    buf_free(&ref.out);
}

#define CHECK(in, want, done, consumed) check_data(in, sizeof(in) - 1, want, sizeof(want) - 1, done, consumed)
/* the same, for a session whose DATA line ended in a bare LF (nc) */
#define CHECK_LF(in, want, done, consumed)                                                                     \
    do {                                                                                                       \
        session_crlf = false;                                                                                  \
        check_data(in, sizeof(in) - 1, want, sizeof(want) - 1, done, consumed);                                \
        session_crlf = true;                                                                                   \
    } while (0)

static void test_simple_message(void **state) {
    (void)state;
    static const char in[] = "Subject: hi\r\n\r\nbody\r\n.\r\n";
    CHECK(in, "Subject: hi\n\nbody\n", true, sizeof in - 1);
}

static void test_empty_message(void **state) {
    (void)state;
    CHECK(".\r\n", "", true, 3);
    CHECK_LF(".\n", "", true, 2);
    CHECK("\r\n.\r\n", "\n", true, 5);
    CHECK_LF("\n.\n", "\n", true, 3);
}

static void test_dot_unstuffing(void **state) {
    (void)state;
    CHECK("..foo\r\n.\r\n", ".foo\n", true, 10);
    CHECK("..\r\n.\r\n", ".\n", true, 7);
    CHECK("...\r\n.\r\n", "..\n", true, 8);
    CHECK("a\r\n..\r\nb\r\n.\r\n", "a\n.\nb\n", true, 13);
    /* RFC 5321 4.5.2: a leading dot is removed even when not doubled */
    CHECK(".x\r\n.\r\n", "x\n", true, 7);
    /* dots not at the start of a line are data */
    CHECK("a.\r\n .\r\nx..y\r\n.\r\n", "a.\n .\nx..y\n", true, 17);
}

static void test_end_detection(void **state) {
    (void)state;
    /* a bare-LF session (nc with a heredoc) ends at LF.LF */
    CHECK_LF("a\nb\n.\n", "a\nb\n", true, 6);
    CHECK_LF("a\n\n.\n", "a\n\n", true, 5);
    /* a "." line with the other kind of line end is content, never an end */
    CHECK("a\r\n.\n", "a\n.\n", false, 5);
    CHECK("a\n.\r\n", "a\n.\n", false, 5);
    CHECK("a\n.\n", "a\n.\n", false, 4);
    CHECK_LF("a\r\n.\n", "a\n.\n", false, 5);
    CHECK_LF("a\n.\r\n", "a\n.\n", false, 5);
    CHECK_LF("a\r\n.\r\n", "a\n.\n", false, 6);
    CHECK_LF(".\r\n", ".\n", false, 3);
    CHECK(".\n", ".\n", false, 2);
    /* no terminator yet */
    CHECK("a\r\nb\r\n", "a\nb\n", false, 6);
    CHECK("a\r\n.", "a\n", false, 4);
    CHECK("a\r\n.\r", "a\n", false, 5);
    /* ".." on its own line is not the end */
    CHECK("..\r\n", ".\n", false, 4);
    /* ".\rX": not the end; the CR is data, the dot is removed */
    CHECK("a\r\n.\rX\r\n.\r\n", "a\n\rX\n", true, 11);
    CHECK(".\r.\r\n.\r\n", "\r.\n", true, 8);
    /* the terminator must start a line */
    CHECK("a.\r\n", "a.\n", false, 4);
}

static void test_pipelined_after_end(void **state) {
    (void)state;
    /* what comes after the terminator is the next command, not message */
    static const char in[] = "x\r\n.\r\nQUIT\r\n";
    CHECK(in, "x\n", true, 6);
    static const char in2[] = "x\n.\nMAIL FROM:<a@b>\n.\r\n";
    CHECK_LF(in2, "x\n", true, 4);
    static const char in3[] = ".\r\n.\r\n";
    CHECK(in3, "", true, 3);
}

static void test_cr_handling(void **state) {
    (void)state;
    CHECK("a\rb\r\n.\r\n", "a\rb\n", true, 8);
    CHECK("a\r\r\n.\r\n", "a\r\n", true, 7);
    CHECK("a\r\r\rb\r\n.\r\n", "a\r\r\rb\n", true, 10);
    CHECK("\r\r\n.\r\n", "\r\n", true, 6);
    CHECK("\rX\r\n.\r\n", "\rX\n", true, 7);
    CHECK("a\r.\r\n.\r\n", "a\r.\n", true, 8);
}

/* SMTP smuggling: whatever line ends a hostile client mixes, one DATA
 * gives one message; the forged commands stay inside it. */
static void test_no_smuggling(void **state) {
    (void)state;
    static const char lf_dot_lf[] = "Subject: a\r\n\r\nx\n.\nMAIL FROM:<admin@x>\r\nRCPT TO:<v@x>\r\nDATA\r\nforged\r\n.\r\n";
    CHECK(lf_dot_lf, "Subject: a\n\nx\n.\nMAIL FROM:<admin@x>\nRCPT TO:<v@x>\nDATA\nforged\n", true, sizeof lf_dot_lf - 1);
    static const char lf_dot_crlf[] = "x\n.\r\nMAIL FROM:<admin@x>\r\n.\r\n";
    CHECK(lf_dot_crlf, "x\n.\nMAIL FROM:<admin@x>\n", true, sizeof lf_dot_crlf - 1);
    static const char crlf_dot_lf[] = "x\r\n.\nMAIL FROM:<admin@x>\r\n.\r\n";
    CHECK(crlf_dot_lf, "x\n.\nMAIL FROM:<admin@x>\n", true, sizeof crlf_dot_lf - 1);
    /* and the other way round for a bare-LF session */
    static const char lf_sess[] = "x\r\n.\r\nMAIL FROM:<admin@x>\n.\n";
    CHECK_LF(lf_sess, "x\n.\nMAIL FROM:<admin@x>\n", true, sizeof lf_sess - 1);
}

static void test_crlf_size(void **state) {
    (void)state;
    static const char in[] = "Subject: x\r\n\r\nline one\r\nline two\r\n.\r\n";
    size_t all = sizeof in - 1;
    struct data_result r = feed_chunks(in, sizeof in - 1, chunk_all, &all);
    assert_true(r.done);
    /* the CRLF size is the message as sent, minus the terminator */
    assert_int_equal(r.crlf_size, sizeof in - 1 - 3);
    assert_int_equal(r.lines, 4);
    assert_int_equal(r.bytes, sizeof in - 1 - 3 - 4);
    buf_free(&r.out);
    /* bare LFs are counted as CRLF too */
    static const char lf[] = "a\nb\n.\n";
    all = sizeof lf - 1;
    session_crlf = false;
    r = feed_chunks(lf, sizeof lf - 1, chunk_all, &all);
    session_crlf = true;
    assert_int_equal(r.crlf_size, 6);
    buf_free(&r.out);
    /* stuffed dots are not counted */
    static const char st[] = "..\r\n.\r\n";
    all = sizeof st - 1;
    r = feed_chunks(st, sizeof st - 1, chunk_all, &all);
    assert_int_equal(r.crlf_size, 3);
    buf_free(&r.out);
}

static void test_long_lines(void **state) {
    (void)state;
    /* lines over 998 octets are stored intact, never split */
    enum { LONG = 5000 };
    buf_t in = BUF_INIT, want = BUF_INIT;
    for (int i = 0; i < LONG; i++) buf_append_char(&in, (char)('a' + i % 26));
    buf_append(&want, in.data, in.len);
    buf_append_str(&in, "\r\n.");
    buf_append_str(&want, "\n");
    for (int i = 0; i < LONG; i++) {
        buf_append_char(&in, (char)('A' + i % 26));
        buf_append_char(&want, (char)('A' + i % 26));
    }
    buf_append_str(&in, "\r\n.\r\n");
    buf_append_str(&want, "\n");
    size_t all = in.len;
    struct data_result r = feed_chunks(in.data, in.len, chunk_all, &all);
    assert_true(r.done);
    assert_int_equal(r.consumed, in.len);
    assert_int_equal(r.out.len, want.len);
    assert_memory_equal(r.out.data, want.data, want.len);
    assert_int_equal(r.lines, 2);
    buf_free(&r.out);
    for (uint32_t seed = 1; seed < 5; seed++) {
        uint32_t s = seed;
        r = feed_chunks(in.data, in.len, chunk_random, &s);
        assert_int_equal(r.out.len, want.len);
        assert_memory_equal(r.out.data, want.data, want.len);
        buf_free(&r.out);
    }
    buf_free(&in);
    buf_free(&want);
}

static void test_binary_bytes(void **state) {
    (void)state;
    static const char in[] = "a\0b\xff\r\n\0.\r\n.\r\n";
    static const char want[] = "a\0b\xff\n\0.\n";
    CHECK(in, want, true, sizeof in - 1);
}

static void test_every_split_of_a_mixed_message(void **state) {
    (void)state;
    static const char in[] = "From: a@b\r\nSubject: x\r\n\r\n..dot\r\n.\rCR\r\nbare\nlf\r\r\n\r\n.x\r\nend\r\n.\r\nRSET\r\n";
    static const char want[] = "From: a@b\nSubject: x\n\n.dot\n\rCR\nbare\nlf\r\n\nx\nend\n";
    CHECK(in, want, true, sizeof in - 1 - strlen("RSET\r\n"));
}

static void test_reinit_between_messages(void **state) {
    (void)state;
    struct smtp_data d;
    buf_t out = BUF_INIT;
    size_t used;
    smtp_data_init(&d, true);
    assert_true(smtp_data_feed(&d, "one\r\n.\r\n", 8, &out, &used));
    assert_int_equal(used, 8);
    smtp_data_init(&d, true);
    buf_reset(&out);
    assert_int_equal(d.bytes, 0);
    assert_int_equal(d.lines, 0);
    assert_true(smtp_data_feed(&d, "two\r\n.\r\n", 8, &out, &used));
    assert_int_equal(out.len, 4);
    assert_memory_equal(out.data, "two\n", 4);
    assert_int_equal(smtp_data_crlf_size(&d), 5);
    /* an empty feed changes nothing */
    smtp_data_init(&d, true);
    buf_reset(&out);
    assert_false(smtp_data_feed(&d, "", 0, &out, &used));
    assert_int_equal(used, 0);
    assert_int_equal(out.len, 0);
    buf_free(&out);
}

/* ---- BDAT: smtp_crlf ------------------------------------------------------ */

static void crlf_chunks(const char *in, size_t len, const size_t *cuts, size_t ncuts, buf_t *out,
                        struct smtp_crlf *c) {
    smtp_crlf_init(c);
    size_t off = 0;
    for (size_t k = 0; k <= ncuts; k++) {
        size_t end = k < ncuts ? cuts[k] : len;
        smtp_crlf_feed(c, in + off, end - off, out);
        off = end;
    }
    smtp_crlf_finish(c, out);
}

static void check_crlf(const char *in, size_t len, const char *want, size_t want_len) {
    buf_t out = BUF_INIT;
    struct smtp_crlf c;
    crlf_chunks(in, len, NULL, 0, &out, &c);
    if (out.len != want_len || memcmp(buf_cstr(&out), want, want_len) != 0)
        fail_msg("crlf '%.*s': got '%.*s'", (int)len, in, (int)out.len, buf_cstr(&out));
    assert_int_equal(c.bytes, out.len);
    uint64_t lines = 0;
    for (size_t i = 0; i < out.len; i++) lines += out.data[i] == '\n';
    assert_int_equal(c.lines, lines);
    assert_false(c.pending_cr);
    /* every single cut and every pair of cuts (with empty chunks) */
    for (size_t a = 0; a <= len; a++) {
        for (size_t b = a; b <= len; b++) {
            size_t cuts[2] = {a, b};
            buf_t o = BUF_INIT;
            struct smtp_crlf c2;
            crlf_chunks(in, len, cuts, 2, &o, &c2);
            if (o.len != out.len || (o.len && memcmp(o.data, out.data, o.len) != 0))
                fail_msg("crlf '%.*s' cut at %zu,%zu differs", (int)len, in, a, b);
            assert_int_equal(c2.bytes, c.bytes);
            assert_int_equal(c2.lines, c.lines);
            buf_free(&o);
        }
    }
    buf_free(&out);
}

#define CHECK_CRLF(in, want) check_crlf(in, sizeof(in) - 1, want, sizeof(want) - 1)

static void test_crlf_convert(void **state) {
    (void)state;
    CHECK_CRLF("", "");
    CHECK_CRLF("a\r\nb\r\n", "a\nb\n");
    CHECK_CRLF("a\nb\n", "a\nb\n");
    CHECK_CRLF("a\rb", "a\rb");
    CHECK_CRLF("a\r\r\n", "a\r\n");
    CHECK_CRLF("\r\r\r\n\r", "\r\r\n\r");
    CHECK_CRLF("x\r", "x\r"); /* a CR at the very end survives finish */
    CHECK_CRLF("\r\n", "\n");
    CHECK_CRLF(".\r\n..\r\n", ".\n..\n"); /* BDAT does no unstuffing */
}

static void test_crlf_pending_across_chunks(void **state) {
    (void)state;
    struct smtp_crlf c;
    buf_t out = BUF_INIT;
    smtp_crlf_init(&c);
    smtp_crlf_feed(&c, "abc\r", 4, &out);
    assert_true(c.pending_cr);
    assert_int_equal(out.len, 3); /* the CR is held back */
    smtp_crlf_feed(&c, "", 0, &out);
    assert_true(c.pending_cr);
    smtp_crlf_feed(&c, "\ndef", 4, &out);
    assert_false(c.pending_cr);
    assert_int_equal(out.len, 7);
    assert_memory_equal(out.data, "abc\ndef", 7);
    assert_int_equal(c.lines, 1);
    assert_int_equal(c.bytes, 7);
    smtp_crlf_finish(&c, &out);
    assert_int_equal(out.len, 7);
    buf_free(&out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_message),
        cmocka_unit_test(test_empty_message),
        cmocka_unit_test(test_dot_unstuffing),
        cmocka_unit_test(test_end_detection),
        cmocka_unit_test(test_pipelined_after_end),
        cmocka_unit_test(test_no_smuggling),
        cmocka_unit_test(test_cr_handling),
        cmocka_unit_test(test_crlf_size),
        cmocka_unit_test(test_long_lines),
        cmocka_unit_test(test_binary_bytes),
        cmocka_unit_test(test_every_split_of_a_mixed_message),
        cmocka_unit_test(test_reinit_between_messages),
        cmocka_unit_test(test_crlf_convert),
        cmocka_unit_test(test_crlf_pending_across_chunks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
