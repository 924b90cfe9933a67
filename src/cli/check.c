/*
 * check - the `devmail check` command; see check.h. The lint itself is
 * check/mail_lint.c, the same the API's /lint route answers with.
 */
#include "cli/check.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include <event2/event.h>

#include <gmime/gmime.h>

#include "app/spamcheck.h"
#include "check/html_check.h"
#include "check/mail_lint.h"
#include "cli/cli_config.h"
#include "core/buf.h"
#include "core/xalloc.h"
#include "store/api_query.h"
#include "store/summary.h"
#include "store/retention.h"
#include "store/store.h"

#define CHECK_MAX_FILE (256u * 1024 * 1024)

static int read_stream(FILE *fp, buf_t *out) {
    char b[65536];
    size_t n;
    while ((n = fread(b, 1, sizeof b, fp)) > 0) {
        if (out->len + n > CHECK_MAX_FILE) return -1;
        buf_append(out, b, n);
    }
    return ferror(fp) ? -1 : 0;
}

static int read_path(const char *path, buf_t *out) {
    FILE *fp = !strcmp(path, "-") ? stdin : fopen(path, "rb");
    if (!fp) return -1;
    int rc = read_stream(fp, out);
    if (fp != stdin) fclose(fp);
    return rc;
}

/* The message named by an API ID or "latest" from the data directory. */
static int read_caught(const struct config *cfg, const char *account, const char *what, buf_t *out, buf_t *err) {
    struct store *st = retention_store_open(cfg->data_dir, cfg->hostname, err);
    if (!st) return -1;
    int64_t row = 0;
    int rc = !strcmp(what, "latest") ? api_query_latest(st, account, &row) : api_query_find(st, account, what, &row);
    if (rc != 1) {
        buf_printf(err, rc == 0 ? "no message %s in %s" : "the index query for %s failed in %s", what, cfg->data_dir);
        store_close(st);
        return -1;
    }
    struct store_msg m;
    if (store_msg_get(st, row, &m) < 0) {
        buf_printf(err, "message %s is gone", what);
        store_close(st);
        return -1;
    }
    rc = read_path(m.path, out);
    if (rc < 0) buf_printf(err, "cannot read %s: %s", m.path, strerror(errno));
    store_msg_free(&m);
    store_close(st);
    return rc;
}

struct spam_wait {
    bool done;
    cJSON *json;
    double score, threshold;
    bool is_spam;
    char *error;
    buf_t rules;
};

static void spam_done(void *arg, const struct spam_result *r, const char *error) {
    struct spam_wait *w = arg;
    w->done = true;
    w->json = spam_result_json(r, error);
    if (error) {
        w->error = xstrdup(error);
        return;
    }
    w->score = r->score;
    w->threshold = r->threshold;
    w->is_spam = r->is_spam;
    for (size_t i = 0; i < r->nrules; i++)
        buf_printf(&w->rules, "%-7s %5.1f %-28s %s\n", "spam", r->rules[i].score, r->rules[i].name,
                   r->rules[i].description);
}

/* Ask spamd (the spamassassin key) synchronously, with a loop of our own. */
static int spam_check(const struct config *cfg, const char *msg, size_t len, struct spam_wait *w, buf_t *err) {
    if (!cfg->spamassassin[0]) {
        buf_append_str(err, "--spam needs the spamassassin setting (HOST:PORT of spamd)");
        return -1;
    }
    struct event_base *base = event_base_new();
    if (spamcheck_start(base, cfg->spamassassin, cfg->spamassassin_timeout, msg, len, spam_done, w, err) < 0) {
        event_base_free(base);
        return -1;
    }
    while (!w->done && event_base_loop(base, EVLOOP_ONCE) == 0) {
    }
    spamcheck_shutdown();
    event_base_free(base);
    return 0;
}

static void first_html(GMimeObject *parent, GMimeObject *part, gpointer arg) {
    (void)parent;
    char **html = arg;
    if (*html || !GMIME_IS_TEXT_PART(part)) return;
    GMimeContentType *ct = g_mime_object_get_content_type(part);
    GMimeContentDisposition *d = g_mime_object_get_content_disposition(part);
    const char *dn = d ? g_mime_content_disposition_get_disposition(d) : NULL;
    if (!g_mime_content_type_is_type(ct, "text", "html") || (dn && !g_ascii_strcasecmp(dn, "attachment"))) return;
    char *t = g_mime_text_part_get_text(GMIME_TEXT_PART(part));
    *html = xstrdup(t ? t : "");
    g_free(t);
}

/* The first text/html body of a message (as Mailpit's check takes it),
 * or the bytes themselves when they are an HTML file, not a message;
 * NULL when there is no HTML. */
static char *message_html(const char *msg, size_t len) {
    size_t i = 0;
    while (i < len && (msg[i] == ' ' || msg[i] == '\t' || msg[i] == '\r' || msg[i] == '\n')) i++;
    if (i < len && msg[i] == '<') return xstrndup(msg, len);
    summary_init(); /* g_mime_init, once */
    GMimeStream *st = g_mime_stream_mem_new_with_buffer(msg, len);
    GMimeParser *p = g_mime_parser_new_with_stream(st);
    GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
    char *html = NULL;
    if (m) {
        g_mime_message_foreach(m, first_html, &html);
        g_object_unref(m);
    }
    g_object_unref(p);
    g_object_unref(st);
    return html;
}

static void print_html_report(const struct html_check_report *r) {
    for (size_t i = 0; i < r->n; i++) {
        const struct html_check_warning *w = &r->v[i];
        if (w->partial == 0 && w->unsupported == 0) continue; /* supported everywhere */
        printf("%-7s %-36s %5u use%s  %5.1f%% yes %5.1f%% partial %5.1f%% no\n", "html",
               w->feature ? w->feature->slug : "html-script", w->found, w->found == 1 ? " " : "s", w->supported,
               w->partial, w->unsupported);
    }
    printf("html compatibility: %.1f%% supported, %.1f%% partial, %.1f%% not supported (%zu element%s%s)\n",
           r->supported, r->partial, r->unsupported, r->nodes, r->nodes == 1 ? "" : "s",
           r->truncated ? ", more not checked" : "");
}

int cli_check(int argc, char **argv) {
    bool json = false, lint = false, spam = false, html = false;
    double html_min = -1;
    const char *account = NULL, *what = NULL;
    char **rest = xcalloc((size_t)argc + 1, sizeof *rest);
    int nrest = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--lint")) lint = true;
        else if (!strcmp(argv[i], "--spam")) spam = true;
        else if (!strcmp(argv[i], "--html")) html = true;
        else if (!strncmp(argv[i], "--html-min=", 11)) {
            html = true;
            html_min = atof(argv[i] + 11);
        }
        else if (!strcmp(argv[i], "--json")) json = true;
        else if (!strcmp(argv[i], "--account") && i + 1 < argc) account = argv[++i];
        else if (!strncmp(argv[i], "--account=", 10)) account = argv[i] + 10;
        else if ((argv[i][0] != '-' || !strcmp(argv[i], "-")) && !what) what = argv[i];
        else {
            rest[nrest++] = argv[i];
            /* a config flag's value */
            if (argv[i][0] == '-' && !strchr(argv[i], '=') && i + 1 < argc && strcmp(argv[i], "-v") != 0)
                rest[nrest++] = argv[++i];
        }
    }
    if (!what) {
        fprintf(stderr, "devmail check: name a message: an API ID, latest, a file or - for stdin\n");
        free(rest);
        return 3;
    }
    buf_t msg = BUF_INIT, err = BUF_INIT;
    int status = 3;
    struct stat sb;
    if (!lint && !spam && !html) lint = true; /* the default check */
    bool is_file = !strcmp(what, "-") || strchr(what, '/') || stat(what, &sb) == 0;
    struct config cfg;
    if (cli_load_config(&cfg, nrest, rest, NULL) < 0) {
        free(rest);
        return 3;
    }
    free(rest);
    struct spam_wait sw = {0};
    buf_init(&sw.rules);
    if (is_file) {
        if (read_path(what, &msg) < 0) buf_printf(&err, "cannot read %s: %s", what, strerror(errno));
    } else if (read_caught(&cfg, account, what, &msg, &err) < 0 && !err.len) {
        buf_append_str(&err, "cannot read it");
    }
    if (!err.len && spam) spam_check(&cfg, msg.data ? msg.data : "", msg.len, &sw, &err);
    struct html_check_report hr = {0};
    if (!err.len && html) {
        char *h = message_html(msg.data ? msg.data : "", msg.len);
        if (!h) buf_append_str(&err, "the message has no HTML part");
        else html_check(h, strlen(h), (size_t)cfg.html_check_max_nodes, &hr);
        free(h);
    }
    config_free(&cfg);
    if (err.len || sw.error) {
        fprintf(stderr, "devmail check: %s\n", err.len ? buf_cstr(&err) : sw.error);
        if (sw.json) cJSON_Delete(sw.json);
        free(sw.error);
        buf_free(&sw.rules);
        goto out;
    }
    struct lint_report r = {0};
    if (lint) mail_lint(msg.data ? msg.data : "", msg.len, &r);
    if (json) {
        cJSON *j = lint ? lint_report_json(&r) : cJSON_CreateObject();
        if (sw.json) cJSON_AddItemToObject(j, "Spam", sw.json);
        if (html) cJSON_AddItemToObject(j, "HTMLCheck", html_check_report_json(&hr));
        sw.json = NULL;
        char *s = cJSON_Print(j);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(j);
    } else {
        size_t counts[3] = {0, 0, 0};
        for (size_t i = 0; i < r.n; i++) {
            counts[r.v[i].severity]++;
            printf("%-7s %-28s %-32s %s\n", lint_severity_name(r.v[i].severity), r.v[i].code, r.v[i].where,
                   r.v[i].message);
        }
        if (lint)
            printf("%zu error%s, %zu warning%s, %zu note%s\n", counts[2], counts[2] == 1 ? "" : "s", counts[1],
                   counts[1] == 1 ? "" : "s", counts[0], counts[0] == 1 ? "" : "s");
        if (spam) {
            fputs(buf_cstr(&sw.rules), stdout);
            printf("spam score %.1f of %.1f: %s\n", sw.score, sw.threshold, sw.is_spam ? "spam" : "not spam");
        }
        if (html) print_html_report(&hr);
    }
    int worst = lint_report_worst(&r);
    status = worst == LINT_ERROR ? 2 : worst == LINT_WARNING ? 1 : 0;
    if (spam && sw.is_spam) status = 2; /* an error: receivers junk it */
    /* unsupported features are facts, not failures, unless asked */
    if (html && html_min >= 0 && hr.supported < html_min && status < 1) status = 1;
    html_check_free(&hr);
    lint_report_free(&r);
    if (sw.json) cJSON_Delete(sw.json); /* not printed (text output) */
    buf_free(&sw.rules);
out:
    buf_free(&msg);
    buf_free(&err);
    return status;
}
