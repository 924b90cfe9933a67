/*
 * html_text - what an HTML mail says, as readable plain text, parsed by
 * Gumbo (an HTML5-conformant parser): block elements and <br> break
 * lines, list items get "- ", links keep their target as "text (url)"
 * when it differs from the text, images show their alt text, and
 * <head>, <script>, <style>, <title> and comments are dropped. Also the
 * facts the lint wants: how many images and links, how much visible text.
 */
#ifndef DEVMAIL_HTML_TEXT_H
#define DEVMAIL_HTML_TEXT_H

#include <stddef.h>

#include "core/buf.h"

/* Gumbo's tree building grows with nesting depth times tags (20,000
 * nested <div> take 0.6 s): what devmail parses of one HTML part ends
 * before its HTML_MAX_TAGS-th "<". */
#define HTML_MAX_TAGS 10000
/* The length of html to hand to Gumbo: up to the max_tags-th "<". */
size_t html_parse_len(const char *html, size_t len, size_t max_tags);

struct html_facts {
    size_t images;       /* <img> elements */
    size_t links;        /* <a href> elements */
    size_t text_chars;   /* visible text in bytes, white space not counted */
};

/* The text of html (len bytes) into out, at most max bytes (cut at a
 * character boundary); facts may be NULL. */
void html_to_text(const char *html, size_t len, size_t max, buf_t *out, struct html_facts *facts);

#endif
