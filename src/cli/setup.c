/*
 * setup - `devmail client-setup` and `devmail ca-cert`; see setup.h.
 */
#include "cli/setup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/client_setup.h"
#include "cli/cli_config.h"
#include "core/xalloc.h"
#include "net/tls.h"

int cli_ca_cert(int argc, char **argv) {
    struct config cfg;
    if (cli_load_config(&cfg, argc, argv, NULL) < 0) return 1;
    int status = 1;
    buf_t did = BUF_INIT, err = BUF_INIT, pem = BUF_INIT;
    if (cfg.tls_cert[0]) {
        fprintf(stderr,
                "devmail ca-cert: tls_cert is configured (%s): devmail's local CA is not used; "
                "trust that certificate's issuer instead\n",
                cfg.tls_cert);
        goto out;
    }
    /* the same as the server's first start, so the CA can be trusted before it */
    if (tls_local_ensure(&cfg, &did, &err) < 0 || tls_local_ca_pem(&cfg, &pem, &err) < 0) {
        fprintf(stderr, "devmail ca-cert: %s\n", buf_cstr(&err));
        goto out;
    }
    if (did.len) fprintf(stderr, "devmail ca-cert: %s\n", buf_cstr(&did));
    fwrite(pem.data, 1, pem.len, stdout);
    status = fflush(stdout) == 0 ? 0 : 1;
out:
    buf_free(&did);
    buf_free(&err);
    buf_free(&pem);
    config_free(&cfg);
    return status;
}

int cli_client_setup(int argc, char **argv) {
    const char *format = "text", *address = NULL;
    bool ca = false;
    char **rest = xcalloc((size_t)argc + 1, sizeof *rest);
    int nrest = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--format") && i + 1 < argc) format = argv[++i];
        else if (!strncmp(a, "--format=", 9)) format = a + 9;
        else if (!strcmp(a, "--ca")) ca = true;
        else if (a[0] != '-' && !address) address = a;
        else {
            rest[nrest++] = argv[i];
            /* a setting's value is not the ADDRESS */
            bool takes_value = !strcmp(a, "-c") || !strcmp(a, "--config");
            if (!strncmp(a, "--", 2) && !strchr(a, '=')) {
                const struct config_entry *e = config_find_flag(a + 2);
                takes_value = e && e->type != CONF_BOOL;
            }
            if (takes_value && i + 1 < argc) rest[nrest++] = argv[++i];
        }
    }
    if (ca) {
        int rc = cli_ca_cert(nrest, rest);
        free(rest);
        return rc;
    }
    if (strcmp(format, "text") && strcmp(format, "thunderbird") && strcmp(format, "autodiscover") &&
        strcmp(format, "mobileconfig")) {
        fprintf(stderr, "devmail client-setup: --format is text, thunderbird, autodiscover or mobileconfig\n");
        free(rest);
        return 2;
    }
    struct config cfg;
    if (cli_load_config(&cfg, nrest, rest, NULL) < 0) {
        free(rest);
        return 1;
    }
    free(rest);
    int status = 1;
    buf_t err = BUF_INIT, pem = BUF_INIT, out = BUF_INIT, base = BUF_INIT, path = BUF_INIT;
    /* the CA as the server made it; none yet is fine (no root payload) */
    bool have_ca = tls_local_ca_pem(&cfg, &pem, &err) == 0;
    buf_reset(&err);
    struct client_setup cs;
    if (client_setup_build(&cs, &cfg, address, have_ca ? buf_cstr(&pem) : NULL, &err) < 0) {
        fprintf(stderr, "devmail client-setup: %s: %s\n", address, buf_cstr(&err));
        status = 2;
        goto out;
    }
    int rc = 0;
    if (!strcmp(format, "thunderbird")) {
        rc = client_setup_thunderbird(&cs, &out, &err);
    } else if (!strcmp(format, "autodiscover")) {
        client_setup_autodiscover(&cs, &out);
    } else if (!strcmp(format, "mobileconfig")) {
        rc = client_setup_mobileconfig(&cs, &out, &err);
    } else {
        if (cfg.http_listen.n) client_setup_listen_url(cfg.http_listen.v[0], cfg.hostname, "http", &base);
        else if (cfg.autoconfig_listen.n) client_setup_listen_url(cfg.autoconfig_listen.v[0], cfg.hostname, "http", &base);
        tls_local_path(cfg.data_dir, TLS_CA_CERT_NAME, &path);
        client_setup_text(&cs, base.len ? buf_cstr(&base) : NULL, have_ca ? buf_cstr(&path) : NULL, &out);
    }
    client_setup_free(&cs);
    if (rc < 0) {
        fprintf(stderr, "devmail client-setup: %s\n", buf_cstr(&err));
        goto out;
    }
    fwrite(out.data, 1, out.len, stdout);
    status = fflush(stdout) == 0 ? 0 : 1;
out:
    buf_free(&err);
    buf_free(&pem);
    buf_free(&out);
    buf_free(&base);
    buf_free(&path);
    config_free(&cfg);
    return status;
}
