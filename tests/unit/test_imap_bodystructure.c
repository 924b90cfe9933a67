/*
 * Unit tests for imap_bodystructure: ENVELOPE, BODYSTRUCTURE and BODY on a
 * corpus of real-world message shapes (the .eml files in tests/unit/messages/), and
 * BODY[section] byte ranges.
 *
 * The expected strings were compared with Dovecot 2.3's answers for the
 * same files (FETCH ENVELOPE BODYSTRUCTURE BODY): identical except that
 * Dovecot sends strings containing '"' or '\' and folded header values as
 * literals where devmail sends quoted strings with escapes (both are valid
 * RFC 3501). The section answers are Dovecot's too.
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
#include "imap/imap_bodystructure.h"

/* Fixtures live next to this file. */
static char *load(const char *name, size_t *len) {
    buf_t path = BUF_INIT;
    const char *here = __FILE__;
    const char *slash = strrchr(here, '/');
    if (slash) buf_append(&path, here, (size_t)(slash - here + 1));
    buf_printf(&path, "messages/%s", name);
    FILE *f = fopen(buf_cstr(&path), "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", buf_cstr(&path));
        fail();
    }
    buf_t data = BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) buf_append(&data, chunk, n);
    fclose(f);
    buf_free(&path);
    *len = data.len;
    return buf_steal(&data);
}

struct expect_bs {
    const char *file;
    const char *envelope;
    const char *bodystructure;
    const char *body;
};

static const struct expect_bs expected[] = {
    {"alternative.eml",
     "(\"Wed, 3 Jan 2024 12:00:00 -0500\" \"Your order\" ((\"Shop, Inc.\" NIL \"news\" \"shop.example\")) ((\"Shop, Inc.\" NIL \"news\" \"shop.example\")) ((\"Shop, Inc.\" NIL \"news\" \"shop.example\")) ((NIL NIL \"customer\" \"example.net\")) ((\"Sales\" NIL \"sales\" \"shop.example\")(NIL NIL \"other\" \"shop.example\")) NIL \"<prev@shop.example>\" \"<alt.2@shop.example>\")",
     "((\"text\" \"plain\" (\"charset\" \"UTF-8\") NIL NIL \"quoted-printable\" 39 1 NIL NIL NIL NIL)(\"text\" \"html\" (\"charset\" \"UTF-8\") NIL NIL \"7bit\" 55 0 NIL NIL NIL NIL) \"alternative\" (\"boundary\" \"b1_alt\") NIL NIL NIL)",
     "((\"text\" \"plain\" (\"charset\" \"UTF-8\") NIL NIL \"quoted-printable\" 39 1)(\"text\" \"html\" (\"charset\" \"UTF-8\") NIL NIL \"7bit\" 55 0) \"alternative\")"},
    {"broken_noclose.eml",
     "(NIL \"no closing boundary\" ((NIL NIL \"broken\" \"example.com\")) ((NIL NIL \"broken\" \"example.com\")) ((NIL NIL \"broken\" \"example.com\")) ((NIL NIL \"x\" \"example.com\")) NIL NIL NIL NIL)",
     "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 0 NIL NIL NIL NIL)(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 22 1 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"zzz\") NIL NIL NIL)",
     "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 0)(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 22 1) \"mixed\")"},
    {"digest.eml",
     "(NIL \"digest\" ((NIL NIL \"list\" \"example.com\")) ((NIL NIL \"list\" \"example.com\")) ((NIL NIL \"list\" \"example.com\")) ((NIL NIL \"x\" \"example.com\")) NIL NIL NIL NIL)",
     "((\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 57 (NIL \"one\" ((NIL NIL \"a\" \"example.com\")) ((NIL NIL \"a\" \"example.com\")) ((NIL NIL \"a\" \"example.com\")) NIL NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 20 0 NIL NIL NIL NIL) 3 NIL NIL NIL NIL)(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 13 0 NIL NIL NIL NIL) \"digest\" (\"boundary\" \"dig\") NIL NIL NIL)",
     "((\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 57 (NIL \"one\" ((NIL NIL \"a\" \"example.com\")) ((NIL NIL \"a\" \"example.com\")) ((NIL NIL \"a\" \"example.com\")) NIL NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 20 0) 3)(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 13 0) \"digest\")"},
    {"header8bit.eml",
     "(\"Sun, 7 Jan 2024 11:11:11 +0100\" {17}\r\nGr\xc3""\xbc""\xc3""\x9f""e aus K\xc3""\xb6""ln (({15}\r\nJ\xc3""\xbc""rgen M\xc3""\xbc""ller NIL \"juergen\" \"example.de\")) (({15}\r\nJ\xc3""\xbc""rgen M\xc3""\xbc""ller NIL \"juergen\" \"example.de\")) (({15}\r\nJ\xc3""\xbc""rgen M\xc3""\xbc""ller NIL \"juergen\" \"example.de\")) (({7}\r\nStra\xc3""\x9f""e NIL \"s\" \"example.de\")) NIL NIL NIL NIL)",
     "(\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"8bit\" 18 1 NIL NIL NIL NIL)",
     "(\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"8bit\" 18 1)"},
    {"mixed_attachment.eml",
     "(\"Thu, 4 Jan 2024 08:00:00 +0100\" \"Report attached\" ((NIL NIL \"carol\" \"example.com\")) ((NIL NIL \"carol\" \"example.com\")) ((NIL NIL \"carol\" \"example.com\")) ((NIL NIL \"dave\" \"example.com\")) NIL NIL NIL NIL)",
     "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 15 0 NIL NIL NIL NIL)(\"application\" \"pdf\" (\"name\" \"report.pdf\") \"<part1@example.com>\" \"The report\" \"base64\" 146 NIL (\"attachment\" (\"filename\" \"report.pdf\")) (\"en\") \"http://example.com/report.pdf\") \"mixed\" (\"boundary\" \"----=_Part_0\") NIL NIL NIL)",
     "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 15 0)(\"application\" \"pdf\" (\"name\" \"report.pdf\") \"<part1@example.com>\" \"The report\" \"base64\" 146) \"mixed\")"},
    {"nested.eml",
     "(\"Fri, 5 Jan 2024 18:45:10 +0000\" \"Nested\" ((\"Erin\" NIL \"erin\" \"example.com\")) ((\"Erin\" NIL \"erin\" \"example.com\")) ((\"Erin\" NIL \"erin\" \"example.com\")) ((NIL NIL \"frank\" \"example.com\")) NIL NIL NIL NIL)",
     "(((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 0 NIL NIL NIL NIL)((\"text\" \"html\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 32 0 NIL NIL NIL NIL)(\"image\" \"png\" NIL \"<img1>\" NIL \"base64\" 12 NIL (\"inline\" NIL) NIL NIL) \"related\" (\"boundary\" \"rel\" \"type\" \"text/html\") NIL NIL NIL) \"alternative\" (\"boundary\" \"inner\") NIL NIL NIL)(\"text\" \"csv\" (\"name\" \"data.csv\" \"charset\" \"us-ascii\") NIL NIL \"7bit\" 8 1 NIL (\"attachment\" (\"filename\" \"data.csv\")) NIL NIL) \"mixed\" (\"boundary\" \"outer\") NIL NIL NIL)",
     "(((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 0)((\"text\" \"html\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 32 0)(\"image\" \"png\" NIL \"<img1>\" NIL \"base64\" 12) \"related\") \"alternative\")(\"text\" \"csv\" (\"name\" \"data.csv\" \"charset\" \"us-ascii\") NIL NIL \"7bit\" 8 1) \"mixed\")"},
    {"no_content_type.eml",
     "(NIL \"\\\"quoted\\\" and \\\\ backslash\" ((NIL NIL \"legacy\" \"example.com\")) ((NIL NIL \"legacy\" \"example.com\")) ((NIL NIL \"legacy\" \"example.com\")) ((NIL NIL \"x\" \"example.com\")) NIL NIL NIL NIL)",
     "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 35 1 NIL NIL NIL NIL)",
     "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 35 1)"},
    {"plain.eml",
     "(\"Tue, 2 Jan 2024 09:30:00 +0000\" \"Plain hello\" ((\"Alice Example\" NIL \"alice\" \"example.com\")) ((\"Alice Example\" NIL \"alice\" \"example.com\")) ((\"Alice Example\" NIL \"alice\" \"example.com\")) ((\"Bob\" NIL \"bob\" \"example.org\")) NIL NIL NIL \"<plain.1@example.com>\")",
     "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 40 3 NIL NIL NIL NIL)",
     "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 40 3)"},
    {"rfc2047.eml",
     "(\"Mon, 8 Jan 2024 12:00:00 +0100\" \"=?UTF-8?Q?Caf=C3=A9_=22menu=22?= =?UTF-8?Q?_today?=\" ((\"=?UTF-8?B?w4VzYQ==?=\" NIL \"asa\" \"example.se\")) ((\"=?UTF-8?B?w4VzYQ==?=\" NIL \"asa\" \"example.se\")) ((NIL NIL \"replies\" \"example.se\")) ((\"=?iso-8859-1?q?Andr=E9?=\" NIL \"andre\" \"example.fr\")(NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) NIL NIL NIL \"<2047@example.se>\")",
     "(\"text\" \"plain\" (\"charset\" \"ISO-8859-1\") NIL NIL \"quoted-printable\" 8 1 NIL NIL NIL NIL)",
     "(\"text\" \"plain\" (\"charset\" \"ISO-8859-1\") NIL NIL \"quoted-printable\" 8 1)"},
    {"rfc2231.eml",
     "(NIL \"RFC 2231 names\" ((NIL NIL \"files\" \"example.com\")) ((NIL NIL \"files\" \"example.com\")) ((NIL NIL \"files\" \"example.com\")) ((NIL NIL \"x\" \"example.com\")) NIL NIL NIL NIL)",
     "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 9 0 NIL NIL NIL NIL)(\"application\" \"octet-stream\" (\"name*\" \"utf-8''%E2%82%AC%20rates.txt\") NIL NIL \"base64\" 8 NIL (\"attachment\" (\"filename*\" \"utf-8''%E2%82%AC%20rates.txt\")) NIL NIL)(\"application\" \"octet-stream\" NIL NIL NIL \"base64\" 8 NIL (\"attachment\" (\"filename\" \"long file name.bin\")) NIL NIL) \"mixed\" (\"boundary\" \"b2231\") NIL NIL NIL)",
     "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 9 0)(\"application\" \"octet-stream\" (\"name*\" \"utf-8''%E2%82%AC%20rates.txt\") NIL NIL \"base64\" 8)(\"application\" \"octet-stream\" NIL NIL NIL \"base64\" 8) \"mixed\")"},
    {"rfc822.eml",
     "(\"Sat, 6 Jan 2024 07:00:00 +0200\" \"Fwd: original\" ((\"Grace\" NIL \"grace\" \"example.com\")) ((\"Grace\" NIL \"grace\" \"example.com\")) ((\"Grace\" NIL \"grace\" \"example.com\")) ((NIL NIL \"heidi\" \"example.com\")) NIL NIL NIL NIL)",
     "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 24 0 NIL NIL NIL NIL)(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 329 (\"Fri, 5 Jan 2024 10:00:00 +0000\" \"original\" ((\"Ivan\" NIL \"ivan\" \"example.com\")) ((\"Ivan\" NIL \"ivan\" \"example.com\")) ((\"Ivan\" NIL \"ivan\" \"example.com\")) ((NIL NIL \"grace\" \"example.com\")) NIL NIL NIL \"<orig@example.com>\") ((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 0 NIL NIL NIL NIL)(\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 12 0 NIL NIL NIL NIL) \"alternative\" (\"boundary\" \"inner\") NIL NIL NIL) 17 NIL (\"attachment\" (\"filename\" \"original.eml\")) NIL NIL) \"mixed\" (\"boundary\" \"fwd\") NIL NIL NIL)",
     "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 24 0)(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 329 (\"Fri, 5 Jan 2024 10:00:00 +0000\" \"original\" ((\"Ivan\" NIL \"ivan\" \"example.com\")) ((\"Ivan\" NIL \"ivan\" \"example.com\")) ((\"Ivan\" NIL \"ivan\" \"example.com\")) ((NIL NIL \"grace\" \"example.com\")) NIL NIL NIL \"<orig@example.com>\") ((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 0)(\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 12 0) \"alternative\") 17) \"mixed\")"},
};

static void test_corpus(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
        size_t len;
        char *data = load(expected[i].file, &len);
        struct imap_bodystructure *bs = imap_bodystructure_parse(data, len);
        buf_t out = BUF_INIT;
        imap_bodystructure_envelope(bs, &out);
        if (strcmp(buf_cstr(&out), expected[i].envelope) != 0) fprintf(stderr, "%s envelope\n", expected[i].file);
        assert_string_equal(buf_cstr(&out), expected[i].envelope);
        buf_reset(&out);
        imap_bodystructure_write(bs, true, &out);
        if (strcmp(buf_cstr(&out), expected[i].bodystructure) != 0) fprintf(stderr, "%s bs\n", expected[i].file);
        assert_string_equal(buf_cstr(&out), expected[i].bodystructure);
        buf_reset(&out);
        imap_bodystructure_write(bs, false, &out);
        assert_string_equal(buf_cstr(&out), expected[i].body);
        buf_free(&out);
        imap_bodystructure_free(bs);
        free(data);
    }
}

static void expect_section(struct imap_bodystructure *bs, const char *spec, const char *want, bool found) {
    struct imap_section s;
    const char *why;
    assert_true(imap_bodystructure_section(bs, spec, strlen(spec), &s, &why));
    if (s.len != strlen(want) || memcmp(s.data, want, s.len) != 0 || s.found != found) {
        fprintf(stderr, "section [%s]: got %zu bytes \"%.*s\"\n", spec, s.len, (int)s.len, s.data);
        fail();
    }
    imap_section_free(&s);
}

static void test_sections_rfc822(void **state) {
    (void)state;
    size_t len;
    char *data = load("rfc822.eml", &len);
    struct imap_bodystructure *bs = imap_bodystructure_parse(data, len);
    struct imap_section s;
    const char *why;
    assert_true(imap_bodystructure_section(bs, "", 0, &s, &why));
    assert_int_equal(s.len, len);
    assert_ptr_equal(s.data, data);
    imap_section_free(&s);

    static const char inner_hdr[] = "From: Ivan <ivan@example.com>\r\n"
                                    "To: grace@example.com\r\n"
                                    "Subject: original\r\n"
                                    "Date: Fri, 5 Jan 2024 10:00:00 +0000\r\n"
                                    "Message-ID: <orig@example.com>\r\n"
                                    "MIME-Version: 1.0\r\n"
                                    "Content-Type: multipart/alternative; boundary=\"inner\"\r\n"
                                    "\r\n";
    static const char inner_text[] = "--inner\r\nContent-Type: text/plain\r\n\r\ninner text\r\n"
                                     "--inner\r\nContent-Type: text/html\r\n\r\n<b>inner</b>\r\n--inner--\r\n";
    buf_t whole = BUF_INIT;
    buf_append_str(&whole, inner_hdr);
    buf_append_str(&whole, inner_text);
    expect_section(bs, "1", "Forwarded message below.", true);
    expect_section(bs, "1.1", "Forwarded message below.", true);
    expect_section(bs, "2", buf_cstr(&whole), true);
    expect_section(bs, "2.MIME",
                   "Content-Type: message/rfc822\r\nContent-Disposition: attachment; filename=\"original.eml\"\r\n\r\n",
                   true);
    expect_section(bs, "2.HEADER", inner_hdr, true);
    expect_section(bs, "2.TEXT", inner_text, true);
    expect_section(bs, "2.1", "inner text", true);
    expect_section(bs, "2.2", "<b>inner</b>", true);
    expect_section(bs, "2.1.MIME", "Content-Type: text/plain\r\n\r\n", true);
    expect_section(bs, "2.HEADER.FIELDS (Subject)", "Subject: original\r\n\r\n", true);
    expect_section(bs, "1.MIME", "Content-Type: text/plain; charset=us-ascii\r\n\r\n", true);
    expect_section(bs, "9", "", false);
    expect_section(bs, "1.2.2", "", false);
    expect_section(bs, "header.fields  ( subject   FROM )",
                   "From: Grace <grace@example.com>\r\nSubject: Fwd: original\r\n\r\n", true);
    expect_section(bs, "HEADER.FIELDS (\"Subject\")", "Subject: Fwd: original\r\n\r\n", true);
    expect_section(bs, "HEADER.FIELDS.NOT (From To Subject Date Message-ID MIME-Version)",
                   "Content-Type: multipart/mixed; boundary=\"fwd\"\r\n\r\n", true);
    expect_section(bs, "HEADER.FIELDS (X-None)", "\r\n", true);

    assert_true(imap_bodystructure_section(bs, "TEXT", 4, &s, &why));
    imap_section_partial(&s, 0, 20);
    assert_int_equal(s.len, 20);
    assert_memory_equal(s.data, "--fwd\r\nContent-Type: ", 20);
    imap_section_free(&s);
    assert_true(imap_bodystructure_section(bs, "1", 1, &s, &why));
    imap_section_partial(&s, 10, 1000);
    assert_int_equal(s.len, 14);
    imap_section_free(&s);
    assert_true(imap_bodystructure_section(bs, "1", 1, &s, &why));
    imap_section_partial(&s, 100, 10);
    assert_int_equal(s.len, 0);
    imap_section_free(&s);

    static const char *bad[] = {"1.", "0", "MIME", "HEADER.FIELDS", "HEADER.FIELDS ()", "HEADER.FIELDS (A",
                                "HEADER.FIELDS (A) x", "BOGUS", "1.BOGUS", "1..2", "99999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        if (imap_bodystructure_section(bs, bad[i], strlen(bad[i]), &s, &why)) {
            fprintf(stderr, "accepted bad section [%s]\n", bad[i]);
            fail();
        }
        assert_non_null(why);
        imap_section_free(&s);
    }
    buf_free(&whole);
    imap_bodystructure_free(bs);
    free(data);
}

static void test_sections_nested_plain(void **state) {
    (void)state;
    size_t len;
    char *data = load("nested.eml", &len);
    struct imap_bodystructure *bs = imap_bodystructure_parse(data, len);
    expect_section(bs, "2", "a,b\r\n1,2", true);
    expect_section(bs, "2.1", "a,b\r\n1,2", true);
    expect_section(bs, "2.HEADER", "", false);
    expect_section(bs, "2.TEXT", "", false);
    expect_section(bs, "1.1", "plain part", true);
    expect_section(bs, "1.2.1", "<p>html <img src=\"cid:img1\"></p>", true);
    expect_section(bs, "1.2.2", "iVBORw0KGgo=", true);
    expect_section(bs, "1.2.2.MIME",
                   "Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n"
                   "Content-ID: <img1>\r\nContent-Disposition: inline\r\n\r\n",
                   true);
    expect_section(bs, "1.MIME", "Content-Type: multipart/alternative; boundary=inner\r\n\r\n", true);
    imap_bodystructure_free(bs);
    free(data);

    data = load("plain.eml", &len);
    bs = imap_bodystructure_parse(data, len);
    expect_section(bs, "1", "Hello Bob,\r\n\r\nthis is a plain message.\r\n", true);
    expect_section(bs, "TEXT", "Hello Bob,\r\n\r\nthis is a plain message.\r\n", true);
    expect_section(bs, "1.1", "", false);
    expect_section(bs, "2", "", false);
    expect_section(bs, "HEADER.FIELDS.NOT (FROM TO SUBJECT DATE MESSAGE-ID MIME-VERSION)",
                   "Return-Path: <alice@example.com>\r\n\r\n", true);
    struct imap_section s;
    const char *why;
    assert_true(imap_bodystructure_section(bs, "1.MIME", 6, &s, &why));
    assert_int_equal(s.len, 199); /* the message header, as Dovecot */
    imap_section_free(&s);
    imap_bodystructure_free(bs);
    free(data);
}

static void test_folded_header_fields(void **state) {
    (void)state;
    static const char msg[] = "Subject: a\r\n  folded\r\nX-A: 1\r\nsubject : second\r\nTo: b\r\n\r\nbody";
    struct imap_bodystructure *bs = imap_bodystructure_parse(msg, sizeof(msg) - 1);
    expect_section(bs, "HEADER.FIELDS (SUBJECT)", "Subject: a\r\n  folded\r\nsubject : second\r\n\r\n", true);
    expect_section(bs, "HEADER.FIELDS.NOT (subject x-a)", "To: b\r\n\r\n", true);
    buf_t out = BUF_INIT;
    imap_bodystructure_envelope(bs, &out);
    assert_string_equal(buf_cstr(&out), "(NIL \"a  folded\" NIL NIL NIL ((NIL NIL \"b\" \"MISSING_DOMAIN\")) NIL NIL NIL NIL)");
    buf_free(&out);
    imap_bodystructure_free(bs);

    /* header only, no blank line, no final CRLF */
    static const char hdr_only[] = "Subject: x\r\nFrom: a@b";
    bs = imap_bodystructure_parse(hdr_only, sizeof(hdr_only) - 1);
    expect_section(bs, "HEADER.FIELDS (from)", "From: a@b\r\n\r\n", true);
    expect_section(bs, "TEXT", "", true);
    expect_section(bs, "HEADER", hdr_only, true);
    imap_bodystructure_free(bs);
}

static void test_lf_input_and_crlf(void **state) {
    (void)state;
    static const char lf[] = "Subject: hi\nContent-Type: multipart/mixed; boundary=x\n\n--x\n\nA\n--x--\n";
    buf_t crlf = BUF_INIT;
    imap_bodystructure_crlf(lf, sizeof(lf) - 1, &crlf);
    assert_string_equal(buf_cstr(&crlf),
                        "Subject: hi\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\nA\r\n--x--\r\n");
    buf_t twice = BUF_INIT;
    imap_bodystructure_crlf(crlf.data, crlf.len, &twice);
    assert_int_equal(twice.len, crlf.len);
    buf_free(&twice);

    struct imap_bodystructure *bs = imap_bodystructure_parse(crlf.data, crlf.len);
    buf_t out = BUF_INIT;
    imap_bodystructure_write(bs, false, &out);
    assert_string_equal(buf_cstr(&out), "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 0) \"mixed\")");
    imap_bodystructure_free(bs);
    buf_reset(&out);
    /* bare LF parses the same way (sizes in LF bytes) */
    bs = imap_bodystructure_parse(lf, sizeof(lf) - 1);
    imap_bodystructure_write(bs, false, &out);
    assert_string_equal(buf_cstr(&out), "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 0) \"mixed\")");
    imap_bodystructure_free(bs);
    buf_free(&out);
    buf_free(&crlf);
}

static void test_depth_limit(void **state) {
    (void)state;
    /* multiparts nested far beyond the limit: bounded, valid output */
    buf_t m = BUF_INIT;
    int levels = IMAP_BODYSTRUCTURE_MAX_DEPTH * 3;
    for (int i = 0; i < levels; i++) buf_printf(&m, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i);
    buf_append_str(&m, "\r\nleaf\r\n");
    struct imap_bodystructure *bs = imap_bodystructure_parse(m.data, m.len);
    buf_t out = BUF_INIT;
    imap_bodystructure_write(bs, true, &out);
    size_t open = 0, close = 0;
    for (size_t i = 0; i < out.len; i++) {
        open += out.data[i] == '(';
        close += out.data[i] == ')';
    }
    assert_int_equal(open, close);
    assert_non_null(strstr(buf_cstr(&out), "\"application\" \"octet-stream\""));
    buf_free(&out);
    imap_bodystructure_free(bs);
    buf_free(&m);

    /* message/rfc822 nested deeply */
    for (int i = 0; i < levels; i++) buf_append_str(&m, "Content-Type: message/rfc822\r\n\r\n");
    buf_append_str(&m, "Subject: end\r\n\r\nx");
    bs = imap_bodystructure_parse(m.data, m.len);
    imap_bodystructure_write(bs, true, &out);
    assert_true(out.len > 0);
    buf_free(&out);
    imap_bodystructure_free(bs);
    buf_free(&m);
}

static void test_strings(void **state) {
    (void)state;
    buf_t out = BUF_INIT;
    imap_bodystructure_append_string(&out, "a\"b\\c", 5);
    assert_string_equal(buf_cstr(&out), "\"a\\\"b\\\\c\"");
    buf_reset(&out);
    imap_bodystructure_append_string(&out, "caf\xc3\xa9", 5);
    assert_string_equal(buf_cstr(&out), "{5}\r\ncaf\xc3\xa9");
    buf_reset(&out);
    imap_bodystructure_append_string(&out, "a\nb", 3);
    assert_string_equal(buf_cstr(&out), "{3}\r\na\nb");
    buf_reset(&out);
    imap_bodystructure_append_nstring(&out, NULL);
    assert_string_equal(buf_cstr(&out), "NIL");
    buf_free(&out);
}

static void test_empty_and_odd(void **state) {
    (void)state;
    struct imap_bodystructure *bs = imap_bodystructure_parse("", 0);
    buf_t out = BUF_INIT;
    imap_bodystructure_write(bs, true, &out);
    assert_string_equal(buf_cstr(&out), "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)");
    buf_reset(&out);
    imap_bodystructure_envelope(bs, &out);
    assert_string_equal(buf_cstr(&out), "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
    imap_bodystructure_free(bs);
    buf_reset(&out);

    /* multipart without boundary: one empty text/plain part (as Dovecot) */
    static const char nob[] = "Content-Type: multipart/mixed\r\n\r\n--q\r\n\r\n--q--\r\n";
    bs = imap_bodystructure_parse(nob, sizeof(nob) - 1);
    imap_bodystructure_write(bs, true, &out);
    assert_string_equal(buf_cstr(&out), "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL) "
                                        "\"mixed\" NIL NIL NIL NIL)");
    imap_bodystructure_free(bs);
    buf_reset(&out);

    /* case kept, Content-Language list, MD5, groups and routes (checked with Dovecot) */
    static const char odd[] = "From: <@route:a@b>, \"a\\\"b\" <x@y>, undisclosed;\r\n"
                              "Sender: \r\n"
                              "Content-Type: TEXT/HTML; CHARSET=Utf-8; Format=Flowed\r\n"
                              "Content-Transfer-Encoding: BASE64\r\n"
                              "Content-Disposition: ATTACHMENT; FILENAME=x\r\n"
                              "Content-Language: en, de\r\nContent-MD5: abc\r\n\r\nPGI+\r\n";
    bs = imap_bodystructure_parse(odd, sizeof(odd) - 1);
    imap_bodystructure_write(bs, true, &out);
    assert_string_equal(buf_cstr(&out), "(\"TEXT\" \"HTML\" (\"CHARSET\" \"Utf-8\" \"Format\" \"Flowed\") NIL NIL \"BASE64\" 6 1 "
                                        "\"abc\" (\"ATTACHMENT\" (\"FILENAME\" \"x\")) (\"en\" \"de\") NIL)");
    buf_reset(&out);
    imap_bodystructure_envelope(bs, &out);
    const char *from = "((NIL \"@route\" \"a\" \"b\")(\"a\\\"b\" NIL \"x\" \"y\")(NIL NIL \"undisclosed\" \"MISSING_DOMAIN\"))";
    buf_t want = BUF_INIT;
    buf_printf(&want, "(NIL NIL %s %s %s NIL NIL NIL NIL NIL)", from, from, from);
    assert_string_equal(buf_cstr(&out), buf_cstr(&want));
    buf_free(&want);
    imap_bodystructure_free(bs);
    buf_reset(&out);

    /* a stray ')' in an address (found by fuzzing: used to loop forever) */
    static const char stray[] = "From: Ivan <iva@example.)com>, )\r\n\r\n";
    bs = imap_bodystructure_parse(stray, sizeof(stray) - 1);
    imap_bodystructure_envelope(bs, &out);
    assert_string_equal(buf_cstr(&out), "(NIL NIL ((\"Ivan\" NIL \"iva\" \"example.com\")) ((\"Ivan\" NIL \"iva\" "
                                        "\"example.com\")) ((\"Ivan\" NIL \"iva\" \"example.com\")) NIL NIL NIL NIL NIL)");
    imap_bodystructure_free(bs);
    buf_free(&out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),         cmocka_unit_test(test_sections_rfc822),
        cmocka_unit_test(test_sections_nested_plain), cmocka_unit_test(test_folded_header_fields),
        cmocka_unit_test(test_lf_input_and_crlf), cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_strings),        cmocka_unit_test(test_empty_and_odd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
