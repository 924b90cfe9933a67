/*
 * maildir_keywords - IMAP keywords (and API tags, which are keywords) kept
 * in the Maildir the way Dovecot keeps them, so that a rebuilt index, and
 * Dovecot or mutt reading the same Maildir, see them too.
 *
 * Each Maildir folder (INBOX is the Maildir root, others ".Name") may have
 * a file "dovecot-keywords" with lines "N name\n", N = 0..25; keyword N is
 * the info letter 'a' + N in the names of the folder's files, after the
 * standard flags: "<base>:2,FSac" is \Flagged \Seen and keywords 0 and 2.
 * A folder can hold 26 keywords so; more live in the index only (as in
 * Dovecot). Letters are never reassigned: the file only grows.
 *
 * mdkw_parse/format/find/add/letters/names are pure functions over bytes
 * (unit-tested, fuzz/fuzz_maildir_keywords.c); mdkw_load/mdkw_save read
 * and write the file.
 */
#ifndef DEVMAIL_MAILDIR_KEYWORDS_H
#define DEVMAIL_MAILDIR_KEYWORDS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

#define MDKW_MAX 26
#define MDKW_FILE "dovecot-keywords"

/* Keyword of each letter, NULL when the letter is free; malloc'd names. */
struct mdkw {
    char *names[MDKW_MAX];
};

void mdkw_init(struct mdkw *k);
void mdkw_free(struct mdkw *k);
void mdkw_copy(struct mdkw *dst, const struct mdkw *src);
/* Whether name (n bytes) can be a keyword here: 1 to MDKW_MAX_NAME bytes
 * of printable ASCII or UTF-8, none of SP ( ) { % * " \ ] or controls,
 * not starting with a backslash (a system flag). */
#define MDKW_MAX_NAME 256
bool mdkw_name_valid(const char *name, size_t n);
/* Read a dovecot-keywords file's bytes into k (which is reset first).
 * Lines that are not "N name" with N 0..25 and a valid name are skipped,
 * as Dovecot skips them; a later line for the same N wins; a name already
 * held by a lower letter is skipped. A CR before the LF is dropped.
 * Returns the number of keywords read. */
int mdkw_parse(struct mdkw *k, const char *data, size_t len);
/* The file's bytes for k: "N name\n" for each used letter, in order. */
void mdkw_format(const struct mdkw *k, buf_t *out);
/* Letter index (0..25) of a keyword, compared ASCII-case-insensitively as
 * IMAP keywords are; -1 when it has none. */
int mdkw_find(const struct mdkw *k, const char *name, size_t n);
/* Give a keyword a letter (the lowest free one) unless it has one.
 * Returns its index, or -1 when all 26 are used or the name is invalid. */
int mdkw_add(struct mdkw *k, const char *name, size_t n);
/* Append the letters ('a'..'z', in order) of the space separated keywords
 * that have one; keywords without a letter are left out. */
void mdkw_letters(const struct mdkw *k, const char *keywords, buf_t *out);
/* Append (space separated, after what out holds) the keywords named by
 * the lowercase letters in info (a Maildir ":2," info, or a part of it);
 * letters without a name are skipped. */
void mdkw_names(const struct mdkw *k, const char *info, buf_t *out);

/* Read <dir>/dovecot-keywords into k (empty when the file is missing).
 * 0, or -errno when it exists but cannot be read. */
int mdkw_load(struct mdkw *k, const char *dir);
/* Write k to <dir>/dovecot-keywords durably: a new file
 * dovecot-keywords.lock (Dovecot's lock name) is written and fsynced,
 * renamed over the old one, and dir is fsynced, so a file name using a new
 * letter is never on disk without the letter's name. 0 or -errno. */
int mdkw_save(const struct mdkw *k, const char *dir);

#endif
