/*
 * color_scheme - the dark (or light) preview of an HTML mail. A browser
 * answers prefers-color-scheme inside an iframe with its own (the OS's)
 * preference; neither the iframe's color-scheme nor a <meta name=
 * color-scheme> in the frame changes that (checked in Chromium), so the
 * page cannot ask the frame to be dark. Instead the mail's own media
 * conditions are decided here: every "prefers-color-scheme: dark|light"
 * (in <style>, a media attribute of <source>/<link>, anywhere in the
 * text) becomes a condition that is always true for the chosen scheme
 * and always false for the other, and the root's color-scheme is set, so
 * light-dark() and the default colours follow too. Pure; any bytes.
 */
#ifndef DEVMAIL_COLOR_SCHEME_H
#define DEVMAIL_COLOR_SCHEME_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

/* Always true / always false media features the mail's queries become. */
#define COLOR_SCHEME_TRUE "min-width: 0px"
#define COLOR_SCHEME_FALSE "max-width: 0px"

/* html (len bytes) as seen with prefers-color-scheme: dark (dark) or
 * light, appended to out. */
void html_force_color_scheme(const char *html, size_t len, bool dark, buf_t *out);

/* The length of html's leading doctype (with the white space and comments
 * before it), 0 when it has none. What the view adds to a mail goes after
 * it: anything before the doctype puts the page in quirks mode. */
size_t html_doctype_end(const char *html, size_t len);

#endif
