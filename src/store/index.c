#include "store/index.h"

#include <dirent.h>
#include <stdatomic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <glib.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "store/maildir.h"
#include "store/search_compile.h"
#include "store/maildir_keywords.h"

/* SQLite page cache of a reading connection, in KiB: holds a busy
 * mailbox's rows (SQLite's default is 2 MiB). */
#define INDEX_CACHE_KB 8192
/* Statements kept prepared per connection (index_stmt); more distinct SQL
 * texts than this are prepared and finalized each time. */
#define INDEX_STMT_CACHE 64

struct index {
    sqlite3 *db;
    int tx_depth;
    bool freed;       /* rows deleted since the last index_maintain */
    atomic_bool write_failed; /* the last commit failed (read by other threads) */
    int64_t fts_dead; /* rows deleted from the full-text index since its last merge */
    bool fts_merging; /* a merge of the full-text index is under way, a step a turn */
    sqlite3_stmt *ins_msg, *ins_fts, *get_mbox, *ins_mbox, *bump_uid, *bump_modseq, *ins_sort;
    /* index_stmt: statements prepared once, by their SQL text */
    struct cached_stmt {
        char *sql;
        sqlite3_stmt *st;
    } cache[INDEX_STMT_CACHE];
    int ncache;
};

/* messages.id is AUTOINCREMENT: a row id is never given out twice, so a
 * session still holding the id of an expunged message cannot reach a
 * message added after it (SQLite would otherwise reuse the largest id). */
#define MESSAGES_COLUMNS \
    "(id INTEGER PRIMARY KEY AUTOINCREMENT," \
    "  mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE," \
    "  uid INTEGER NOT NULL, api_id TEXT NOT NULL, base TEXT NOT NULL, subdir TEXT NOT NULL," \
    "  flags INTEGER NOT NULL DEFAULT 0, keywords TEXT NOT NULL DEFAULT ''," \
    "  modseq INTEGER NOT NULL DEFAULT 1, internaldate INTEGER NOT NULL, sent_date INTEGER NOT NULL DEFAULT 0," \
    "  size INTEGER NOT NULL, mail_from TEXT NOT NULL DEFAULT '', rcpts TEXT NOT NULL DEFAULT ''," \
    "  hdr_from TEXT NOT NULL DEFAULT '', hdr_to TEXT NOT NULL DEFAULT '', hdr_cc TEXT NOT NULL DEFAULT ''," \
    "  hdr_bcc TEXT NOT NULL DEFAULT '', hdr_reply_to TEXT NOT NULL DEFAULT '', subject TEXT NOT NULL DEFAULT ''," \
    "  message_id TEXT NOT NULL DEFAULT '', attachments INTEGER NOT NULL DEFAULT 0," \
    "  inlines INTEGER NOT NULL DEFAULT 0, snippet TEXT NOT NULL DEFAULT ''," \
    "  recent INTEGER NOT NULL DEFAULT 1," \
    "  env_cache TEXT, body_cache TEXT, bs_cache TEXT," \
    "  sent_tz INTEGER," \
    "  auth_user TEXT NOT NULL DEFAULT ''," \
    "  UNIQUE(mailbox_id, uid), UNIQUE(mailbox_id, base))"

/* narrow covering indexes (the last two): counts of all/unread per mailbox
 * and the set of tags without reading the wide rows (API lists, STATUS) */
#define MESSAGES_INDEXES \
    "CREATE INDEX IF NOT EXISTS messages_api_id ON messages(api_id);" \
    "CREATE INDEX IF NOT EXISTS messages_date ON messages(internaldate);" \
    "CREATE INDEX IF NOT EXISTS messages_mbox_flags ON messages(mailbox_id, flags);" \
    "CREATE INDEX IF NOT EXISTS messages_tagged ON messages(mailbox_id, keywords) WHERE keywords != '';"

/* mailboxes.id is AUTOINCREMENT too: a session that has a mailbox selected
 * knows it by this id, and must not be shown the messages of a mailbox
 * created after that one was deleted. */
#define MAILBOXES_COLUMNS \
    "(id INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT NOT NULL, name TEXT NOT NULL," \
    "  uidvalidity INTEGER NOT NULL, uidnext INTEGER NOT NULL," \
    "  highestmodseq INTEGER NOT NULL DEFAULT 1, subscribed INTEGER NOT NULL DEFAULT 1," \
    "  UNIQUE(account, name))"

/* The full-text index holds text folded by devmail_fold() (core/text_fold.h),
 * as IMAP SEARCH folds: the tokenizer only splits words, and keeps accents. */
#define MESSAGES_FTS_COLUMNS "(subject, addresses, body, tokenize=\"unicode61 remove_diacritics 0\")"

/* IMAP SORT/THREAD keys of each message (summary.h), apart from the wide
 * messages rows (whose cached ENVELOPE/BODYSTRUCTURE would otherwise be
 * read past by every SORT): one row per message, written with it, gone
 * with it. sent is the RFC 5256 2.2 sent date (Date:, else INTERNALDATE).
 * Rows indexed before this table existed get theirs from
 * store_sort_keys_fill. */
#define SORT_KEYS_COLUMNS "id,mailbox_id,uid,sent,arrival,size,subject,reply,sfrom,sto,scc,dfrom,dto,message_id,in_reply_to,refs"
#define SORT_KEYS_SCHEMA \
    "CREATE TABLE IF NOT EXISTS sort_keys(id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE," \
    "  mailbox_id INTEGER NOT NULL, uid INTEGER NOT NULL, sent INTEGER NOT NULL, arrival INTEGER NOT NULL," \
    "  size INTEGER NOT NULL, subject TEXT NOT NULL, reply INTEGER NOT NULL, sfrom TEXT NOT NULL," \
    "  sto TEXT NOT NULL, scc TEXT NOT NULL, dfrom TEXT NOT NULL, dto TEXT NOT NULL, message_id TEXT NOT NULL," \
    "  in_reply_to TEXT NOT NULL, refs TEXT NOT NULL);" \
    "CREATE INDEX IF NOT EXISTS sort_keys_mbox ON sort_keys(mailbox_id, uid);" \
    "CREATE INDEX IF NOT EXISTS sort_keys_sent ON sort_keys(mailbox_id, sent, uid);"

static const char *const index_schema =
    /* before the first table, so a new index can give pages back */
    "PRAGMA auto_vacuum=INCREMENTAL;"
    "PRAGMA journal_mode=WAL;"
    /* the WAL file shrinks back to this after a checkpoint */
    "PRAGMA journal_size_limit=4194304;"
    "PRAGMA synchronous=NORMAL;"
    "PRAGMA foreign_keys=ON;"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE IF NOT EXISTS mailboxes" MAILBOXES_COLUMNS ";"
    "CREATE TABLE IF NOT EXISTS messages" MESSAGES_COLUMNS ";"
    MESSAGES_INDEXES
    SORT_KEYS_SCHEMA
    "CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5" MESSAGES_FTS_COLUMNS ";"
    /* IMAP subscriptions: names, not mailboxes (RFC 3501 6.3.6), so a
     * name stays subscribed when its mailbox is deleted, and a name that
     * does not exist may be subscribed */
    "CREATE TABLE IF NOT EXISTS subscriptions(account TEXT NOT NULL, name TEXT NOT NULL,"
    "  PRIMARY KEY(account, name)) WITHOUT ROWID;"
    /* text waiting to enter messages_fts (see index_fts_flush) */
    "CREATE TABLE IF NOT EXISTS fts_queue(rowid INTEGER PRIMARY KEY, subject TEXT, addresses TEXT, body TEXT);";

/* Free space (bytes) above which an index without auto_vacuum is vacuumed
 * once when opened. */
#define INDEX_VACUUM_AT_OPEN (4 * 1024 * 1024)
/* Deleted rows after which the full-text index is merged (and its space
 * freed), a step at each index_maintain. */
#define INDEX_FTS_MERGE_AFTER 100
/* A merge step writes at most 256 pages (the -256 below): about 25 ms at
 * 100,000 messages, where a whole 'optimize' holds the caller for 1.3 s. */

static int64_t pragma_int(struct index *idx, const char *sql) {
    sqlite3_stmt *st;
    int64_t v = -1;
    if (sqlite3_prepare_v2(idx->db, sql, -1, &st, NULL) != SQLITE_OK) return -1;
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

bool index_maintain_pending(const struct index *idx) { return idx->fts_merging; }

int index_maintain(struct index *idx, int64_t max_pages) {
    if (idx->tx_depth) return 0;
    if (idx->fts_dead >= INDEX_FTS_MERGE_AFTER) {
        idx->fts_dead = 0;
        idx->fts_merging = true;
    }
    if (idx->fts_merging) {
        /* FTS5 keeps deleted rows as tombstones until its segments are
         * merged into one: only then are their pages free. A negative
         * 'merge' does that work like 'optimize', but in bounded steps;
         * a step that changes fewer than two rows found nothing to do. */
        int before = sqlite3_total_changes(idx->db);
        if (sqlite3_exec(idx->db, "INSERT INTO messages_fts(messages_fts, rank) VALUES('merge', -256)", NULL, NULL,
                         NULL) != SQLITE_OK)
            log_warn("index: full-text merge: %s", sqlite3_errmsg(idx->db)); /* tried again next turn */
        else if (sqlite3_total_changes(idx->db) - before < 2)
            idx->fts_merging = false;
        else
            idx->freed = true;
    }
    int64_t freelist = pragma_int(idx, "PRAGMA freelist_count");
    int64_t done = 0;
    if (freelist > 0 && pragma_int(idx, "PRAGMA auto_vacuum") == 2) {
        char sql[64];
        done = freelist < max_pages ? freelist : max_pages;
        snprintf(sql, sizeof sql, "PRAGMA incremental_vacuum(%lld)", (long long)done);
        if (sqlite3_exec(idx->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
            log_warn("index: incremental vacuum: %s", sqlite3_errmsg(idx->db));
            return -1;
        }
    }
    if ((idx->freed || done) && freelist <= max_pages) {
        idx->freed = false;
        /* without waiting for the commit thread: the WAL is reset (and cut
         * to journal_size_limit) once every frame is in the database */
        sqlite3_wal_checkpoint_v2(idx->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    }
    return (int)done;
}

static int prepare(struct index *idx, sqlite3_stmt **st, const char *sql) {
    if (sqlite3_prepare_v3(idx->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
        log_error("index: cannot prepare: %s", sqlite3_errmsg(idx->db));
        return -1;
    }
    return 0;
}

/* Whether a table was created before its id became AUTOINCREMENT. */
static bool table_needs_autoincrement(struct index *idx, const char *table) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(idx->db, "SELECT sql FROM sqlite_master WHERE type='table' AND name=?", -1, &st, NULL) !=
        SQLITE_OK)
        return false;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    bool old = false;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *sql = (const char *)sqlite3_column_text(st, 0);
        old = sql && !strstr(sql, "AUTOINCREMENT");
    }
    sqlite3_finalize(st);
    return old;
}

static int exec_sql(struct index *idx, const char *sql, buf_t *err) {
    char *msg = NULL;
    if (sqlite3_exec(idx->db, sql, NULL, NULL, &msg) == SQLITE_OK) return 0;
    buf_printf(err, "%s", msg ? msg : sqlite3_errmsg(idx->db));
    sqlite3_free(msg);
    return -1;
}

/* An index made before messages.id was AUTOINCREMENT: rebuild the table
 * with it, in one transaction (rows, ids, indexes kept) and make the id
 * sequence start above every id in use. Another connection opening the
 * same file at the same time finds it done once it gets the lock. */
static int migrate_autoincrement(struct index *idx, buf_t *err) {
    if (!table_needs_autoincrement(idx, "messages")) return 0;
    if (exec_sql(idx, "BEGIN IMMEDIATE", err) < 0) return -1;
    if (!table_needs_autoincrement(idx, "messages")) return exec_sql(idx, "COMMIT", err);
    buf_t cols = BUF_INIT, q = BUF_INIT;
    sqlite3_stmt *st;
    int rc = -1;
    if (sqlite3_prepare_v2(idx->db, "SELECT group_concat(name, ',') FROM pragma_table_info('messages')", -1, &st,
                           NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
            buf_append_str(&cols, (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
    }
    if (cols.len) {
        buf_printf(&q,
                   "CREATE TABLE messages_new" MESSAGES_COLUMNS ";"
                   "INSERT INTO messages_new(%s) SELECT %s FROM messages ORDER BY id;"
                   "DROP TABLE messages;"
                   "ALTER TABLE messages_new RENAME TO messages;" MESSAGES_INDEXES
                   "DELETE FROM sqlite_sequence WHERE name='messages';"
                   "INSERT INTO sqlite_sequence(name, seq) SELECT 'messages', coalesce(max(id), 0) FROM messages;",
                   buf_cstr(&cols), buf_cstr(&cols));
        rc = exec_sql(idx, buf_cstr(&q), err);
    } else {
        buf_printf(err, "cannot read the columns of messages");
    }
    buf_free(&cols);
    buf_free(&q);
    if (rc < 0) {
        sqlite3_exec(idx->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    if (exec_sql(idx, "COMMIT", err) < 0) {
        sqlite3_exec(idx->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    log_info("index: message ids are no longer reused (messages table rebuilt with AUTOINCREMENT)");
    return 0;
}

/* The same for mailboxes, the parent of messages: foreign keys are off
 * while it is rebuilt (dropping it would otherwise delete every message)
 * and checked before the commit. */
static int migrate_mailboxes_autoincrement(struct index *idx, buf_t *err) {
    if (!table_needs_autoincrement(idx, "mailboxes")) return 0;
    if (exec_sql(idx, "PRAGMA foreign_keys=OFF", err) < 0) return -1;
    int rc = exec_sql(idx, "BEGIN IMMEDIATE", err);
    if (rc == 0 && table_needs_autoincrement(idx, "mailboxes")) {
        rc = exec_sql(idx,
                      "CREATE TABLE mailboxes_new" MAILBOXES_COLUMNS ";"
                      "INSERT INTO mailboxes_new(id,account,name,uidvalidity,uidnext,highestmodseq,subscribed)"
                      " SELECT id,account,name,uidvalidity,uidnext,highestmodseq,subscribed FROM mailboxes"
                      " ORDER BY id;"
                      "DROP TABLE mailboxes;"
                      "ALTER TABLE mailboxes_new RENAME TO mailboxes;"
                      "DELETE FROM sqlite_sequence WHERE name='mailboxes';"
                      "INSERT INTO sqlite_sequence(name, seq) SELECT 'mailboxes', coalesce(max(id), 0) FROM mailboxes;",
                      err);
        if (rc == 0) {
            /* every message still belongs to a mailbox */
            sqlite3_stmt *st;
            if (sqlite3_prepare_v2(idx->db, "PRAGMA foreign_key_check(messages)", -1, &st, NULL) != SQLITE_OK ||
                sqlite3_step(st) != SQLITE_DONE) {
                buf_printf(err, "mailboxes rebuilt, but messages do not match them");
                rc = -1;
            }
            sqlite3_finalize(st);
        }
        if (rc == 0) {
            rc = exec_sql(idx, "COMMIT", err);
            if (rc == 0) log_info("index: mailbox ids are no longer reused (mailboxes table rebuilt with AUTOINCREMENT)");
        }
        if (rc < 0) sqlite3_exec(idx->db, "ROLLBACK", NULL, NULL, NULL);
    } else if (rc == 0) {
        rc = exec_sql(idx, "COMMIT", err);
    }
    sqlite3_exec(idx->db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL);
    return rc;
}

/* A full-text index from before the text was folded (its tokenizer
 * removed accents and folded ASCII-like case only): rebuilt once, in one
 * transaction, from the text it holds. */
static bool fts_needs_fold(struct index *idx) {
    sqlite3_stmt *st;
    bool old = false;
    if (sqlite3_prepare_v2(idx->db, "SELECT sql FROM sqlite_master WHERE name='messages_fts'", -1, &st, NULL) !=
        SQLITE_OK)
        return false;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *sql = (const char *)sqlite3_column_text(st, 0);
        old = sql && !strstr(sql, "remove_diacritics");
    }
    sqlite3_finalize(st);
    return old;
}

static int migrate_fts_fold(struct index *idx, buf_t *err) {
    if (!fts_needs_fold(idx)) return 0;
    if (exec_sql(idx, "BEGIN IMMEDIATE", err) < 0) return -1;
    if (!fts_needs_fold(idx)) return exec_sql(idx, "COMMIT", err);
    int rc = exec_sql(idx,
                      "DROP TABLE IF EXISTS messages_fts_new;"
                      "CREATE VIRTUAL TABLE messages_fts_new USING fts5" MESSAGES_FTS_COLUMNS ";"
                      "INSERT INTO messages_fts_new(rowid, subject, addresses, body)"
                      " SELECT rowid, devmail_fold(subject), devmail_fold(addresses), devmail_fold(body)"
                      " FROM messages_fts;"
                      "DROP TABLE messages_fts;"
                      "ALTER TABLE messages_fts_new RENAME TO messages_fts;",
                      err);
    if (rc == 0) rc = exec_sql(idx, "COMMIT", err);
    if (rc < 0) {
        sqlite3_exec(idx->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    log_info("index: full-text index rebuilt with Unicode case folding");
    return 0;
}

/* Subscriptions used to be a flag of a mailbox (mailboxes.subscribed,
 * set for every mailbox): an index from then keeps the names it had
 * subscribed, once. */
static bool subscriptions_migrated(struct index *idx) {
    sqlite3_stmt *st;
    bool done = false;
    if (sqlite3_prepare_v2(idx->db, "SELECT 1 FROM meta WHERE key='subscriptions'", -1, &st, NULL) != SQLITE_OK)
        return false;
    done = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return done;
}

static int migrate_subscriptions(struct index *idx, buf_t *err) {
    if (subscriptions_migrated(idx)) return 0; /* no write lock at every open */
    if (exec_sql(idx, "BEGIN IMMEDIATE", err) < 0) return -1;
    int rc = exec_sql(idx,
                      "INSERT OR IGNORE INTO subscriptions(account, name)"
                      " SELECT account, name FROM mailboxes WHERE subscribed=1"
                      " AND NOT EXISTS (SELECT 1 FROM meta WHERE key='subscriptions');"
                      "INSERT OR IGNORE INTO meta(key, value) VALUES('subscriptions', '1');",
                      err);
    if (rc == 0) rc = exec_sql(idx, "COMMIT", err);
    if (rc < 0) sqlite3_exec(idx->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int index_open(struct index **out, const char *path, buf_t *err) {
    struct index *idx = xcalloc(1, sizeof *idx);
    if (sqlite3_open_v2(path, &idx->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        buf_printf(err, "%s: %s", path, idx->db ? sqlite3_errmsg(idx->db) : "cannot open");
        index_close(idx);
        return -1;
    }
    /* Other processes (purge, reindex) may hold the lock briefly. */
    sqlite3_busy_timeout(idx->db, 5000);
    index_set_cache_kb(idx, INDEX_CACHE_KB);
    if (search_sql_functions(idx->db) < 0) {
        buf_printf(err, "%s: cannot register SQL functions: %s", path, sqlite3_errmsg(idx->db));
        index_close(idx);
        return -1;
    }
    char *msg = NULL;
    if (sqlite3_exec(idx->db, index_schema, NULL, NULL, &msg) != SQLITE_OK) {
        buf_printf(err, "%s: %s", path, msg ? msg : "schema error");
        sqlite3_free(msg);
        index_close(idx);
        return -1;
    }
    /* an index from before auto_vacuum, holding much free space: one
     * VACUUM gives it back and turns incremental vacuuming on */
    if (pragma_int(idx, "PRAGMA auto_vacuum") != 2 &&
        pragma_int(idx, "PRAGMA freelist_count") * pragma_int(idx, "PRAGMA page_size") >= INDEX_VACUUM_AT_OPEN) {
        log_info("index: giving back %lld free pages (one-time VACUUM)", (long long)pragma_int(idx, "PRAGMA freelist_count"));
        sqlite3_exec(idx->db, "PRAGMA auto_vacuum=INCREMENTAL; VACUUM;", NULL, NULL, NULL);
    }
    /* columns added after the first release of the schema */
    static const char *const migrations[] = {
        "ALTER TABLE messages ADD COLUMN recent INTEGER NOT NULL DEFAULT 1",
        "ALTER TABLE messages ADD COLUMN env_cache TEXT",
        "ALTER TABLE messages ADD COLUMN body_cache TEXT",
        "ALTER TABLE messages ADD COLUMN bs_cache TEXT",
        /* NULL in rows indexed before it: SEARCH reads their Date header */
        "ALTER TABLE messages ADD COLUMN sent_tz INTEGER",
        "ALTER TABLE messages ADD COLUMN auth_user TEXT NOT NULL DEFAULT ''",
    };
    for (size_t i = 0; i < sizeof migrations / sizeof migrations[0]; i++)
        sqlite3_exec(idx->db, migrations[i], NULL, NULL, NULL); /* "duplicate column" when present */
    buf_t merr = BUF_INIT;
    if (migrate_autoincrement(idx, &merr) < 0 || migrate_mailboxes_autoincrement(idx, &merr) < 0 ||
        migrate_subscriptions(idx, &merr) < 0 || migrate_fts_fold(idx, &merr) < 0) {
        buf_printf(err, "%s: %s", path, buf_cstr(&merr));
        buf_free(&merr);
        index_close(idx);
        return -1;
    }
    buf_free(&merr);
    if (prepare(idx, &idx->ins_msg,
                "INSERT INTO messages(mailbox_id,uid,api_id,base,subdir,flags,keywords,modseq,internaldate,"
                "sent_date,size,mail_from,rcpts,hdr_from,hdr_to,hdr_cc,hdr_bcc,hdr_reply_to,subject,message_id,"
                "attachments,inlines,snippet,sent_tz,auth_user) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)") ||
        prepare(idx, &idx->ins_sort,
                "INSERT OR REPLACE INTO sort_keys(" SORT_KEYS_COLUMNS ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)") ||
        prepare(idx, &idx->ins_fts, "INSERT INTO fts_queue(rowid,subject,addresses,body) VALUES(?,?,?,?)") ||
        prepare(idx, &idx->get_mbox,
                "SELECT id,uidvalidity,uidnext,highestmodseq FROM mailboxes WHERE account=? AND name=?") ||
        prepare(idx, &idx->ins_mbox, "INSERT INTO mailboxes(account,name,uidvalidity,uidnext) VALUES(?,?,?,1)") ||
        prepare(idx, &idx->bump_uid,
                "UPDATE mailboxes SET uidnext=uidnext+1, highestmodseq=highestmodseq+1 WHERE id=? "
                "RETURNING uidnext-1, highestmodseq") ||
        prepare(idx, &idx->bump_modseq,
                "UPDATE mailboxes SET highestmodseq=highestmodseq+1 WHERE id=? RETURNING highestmodseq")) {
        buf_printf(err, "%s: %s", path, sqlite3_errmsg(idx->db));
        index_close(idx);
        return -1;
    }
    *out = idx;
    return 0;
}

sqlite3_stmt *index_stmt(struct index *idx, const char *sql) {
    sqlite3_stmt *st = NULL;
    for (int i = 0; i < idx->ncache; i++) {
        struct cached_stmt *c = &idx->cache[i];
        if (c->sql != sql && strcmp(c->sql, sql) != 0) continue;
        /* in use (a cursor still open on it): a statement of its own */
        if (!sqlite3_stmt_busy(c->st)) return c->st;
        break;
    }
    bool keep = idx->ncache < INDEX_STMT_CACHE;
    if (sqlite3_prepare_v3(idx->db, sql, -1, keep ? SQLITE_PREPARE_PERSISTENT : 0, &st, NULL) != SQLITE_OK) {
        log_error("index: cannot prepare: %s", sqlite3_errmsg(idx->db));
        sqlite3_finalize(st);
        return NULL;
    }
    if (keep) {
        for (int i = 0; i < idx->ncache; i++)
            if (!strcmp(idx->cache[i].sql, sql)) keep = false; /* that one is busy: this one is temporary */
    }
    if (keep) {
        idx->cache[idx->ncache].sql = xstrdup(sql);
        idx->cache[idx->ncache].st = st;
        idx->ncache++;
    }
    return st;
}

void index_stmt_done(struct index *idx, sqlite3_stmt *st) {
    if (!st) return;
    for (int i = 0; i < idx->ncache; i++)
        if (idx->cache[i].st == st) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st); /* bound strings are the caller's */
            return;
        }
    sqlite3_finalize(st);
}

/* One statement of the cache run to its end: 0, or -1 (logged). */
static int exec_cached(struct index *idx, const char *sql) {
    sqlite3_stmt *st = index_stmt(idx, sql);
    if (!st) return -1;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) log_error("index: %s: %s", sql, sqlite3_errmsg(idx->db));
    index_stmt_done(idx, st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

void index_close(struct index *idx) {
    if (!idx) return;
    for (int i = 0; i < idx->ncache; i++) {
        sqlite3_finalize(idx->cache[i].st);
        free(idx->cache[i].sql);
    }
    sqlite3_finalize(idx->ins_msg);
    sqlite3_finalize(idx->ins_fts);
    sqlite3_finalize(idx->get_mbox);
    sqlite3_finalize(idx->ins_mbox);
    sqlite3_finalize(idx->bump_uid);
    sqlite3_finalize(idx->bump_modseq);
    sqlite3_finalize(idx->ins_sort);
    sqlite3_close(idx->db);
    free(idx);
}

void index_release_memory(struct index *idx) {
    sqlite3_db_release_memory(idx->db);
}

void index_set_cache_kb(struct index *idx, int kb) {
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA cache_size=-%d", kb);
    sqlite3_exec(idx->db, sql, NULL, NULL, NULL);
}

sqlite3 *index_db(struct index *idx) {
    return idx->db;
}

void index_begin(struct index *idx) {
    if (idx->tx_depth++ == 0) exec_cached(idx, "BEGIN IMMEDIATE");
}

int index_commit(struct index *idx) {
    if (--idx->tx_depth == 0) {
        bool failed = exec_cached(idx, "COMMIT") < 0;
        atomic_store(&idx->write_failed, failed);
        if (failed) {
            log_error("index: commit failed");
            return -1;
        }
    }
    return 0;
}

bool index_write_failed(const struct index *idx) {
    return atomic_load(&idx->write_failed);
}

/* A savepoint inside the (possibly outer) transaction, so that a change
 * of many rows can be undone as a whole. */
void index_savepoint(struct index *idx) {
    index_begin(idx);
    exec_cached(idx, "SAVEPOINT change");
}

int index_savepoint_end(struct index *idx, bool keep) {
    int rc = 0;
    if (!keep && exec_cached(idx, "ROLLBACK TO change") < 0) rc = -1;
    if (exec_cached(idx, "RELEASE change") < 0) rc = -1;
    index_commit(idx);
    return rc;
}

int index_mailbox_get(struct index *idx, const char *account, const char *name, bool create,
                      struct index_mailbox *out) {
    for (int attempt = 0; attempt < 2; attempt++) {
        sqlite3_stmt *st = idx->get_mbox;
        sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            out->id = sqlite3_column_int64(st, 0);
            out->uidvalidity = (uint32_t)sqlite3_column_int64(st, 1);
            out->uidnext = (uint32_t)sqlite3_column_int64(st, 2);
            out->highestmodseq = (uint64_t)sqlite3_column_int64(st, 3);
            sqlite3_reset(st);
            return 0;
        }
        sqlite3_reset(st);
        if (!create || attempt) return -1;
        /* UIDVALIDITY: creation time, made unique among this account's boxes
         * so a re-created mailbox never reuses an old value. */
        st = idx->ins_mbox;
        /* shared by the loop's and the commit thread's connections */
        static _Atomic uint32_t last_validity;
        uint32_t v = (uint32_t)time(NULL);
        uint32_t prev = last_validity;
        do {
            if (v <= prev) v = prev + 1;
        } while (!atomic_compare_exchange_weak(&last_validity, &prev, v));
        sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, v);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
            log_error("index: cannot create mailbox %s/%s: %s", account, name, sqlite3_errmsg(idx->db));
            return -1;
        }
    }
    return -1;
}

uint64_t index_next_modseq(struct index *idx, int64_t mailbox_id) {
    sqlite3_stmt *st = idx->bump_modseq;
    sqlite3_bind_int64(st, 1, mailbox_id);
    uint64_t v = 0;
    if (sqlite3_step(st) == SQLITE_ROW) v = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return v;
}

void index_api_id(const char *base, buf_t *out) {
    size_t n = strcspn(base, ",:");
    buf_append(out, base, n);
}

int index_set_sort_keys(struct index *idx, int64_t row, int64_t mailbox_id, uint32_t uid, int64_t internaldate,
                        int64_t size, const struct msg_summary *s) {
    sqlite3_stmt *st = idx->ins_sort;
    int i = 1;
    sqlite3_bind_int64(st, i++, row);
    sqlite3_bind_int64(st, i++, mailbox_id);
    sqlite3_bind_int64(st, i++, uid);
    sqlite3_bind_int64(st, i++, s->sent_date ? s->sent_date : internaldate);
    sqlite3_bind_int64(st, i++, internaldate);
    sqlite3_bind_int64(st, i++, size);
    const char *text[] = {s->sort_subject, NULL, s->sort_from, s->sort_to, s->sort_cc, s->sort_display_from,
                          s->sort_display_to, s->message_id, s->in_reply_to, s->references};
    for (size_t k = 0; k < sizeof text / sizeof text[0]; k++) {
        if (k == 1) sqlite3_bind_int(st, i++, s->subject_is_reply);
        else sqlite3_bind_text(st, i++, text[k] ? text[k] : "", -1, SQLITE_STATIC);
    }
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE) {
        log_error("index: cannot store the sort keys of message %lld: %s", (long long)row, sqlite3_errmsg(idx->db));
        return -1;
    }
    return 0;
}

int index_add_message(struct index *idx, int64_t mailbox_id, const struct index_new_msg *m, uint32_t *uid_out,
                      int64_t *row_out) {
    sqlite3_stmt *st = idx->bump_uid;
    sqlite3_bind_int64(st, 1, mailbox_id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return -1;
    }
    int64_t uid = sqlite3_column_int64(st, 0);
    int64_t modseq = sqlite3_column_int64(st, 1);
    sqlite3_reset(st);

    const struct msg_summary *s = m->summary;
    buf_t api = BUF_INIT;
    index_api_id(m->base, &api);
    st = idx->ins_msg;
    int i = 1;
    sqlite3_bind_int64(st, i++, mailbox_id);
    sqlite3_bind_int64(st, i++, uid);
    sqlite3_bind_text(st, i++, buf_cstr(&api), (int)api.len, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, m->base, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, m->subdir, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, i++, m->flags);
    /* a new message without keywords of its own gets Mailpit's automatic tags */
    const char *kw = m->keywords ? m->keywords : s->auto_tags ? s->auto_tags : "";
    sqlite3_bind_text(st, i++, kw, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, i++, modseq);
    sqlite3_bind_int64(st, i++, m->internaldate);
    sqlite3_bind_int64(st, i++, s->sent_date);
    sqlite3_bind_int64(st, i++, m->size);
    sqlite3_bind_text(st, i++, m->mail_from ? m->mail_from : s->return_path, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, m->rcpts ? m->rcpts : s->original_to, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, s->hdr_from, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, s->hdr_to, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, s->hdr_cc, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, s->hdr_bcc, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, s->hdr_reply_to, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, s->subject, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, s->message_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, i++, s->attachments);
    sqlite3_bind_int(st, i++, s->inlines);
    sqlite3_bind_text(st, i++, s->snippet, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, i++, s->sent_tz);
    sqlite3_bind_text(st, i++, s->auth_user ? s->auth_user : "", -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    buf_free(&api);
    if (rc != SQLITE_DONE) {
        log_error("index: cannot add message %s: %s", m->base, sqlite3_errmsg(idx->db));
        return -1;
    }
    int64_t row = sqlite3_last_insert_rowid(idx->db);
    /* a failure is logged; store_sort_keys_fill adds the keys at the next open */
    index_set_sort_keys(idx, row, mailbox_id, (uint32_t)uid, m->internaldate, m->size, s);
    buf_t addrs = BUF_INIT;
    buf_printf(&addrs, "%s %s %s %s %s %s %s", s->hdr_from, s->hdr_to, s->hdr_cc, s->hdr_bcc, s->hdr_reply_to,
               m->mail_from ? m->mail_from : s->return_path, m->rcpts ? m->rcpts : s->original_to);
    st = idx->ins_fts;
    sqlite3_bind_int64(st, 1, row);
    sqlite3_bind_text(st, 2, s->subject, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, buf_cstr(&addrs), (int)addrs.len, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, s->text, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    buf_free(&addrs);
    if (rc != SQLITE_DONE) log_error("index: cannot add search text for %s: %s", m->base, sqlite3_errmsg(idx->db));
    if (uid_out) *uid_out = (uint32_t)uid;
    if (row_out) *row_out = row;
    return 0;
}

int index_copy_message(struct index *idx, int64_t src, int64_t mailbox_id, const char *base, const char *subdir,
                       uint32_t *uid_out, int64_t *row_out) {
    sqlite3_stmt *st = idx->bump_uid;
    sqlite3_bind_int64(st, 1, mailbox_id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return -1;
    }
    int64_t uid = sqlite3_column_int64(st, 0);
    int64_t modseq = sqlite3_column_int64(st, 1);
    sqlite3_reset(st);
    buf_t api = BUF_INIT;
    index_api_id(base, &api);
    int rc = -1;
    if ((st = index_stmt(idx,
                           "INSERT INTO messages(mailbox_id,uid,api_id,base,subdir,modseq,flags,keywords,internaldate,"
                           "sent_date,size,mail_from,rcpts,hdr_from,hdr_to,hdr_cc,hdr_bcc,hdr_reply_to,subject,"
                           "message_id,attachments,inlines,snippet,env_cache,body_cache,bs_cache,sent_tz,auth_user) "
                           "SELECT ?,?,?,?,?,?,flags,keywords,internaldate,sent_date,size,mail_from,rcpts,hdr_from,"
                           "hdr_to,hdr_cc,hdr_bcc,hdr_reply_to,subject,message_id,attachments,inlines,snippet,"
                           "env_cache,body_cache,bs_cache,sent_tz,auth_user FROM messages WHERE id=?")) != NULL) {
        sqlite3_bind_int64(st, 1, mailbox_id);
        sqlite3_bind_int64(st, 2, uid);
        sqlite3_bind_text(st, 3, buf_cstr(&api), (int)api.len, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, base, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, subdir, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, modseq);
        sqlite3_bind_int64(st, 7, src);
        if (sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(idx->db) == 1) rc = 0;
        index_stmt_done(idx, st);
    }
    buf_free(&api);
    if (rc < 0) {
        log_error("index: cannot copy message %lld: %s", (long long)src, sqlite3_errmsg(idx->db));
        return -1;
    }
    int64_t row = sqlite3_last_insert_rowid(idx->db);
    /* the sort keys; a source without them (not filled yet) leaves the
     * copy without, and store_sort_keys_fill gives both theirs */
    if ((st = index_stmt(idx,
                           "INSERT INTO sort_keys(" SORT_KEYS_COLUMNS ") SELECT ?1,?2,?3,sent,arrival,size,subject,"
                           "reply,sfrom,sto,scc,dfrom,dto,message_id,in_reply_to,refs FROM sort_keys WHERE id=?4")) != NULL) {
        sqlite3_bind_int64(st, 1, row);
        sqlite3_bind_int64(st, 2, mailbox_id);
        sqlite3_bind_int64(st, 3, uid);
        sqlite3_bind_int64(st, 4, src);
        rc = sqlite3_step(st);
        index_stmt_done(idx, st);
        if (rc != SQLITE_DONE)
            log_error("index: cannot copy the sort keys of %lld: %s", (long long)src, sqlite3_errmsg(idx->db));
    }
    /* the search text, wherever it is now: indexed, or still queued */
    if ((st = index_stmt(idx,
                           "INSERT INTO fts_queue(rowid,subject,addresses,body) "
                           "SELECT ?1,subject,addresses,body FROM messages_fts WHERE rowid=?2 "
                           "UNION ALL SELECT ?1,subject,addresses,body FROM fts_queue WHERE rowid=?2")) != NULL) {
        sqlite3_bind_int64(st, 1, row);
        sqlite3_bind_int64(st, 2, src);
        if (sqlite3_step(st) != SQLITE_DONE)
            log_error("index: cannot copy search text of %lld: %s", (long long)src, sqlite3_errmsg(idx->db));
        index_stmt_done(idx, st);
    }
    if (uid_out) *uid_out = (uint32_t)uid;
    if (row_out) *row_out = row;
    return 0;
}

int index_delete_message(struct index *idx, int64_t row) {
    idx->freed = true;
    idx->fts_dead++;
    sqlite3_stmt *st;
    if (!(st = index_stmt(idx, "DELETE FROM messages WHERE id=?"))) return -1;
    sqlite3_bind_int64(st, 1, row);
    int rc = sqlite3_step(st);
    index_stmt_done(idx, st);
    if (!(st = index_stmt(idx, "DELETE FROM messages_fts WHERE rowid=?"))) return -1;
    sqlite3_bind_int64(st, 1, row);
    sqlite3_step(st);
    index_stmt_done(idx, st);
    if (!(st = index_stmt(idx, "DELETE FROM fts_queue WHERE rowid=?"))) return -1;
    sqlite3_bind_int64(st, 1, row);
    sqlite3_step(st);
    index_stmt_done(idx, st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int index_fts_flush(struct index *idx, int max_rows) {
    /* Full-text indexing costs ten times a row insert, so deliveries only
     * queue their text; it enters FTS5 here in large batches, when the
     * commit thread is idle or right before a search needs it. */
    sqlite3_stmt *st;
    int moved = 0;
    index_begin(idx);
    buf_t q = BUF_INIT;
    buf_printf(&q,
               "INSERT INTO messages_fts(rowid,subject,addresses,body) SELECT rowid,devmail_fold(subject),"
               "devmail_fold(addresses),devmail_fold(body) FROM fts_queue ORDER BY rowid%s",
               max_rows > 0 ? " LIMIT ?" : "");
    if (sqlite3_prepare_v2(idx->db, buf_cstr(&q), -1, &st, NULL) == SQLITE_OK) {
        if (max_rows > 0) sqlite3_bind_int(st, 1, max_rows);
        if (sqlite3_step(st) == SQLITE_DONE) moved = sqlite3_changes(idx->db);
        sqlite3_finalize(st);
    }
    buf_reset(&q);
    buf_printf(&q, "DELETE FROM fts_queue WHERE rowid IN (SELECT rowid FROM fts_queue ORDER BY rowid LIMIT ?)");
    if (moved > 0 && sqlite3_prepare_v2(idx->db, buf_cstr(&q), -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int(st, 1, moved);
        sqlite3_step(st);
        sqlite3_finalize(st);
    }
    buf_free(&q);
    index_commit(idx);
    return moved;
}

int index_flags_from_info(const char *info) {
    int f = 0;
    for (const char *c = info; *c; c++) {
        switch (*c) {
        case 'D': f |= MSG_DRAFT; break;
        case 'F': f |= MSG_FLAGGED; break;
        case 'R': f |= MSG_ANSWERED; break;
        case 'S': f |= MSG_SEEN; break;
        case 'T': f |= MSG_DELETED; break;
        default: break;
        }
    }
    return f;
}

void index_flags_to_info(int flags, buf_t *out) {
    /* Maildir wants the letters in ASCII order. */
    if (flags & MSG_DRAFT) buf_append_char(out, 'D');
    if (flags & MSG_FLAGGED) buf_append_char(out, 'F');
    if (flags & MSG_ANSWERED) buf_append_char(out, 'R');
    if (flags & MSG_SEEN) buf_append_char(out, 'S');
    if (flags & MSG_DELETED) buf_append_char(out, 'T');
}

struct disk_entry {
    char subdir[4];
    int flags;
    bool seen_in_index;
    char *name;       /* full file name */
    const char *info; /* in name: the letters after ":2," ("" without) */
};

static void disk_entry_free(gpointer p) {
    struct disk_entry *e = p;
    free(e->name);
    free(e);
}

static void scan_subdir(GHashTable *files, const char *maildir_path, const char *sub) {
    buf_t b = BUF_INIT;
    buf_printf(&b, "%s/%s", maildir_path, sub);
    DIR *d = opendir(buf_cstr(&b));
    buf_free(&b);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        const char *colon = strstr(de->d_name, ":2,");
        size_t baselen = colon ? (size_t)(colon - de->d_name) : strlen(de->d_name);
        struct disk_entry *e = xcalloc(1, sizeof *e);
        memcpy(e->subdir, sub, 3);
        e->flags = colon ? index_flags_from_info(colon + 3) : 0;
        e->name = xstrdup(de->d_name);
        e->info = colon ? e->name + (colon - de->d_name) + 3 : e->name + strlen(e->name);
        g_hash_table_replace(files, xstrndup(de->d_name, baselen), e);
    }
    closedir(d);
}

/* RFC822 size (CRLF line ends) of a Maildir file: from ",W=" in its
 * name when present, else by counting bare LFs. */
static int64_t index_crlf_size(const char *path, const char *base, int64_t file_size) {
    const char *w = strstr(base, ",W=");
    if (w) return strtoll(w + 3, NULL, 10);
    FILE *fp = fopen(path, "r");
    if (!fp) return file_size;
    int64_t extra = 0;
    int c, prev = 0;
    while ((c = getc(fp)) != EOF) {
        if (c == '\n' && prev != '\r') extra++;
        prev = c;
    }
    fclose(fp);
    return file_size + extra;
}

/* g_ptr_array_sort hands the comparator pointers to the elements. */
static gint cmp_str_ptr(gconstpointer a, gconstpointer b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

struct index_sync {
    struct index *idx;
    int64_t mailbox_id;
    char *maildir_path;
    GHashTable *files; /* base name -> struct disk_entry */
    GPtrArray *fresh;  /* base names (keys of files) not indexed, in name order */
    guint next;        /* fresh[next] is the next to add */
    struct mdkw kw;
    int changes;
};

struct index_sync *index_sync_begin(struct index *idx, const char *account, const char *mailbox,
                                    const char *maildir_path) {
    struct index_mailbox mb;
    if (index_mailbox_get(idx, account, mailbox, true, &mb) < 0) return NULL;
    GHashTable *files = g_hash_table_new_full(g_str_hash, g_str_equal, free, disk_entry_free);
    scan_subdir(files, maildir_path, "new");
    scan_subdir(files, maildir_path, "cur");
    int changes = 0;
    index_begin(idx);
    sqlite3_stmt *st;
    /* keywords: the letters a-z in file names, named in dovecot-keywords */
    struct index_sync *sy = xcalloc(1, sizeof *sy);
    sy->idx = idx;
    sy->mailbox_id = mb.id;
    sy->maildir_path = xstrdup(maildir_path);
    sy->files = files;
    mdkw_init(&sy->kw);
    if (mdkw_load(&sy->kw, maildir_path) < 0)
        log_warn("index: %s/" MDKW_FILE " cannot be read; keywords in file names are ignored", maildir_path);
    sqlite3_prepare_v2(idx->db, "SELECT id, base, subdir, flags, keywords FROM messages WHERE mailbox_id=?", -1, &st,
                       NULL);
    sqlite3_bind_int64(st, 1, mb.id);
    GArray *gone = g_array_new(FALSE, FALSE, sizeof(int64_t));
    GArray *moved_rows = g_array_new(FALSE, FALSE, sizeof(int64_t));
    GPtrArray *moved = g_ptr_array_new();
    GPtrArray *moved_kw = g_ptr_array_new_with_free_func(free); /* new keywords, or NULL: unchanged */
    buf_t letters = BUF_INIT, file_letters = BUF_INIT;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t row = sqlite3_column_int64(st, 0);
        const char *base = (const char *)sqlite3_column_text(st, 1);
        const char *subdir = (const char *)sqlite3_column_text(st, 2);
        int flags = sqlite3_column_int(st, 3);
        const char *keywords = (const char *)sqlite3_column_text(st, 4);
        struct disk_entry *e = g_hash_table_lookup(files, base);
        if (!e) {
            g_array_append_val(gone, row);
            continue;
        }
        e->seen_in_index = true;
        /* \Deleted etc. may live only in the index until the file moves to
         * cur/; only a file in cur/ states its flags authoritatively. */
        bool in_cur = strcmp(e->subdir, "cur") == 0;
        char *new_kw = NULL;
        if (in_cur) {
            /* the keywords that have a letter: as the file name says;
             * those without one (a 27th) exist in the index only */
            buf_reset(&letters);
            buf_reset(&file_letters);
            mdkw_letters(&sy->kw, keywords, &letters);
            buf_t named = BUF_INIT;
            mdkw_names(&sy->kw, e->info, &named);
            mdkw_letters(&sy->kw, buf_cstr(&named), &file_letters);
            if (strcmp(buf_cstr(&letters), buf_cstr(&file_letters)) != 0) {
                buf_t nk = BUF_INIT;
                for (const char *p = keywords; *p;) {
                    size_t wl = strcspn(p, " ");
                    if (wl && mdkw_find(&sy->kw, p, wl) < 0) {
                        if (nk.len) buf_append_char(&nk, ' ');
                        buf_append(&nk, p, wl);
                    }
                    p += wl;
                    while (*p == ' ') p++;
                }
                if (named.len && nk.len) buf_append_char(&nk, ' ');
                buf_append(&nk, named.data ? named.data : "", named.len);
                new_kw = buf_steal(&nk);
            }
            buf_free(&named);
        }
        if (strcmp(e->subdir, subdir) != 0 || (in_cur && e->flags != (flags & 0x1f)) || new_kw) {
            g_array_append_val(moved_rows, row);
            g_ptr_array_add(moved, e);
            g_ptr_array_add(moved_kw, new_kw);
        }
    }
    sqlite3_finalize(st);
    buf_free(&letters);
    buf_free(&file_letters);
    for (guint i = 0; i < gone->len; i++) {
        index_delete_message(idx, g_array_index(gone, int64_t, i));
        changes++;
    }
    sqlite3_prepare_v2(idx->db, "UPDATE messages SET subdir=?, flags=?, modseq=?, keywords=coalesce(?, keywords) "
                       "WHERE id=?", -1, &st, NULL);
    for (guint i = 0; i < moved->len; i++) {
        struct disk_entry *e = g_ptr_array_index(moved, i);
        const char *nk = g_ptr_array_index(moved_kw, i);
        sqlite3_bind_text(st, 1, e->subdir, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, e->flags);
        sqlite3_bind_int64(st, 3, (int64_t)index_next_modseq(idx, mb.id));
        if (nk) sqlite3_bind_text(st, 4, nk, -1, SQLITE_STATIC);
        else sqlite3_bind_null(st, 4);
        sqlite3_bind_int64(st, 5, g_array_index(moved_rows, int64_t, i));
        sqlite3_step(st);
        sqlite3_reset(st);
        changes++;
    }
    sqlite3_finalize(st);
    g_ptr_array_free(moved_kw, TRUE);
    /* Files nobody indexed: delivered by another program, or by us before
     * a crash between rename and index update. Oldest first keeps UIDs in
     * arrival order. */
    GHashTableIter it;
    gpointer key, val;
    GPtrArray *fresh = g_ptr_array_new();
    g_hash_table_iter_init(&it, files);
    while (g_hash_table_iter_next(&it, &key, &val)) {
        struct disk_entry *e = val;
        if (!e->seen_in_index) g_ptr_array_add(fresh, key);
    }
    g_ptr_array_sort(fresh, cmp_str_ptr);
    g_ptr_array_free(moved, TRUE);
    g_array_free(moved_rows, TRUE);
    g_array_free(gone, TRUE);
    index_commit(idx);
    sy->fresh = fresh;
    sy->changes = changes;
    return sy;
}

size_t index_sync_left(const struct index_sync *sy) {
    return sy->fresh->len - sy->next;
}

size_t index_sync_step(struct index_sync *sy, size_t max) {
    struct index *idx = sy->idx;
    buf_t path = BUF_INIT;
    index_begin(idx);
    for (size_t done = 0; sy->next < sy->fresh->len && (max == 0 || done < max); done++) {
        const char *base = g_ptr_array_index(sy->fresh, sy->next++);
        struct disk_entry *e = g_hash_table_lookup(sy->files, base);
        buf_reset(&path);
        buf_printf(&path, "%s/%s/%s", sy->maildir_path, e->subdir, e->name);
        struct stat stt;
        if (stat(buf_cstr(&path), &stt) < 0) continue; /* gone meanwhile */
        struct msg_summary s;
        summary_from_file(buf_cstr(&path), &s);
        int64_t vsize = index_crlf_size(buf_cstr(&path), base, stt.st_size);
        buf_t names = BUF_INIT;
        mdkw_names(&sy->kw, e->info, &names);
        struct index_new_msg m = {
            .base = base,
            .subdir = e->subdir,
            .flags = e->flags,
            .keywords = names.len ? buf_cstr(&names) : NULL, /* none in the name: the automatic tags (X-Tags) */
            .internaldate = stt.st_mtime,
            .size = vsize,
            .summary = &s,
        };
        /* a file indexed meanwhile (a delivery) is refused by
         * UNIQUE(mailbox_id, base) and not counted */
        if (index_add_message(idx, sy->mailbox_id, &m, NULL, NULL) == 0) sy->changes++;
        summary_free(&s);
        buf_free(&names);
    }
    index_commit(idx);
    buf_free(&path);
    return index_sync_left(sy);
}

int index_sync_end(struct index_sync *sy) {
    int changes = sy->changes;
    g_ptr_array_free(sy->fresh, TRUE);
    g_hash_table_destroy(sy->files);
    mdkw_free(&sy->kw);
    free(sy->maildir_path);
    free(sy);
    return changes;
}

int index_sync_mailbox(struct index *idx, const char *account, const char *mailbox, const char *maildir_path) {
    /* one transaction for the whole comparison, as before */
    index_begin(idx);
    struct index_sync *sy = index_sync_begin(idx, account, mailbox, maildir_path);
    int changes = -1;
    if (sy) {
        index_sync_step(sy, 0);
        changes = index_sync_end(sy);
    }
    index_commit(idx);
    return changes;
}
