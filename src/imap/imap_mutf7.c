/*
 * imap_mutf7 - modified UTF-7 codec and mailbox-name validation; see
 * imap_mutf7.h.
 */
#include "imap/imap_mutf7.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int b64val(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == ',') return 63;
    return -1;
}

static void put_utf8(buf_t *out, uint32_t cp) {
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xc0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xe0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        b[0] = (char)(0xf0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    buf_append(out, b, n);
}

bool imap_mutf7_decode(const char *in, size_t len, buf_t *out) {
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)in[i];
        if (c < 0x20 || c > 0x7e) return false;
        if (c != '&') {
            buf_append_char(out, (char)c);
            i++;
            continue;
        }
        i++;
        if (i < len && in[i] == '-') {
            buf_append_char(out, '&');
            i++;
            continue;
        }
        uint32_t bits = 0;
        int nbits = 0;
        uint32_t high = 0; /* pending high surrogate */
        size_t units = 0;
        while (i < len && in[i] != '-') {
            int v = b64val((unsigned char)in[i]);
            if (v < 0) return false;
            bits = (bits << 6) | (uint32_t)v;
            nbits += 6;
            i++;
            if (nbits >= 16) {
                nbits -= 16;
                uint32_t u = (bits >> nbits) & 0xffff;
                bits &= (1u << nbits) - 1;
                units++;
                if (high) {
                    if (u < 0xdc00 || u > 0xdfff) return false;
                    put_utf8(out, 0x10000 + ((high - 0xd800) << 10) + (u - 0xdc00));
                    high = 0;
                } else if (u >= 0xd800 && u <= 0xdbff) {
                    high = u;
                } else if (u >= 0xdc00 && u <= 0xdfff) {
                    return false;
                } else {
                    /* printable ASCII must not be base64-encoded */
                    if (u >= 0x20 && u <= 0x7e) return false;
                    put_utf8(out, u);
                }
            }
        }
        if (i >= len) return false; /* missing "-" */
        i++;
        if (units == 0 || high || nbits >= 6 || bits != 0) return false;
    }
    return true;
}

/* Decode one UTF-8 sequence; returns its length or 0 if invalid. */
static size_t utf8_next(const unsigned char *s, size_t len, uint32_t *cp) {
    unsigned char c = s[0];
    size_t n;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        n = 2;
        v = c & 0x1f;
        min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3;
        v = c & 0x0f;
        min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4;
        v = c & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (len < n) return 0;
    for (size_t k = 1; k < n; k++) {
        if ((s[k] & 0xc0) != 0x80) return 0;
        v = (v << 6) | (s[k] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
    *cp = v;
    return n;
}

static void flush_b64(buf_t *out, uint32_t *bits, int *nbits) {
    if (*nbits > 0) buf_append_char(out, b64chars[(*bits << (6 - *nbits)) & 0x3f]);
    *bits = 0;
    *nbits = 0;
}

bool imap_mutf7_encode(const char *in, size_t len, buf_t *out) {
    const unsigned char *s = (const unsigned char *)in;
    size_t i = 0;
    bool in_b64 = false;
    uint32_t bits = 0;
    int nbits = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = utf8_next(s + i, len - i, &cp);
        if (n == 0) return false;
        i += n;
        if (cp >= 0x20 && cp <= 0x7e) {
            if (in_b64) {
                flush_b64(out, &bits, &nbits);
                buf_append_char(out, '-');
                in_b64 = false;
            }
            if (cp == '&')
                buf_append(out, "&-", 2);
            else
                buf_append_char(out, (char)cp);
            continue;
        }
        if (!in_b64) {
            buf_append_char(out, '&');
            in_b64 = true;
        }
        uint16_t u[2];
        int nu = 1;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            u[0] = (uint16_t)(0xd800 + (cp >> 10));
            u[1] = (uint16_t)(0xdc00 + (cp & 0x3ff));
            nu = 2;
        } else {
            u[0] = (uint16_t)cp;
        }
        for (int k = 0; k < nu; k++) {
            bits = (bits << 16) | u[k];
            nbits += 16;
            while (nbits >= 6) {
                nbits -= 6;
                buf_append_char(out, b64chars[(bits >> nbits) & 0x3f]);
            }
            bits &= (1u << nbits) - 1;
        }
    }
    if (in_b64) {
        flush_b64(out, &bits, &nbits);
        buf_append_char(out, '-');
    }
    return true;
}

bool imap_mailbox_name_valid(const char *name, size_t len, const char **reason) {
    const unsigned char *s = (const unsigned char *)name;
    *reason = NULL;
    if (len == 0) {
        *reason = "Empty mailbox name";
        return false;
    }
    if (len > IMAP_MAILBOX_MAX_NAME) {
        *reason = "Mailbox name too long";
        return false;
    }
    size_t levels = 1;
    size_t level_start = 0;
    size_t i = 0;
    while (i <= len) {
        if (i == len || s[i] == IMAP_MAILBOX_SEP) {
            size_t ll = i - level_start;
            if (ll == 0) {
                *reason = "Empty hierarchy level in mailbox name";
                return false;
            }
            if (s[level_start] == '~') {
                *reason = "Mailbox name level may not start with '~'";
                return false;
            }
            if (i == len) break;
            if (++levels > IMAP_MAILBOX_MAX_LEVELS) {
                *reason = "Mailbox hierarchy too deep";
                return false;
            }
            i++;
            level_start = i;
            continue;
        }
        uint32_t cp;
        size_t n = utf8_next(s + i, len - i, &cp);
        if (n == 0) {
            *reason = "Mailbox name is not valid UTF-8";
            return false;
        }
        if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
            *reason = "Control character in mailbox name";
            return false;
        }
        if (cp == '/' || cp == '\\') {
            *reason = "Mailbox name may not contain '/' or '\\'";
            return false;
        }
        i += n;
    }
    return true;
}

bool imap_mailbox_name_from_client(const char *in, size_t len, buf_t *out, const char **reason) {
    size_t start = out->len;
    if (!imap_mutf7_decode(in, len, out)) {
        out->len = start;
        *reason = "Mailbox name is not valid modified UTF-7";
        return false;
    }
    const char *name = out->data ? out->data + start : "";
    size_t nl = out->len - start;
    if (!imap_mailbox_name_valid(name, nl, reason)) {
        out->len = start;
        return false;
    }
    /* INBOX is case-insensitive, also as a parent ("inbox.Sub"). */
    if (nl >= 5 && strncasecmp(name, "INBOX", 5) == 0 && (nl == 5 || name[5] == IMAP_MAILBOX_SEP))
        memcpy(out->data + start, "INBOX", 5);
    return true;
}
