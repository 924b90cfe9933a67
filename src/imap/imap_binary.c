/*
 * imap_binary - BINARY sections and Content-Transfer-Encoding decoding;
 * see imap_binary.h.
 */
#include "imap/imap_binary.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

bool imap_binary_spec_valid(const char *spec, size_t len) {
    /* digits separated by single dots, no leading/trailing dot, no 0 */
    bool want_digit = true;
    for (size_t i = 0; i < len; i++) {
        char c = spec[i];
        if (isdigit((unsigned char)c)) {
            if (want_digit && c == '0') return false;
            want_digit = false;
        } else if (c == '.' && !want_digit) {
            want_digit = true;
        } else {
            return false;
        }
    }
    return len == 0 || !want_digit;
}

/* The encoding's name without surrounding space or a trailing comment. */
static void cte_name(const char *cte, char *out, size_t cap) {
    size_t n = 0;
    while (*cte == ' ' || *cte == '\t') cte++;
    while (*cte && *cte != ' ' && *cte != '\t' && *cte != '(' && *cte != ';' && n + 1 < cap) out[n++] = *cte++;
    out[n] = '\0';
}

enum imap_binary_result imap_binary_decode(const char *cte, const char *data, size_t len, buf_t *out) {
    char name[64];
    cte_name(cte ? cte : "", name, sizeof name);
    if (!*name || !strcasecmp(name, "7bit") || !strcasecmp(name, "8bit") || !strcasecmp(name, "binary")) {
        buf_append(out, data, len);
        return IMAP_BINARY_OK;
    }
    GMimeContentEncoding enc = g_mime_content_encoding_from_string(name);
    if (enc != GMIME_CONTENT_ENCODING_BASE64 && enc != GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE)
        return IMAP_BINARY_UNKNOWN_CTE;
    buf_t trimmed = BUF_INIT;
    if (enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE) {
        /* RFC 2045 6.7 (3): white space at the end of a line was added in
         * transport and is deleted before decoding (so "= " at the end is
         * a soft line break too); the decoding itself is GMime's */
        size_t start = 0;
        for (size_t i = 0; i <= len; i++) {
            if (i < len && data[i] != '\n') continue;
            size_t e = i;
            bool crlf = i < len && e > start && data[e - 1] == '\r';
            if (crlf) e--;
            while (e > start && (data[e - 1] == ' ' || data[e - 1] == '\t')) e--;
            buf_append(&trimmed, data + start, e - start);
            if (i < len) buf_append_str(&trimmed, crlf ? "\r\n" : "\n");
            start = i + 1;
        }
        data = trimmed.data ? trimmed.data : "";
        len = trimmed.len;
    }
    GMimeEncoding state;
    g_mime_encoding_init_decode(&state, enc);
    /* the decoders write at most outlen(len) bytes for len input bytes */
    size_t cap = g_mime_encoding_outlen(&state, len) + 16;
    buf_reserve(out, cap);
    size_t n = g_mime_encoding_flush(&state, data, len, out->data + out->len);
    out->len += n;
    out->data[out->len] = '\0';
    buf_free(&trimmed);
    return IMAP_BINARY_OK;
}

/* Re-encode every leaf part declared "binary" as base64 (recursion
 * bounded by GMime's parse of a message already bounded by the caller's
 * size limit; depth limited here). */
static bool reencode_binary_parts(GMimeObject *obj, unsigned depth) {
    if (depth > IMAP_BODYSTRUCTURE_MAX_DEPTH) return false;
    bool changed = false;
    if (GMIME_IS_MULTIPART(obj)) {
        GMimeMultipart *mp = GMIME_MULTIPART(obj);
        int n = g_mime_multipart_get_count(mp);
        for (int i = 0; i < n; i++)
            changed |= reencode_binary_parts(g_mime_multipart_get_part(mp, i), depth + 1);
    } else if (GMIME_IS_MESSAGE_PART(obj)) {
        GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
        if (m && m->mime_part) changed |= reencode_binary_parts(m->mime_part, depth + 1);
    } else if (GMIME_IS_PART(obj)) {
        GMimePart *part = GMIME_PART(obj);
        if (g_mime_part_get_content_encoding(part) == GMIME_CONTENT_ENCODING_BINARY) {
            g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_BASE64);
            changed = true;
        }
    }
    return changed;
}

bool imap_binary_append_encode(const char *data, size_t len, buf_t *out) {
    imap_bodystructure_init();
    GMimeStream *in = g_mime_stream_mem_new_with_buffer(data, len);
    GMimeParser *parser = g_mime_parser_new_with_stream(in);
    g_object_unref(in);
    GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
    g_object_unref(parser);
    if (!msg) return false;
    bool changed = msg->mime_part && reencode_binary_parts(msg->mime_part, 0);
    if (changed) {
        GMimeStream *mem = g_mime_stream_mem_new();
        g_mime_object_write_to_stream(GMIME_OBJECT(msg), NULL, mem);
        GByteArray *bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
        buf_append(out, bytes->data, bytes->len);
        g_object_unref(mem);
    }
    g_object_unref(msg);
    return changed;
}

enum imap_binary_result imap_binary_section(const struct imap_bodystructure *bs, const char *spec,
                                            struct imap_section *out) {
    const char *reason;
    if (!imap_bodystructure_section(bs, spec, strlen(spec), out, &reason)) {
        /* callers check the spec first; treat as a missing part */
        memset(out, 0, sizeof *out);
        out->data = "";
        return IMAP_BINARY_OK;
    }
    if (!out->found || !out->leaf_body) return IMAP_BINARY_OK;
    buf_t dec = BUF_INIT;
    if (imap_binary_decode(out->cte, out->data, out->len, &dec) != IMAP_BINARY_OK) {
        buf_free(&dec);
        return IMAP_BINARY_UNKNOWN_CTE;
    }
    buf_free(&out->owned);
    out->owned = dec;
    out->data = out->owned.data ? out->owned.data : "";
    out->len = out->owned.len;
    return IMAP_BINARY_OK;
}

bool imap_binary_has_nul(const char *data, size_t len) {
    return len && memchr(data, '\0', len) != NULL;
}
