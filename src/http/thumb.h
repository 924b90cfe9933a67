/*
 * thumb - thumbnails of image attachments as Mailpit makes them: a
 * 180x120 JPEG (quality 70) on white, the image scaled to cover and
 * centre-cropped, or scaled to fit when it is smaller; anything that is
 * not a PNG, JPEG, GIF, BMP or WebP, or has more than 20 million pixels,
 * gives a blank one. Decoding is gdk-pixbuf's.
 */
#ifndef DEVMAIL_THUMB_H
#define DEVMAIL_THUMB_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

#define THUMB_WIDTH 180
#define THUMB_HEIGHT 120
#define THUMB_MAX_PIXELS 20000000LL

/* The JPEG into out. true: from the image; false: blank (not an image
 * devmail decodes, too large or broken). */
bool thumb_jpeg(const void *data, size_t len, buf_t *out);

#endif
