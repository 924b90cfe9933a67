/*
 * mail_lint - devmail's deliverability lint: the RFC 5322 / 2045-2047
 * problems, and the bulk-sender rules (RFC 8058 one-click unsubscribe,
 * DKIM-Signature syntax, Gmail's 102 KB HTML clip), that make a real
 * receiver reject, rewrite, clip or junk a message. A pure function of
 * the message bytes: the header pass is ours, MIME structure and encoded
 * words are judged by GMime's parser (its warnings are reported).
 */
#ifndef DEVMAIL_MAIL_LINT_H
#define DEVMAIL_MAIL_LINT_H

#include <stddef.h>

#include "core/buf.h"

enum lint_severity { LINT_INFO, LINT_WARNING, LINT_ERROR };

struct lint_finding {
    enum lint_severity severity;
    const char *code; /* stable id, e.g. "missing-date" */
    char *message;    /* one sentence for people */
    char *where;      /* "header Date", "line 12", "part 1.2" (malloc'd) */
};

struct lint_report {
    struct lint_finding *v;
    size_t n;
    size_t html_bytes; /* of the largest text/html part, decoded */
};

/* Gmail clips a message whose HTML is larger than this. */
#define LINT_GMAIL_CLIP_BYTES (102 * 1024)
/* HTML with images and less visible text than this is "image-only". */
#define LINT_IMAGE_ONLY_TEXT 100
/* At most this many findings of one code are listed (a message with
 * 10,000 long lines gets a few, plus a count). */
#define LINT_MAX_PER_CODE 5

/* Check data (LF or CRLF line ends). Findings in message order within
 * each check; free with lint_report_free. */
void mail_lint(const char *data, size_t len, struct lint_report *out);
void lint_report_free(struct lint_report *r);
/* The worst severity found, -1 when there is none. */
int lint_report_worst(const struct lint_report *r);
const char *lint_severity_name(enum lint_severity s);

/* The report as the API and `devmail check --json` give it:
 * {"Errors":n,"Warnings":n,"Infos":n,"HTMLBytes":n,"Findings":[{"Severity",
 * "Code","Message","Where"}...]}. */
struct cJSON;
struct cJSON *lint_report_json(const struct lint_report *r);

#endif
