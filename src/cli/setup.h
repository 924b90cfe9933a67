/*
 * setup - the commands that connect a mail client:
 *
 *   devmail client-setup [ADDRESS] [--format text|thunderbird|autodiscover|mobileconfig]
 *                        [--ca] [-c FILE] [--KEY VALUE ...]
 *   devmail ca-cert [-c FILE] [--KEY VALUE ...]
 *
 * client-setup prints the settings a mail client needs (the same
 * documents the HTTP routes of http/autoconfig.c serve); --ca is ca-cert.
 * ca-cert prints the local CA certificate (PEM) to import into clients,
 * creating the CA and the server certificate in the data directory first
 * when the server has not run yet.
 */
#ifndef DEVMAIL_SETUP_H
#define DEVMAIL_SETUP_H

/* argv without the command word. Return the exit status. */
int cli_client_setup(int argc, char **argv);
int cli_ca_cert(int argc, char **argv);

#endif
