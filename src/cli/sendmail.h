/*
 * sendmail - `devmail sendmail`, a sendmail(1)-compatible injector so an
 * application configured with `/usr/sbin/sendmail -t -i` (PHP's mail(),
 * Rails, cron) can hand its mail to devmail. The message is read from
 * standard input and submitted over SMTP to the server found the way the
 * server finds its listeners (-c FILE, --smtp-listen ADDR:PORT, DEVMAIL_*).
 *
 * Options: -t (recipients from To/Cc/Bcc, Bcc removed; command-line
 * recipients are added), -f FROM / -r FROM, -F NAME, -i / -oi (a lone "."
 * does not end the message), -bm (default), -v (show the SMTP dialogue);
 * other -o options and -B/-C/-L/-N/-R/-V/-X/-h/-U/-m/-n are accepted and
 * ignored. Missing From:, Date: and Message-ID: headers are added.
 *
 * Exit status (sysexits.h): 0 delivered; 64 usage (no recipients); 65
 * bad input; 69 refused by the server (5xx); 75 temporary failure (4xx,
 * server down, timeout); 76 protocol error; 78 configuration error.
 */
#ifndef DEVMAIL_SENDMAIL_H
#define DEVMAIL_SENDMAIL_H

/* Seconds to wait for the server at each step. */
#define SENDMAIL_TIMEOUT 60
/* Longest server reply line, and lines in one reply, we read. */
#define SENDMAIL_MAX_REPLY_LINE 4096
#define SENDMAIL_MAX_REPLY_LINES 100
/* Recipients on one invocation. */
#define SENDMAIL_MAX_RCPTS 1000

/* argv without the "sendmail" word. Returns the exit status. */
int cli_sendmail(int argc, char **argv);

#endif
