#include "app/sasl.h"

#include <string.h>

static int b64_val(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

int sasl_b64_decode(const char *in, size_t len, buf_t *out) {
    if (len % 4 != 0) return -1;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)in[i + k];
            if (c == '=') {
                /* '=' only in the last group's final one or two places */
                if (i + 4 != len || k < 2) return -1;
                pad++;
                v[k] = 0;
                continue;
            }
            if (pad) return -1;
            v[k] = b64_val(c);
            if (v[k] < 0) return -1;
        }
        unsigned int n = ((unsigned)v[0] << 18) | ((unsigned)v[1] << 12) | ((unsigned)v[2] << 6) | (unsigned)v[3];
        buf_append_char(out, (char)(n >> 16));
        if (pad < 2) buf_append_char(out, (char)(n >> 8 & 0xff));
        if (pad < 1) buf_append_char(out, (char)(n & 0xff));
    }
    return 0;
}

void sasl_b64_encode(const void *in, size_t len, buf_t *out) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = in;
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        unsigned n = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        char q[4] = {tab[n >> 18], tab[n >> 12 & 63], tab[n >> 6 & 63], tab[n & 63]};
        buf_append(out, q, 4);
    }
    if (len - i == 1) {
        unsigned n = (unsigned)p[i] << 16;
        char q[4] = {tab[n >> 18], tab[n >> 12 & 63], '=', '='};
        buf_append(out, q, 4);
    } else if (len - i == 2) {
        unsigned n = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
        char q[4] = {tab[n >> 18], tab[n >> 12 & 63], tab[n >> 6 & 63], '='};
        buf_append(out, q, 4);
    }
}

int sasl_plain_split(const char *msg, size_t len, const char **authcid, size_t *authcid_len, const char **password,
                     size_t *password_len) {
    const char *nul1 = memchr(msg, '\0', len);
    if (!nul1) return -1;
    const char *user = nul1 + 1;
    size_t rest = len - (size_t)(user - msg);
    const char *nul2 = memchr(user, '\0', rest);
    if (!nul2 || nul2 == user) return -1;
    *authcid = user;
    *authcid_len = (size_t)(nul2 - user);
    *password = nul2 + 1;
    *password_len = rest - *authcid_len - 1;
    if (memchr(*password, '\0', *password_len)) return -1;
    return 0;
}

int sasl_plain_decode(const char *b64, size_t len, buf_t *dec, const char **authcid, size_t *authcid_len,
                      const char **password, size_t *password_len) {
    if (sasl_b64_decode(b64, len, dec) < 0) return -1;
    return sasl_plain_split(dec->data ? dec->data : "", dec->len, authcid, authcid_len, password, password_len);
}
