/* sse_b64url.c: strict base64url for JOSE (RFC 7515 section 2, RFC 4648 section 5).
 *
 * The decoder accepts exactly one spelling per byte string: the URL-safe
 * alphabet, no '=' padding, no whitespace, a length that is not 1 mod 4, and
 * zero bits in the unused low end of the last character. Anything else is a
 * different token that happens to decode to the same bytes, and JWT code that
 * compares or caches tokens must not be fooled by that.
 */
#include "sse_b64url.h"

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* 0..63 for an alphabet character, -1 for anything else. */
static int b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

int sse_b64url_decode(apr_pool_t *p, const char *in, apr_size_t len,
                      unsigned char **out, apr_size_t *outlen)
{
    apr_size_t rem = len % 4, full = len / 4, i, o = 0;
    unsigned char *buf;
    int v[4];

    /* One leftover character carries only 6 bits: never a whole byte. */
    if (rem == 1 || (len > 0 && in == NULL)) {
        return -1;
    }
    buf = apr_palloc(p, full * 3 + (rem ? rem - 1 : 0) + 1);

    for (i = 0; i < full; i++) {
        const unsigned char *q = (const unsigned char *)in + i * 4;
        int k;
        for (k = 0; k < 4; k++) {
            if ((v[k] = b64url_value(q[k])) < 0) {
                return -1;
            }
        }
        buf[o++] = (unsigned char)((v[0] << 2) | (v[1] >> 4));
        buf[o++] = (unsigned char)(((v[1] & 0x0f) << 4) | (v[2] >> 2));
        buf[o++] = (unsigned char)(((v[2] & 0x03) << 6) | v[3]);
    }
    if (rem) {
        const unsigned char *q = (const unsigned char *)in + full * 4;
        apr_size_t k;
        for (k = 0; k < rem; k++) {
            if ((v[k] = b64url_value(q[k])) < 0) {
                return -1;
            }
        }
        buf[o++] = (unsigned char)((v[0] << 2) | (v[1] >> 4));
        if (rem == 2) {
            if (v[1] & 0x0f) {            /* non-canonical trailing bits */
                return -1;
            }
        }
        else {
            buf[o++] = (unsigned char)(((v[1] & 0x0f) << 4) | (v[2] >> 2));
            if (v[2] & 0x03) {
                return -1;
            }
        }
    }
    buf[o] = '\0';
    *out = buf;
    *outlen = o;
    return 0;
}

char *sse_b64url_encode(apr_pool_t *p, const unsigned char *in, apr_size_t len)
{
    apr_size_t full = len / 3, rem = len % 3, i, o = 0;
    char *out = apr_palloc(p, full * 4 + (rem ? rem + 1 : 0) + 1);

    for (i = 0; i < full; i++) {
        const unsigned char *q = in + i * 3;
        out[o++] = b64url_alphabet[q[0] >> 2];
        out[o++] = b64url_alphabet[((q[0] & 0x03) << 4) | (q[1] >> 4)];
        out[o++] = b64url_alphabet[((q[1] & 0x0f) << 2) | (q[2] >> 6)];
        out[o++] = b64url_alphabet[q[2] & 0x3f];
    }
    if (rem) {
        const unsigned char *q = in + full * 3;
        out[o++] = b64url_alphabet[q[0] >> 2];
        if (rem == 1) {
            out[o++] = b64url_alphabet[(q[0] & 0x03) << 4];
        }
        else {
            out[o++] = b64url_alphabet[((q[0] & 0x03) << 4) | (q[1] >> 4)];
            out[o++] = b64url_alphabet[(q[1] & 0x0f) << 2];
        }
    }
    out[o] = '\0';
    return out;
}
