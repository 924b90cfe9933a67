/*
 * log - one-line, greppable log records to stderr or a file.
 * Format: "2026-11-25T08:00:00Z devmail smtp[42] 127.0.0.1: message".
 */
#ifndef DEVMAIL_LOG_H
#define DEVMAIL_LOG_H

#include <stdbool.h>

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* Open the log target: NULL or "" or "-" means stderr, "syslog" the
 * system log (facility mail), anything else a file. Returns 0 or -errno. */
int log_open(const char *path);
/* Reopen the same file (for logrotate); no-op for stderr. */
int log_reopen(void);
void log_set_level(enum log_level level);
bool log_enabled(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) do { if (log_enabled(LOG_DEBUG)) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)

#endif
