#include "http/thumb.h"

#include <string.h>

#include <gdk-pixbuf/gdk-pixbuf.h>

/* The loader for data's format, by its magic bytes; NULL: not one we take
 * (SVG and the rarer formats stay out: their loaders do more than decode). */
static const char *image_type(const unsigned char *d, size_t n) {
    if (n >= 8 && !memcmp(d, "\x89PNG\r\n\x1a\n", 8)) return "png";
    if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return "jpeg";
    if (n >= 6 && (!memcmp(d, "GIF87a", 6) || !memcmp(d, "GIF89a", 6))) return "gif";
    if (n >= 2 && d[0] == 'B' && d[1] == 'M') return "bmp";
    if (n >= 12 && !memcmp(d, "RIFF", 4) && !memcmp(d + 8, "WEBP", 4)) return "webp";
    return NULL;
}

struct size_check {
    bool too_big;
};

static void size_prepared(GdkPixbufLoader *loader, gint w, gint h, gpointer arg) {
    struct size_check *c = arg;
    if ((long long)w * h > THUMB_MAX_PIXELS || w <= 0 || h <= 0) {
        c->too_big = true;
        gdk_pixbuf_loader_set_size(loader, 1, 1); /* decode nothing large */
    }
}

static GdkPixbuf *decode(const void *data, size_t len) {
    const char *type = image_type(data, len);
    if (!type) return NULL;
    GError *err = NULL;
    GdkPixbufLoader *l = gdk_pixbuf_loader_new_with_type(type, &err);
    if (!l) {
        g_clear_error(&err);
        return NULL;
    }
    struct size_check sc = {false};
    g_signal_connect(l, "size-prepared", G_CALLBACK(size_prepared), &sc);
    gboolean ok = gdk_pixbuf_loader_write(l, data, len, &err) && !sc.too_big;
    ok = gdk_pixbuf_loader_close(l, ok ? &err : NULL) && ok;
    g_clear_error(&err);
    GdkPixbuf *pb = ok ? gdk_pixbuf_loader_get_pixbuf(l) : NULL;
    if (pb) {
        /* EXIF orientation, as Mailpit's AutoOrientation */
        GdkPixbuf *o = gdk_pixbuf_apply_embedded_orientation(pb);
        pb = o ? o : g_object_ref(pb);
    }
    g_object_unref(l);
    return pb;
}

static bool save_jpeg(GdkPixbuf *pb, buf_t *out) {
    gchar *jpeg = NULL;
    gsize n = 0;
    GError *err = NULL;
    gboolean ok = gdk_pixbuf_save_to_buffer(pb, &jpeg, &n, "jpeg", &err, "quality", "70", NULL);
    g_clear_error(&err);
    if (ok) buf_append(out, jpeg, n);
    g_free(jpeg);
    return ok;
}

bool thumb_jpeg(const void *data, size_t len, buf_t *out) {
    GdkPixbuf *dst = gdk_pixbuf_new(GDK_COLORSPACE_RGB, FALSE, 8, THUMB_WIDTH, THUMB_HEIGHT);
    gdk_pixbuf_fill(dst, 0xffffffff);
    GdkPixbuf *src = decode(data, len);
    bool from_image = false;
    if (src) {
        int w = gdk_pixbuf_get_width(src), h = gdk_pixbuf_get_height(src);
        double sx = (double)THUMB_WIDTH / w, sy = (double)THUMB_HEIGHT / h;
        /* smaller than the frame: fit inside (never enlarged beyond it); else cover and crop */
        double s = (w < THUMB_WIDTH || h < THUMB_HEIGHT) ? (sx < sy ? sx : sy) : (sx > sy ? sx : sy);
        int sw = (int)(w * s + 0.5), sh = (int)(h * s + 0.5);
        if (sw < 1) sw = 1;
        if (sh < 1) sh = 1;
        int dx = (THUMB_WIDTH - sw) / 2, dy = (THUMB_HEIGHT - sh) / 2;
        int x0 = dx > 0 ? dx : 0, y0 = dy > 0 ? dy : 0;
        int cw = sw < THUMB_WIDTH ? sw : THUMB_WIDTH, ch = sh < THUMB_HEIGHT ? sh : THUMB_HEIGHT;
        /* alpha composited over the white frame */
        gdk_pixbuf_composite(src, dst, x0, y0, cw, ch, dx, dy, s, s, GDK_INTERP_HYPER, 255);
        g_object_unref(src);
        from_image = true;
    }
    bool saved = save_jpeg(dst, out);
    g_object_unref(dst);
    return from_image && saved;
}
