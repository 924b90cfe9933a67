/*
 * html_check - HTML compatibility (Mailpit's html-check): which HTML
 * elements and attributes, CSS properties, values, units, at-rules and
 * pseudo-classes of the caniemail.com data a message's HTML uses, with
 * each email client's support, scored as Mailpit scores. The HTML is
 * parsed by Gumbo, the CSS of style attributes and <style> elements by
 * css_scan. Pure: no I/O, nothing fetched (a <link> style sheet is not
 * downloaded); bounded by max_nodes elements.
 */
#ifndef DEVMAIL_HTML_CHECK_H
#define DEVMAIL_HTML_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "check/caniemail.h"

struct html_check_warning {
    const struct cie_feature *feature; /* NULL: <script>, which the data has no entry for */
    uint32_t found;                    /* uses in the document */
    uint32_t line;                     /* source line (1-based) of the first use; 0 unknown */
    float supported, partial, unsupported; /* percent of tested client versions */
};

struct html_check_report {
    size_t nodes;     /* Mailpit's count: elements (see html_check.c) */
    size_t tests;     /* features looked for */
    bool truncated;   /* more than max_nodes elements: the rest is unchecked */
    float supported, partial, unsupported; /* the weighted total */
    size_t n;
    struct html_check_warning *v; /* worst first */
};

/* Check html (len bytes, any bytes) into r; free with html_check_free. */
void html_check(const char *html, size_t len, size_t max_nodes, struct html_check_report *r);
void html_check_free(struct html_check_report *r);

/* Mailpit's HTMLCheckResponse for r: {"Warnings":[...], "Platforms":{...},
 * "Total":{...}}; the caller frees it (cJSON_Delete). */
cJSON *html_check_report_json(const struct html_check_report *r);

/* Both in one call, for the API route. */
cJSON *html_check_json(const char *html, size_t len, size_t max_nodes);

#endif
