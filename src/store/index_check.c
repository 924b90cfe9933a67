/*
 * index_check - a damaged index heals itself at start.
 *
 * The Maildir is the truth and the SQLite index a cache of it, so a
 * damaged index (a bad sector, garbage written into it, a truncated copy)
 * is moved aside and built again from the Maildir, as `devmail reindex`
 * does, instead of a server that starts, says ready and shows nothing.
 * The check is SQLite's PRAGMA quick_check (page and b-tree structure,
 * without the index-content cross-checks of integrity_check), bounded in
 * time: a check that runs out of time counts as passed and says so.
 */
#include "store/index.h"
#include "core/clock.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "core/log.h"

/* Longest the start-up check may take (a multi-GB index needs a few s). */
#define INDEX_CHECK_SECONDS 20

static double now_s(void) {
    return (double)clock_mono_ms() / 1e3;
}

static int past_deadline(void *arg) {
    return now_s() > *(const double *)arg;
}

/* 1: sound, absent, or not checked in time; 0: damaged (why says how). */
static int index_check(const char *path, buf_t *why) {
    struct stat st;
    if (stat(path, &st) < 0) return 1; /* a first start */
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        buf_printf(why, "%s", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT ? 0 : 1;
    }
    sqlite3_busy_timeout(db, 5000);
    double deadline = now_s() + INDEX_CHECK_SECONDS;
    sqlite3_progress_handler(db, 10000, past_deadline, &deadline);
    sqlite3_stmt *q = NULL;
    int sound = 1;
    rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &q, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        const char *res = (const char *)sqlite3_column_text(q, 0);
        if (!res || strcmp(res, "ok") != 0) {
            buf_printf(why, "quick_check: %s", res ? res : "no answer");
            sound = 0;
        }
    } else if (rc == SQLITE_INTERRUPT) {
        log_warn("store: the index check took over %ds; not finished, the index is used as it is",
                 INDEX_CHECK_SECONDS);
    } else if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
        log_warn("store: the index is locked by another process; not checked");
    } else {
        /* SQLITE_NOTADB, SQLITE_CORRUPT, or an I/O error reading pages */
        buf_printf(why, "%s", sqlite3_errmsg(db));
        sound = 0;
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    return sound;
}

/* Move path and its -wal/-shm aside to path.damaged-TIMESTAMP. */
static int move_aside(const char *path, buf_t *aside) {
    char stamp[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    buf_printf(aside, "%s.damaged-%s", path, stamp);
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        buf_t from = BUF_INIT, to = BUF_INIT;
        buf_printf(&from, "%s%s", path, suffixes[i]);
        buf_printf(&to, "%s%s", buf_cstr(aside), suffixes[i]);
        int rc = rename(buf_cstr(&from), buf_cstr(&to));
        buf_free(&from);
        buf_free(&to);
        if (rc < 0 && i == 0) return -1;
    }
    return 0;
}

int index_open_checked(struct index **out, const char *path, bool *rebuilt, buf_t *err) {
    *rebuilt = false;
    buf_t why = BUF_INIT;
    if (index_check(path, &why)) {
        /* sound (or not checked): an error opening it is not damage, and
         * the index is never moved aside for it (a lock, a permission) */
        buf_free(&why);
        return index_open(out, path, err);
    }
    buf_t aside = BUF_INIT;
    if (move_aside(path, &aside) < 0) {
        buf_printf(err, "%s is damaged (%s) and cannot be moved aside; run `devmail reindex`", path, buf_cstr(&why));
        buf_free(&why);
        buf_free(&aside);
        return -1;
    }
    log_error("store: the index %s is damaged (%s): moved to %s; rebuilding it from the Maildir (IMAP clients "
              "see a new UIDVALIDITY)",
              path, buf_cstr(&why), buf_cstr(&aside));
    buf_free(&why);
    buf_free(&aside);
    if (index_open(out, path, err) < 0) return -1;
    *rebuilt = true;
    return 0;
}
