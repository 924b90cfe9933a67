/* syslog.h names its priorities LOG_INFO, LOG_DEBUG...: take the values,
 * then drop the macros so log.h's levels keep their names here. */
#include <syslog.h>
static const int syslog_prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
#undef LOG_INFO
#undef LOG_DEBUG

#include "core/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static FILE *log_fp;
static char *log_path;
static enum log_level log_level = LOG_INFO;
static bool log_syslog;

int log_open(const char *path) {
    if (path && strcmp(path, "syslog") == 0) {
        if (log_fp && log_fp != stderr) fclose(log_fp);
        log_fp = NULL;
        free(log_path);
        log_path = NULL;
        openlog("devmail", LOG_PID | LOG_NDELAY, LOG_MAIL);
        log_syslog = true;
        return 0;
    }
    log_syslog = false;
    if (!path || !*path || strcmp(path, "-") == 0) {
        if (log_fp && log_fp != stderr) fclose(log_fp);
        log_fp = stderr;
        free(log_path);
        log_path = NULL;
        return 0;
    }
    FILE *fp = fopen(path, "a");
    if (!fp) return -errno;
    setvbuf(fp, NULL, _IOLBF, 0);
    if (log_fp && log_fp != stderr) fclose(log_fp);
    log_fp = fp;
    if (log_path != path) {
        free(log_path);
        log_path = strdup(path);
    }
    return 0;
}

int log_reopen(void) {
    if (!log_path) return 0;
    char *p = strdup(log_path);
    int r = p ? log_open(p) : -ENOMEM;
    free(p);
    return r;
}

void log_set_level(enum log_level level) {
    log_level = level;
}

bool log_enabled(enum log_level level) {
    return level <= log_level;
}

void log_msg(enum log_level level, const char *fmt, ...) {
    if (level > log_level) return;
    FILE *fp = log_fp ? log_fp : stderr;
    static const char *names[] = {"error: ", "warning: ", "", ""};
    char ts[32];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* Keep records one line: control characters from clients are escaped. */
    for (char *c = line; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = '?';
    if (log_syslog) {
        syslog(syslog_prio[level], "%s%s", names[level], line);
        return;
    }
    fprintf(fp, "%s devmail %s%s\n", ts, names[level], line);
}
