/*
 * check - `devmail check`: lint a caught message (by API ID, or the
 * newest) or a message file, so a CI job can fail on a bad email without
 * writing HTTP code. --lint (the default) runs the deliverability lint,
 * --spam asks spamd (the spamassassin key), --html checks the HTML part
 * against email clients (check/html_check.c). Exit status: 0 nothing
 * above info, 1 warnings (or, with --html-min=PCT, less than PCT %
 * supported; unsupported HTML features alone never fail), 2 errors or
 * spam, 3 could not check (no such message, unreadable file, spamd
 * unreachable, no HTML part for --html, usage).
 *
 *   devmail check [--lint] [--spam] [--html] [--html-min=PCT] [--json] [--account ADDR] ID|latest|FILE|-
 *                 [-c FILE] [--data-dir DIR] [--KEY VALUE ...]
 */
#ifndef DEVMAIL_CHECK_H
#define DEVMAIL_CHECK_H

/* argv without the "check" word. Returns the exit status. */
int cli_check(int argc, char **argv);

#endif
