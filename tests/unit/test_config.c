/*
 * test_config - the settings table: built-in defaults, the config file
 * parser (comments, quotes, errors as FILE:LINE), the list
 * replace-or-append rule across default/file/environment/flag, the
 * size, duration, bool and enum syntaxes, cross-key validation, and the
 * dump/reference output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf/config.h"
#include "core/buf.h"

static int parse(struct config *cfg, const char *text, buf_t *err) {
    return config_parse_text(cfg, "test.conf", text, strlen(text), err);
}

static void parse_ok(struct config *cfg, const char *text) {
    buf_t err = BUF_INIT;
    if (parse(cfg, text, &err) != 0) fail_msg("parse failed: %s", buf_cstr(&err));
    buf_free(&err);
}

static void parse_err(const char *text, const char *want) {
    struct config cfg;
    config_defaults(&cfg);
    buf_t err = BUF_INIT;
    assert_int_equal(parse(&cfg, text, &err), -1);
    if (strcmp(buf_cstr(&err), want) != 0) fail_msg("error '%s', expected '%s'", buf_cstr(&err), want);
    buf_free(&err);
    config_free(&cfg);
}

static void assert_list(const struct strlist *l, size_t n, ...) {
    assert_int_equal(l->n, n);
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++) assert_string_equal(l->v[i], va_arg(ap, const char *));
    va_end(ap);
}

static void test_defaults(void **state) {
    (void)state;
    struct config cfg;
    config_defaults(&cfg);
    assert_string_equal(cfg.hostname, "localhost");
    assert_string_equal(cfg.data_dir, "./devmail-data");
    assert_list(&cfg.domains, 0);
    assert_string_equal(cfg.default_account, "catchall@localhost");
    assert_string_equal(cfg.passdb, "");
    assert_list(&cfg.smtp_listen, 1, "127.0.0.1:1025");
    assert_list(&cfg.imap_listen, 1, "127.0.0.1:1143");
    assert_list(&cfg.http_listen, 1, "127.0.0.1:8025");
    assert_list(&cfg.smtps_listen, 0);
    assert_int_equal(cfg.smtp_auth, SMTP_AUTH_OFF);
    assert_false(cfg.smtp_require_tls_for_auth);
    assert_int_equal(cfg.message_size_limit, 10240000);
    assert_int_equal(cfg.smtp_max_line_length, 4096);
    assert_int_equal(cfg.smtp_idle_timeout, 300);
    assert_int_equal(cfg.smtp_transaction_timeout, 1800);
    assert_int_equal(cfg.retention, 7 * 86400);
    assert_int_equal(cfg.min_free_disk, 64 * 1024 * 1024);
    assert_true(cfg.imap_plaintext_login);
    assert_false(cfg.verbose);
    buf_t err = BUF_INIT;
    assert_int_equal(config_validate(&cfg, &err), 0);
    assert_int_equal(err.len, 0);
    buf_free(&err);
    config_free(&cfg);
}

static void test_parse_file_text(void **state) {
    (void)state;
    struct config cfg;
    config_defaults(&cfg);
    parse_ok(&cfg,
             "# the recipe\n"
             "\n"
             "   \t\n"
             "hostname = devmail.example.com   # trailing comment\n"
             "domain=example.com\n"
             "  data_dir   =   /var/mail/vhosts  \n"
             "message_size_limit = 10M\n"
             "smtp_idle_timeout = 2m\n"
             "verbose = yes\n"
             "smtp_auth = Required\n"
             "passdb = \"/etc/devmail/passwd\"\n"
             "tls_cert = 'a b.pem'\n"
             "log_file = \"log#1\" # a '#' inside quotes is data\n"
             "pidfile = \"\"\n"
             "retention = 0");
    assert_string_equal(cfg.hostname, "devmail.example.com");
    assert_list(&cfg.domains, 1, "example.com");
    assert_string_equal(cfg.data_dir, "/var/mail/vhosts");
    assert_int_equal(cfg.message_size_limit, 10 * 1024 * 1024);
    assert_int_equal(cfg.smtp_idle_timeout, 120);
    assert_true(cfg.verbose);
    assert_int_equal(cfg.smtp_auth, SMTP_AUTH_REQUIRED);
    assert_string_equal(cfg.passdb, "/etc/devmail/passwd");
    assert_string_equal(cfg.tls_cert, "a b.pem");
    assert_string_equal(cfg.log_file, "log#1");
    assert_string_equal(cfg.pidfile, "");
    assert_int_equal(cfg.retention, 0);
    config_free(&cfg);

    /* CRLF line ends and an empty text */
    config_defaults(&cfg);
    parse_ok(&cfg, "hostname = h1\r\nverbose = on\r\n");
    assert_string_equal(cfg.hostname, "h1");
    assert_true(cfg.verbose);
    parse_ok(&cfg, "");
    assert_string_equal(cfg.hostname, "h1");
    /* the text length is honoured */
    buf_t err = BUF_INIT;
    assert_int_equal(config_parse_text(&cfg, "x", "hostname = abcdef", 14, &err), 0);
    assert_string_equal(cfg.hostname, "abc");
    buf_free(&err);
    config_free(&cfg);
}

static void test_parse_errors(void **state) {
    (void)state;
    parse_err("hostname = a\n\njunk line\n", "test.conf:3: expected 'key = value'");
    parse_err("# c\nbogus_key = 1\n", "test.conf:2: unknown setting 'bogus_key'");
    parse_err("= value\n", "test.conf:1: unknown setting ''");
    parse_err("message_size_limit = lots\n",
              "test.conf:1: message_size_limit: 'lots' is not a size (e.g. 10240000, 512K, 10M)");
    parse_err("\n\n\n\nsmtp_idle_timeout = 5 minutes\n",
              "test.conf:5: smtp_idle_timeout: '5 minutes' is not a duration (e.g. 30s, 5m, 12h, 7d)");
    parse_err("verbose = maybe\n", "test.conf:1: verbose: 'maybe' is not yes or no");
    parse_err("smtp_max_recipients = -5\n", "test.conf:1: smtp_max_recipients: '-5' is not a non-negative number");
    parse_err("smtp_max_recipients = 10x\n", "test.conf:1: smtp_max_recipients: '10x' is not a non-negative number");
    parse_err("smtp_max_recipients =\n", "test.conf:1: smtp_max_recipients: '' is not a non-negative number");
    parse_err("smtp_auth = sometimes\n", "test.conf:1: smtp_auth: 'sometimes' is not one of off, optional, required, any");
    /* parsing stops at the first error: later lines are not applied */
    struct config cfg;
    config_defaults(&cfg);
    buf_t err = BUF_INIT;
    assert_int_equal(parse(&cfg, "hostname = one\nbad\nhostname = two\n", &err), -1);
    assert_string_equal(cfg.hostname, "one");
    buf_free(&err);
    config_free(&cfg);
}

static void test_list_rule(void **state) {
    (void)state;
    struct config cfg;
    buf_t err = BUF_INIT;
    config_defaults(&cfg);
    /* the file's first assignment replaces the default, later ones append */
    parse_ok(&cfg, "smtp_listen = 0.0.0.0:25\nsmtp_listen = [::]:25, 127.0.0.1:2525\ndomain = a.example b.example\n");
    assert_list(&cfg.smtp_listen, 3, "0.0.0.0:25", "[::]:25", "127.0.0.1:2525");
    assert_list(&cfg.domains, 2, "a.example", "b.example");
    /* a list the file did not touch keeps its default */
    assert_list(&cfg.imap_listen, 1, "127.0.0.1:1143");
    /* the environment replaces the file's list, then appends */
    assert_int_equal(config_set(&cfg, "smtp_listen", "127.0.0.1:1", 2, &err), 0);
    assert_int_equal(config_set(&cfg, "smtp_listen", "127.0.0.1:2", 2, &err), 0);
    assert_list(&cfg.smtp_listen, 2, "127.0.0.1:1", "127.0.0.1:2");
    /* a flag replaces again; an empty value clears (disables a listener) */
    assert_int_equal(config_set(&cfg, "smtp_listen", "127.0.0.1:3", 3, &err), 0);
    assert_list(&cfg.smtp_listen, 1, "127.0.0.1:3");
    assert_int_equal(config_set(&cfg, "imap_listen", "", 3, &err), 0);
    assert_list(&cfg.imap_listen, 0);
    assert_int_equal(config_set(&cfg, "domain", "c.example", 3, &err), 0);
    assert_int_equal(config_set(&cfg, "domain", "d.example", 3, &err), 0);
    assert_list(&cfg.domains, 2, "c.example", "d.example");
    /* empty items and separators collapse */
    assert_int_equal(config_set(&cfg, "http_listen", " ,, a:1 ,\tb:2,", 3, &err), 0);
    assert_list(&cfg.http_listen, 2, "a:1", "b:2");
    config_free(&cfg);

    /* config_defaults resets the rule: a new file replaces the default */
    config_defaults(&cfg);
    parse_ok(&cfg, "smtp_listen = 127.0.0.1:9\n");
    assert_list(&cfg.smtp_listen, 1, "127.0.0.1:9");
    parse_ok(&cfg, "smtp_listen = \"\"\n");
    assert_list(&cfg.smtp_listen, 1, "127.0.0.1:9"); /* same source: append of nothing */
    config_free(&cfg);
    config_defaults(&cfg);
    parse_ok(&cfg, "smtp_listen = ''\n");
    assert_list(&cfg.smtp_listen, 0);
    config_free(&cfg);
    buf_free(&err);
}

static void test_env(void **state) {
    (void)state;
    struct config cfg;
    buf_t err = BUF_INIT;
    config_defaults(&cfg);
    parse_ok(&cfg, "hostname = from-file\nsmtp_listen = 127.0.0.1:1\n");
    setenv("DEVMAIL_HOSTNAME", "from-env", 1);
    setenv("DEVMAIL_SMTP_LISTEN", "127.0.0.1:2 127.0.0.1:3", 1);
    setenv("DEVMAIL_VERBOSE", "true", 1);
    assert_int_equal(config_load_env(&cfg, &err), 0);
    assert_string_equal(cfg.hostname, "from-env");
    assert_list(&cfg.smtp_listen, 2, "127.0.0.1:2", "127.0.0.1:3");
    assert_true(cfg.verbose);
    setenv("DEVMAIL_MESSAGE_SIZE_LIMIT", "huge", 1);
    assert_int_equal(config_load_env(&cfg, &err), -1);
    assert_non_null(strstr(buf_cstr(&err), "DEVMAIL_MESSAGE_SIZE_LIMIT: message_size_limit: 'huge'"));
    unsetenv("DEVMAIL_HOSTNAME");
    unsetenv("DEVMAIL_SMTP_LISTEN");
    unsetenv("DEVMAIL_VERBOSE");
    unsetenv("DEVMAIL_MESSAGE_SIZE_LIMIT");
    buf_free(&err);
    config_free(&cfg);
}

static void test_load_file(void **state) {
    (void)state;
    const char *tmp = getenv("TMPDIR");
    buf_t pb = BUF_INIT;
    buf_printf(&pb, "%s/devmail-test-config-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    char *path = buf_steal(&pb);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char text[] = "hostname = filehost\nbroken\n";
    assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    struct config cfg;
    config_defaults(&cfg);
    buf_t err = BUF_INIT;
    assert_int_equal(config_load_file(&cfg, path, &err), -1);
    buf_t want = BUF_INIT;
    buf_printf(&want, "%s:2: expected 'key = value'", path);
    assert_string_equal(buf_cstr(&err), buf_cstr(&want));
    assert_string_equal(cfg.hostname, "filehost");
    unlink(path);
    buf_reset(&err);
    assert_int_equal(config_load_file(&cfg, path, &err), -1);
    assert_non_null(strstr(buf_cstr(&err), "No such file"));
    assert_int_equal(strncmp(buf_cstr(&err), path, strlen(path)), 0);
    buf_free(&want);
    buf_free(&err);
    config_free(&cfg);
    free(path);
}

static void test_sizes(void **state) {
    (void)state;
    int64_t v = -1;
    assert_int_equal(config_parse_size("10240000", &v), 0);
    assert_int_equal(v, 10240000);
    assert_int_equal(config_parse_size("0", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(config_parse_size("512K", &v), 0);
    assert_int_equal(v, 512 * 1024);
    assert_int_equal(config_parse_size("10m", &v), 0);
    assert_int_equal(v, 10 * 1024 * 1024);
    assert_int_equal(config_parse_size("10MB", &v), 0);
    assert_int_equal(v, 10 * 1024 * 1024);
    assert_int_equal(config_parse_size("2G", &v), 0);
    assert_int_equal(v, 2LL * 1024 * 1024 * 1024);
    v = 42;
    static const char *const bad[] = {"", "M", "-1", "10X", "10MBB", "10 M", "1.5M", "99999999999999999999",
                                      "9223372036854775807K", NULL};
    for (int i = 0; bad[i]; i++)
        if (config_parse_size(bad[i], &v) != -1) fail_msg("size '%s' accepted", bad[i]);
    assert_int_equal(v, 42); /* untouched on error */
}

static void test_durations(void **state) {
    (void)state;
    int64_t v = -1;
    static const struct {
        const char *s;
        int64_t v;
    } ok[] = {{"30", 30}, {"30s", 30}, {"5m", 300}, {"12h", 43200}, {"7d", 604800}, {"2w", 1209600}, {"0", 0}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal(config_parse_duration(ok[i].s, &v), 0);
        assert_int_equal(v, ok[i].v);
    }
    static const char *const bad[] = {"", "s", "-5", "5x", "5mm", "5M", "1.5h", "9223372036854775807w", NULL};
    for (int i = 0; bad[i]; i++)
        if (config_parse_duration(bad[i], &v) != -1) fail_msg("duration '%s' accepted", bad[i]);
}

static void test_bools(void **state) {
    (void)state;
    bool b = false;
    static const char *const yes[] = {"yes", "YES", "true", "True", "on", "1", NULL};
    static const char *const no[] = {"no", "No", "false", "FALSE", "off", "0", NULL};
    for (int i = 0; yes[i]; i++) {
        b = false;
        assert_int_equal(config_parse_bool(yes[i], &b), 0);
        assert_true(b);
    }
    for (int i = 0; no[i]; i++) {
        b = true;
        assert_int_equal(config_parse_bool(no[i], &b), 0);
        assert_false(b);
    }
    b = true;
    assert_int_equal(config_parse_bool("", &b), -1);
    assert_int_equal(config_parse_bool("y", &b), -1);
    assert_int_equal(config_parse_bool("2", &b), -1);
    assert_int_equal(config_parse_bool("yess", &b), -1);
    assert_true(b);
}

static void expect_invalid(const char *text, const char *want) {
    struct config cfg;
    config_defaults(&cfg);
    parse_ok(&cfg, text);
    buf_t err = BUF_INIT;
    assert_int_equal(config_validate(&cfg, &err), -1);
    if (strcmp(buf_cstr(&err), want) != 0) fail_msg("'%s': error '%s', expected '%s'", text, buf_cstr(&err), want);
    buf_free(&err);
    config_free(&cfg);
}

static void test_validate(void **state) {
    (void)state;
    expect_invalid("hostname = \"\"", "hostname must not be empty");
    expect_invalid("data_dir = ''", "data_dir must not be empty");
    expect_invalid("tls_cert = c.pem", "tls_cert and tls_key must be set together");
    expect_invalid("tls_key = k.pem", "tls_cert and tls_key must be set together");
    expect_invalid("message_size_limit = 1023", "message_size_limit must be at least 1024");
    expect_invalid("smtp_max_line_length = 511", "smtp_max_line_length must be at least 512");
    expect_invalid("imap_max_line_length = 100", "imap_max_line_length must be at least 1024");
    expect_invalid("smtp_max_recipients = 0", "smtp_max_recipients must be at least 1");
    expect_invalid("max_connections_per_ip = 0", "max_connections_per_ip must be at least 1");
    expect_invalid("imap_max_bad_commands = 0", "imap_max_bad_commands must be at least 1");
    expect_invalid("smtp_auth = required", "smtp_auth = required needs a passdb");
    expect_invalid("smtp_auth = optional", "smtp_auth = optional needs a passdb");
    /* and the valid neighbours */
    struct config cfg;
    config_defaults(&cfg);
    parse_ok(&cfg, "smtp_auth = required\npassdb = p\ntls_cert = c\ntls_key = k\nmessage_size_limit = 1024\n"
                   "smtp_max_line_length = 512\n");
    buf_t err = BUF_INIT;
    assert_int_equal(config_validate(&cfg, &err), 0);
    config_free(&cfg);
    config_defaults(&cfg);
    parse_ok(&cfg, "smtp_auth = any\n");
    assert_int_equal(config_validate(&cfg, &err), 0);
    buf_free(&err);
    config_free(&cfg);
}

static void test_find(void **state) {
    (void)state;
    const struct config_entry *e = config_find_flag("smtp-listen");
    assert_non_null(e);
    assert_string_equal(e->key, "smtp_listen");
    assert_int_equal(e->type, CONF_LIST);
    assert_string_equal(config_find_flag("data-dir")->key, "data_dir");
    assert_string_equal(config_find_flag("domain")->key, "domain");
    assert_null(config_find_flag("no-such-flag"));
    assert_null(config_find("smtp-listen"));
    assert_non_null(config_find("smtp_listen"));
    /* the interface flags of the issue all exist */
    static const char *const flags[] = {"data-dir", "hostname", "domain", "passdb", "smtp-listen", "smtps-listen",
                                        "imap-listen", "imaps-listen", "pop3-listen", "pop3s-listen", "http-listen",
                                        NULL};
    for (int i = 0; flags[i]; i++)
        if (!config_find_flag(flags[i])) fail_msg("no --%s", flags[i]);
    char longflag[200];
    memset(longflag, 'a', sizeof longflag - 1);
    longflag[sizeof longflag - 1] = '\0';
    assert_null(config_find_flag(longflag));
}

static void test_reference_and_dump(void **state) {
    (void)state;
    buf_t ref = BUF_INIT;
    config_reference(&ref);
    const char *r = buf_cstr(&ref);
    size_t nkeys = 0;
    for (const struct config_entry *e = config_table; e->key; e++, nkeys++) {
        buf_t want = BUF_INIT;
        buf_printf(&want, "| `%s` | `--", e->key);
        for (const char *c = e->key; *c; c++) buf_append_char(&want, *c == '_' ? '-' : *c);
        buf_append_str(&want, "` | `DEVMAIL_");
        for (const char *c = e->key; *c; c++) buf_append_char(&want, (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c));
        buf_append_str(&want, "` |");
        if (!strstr(r, buf_cstr(&want))) fail_msg("reference lacks '%s'", buf_cstr(&want));
        if (!strstr(r, e->help)) fail_msg("reference lacks help of %s", e->key);
        buf_free(&want);
    }
    assert_true(nkeys > 30);
    /* one header, one separator and one row per key */
    size_t lines = 0;
    for (const char *c = r; *c; c++) lines += *c == '\n';
    assert_int_equal(lines, nkeys + 2);
    buf_free(&ref);

    /* dump: "key = value" for every key, and it parses back to itself */
    struct config cfg;
    config_defaults(&cfg);
    parse_ok(&cfg, "hostname = h.example\ndomain = a.example, b.example\nsmtp_idle_timeout = 90\n"
                   "retention = 2w\nsmtp_auth = any\nverbose = 1\n");
    buf_t d1 = BUF_INIT;
    config_dump(&cfg, &d1);
    assert_non_null(strstr(buf_cstr(&d1), "hostname = h.example\n"));
    assert_non_null(strstr(buf_cstr(&d1), "domain = a.example, b.example\n"));
    assert_non_null(strstr(buf_cstr(&d1), "smtp_idle_timeout = 90s\n"));
    assert_non_null(strstr(buf_cstr(&d1), "retention = 14d\n"));
    assert_non_null(strstr(buf_cstr(&d1), "smtp_auth = any\n"));
    assert_non_null(strstr(buf_cstr(&d1), "verbose = yes\n"));
    assert_non_null(strstr(buf_cstr(&d1), "message_size_limit = 10240000\n"));
    size_t dl = 0;
    for (const char *c = buf_cstr(&d1); *c; c++) dl += *c == '\n';
    assert_int_equal(dl, nkeys);
    struct config cfg2;
    config_defaults(&cfg2);
    parse_ok(&cfg2, buf_cstr(&d1));
    buf_t d2 = BUF_INIT;
    config_dump(&cfg2, &d2);
    assert_string_equal(buf_cstr(&d1), buf_cstr(&d2));
    buf_free(&d1);
    buf_free(&d2);
    config_free(&cfg);
    config_free(&cfg2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_parse_file_text),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_list_rule),
        cmocka_unit_test(test_env),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_bools),
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_reference_and_dump),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
