/* sse_b64url.h: strict base64url (RFC 4648 section 5) as JOSE uses it:
 * no padding, no whitespace, and non-canonical trailing bits rejected. */
#ifndef SSE_B64URL_H
#define SSE_B64URL_H

#include <apr_pools.h>

/* Decodes `len` chars of `in`. Returns 0 and sets *out (NUL-terminated
 * for convenience, not counted in *outlen), or -1 on any deviation. */
int sse_b64url_decode(apr_pool_t *p, const char *in, apr_size_t len,
                      unsigned char **out, apr_size_t *outlen);

/* Encodes without padding; the result is NUL-terminated. */
char *sse_b64url_encode(apr_pool_t *p, const unsigned char *in, apr_size_t len);

#endif
