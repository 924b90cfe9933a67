/*
 * test_index_ids - identities in the index are never given out twice:
 * mailboxes.id (held by sessions that have a mailbox selected) is
 * AUTOINCREMENT in a new index, and an index made before that is rebuilt
 * on open without losing a mailbox or a message. And deleted rows leave
 * the full-text index in bounded steps (index_maintain), never in one
 * long merge. Each test works in its own mkdtemp directory.
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
#include "store/index.h"
#include "store/summary.h"
#include "unit_dir.h"

static char *index_path(const char *dir) {
    buf_t p = BUF_INIT;
    buf_printf(&p, "%s/index.sqlite", dir);
    return buf_steal(&p);
}

/* One text value of a query, malloc'd ("" for NULL). */
static char *query_text(struct index *idx, const char *sql) {
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(index_db(idx), sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const char *t = (const char *)sqlite3_column_text(st, 0);
    char *out = strdup(t ? t : "");
    sqlite3_finalize(st);
    return out;
}

static void delete_mailbox(struct index *idx, int64_t id) {
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(index_db(idx), "DELETE FROM mailboxes WHERE id=?", -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_int64(st, 1, id);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
}

/* A new index: the newest mailbox deleted, the next one gets a new id. */
static void test_mailbox_ids_not_reused(void **state) {
    char *path = index_path(*state);
    struct index *idx;
    buf_t err = BUF_INIT;
    assert_int_equal(index_open(&idx, path, &err), 0);
    struct index_mailbox a, b, c;
    assert_int_equal(index_mailbox_get(idx, "all@example.com", "INBOX", true, &a), 0);
    assert_int_equal(index_mailbox_get(idx, "all@example.com", "Old", true, &b), 0);
    delete_mailbox(idx, b.id);
    assert_int_equal(index_mailbox_get(idx, "all@example.com", "New", true, &c), 0);
    assert_true(c.id > b.id);
    assert_true(c.uidvalidity != b.uidvalidity);
    index_close(idx);
    /* and after a restart */
    assert_int_equal(index_open(&idx, path, &err), 0);
    delete_mailbox(idx, c.id);
    assert_int_equal(index_mailbox_get(idx, "all@example.com", "Newer", true, &b), 0);
    assert_true(b.id > c.id);
    index_close(idx);
    buf_free(&err);
    free(path);
}

/* An index made before mailboxes.id was AUTOINCREMENT: rebuilt on open,
 * every mailbox (id, UIDVALIDITY, UIDNEXT, subscription) and every message
 * kept, and no id given out twice after. */
static void test_mailboxes_migration(void **state) {
    char *path = index_path(*state);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db,
                     "PRAGMA foreign_keys=ON;"
                     "CREATE TABLE mailboxes(id INTEGER PRIMARY KEY, account TEXT NOT NULL, name TEXT NOT NULL,"
                     " uidvalidity INTEGER NOT NULL, uidnext INTEGER NOT NULL,"
                     " highestmodseq INTEGER NOT NULL DEFAULT 1, subscribed INTEGER NOT NULL DEFAULT 1,"
                     " UNIQUE(account, name));"
                     "CREATE TABLE messages(id INTEGER PRIMARY KEY,"
                     " mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,"
                     " uid INTEGER NOT NULL, api_id TEXT NOT NULL, base TEXT NOT NULL, subdir TEXT NOT NULL,"
                     " flags INTEGER NOT NULL DEFAULT 0, keywords TEXT NOT NULL DEFAULT '',"
                     " modseq INTEGER NOT NULL DEFAULT 1, internaldate INTEGER NOT NULL,"
                     " sent_date INTEGER NOT NULL DEFAULT 0, size INTEGER NOT NULL,"
                     " mail_from TEXT NOT NULL DEFAULT '', rcpts TEXT NOT NULL DEFAULT '',"
                     " hdr_from TEXT NOT NULL DEFAULT '', hdr_to TEXT NOT NULL DEFAULT '',"
                     " hdr_cc TEXT NOT NULL DEFAULT '', hdr_bcc TEXT NOT NULL DEFAULT '',"
                     " hdr_reply_to TEXT NOT NULL DEFAULT '', subject TEXT NOT NULL DEFAULT '',"
                     " message_id TEXT NOT NULL DEFAULT '', attachments INTEGER NOT NULL DEFAULT 0,"
                     " inlines INTEGER NOT NULL DEFAULT 0, snippet TEXT NOT NULL DEFAULT '',"
                     " UNIQUE(mailbox_id, uid), UNIQUE(mailbox_id, base));"
                     "INSERT INTO mailboxes VALUES(1, 'all@example.com', 'INBOX', 7, 4, 5, 1),"
                     " (3, 'all@example.com', 'Archive', 9, 2, 2, 0);"
                     "INSERT INTO messages(id, mailbox_id, uid, api_id, base, subdir, internaldate, size, subject)"
                     " VALUES(1, 1, 1, 'a', 'a,S=1', 'new', 0, 1, 'one'), (2, 3, 1, 'b', 'b,S=1', 'cur', 0, 1, 'two');",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);

    struct index *idx;
    buf_t err = BUF_INIT;
    assert_int_equal(index_open(&idx, path, &err), 0);
    char *sql = query_text(idx, "SELECT sql FROM sqlite_master WHERE type='table' AND name='mailboxes'");
    assert_non_null(strstr(sql, "AUTOINCREMENT"));
    free(sql);
    char *boxes = query_text(idx, "SELECT group_concat(id || ':' || name || ':' || uidvalidity || ':' || uidnext"
                                  " || ':' || highestmodseq || ':' || subscribed, ' ') FROM"
                                  " (SELECT * FROM mailboxes ORDER BY id)");
    assert_string_equal(boxes, "1:INBOX:7:4:5:1 3:Archive:9:2:2:0");
    free(boxes);
    char *msgs = query_text(idx, "SELECT group_concat(id || ':' || mailbox_id || ':' || subject, ' ') FROM"
                                 " (SELECT * FROM messages ORDER BY id)");
    assert_string_equal(msgs, "1:1:one 2:3:two");
    free(msgs);
    /* the foreign key still holds: deleting a mailbox deletes its messages */
    delete_mailbox(idx, 3);
    char *left = query_text(idx, "SELECT count(*) FROM messages");
    assert_string_equal(left, "1");
    free(left);
    /* the newest mailbox (3) is gone; the next one gets a new id */
    struct index_mailbox mb;
    assert_int_equal(index_mailbox_get(idx, "all@example.com", "Fresh", true, &mb), 0);
    assert_int_equal(mb.id, 4);
    index_close(idx);

    /* opening again changes nothing */
    assert_int_equal(index_open(&idx, path, &err), 0);
    assert_int_equal(index_mailbox_get(idx, "all@example.com", "INBOX", false, &mb), 0);
    assert_int_equal(mb.id, 1);
    assert_int_equal(mb.uidvalidity, 7);
    assert_int_equal(mb.uidnext, 4);
    index_close(idx);
    buf_free(&err);
    free(path);
}

static int64_t query_int(struct index *idx, const char *sql) {
    char *t = query_text(idx, sql);
    int64_t v = strtoll(t, NULL, 10);
    free(t);
    return v;
}

/* 300 messages, 150 deleted: the full-text merge that frees their pages
 * runs as several bounded index_maintain steps (each one a 'merge' of at
 * most 256 pages), ends by itself, and leaves a sound index that finds the
 * kept messages and none of the deleted ones. */
static void test_fts_merge_in_steps(void **state) {
    char *path = index_path(*state);
    buf_t file = BUF_INIT, text = BUF_INIT, base = BUF_INIT;
    summary_init();
    buf_printf(&file, "%s/msg.eml", (char *)*state);
    struct index *idx;
    buf_t err = BUF_INIT;
    assert_int_equal(index_open(&idx, path, &err), 0);
    struct index_mailbox mb;
    assert_int_equal(index_mailbox_get(idx, "all@example.com", "INBOX", true, &mb), 0);
    int64_t rows[300];
    index_begin(idx);
    for (int i = 0; i < 300; i++) {
        buf_reset(&text);
        buf_printf(&text, "From: a@example.com\r\nSubject: note %d\r\n\r\n", i);
        /* distinct words, so the index has real volume to merge */
        for (int w = 0; w < 400; w++) buf_printf(&text, "w%dx%d ", i, w);
        buf_printf(&text, "%s\r\n", i % 2 ? "keptword" : "goneword");
        FILE *f = fopen(buf_cstr(&file), "w");
        assert_non_null(f);
        fwrite(text.data, 1, text.len, f);
        fclose(f);
        struct msg_summary sum;
        summary_from_file(buf_cstr(&file), &sum);
        buf_reset(&base);
        buf_printf(&base, "100%d.M1P1Q%d.test,S=%zu", i, i, text.len);
        struct index_new_msg m = {.base = buf_cstr(&base), .subdir = "new", .internaldate = 1, .size = (int64_t)text.len,
                                  .summary = &sum};
        assert_int_equal(index_add_message(idx, mb.id, &m, NULL, &rows[i]), 0);
        summary_free(&sum);
    }
    assert_int_equal(index_commit(idx), 0);
    index_fts_flush(idx, 0);
    assert_false(index_maintain_pending(idx));
    index_begin(idx);
    for (int i = 0; i < 300; i += 2) assert_int_equal(index_delete_message(idx, rows[i]), 0);
    assert_int_equal(index_commit(idx), 0);

    int steps = 0;
    index_maintain(idx, 2048);
    assert_true(index_maintain_pending(idx)); /* more than one step's work */
    while (index_maintain_pending(idx) && steps < 10000) {
        index_maintain(idx, 2048);
        steps++;
    }
    assert_false(index_maintain_pending(idx));
    assert_true(steps >= 1);
    assert_int_equal(sqlite3_exec(index_db(idx), "INSERT INTO messages_fts(messages_fts) VALUES('integrity-check')",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(query_int(idx, "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'keptword'"), 150);
    assert_int_equal(query_int(idx, "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'goneword'"), 0);
    index_close(idx);
    buf_free(&err);
    buf_free(&file);
    buf_free(&text);
    buf_free(&base);
    free(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mailbox_ids_not_reused, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_mailboxes_migration, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_fts_merge_in_steps, setup_dir, teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
