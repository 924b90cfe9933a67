/*
 * cli_config - how every devmail command finds its configuration: the
 * built-in defaults, then the file named by -c FILE (or DEVMAIL_CONFIG),
 * then DEVMAIL_* environment variables, then --key value flags. The
 * server, check-config, reindex, purge and the sendmail injector all use
 * it, so `devmail sendmail -c FILE` finds the server that `devmail -c
 * FILE` started.
 */
#ifndef DEVMAIL_CLI_CONFIG_H
#define DEVMAIL_CLI_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#include "conf/config.h"

#define DEVMAIL_VERSION "0.1.0"

/* Print the command-line synopsis. */
void cli_usage(FILE *fp);

/* Load defaults, then file (-c), environment and flags; -v, --help and
 * --version are handled here, and --reference when reference is not NULL.
 * Unknown flags are errors. Returns 0, or prints the reason to stderr and
 * returns -1 (cfg then holds nothing to free). */
int cli_load_config(struct config *cfg, int argc, char **argv, bool *reference);

#endif
