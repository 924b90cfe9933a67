/*
 * cli_config - configuration loading shared by every subcommand; see
 * cli_config.h.
 */
#include "cli/cli_config.h"

#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

void cli_usage(FILE *fp) {
    fprintf(fp,
            "usage: devmail [serve] [-c FILE] [-v] [--KEY VALUE ...]\n"
            "       devmail check-config [-c FILE] [--KEY VALUE ...] [--reference]\n"
            "       devmail passwd [-s SHA512-CRYPT|SHA256-CRYPT|BLF-CRYPT|PLAIN] [USER]\n"
            "       devmail reindex [-c FILE] [--data-dir DIR]\n"
            "       devmail purge --older-than 7d [--keep N] [--mailbox NAME] [-c FILE] [--data-dir DIR]\n"
            "       devmail check [--lint] [--spam] [--json] [--account ADDR] ID|latest|FILE|- [-c FILE] [--data-dir DIR]\n"
            "       devmail sendmail [-t] [-i] [-f FROM] [-F NAME] [-c FILE] [--smtp-listen ADDR:PORT] [RCPT ...]\n"
            "       devmail client-setup [ADDRESS] [--format text|thunderbird|autodiscover|mobileconfig] [--ca] [-c FILE]\n"
            "       devmail ca-cert [-c FILE] [--data-dir DIR]\n"
            "\n"
            "Every setting is a config file key, a --flag (underscores as dashes)\n"
            "and a DEVMAIL_* environment variable; `devmail check-config --reference`\n"
            "lists them all. Precedence: flag > environment > file > default.\n");
}

int cli_load_config(struct config *cfg, int argc, char **argv, bool *reference) {
    config_defaults(cfg);
    buf_t err = BUF_INIT;
    const char *file = getenv("DEVMAIL_CONFIG");
    for (int i = 0; i < argc; i++) {
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc) file = argv[++i];
        else if (!strncmp(argv[i], "--config=", 9)) file = argv[i] + 9;
    }
    if (file && config_load_file(cfg, file, &err) < 0) goto fail;
    if (config_load_env(cfg, &err) < 0) goto fail;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-c") || !strcmp(a, "--config")) {
            i++;
            continue;
        }
        if (!strncmp(a, "--config=", 9)) continue;
        if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            cfg->verbose = true;
            continue;
        }
        if (!strcmp(a, "--reference") && reference) {
            *reference = true;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            cli_usage(stdout);
            exit(0);
        }
        if (!strcmp(a, "--version")) {
            printf("devmail %s\n", DEVMAIL_VERSION);
            exit(0);
        }
        if (strncmp(a, "--", 2) != 0) {
            buf_printf(&err, "unexpected argument '%s'", a);
            goto fail;
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        char *flag = eq ? xstrndup(name, (size_t)(eq - name)) : xstrdup(name);
        const struct config_entry *e = config_find_flag(flag);
        if (!e) {
            buf_printf(&err, "unknown option --%s (see devmail check-config --reference)", flag);
            free(flag);
            goto fail;
        }
        const char *value;
        if (eq) value = eq + 1;
        else if (i + 1 < argc) value = argv[++i];
        else if (e->type == CONF_BOOL) value = "yes";
        else {
            buf_printf(&err, "--%s needs a value", flag);
            free(flag);
            goto fail;
        }
        buf_t why = BUF_INIT;
        int rc = config_set(cfg, e->key, value, 3, &why);
        free(flag);
        if (rc < 0) {
            buf_printf(&err, "%s", buf_cstr(&why));
            buf_free(&why);
            goto fail;
        }
        buf_free(&why);
    }
    if (config_validate(cfg, &err) < 0) goto fail;
    buf_free(&err);
    return 0;
fail:
    fprintf(stderr, "devmail: %s\n", buf_cstr(&err));
    buf_free(&err);
    config_free(cfg);
    return -1;
}
