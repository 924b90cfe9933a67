/*
 * smtp_data - the DATA and BDAT body state machines (pure).
 *
 * DATA: removes dot-stuffing, finds the end-of-data line, and converts
 * line ends to LF, the Maildir convention that Postfix, Dovecot and mutt
 * use. One DATA never yields two messages (no SMTP smuggling): the end is
 * "." alone between two line ends of the session's own kind, the kind
 * that ended its DATA command. A CRLF session ends only at CRLF.CRLF (a
 * bare LF is content within a line, as RFC 5321 2.3.8 has it); a bare-LF
 * session (`nc` with a heredoc) ends only at LF.LF. A "." line with the
 * other kind of line end is content and is kept as written. BDAT: line-end
 * conversion only, across chunk boundaries.
 *
 * Both count the message as IMAP will present it: every line end as CRLF
 * (the RFC822.SIZE). Lines of any length pass through intact.
 */
#ifndef DEVMAIL_SMTP_DATA_H
#define DEVMAIL_SMTP_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

enum smtp_data_state { SD_SOL, SD_SOL_DOT, SD_SOL_DOT_CR, SD_MID, SD_MID_CR };

struct smtp_data {
    enum smtp_data_state state;
    bool crlf;           /* the session's line end: CRLF, or bare LF */
    uint64_t bytes;      /* bytes emitted (LF line ends) */
    uint64_t lines;      /* LFs emitted */
};

void smtp_data_init(struct smtp_data *d, bool crlf);
/* Feed received bytes; unstuffed LF-terminated data is appended to out.
 * Returns true when the end-of-data line was found; *consumed tells how
 * many input bytes belong to the message (the rest is the next command,
 * for pipelining clients). */
bool smtp_data_feed(struct smtp_data *d, const char *in, size_t len, buf_t *out, size_t *consumed);
/* Size as CRLF text (what IMAP's RFC822.SIZE and SIZE= speak of). */
uint64_t smtp_data_crlf_size(const struct smtp_data *d);

/* BDAT: CRLF -> LF conversion that survives a CR at a chunk's end. */
struct smtp_crlf {
    bool pending_cr;
    uint64_t bytes;
    uint64_t lines;
};
void smtp_crlf_init(struct smtp_crlf *c);
void smtp_crlf_feed(struct smtp_crlf *c, const char *in, size_t len, buf_t *out);
/* At the LAST chunk: emit a held CR. */
void smtp_crlf_finish(struct smtp_crlf *c, buf_t *out);

#endif
