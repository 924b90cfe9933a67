/*
 * config - every setting of devmail, declared once in a table
 * (config.c: key, type, default, flag, environment variable, help).
 *
 * The same table drives the config file parser ("key = value", '#'
 * comments), the command line (--key-with-dashes VALUE), the environment
 * (DEVMAIL_KEY), `devmail check-config` and the README's reference.
 * Precedence, lowest first: built-in default, config file, environment,
 * command line. For list keys the first assignment from a source replaces
 * the lower source's value and later ones in the same source append; an
 * empty value clears the list (so `--imap-listen ''` disables IMAP).
 */
#ifndef DEVMAIL_CONFIG_H
#define DEVMAIL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

enum smtp_auth_mode { SMTP_AUTH_OFF, SMTP_AUTH_OPTIONAL, SMTP_AUTH_REQUIRED, SMTP_AUTH_ANY };

struct strlist {
    char **v;
    size_t n;
};

struct config {
    /* identity and storage */
    char *hostname;
    char *data_dir;
    struct strlist domains;
    char *recipient_map;
    char *default_account;
    char *passdb;
    /* listeners */
    struct strlist smtp_listen;
    struct strlist smtps_listen;
    struct strlist imap_listen;
    struct strlist imaps_listen;
    struct strlist pop3_listen;
    struct strlist pop3s_listen;
    struct strlist http_listen;
    struct strlist https_listen;
    struct strlist autoconfig_listen;
    struct strlist autoconfig_tls_listen;
    /* TLS */
    char *tls_cert;
    char *tls_key;
    /* SMTP policy and limits */
    int smtp_auth;
    bool smtp_require_tls_for_auth;
    int64_t message_size_limit;
    int64_t smtp_max_line_length;
    int64_t smtp_max_recipients;
    int64_t smtp_max_bad_commands;
    int64_t imap_max_bad_commands;
    int64_t pop3_max_bad_commands;
    int64_t smtp_idle_timeout;
    int64_t smtp_transaction_timeout;
    int64_t max_connections;
    int64_t max_connections_per_ip;
    int64_t smtp_max_connections;
    int64_t imap_max_connections;
    int64_t pop3_max_connections;
    int64_t http_max_connections;
    int64_t slow_client_timeout;
    int64_t min_data_rate;
    int64_t auth_failure_delay_ms;
    int64_t auth_failure_max_delay;
    int64_t auth_max_failures;
    /* IMAP */
    bool imap_plaintext_login;
    bool pop3_plaintext_login;
    int64_t imap_max_line_length;
    int64_t imap_max_literal_size;
    int64_t imap_preauth_max_literal_size;
    int64_t imap_idle_timeout;
    int64_t imap_max_sessions_per_user;
    int64_t imap_max_update_contexts;
    /* POP3 */
    int64_t pop3_idle_timeout;
    /* HTTP */
    struct strlist http_allowed_hosts;
    struct strlist http_cors_origins;
    struct strlist http_admin_users;
    int64_t http_max_waiters;
    int64_t max_output_buffer;
    int64_t send_timeout;
    int64_t http_max_body_size;
    char *http_passdb;
    bool chaos;
    char *webhook_url;
    char *webhook_ca_file;
    char *tag;
    char *spamassassin;
    struct strlist link_check_allowed;
    int64_t link_check_timeout;
    int64_t html_check_max_nodes;
    int64_t attached_message_max_depth;
    int64_t calendar_max_size;
    int64_t spamassassin_timeout;
    char *relay_host;
    int relay_tls;  /* enum smtp_client_tls order: none, starttls, tls */
    bool relay_tls_verify;
    int relay_auth; /* none, plain, login */
    char *relay_username;
    char *relay_password;
    struct strlist relay_allowed_recipients;
    char *relay_return_path;
    bool relay_preserve_message_ids;
    int64_t relay_timeout;
    int64_t webhook_queue_size;
    int64_t webhook_retries;
    int64_t webhook_timeout;
    char *chaos_triggers;
    /* operation */
    int64_t retention;
    int64_t retention_count;
    int64_t min_free_disk;
    int64_t shutdown_timeout;
    char *log_file;
    int log_level; /* enum log_level order: error, warning, info, debug */
    bool verbose;
    char *pidfile;
    char *user;
    char *group;
};

enum config_type { CONF_STR, CONF_INT, CONF_SIZE, CONF_DURATION, CONF_BOOL, CONF_LIST, CONF_ENUM };
/* CONF_RELOAD: SIGHUP applies a new value; CONF_RESTART: read at start
 * only (listeners, data directory, certificate, privileges), a reload
 * keeps the running value and logs that it did. */
enum config_reload { CONF_RELOAD, CONF_RESTART };

struct config_entry {
    const char *key;         /* file key, e.g. "smtp_listen" */
    enum config_type type;
    size_t offset;           /* into struct config */
    const char *def;         /* default, as text */
    const char *help;        /* one line */
    const char *const *enum_names; /* CONF_ENUM: names in value order, NULL-terminated */
    int64_t min, max;        /* CONF_INT, CONF_SIZE, CONF_DURATION: bounds (max 0: none) */
    enum config_reload reload; /* does SIGHUP apply it? */
};

extern const struct config_entry config_table[];

/* Fill cfg with the built-in defaults. */
void config_defaults(struct config *cfg);
void config_free(struct config *cfg);

/* Set one key from text. source is the origin rank (0 default, 1 file,
 * 2 env, 3 flag) used for the list replace-or-append rule.
 * Returns 0, or -1 with a reason in err. */
int config_set(struct config *cfg, const char *key, const char *value, int source, buf_t *err);

/* Parse a config file's text (pure; name is used in messages only).
 * On error: -1 and "FILE:LINE: reason" in err. */
int config_parse_text(struct config *cfg, const char *name, const char *text, size_t len, buf_t *err);
int config_load_file(struct config *cfg, const char *path, buf_t *err);
/* Apply DEVMAIL_* environment variables. */
int config_load_env(struct config *cfg, buf_t *err);
/* Look up the entry for a --flag name (without the leading dashes). */
const struct config_entry *config_find_flag(const char *flag);
const struct config_entry *config_find(const char *key);

/* Check cross-key consistency after loading (-1 and reason in err). */
int config_validate(const struct config *cfg, buf_t *err);

/* Print "key = value" for every key (check-config). */
void config_dump(const struct config *cfg, buf_t *out);
/* Markdown table of keys, flags, variables, defaults and help (README). */
void config_reference(buf_t *out);

/* Parsers for the value syntaxes (exposed for tests). */
int config_parse_size(const char *s, int64_t *out);     /* 10240000, 10M, 1G */
int config_parse_duration(const char *s, int64_t *out); /* seconds: 30, 30s, 5m, 12h, 7d, 2w */
int config_parse_bool(const char *s, bool *out);

void strlist_add(struct strlist *l, const char *s);
void strlist_clear(struct strlist *l);

#endif
