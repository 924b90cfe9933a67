/*
 * test_store - the Maildir writer (tmp -> new with ,S= and ,W=, abort,
 * unique names, the tmp sweep), the group committer on an event loop,
 * indexing an existing Maildir at store_open (UIDs in name order, flags
 * from ":2," info), index_sync_mailbox picking up removed and renamed
 * files, and synchronous delivery into several accounts with the decoded
 * summary in the index. Each test works in its own mkdtemp directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <sqlite3.h>

#include "core/buf.h"
#include "store/index.h"
#include "store/store_internal.h"
#include "store/maildir.h"
#include "store/store.h"
#include "unit_dir.h"

/* ---- helpers ---------------------------------------------------------------- */

/* Names of the regular files in dir, sorted; returns how many. */
static size_t list_dir(const char *dir, char ***names) {
    struct dirent **ents = NULL;
    int n = scandir(dir, &ents, NULL, alphasort);
    size_t k = 0;
    if (names) *names = calloc((size_t)(n > 0 ? n : 0) + 1, sizeof **names);
    for (int i = 0; i < n; i++) {
        if (ents[i]->d_name[0] != '.') {
            if (names) (*names)[k] = strdup(ents[i]->d_name);
            k++;
        }
        free(ents[i]);
    }
    free(ents);
    return k;
}

static void free_names(char **names) {
    for (char **p = names; p && *p; p++) free(*p);
    free(names);
}

static size_t count_files(const char *dir) {
    return list_dir(dir, NULL);
}

static char *path_join(const char *a, const char *b) {
    buf_t p = BUF_INIT;
    buf_printf(&p, "%s/%s", a, b);
    return buf_steal(&p);
}

static char *read_file(const char *path, size_t *len) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    buf_t b = BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0) buf_append(&b, chunk, n);
    fclose(fp);
    if (len) *len = b.len;
    return buf_steal(&b);
}

static void write_file(const char *path, const char *text) {
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
    assert_int_equal(fclose(fp), 0);
}

static void make_maildir(const char *root) {
    assert_int_equal(maildir_ensure(root), 0);
    static const char *const subs[] = {"cur", "new", "tmp"};
    for (int i = 0; i < 3; i++) {
        char *p = path_join(root, subs[i]);
        struct stat st;
        assert_int_equal(stat(p, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        free(p);
    }
}

/* ---- maildir paths and names ---------------------------------------------- */

static void test_paths(void **state) {
    (void)state;
    buf_t b = BUF_INIT;
    maildir_account_path(&b, "data", "all@example.com");
    assert_string_equal(buf_cstr(&b), "data/example.com/all/Maildir");
    buf_reset(&b);
    maildir_account_path(&b, "data", "\"a@b\"@example.com");
    assert_string_equal(buf_cstr(&b), "data/example.com/\"a@b\"/Maildir");
    buf_reset(&b);
    maildir_account_path(&b, "data", "plain");
    assert_string_equal(buf_cstr(&b), "data/localhost/plain/Maildir");
    buf_reset(&b);
    maildir_mailbox_path(&b, "root/Maildir", "INBOX");
    assert_string_equal(buf_cstr(&b), "root/Maildir");
    buf_reset(&b);
    maildir_mailbox_path(&b, "root/Maildir", "inbox");
    assert_string_equal(buf_cstr(&b), "root/Maildir");
    buf_reset(&b);
    maildir_mailbox_path(&b, "root/Maildir", "Sent");
    assert_string_equal(buf_cstr(&b), "root/Maildir/.Sent");
    buf_free(&b);
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_unique_names(void **state) {
    (void)state;
    enum { N = 2000 };
    char **names = calloc(N, sizeof *names);
    for (int i = 0; i < N; i++) names[i] = maildir_unique_name("host.example");
    qsort(names, N, sizeof *names, cmp_names);
    buf_t pid = BUF_INIT;
    buf_printf(&pid, "P%ldQ", (long)getpid());
    for (int i = 0; i < N; i++) {
        /* "<sec>.M<usec>P<pid>Q<n>.<host>", all different */
        const char *n = names[i];
        assert_non_null(strstr(n, ".M"));
        assert_non_null(strstr(n, buf_cstr(&pid)));
        size_t hl = strlen(".host.example");
        assert_string_equal(n + strlen(n) - hl, ".host.example");
        assert_null(strchr(n, '/'));
        assert_null(strchr(n, ':'));
        if (i > 0) assert_string_not_equal(names[i - 1], n);
    }
    buf_free(&pid);
    for (int i = 0; i < N; i++) free(names[i]);
    free(names);
    /* '/', ':' and ',' in the host name are escaped (Maildir spec) */
    char *n = maildir_unique_name("a/b:c,d");
    const char *host = strchr(strchr(n, 'Q'), '.') + 1;
    assert_string_equal(host, "a\\057b\\072c\\054d");
    free(n);
}

/* ---- maildir files -------------------------------------------------------- */

static void test_file_commit(void **state) {
    const char *dir = *state;
    char *md = path_join(dir, "Maildir"); /* does not exist yet: create makes it */
    struct maildir_file f;
    assert_int_equal(maildir_file_create(&f, md, "host.example"), 0);
    make_maildir(md);
    assert_true(f.fd >= 0);
    assert_non_null(f.tmp_path);
    char *tmpdir = path_join(md, "tmp");
    char *newdir = path_join(md, "new");
    assert_int_equal(count_files(tmpdir), 1);
    const char body1[] = "Subject: test\n\nline one\n";
    const char body2[] = "line two without end";
    maildir_file_write(&f, body1, sizeof body1 - 1);
    maildir_file_write(&f, body2, sizeof body2 - 1);
    assert_int_equal(f.size, (int64_t)(sizeof body1 - 1 + sizeof body2 - 1));
    assert_int_equal(f.lines, 3);
    assert_int_equal(count_files(newdir), 0); /* nothing visible before commit */
    assert_int_equal(maildir_file_commit(&f), 0);

    char **names;
    assert_int_equal(list_dir(newdir, &names), 1);
    assert_int_equal(count_files(tmpdir), 0);
    buf_t want = BUF_INIT;
    buf_printf(&want, "%s,S=%lld,W=%lld", f.unique, (long long)f.size, (long long)(f.size + f.lines));
    assert_string_equal(names[0], buf_cstr(&want));
    char *p = path_join(newdir, names[0]);
    assert_string_equal(p, f.new_path);
    size_t len;
    char *content = read_file(p, &len);
    assert_int_equal(len, (size_t)f.size);
    assert_memory_equal(content, "Subject: test\n\nline one\nline two without end", len);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    free(content);
    free(p);
    free_names(names);
    buf_free(&want);
    maildir_file_free(&f);
    assert_int_equal(f.fd, -1);
    assert_null(f.tmp_path);

    /* a second message gets a different name; both stay */
    struct maildir_file g;
    assert_int_equal(maildir_file_create(&g, md, "host.example"), 0);
    maildir_file_write(&g, "x\n", 2);
    assert_int_equal(maildir_file_commit(&g), 0);
    assert_non_null(strstr(g.new_path, ",S=2,W=3"));
    maildir_file_free(&g);
    assert_int_equal(count_files(newdir), 2);
    assert_int_equal(count_files(tmpdir), 0);
    free(tmpdir);
    free(newdir);
    free(md);
}

static void test_file_abort(void **state) {
    const char *dir = *state;
    char *md = path_join(dir, "Maildir");
    make_maildir(md);
    struct maildir_file f;
    assert_int_equal(maildir_file_create(&f, md, "h"), 0);
    maildir_file_write(&f, "partial", 7);
    maildir_file_abort(&f);
    assert_null(f.tmp_path);
    char *tmpdir = path_join(md, "tmp");
    char *newdir = path_join(md, "new");
    char *curdir = path_join(md, "cur");
    assert_int_equal(count_files(tmpdir), 0);
    assert_int_equal(count_files(newdir), 0);
    assert_int_equal(count_files(curdir), 0);
    free(tmpdir);
    free(newdir);
    free(curdir);
    free(md);
}

static void test_file_create_error(void **state) {
    const char *dir = *state;
    /* a regular file where the Maildir should be */
    char *md = path_join(dir, "notadir");
    write_file(md, "x");
    struct maildir_file f;
    int rc = maildir_file_create(&f, md, "h");
    assert_true(rc < 0);
    assert_int_equal(f.fd, -1);
    assert_null(f.tmp_path);
    free(md);
}

static void test_sweep_tmp(void **state) {
    const char *dir = *state;
    char *md = path_join(dir, "Maildir");
    make_maildir(md);
    char *tmpdir = path_join(md, "tmp");
    char *old = path_join(tmpdir, "old.file");
    char *fresh = path_join(tmpdir, "fresh.file");
    write_file(old, "old");
    write_file(fresh, "fresh");
    struct timeval tv[2];
    gettimeofday(&tv[0], NULL);
    tv[0].tv_sec -= 2 * MAILDIR_TMP_MAX_AGE;
    tv[1] = tv[0];
    assert_int_equal(utimes(old, tv), 0);
    assert_int_equal(maildir_sweep_tmp(md, MAILDIR_TMP_MAX_AGE), 1);
    assert_int_equal(access(old, F_OK), -1);
    assert_int_equal(access(fresh, F_OK), 0);
    assert_int_equal(maildir_sweep_tmp(md, MAILDIR_TMP_MAX_AGE), 0);
    assert_int_equal(maildir_sweep_tmp(md, 0), 1);
    assert_int_equal(count_files(tmpdir), 0);
    /* a Maildir without tmp/: nothing to do */
    char *none = path_join(dir, "none");
    assert_int_equal(maildir_sweep_tmp(none, 0), 0);
    free(none);
    free(old);
    free(fresh);
    free(tmpdir);
    free(md);
}

/* ---- group commit on an event loop ---------------------------------------- */

struct commit_probe {
    struct event_base *base;
    int calls, result, work_calls, pending;
};

static void probe_work(void *arg) {
    struct commit_probe *p = arg;
    __atomic_add_fetch(&p->work_calls, 1, __ATOMIC_SEQ_CST);
}

static void probe_done(int result, void *arg) {
    struct commit_probe *p = arg;
    p->calls++;
    if (result) p->result = result;
    if (--p->pending == 0) event_base_loopbreak(p->base);
}

static void test_committer(void **state) {
    const char *dir = *state;
    evthread_use_pthreads();
    struct event_base *base = event_base_new();
    assert_non_null(base);
    char *md1 = path_join(dir, "a/Maildir");
    char *md2 = path_join(dir, "b/Maildir");
    make_maildir(md1);
    make_maildir(md2);
    enum { N = 5 };
    struct maildir_file files[N];
    struct commit_probe probe = {base, 0, 0, 0, 0};
    struct maildir_committer *c = maildir_committer_new(base);
    for (int i = 0; i < N; i++) {
        assert_int_equal(maildir_file_create(&files[i], i % 2 ? md2 : md1, "h"), 0);
        buf_t b = BUF_INIT;
        buf_printf(&b, "message %d\n", i);
        maildir_file_write(&files[i], b.data, b.len);
        buf_free(&b);
    }
    /* one job of two files, three jobs of one */
    struct maildir_file *two[2] = {&files[0], &files[1]};
    probe.pending = 4;
    maildir_committer_submit(c, two, 2, probe_work, probe_done, &probe);
    for (int i = 2; i < N; i++) {
        struct maildir_file *one = &files[i];
        maildir_committer_submit(c, &one, 1, probe_work, probe_done, &probe);
    }
    struct timeval limit = {10, 0};
    event_base_loopexit(base, &limit);
    event_base_dispatch(base);
    assert_int_equal(probe.calls, 4);
    assert_int_equal(probe.result, 0);
    assert_int_equal(__atomic_load_n(&probe.work_calls, __ATOMIC_SEQ_CST), 4);
    for (int i = 0; i < N; i++) {
        assert_non_null(files[i].new_path);
        assert_int_equal(access(files[i].new_path, F_OK), 0);
        assert_non_null(strstr(files[i].new_path, i % 2 ? md2 : md1));
        maildir_file_free(&files[i]);
    }
    uint64_t batches = 0, nfiles = 0;
    maildir_committer_stats(c, &batches, &nfiles);
    assert_int_equal(nfiles, N);
    assert_true(batches >= 1 && batches <= 4);
    char *n1 = path_join(md1, "new"), *n2 = path_join(md2, "new");
    char *t1 = path_join(md1, "tmp"), *t2 = path_join(md2, "tmp");
    assert_int_equal(count_files(n1), 3);
    assert_int_equal(count_files(n2), 2);
    assert_int_equal(count_files(t1) + count_files(t2), 0);

    /* a file with a write error fails its job and is not published */
    struct maildir_file bad;
    assert_int_equal(maildir_file_create(&bad, md1, "h"), 0);
    bad.error = EIO;
    struct maildir_file *one = &bad;
    probe.pending = 1;
    probe.calls = 0;
    maildir_committer_submit(c, &one, 1, probe_work, probe_done, &probe);
    event_base_loopexit(base, &limit);
    event_base_dispatch(base);
    assert_int_equal(probe.calls, 1);
    assert_int_equal(probe.result, -EIO);
    assert_null(bad.new_path);
    maildir_file_abort(&bad);
    assert_int_equal(count_files(n1), 3);
    assert_int_equal(count_files(t1), 0);

    maildir_committer_free(c);
    event_base_free(base);
    free(n1);
    free(n2);
    free(t1);
    free(t2);
    free(md1);
    free(md2);
}

/* ---- indexing an existing Maildir ----------------------------------------- */

struct row {
    int64_t id;
    uint32_t uid;
    char base[256];
    char subdir[8];
    int flags;
    int64_t size;
};

/* Rows of account/mailbox ordered by UID; returns the count. */
static size_t rows_of(struct store *s, const char *account, const char *mailbox, struct row *out, size_t max) {
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(index_db(s->idx),
                                        "SELECT m.id, m.uid, m.base, m.subdir, m.flags, m.size FROM messages m JOIN "
                                        "mailboxes b ON b.id = m.mailbox_id WHERE b.account = ? AND b.name = ? "
                                        "ORDER BY m.uid",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, mailbox, -1, SQLITE_STATIC);
    size_t n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (n < max) {
            out[n].id = sqlite3_column_int64(st, 0);
            out[n].uid = (uint32_t)sqlite3_column_int64(st, 1);
            snprintf(out[n].base, sizeof out[n].base, "%s", (const char *)sqlite3_column_text(st, 2));
            snprintf(out[n].subdir, sizeof out[n].subdir, "%s", (const char *)sqlite3_column_text(st, 3));
            out[n].flags = sqlite3_column_int(st, 4);
            out[n].size = sqlite3_column_int64(st, 5);
        }
        n++;
    }
    sqlite3_finalize(st);
    return n;
}

static char *column_text(struct store *s, const char *sql, int64_t id) {
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(index_db(s->idx), sql, -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_int64(st, 1, id);
    char *r = NULL;
    if (sqlite3_step(st) == SQLITE_ROW) r = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return r;
}

static void drop(const char *md, const char *sub, const char *name, const char *text) {
    buf_t p = BUF_INIT;
    buf_printf(&p, "%s/%s/%s", md, sub, name);
    write_file(buf_cstr(&p), text);
    buf_free(&p);
}

static void test_open_indexes_existing(void **state) {
    const char *dir = *state;
    buf_t mdb = BUF_INIT;
    buf_printf(&mdb, "%s/example.com/all/Maildir", dir);
    const char *md = buf_cstr(&mdb);
    make_maildir(md);
    /* names sort in arrival order; flags in ":2," info */
    drop(md, "new", "1700000001.M1P1Q1.other", "Subject: one\n\nbody\n");
    drop(md, "new", "1700000002.M1P1Q2.other,S=22,W=99", "Subject: two\r\n\r\nbody\r\n");
    drop(md, "cur", "1700000003.M1P1Q3.other:2,S", "Subject: three\n\n");
    drop(md, "cur", "1700000004.M1P1Q4.other:2,FRS", "Subject: four\n\n");
    drop(md, "cur", "1700000005.M1P1Q5.other:2,DT", "Subject: five\n\n");
    drop(md, "cur", "1700000006.M1P1Q6.other:2,", "Subject: six\n\n");
    drop(md, "tmp", "1700000007.M1P1Q7.other", "not delivered");

    struct store *s = open_store(dir);
    struct row r[10];
    assert_int_equal(rows_of(s, "all@example.com", "INBOX", r, 10), 6);
    static const char *const bases[] = {"1700000001.M1P1Q1.other", "1700000002.M1P1Q2.other,S=22,W=99",
                                        "1700000003.M1P1Q3.other", "1700000004.M1P1Q4.other",
                                        "1700000005.M1P1Q5.other", "1700000006.M1P1Q6.other"};
    static const char *const subdirs[] = {"new", "new", "cur", "cur", "cur", "cur"};
    static const int flags[] = {0, 0, MSG_SEEN, MSG_FLAGGED | MSG_ANSWERED | MSG_SEEN, MSG_DRAFT | MSG_DELETED, 0};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(r[i].uid, (uint32_t)(i + 1));
        assert_string_equal(r[i].base, bases[i]);
        assert_string_equal(r[i].subdir, subdirs[i]);
        assert_int_equal(r[i].flags, flags[i]);
    }
    /* RFC822 size: LF counted as CRLF, or taken from ,W= */
    assert_int_equal(r[0].size, (int64_t)strlen("Subject: one\n\nbody\n") + 3);
    assert_int_equal(r[1].size, 99);
    char *subj = column_text(s, "SELECT subject FROM messages WHERE id=?", r[3].id);
    assert_string_equal(subj, "four");
    free(subj);
    struct index_mailbox mb;
    assert_int_equal(index_mailbox_get(s->idx, "all@example.com", "INBOX", false, &mb), 0);
    assert_int_equal(mb.uidnext, 7);
    uint32_t validity = mb.uidvalidity;
    assert_true(validity > 0);
    /* the tmp/ file is not a message (and is young: not swept) */
    char *tmpf = path_join(md, "tmp/1700000007.M1P1Q7.other");
    assert_int_equal(access(tmpf, F_OK), 0);
    free(tmpf);

    /* store_msg_get builds the current path with the info flags */
    struct store_msg m;
    assert_int_equal(store_msg_get(s, r[3].id, &m), 0);
    assert_int_equal(m.uid, 4);
    assert_string_equal(m.account, "all@example.com");
    assert_string_equal(m.mailbox, "INBOX");
    assert_non_null(strstr(m.path, "/cur/1700000004.M1P1Q4.other:2,FRS"));
    assert_int_equal(access(m.path, F_OK), 0);
    assert_string_equal(m.api_id, "1700000004.M1P1Q4.other");
    store_msg_free(&m);
    assert_int_equal(store_msg_get(s, 999999, &m), -1);
    store_close(s);

    /* reopening keeps UIDs and UIDVALIDITY */
    s = open_store(dir);
    struct row r2[10];
    assert_int_equal(rows_of(s, "all@example.com", "INBOX", r2, 10), 6);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(r2[i].uid, r[i].uid);
        assert_string_equal(r2[i].base, r[i].base);
    }
    assert_int_equal(index_mailbox_get(s->idx, "all@example.com", "INBOX", false, &mb), 0);
    assert_int_equal(mb.uidvalidity, validity);
    char **acc = store_accounts(s);
    assert_non_null(acc[0]);
    assert_string_equal(acc[0], "all@example.com");
    assert_null(acc[1]);
    store_strv_free(acc);
    store_close(s);
    buf_free(&mdb);
}

static void test_sync_changes(void **state) {
    const char *dir = *state;
    buf_t mdb = BUF_INIT;
    buf_printf(&mdb, "%s/example.com/all/Maildir", dir);
    const char *md = buf_cstr(&mdb);
    make_maildir(md);
    drop(md, "new", "1.A.h", "Subject: a\n\n");
    drop(md, "new", "2.B.h", "Subject: b\n\n");
    drop(md, "cur", "3.C.h:2,S", "Subject: c\n\n");
    drop(md, "cur", "4.D.h:2,", "Subject: d\n\n");
    struct store *s = open_store(dir);
    struct row r[10];
    assert_int_equal(rows_of(s, "all@example.com", "INBOX", r, 10), 4);
    int64_t modseq_before;
    {
        struct index_mailbox mb;
        assert_int_equal(index_mailbox_get(s->idx, "all@example.com", "INBOX", false, &mb), 0);
        modseq_before = (int64_t)mb.highestmodseq;
    }
    /* nothing changed: nothing to do */
    assert_int_equal(index_sync_mailbox(s->idx, "all@example.com", "INBOX", md), 0);

    /* another program: deletes 1, moves 2 to cur as seen, re-flags 3, adds 5 */
    char *p1 = path_join(md, "new/1.A.h");
    char *p2 = path_join(md, "new/2.B.h");
    char *p2c = path_join(md, "cur/2.B.h:2,S");
    char *p3 = path_join(md, "cur/3.C.h:2,S");
    char *p3c = path_join(md, "cur/3.C.h:2,FS");
    assert_int_equal(unlink(p1), 0);
    assert_int_equal(rename(p2, p2c), 0);
    assert_int_equal(rename(p3, p3c), 0);
    drop(md, "new", "5.E.h", "Subject: e\n\n");
    assert_int_equal(index_sync_mailbox(s->idx, "all@example.com", "INBOX", md), 4);
    struct row a[10];
    assert_int_equal(rows_of(s, "all@example.com", "INBOX", a, 10), 4);
    assert_int_equal(a[0].uid, 2);
    assert_string_equal(a[0].subdir, "cur");
    assert_int_equal(a[0].flags, MSG_SEEN);
    assert_int_equal(a[1].uid, 3);
    assert_int_equal(a[1].flags, MSG_FLAGGED | MSG_SEEN);
    assert_int_equal(a[2].uid, 4);
    assert_int_equal(a[2].flags, 0);
    /* a new file gets a new UID; UID 1 is never reused */
    assert_int_equal(a[3].uid, 5);
    assert_string_equal(a[3].base, "5.E.h");
    struct index_mailbox mb;
    assert_int_equal(index_mailbox_get(s->idx, "all@example.com", "INBOX", false, &mb), 0);
    assert_int_equal(mb.uidnext, 6);
    assert_true((int64_t)mb.highestmodseq > modseq_before);
    /* and a second sync finds nothing more */
    assert_int_equal(index_sync_mailbox(s->idx, "all@example.com", "INBOX", md), 0);
    /* the search text of the removed row is gone too */
    char *cnt = column_text(s, "SELECT count(*) FROM messages_fts WHERE rowid=?", r[0].id);
    assert_string_equal(cnt, "0");
    free(cnt);
    store_close(s);
    free(p1);
    free(p2);
    free(p2c);
    free(p3);
    free(p3c);
    buf_free(&mdb);
}

/* ---- delivery ---------------------------------------------------------------- */

struct done_probe {
    int calls;
    int result;
    struct store_delivery *d;
};

static void delivery_done(struct store_delivery *d, int result, void *arg) {
    struct done_probe *p = arg;
    p->calls++;
    p->result = result;
    p->d = d;
}

struct event_probe {
    int news;
    char accounts[4][64];
};

static void observe(const struct store_event *ev, void *arg) {
    struct event_probe *p = arg;
    if (ev->type == STORE_EV_NEW && p->news < 4) {
        snprintf(p->accounts[p->news], sizeof p->accounts[0], "%s", ev->account);
        p->news++;
    }
}

static void test_delivery(void **state) {
    const char *dir = *state;
    struct store *s = open_store(dir);
    assert_null(s->committer); /* no event loop: synchronous commits */
    struct event_probe ev = {0};
    store_subscribe(s, observe, &ev);
    char *accounts[] = {"all@example.com", "bob@example.org"};
    struct store_delivery d;
    assert_int_equal(store_delivery_begin(s, &d, accounts, 2, "sender@example.net", "all@example.com,bob@example.org"),
                     0);
    for (size_t i = 0; i < 2; i++) {
        buf_t h = BUF_INIT;
        buf_printf(&h, "Delivered-To: %s\n", accounts[i]);
        store_delivery_write_one(&d, i, h.data, h.len);
        buf_free(&h);
    }
    static const char msg[] = "From: Ann Example <ann@example.com>\n"
                              "To: all@example.com\n"
                              "Subject: =?UTF-8?B?SGVsbG8gd8O2cmxk?=\n"
                              "Message-ID: <m1@example.com>\n"
                              "\n"
                              "Body text here.\n";
    store_delivery_write(&d, msg, sizeof msg - 1);
    struct done_probe done = {0, -1, NULL};
    store_delivery_commit(&d, delivery_done, &done);
    assert_int_equal(done.calls, 1);
    assert_int_equal(done.result, 0);
    assert_ptr_equal(done.d, &d);
    assert_int_equal(s->delivered, 2);
    assert_int_equal(ev.news, 2);
    assert_string_equal(ev.accounts[0], "all@example.com");
    assert_string_equal(ev.accounts[1], "bob@example.org");

    for (size_t i = 0; i < 2; i++) {
        buf_t md = BUF_INIT;
        store_mailbox_path(s, accounts[i], "INBOX", &md);
        char *newdir = path_join(buf_cstr(&md), "new");
        char *tmpdir = path_join(buf_cstr(&md), "tmp");
        char **names;
        assert_int_equal(list_dir(newdir, &names), 1);
        assert_int_equal(count_files(tmpdir), 0);
        char *p = path_join(newdir, names[0]);
        size_t len;
        char *content = read_file(p, &len);
        buf_t want = BUF_INIT;
        buf_printf(&want, "Delivered-To: %s\n%s", accounts[i], msg);
        assert_int_equal(len, want.len);
        assert_memory_equal(content, want.data, len);
        /* ,S= is the file size, ,W= counts CRLF line ends */
        buf_t suffix = BUF_INIT;
        buf_printf(&suffix, ",S=%zu,W=%zu", len, len + 7);
        assert_string_equal(names[0] + strlen(names[0]) - suffix.len, buf_cstr(&suffix));

        struct row r[4];
        assert_int_equal(rows_of(s, accounts[i], "INBOX", r, 4), 1);
        assert_int_equal(r[0].uid, 1);
        assert_string_equal(r[0].base, names[0]);
        assert_string_equal(r[0].subdir, "new");
        assert_int_equal(r[0].size, (int64_t)len + 7);
        char *subj = column_text(s, "SELECT subject FROM messages WHERE id=?", r[0].id);
        assert_string_equal(subj, "Hello w\xc3\xb6rld");
        char *from = column_text(s, "SELECT hdr_from FROM messages WHERE id=?", r[0].id);
        assert_non_null(strstr(from, "ann@example.com"));
        assert_non_null(strstr(from, "Ann Example"));
        char *env = column_text(s, "SELECT mail_from || '|' || rcpts FROM messages WHERE id=?", r[0].id);
        assert_string_equal(env, "sender@example.net|all@example.com,bob@example.org");
        char *mid = column_text(s, "SELECT message_id FROM messages WHERE id=?", r[0].id);
        assert_string_equal(mid, "m1@example.com");
        free(subj);
        free(from);
        free(env);
        free(mid);
        buf_free(&suffix);
        buf_free(&want);
        free(content);
        free(p);
        free_names(names);
        free(newdir);
        free(tmpdir);
        buf_free(&md);
    }
    store_delivery_free(&d);

    /* a second delivery to the same account gets UID 2 */
    char *one[] = {"all@example.com"};
    assert_int_equal(store_delivery_begin(s, &d, one, 1, "", "all@example.com"), 0);
    store_delivery_write(&d, "Subject: again\n\nx\n", 18);
    done.calls = 0;
    store_delivery_commit(&d, delivery_done, &done);
    assert_int_equal(done.result, 0);
    store_delivery_free(&d);
    struct row r[4];
    assert_int_equal(rows_of(s, "all@example.com", "INBOX", r, 4), 2);
    assert_int_equal(r[1].uid, 2);
    store_unsubscribe(s, observe, &ev);
    store_close(s);

    /* everything delivered is found again after a restart */
    s = open_store(dir);
    assert_int_equal(rows_of(s, "all@example.com", "INBOX", r, 4), 2);
    assert_int_equal(rows_of(s, "bob@example.org", "INBOX", r, 4), 1);
    store_close(s);
}

static void test_delivery_abort(void **state) {
    const char *dir = *state;
    struct store *s = open_store(dir);
    char *accounts[] = {"all@example.com", "x@example.com"};
    struct store_delivery d;
    assert_int_equal(store_delivery_begin(s, &d, accounts, 2, "a@b", "all@example.com,x@example.com"), 0);
    store_delivery_write(&d, "Subject: no\n\n", 13);
    store_delivery_abort(&d);
    for (size_t i = 0; i < 2; i++) {
        buf_t md = BUF_INIT;
        store_mailbox_path(s, accounts[i], "INBOX", &md);
        char *newdir = path_join(buf_cstr(&md), "new");
        char *tmpdir = path_join(buf_cstr(&md), "tmp");
        assert_int_equal(count_files(newdir), 0);
        assert_int_equal(count_files(tmpdir), 0);
        free(newdir);
        free(tmpdir);
        buf_free(&md);
    }
    struct row r[2];
    assert_int_equal(rows_of(s, "all@example.com", "INBOX", r, 2), 0);
    assert_int_equal(s->delivered, 0);
    store_close(s);
}

static void test_set_flags_and_expunge(void **state) {
    const char *dir = *state;
    struct store *s = open_store(dir);
    char *accounts[] = {"all@example.com"};
    struct store_delivery d;
    assert_int_equal(store_delivery_begin(s, &d, accounts, 1, "a@b", "all@example.com"), 0);
    store_delivery_write(&d, "Subject: f\n\n", 12);
    struct done_probe done = {0, -1, NULL};
    store_delivery_commit(&d, delivery_done, &done);
    assert_int_equal(done.result, 0);
    store_delivery_free(&d);
    struct row r[2];
    assert_int_equal(rows_of(s, "all@example.com", "INBOX", r, 2), 1);
    assert_int_equal(store_set_flags(s, r[0].id, MSG_SEEN | MSG_FLAGGED, NULL), 0);
    struct store_msg m;
    assert_int_equal(store_msg_get(s, r[0].id, &m), 0);
    assert_int_equal(m.flags, MSG_SEEN | MSG_FLAGGED);
    assert_non_null(strstr(m.path, "/cur/"));
    assert_string_equal(m.path + strlen(m.path) - 5, ":2,FS");
    assert_int_equal(access(m.path, F_OK), 0);
    /* the Maildir agrees: a resync changes nothing */
    buf_t md = BUF_INIT;
    store_mailbox_path(s, "all@example.com", "INBOX", &md);
    assert_int_equal(index_sync_mailbox(s->idx, "all@example.com", "INBOX", buf_cstr(&md)), 0);
    assert_int_equal(store_expunge(s, r[0].id), 0);
    assert_int_equal(access(m.path, F_OK), -1);
    assert_int_equal(rows_of(s, "all@example.com", "INBOX", r, 2), 0);
    store_msg_free(&m);
    buf_free(&md);
    store_close(s);
}

/* A copy is a new row with the source's summary, caches and search text. */
static void test_copy(void **state) {
    const char *dir = *state;
    struct store *s = open_store(dir);
    char *accounts[] = {"all@example.com"};
    struct store_delivery d;
    assert_int_equal(store_delivery_begin(s, &d, accounts, 1, "a@b", "all@example.com"), 0);
    const char *msg = "From: Ada <ada@example.com>\nSubject: quarterly numbers\n\nthe zebracorn report\n";
    store_delivery_write(&d, msg, strlen(msg));
    struct done_probe done = {0, -1, NULL};
    store_delivery_commit(&d, delivery_done, &done);
    assert_int_equal(done.result, 0);
    store_delivery_free(&d);
    struct row r[2];
    assert_int_equal(rows_of(s, "all@example.com", "INBOX", r, 2), 1);
    int64_t src = r[0].id;
    sqlite3_exec(index_db(s->idx), "UPDATE messages SET env_cache='(E)' WHERE id=(SELECT max(id) FROM messages)",
                 NULL, NULL, NULL);
    assert_int_equal(store_set_flags(s, src, MSG_FLAGGED, "$label1"), 0);
    assert_int_equal(store_mailbox_create(s, "all@example.com", "Archive"), 0);
    int64_t copy;
    uint32_t uid;
    assert_int_equal(store_copy(s, src, "Archive", &copy, &uid), 0);
    assert_int_equal(uid, 1);
    struct store_msg m;
    assert_int_equal(store_msg_get(s, copy, &m), 0);
    assert_string_equal(m.mailbox, "Archive");
    assert_int_equal(m.flags, MSG_FLAGGED);
    assert_string_equal(m.keywords, "$label1");
    assert_int_equal(access(m.path, F_OK), 0);
    store_msg_free(&m);
    static const char *const same[] = {"subject", "hdr_from", "size", "internaldate", "mail_from", "env_cache"};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        buf_t q = BUF_INIT;
        buf_printf(&q, "SELECT %s FROM messages WHERE id=?", same[i]);
        char *a = column_text(s, buf_cstr(&q), src), *b = column_text(s, buf_cstr(&q), copy);
        assert_non_null(a);
        assert_non_null(b);
        assert_string_equal(a, b);
        free(a);
        free(b);
        buf_free(&q);
    }
    /* the copy is found by full-text search, like the original */
    index_fts_flush(s->idx, 0);
    char *hit = column_text(s, "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'zebracorn' AND rowid=?",
                            copy);
    assert_string_equal(hit, "1");
    free(hit);
    store_close(s);
}

/* An index made before messages.id was AUTOINCREMENT is rebuilt with it on
 * open: rows, ids and indexes kept, and no id is given out twice after. */
static void test_index_ids_never_reused(void **state) {
    const char *dir = *state;
    char *path = path_join(dir, "old.sqlite");
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db,
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
                     "CREATE INDEX messages_api_id ON messages(api_id);"
                     "INSERT INTO mailboxes VALUES(1, 'all@example.com', 'INBOX', 7, 4, 5, 1);"
                     "INSERT INTO messages(id, mailbox_id, uid, api_id, base, subdir, internaldate, size, subject)"
                     " VALUES(1, 1, 1, 'a', 'a,S=1', 'new', 0, 1, 'one'), (2, 1, 3, 'c', 'c,S=1', 'cur', 0, 1, 'two');",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);

    struct index *idx;
    buf_t err = BUF_INIT;
    assert_int_equal(index_open(&idx, path, &err), 0);
    buf_free(&err);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(index_db(idx),
                                        "SELECT (SELECT sql FROM sqlite_master WHERE name='messages'),"
                                        " (SELECT count(*) FROM sqlite_master WHERE type='index' AND tbl_name='messages'"
                                        "  AND name LIKE 'messages_%'),"
                                        " (SELECT group_concat(id || ':' || uid || ':' || subject, ' ') FROM messages)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_non_null(strstr((const char *)sqlite3_column_text(st, 0), "AUTOINCREMENT"));
    assert_int_equal(sqlite3_column_int(st, 1), 4);
    assert_string_equal((const char *)sqlite3_column_text(st, 2), "1:1:one 2:3:two");
    sqlite3_finalize(st);

    /* remove the newest row, add another: it gets a new id */
    int64_t row;
    uint32_t uid;
    assert_int_equal(index_copy_message(idx, 1, 1, "d,S=1", "cur", &uid, &row), 0);
    assert_int_equal(row, 3);
    assert_int_equal(index_delete_message(idx, row), 0);
    assert_int_equal(index_copy_message(idx, 1, 1, "e,S=1", "cur", &uid, &row), 0);
    assert_int_equal(row, 4);
    assert_int_equal(index_delete_message(idx, 4), 0);
    assert_int_equal(index_delete_message(idx, 2), 0);
    index_close(idx);

    /* opening again changes nothing, and the sequence survives */
    assert_int_equal(index_open(&idx, path, &err), 0);
    assert_int_equal(index_copy_message(idx, 1, 1, "f,S=1", "cur", &uid, &row), 0);
    assert_int_equal(row, 5);
    index_close(idx);
    free(path);
}

static void get_flags(struct store *s, int64_t row, int *flags, char **keywords, uint64_t *modseq) {
    struct store_msg m;
    assert_int_equal(store_msg_get(s, row, &m), 0);
    *flags = m.flags;
    *keywords = strdup(m.keywords);
    *modseq = m.modseq;
    store_msg_free(&m);
}

/* Flag changes start from what is stored; UNCHANGEDSINCE compares the
 * stored MODSEQ; the result handed back is what is stored. */
static void test_update_flags(void **state) {
    const char *dir = *state;
    struct store *s = open_store(dir);
    char *accounts[] = {"all@example.com"};
    struct store_delivery d;
    assert_int_equal(store_delivery_begin(s, &d, accounts, 1, "a@b", "all@example.com"), 0);
    store_delivery_write(&d, "Subject: u\n\n", 12);
    struct done_probe done = {0, -1, NULL};
    store_delivery_commit(&d, delivery_done, &done);
    assert_int_equal(done.result, 0);
    store_delivery_free(&d);
    struct row r[2];
    assert_int_equal(rows_of(s, "all@example.com", "INBOX", r, 2), 1);
    int64_t row = r[0].id;

    struct store_flags f;
    assert_int_equal(store_update_flags(s, row, STORE_FLAGS_ADD, MSG_SEEN, "$Work", NULL, &f), 0);
    assert_int_equal(f.flags, MSG_SEEN);
    assert_string_equal(f.keywords, "$Work");
    uint64_t m1 = f.modseq;
    store_flags_free(&f);
    /* another writer's change, then an ADD: both kept */
    assert_int_equal(store_set_flags(s, row, MSG_SEEN | MSG_ANSWERED, "$Work $Home"), 0);
    assert_int_equal(store_update_flags(s, row, STORE_FLAGS_ADD, MSG_FLAGGED, "$work", NULL, &f), 0);
    assert_int_equal(f.flags, MSG_SEEN | MSG_ANSWERED | MSG_FLAGGED);
    assert_string_equal(f.keywords, "$Work $Home");
    assert_true(f.modseq > m1);
    uint64_t m2 = f.modseq;
    store_flags_free(&f);
    /* REMOVE takes away only what it names */
    assert_int_equal(store_update_flags(s, row, STORE_FLAGS_REMOVE, MSG_SEEN, "$WORK", NULL, &f), 0);
    assert_int_equal(f.flags, MSG_ANSWERED | MSG_FLAGGED);
    assert_string_equal(f.keywords, "$Home");
    uint64_t m3 = f.modseq;
    store_flags_free(&f);
    int fl;
    char *kw;
    uint64_t ms;
    get_flags(s, row, &fl, &kw, &ms);
    assert_int_equal(fl, MSG_ANSWERED | MSG_FLAGGED);
    assert_string_equal(kw, "$Home");
    assert_int_equal(ms, m3);
    free(kw);
    /* UNCHANGEDSINCE older than the stored MODSEQ: nothing changes */
    assert_int_equal(store_update_flags(s, row, STORE_FLAGS_REPLACE, MSG_DRAFT, "", &m2, &f), STORE_FLAGS_MODIFIED);
    assert_int_equal(f.flags, MSG_ANSWERED | MSG_FLAGGED);
    assert_string_equal(f.keywords, "$Home");
    assert_int_equal(f.modseq, m3);
    store_flags_free(&f);
    /* a no-op writes nothing: same MODSEQ */
    assert_int_equal(store_update_flags(s, row, STORE_FLAGS_ADD, MSG_FLAGGED, NULL, &m3, &f), 0);
    assert_int_equal(f.modseq, m3);
    store_flags_free(&f);
    /* REPLACE with a current UNCHANGEDSINCE */
    assert_int_equal(store_update_flags(s, row, STORE_FLAGS_REPLACE, MSG_DRAFT, "x y", &m3, &f), 0);
    assert_int_equal(f.flags, MSG_DRAFT);
    assert_string_equal(f.keywords, "x y");
    assert_true(f.modseq > m3);
    store_flags_free(&f);
    get_flags(s, row, &fl, &kw, &ms);
    assert_int_equal(fl, MSG_DRAFT);
    assert_string_equal(kw, "x y");
    free(kw);
    assert_int_equal(store_expunge(s, row), 0);
    assert_int_equal(store_update_flags(s, row, STORE_FLAGS_ADD, MSG_SEEN, NULL, NULL, &f), -ENOENT);
    store_close(s);
}

/* EXPUNGE removes only messages still \Deleted as stored: a caller's
 * candidates may include one another session has undeleted since. */
static void test_expunge_deleted(void **state) {
    struct store *s = open_store(*state);
    assert_int_equal(store_mailbox_create(s, "all@example.com", "INBOX"), 0);
    int64_t rows[3];
    for (int i = 0; i < 3; i++) {
        const char *msg = "Subject: x\r\n\r\nbody\r\n";
        assert_int_equal(store_append(s, "all@example.com", "INBOX", msg, strlen(msg), MSG_DELETED, NULL, 0,
                                      &rows[i], NULL),
                         0);
    }
    /* undeleted after the caller chose its candidates */
    assert_int_equal(store_set_flags(s, rows[1], 0, NULL), 0);
    /* and one expunged already */
    assert_int_equal(store_expunge(s, rows[2]), 0);
    assert_int_equal(store_expunge_deleted(s, rows, 3), 1);
    struct row r[4];
    assert_int_equal(rows_of(s, "all@example.com", "INBOX", r, 4), 1);
    assert_int_equal(r[0].id, rows[1]);
    store_close(s);
}

/* store_copy_set is all or nothing: an expunged member or a vanished file
 * leaves the destination empty (no rows, no files); a good set copies in
 * order with consecutive UIDs. */
static size_t files_in_cur(const char *maildir) {
    buf_t p = BUF_INIT;
    buf_printf(&p, "%s/cur", maildir);
    size_t n = 0;
    DIR *d = opendir(buf_cstr(&p));
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)))
            if (de->d_name[0] != '.') n++;
        closedir(d);
    }
    buf_free(&p);
    return n;
}

static void test_copy_set_all_or_nothing(void **state) {
    struct store *s = open_store(*state);
    const char *acct = "all@example.com";
    assert_int_equal(store_mailbox_create(s, acct, "INBOX"), 0);
    assert_int_equal(store_mailbox_create(s, acct, "Dest"), 0);
    int64_t rows[3];
    for (int i = 0; i < 3; i++) {
        const char *msg = "Subject: c\r\n\r\nbody\r\n";
        assert_int_equal(store_append(s, acct, "INBOX", msg, strlen(msg), 0, NULL, 0, &rows[i], NULL), 0);
    }
    buf_t dest = BUF_INIT;
    store_mailbox_path(s, acct, "Dest", &dest);
    uint32_t uids[3];
    /* an expunged member */
    int64_t with_gone[3] = {rows[0], rows[1] + 1000, rows[2]};
    assert_int_equal(store_copy_set(s, with_gone, 3, "Dest", uids, NULL), -ESTALE);
    struct row r[4];
    assert_int_equal(rows_of(s, acct, "Dest", r, 4), 0);
    assert_int_equal(files_in_cur(buf_cstr(&dest)), 0);
    /* no such destination */
    assert_int_equal(store_copy_set(s, rows, 3, "Nowhere", uids, NULL), -ENOENT);
    /* a file removed by another program: nothing copied, its row goes */
    struct store_msg m;
    assert_int_equal(store_msg_get(s, rows[1], &m), 0);
    assert_int_equal(unlink(m.path), 0);
    store_msg_free(&m);
    assert_int_equal(store_copy_set(s, rows, 3, "Dest", uids, NULL), -ESTALE);
    assert_int_equal(rows_of(s, acct, "Dest", r, 4), 0);
    assert_int_equal(files_in_cur(buf_cstr(&dest)), 0);
    assert_int_equal(store_msg_get(s, rows[1], &m), -1);
    assert_int_equal(rows_of(s, acct, "INBOX", r, 4), 2);
    /* what is left copies, in order */
    int64_t left[2] = {rows[0], rows[2]}, out[2];
    assert_int_equal(store_copy_set(s, left, 2, "Dest", uids, out), 0);
    assert_int_equal(uids[0], 1);
    assert_int_equal(uids[1], 2);
    assert_int_equal(rows_of(s, acct, "Dest", r, 4), 2);
    assert_int_equal(files_in_cur(buf_cstr(&dest)), 2);
    assert_int_equal(store_msg_get(s, out[1], &m), 0);
    assert_string_equal(m.mailbox, "Dest");
    assert_int_equal(m.uid, 2);
    store_msg_free(&m);
    buf_free(&dest);
    store_close(s);
}

struct origin_probe {
    int n;
    const void *origins[4];
};

static void observe_origin(const struct store_event *ev, void *arg) {
    struct origin_probe *p = arg;
    if (ev->type == STORE_EV_UPDATE && p->n < 4) p->origins[p->n++] = ev->origin;
}

/* Events carry who made the change; begin/end nest. */
static void test_event_origin(void **state) {
    const char *dir = *state;
    struct store *s = open_store(dir);
    char *accounts[] = {"all@example.com"};
    struct store_delivery d;
    assert_int_equal(store_delivery_begin(s, &d, accounts, 1, "a@b", "all@example.com"), 0);
    store_delivery_write(&d, "Subject: o\n\n", 12);
    struct done_probe done = {0, -1, NULL};
    store_delivery_commit(&d, delivery_done, &done);
    assert_int_equal(done.result, 0);
    store_delivery_free(&d);
    struct row r[2];
    assert_int_equal(rows_of(s, "all@example.com", "INBOX", r, 2), 1);
    struct origin_probe p = {0};
    store_subscribe(s, observe_origin, &p);
    int a, b;
    assert_int_equal(store_update_flags(s, r[0].id, STORE_FLAGS_ADD, MSG_SEEN, NULL, NULL, NULL), 0);
    const void *prev = store_origin_begin(s, &a);
    assert_null(prev);
    assert_int_equal(store_update_flags(s, r[0].id, STORE_FLAGS_ADD, MSG_FLAGGED, NULL, NULL, NULL), 0);
    const void *inner = store_origin_begin(s, &b);
    assert_ptr_equal(inner, &a);
    assert_int_equal(store_update_flags(s, r[0].id, STORE_FLAGS_ADD, MSG_ANSWERED, NULL, NULL, NULL), 0);
    store_origin_end(s, inner);
    assert_int_equal(store_update_flags(s, r[0].id, STORE_FLAGS_REMOVE, MSG_SEEN, NULL, NULL, NULL), 0);
    store_origin_end(s, prev);
    assert_int_equal(p.n, 4);
    assert_null(p.origins[0]);
    assert_ptr_equal(p.origins[1], &a);
    assert_ptr_equal(p.origins[2], &b);
    assert_ptr_equal(p.origins[3], &a);
    store_unsubscribe(s, observe_origin, &p);
    store_close(s);
}

static char *file_text(const char *path) {
    buf_t b = BUF_INIT;
    if (buf_load_file(&b, path) < 0) fail_msg("cannot read %s", path);
    return buf_steal(&b);
}

static const char *ends(const char *s, size_t n) {
    size_t l = strlen(s);
    return l >= n ? s + l - n : s;
}

/* Keywords (API tags) are kept in the Maildir as Dovecot keeps them: a
 * letter per keyword in the file name, named in the folder's
 * dovecot-keywords; so an index rebuilt from the Maildir has them again,
 * and a letter set by another program is read as its keyword. */
static void test_keywords_in_maildir(void **state) {
    const char *dir = *state;
    const char *acct = "all@example.com";
    struct store *s = open_store(dir);
    assert_int_equal(store_mailbox_create(s, acct, "INBOX"), 0);
    assert_int_equal(store_mailbox_create(s, acct, "Archive"), 0);
    const char *msg = "Subject: k\r\n\r\nbody\r\n";
    int64_t a, b, c;
    assert_int_equal(store_append(s, acct, "INBOX", msg, strlen(msg), 0, NULL, 0, &a, NULL), 0);
    assert_int_equal(store_append(s, acct, "INBOX", msg, strlen(msg), 0, "Work", 0, &b, NULL), 0);
    assert_int_equal(store_update_flags(s, a, STORE_FLAGS_ADD, MSG_SEEN, "$label1 Work", NULL, NULL), 0);
    struct store_msg m;
    assert_int_equal(store_msg_get(s, a, &m), 0);
    assert_string_equal(ends(m.path, strlen(":2,Sab")), ":2,Sab");
    assert_int_equal(access(m.path, F_OK), 0);
    store_msg_free(&m);
    /* APPEND with a keyword and no flag: in cur/ with its letter */
    assert_int_equal(store_msg_get(s, b, &m), 0);
    assert_string_equal(ends(m.path, strlen(":2,a")), ":2,a");
    assert_int_equal(access(m.path, F_OK), 0);
    store_msg_free(&m);
    buf_t p = BUF_INIT;
    store_mailbox_path(s, acct, "INBOX", &p);
    buf_append_str(&p, "/dovecot-keywords");
    char *text = file_text(buf_cstr(&p));
    assert_string_equal(text, "0 Work\n1 $label1\n");
    free(text);
    /* a copy gets the letters of its own folder */
    assert_int_equal(store_update_flags(s, b, STORE_FLAGS_ADD, 0, "$label1", NULL, NULL), 0);
    assert_int_equal(store_copy(s, a, "Archive", &c, NULL), 0);
    assert_int_equal(store_msg_get(s, c, &m), 0);
    assert_non_null(strstr(m.path, "/.Archive/cur/"));
    assert_string_equal(ends(m.path, strlen(":2,Sab")), ":2,Sab");
    assert_int_equal(access(m.path, F_OK), 0);
    store_msg_free(&m);
    buf_reset(&p);
    store_mailbox_path(s, acct, "Archive", &p);
    buf_append_str(&p, "/dovecot-keywords");
    text = file_text(buf_cstr(&p));
    assert_string_equal(text, "0 $label1\n1 Work\n");
    free(text);
    /* removing a keyword takes its letter off the name; the letter stays
     * assigned */
    assert_int_equal(store_update_flags(s, a, STORE_FLAGS_REMOVE, 0, "work", NULL, NULL), 0);
    assert_int_equal(store_msg_get(s, a, &m), 0);
    assert_string_equal(m.keywords, "$label1");
    assert_string_equal(ends(m.path, strlen(":2,Sb")), ":2,Sb");
    assert_int_equal(access(m.path, F_OK), 0);
    /* another program (Dovecot, mutt) adds letter a: the sync reads it */
    buf_t to = BUF_INIT;
    buf_append(&to, m.path, strlen(m.path) - 1); /* ":2,Sb" -> ":2,Sab" */
    buf_append_str(&to, "ab");
    assert_int_equal(rename(m.path, buf_cstr(&to)), 0);
    store_msg_free(&m);
    buf_reset(&p);
    store_mailbox_path(s, acct, "INBOX", &p);
    assert_int_equal(index_sync_mailbox(s->idx, acct, "INBOX", buf_cstr(&p)), 1);
    assert_int_equal(store_msg_get(s, a, &m), 0);
    assert_string_equal(m.keywords, "Work $label1"); /* in letter order */
    assert_string_equal(m.path, buf_cstr(&to));
    store_msg_free(&m);
    /* nothing changed since: a second sync finds nothing */
    assert_int_equal(index_sync_mailbox(s->idx, acct, "INBOX", buf_cstr(&p)), 0);
    store_close(s);
    /* the index is lost: rebuilt from the Maildir, keywords and all */
    static const char *const sfx[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        buf_reset(&p);
        buf_printf(&p, "%s/index.sqlite%s", dir, sfx[i]);
        unlink(buf_cstr(&p));
    }
    s = open_store(dir);
    struct row r[4];
    assert_int_equal(rows_of(s, acct, "INBOX", r, 4), 2);
    int flags = 0;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(store_msg_get(s, r[i].id, &m), 0);
        assert_string_equal(m.keywords, "Work $label1");
        flags |= m.flags;
        store_msg_free(&m);
    }
    assert_int_equal(flags, MSG_SEEN);
    assert_int_equal(rows_of(s, acct, "Archive", r, 4), 1);
    assert_int_equal(store_msg_get(s, r[0].id, &m), 0);
    assert_string_equal(m.keywords, "$label1 Work");
    store_msg_free(&m);
    store_close(s);
    buf_free(&p);
    buf_free(&to);
}

/* A 27th keyword of a folder has no letter: it is kept in the index, and
 * the other 26 are in the file names. */
static void test_keywords_beyond_26(void **state) {
    const char *acct = "all@example.com";
    struct store *s = open_store(*state);
    assert_int_equal(store_mailbox_create(s, acct, "INBOX"), 0);
    const char *msg = "Subject: k\r\n\r\nbody\r\n";
    int64_t a;
    assert_int_equal(store_append(s, acct, "INBOX", msg, strlen(msg), 0, NULL, 0, &a, NULL), 0);
    buf_t kw = BUF_INIT;
    for (int i = 0; i < 27; i++) buf_printf(&kw, "%skw%02d", i ? " " : "", i);
    assert_int_equal(store_update_flags(s, a, STORE_FLAGS_ADD, MSG_FLAGGED, buf_cstr(&kw), NULL, NULL), 0);
    struct store_msg m;
    assert_int_equal(store_msg_get(s, a, &m), 0);
    assert_string_equal(m.keywords, buf_cstr(&kw));
    assert_string_equal(ends(m.path, strlen(":2,Fabcdefghijklmnopqrstuvwxyz")), ":2,Fabcdefghijklmnopqrstuvwxyz");
    assert_int_equal(access(m.path, F_OK), 0);
    store_msg_free(&m);
    /* the sync agrees with the index: the 27th is not lost by it */
    buf_t p = BUF_INIT;
    store_mailbox_path(s, acct, "INBOX", &p);
    assert_int_equal(index_sync_mailbox(s->idx, acct, "INBOX", buf_cstr(&p)), 0);
    assert_int_equal(store_msg_get(s, a, &m), 0);
    assert_string_equal(m.keywords, buf_cstr(&kw));
    store_msg_free(&m);
    buf_free(&p);
    buf_free(&kw);
    store_close(s);
}


struct ready_probe {
    struct event_base *base;
    int called;
};

/* n small messages in md's new/, as another program would leave them */
static void drop_many(const char *md, int n) {
    for (int i = 0; i < n; i++) {
        char name[64], text[64];
        snprintf(name, sizeof name, "1700000000.M%06dP1Q%d.h,S=20", i, i);
        snprintf(text, sizeof text, "Subject: %d\n\nx\n", i);
        drop(md, "new", name, text);
    }
}

static void on_ready(void *arg) {
    struct ready_probe *p = arg;
    p->called++;
    event_base_loopbreak(p->base);
}

static void never(void *arg) {
    (void)arg;
    fail_msg("a cancelled waiter was called");
}

/* With an event loop, what the Maildir holds at start is indexed in the
 * background: store_open returns at once, the account is not ready, a
 * waiter is called once every file is indexed, a cancelled one never. */
static void test_warmup_in_background(void **state) {
    const char *dir = *state;
    buf_t md = BUF_INIT;
    buf_printf(&md, "%s/example.com/all/Maildir", dir);
    make_maildir(buf_cstr(&md));
    enum { N = 1200 };
    drop_many(buf_cstr(&md), N);
    evthread_use_pthreads();
    struct event_base *base = event_base_new();
    buf_t err = BUF_INIT;
    struct store *s = store_open(base, dir, "test.example", &err);
    if (!s) fail_msg("store_open: %s", buf_cstr(&err));
    assert_false(store_account_ready(s, "all@example.com"));
    assert_false(store_account_ready(s, NULL));
    assert_true(store_account_ready(s, "other@example.com"));
    assert_false(store_mailbox_ready(s, "all@example.com", "INBOX"));
    /* not synced on demand while pending: the background does it */
    assert_int_equal(store_sync_mailbox(s, "all@example.com", "INBOX"), 0);
    struct ready_probe p = {base, 0};
    assert_false(store_when_ready(s, "all@example.com", NULL, on_ready, &p));
    assert_false(store_when_ready(s, NULL, NULL, never, NULL));
    store_when_ready_cancel(s, never, NULL);
    assert_true(store_when_ready(s, "other@example.com", NULL, never, NULL));
    event_base_dispatch(base);
    assert_int_equal(p.called, 1);
    assert_true(store_account_ready(s, NULL));
    assert_true(store_when_ready(s, "all@example.com", NULL, never, NULL));
    struct row r[1];
    assert_int_equal(rows_of(s, "all@example.com", "INBOX", r, 1), N);
    store_close(s);
    event_base_free(base);
    buf_free(&md);
    buf_free(&err);
}

struct box_probe {
    struct store *s;
    struct event_base *base;
    int order[2], n;
    bool small_ready_then, inbox_ready_then;
};

static void on_small(void *arg) {
    struct box_probe *p = arg;
    p->order[p->n++] = 1;
    p->small_ready_then = store_mailbox_ready(p->s, "all@example.com", ".Small");
    p->inbox_ready_then = store_mailbox_ready(p->s, "all@example.com", "INBOX");
    event_base_loopbreak(p->base);
}

static void on_inbox(void *arg) {
    struct box_probe *p = arg;
    p->order[p->n++] = 2;
    event_base_loopbreak(p->base);
}

/* A waiter for one mailbox waits for that mailbox only, and the mailbox
 * waited for is indexed first: a small folder asked for is ready while
 * the big INBOX found before it is not indexed yet. */
static void test_warmup_waits_per_mailbox(void **state) {
    const char *dir = *state;
    buf_t md = BUF_INIT, small = BUF_INIT;
    buf_printf(&md, "%s/example.com/all/Maildir", dir);
    buf_printf(&small, "%s/.Small", buf_cstr(&md));
    make_maildir(buf_cstr(&md));
    make_maildir(buf_cstr(&small));
    enum { N = 3000 };
    drop_many(buf_cstr(&md), N);
    drop(buf_cstr(&small), "cur", "1700000000.M1P1Q1.h,S=20:2,S", "Subject: small\n\nx\n");
    evthread_use_pthreads();
    struct event_base *base = event_base_new();
    buf_t err = BUF_INIT;
    struct store *s = store_open(base, dir, "test.example", &err);
    if (!s) fail_msg("store_open: %s", buf_cstr(&err));
    assert_false(store_mailbox_ready(s, "all@example.com", "Small"));
    assert_false(store_mailbox_ready(s, "all@example.com", "INBOX"));
    assert_true(store_mailbox_ready(s, "all@example.com", "Nothing"));
    struct box_probe p = {s, base, {0, 0}, 0, false, true};
    assert_false(store_when_ready(s, "all@example.com", "Small", on_small, &p));
    assert_true(store_when_ready(s, "all@example.com", "Nothing", never, NULL));
    event_base_dispatch(base);
    assert_int_equal(p.n, 1);
    assert_false(store_when_ready(s, "all@example.com", "INBOX", on_inbox, &p));
    event_base_dispatch(base);
    assert_int_equal(p.n, 2);
    assert_int_equal(p.order[0], 1);
    assert_int_equal(p.order[1], 2);
    assert_true(p.small_ready_then);
    assert_false(p.inbox_ready_then);
    struct row r[1];
    assert_int_equal(rows_of(s, "all@example.com", "Small", r, 1), 1);
    store_close(s);
    event_base_free(base);
    buf_free(&md);
    buf_free(&small);
    buf_free(&err);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths),
        cmocka_unit_test_setup_teardown(test_warmup_waits_per_mailbox, setup_dir, teardown_dir),
        cmocka_unit_test(test_unique_names),
        cmocka_unit_test_setup_teardown(test_file_commit, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_file_abort, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_file_create_error, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_sweep_tmp, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_committer, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_open_indexes_existing, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_sync_changes, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_delivery, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_delivery_abort, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_set_flags_and_expunge, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_copy, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_index_ids_never_reused, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_update_flags, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_expunge_deleted, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_copy_set_all_or_nothing, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_event_origin, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_keywords_in_maildir, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_keywords_beyond_26, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_warmup_in_background, setup_dir, teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
