/*
 * test_thumb - thumbnails: 180x120 JPEG; a large image covers the frame
 * (cropped), a small one is fitted on white; alpha goes onto white; a
 * non-image, a broken image and one claiming 10000x10000 pixels give a
 * blank thumbnail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gdk-pixbuf/gdk-pixbuf.h>

#include "http/thumb.h"

static GdkPixbuf *solid(int w, int h, guint32 rgba, bool alpha) {
    GdkPixbuf *p = gdk_pixbuf_new(GDK_COLORSPACE_RGB, alpha, 8, w, h);
    gdk_pixbuf_fill(p, rgba);
    return p;
}

static void to_png(GdkPixbuf *p, buf_t *out) {
    gchar *b;
    gsize n;
    assert_true(gdk_pixbuf_save_to_buffer(p, &b, &n, "png", NULL, NULL));
    buf_append(out, b, n);
    g_free(b);
}

static GdkPixbuf *load(const buf_t *jpeg) {
    GdkPixbufLoader *l = gdk_pixbuf_loader_new_with_type("jpeg", NULL);
    assert_true(gdk_pixbuf_loader_write(l, (const guchar *)jpeg->data, jpeg->len, NULL));
    assert_true(gdk_pixbuf_loader_close(l, NULL));
    GdkPixbuf *p = g_object_ref(gdk_pixbuf_loader_get_pixbuf(l));
    g_object_unref(l);
    return p;
}

/* channel c of pixel (x, y) */
static int px(GdkPixbuf *p, int x, int y, int c) {
    return gdk_pixbuf_get_pixels(p)[y * gdk_pixbuf_get_rowstride(p) + x * gdk_pixbuf_get_n_channels(p) + c];
}

static void test_cover_and_fit(void **state) {
    (void)state;
    buf_t png = BUF_INIT, jpeg = BUF_INIT;
    GdkPixbuf *big = solid(900, 300, 0xff0000ff, false); /* wide red */
    to_png(big, &png);
    assert_true(thumb_jpeg(png.data, png.len, &jpeg));
    assert_true(jpeg.len > 100 && (unsigned char)jpeg.data[0] == 0xFF && (unsigned char)jpeg.data[1] == 0xD8);
    GdkPixbuf *t = load(&jpeg);
    assert_int_equal(gdk_pixbuf_get_width(t), THUMB_WIDTH);
    assert_int_equal(gdk_pixbuf_get_height(t), THUMB_HEIGHT);
    /* covered: red at the corners too */
    assert_true(px(t, 1, 1, 0) > 200 && px(t, 1, 1, 1) < 60);
    assert_true(px(t, 178, 118, 0) > 200 && px(t, 178, 118, 2) < 60);
    g_object_unref(t);
    g_object_unref(big);
    /* small blue: fitted, white around it */
    buf_free(&png);
    buf_free(&jpeg);
    GdkPixbuf *small = solid(60, 20, 0x0000ffff, false);
    to_png(small, &png);
    assert_true(thumb_jpeg(png.data, png.len, &jpeg));
    t = load(&jpeg);
    assert_true(px(t, 90, 60, 2) > 200 && px(t, 90, 60, 0) < 60); /* centre blue */
    assert_true(px(t, 90, 2, 0) > 230 && px(t, 90, 2, 1) > 230);   /* top white */
    g_object_unref(t);
    g_object_unref(small);
    /* transparent green over white */
    buf_free(&png);
    buf_free(&jpeg);
    GdkPixbuf *clear = solid(400, 400, 0x00ff0000, true);
    to_png(clear, &png);
    assert_true(thumb_jpeg(png.data, png.len, &jpeg));
    t = load(&jpeg);
    assert_true(px(t, 90, 60, 0) > 230 && px(t, 90, 60, 1) > 230 && px(t, 90, 60, 2) > 230);
    g_object_unref(t);
    g_object_unref(clear);
    buf_free(&png);
    buf_free(&jpeg);
}

static void test_blank(void **state) {
    (void)state;
    buf_t jpeg = BUF_INIT;
    assert_false(thumb_jpeg("not an image", 12, &jpeg));
    GdkPixbuf *t = load(&jpeg);
    assert_int_equal(gdk_pixbuf_get_width(t), THUMB_WIDTH);
    assert_true(px(t, 10, 10, 0) > 240);
    g_object_unref(t);
    buf_free(&jpeg);
    /* a PNG whose header claims 10000 x 10000 pixels (and nothing else) */
    static const unsigned char huge[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D',
                                         'R', 0, 0, 0x27, 0x10, 0, 0, 0x27, 0x10, 8, 2, 0, 0, 0, 0x23, 0x0f,
                                         0x6c, 0x7a};
    assert_false(thumb_jpeg(huge, sizeof huge, &jpeg));
    assert_true(jpeg.len > 100);
    buf_free(&jpeg);
    /* a truncated PNG */
    buf_t png = BUF_INIT;
    GdkPixbuf *p = solid(300, 300, 0x123456ff, false);
    to_png(p, &png);
    assert_false(thumb_jpeg(png.data, 40, &jpeg)); /* the header and no pixels */
    g_object_unref(p);
    buf_free(&png);
    buf_free(&jpeg);
    /* SVG is not decoded */
    const char *svg = "<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>";
    assert_false(thumb_jpeg(svg, strlen(svg), &jpeg));
    buf_free(&jpeg);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_cover_and_fit), cmocka_unit_test(test_blank)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
