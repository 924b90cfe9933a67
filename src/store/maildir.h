/*
 * maildir - durable Maildir delivery and Maildir path rules.
 *
 * A message is written to <maildir>/tmp/<unique>, then committed:
 * its data is synced, it is renamed to <maildir>/new/<unique>,S=<size>
 * and the new/ directory is synced. Only after commit may a protocol
 * acknowledge the message; a crash at any instant leaves either nothing
 * or the complete message in new/ (tmp/ leftovers are swept at start).
 *
 * Commits of concurrent deliveries are grouped by maildir_committer: one
 * thread syncs a whole batch with one syncfs() instead of one fsync each,
 * renames the batch, syncs the touched directories and hands the batch
 * back to the event loop. That is what makes durable ingest fast.
 */
#ifndef DEVMAIL_MAILDIR_H
#define DEVMAIL_MAILDIR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/buf.h"

/* Seconds a tmp/ file may sit unused before the start-up sweep removes it
 * (Maildir convention: 36 hours). */
#define MAILDIR_TMP_MAX_AGE (36 * 3600)
/* The commit thread's idle work starts after this long without commits. */
#define MAILDIR_COMMIT_QUIET_MS 200

struct maildir_file {
    int fd;
    char *maildir;  /* the Maildir root (or folder) */
    char *unique;   /* unique base name, without ,S= */
    char *tmp_path;
    char *new_path; /* set by commit */
    int64_t size;   /* bytes written (LF line ends) */
    int64_t lines;  /* LFs written: size + lines is the CRLF (RFC822) size */
    int error;      /* first write errno, 0 if fine */
};

/* Create <path>/{cur,new,tmp} (and parents) if missing. 0 or -errno. */
int maildir_ensure(const char *path);
/* Path of an account's Maildir root: <data_dir>/<domain>/<user>/Maildir. */
void maildir_account_path(buf_t *out, const char *data_dir, const char *account);
/* Path of a mailbox: INBOX is the root, others are Maildir++ ".Name". */
void maildir_mailbox_path(buf_t *out, const char *account_maildir, const char *mailbox);
/* New unique name "<sec>.M<usec>P<pid>Q<n>.<host>" (host sanitized). */
char *maildir_unique_name(const char *hostname);

/* Open a new file in <maildir>/tmp. 0 or -errno. */
int maildir_file_create(struct maildir_file *f, const char *maildir, const char *hostname);
/* Append bytes; failures are remembered in f->error and reported by commit. */
void maildir_file_write(struct maildir_file *f, const void *p, size_t n);
/* Close and unlink the tmp file; frees f's members. */
void maildir_file_abort(struct maildir_file *f);
/* Rename the synced file into new/ as <unique>,S=<size>,W=<crlf size>
 * (Dovecot's convention; caller has synced its data). */
int maildir_file_publish(struct maildir_file *f);
/* Synchronous single commit: fdatasync, publish, fsync new/. 0 or -errno. */
int maildir_file_commit(struct maildir_file *f);
void maildir_file_free(struct maildir_file *f);
/* fsync a directory by path. */
int maildir_sync_dir(const char *dir);

/* Remove tmp/ files older than max_age seconds. Returns the number removed. */
int maildir_sweep_tmp(const char *maildir, int max_age);

/* --- group commit ------------------------------------------------------ */

struct maildir_committer;
struct event_base;

/* One unit of work: files that must all be durable before cb runs. cb is
 * called on the event loop thread with result 0 or -errno (first failure);
 * the files are then published (new_path set) or left for the caller to abort. */
typedef void (*maildir_commit_cb)(int result, void *arg);
/* Optional work run on the commit thread after a successful commit (for
 * example parsing the published messages), so the event loop stays free. */
typedef void (*maildir_commit_work)(void *arg);

struct maildir_committer *maildir_committer_new(struct event_base *base);
void maildir_committer_submit(struct maildir_committer *c, struct maildir_file **files, size_t n,
                              maildir_commit_work work, maildir_commit_cb cb, void *arg);
/* Optional hooks run on the commit thread around the work of one batch
 * (e.g. one index transaction for all messages synced together). */
void maildir_committer_set_batch_hooks(struct maildir_committer *c, void (*begin)(void *), void (*end)(void *),
                                       void *arg);
/* Optional work for the commit thread when it has nothing else to do
 * (e.g. full-text indexing); fn returns true while more remains. */
void maildir_committer_set_idle_hook(struct maildir_committer *c, bool (*fn)(void *), void *arg);
/* Is work submitted and not yet committed (deliveries waiting for the
 * index)? Other writers of the index let it go first. */
bool maildir_committer_busy(struct maildir_committer *c);
/* Finish queued work and stop the thread. */
void maildir_committer_free(struct maildir_committer *c);
/* Statistics: batches and files committed so far. */
void maildir_committer_stats(struct maildir_committer *c, uint64_t *batches, uint64_t *files);

#endif
