/*
 * http_api_info - what the server says about itself: /api/v1/info and
 * /webui (Mailpit's shapes), /metrics (Prometheus text), /livez and
 * /readyz, and the Mailpit features devmail does not have, which answer
 * 400 "... not enabled" as Mailpit does when they are off.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "app/linkcheck.h"
#include "check/html_check.h"
#include "check/mail_lint.h"
#include "app/release.h"
#include "app/spamcheck.h"
#include "core/xalloc.h"
#include "core/log.h"
#include "core/tags.h"
#include "http/http_api_internal.h"
#include "http/web_assets.h"

/* Features of Mailpit that devmail does not have; they answer 400. */
#define NOT_ENABLED_RELEASE "message release not enabled"
#define NOT_ENABLED_SA_CHECK "SpamAssassin check not enabled"
#define NOT_ENABLED_CHAOS "Chaos is not enabled"

void http_api_livez(struct http_ctx *x) {
    http_reply_text(x, 200, "ok");
}

/* ready = mail is taken and shown: the disk has room, the index writes
 * and what the Maildirs held at start is indexed */
void http_api_readyz(struct http_ctx *x) {
    uint64_t added;
    size_t pending = store_warmup_pending(x->app->store, &added);
    if (app_disk_full(x->app)) {
        http_reply_text(x, 503, "not ready: free disk space below min_free_disk");
    } else if (!store_index_writable(x->app->store)) {
        http_reply_text(x, 503, "not ready: the index cannot take writes");
    } else if (pending) {
        buf_t b = BUF_INIT;
        buf_printf(&b, "not ready: indexing the Maildirs found at start: %zu mailboxes to go, %llu messages added so far",
                   pending, (unsigned long long)added);
        http_reply_text(x, 503, buf_cstr(&b));
        buf_free(&b);
    } else {
        http_reply_text(x, 200, "ok");
    }
}

struct release_request {
    void *token; /* http_defer_async's, set once the relay is asked */
};

static void release_done(void *arg, bool ok, const char *error, const char *refused) {
    struct release_request *q = arg;
    struct http_ctx *x = http_token_ctx(q->token);
    if (ok) {
        http_reply_text(x, 200, "ok");
    } else {
        buf_t b = BUF_INIT;
        buf_printf(&b, "SMTP error: %s", error ? error : "not sent"); /* Mailpit's words */
        http_reply_text(x, 400, buf_cstr(&b));
        buf_free(&b);
    }
    (void)refused;
    http_complete(q->token);
    free(q);
}

/* POST /api/v1/message/{ID}/release {"To": [...]}: send the message on to
 * relay_host (app/release.c checks the key, the allow-list and the
 * addresses); "ok" when the relay took it, 400 with the reason otherwise,
 * as Mailpit. */
void http_api_release(struct http_ctx *x) {
    if (!x->app->cfg->relay_host || !x->app->cfg->relay_host[0]) {
        http_reply_text(x, 400, NOT_ENABLED_RELEASE);
        return;
    }
    cJSON *body = http_api_json_body(x);
    if (!body) return;
    cJSON *to = cJSON_GetObjectItemCaseSensitive(body, "To");
    size_t n = cJSON_IsArray(to) ? (size_t)cJSON_GetArraySize(to) : 0;
    const char **v = xcalloc(n ? n : 1, sizeof *v);
    size_t k = 0;
    cJSON *it;
    bool bad = to && !cJSON_IsArray(to) && !cJSON_IsNull(to);
    cJSON_ArrayForEach(it, to) {
        if (!cJSON_IsString(it)) bad = true;
        else v[k++] = it->valuestring;
    }
    struct http_api_loaded l;
    if (bad) {
        http_reply_text(x, 400, "To must be an array of addresses");
    } else if (k == 0) {
        http_reply_text(x, 400, "No valid addresses found");
    } else if (http_api_load_message(x, http_param(x, "ID"), false, &l)) {
        buf_t msg = BUF_INIT, err = BUF_INIT;
        struct release_request *q = xcalloc(1, sizeof *q);
        if (buf_load_file(&msg, l.msg.path) < 0) {
            http_reply_text(x, 404, "message file not found");
            free(q);
        } else if (release_start(x->app, msg.data ? msg.data : "", msg.len, v, k, l.msg.api_id, release_done, q, &err) <
                   0) {
            http_reply_text(x, 400, buf_cstr(&err));
            free(q);
        } else {
            q->token = http_defer_async(x); /* done() comes from the loop, later */
        }
        buf_free(&msg);
        buf_free(&err);
        http_api_loaded_free(&l);
    }
    free(v);
    cJSON_Delete(body);
}

/* GET .../lint: devmail's deliverability lint (check/mail_lint.c) of the
 * message as stored, the same report as `devmail check --json`. */
void http_api_lint(struct http_ctx *x) {
    struct http_api_loaded l;
    if (!http_api_load_message(x, http_param(x, "ID"), false, &l)) return;
    buf_t msg = BUF_INIT;
    if (buf_load_file(&msg, l.msg.path) < 0) {
        http_reply_text(x, 404, "message file not found");
    } else {
        struct lint_report r;
        mail_lint(msg.data ? msg.data : "", msg.len, &r);
        http_reply_json(x, 200, lint_report_json(&r));
        lint_report_free(&r);
    }
    buf_free(&msg);
    http_api_loaded_free(&l);
}

/* GET .../html-check: which HTML and CSS features of the message's HTML
 * the email clients support (check/html_check.c, caniemail's data), in
 * Mailpit's shape; 400 for a message without HTML, as Mailpit. */
void http_api_html_check(struct http_ctx *x) {
    struct http_api_loaded l;
    if (!http_api_load_message(x, http_param(x, "ID"), true, &l)) return;
    struct http_api_detail_walk w = {0};
    http_api_walk_parts(l.mime, http_api_detail_part, &w);
    if (!w.html || !w.html[0]) http_reply_text(x, 400, "message does not contain HTML");
    else http_reply_json(x, 200, html_check_json(w.html, strlen(w.html), (size_t)x->app->cfg->html_check_max_nodes));
    free(w.text);
    free(w.html);
    http_api_loaded_free(&l);
}

struct lc_request {
    void *token; /* http_defer_async's */
};

/* Mailpit's link-check answer: {"Errors": n, "Links": [{URL, StatusCode, Status}]},
 * an error being no answer or a status of 400 and above. */
static void lc_done(void *arg, const struct linkcheck_result *v, size_t n) {
    struct lc_request *q = arg;
    struct http_ctx *x = http_token_ctx(q->token);
    cJSON *o = cJSON_CreateObject();
    int errors = 0;
    cJSON *links = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        cJSON *l = cJSON_CreateObject();
        cJSON_AddStringToObject(l, "URL", v[i].url);
        cJSON_AddNumberToObject(l, "StatusCode", v[i].status_code);
        cJSON_AddStringToObject(l, "Status", v[i].status ? v[i].status : "");
        cJSON_AddItemToArray(links, l);
        if (v[i].status_code == 0 || v[i].status_code >= 400) errors++;
    }
    cJSON_AddNumberToObject(o, "Errors", errors);
    cJSON_AddItemToObject(o, "Links", links);
    http_reply_json(x, 200, o);
    http_complete(q->token);
    free(q);
}

/* GET .../link-check?follow=true: the status of every link and image of
 * the message (check/links.c collects them, app/linkcheck.c asks, only
 * hosts link_check_allowed admits), answered when all are known. */
void http_api_link_check(struct http_ctx *x) {
    struct http_api_loaded l;
    if (!http_api_load_message(x, http_param(x, "ID"), true, &l)) return;
    struct http_api_detail_walk w = {0};
    http_api_walk_parts(l.mime, http_api_detail_part, &w);
    struct links links = {0};
    if (w.html) links_from_html(w.html, strlen(w.html), &links);
    if (w.text) links_from_text(w.text, strlen(w.text), &links);
    free(w.text);
    free(w.html);
    http_api_loaded_free(&l);
    buf_t f = BUF_INIT;
    bool follow = http_query_get(x->req->query, "follow", &f) && (!strcmp(buf_cstr(&f), "true") || !strcmp(buf_cstr(&f), "1"));
    buf_free(&f);
    struct lc_request *q = xcalloc(1, sizeof *q);
    q->token = http_defer_async(x); /* done() always comes from the loop */
    linkcheck_start(x->app, &links, follow, lc_done, q);
    links_free(&links);
}

struct sa_request {
    void *token; /* http_defer_async's, set once spamd is asked */
};

static void sa_done(void *arg, const struct spam_result *r, const char *error) {
    struct sa_request *q = arg;
    struct http_ctx *x = http_token_ctx(q->token);
    /* Mailpit answers spamd trouble as a result with its Error set */
    http_reply_json(x, 200, spam_result_json(r, error));
    http_complete(q->token);
    free(q);
}

/* GET .../sa-check: spamd's verdict (app/spamcheck.c) in Mailpit's shape,
 * answered when spamd has; 400 while the spamassassin key is empty. */
void http_api_sa_check(struct http_ctx *x) {
    const struct config *cfg = x->app->cfg;
    if (!cfg->spamassassin || !cfg->spamassassin[0]) {
        http_reply_text(x, 400, NOT_ENABLED_SA_CHECK);
        return;
    }
    struct http_api_loaded l;
    if (!http_api_load_message(x, http_param(x, "ID"), false, &l)) return;
    buf_t msg = BUF_INIT, err = BUF_INIT;
    struct sa_request *q = xcalloc(1, sizeof *q);
    if (buf_load_file(&msg, l.msg.path) < 0) {
        http_reply_text(x, 404, "message file not found");
        free(q);
    } else if (spamcheck_start(x->app->base, cfg->spamassassin, cfg->spamassassin_timeout, msg.data ? msg.data : "",
                               msg.len, sa_done, q, &err) < 0) {
        http_reply_json(x, 200, spam_result_json(NULL, buf_cstr(&err)));
        free(q);
    } else {
        q->token = http_defer_async(x); /* done() comes from the loop, later */
    }
    buf_free(&msg);
    buf_free(&err);
    http_api_loaded_free(&l);
}

static cJSON *chaos_json(const struct chaos *c) {
    static const char *const names[CHAOS_POINTS] = {"Sender", "Recipient", "Authentication"};
    cJSON *o = cJSON_CreateObject();
    for (int p = 0; p < CHAOS_POINTS; p++) {
        cJSON *t = cJSON_AddObjectToObject(o, names[p]);
        cJSON_AddNumberToObject(t, "ErrorCode", c->t[p].error_code);
        cJSON_AddNumberToObject(t, "Probability", c->t[p].probability);
    }
    return o;
}

/* GET /api/v1/chaos: Mailpit's triggers; 400 while chaos is off (the
 * chaos / chaos_triggers keys), as Mailpit says it. */
void http_api_chaos_get(struct http_ctx *x) {
    if (!x->app->chaos_enabled) {
        http_reply_text(x, 400, NOT_ENABLED_CHAOS);
        return;
    }
    http_reply_json(x, 200, chaos_json(&x->app->chaos));
}

/* PUT /api/v1/chaos {"Sender": {"ErrorCode", "Probability"}, ...}: a
 * trigger left out is 0 % with its default code, as in Mailpit; all of
 * them change or none (Mailpit applies them one by one). Until the next
 * reload of the configuration. */
void http_api_chaos_put(struct http_ctx *x) {
    if (!x->app->chaos_enabled) {
        http_reply_text(x, 400, NOT_ENABLED_CHAOS);
        return;
    }
    cJSON *body = http_api_json_body(x);
    if (!body) return;
    static const char *const names[CHAOS_POINTS] = {"Sender", "Recipient", "Authentication"};
    struct chaos c;
    chaos_defaults(&c);
    buf_t err = BUF_INIT;
    for (int p = 0; p < CHAOS_POINTS && !err.len; p++) {
        cJSON *t = cJSON_GetObjectItemCaseSensitive(body, names[p]);
        cJSON *code = cJSON_GetObjectItemCaseSensitive(t, "ErrorCode");
        cJSON *prob = cJSON_GetObjectItemCaseSensitive(t, "Probability");
        if ((t && !cJSON_IsObject(t) && !cJSON_IsNull(t)) || (code && !cJSON_IsNumber(code)) ||
            (prob && !cJSON_IsNumber(prob))) {
            buf_printf(&err, "%s: ErrorCode and Probability must be numbers", names[p]);
            break;
        }
        int ec = code && code->valueint ? code->valueint : c.t[p].error_code;
        chaos_set(&c, (enum chaos_point)p, ec, prob ? prob->valueint : 0, &err);
    }
    if (err.len) {
        http_reply_text(x, 400, buf_cstr(&err));
    } else {
        x->app->chaos = c;
        log_info("http: chaos triggers set: sender %d@%d%%, recipient %d@%d%%, authentication %d@%d%%",
                 c.t[0].error_code, c.t[0].probability, c.t[1].error_code, c.t[1].probability, c.t[2].error_code,
                 c.t[2].probability);
        http_reply_json(x, 200, chaos_json(&c));
    }
    buf_free(&err);
    cJSON_Delete(body);
}


struct info_tag {
    char *name;
    int64_t count;
};

static int cmp_info_tag(const void *a, const void *b) {
    return strcasecmp(((const struct info_tag *)a)->name, ((const struct info_tag *)b)->name);
}

/* Server-wide figures (database, SMTP counters) are for everyone without
 * HTTP logins, and with them for the logins in http_admin_users only. */
void http_api_info(struct http_ctx *x) {
    bool server = http_ctx_is_admin(x);
    int64_t total, unread, *counts = NULL;
    char **kws = NULL;
    size_t nkw = 0;
    if (api_query_count(x->app->store, x->account, NULL, &total, &unread) < 0 ||
        api_query_tag_counts(x->app->store, x->account, &kws, &counts, &nkw) < 0) {
        http_api_query_failed(x);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "Version", HTTP_API_VERSION);
    cJSON_AddStringToObject(o, "LatestVersion", "");
    char *path = store_index_path(x->app->store);
    struct stat stt;
    cJSON_AddStringToObject(o, "Database", server ? path : "");
    cJSON_AddNumberToObject(o, "DatabaseSize", server && stat(path, &stt) == 0 ? (double)stt.st_size : 0);
    free(path);
    cJSON_AddNumberToObject(o, "Messages", (double)total);
    cJSON_AddNumberToObject(o, "Unread", (double)unread);
    /* {tag: messages}, from one pass over the index (not a count per tag) */
    struct info_tag *t = xcalloc(nkw ? nkw : 1, sizeof *t);
    for (size_t i = 0; i < nkw; i++) {
        t[i].name = tag_from_keyword(kws[i], strlen(kws[i]));
        t[i].count = counts[i];
    }
    qsort(t, nkw, sizeof *t, cmp_info_tag);
    cJSON *tags = cJSON_AddObjectToObject(o, "Tags");
    for (size_t i = 0; i < nkw; i++) {
        cJSON_AddNumberToObject(tags, t[i].name, (double)t[i].count);
        free(t[i].name);
    }
    free(t);
    api_query_tags_free(kws, nkw);
    free(counts);
    cJSON *rs = cJSON_AddObjectToObject(o, "RuntimeStats");
    const struct app_stats *s = &x->app->stats;
    cJSON_AddNumberToObject(rs, "Uptime", (double)(time(NULL) - x->app->started));
    cJSON_AddNumberToObject(rs, "Memory", 0);
    cJSON_AddNumberToObject(rs, "MessagesDeleted", 0);
    /* the SMTP counters are not kept per account */
    cJSON_AddNumberToObject(rs, "SMTPAccepted", server ? (double)s->messages_accepted : 0);
    cJSON_AddNumberToObject(rs, "SMTPAcceptedSize", server ? (double)s->bytes_accepted : 0);
    cJSON_AddNumberToObject(rs, "SMTPRejected", server ? (double)s->messages_refused : 0);
    cJSON_AddNumberToObject(rs, "SMTPIgnored", 0);
    http_reply_json(x, 200, o);
}

/* Mailpit's UI settings, from what is configured: the relay (release),
 * the spam check and chaos. */
void http_api_webui(struct http_ctx *x) {
    const struct config *cfg = x->app->cfg;
    bool relay_on = cfg->relay_host && cfg->relay_host[0];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "Label", "");
    cJSON *relay = cJSON_AddObjectToObject(o, "MessageRelay");
    cJSON_AddBoolToObject(relay, "Enabled", relay_on);
    cJSON_AddStringToObject(relay, "SMTPServer", relay_on ? cfg->relay_host : "");
    cJSON_AddStringToObject(relay, "ReturnPath", cfg->relay_return_path ? cfg->relay_return_path : "");
    buf_t allowed = BUF_INIT;
    for (size_t i = 0; i < cfg->relay_allowed_recipients.n; i++)
        buf_printf(&allowed, "%s%s", i ? ", " : "", cfg->relay_allowed_recipients.v[i]);
    cJSON_AddStringToObject(relay, "AllowedRecipients", buf_cstr(&allowed));
    buf_free(&allowed);
    cJSON_AddStringToObject(relay, "BlockedRecipients", "");
    cJSON_AddStringToObject(relay, "OverrideFrom", "");
    cJSON_AddBoolToObject(relay, "PreserveMessageIDs", cfg->relay_preserve_message_ids);
    cJSON_AddBoolToObject(o, "SpamAssassin", cfg->spamassassin && cfg->spamassassin[0]);
    cJSON_AddBoolToObject(o, "ChaosEnabled", x->app->chaos_enabled);
    cJSON_AddBoolToObject(o, "DuplicatesIgnored", false);
    cJSON_AddBoolToObject(o, "HideDeleteAllButton", false);
    http_reply_json(x, 200, o);
}

/* The OpenAPI 2.0 document of this API (web/swagger.json, embedded as
 * the page's files are; tests/e2e/test_http_openapi.py calls every route
 * it lists and checks that it lists every route of the table). */
void http_api_swagger(struct http_ctx *x) {
    for (const struct web_asset *a = web_assets; a->path; a++) {
        if (!strcmp(a->path, "/swagger.json")) {
            http_reply(x, 200, "application/json", a->data, a->size);
            return;
        }
    }
    http_reply_text(x, 404, "no API document in this build");
}

/* Prometheus text; the route asks for an admin login (HTTP_AUTH_ADMIN). */
void http_api_metrics(struct http_ctx *x) {
    const struct app_stats *s = &x->app->stats;
    struct store *st = x->app->store;
    int64_t total, unread, bytes;
    if (api_query_count(st, NULL, NULL, &total, &unread) < 0 || api_query_store_totals(st, NULL, &bytes) < 0) {
        http_api_query_failed(x);
        return;
    }
    uint64_t waiting, sockets;
    http_server_counts(x->srv, &waiting, &sockets);
    buf_t b = BUF_INIT;
    buf_append_str(&b, "# HELP devmail_connections_total Connections accepted, by protocol.\n"
                       "# TYPE devmail_connections_total counter\n");
    buf_printf(&b, "devmail_connections_total{proto=\"smtp\"} %llu\n", (unsigned long long)s->smtp_connections);
    buf_printf(&b, "devmail_connections_total{proto=\"imap\"} %llu\n", (unsigned long long)s->imap_connections);
    buf_printf(&b, "devmail_connections_total{proto=\"pop3\"} %llu\n", (unsigned long long)s->pop3_connections);
    buf_printf(&b, "# HELP devmail_slow_clients_closed_total Connections closed for sending a command or body too slowly.\n"
                   "# TYPE devmail_slow_clients_closed_total counter\ndevmail_slow_clients_closed_total %llu\n",
               (unsigned long long)net_slow_closed(x->app->net));
    buf_printf(&b, "# HELP devmail_nonreading_clients_closed_total Connections closed for reading none of their answers for send_timeout.\n"
                   "# TYPE devmail_nonreading_clients_closed_total counter\ndevmail_nonreading_clients_closed_total %llu\n",
               (unsigned long long)net_nonreaders_closed(x->app->net));
    buf_append_str(&b, "# HELP devmail_connections_open Connections open now (all protocols).\n"
                       "# TYPE devmail_connections_open gauge\n");
    buf_printf(&b, "devmail_connections_open %zu\n", net_connection_count(x->app->net));
    static const struct {
        const char *name, *help;
        size_t off;
    } counters[] = {
        {"devmail_http_requests_total", "HTTP requests answered.", offsetof(struct app_stats, http_requests)},
        {"devmail_messages_accepted_total", "Messages accepted over SMTP.", offsetof(struct app_stats, messages_accepted)},
        {"devmail_messages_refused_total", "Messages refused over SMTP.", offsetof(struct app_stats, messages_refused)},
        {"devmail_recipients_refused_total", "Recipients refused.", offsetof(struct app_stats, recipients_refused)},
        {"devmail_bytes_accepted_total", "Bytes of accepted messages.", offsetof(struct app_stats, bytes_accepted)},
        {"devmail_auth_failures_total", "Failed logins, all protocols.", offsetof(struct app_stats, auth_failures)},
    };
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++) {
        uint64_t v;
        memcpy(&v, (const char *)s + counters[i].off, sizeof v);
        buf_printf(&b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", counters[i].name, counters[i].help,
                   counters[i].name, counters[i].name, (unsigned long long)v);
    }
    uint64_t delivered, delivered_bytes, batches, files;
    store_stats(st, &delivered, &delivered_bytes, &batches, &files);
    buf_printf(&b, "# HELP devmail_store_delivered_total Messages stored since start.\n"
                   "# TYPE devmail_store_delivered_total counter\ndevmail_store_delivered_total %llu\n",
               (unsigned long long)delivered);
    buf_printf(&b, "# HELP devmail_store_delivered_bytes_total Bytes stored since start.\n"
                   "# TYPE devmail_store_delivered_bytes_total counter\ndevmail_store_delivered_bytes_total %llu\n",
               (unsigned long long)delivered_bytes);
    buf_printf(&b, "# HELP devmail_store_commit_batches_total Group commits (one sync each).\n"
                   "# TYPE devmail_store_commit_batches_total counter\ndevmail_store_commit_batches_total %llu\n",
               (unsigned long long)batches);
    {
        const struct app_stats *as = &x->app->stats;
        buf_append_str(&b, "# HELP devmail_smtp_commit_seconds End of DATA to the 250: durable commit, indexing.\n"
                           "# TYPE devmail_smtp_commit_seconds histogram\n");
        uint64_t cum = 0;
        for (size_t i = 0; i < APP_LATENCY_BUCKETS; i++) {
            cum += as->commit_latency_buckets[i];
            buf_printf(&b, "devmail_smtp_commit_seconds_bucket{le=\"%g\"} %llu\n", app_latency_bounds[i],
                       (unsigned long long)cum);
        }
        cum += as->commit_latency_buckets[APP_LATENCY_BUCKETS];
        buf_printf(&b, "devmail_smtp_commit_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
        buf_printf(&b, "devmail_smtp_commit_seconds_sum %.6f\ndevmail_smtp_commit_seconds_count %llu\n",
                   as->commit_latency_sum, (unsigned long long)as->commit_latency_count);
        buf_printf(&b, "# HELP devmail_store_bytes Size of all stored messages.\n# TYPE devmail_store_bytes gauge\n"
                       "devmail_store_bytes %lld\n",
                   (long long)bytes);
    }
    buf_printf(&b, "# HELP devmail_store_messages Messages in INBOXes now.\n# TYPE devmail_store_messages gauge\n"
                   "devmail_store_messages %lld\n",
               (long long)total);
    buf_printf(&b, "# HELP devmail_store_unread Unread messages in INBOXes now.\n# TYPE devmail_store_unread gauge\n"
                   "devmail_store_unread %lld\n",
               (long long)unread);
    buf_printf(&b, "# HELP devmail_http_waiting Requests held by ?wait= now.\n# TYPE devmail_http_waiting gauge\n"
                   "devmail_http_waiting %llu\n",
               (unsigned long long)waiting);
    buf_printf(&b, "# HELP devmail_http_event_streams WebSocket event streams open now.\n"
                   "# TYPE devmail_http_event_streams gauge\ndevmail_http_event_streams %llu\n",
               (unsigned long long)sockets);
    http_reply(x, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
    buf_free(&b);
}

