/*
 * fuzz_client_setup - libFuzzer target for what a client sends the setup
 * routes: the body of an autodiscover POST (XML, parsed with GMarkup) and
 * an ?emailaddress= value. Checks that whatever address comes out is
 * accepted or refused by client_setup_build without harm, and that every
 * document built from an accepted one is well-formed XML: a hostile
 * address can never break out of its element.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "app/client_setup.h"
#include "conf/config.h"
#include "core/buf.h"

static void must_be_xml(const buf_t *doc) {
    GMarkupParser p = {0};
    GMarkupParseContext *ctx = g_markup_parse_context_new(&p, 0, NULL, NULL);
    gboolean ok = g_markup_parse_context_parse(ctx, doc->data, (gssize)doc->len, NULL) &&
                  g_markup_parse_context_end_parse(ctx, NULL);
    g_markup_parse_context_free(ctx);
    if (!ok) abort();
}

static void documents_for(const struct config *cfg, const char *address) {
    struct client_setup cs;
    buf_t err = BUF_INIT, doc = BUF_INIT;
    if (client_setup_build(&cs, cfg, address, NULL, &err) < 0) {
        if (!err.len) abort();
        buf_free(&err);
        return;
    }
    if (client_setup_thunderbird(&cs, &doc, &err) != 0) abort();
    must_be_xml(&doc);
    buf_reset(&doc);
    client_setup_autodiscover(&cs, &doc);
    must_be_xml(&doc);
    buf_reset(&doc);
    if (client_setup_mobileconfig(&cs, &doc, &err) != 0) abort();
    must_be_xml(&doc);
    buf_reset(&doc);
    client_setup_text(&cs, "http://127.0.0.1:8025", "/d/tls/ca.pem", &doc);
    client_setup_free(&cs);
    buf_free(&doc);
    buf_free(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static struct config cfg;
    static int init;
    if (!init) {
        config_defaults(&cfg);
        buf_t err = BUF_INIT;
        config_set(&cfg, "domain", "example.com, example.org", 3, &err);
        buf_free(&err);
        init = 1;
    }
    buf_t addr = BUF_INIT;
    if (client_setup_autodiscover_request((const char *)data, size, &addr) == 0) {
        if (addr.len == 0) abort();
        if (!memchr(addr.data, '\0', addr.len)) documents_for(&cfg, buf_cstr(&addr));
    }
    buf_free(&addr);
    /* the same bytes as a query value */
    if (!memchr(data, '\0', size)) {
        char *s = strndup((const char *)data, size);
        documents_for(&cfg, s);
        free(s);
    }
    return 0;
}
