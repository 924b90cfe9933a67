/*
 * purge - `devmail purge`: expunge old mail on demand, the same way the
 * server's retention timer does, safely while the server runs.
 *
 *   devmail purge --older-than 7d [--keep N] [--mailbox NAME]
 *                 [-c FILE] [--data-dir DIR] [--KEY VALUE ...]
 */
#ifndef DEVMAIL_PURGE_H
#define DEVMAIL_PURGE_H

/* argv without the "purge" word. Returns the exit status. */
int cli_purge(int argc, char **argv);

#endif
