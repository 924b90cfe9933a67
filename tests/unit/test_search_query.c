/*
 * test_search_query - the Mailpit search-language parser and its SQL
 * builder: tokens, quoting, negation, every prefix, limits, the exact SQL
 * and parameters, and the SQL run against an in-memory SQLite with FTS5.
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
#include "http/search_query.h"

static struct search_query parse_ok(const char *s) {
    struct search_query q;
    buf_t err = BUF_INIT;
    int rc = search_query_parse(s, strlen(s), 0, &q, &err);
    if (rc != 0) fail_msg("parse of '%s' failed: %s", s, buf_cstr(&err));
    buf_free(&err);
    return q;
}

static void expect_error(const char *s, size_t len, const char *reason_part) {
    struct search_query q;
    buf_t err = BUF_INIT;
    assert_int_equal(search_query_parse(s, len, 0, &q, &err), -1);
    assert_int_equal(q.count, 0);
    assert_null(q.terms);
    assert_non_null(strstr(buf_cstr(&err), reason_part));
    buf_free(&err);
}

static void expect_term(const struct search_query *q, size_t i, enum search_query_kind kind, bool negated,
                        const char *value) {
    assert_true(i < q->count);
    const struct search_query_term *t = &q->terms[i];
    if (t->kind != kind) fail_msg("term %zu: kind %s, want %s", i, search_query_kind_name(t->kind),
                                  search_query_kind_name(kind));
    assert_int_equal(t->negated, negated);
    if (value) {
        assert_non_null(t->value);
        assert_string_equal(t->value, value);
        assert_int_equal(t->value_len, strlen(value));
    } else {
        assert_null(t->value);
    }
}

static void test_empty(void **state) {
    (void)state;
    const char *inputs[] = {"", "   ", "\t\r\n", "-", "!", "\"\"", "\"  \"", "from:", "subject:\"\"", "-from: "};
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        struct search_query q = parse_ok(inputs[i]);
        if (q.count != 0) fail_msg("'%s' gave %zu terms", inputs[i], q.count);
        search_query_free(&q);
    }
}

static void test_words_and_phrases(void **state) {
    (void)state;
    struct search_query q = parse_ok("  hello   \"password reset\"\tworld ");
    assert_int_equal(q.count, 3);
    expect_term(&q, 0, SEARCH_QUERY_TEXT, false, "hello");
    expect_term(&q, 1, SEARCH_QUERY_TEXT, false, "password reset");
    expect_term(&q, 2, SEARCH_QUERY_TEXT, false, "world");
    search_query_free(&q);

    /* Quotes inside a token join segments; the quotes go away. */
    q = parse_ok("ab\"c d\"e");
    assert_int_equal(q.count, 1);
    expect_term(&q, 0, SEARCH_QUERY_TEXT, false, "abc de");
    search_query_free(&q);
}

static void test_negation(void **state) {
    (void)state;
    struct search_query q = parse_ok("-spam !\"out of office\" -is:read !from:bob --x");
    assert_int_equal(q.count, 5);
    expect_term(&q, 0, SEARCH_QUERY_TEXT, true, "spam");
    expect_term(&q, 1, SEARCH_QUERY_TEXT, true, "out of office");
    expect_term(&q, 2, SEARCH_QUERY_IS_READ, true, NULL);
    expect_term(&q, 3, SEARCH_QUERY_FROM, true, "bob");
    expect_term(&q, 4, SEARCH_QUERY_TEXT, true, "-x"); /* only one negation sign */
    search_query_free(&q);

    /* A quoted token that starts with '-' is negated too (as in Mailpit). */
    q = parse_ok("\"-two words\"");
    expect_term(&q, 0, SEARCH_QUERY_TEXT, true, "two words");
    search_query_free(&q);
}

static void test_text_prefixes(void **state) {
    (void)state;
    struct search_query q = parse_ok("from:alice@example.com TO:bob Cc:carol bcc:dave reply-to:erin "
                                     "addressed:frank subject:\"Your order\" message-id:<abc@x.test> "
                                     "tag:Urgent from:\"John Doe\" \"subject:two words\"");
    assert_int_equal(q.count, 11);
    expect_term(&q, 0, SEARCH_QUERY_FROM, false, "alice@example.com");
    expect_term(&q, 1, SEARCH_QUERY_TO, false, "bob");
    expect_term(&q, 2, SEARCH_QUERY_CC, false, "carol");
    expect_term(&q, 3, SEARCH_QUERY_BCC, false, "dave");
    expect_term(&q, 4, SEARCH_QUERY_REPLY_TO, false, "erin");
    expect_term(&q, 5, SEARCH_QUERY_ADDRESSED, false, "frank");
    expect_term(&q, 6, SEARCH_QUERY_SUBJECT, false, "Your order");
    expect_term(&q, 7, SEARCH_QUERY_MESSAGE_ID, false, "abc@x.test");
    expect_term(&q, 8, SEARCH_QUERY_TAG, false, "Urgent");
    expect_term(&q, 9, SEARCH_QUERY_FROM, false, "John Doe");
    expect_term(&q, 10, SEARCH_QUERY_SUBJECT, false, "two words");
    search_query_free(&q);
}

static void test_flags(void **state) {
    (void)state;
    struct search_query q = parse_ok("is:read IS:UNREAD is:tagged has:attachment has:Attachments "
                                     "has:inline has:inlines is:foo has:nothing");
    assert_int_equal(q.count, 9);
    expect_term(&q, 0, SEARCH_QUERY_IS_READ, false, NULL);
    expect_term(&q, 1, SEARCH_QUERY_IS_UNREAD, false, NULL);
    expect_term(&q, 2, SEARCH_QUERY_IS_TAGGED, false, NULL);
    expect_term(&q, 3, SEARCH_QUERY_HAS_ATTACHMENT, false, NULL);
    expect_term(&q, 4, SEARCH_QUERY_HAS_ATTACHMENT, false, NULL);
    expect_term(&q, 5, SEARCH_QUERY_HAS_INLINE, false, NULL);
    expect_term(&q, 6, SEARCH_QUERY_HAS_INLINE, false, NULL);
    expect_term(&q, 7, SEARCH_QUERY_TEXT, false, "is:foo");
    expect_term(&q, 8, SEARCH_QUERY_TEXT, false, "has:nothing");
    search_query_free(&q);
}

static void test_unknown_prefix(void **state) {
    (void)state;
    struct search_query q = parse_ok("foo:bar http://x.test/a");
    assert_int_equal(q.count, 2);
    expect_term(&q, 0, SEARCH_QUERY_TEXT, false, "foo:bar");
    expect_term(&q, 1, SEARCH_QUERY_TEXT, false, "http://x.test/a");
    search_query_free(&q);
}

static void test_sizes(void **state) {
    (void)state;
    struct search_query q = parse_ok("larger:10K smaller:1M larger:1.5m smaller:2G larger:100 "
                                     "larger:\"1.5 MB\" smaller:3kb larger:0 larger:7b");
    assert_int_equal(q.count, 9);
    const int64_t want[] = {10240, 1048576, 1572864, 2147483648LL, 100, 1572864, 3072, 0, 7};
    const enum search_query_kind kinds[] = {SEARCH_QUERY_LARGER, SEARCH_QUERY_SMALLER, SEARCH_QUERY_LARGER,
                                            SEARCH_QUERY_SMALLER, SEARCH_QUERY_LARGER, SEARCH_QUERY_LARGER,
                                            SEARCH_QUERY_SMALLER, SEARCH_QUERY_LARGER, SEARCH_QUERY_LARGER};
    for (size_t i = 0; i < q.count; i++) {
        expect_term(&q, i, kinds[i], false, NULL);
        assert_int_equal(q.terms[i].number, want[i]);
    }
    search_query_free(&q);

    /* Not a size: a plain word, as in Mailpit. */
    q = parse_ok("larger:abc smaller:10T larger:1. larger:.5k larger:9999999999999999k larger:");
    assert_int_equal(q.count, 6);
    expect_term(&q, 0, SEARCH_QUERY_TEXT, false, "larger:abc");
    expect_term(&q, 1, SEARCH_QUERY_TEXT, false, "smaller:10T");
    expect_term(&q, 2, SEARCH_QUERY_TEXT, false, "larger:1.");
    expect_term(&q, 3, SEARCH_QUERY_TEXT, false, "larger:.5k");
    expect_term(&q, 4, SEARCH_QUERY_TEXT, false, "larger:9999999999999999k");
    expect_term(&q, 5, SEARCH_QUERY_TEXT, false, "larger:");
    search_query_free(&q);

    /* Overflow of bytes = digits * unit is refused, not wrapped. */
    q = parse_ok("larger:999999999999999G");
    expect_term(&q, 0, SEARCH_QUERY_TEXT, false, "larger:999999999999999G");
    search_query_free(&q);
}

static void test_dates(void **state) {
    (void)state;
    struct search_query q = parse_ok("before:2024-01-02 after:2024/01/02 after:2024-01-02T10:20:30Z "
                                     "before:2024-01-02T10:20:30+02:00 before:\"2024-01-02 10:20\" "
                                     "after:2024-01-02t10:20:30.123-0130 after:2000-02-29 before:1969-12-31");
    assert_int_equal(q.count, 8);
    const int64_t day = 1704153600; /* 2024-01-02T00:00:00Z */
    const int64_t want[] = {day,
                            day,
                            day + 37230,
                            day + 37230 - 7200,
                            day + 37200,
                            day + 37230 + 5400,
                            951782400,
                            -86400};
    const enum search_query_kind kinds[] = {SEARCH_QUERY_BEFORE, SEARCH_QUERY_AFTER, SEARCH_QUERY_AFTER,
                                            SEARCH_QUERY_BEFORE, SEARCH_QUERY_BEFORE, SEARCH_QUERY_AFTER,
                                            SEARCH_QUERY_AFTER, SEARCH_QUERY_BEFORE};
    for (size_t i = 0; i < q.count; i++) {
        expect_term(&q, i, kinds[i], false, NULL);
        if (q.terms[i].number != want[i])
            fail_msg("date %zu: %lld, want %lld", i, (long long)q.terms[i].number, (long long)want[i]);
    }
    search_query_free(&q);

    /* Dates without a zone take the caller's offset; explicit zones win. */
    buf_t err = BUF_INIT;
    const char *s = "before:2024-01-02 after:2024-01-02T00:00:00Z";
    assert_int_equal(search_query_parse(s, strlen(s), 3600, &q, &err), 0);
    assert_int_equal(q.terms[0].number, day - 3600);
    assert_int_equal(q.terms[1].number, day);
    search_query_free(&q);
    buf_free(&err);

    /* An empty date is ignored like any empty value. */
    q = parse_ok("before: after:\"\"");
    assert_int_equal(q.count, 0);
    search_query_free(&q);
}

static void test_bad_dates(void **state) {
    (void)state;
    const char *bad[] = {"before:yesterday", "after:2024-13-01",     "before:2023-02-29", "after:2024-01-32",
                         "before:2024-1-2",  "after:2024-01-02T25:00", "before:2024-01-02T10", "after:2024-01-02Z",
                         "before:2024-01-02T10:00+2", "after:2024-01/02", "before:2024-01-02T10:00:00Zjunk"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) expect_error(bad[i], strlen(bad[i]), "invalid date");
}

static void test_unbalanced_quotes(void **state) {
    (void)state;
    struct search_query q = parse_ok("hello \"unterminated phrase here");
    assert_int_equal(q.count, 2);
    expect_term(&q, 0, SEARCH_QUERY_TEXT, false, "hello");
    expect_term(&q, 1, SEARCH_QUERY_TEXT, false, "unterminated phrase here");
    search_query_free(&q);

    q = parse_ok("subject:\"a b");
    expect_term(&q, 0, SEARCH_QUERY_SUBJECT, false, "a b");
    search_query_free(&q);

    q = parse_ok("\"");
    assert_int_equal(q.count, 0);
    search_query_free(&q);
}

static void test_limits(void **state) {
    (void)state;
    buf_t in = BUF_INIT;
    for (int i = 0; i < SEARCH_QUERY_MAX_TERMS; i++) buf_printf(&in, "w%d ", i);
    struct search_query q = parse_ok(buf_cstr(&in));
    assert_int_equal(q.count, SEARCH_QUERY_MAX_TERMS);
    search_query_free(&q);

    buf_append_str(&in, "one-too-many");
    expect_error(in.data, in.len, "too many search terms");

    /* Dropped tokens do not count. */
    buf_reset(&in);
    for (int i = 0; i < SEARCH_QUERY_MAX_TERMS * 4; i++) buf_append_str(&in, "- ");
    buf_append_str(&in, "word");
    q = parse_ok(buf_cstr(&in));
    assert_int_equal(q.count, 1);
    search_query_free(&q);

    buf_reset(&in);
    for (int i = 0; i <= SEARCH_QUERY_MAX_BYTES; i++) buf_append_char(&in, 'a');
    expect_error(in.data, in.len, "too long");
    buf_free(&in);

    expect_error("a\0b", 3, "NUL");
}

/* ---- SQL builder ---------------------------------------------------------- */

static void expect_sql(const char *query, const char *where, size_t nparams, const char *const *params) {
    struct search_query q = parse_ok(query);
    struct search_query_sql s;
    search_query_to_sql(&q, &s);
    assert_string_equal(buf_cstr(&s.where), where);
    if (s.nparams != nparams) fail_msg("'%s': %zu params, want %zu", query, s.nparams, nparams);
    for (size_t i = 0; i < nparams; i++) {
        char num[32];
        const char *got = s.params[i].text;
        if (s.params[i].type == SEARCH_QUERY_PARAM_INT) {
            snprintf(num, sizeof num, "%lld", (long long)s.params[i].num);
            got = num;
        }
        if (strcmp(got, params[i]) != 0) fail_msg("'%s' param %zu: [%s], want [%s]", query, i, got, params[i]);
    }
    search_query_sql_free(&s);
    search_query_free(&q);
}

#define FTS_IN "messages.id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)"
#define FTS_NOT_IN "messages.id NOT IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)"
#define ESC " ESCAPE '\\'"

static void test_sql_empty(void **state) {
    (void)state;
    expect_sql("", "1", 0, NULL);
}

static void test_sql_text(void **state) {
    (void)state;
    expect_sql("hello", FTS_IN, 1, (const char *[]){"\"hello\"*"});
    /* FTS5 syntax in user input stays inside one quoted phrase. */
    expect_sql("\"a\"\"b\" NEAR(x) -c* !\"d OR e\"", FTS_IN " AND " FTS_NOT_IN, 2,
               (const char *[]){"\"ab\"* AND \"NEAR(x)\"*", "\"c*\"* OR \"d OR e\"*"});
    expect_sql("say\"\"\"hi", FTS_IN, 1, (const char *[]){"\"sayhi\"*"});
    expect_sql("x:\"it's \"", FTS_IN, 1, (const char *[]){"\"x:it's\"*"});
}

static void test_sql_quote_doubling(void **state) {
    (void)state;
    /* A '"' can only reach a value through... nothing: quotes are syntax.
     * Exercise the doubling path via the builder directly. */
    struct search_query_term t = {SEARCH_QUERY_TEXT, false, (char *)"a\"b", 3, 0};
    struct search_query q = {&t, 1};
    struct search_query_sql s;
    search_query_to_sql(&q, &s);
    assert_string_equal(s.params[0].text, "\"a\"\"b\"*");
    search_query_sql_free(&s);
}

static void test_sql_prefixes(void **state) {
    (void)state;
    expect_sql("from:50%_off\\x", "messages.hdr_from LIKE ?" ESC, 1, (const char *[]){"%50\\%\\_off\\\\x%"});
    expect_sql("to:bob cc:carol reply-to:erin subject:Hi message-id:<m@x>",
               "messages.hdr_to LIKE ?" ESC " AND messages.hdr_cc LIKE ?" ESC
               " AND messages.hdr_reply_to LIKE ?" ESC " AND messages.subject LIKE ?" ESC
               " AND messages.message_id LIKE ?" ESC,
               5, (const char *[]){"%bob%", "%carol%", "%erin%", "%Hi%", "%m@x%"});
    expect_sql("bcc:dave",
               "(messages.hdr_bcc LIKE ?" ESC " OR (messages.rcpts LIKE ?" ESC " AND messages.hdr_to NOT LIKE ?" ESC
               " AND messages.hdr_cc NOT LIKE ?" ESC "))",
               4, (const char *[]){"%dave%", "%dave%", "%dave%", "%dave%"});
    expect_sql("-addressed:frank",
               "NOT ((messages.hdr_to LIKE ?" ESC " OR messages.hdr_from LIKE ?" ESC " OR messages.hdr_cc LIKE ?" ESC
               " OR messages.hdr_bcc LIKE ?" ESC " OR messages.hdr_reply_to LIKE ?" ESC
               " OR messages.rcpts LIKE ?" ESC "))",
               6, (const char *[]){"%frank%", "%frank%", "%frank%", "%frank%", "%frank%", "%frank%"});
    expect_sql("tag:urgent !tag:a_b", "(' ' || messages.keywords || ' ') LIKE ?" ESC
               " AND NOT ((' ' || messages.keywords || ' ') LIKE ?" ESC ")",
               2, (const char *[]){"% urgent %", "% a\\_b %"});
}

static void test_sql_flags_and_numbers(void **state) {
    (void)state;
    expect_sql("is:read -is:unread is:tagged has:attachment !has:inline",
               "(messages.flags & 1) != 0 AND NOT ((messages.flags & 1) = 0) AND messages.keywords != ''"
               " AND messages.attachments > 0 AND NOT (messages.inlines > 0)",
               0, NULL);
    expect_sql("larger:1K smaller:2M -larger:5 before:2024-01-02 !after:2024-01-02",
               "messages.size > ? AND messages.size < ? AND NOT (messages.size > ?)"
               " AND messages.internaldate < ? AND NOT (messages.internaldate >= ?)",
               5, (const char *[]){"1024", "2097152", "5", "1704153600", "1704153600"});
}

static void test_sql_order(void **state) {
    (void)state;
    /* Text clauses come first (one MATCH each polarity), then the rest in order. */
    expect_sql("is:unread invoice from:shop -draft total",
               FTS_IN " AND " FTS_NOT_IN " AND (messages.flags & 1) = 0 AND messages.hdr_from LIKE ?" ESC, 3,
               (const char *[]){"\"invoice\"* AND \"total\"*", "\"draft\"*", "%shop%"});
}

/* ---- against a real SQLite ----------------------------------------------- */

static sqlite3 *test_db(void) {
    sqlite3 *db;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    const char *schema =
        "CREATE TABLE messages(id INTEGER PRIMARY KEY, mailbox_id INTEGER, uid INTEGER, api_id TEXT,"
        " flags INTEGER NOT NULL DEFAULT 0, keywords TEXT NOT NULL DEFAULT '', internaldate INTEGER,"
        " sent_date INTEGER, size INTEGER, mail_from TEXT NOT NULL DEFAULT '', rcpts TEXT NOT NULL DEFAULT '',"
        " hdr_from TEXT NOT NULL DEFAULT '', hdr_to TEXT NOT NULL DEFAULT '', hdr_cc TEXT NOT NULL DEFAULT '',"
        " hdr_bcc TEXT NOT NULL DEFAULT '', hdr_reply_to TEXT NOT NULL DEFAULT '',"
        " subject TEXT NOT NULL DEFAULT '', message_id TEXT NOT NULL DEFAULT '',"
        " attachments INTEGER NOT NULL DEFAULT 0, inlines INTEGER NOT NULL DEFAULT 0, snippet TEXT);"
        "CREATE VIRTUAL TABLE messages_fts USING fts5(subject, addresses, body);"
        /* 1: read, tagged, attachment, big, 2024-01-01 */
        "INSERT INTO messages(id,flags,keywords,internaldate,size,rcpts,hdr_from,hdr_to,subject,message_id,"
        " attachments) VALUES(1,1,'Urgent $label1',1704067200,2000000,'bob@x.test,secret@x.test',"
        " 'Alice <alice@shop.test>','Bob <bob@x.test>','Your order 50% off','order-1@shop.test',1);"
        "INSERT INTO messages_fts(rowid,subject,addresses,body) VALUES(1,'Your order 50% off',"
        " 'alice@shop.test bob@x.test','Invoice total: 10 EUR. Thanks for shopping');"
        /* 2: unread, no tags, inline image, small, 2024-02-01 */
        "INSERT INTO messages(id,flags,keywords,internaldate,size,rcpts,hdr_from,hdr_to,hdr_cc,subject,"
        " message_id,inlines) VALUES(2,0,'',1706745600,3000,'carol@x.test','Shop <noreply@shop.test>',"
        " 'carol@x.test','dave@x.test','Password reset','reset-2@shop.test',1);"
        "INSERT INTO messages_fts(rowid,subject,addresses,body) VALUES(2,'Password reset',"
        " 'noreply@shop.test carol@x.test dave@x.test','Click https://shop.test/reset?token=abc to reset');"
        /* 3: draft word in body, unicode subject */
        "INSERT INTO messages(id,flags,internaldate,size,hdr_from,hdr_to,hdr_reply_to,subject)"
        " VALUES(3,0,1709251200,500,'Erin <erin@y.test>','team@y.test','help@y.test','Ünïcode draft \"quoted\"');"
        "INSERT INTO messages_fts(rowid,subject,addresses,body) VALUES(3,'Ünïcode draft \"quoted\"',"
        " 'erin@y.test team@y.test help@y.test','This is a draft. Say \"hi\" NEAR(x)');";
    char *msg = NULL;
    if (sqlite3_exec(db, schema, NULL, NULL, &msg) != SQLITE_OK) fail_msg("schema: %s", msg);
    return db;
}

/* Run query against the test rows; return the matching ids as "1,3". */
static void run_query(sqlite3 *db, const char *query, char *out, size_t outsz) {
    struct search_query q = parse_ok(query);
    struct search_query_sql s;
    search_query_to_sql(&q, &s);
    buf_t sql = BUF_INIT;
    buf_printf(&sql, "SELECT id FROM messages WHERE mailbox_id IS NOT ? AND (%s) ORDER BY id", buf_cstr(&s.where));
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, buf_cstr(&sql), -1, &st, NULL) != SQLITE_OK)
        fail_msg("'%s': prepare: %s", query, sqlite3_errmsg(db));
    assert_int_equal(sqlite3_bind_int(st, 1, 42), SQLITE_OK);
    int next = search_query_sql_bind(&s, st, 2);
    assert_int_equal(next, 2 + (int)s.nparams);
    assert_int_equal(sqlite3_bind_parameter_count(st), next - 1);
    out[0] = '\0';
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        size_t used = strlen(out);
        snprintf(out + used, outsz - used, "%s%lld", used ? "," : "", (long long)sqlite3_column_int64(st, 0));
    }
    if (rc != SQLITE_DONE) fail_msg("'%s': step: %s", query, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    buf_free(&sql);
    search_query_sql_free(&s);
    search_query_free(&q);
}

static void test_sqlite(void **state) {
    (void)state;
    sqlite3 *db = test_db();
    static const struct {
        const char *query, *ids;
    } cases[] = {
        {"", "1,2,3"},
        {"invoice", "1"},
        {"INVOI", "1"},                  /* prefix match, case-insensitive */
        {"\"password reset\"", "2"},
        {"-reset", "1,3"},
        {"!draft -invoice", "2"},
        {"\"hi\" NEAR(x)", "3"},         /* FTS5 syntax is inert */
        {"NEAR(x", "3"},
        {"\"d OR e\"", ""},
        {"* ^ : ( )", ""},               /* punctuation: empty phrases, no error */
        {"-\"@@@\"", "1,2,3"},
        {"from:ALICE", "1"},
        {"-from:shop.test", "3"},
        {"to:bob@x.test", "1"},
        {"cc:dave", "2"},
        {"bcc:secret", "1"},             /* envelope recipient not in To/Cc */
        {"bcc:bob", ""},
        {"reply-to:help", "3"},
        {"addressed:carol", "2"},
        {"addressed:erin", "3"},         /* From counts, as in Mailpit */
        {"subject:\"50% off\"", "1"},
        {"subject:50%", "1"},
        {"subject:%", "1"},              /* literal %, not a wildcard */
        {"subject:_", ""},
        {"subject:Ünïcode", "3"},
        {"subject:üNÏCODE", ""},        /* LIKE folds ASCII only (no ICU) */
        {"message-id:<reset-2@shop.test>", "2"},
        {"tag:urgent", "1"},
        {"tag:urg", ""},                 /* whole keyword only */
        {"tag:$label1", "1"},
        {"-tag:urgent", "2,3"},
        {"is:read", "1"},
        {"is:unread", "2,3"},
        {"-is:read", "2,3"},
        {"is:tagged", "1"},
        {"has:attachment", "1"},
        {"has:inline", "2"},
        {"larger:1M", "1"},
        {"smaller:1K", "3"},
        {"-smaller:1K", "1,2"},
        {"before:2024-02-01", "1"},
        {"after:2024-02-01", "2,3"},
        {"after:2024-01-15 before:2024-02-15", "2"},
        {"is:unread shop", "2"},
        {"foo:bar", ""},
    };
    char ids[256];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_query(db, cases[i].query, ids, sizeof ids);
        if (strcmp(ids, cases[i].ids) != 0) fail_msg("'%s' matched [%s], want [%s]", cases[i].query, ids, cases[i].ids);
    }
    sqlite3_close(db);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_words_and_phrases),
        cmocka_unit_test(test_negation),
        cmocka_unit_test(test_text_prefixes),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_unknown_prefix),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_bad_dates),
        cmocka_unit_test(test_unbalanced_quotes),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_sql_empty),
        cmocka_unit_test(test_sql_text),
        cmocka_unit_test(test_sql_quote_doubling),
        cmocka_unit_test(test_sql_prefixes),
        cmocka_unit_test(test_sql_flags_and_numbers),
        cmocka_unit_test(test_sql_order),
        cmocka_unit_test(test_sqlite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
