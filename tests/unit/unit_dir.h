/*
 * unit_dir.h - the scratch directory of the unit tests that touch disk:
 * cmocka set-up/tear-down hooks that give each test its own mkdtemp
 * directory under $TMPDIR (or /tmp) in *state and remove it with all it
 * holds afterwards, and a store opened on such a directory without an
 * event loop (commits are then synchronous). Include after <cmocka.h>.
 */
#ifndef DEVMAIL_TESTS_UNIT_DIR_H
#define DEVMAIL_TESTS_UNIT_DIR_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/buf.h"

static inline int unit_dir_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* A new empty directory, malloc'd, or NULL. */
static inline char *unit_dir_make(void) {
    const char *tmp = getenv("TMPDIR");
    buf_t b = BUF_INIT;
    buf_printf(&b, "%s/devmail-unit-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    char *dir = buf_steal(&b);
    if (!mkdtemp(dir)) {
        free(dir);
        return NULL;
    }
    return dir;
}

/* Removes dir and everything in it, and frees the name. */
static inline void unit_dir_remove(char *dir) {
    nftw(dir, unit_dir_rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

static inline int setup_dir(void **state) {
    char *dir = unit_dir_make();
    *state = dir;
    return dir ? 0 : -1;
}

static inline int teardown_dir(void **state) {
    unit_dir_remove(*state);
    return 0;
}

#ifdef DEVMAIL_STORE_H
/* store_open without an event loop on dir; fails the test if it cannot. */
static inline struct store *open_store(const char *dir) {
    buf_t err = BUF_INIT;
    struct store *s = store_open(NULL, dir, "test.example", &err);
    if (!s) fail_msg("store_open: %s", buf_cstr(&err));
    buf_free(&err);
    return s;
}
#endif

#endif
