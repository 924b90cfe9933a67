/*
 * test_smtp_parser - the pure SMTP command parser: line framing
 * (smtp_line_find), verb/argument split (smtp_cmd_parse), MAIL/RCPT path
 * and parameter parsing (smtp_path_parse), mailbox validation
 * (smtp_addr_valid) and xtext decoding (smtp_xtext_decode).
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
#include "smtp/smtp_parser.h"

/* ---- smtp_line_find ------------------------------------------------------ */

static void test_line_crlf(void **state) {
    (void)state;
    const char in[] = "EHLO x\r\nMAIL FROM:<a@b>\r\n";
    size_t ll = 99, used = 99;
    assert_int_equal(smtp_line_find(in, sizeof in - 1, 512, &ll, &used), SMTP_LINE_OK);
    assert_int_equal(ll, 6);
    assert_int_equal(used, 8);
    assert_memory_equal(in, "EHLO x", 6);
    /* the next line starts where the first was consumed */
    assert_int_equal(smtp_line_find(in + used, sizeof in - 1 - used, 512, &ll, &used), SMTP_LINE_OK);
    assert_int_equal(ll, strlen("MAIL FROM:<a@b>"));
    assert_int_equal(used, strlen("MAIL FROM:<a@b>\r\n"));
}

static void test_line_bare_lf(void **state) {
    (void)state;
    size_t ll = 0, used = 0;
    assert_int_equal(smtp_line_find("QUIT\nNOOP\n", 10, 512, &ll, &used), SMTP_LINE_OK);
    assert_int_equal(ll, 4);
    assert_int_equal(used, 5);
    /* an empty line */
    assert_int_equal(smtp_line_find("\r\n", 2, 512, &ll, &used), SMTP_LINE_OK);
    assert_int_equal(ll, 0);
    assert_int_equal(used, 2);
    assert_int_equal(smtp_line_find("\n", 1, 512, &ll, &used), SMTP_LINE_OK);
    assert_int_equal(ll, 0);
    assert_int_equal(used, 1);
    /* a CR inside the line stays part of it; only the one before LF goes */
    assert_int_equal(smtp_line_find("A\rB\r\r\n", 6, 512, &ll, &used), SMTP_LINE_OK);
    assert_int_equal(ll, 4);
    assert_int_equal(used, 6);
}

static void test_line_need_more(void **state) {
    (void)state;
    size_t ll = 77, used = 77;
    assert_int_equal(smtp_line_find("", 0, 512, &ll, &used), SMTP_LINE_NEED_MORE);
    assert_int_equal(smtp_line_find("EHLO x", 6, 512, &ll, &used), SMTP_LINE_NEED_MORE);
    /* a CR alone is not a line end */
    assert_int_equal(smtp_line_find("EHLO x\r", 7, 512, &ll, &used), SMTP_LINE_NEED_MORE);
    /* outputs untouched when no line was found */
    assert_int_equal(ll, 77);
    assert_int_equal(used, 77);
}

static void test_line_too_long(void **state) {
    (void)state;
    char big[600];
    memset(big, 'a', sizeof big);
    size_t ll, used;
    /* max bytes without a line end: too long */
    assert_int_equal(smtp_line_find(big, 512, 512, &ll, &used), SMTP_LINE_TOO_LONG);
    assert_int_equal(smtp_line_find(big, sizeof big, 512, &ll, &used), SMTP_LINE_TOO_LONG);
    /* one byte less than max: could still end */
    assert_int_equal(smtp_line_find(big, 511, 512, &ll, &used), SMTP_LINE_NEED_MORE);
    /* the line end as the max-th byte fits */
    big[511] = '\n';
    assert_int_equal(smtp_line_find(big, sizeof big, 512, &ll, &used), SMTP_LINE_OK);
    assert_int_equal(ll, 511);
    assert_int_equal(used, 512);
    /* CRLF where the LF is the (max+1)-th byte: too long */
    big[511] = '\r';
    big[512] = '\n';
    assert_int_equal(smtp_line_find(big, sizeof big, 512, &ll, &used), SMTP_LINE_TOO_LONG);
    /* the LF beyond max is not looked at even if present */
    big[510] = 'a';
    assert_int_equal(smtp_line_find(big, 513, 512, &ll, &used), SMTP_LINE_TOO_LONG);
}

/* ---- smtp_cmd_parse ------------------------------------------------------ */

static void cmd(const char *line, enum smtp_verb verb, const char *arg) {
    struct smtp_cmd c;
    smtp_cmd_parse(line, strlen(line), &c);
    if (c.verb != verb) fail_msg("'%s': verb %d, expected %d", line, c.verb, verb);
    assert_false(c.has_nul);
    assert_int_equal(c.arg_len, strlen(arg));
    assert_memory_equal(c.arg, arg, c.arg_len);
}

static void test_cmd_verbs(void **state) {
    (void)state;
    cmd("HELO client.example", SMTP_HELO, "client.example");
    cmd("EHLO client.example", SMTP_EHLO, "client.example");
    cmd("MAIL FROM:<a@b>", SMTP_MAIL, "FROM:<a@b>");
    cmd("RCPT TO:<a@b>", SMTP_RCPT, "TO:<a@b>");
    cmd("DATA", SMTP_DATA, "");
    cmd("BDAT 100 LAST", SMTP_BDAT, "100 LAST");
    cmd("RSET", SMTP_RSET, "");
    cmd("NOOP", SMTP_NOOP, "");
    cmd("QUIT", SMTP_QUIT, "");
    cmd("VRFY postmaster", SMTP_VRFY, "postmaster");
    cmd("EXPN list", SMTP_EXPN, "list");
    cmd("HELP", SMTP_HELP, "");
    cmd("STARTTLS", SMTP_STARTTLS, "");
    cmd("AUTH PLAIN AGEAYg==", SMTP_AUTH, "PLAIN AGEAYg==");
}

static void test_cmd_case_and_blanks(void **state) {
    (void)state;
    cmd("ehlo x", SMTP_EHLO, "x");
    cmd("MaIl FROM:<a@b>", SMTP_MAIL, "FROM:<a@b>");
    cmd("starttls", SMTP_STARTTLS, "");
    /* leading blanks tolerated, several separators, trailing blanks trimmed */
    cmd("  NOOP", SMTP_NOOP, "");
    cmd("HELO   x  \t ", SMTP_HELO, "x");
    cmd("HELO\tx", SMTP_HELO, "x");
    /* inner spaces of the argument kept */
    cmd("MAIL FROM:<a@b>  SIZE=10", SMTP_MAIL, "FROM:<a@b>  SIZE=10");
}

static void test_cmd_unknown(void **state) {
    (void)state;
    cmd("", SMTP_UNKNOWN, "");
    cmd("FOO bar", SMTP_UNKNOWN, "bar");
    cmd("HEL", SMTP_UNKNOWN, "");
    cmd("HELOO x", SMTP_UNKNOWN, "x");
    cmd("MAIL: FROM", SMTP_UNKNOWN, "FROM");
    cmd("DATAX", SMTP_UNKNOWN, "");
    cmd("GET / HTTP/1.1", SMTP_UNKNOWN, "/ HTTP/1.1");
    assert_string_equal(smtp_verb_name(SMTP_EHLO), "EHLO");
    assert_string_equal(smtp_verb_name(SMTP_STARTTLS), "STARTTLS");
    assert_string_equal(smtp_verb_name(SMTP_UNKNOWN), "UNKNOWN");
}

static void test_cmd_nul(void **state) {
    (void)state;
    struct smtp_cmd c;
    static const char a[] = "HELO x\0y";
    smtp_cmd_parse(a, sizeof a - 1, &c);
    assert_true(c.has_nul);
    assert_int_equal(c.verb, SMTP_HELO);
    assert_int_equal(c.arg_len, 3);
    static const char b[] = "HE\0LO x";
    smtp_cmd_parse(b, sizeof b - 1, &c);
    assert_true(c.has_nul);
    assert_int_equal(c.verb, SMTP_UNKNOWN);
    static const char d[] = "QUIT\0";
    smtp_cmd_parse(d, sizeof d - 1, &c);
    assert_true(c.has_nul);
    assert_int_equal(c.verb, SMTP_UNKNOWN);
    smtp_cmd_parse("QUIT", 4, &c);
    assert_false(c.has_nul);
    /* binary garbage */
    static const char g[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
    smtp_cmd_parse(g, sizeof g - 1, &c);
    assert_true(c.has_nul);
    assert_int_equal(c.verb, SMTP_UNKNOWN);
}

/* ---- smtp_path_parse ----------------------------------------------------- */

static struct smtp_path path_ok(const char *arg, const char *prefix) {
    struct smtp_path p;
    const char *reply = NULL;
    int rc = smtp_path_parse(arg, strlen(arg), prefix, &p, &reply);
    if (rc != 0) fail_msg("'%s' refused: %s", arg, reply ? reply : "(no reply)");
    return p;
}

static void path_addr(const char *arg, const char *prefix, const char *addr) {
    struct smtp_path p = path_ok(arg, prefix);
    assert_non_null(p.addr);
    if (strcmp(p.addr, addr) != 0) fail_msg("'%s': address '%s', expected '%s'", arg, p.addr, addr);
    assert_int_equal(p.nparams, 0);
    smtp_path_free(&p);
}

static void path_bad(const char *arg, size_t len, const char *prefix, const char *reply_start) {
    struct smtp_path p;
    const char *reply = NULL;
    if (smtp_path_parse(arg, len, prefix, &p, &reply) != -1) fail_msg("'%.*s' accepted", (int)len, arg);
    assert_non_null(reply);
    if (strncmp(reply, reply_start, strlen(reply_start)) != 0)
        fail_msg("'%.*s': reply '%s', expected '%s...'", (int)len, arg, reply, reply_start);
    /* every error reply is a complete reply: 3 digits, space, enhanced code */
    assert_true(reply[0] == '5' && reply[3] == ' ' && reply[5] == '.');
    assert_null(p.addr);
    assert_int_equal(p.nparams, 0);
}

static void test_path_forms(void **state) {
    (void)state;
    path_addr("FROM:<a@b.example>", "FROM:", "a@b.example");
    path_addr("TO:<user@example.com>", "TO:", "user@example.com");
    /* the recipe: no angle brackets */
    path_addr("FROM:auser@example.com", "FROM:", "auser@example.com");
    path_addr("TO:ray@example.net", "TO:", "ray@example.net");
    /* a space after the colon (Postfix accepts it) */
    path_addr("FROM: <a@b>", "FROM:", "a@b");
    path_addr("FROM:   <a@b>", "FROM:", "a@b");
    path_addr("TO: a@b", "TO:", "a@b");
    /* prefix case */
    path_addr("from:<a@b>", "FROM:", "a@b");
    path_addr("To:<a@b>", "TO:", "a@b");
    /* null path */
    path_addr("FROM:<>", "FROM:", "");
    path_addr("FROM: <>", "FROM:", "");
    /* source route: only the mailbox is kept */
    path_addr("TO:<@relay.example:user@d.example>", "TO:", "user@d.example");
    path_addr("TO:<@a.example,@b.example:user@d.example>", "TO:", "user@d.example");
    /* quoted local parts, with '@', '>' and escapes inside */
    path_addr("FROM:<\"john doe\"@example.com>", "FROM:", "\"john doe\"@example.com");
    path_addr("FROM:<\"a@b\"@example.com>", "FROM:", "\"a@b\"@example.com");
    path_addr("FROM:<\"a>b\"@example.com>", "FROM:", "\"a>b\"@example.com");
    path_addr("FROM:<\"a\\\"b\"@example.com>", "FROM:", "\"a\\\"b\"@example.com");
    /* address literals */
    path_addr("TO:<postmaster@[127.0.0.1]>", "TO:", "postmaster@[127.0.0.1]");
    path_addr("TO:<u@[IPv6:::1]>", "TO:", "u@[IPv6:::1]");
    /* atext specials and UTF-8 (SMTPUTF8) */
    path_addr("TO:<a.b+tag!#$%&'*/=?^_`{|}~-x@ex-ample.com>", "TO:", "a.b+tag!#$%&'*/=?^_`{|}~-x@ex-ample.com");
    path_addr("TO:<j\xc3\xb6rg@b\xc3\xbc" "cher.example>", "TO:", "j\xc3\xb6rg@b\xc3\xbc" "cher.example");
    /* the length passed counts, not the NUL */
    struct smtp_path p;
    const char *reply;
    assert_int_equal(smtp_path_parse("FROM:<a@b>garbage", 10, "FROM:", &p, &reply), 0);
    assert_string_equal(p.addr, "a@b");
    smtp_path_free(&p);
}

/* RFC 5321 4.1.1.3: <Postmaster> is the one recipient without a domain. */
static void test_path_postmaster(void **state) {
    (void)state;
    path_addr("TO:<Postmaster>", "TO:", "postmaster");
    path_addr("TO: <POSTMASTER>", "TO:", "postmaster");
    struct smtp_path p = path_ok("TO:<postmaster> NOTIFY=NEVER", "TO:");
    assert_string_equal(p.addr, "postmaster");
    assert_int_equal(p.nparams, 1);
    assert_string_equal(p.params[0].key, "NOTIFY");
    smtp_path_free(&p);
    /* only bracketed, only as a recipient */
    path_bad("TO:postmaster", 13, "TO:", "501");
    path_bad("FROM:<postmaster>", 17, "FROM:", "501");
    path_bad("TO:<postmasterx>", 16, "TO:", "501");
}

static void test_path_params(void **state) {
    (void)state;
    struct smtp_path p = path_ok("FROM:<a@b> SIZE=12345 BODY=8BITMIME SMTPUTF8", "FROM:");
    assert_string_equal(p.addr, "a@b");
    assert_int_equal(p.nparams, 3);
    assert_string_equal(p.params[0].key, "SIZE");
    assert_string_equal(p.params[0].value, "12345");
    assert_string_equal(p.params[1].key, "BODY");
    assert_string_equal(p.params[1].value, "8BITMIME");
    assert_string_equal(p.params[2].key, "SMTPUTF8");
    assert_null(p.params[2].value);
    assert_non_null(smtp_path_param(&p, "SIZE"));
    assert_string_equal(smtp_path_param(&p, "BODY")->value, "8BITMIME");
    assert_null(smtp_path_param(&p, "RET"));
    smtp_path_free(&p);
    assert_null(p.addr);
    assert_int_equal(p.nparams, 0);

    /* keys upper-cased, values kept as sent; extra spaces skipped */
    p = path_ok("FROM:<a@b>   size=10   body=7bit  ", "FROM:");
    assert_int_equal(p.nparams, 2);
    assert_string_equal(p.params[0].key, "SIZE");
    assert_string_equal(p.params[0].value, "10");
    assert_string_equal(p.params[1].value, "7bit");
    smtp_path_free(&p);

    /* DSN */
    p = path_ok("TO:<u@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;u+40example.com", "TO:");
    assert_int_equal(p.nparams, 2);
    assert_string_equal(smtp_path_param(&p, "NOTIFY")->value, "SUCCESS,FAILURE");
    assert_string_equal(smtp_path_param(&p, "ORCPT")->value, "rfc822;u+40example.com");
    smtp_path_free(&p);
    p = path_ok("FROM:<> RET=HDRS ENVID=QQ314159", "FROM:");
    assert_string_equal(p.addr, "");
    assert_string_equal(smtp_path_param(&p, "ENVID")->value, "QQ314159");
    smtp_path_free(&p);

    /* bare address with parameters */
    p = path_ok("FROM:a@b SIZE=5", "FROM:");
    assert_string_equal(p.addr, "a@b");
    assert_int_equal(p.nparams, 1);
    assert_string_equal(p.params[0].value, "5");
    smtp_path_free(&p);

    /* empty value and a value containing '=' */
    p = path_ok("FROM:<a@b> X-A= X-B=c=d", "FROM:");
    assert_int_equal(p.nparams, 2);
    assert_string_equal(p.params[0].key, "X-A");
    assert_string_equal(p.params[0].value, "");
    assert_string_equal(p.params[1].value, "c=d");
    smtp_path_free(&p);
}

static void test_path_param_limits(void **state) {
    (void)state;
    buf_t b = BUF_INIT;
    buf_append_str(&b, "FROM:<a@b>");
    for (int i = 0; i < SMTP_MAX_PARAMS; i++) buf_printf(&b, " P%d=%d", i, i);
    struct smtp_path p = path_ok(buf_cstr(&b), "FROM:");
    assert_int_equal(p.nparams, SMTP_MAX_PARAMS);
    assert_string_equal(p.params[SMTP_MAX_PARAMS - 1].key, "P15");
    smtp_path_free(&p);
    buf_append_str(&b, " ONEMORE");
    path_bad(buf_cstr(&b), b.len, "FROM:", "555 5.5.4");
    buf_free(&b);
    /* malformed keywords */
    path_bad("FROM:<a@b> =x", 13, "FROM:", "555 5.5.4");
    path_bad("FROM:<a@b> SI_ZE=1", 18, "FROM:", "555 5.5.4");
    path_bad("FROM:<a@b> SIZE=1 B.DY=x", 24, "FROM:", "555 5.5.4");
    static const char nul[] = "FROM:<a@b> SI\001ZE=1";
    path_bad(nul, sizeof nul - 1, "FROM:", "555 5.5.4");
    /* a NUL must not hide (or empty) a keyword or cut a value short */
    static const char nulkey[] = "FROM:<a@b> \0\0SIZE=1";
    path_bad(nulkey, sizeof nulkey - 1, "FROM:", "555 5.5.4");
    static const char nulkey2[] = "FROM:<a@b> SIZE\0X=1";
    path_bad(nulkey2, sizeof nulkey2 - 1, "FROM:", "555 5.5.4");
    static const char nulval[] = "FROM:<a@b> SIZE=1\0" "0";
    path_bad(nulval, sizeof nulval - 1, "FROM:", "555 5.5.4");
}

static void test_path_malformed(void **state) {
    (void)state;
#define BAD(s, pre, r) path_bad(s, strlen(s), pre, r)
    BAD("", "FROM:", "501 5.5.4 Syntax: MAIL FROM:<address>");
    BAD("TO:<a@b>", "FROM:", "501 5.5.4 Syntax: MAIL FROM:<address>");
    BAD("FROM:<a@b>", "TO:", "501 5.5.4 Syntax: RCPT TO:<address>");
    BAD("FROM <a@b>", "FROM:", "501 5.5.4");
    BAD("FROM:", "FROM:", "501 5.1.7");
    BAD("FROM:   ", "FROM:", "501 5.1.7");
    BAD("FROM:<a@b", "FROM:", "501 5.1.7");
    BAD("FROM:<\"a@b>", "FROM:", "501 5.1.7");   /* quote never closed */
    BAD("FROM:<a@b>x", "FROM:", "501 5.1.7");    /* junk right after '>' */
    BAD("FROM:<a@b>>", "FROM:", "501 5.1.7");
    BAD("TO:<@relay>", "TO:", "501 5.1.7");       /* route without ':' */
    BAD("TO:<@relay:>", "TO:", "501 5.1.7");      /* a route is not a null path */
    BAD("FROM:<@a,@b:>", "FROM:", "501 5.1.7");
    BAD("FROM:<a>", "FROM:", "501 5.1.7 Bad sender address syntax");
    BAD("TO:<a>", "TO:", "501 5.1.3 Bad recipient address syntax");
    BAD("TO:<@b>", "TO:", "501 5.1.7");
    BAD("TO:<a@>", "TO:", "501 5.1.3");
    BAD("TO:<a@@b>", "TO:", "501 5.1.3");
    BAD("TO:<a b@c>", "TO:", "501 5.1.3");
    BAD("TO:<.a@b>", "TO:", "501 5.1.3");
    BAD("TO:<a.@b>", "TO:", "501 5.1.3");
    BAD("TO:<a..b@c>", "TO:", "501 5.1.3");
    BAD("TO:<a@b..c>", "TO:", "501 5.1.3");
    BAD("TO:<a@.b>", "TO:", "501 5.1.3");
    BAD("TO:<a@b.>", "TO:", "501 5.1.3");
    BAD("TO:<a@b_c>", "TO:", "501 5.1.3");
    BAD("TO:<a(b)@c>", "TO:", "501 5.1.3");
    BAD("TO:<a@[1.2.3.4>", "TO:", "501 5.1.3");
    BAD("TO:<a@[]>", "TO:", "501 5.1.3");
    BAD("TO:<a@[1 2]>", "TO:", "501 5.1.3");
    BAD("TO:a@b>", "TO:", "501 5.1.3");
    BAD("TO:<\"a\"b@c>", "TO:", "501 5.1.3");
    BAD("TO:<a@b\x7f>", "TO:", "501 5.1.3");
#undef BAD
    static const char nul[] = "TO:<a\0b@c>";
    path_bad(nul, sizeof nul - 1, "TO:", "501 5.1.3");
}

static void test_path_lengths(void **state) {
    (void)state;
    buf_t b = BUF_INIT;
    char local[SMTP_MAX_LOCAL_PART + 2];
    memset(local, 'l', sizeof local);
    /* 64-octet local part: fine; 65: refused */
    buf_printf(&b, "TO:<%.*s@example.com>", SMTP_MAX_LOCAL_PART, local);
    struct smtp_path p = path_ok(buf_cstr(&b), "TO:");
    assert_int_equal(strlen(p.addr), SMTP_MAX_LOCAL_PART + strlen("@example.com"));
    smtp_path_free(&p);
    buf_reset(&b);
    buf_printf(&b, "TO:<%.*s@example.com>", SMTP_MAX_LOCAL_PART + 1, local);
    path_bad(buf_cstr(&b), b.len, "TO:", "501 5.1.3");

    /* a label of 63 octets is fine, 64 is not */
    char label[65];
    memset(label, 'd', sizeof label);
    buf_reset(&b);
    buf_printf(&b, "TO:<u@%.*s.example>", 63, label);
    p = path_ok(buf_cstr(&b), "TO:");
    smtp_path_free(&p);
    buf_reset(&b);
    buf_printf(&b, "TO:<u@%.*s.example>", 64, label);
    path_bad(buf_cstr(&b), b.len, "TO:", "501 5.1.3");

    /* over-long domain made of valid labels */
    buf_reset(&b);
    buf_append_str(&b, "TO:<u@");
    for (int i = 0; i < 5; i++) buf_printf(&b, "%.*s.", 60, label);
    buf_append_str(&b, "com>");
    path_bad(buf_cstr(&b), b.len, "TO:", "501 5.1.3");
    buf_free(&b);
}

/* ---- smtp_addr_valid / smtp_addr_domain ---------------------------------- */

static bool valid(const char *s) {
    return smtp_addr_valid(s, strlen(s));
}

static void test_addr_valid(void **state) {
    (void)state;
    assert_true(valid("a@b"));
    assert_true(valid("first.last@sub.example.com"));
    assert_true(valid("\"quoted string\"@example.com"));
    assert_true(valid("\"\"@example.com"));             /* empty quoted string */
    assert_true(valid("\"a\\\\b\"@example.com"));       /* escaped backslash */
    assert_true(valid("x@[192.0.2.1]"));
    assert_true(valid("x@xn--bcher-kva.example"));
    assert_false(valid(""));
    assert_false(valid("@"));
    assert_false(valid("a@"));
    assert_false(valid("@b"));
    assert_false(valid("ab"));
    assert_false(valid("a b@c"));
    assert_false(valid("a@b c"));
    assert_false(valid("\"a@b"));
    assert_false(valid("\"@b"));
    assert_false(valid("\"a\\\"@b"));                    /* escape eats the closing quote */
    assert_false(valid("\"a\nb\"@c"));
    assert_false(valid("\"a\\\nb\"@c"));          /* quoted-pair is %d32-126 only */
    assert_false(valid("\"a\\\x7f\"@c"));
    assert_false(smtp_addr_valid("\"a\\\0b\"@c", 8)); /* escaped NUL */
    assert_true(valid("\"a\\ b\"@c"));
    assert_false(valid("a\"b@c"));
    assert_false(valid("a@b@c"));                        /* '@' in an unquoted local part */
    assert_false(valid("a@[1.2.3.4]x"));
    assert_false(valid("a@[a]b]"));
    /* the length argument bounds the scan */
    assert_true(smtp_addr_valid("a@bXXX", 3));
    assert_false(smtp_addr_valid("a@b", 2));
    /* path limit */
    char big[SMTP_MAX_PATH + 8];
    memset(big, 'a', sizeof big);
    memcpy(big, "x@", 2);
    assert_false(smtp_addr_valid(big, SMTP_MAX_PATH + 1));

    assert_string_equal(smtp_addr_domain("a@b.example"), "b.example");
    assert_string_equal(smtp_addr_domain("\"x@y\"@z"), "z");
    assert_string_equal(smtp_addr_domain("nodomain"), "");
    assert_string_equal(smtp_addr_domain(""), "");
}

/* ---- smtp_xtext_decode ---------------------------------------------------- */

static void test_xtext(void **state) {
    (void)state;
    buf_t b = BUF_INIT;
    assert_int_equal(smtp_xtext_decode("rfc822;user+40example.com", &b), 0);
    assert_string_equal(buf_cstr(&b), "rfc822;user@example.com");
    buf_reset(&b);
    assert_int_equal(smtp_xtext_decode("a+2Bb+2bc", &b), 0); /* hex either case */
    assert_string_equal(buf_cstr(&b), "a+b+c");
    buf_reset(&b);
    assert_int_equal(smtp_xtext_decode("", &b), 0);
    assert_int_equal(b.len, 0);
    assert_int_equal(smtp_xtext_decode("+20", &b), 0);
    assert_int_equal(b.len, 1);
    assert_int_equal(b.data[0], ' ');
    static const char *const bad[] = {"+", "+4", "+4G", "a=b", "a b", "\x7f", "\xc3\xa9", "ab+", "+g0", NULL};
    for (int i = 0; bad[i]; i++) {
        buf_reset(&b);
        if (smtp_xtext_decode(bad[i], &b) != -1) fail_msg("xtext '%s' accepted", bad[i]);
    }
    buf_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_crlf),
        cmocka_unit_test(test_line_bare_lf),
        cmocka_unit_test(test_line_need_more),
        cmocka_unit_test(test_line_too_long),
        cmocka_unit_test(test_cmd_verbs),
        cmocka_unit_test(test_cmd_case_and_blanks),
        cmocka_unit_test(test_cmd_unknown),
        cmocka_unit_test(test_cmd_nul),
        cmocka_unit_test(test_path_forms),
        cmocka_unit_test(test_path_postmaster),
        cmocka_unit_test(test_path_params),
        cmocka_unit_test(test_path_param_limits),
        cmocka_unit_test(test_path_malformed),
        cmocka_unit_test(test_path_lengths),
        cmocka_unit_test(test_addr_valid),
        cmocka_unit_test(test_xtext),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
