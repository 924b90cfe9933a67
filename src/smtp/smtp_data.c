#include "smtp/smtp_data.h"

#include <string.h>

void smtp_data_init(struct smtp_data *d, bool crlf) {
    memset(d, 0, sizeof *d);
    d->state = SD_SOL;
    d->crlf = crlf;
}

uint64_t smtp_data_crlf_size(const struct smtp_data *d) {
    return d->bytes + d->lines;
}

static void emit(struct smtp_data *d, buf_t *out, const char *p, size_t n) {
    buf_append(out, p, n);
    d->bytes += n;
}

static void emit_lf(struct smtp_data *d, buf_t *out) {
    buf_append_char(out, '\n');
    d->bytes++;
    d->lines++;
}

bool smtp_data_feed(struct smtp_data *d, const char *in, size_t len, buf_t *out, size_t *consumed) {
    size_t i = 0;
    while (i < len) {
        char c = in[i];
        switch (d->state) {
        case SD_MID: {
            /* fast path: copy the run up to the next CR or LF */
            size_t j = i;
            while (j < len && in[j] != '\r' && in[j] != '\n') j++;
            if (j > i) emit(d, out, in + i, j - i);
            i = j;
            if (i >= len) break;
            if (in[i] == '\r') d->state = SD_MID_CR;
            else {
                emit_lf(d, out);
                /* a bare LF in a CRLF session is not a line end for "." */
                d->state = d->crlf ? SD_MID : SD_SOL;
            }
            i++;
            break;
        }
        case SD_MID_CR:
            if (c == '\n') {
                emit_lf(d, out);
                /* nor is CRLF in a bare-LF session */
                d->state = d->crlf ? SD_SOL : SD_MID;
            } else if (c == '\r') {
                emit(d, out, "\r", 1); /* CR CR: keep the first, stay */
            } else {
                emit(d, out, "\r", 1);
                emit(d, out, &c, 1);
                d->state = SD_MID;
            }
            i++;
            break;
        case SD_SOL:
            if (c == '.') d->state = SD_SOL_DOT;
            else if (c == '\r') d->state = SD_MID_CR;
            else if (c == '\n') {
                emit_lf(d, out);
                d->state = d->crlf ? SD_MID : SD_SOL;
            } else {
                emit(d, out, &c, 1);
                d->state = SD_MID;
            }
            i++;
            break;
        case SD_SOL_DOT:
            i++;
            if (c == '\r') d->state = SD_SOL_DOT_CR;
            else if (c == '\n' && !d->crlf) {
                *consumed = i;
                d->state = SD_SOL;
                return true;
            } else if (c == '\n') {
                /* ".<LF>" in a CRLF session: content, kept as written */
                emit(d, out, ".", 1);
                emit_lf(d, out);
                d->state = SD_MID;
            } else if (c == '.') {
                emit(d, out, ".", 1); /* stuffed dot: keep one */
                d->state = SD_MID;
            } else {
                /* RFC 5321 4.5.2: a leading dot is removed even if not doubled */
                emit(d, out, &c, 1);
                d->state = SD_MID;
            }
            break;
        case SD_SOL_DOT_CR:
            if (c == '\n' && d->crlf) {
                *consumed = i + 1;
                d->state = SD_SOL;
                return true;
            }
            if (c == '\n') {
                /* ".<CR><LF>" in a bare-LF session: content */
                emit(d, out, ".", 1);
                emit_lf(d, out);
                d->state = SD_MID;
                i++;
                break;
            }
            /* ".\rX": not the end; the CR is data */
            emit(d, out, "\r", 1);
            d->state = SD_MID;
            break; /* reprocess c in SD_MID */
        }
    }
    *consumed = len;
    return false;
}

void smtp_crlf_init(struct smtp_crlf *c) {
    memset(c, 0, sizeof *c);
}

void smtp_crlf_feed(struct smtp_crlf *c, const char *in, size_t len, buf_t *out) {
    size_t i = 0;
    if (c->pending_cr && len > 0) {
        c->pending_cr = false;
        if (in[0] == '\n') {
            buf_append_char(out, '\n');
            c->bytes++;
            c->lines++;
            i = 1;
        } else {
            buf_append_char(out, '\r');
            c->bytes++;
        }
    }
    while (i < len) {
        const char *cr = memchr(in + i, '\r', len - i);
        size_t end = cr ? (size_t)(cr - in) : len;
        /* count LFs in the plain run */
        for (size_t k = i; k < end; k++)
            if (in[k] == '\n') c->lines++;
        buf_append(out, in + i, end - i);
        c->bytes += end - i;
        if (!cr) break;
        if (end + 1 >= len) {
            c->pending_cr = true;
            break;
        }
        if (in[end + 1] == '\n') {
            buf_append_char(out, '\n');
            c->bytes++;
            c->lines++;
            i = end + 2;
        } else {
            buf_append_char(out, '\r');
            c->bytes++;
            i = end + 1;
        }
    }
}

void smtp_crlf_finish(struct smtp_crlf *c, buf_t *out) {
    if (c->pending_cr) {
        buf_append_char(out, '\r');
        c->bytes++;
        c->pending_cr = false;
    }
}
