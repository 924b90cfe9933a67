/*
 * imap_binary - the pure part of IMAP BINARY (RFC 3516): which sections
 * FETCH BINARY[...] / BINARY.SIZE[...] take, and a part's content with its
 * Content-Transfer-Encoding undone.
 *
 * Decoding is GMime's (g_mime_encoding_*: base64 and quoted-printable,
 * as Dovecot); 7bit, 8bit, binary and a missing header mean the bytes as
 * they are. Any other encoding is unknown: the session answers
 * NO [UNKNOWN-CTE]. Only the body of a numbered leaf part is decoded:
 * BINARY[] (the whole message) and multipart or message/rfc822 parts are
 * their bytes as stored, as in Dovecot.
 */
#ifndef DEVMAIL_IMAP_BINARY_H
#define DEVMAIL_IMAP_BINARY_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "imap/imap_bodystructure.h"

/* A BINARY section is a section-part: "" or "1", "1.2", ... (no HEADER,
 * TEXT, MIME). */
bool imap_binary_spec_valid(const char *spec, size_t len);

enum imap_binary_result { IMAP_BINARY_OK, IMAP_BINARY_UNKNOWN_CTE };

/* Append data[0..len) decoded from the Content-Transfer-Encoding cte (as
 * written in the header, NULL if none) to out. UNKNOWN_CTE leaves out
 * unchanged. */
enum imap_binary_result imap_binary_decode(const char *cte, const char *data, size_t len, buf_t *out);

/* BINARY[spec] of a parsed message (spec valid): out as from
 * imap_bodystructure_section, its data decoded (held in out->owned). Free
 * out with imap_section_free (also after UNKNOWN_CTE). */
enum imap_binary_result imap_binary_section(const struct imap_bodystructure *bs, const char *spec,
                                            struct imap_section *out);

/* APPEND of a literal8 (RFC 3516 4.3): a message whose parts are declared
 * Content-Transfer-Encoding: binary is rewritten (by GMime) with those
 * parts in base64, so the stored file is text and BINARY[part] gives the
 * bytes back exactly. true and the rewritten message appended to out when
 * something was re-encoded; false (out unchanged) to store data as is. */
bool imap_binary_append_encode(const char *data, size_t len, buf_t *out);

/* Does data hold a NUL byte (the reply is then a literal8 "~{n}")? */
bool imap_binary_has_nul(const char *data, size_t len);

#endif
