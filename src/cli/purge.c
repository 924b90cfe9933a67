/*
 * purge - the `devmail purge` command; see purge.h. The selection rules
 * live in store/retention.c, shared with the server's timer.
 */
#include "cli/purge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_config.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "store/retention.h"

/* "--name VALUE" or "--name=VALUE" at argv[*i]: the value, else NULL. */
static const char *take_opt(int argc, char **argv, int *i, const char *name, bool *missing) {
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0) return NULL;
    if (argv[*i][n] == '=') return argv[*i] + n + 1;
    if (argv[*i][n] != '\0') return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

int cli_purge(int argc, char **argv) {
    const char *older = NULL, *keep = NULL, *mailbox = NULL;
    char **rest = xcalloc((size_t)argc + 1, sizeof *rest);
    int nrest = 0;
    int status = 1;
    for (int i = 0; i < argc; i++) {
        bool missing = false;
        const char *v;
        if ((v = take_opt(argc, argv, &i, "--older-than", &missing))) older = v;
        else if ((v = take_opt(argc, argv, &i, "--keep", &missing))) keep = v;
        else if ((v = take_opt(argc, argv, &i, "--mailbox", &missing))) mailbox = v;
        else if (missing) {
            fprintf(stderr, "devmail purge: %s needs a value\n", argv[i]);
            free(rest);
            return 2;
        } else rest[nrest++] = argv[i];
    }
    int64_t older_s = -1, keep_n = 0;
    if (older && config_parse_duration(older, &older_s) < 0) {
        fprintf(stderr, "devmail purge: --older-than '%s' is not a duration (e.g. 30s, 12h, 7d)\n", older);
        free(rest);
        return 2;
    }
    if (keep) {
        char *end;
        long long k = strtoll(keep, &end, 10);
        if (end == keep || *end || k < 1) {
            fprintf(stderr, "devmail purge: --keep '%s' is not a positive count\n", keep);
            free(rest);
            return 2;
        }
        keep_n = k;
    }
    if (!older && !keep) {
        fprintf(stderr, "devmail purge: say what to remove: --older-than DURATION and/or --keep COUNT\n");
        cli_usage(stderr);
        free(rest);
        return 2;
    }
    struct config cfg;
    if (cli_load_config(&cfg, nrest, rest, NULL) < 0) {
        free(rest);
        return 1;
    }
    free(rest);
    buf_t err = BUF_INIT;
    struct store *st = retention_store_open(cfg.data_dir, cfg.hostname, &err);
    if (!st) {
        fprintf(stderr, "devmail purge: %s\n", buf_cstr(&err));
        goto out;
    }
    int removed = 0;
    if (retention_run(st, older_s, keep_n, mailbox, &removed) < 0) {
        fprintf(stderr, "devmail purge: the index query failed (see above)\n");
    } else {
        printf("purged %d message%s from %s\n", removed, removed == 1 ? "" : "s", cfg.data_dir);
        status = 0;
    }
    store_close(st);
out:
    buf_free(&err);
    config_free(&cfg);
    return status;
}
