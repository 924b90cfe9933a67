/*
 * test_search_compile - the store's compiler of parsed Mailpit searches
 * into SQL: the exact WHERE text and parameters, and the SQL run against
 * an in-memory SQLite with FTS5 and the index's message columns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sqlite3.h>

#include "core/buf.h"
#include "core/search_query.h"
#include "store/search_compile.h"

static struct search_query parse_ok(const char *s) {
    struct search_query q;
    buf_t err = BUF_INIT;
    int rc = search_query_parse(s, strlen(s), 0, &q, &err);
    if (rc != 0) fail_msg("parse of '%s' failed: %s", s, buf_cstr(&err));
    buf_free(&err);
    return q;
}

/* ---- SQL builder ---------------------------------------------------------- */

static void expect_sql(const char *query, const char *where, size_t nparams, const char *const *params) {
    struct search_query q = parse_ok(query);
    struct search_sql s;
    search_compile(&q, &s);
    assert_string_equal(buf_cstr(&s.where), where);
    if (s.nparams != nparams) fail_msg("'%s': %zu params, want %zu", query, s.nparams, nparams);
    for (size_t i = 0; i < nparams; i++) {
        char num[32];
        const char *got = s.params[i].text;
        if (s.params[i].type == SEARCH_SQL_PARAM_INT) {
            snprintf(num, sizeof num, "%lld", (long long)s.params[i].num);
            got = num;
        }
        if (strcmp(got, params[i]) != 0) fail_msg("'%s' param %zu: [%s], want [%s]", query, i, got, params[i]);
    }
    search_sql_free(&s);
    search_query_free(&q);
}

#define FTS_IN "messages.id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)"
#define FTS_NOT_IN "messages.id NOT IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)"
#define ESC " ESCAPE '\\'"
#define HAS(col) "devmail_contains(" col ", ?)"

static void test_sql_empty(void **state) {
    (void)state;
    expect_sql("", "1", 0, NULL);
}

static void test_sql_text(void **state) {
    (void)state;
    expect_sql("hello", FTS_IN, 1, (const char *[]){"\"hello\"*"});
    /* FTS5 syntax in user input stays inside one quoted phrase. */
    expect_sql("\"a\"\"b\" NEAR(x) -c* !\"d OR e\"", FTS_IN " AND " FTS_NOT_IN, 2,
               (const char *[]){"\"ab\"* AND \"near(x)\"*", "\"c*\"* OR \"d or e\"*"});
    /* folded as the indexed text is */
    expect_sql("STRA\xc3\x9f\x45", FTS_IN, 1, (const char *[]){"\"strasse\"*"});
    expect_sql("say\"\"\"hi", FTS_IN, 1, (const char *[]){"\"sayhi\"*"});
    expect_sql("x:\"it's \"", FTS_IN, 1, (const char *[]){"\"x:it's\"*"});
}

static void test_sql_quote_doubling(void **state) {
    (void)state;
    /* A '"' can only reach a value through... nothing: quotes are syntax.
     * Exercise the doubling path via the builder directly. */
    struct search_query_term t = {SEARCH_QUERY_TEXT, false, (char *)"a\"b", 3, 0, false};
    struct search_query q = {&t, 1};
    struct search_sql s;
    search_compile(&q, &s);
    assert_string_equal(s.params[0].text, "\"a\"\"b\"*");
    search_sql_free(&s);
}

static void test_sql_prefixes(void **state) {
    (void)state;
    /* field terms: substring of the folded text, the value folded once */
    expect_sql("from:50%_off\\x", HAS("messages.hdr_from"), 1, (const char *[]){"50%_off\\x"});
    expect_sql("to:bob cc:carol reply-to:erin subject:Hi message-id:<m@x>",
               HAS("messages.hdr_to") " AND " HAS("messages.hdr_cc") " AND " HAS("messages.hdr_reply_to")
               " AND " HAS("messages.subject") " AND " HAS("messages.message_id"),
               5, (const char *[]){"bob", "carol", "erin", "hi", "m@x"});
    expect_sql("subject:\xc3\x89QUIPE", HAS("messages.subject"), 1, (const char *[]){"\xc3\xa9quipe"});
    expect_sql("bcc:dave",
               "(" HAS("messages.hdr_bcc") " OR (" HAS("messages.rcpts") " AND NOT " HAS("messages.hdr_to")
               " AND NOT " HAS("messages.hdr_cc") "))",
               4, (const char *[]){"dave", "dave", "dave", "dave"});
    expect_sql("-addressed:frank",
               "NOT ((" HAS("messages.hdr_to") " OR " HAS("messages.hdr_from") " OR " HAS("messages.hdr_cc")
               " OR " HAS("messages.hdr_bcc") " OR " HAS("messages.hdr_reply_to") " OR " HAS("messages.rcpts") "))",
               6, (const char *[]){"frank", "frank", "frank", "frank", "frank", "frank"});
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
               FTS_IN " AND " FTS_NOT_IN " AND (messages.flags & 1) = 0 AND " HAS("messages.hdr_from"), 3,
               (const char *[]){"\"invoice\"* AND \"total\"*", "\"draft\"*", "shop"});
}

/* ---- against a real SQLite ----------------------------------------------- */

static sqlite3 *test_db(void) {
    sqlite3 *db;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(search_sql_functions(db), 0);
    const char *schema =
        "CREATE TABLE messages(id INTEGER PRIMARY KEY, mailbox_id INTEGER, uid INTEGER, api_id TEXT,"
        " flags INTEGER NOT NULL DEFAULT 0, keywords TEXT NOT NULL DEFAULT '', internaldate INTEGER,"
        " sent_date INTEGER, size INTEGER, mail_from TEXT NOT NULL DEFAULT '', rcpts TEXT NOT NULL DEFAULT '',"
        " hdr_from TEXT NOT NULL DEFAULT '', hdr_to TEXT NOT NULL DEFAULT '', hdr_cc TEXT NOT NULL DEFAULT '',"
        " hdr_bcc TEXT NOT NULL DEFAULT '', hdr_reply_to TEXT NOT NULL DEFAULT '',"
        " subject TEXT NOT NULL DEFAULT '', message_id TEXT NOT NULL DEFAULT '',"
        " attachments INTEGER NOT NULL DEFAULT 0, inlines INTEGER NOT NULL DEFAULT 0, snippet TEXT);"
        /* as the index keeps it: folded text, accents kept */
        "CREATE VIRTUAL TABLE messages_fts USING fts5(subject, addresses, body,"
        " tokenize=\"unicode61 remove_diacritics 0\");"
        /* 1: read, tagged, attachment, big, 2024-01-01 */
        "INSERT INTO messages(id,flags,keywords,internaldate,size,rcpts,hdr_from,hdr_to,subject,message_id,"
        " attachments) VALUES(1,1,'Urgent $label1',1704067200,2000000,'bob@x.test,secret@x.test',"
        " 'Alice <alice@shop.test>','Bob <bob@x.test>','Your order 50% off','order-1@shop.test',1);"
        "INSERT INTO messages_fts_raw(rowid,subject,addresses,body) VALUES(1,'Your order 50% off',"
        " 'alice@shop.test bob@x.test','Invoice total: 10 EUR. Thanks for shopping');"
        /* 2: unread, no tags, inline image, small, 2024-02-01 */
        "INSERT INTO messages(id,flags,keywords,internaldate,size,rcpts,hdr_from,hdr_to,hdr_cc,subject,"
        " message_id,inlines) VALUES(2,0,'',1706745600,3000,'carol@x.test','Shop <noreply@shop.test>',"
        " 'carol@x.test','dave@x.test','Password reset','reset-2@shop.test',1);"
        "INSERT INTO messages_fts_raw(rowid,subject,addresses,body) VALUES(2,'Password reset',"
        " 'noreply@shop.test carol@x.test dave@x.test','Click https://shop.test/reset?token=abc to reset');"
        /* 3: draft word in body, unicode subject */
        "INSERT INTO messages(id,flags,internaldate,size,hdr_from,hdr_to,hdr_reply_to,subject)"
        " VALUES(3,0,1709251200,500,'Erin <erin@y.test>','team@y.test','help@y.test','Ünïcode draft \"quoted\"');"
        "INSERT INTO messages_fts_raw(rowid,subject,addresses,body) VALUES(3,'Ünïcode draft \"quoted\"',"
        " 'erin@y.test team@y.test help@y.test','This is a draft. Say \"hi\" NEAR(x)');";
    char *msg = NULL;
    if (sqlite3_exec(db, "CREATE TEMP TABLE messages_fts_raw(rowid INTEGER PRIMARY KEY, subject, addresses, body)",
                     NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("raw: %s", msg);
    if (sqlite3_exec(db, schema, NULL, NULL, &msg) != SQLITE_OK) fail_msg("schema: %s", msg);
    if (sqlite3_exec(db,
                     "INSERT INTO messages_fts(rowid,subject,addresses,body) SELECT rowid, devmail_fold(subject),"
                     " devmail_fold(addresses), devmail_fold(body) FROM messages_fts_raw",
                     NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("fts: %s", msg);
    return db;
}

/* Run query against the test rows; return the matching ids as "1,3". */
static void run_query(sqlite3 *db, const char *query, char *out, size_t outsz) {
    struct search_query q = parse_ok(query);
    struct search_sql s;
    search_compile(&q, &s);
    buf_t sql = BUF_INIT;
    buf_printf(&sql, "SELECT id FROM messages WHERE mailbox_id IS NOT ? AND (%s) ORDER BY id", buf_cstr(&s.where));
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, buf_cstr(&sql), -1, &st, NULL) != SQLITE_OK)
        fail_msg("'%s': prepare: %s", query, sqlite3_errmsg(db));
    assert_int_equal(sqlite3_bind_int(st, 1, 42), SQLITE_OK);
    int next = search_sql_bind(&s, st, 2);
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
    search_sql_free(&s);
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
        {"subject:üNÏCODE", "3"},       /* folded for all of Unicode */
        {"subject:unicode", ""},         /* accents are kept */
        {"ÜNÏCODE", "3"},                /* full text folds the same way */
        {"unicode", ""},
        {"FROM:ALICE@SHOP", "1"},
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
