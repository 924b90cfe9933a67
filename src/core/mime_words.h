/*
 * mime_words - a repair pass over RFC 2047 encoded-words before they are
 * decoded by GMime.
 *
 * A writer may split one character across two encoded-words (Python's
 * email package does, RFC 2047 6.3 forbids it), and GMime decodes a run
 * of base64 words by joining their text, so a padded word ("...IA==")
 * ends the run and the words after it are lost. mime_words_merge()
 * rewrites every run of adjacent encoded-words (only white space between
 * them) that share a charset into one base64 word holding the bytes of
 * all of them. The result decodes to the text the writer meant; a header
 * without such a run is left alone. Pure; no charset conversion here.
 */
#ifndef DEVMAIL_CORE_MIME_WORDS_H
#define DEVMAIL_CORE_MIME_WORDS_H

#include <stddef.h>

/* The repaired header value (malloc'd), or NULL when nothing changes.
 * Input longer than MIME_WORDS_MAX_INPUT is left alone. */
char *mime_words_merge(const char *in, size_t len);

#define MIME_WORDS_MAX_INPUT (64 * 1024)

#endif
