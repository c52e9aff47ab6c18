/* sse_jwt_internal.h: what sse_jwt.c (verification) and sse_jwt_keys.c (key
 * loading) share. Not for the module glue: it uses only sse_jwt.h. The unit
 * tests and fuzz targets include it to reach the pieces a forged token cannot.
 */
#ifndef SSE_JWT_INTERNAL_H
#define SSE_JWT_INTERNAL_H

#include "sse_jwt.h"

#include <openssl/evp.h>

typedef enum {
    SSE_JWT_FAMILY_HMAC,
    SSE_JWT_FAMILY_RSA_PKCS1,
    SSE_JWT_FAMILY_RSA_PSS,
    SSE_JWT_FAMILY_ECDSA,
    SSE_JWT_FAMILY_EDDSA
} sse_jwt_family;

typedef struct {
    const char *name;          /* JOSE `alg`, case-sensitive */
    sse_jwt_family family;
    const char *digest;        /* OpenSSL digest name; NULL for EdDSA */
    apr_size_t hash_len;       /* digest size: minimum HMAC secret length */
    int curve_nid;             /* ECDSA: the curve; EdDSA: NID_ED25519 */
    const char *jwk_crv;       /* ECDSA/EdDSA: JWK `crv` */
    apr_size_t coord_len;      /* ECDSA: bytes of one coordinate, R and S */
} sse_jwt_alg_info;

struct sse_jwt_key {
    sse_jwt_alg alg;
    const char *kid;           /* NULL when the key has none */
    unsigned char *secret;     /* HMAC only; wiped by the pool cleanup */
    apr_size_t secret_len;
    EVP_PKEY *pkey;            /* everything else; freed by the pool cleanup */
};

const sse_jwt_alg_info *sse_jwt_alg_info_get(sse_jwt_alg alg);

/* Wraps an EVP_PKEY (ownership passes in, also on error) after checking it
 * fits `alg`: key type, RSA size, EC curve. NULL or a config error. */
const char *sse_jwt_key_from_pkey(apr_pool_t *p, sse_jwt_alg alg,
                                  const char *kid, EVP_PKEY *pkey,
                                  sse_jwt_key **key);

/* NULL when the 32 bytes are a canonical Ed25519 public key that is not
 * one of the 8 small-order points; else why not. */
const char *sse_jwt_ed25519_check(const unsigned char *raw, apr_size_t len);

/* 1 when `sig` is a valid `key->alg` signature over `input`, else 0. */
int sse_jwt_signature_ok(const sse_jwt_key *key,
                         const unsigned char *input, apr_size_t input_len,
                         const unsigned char *sig, apr_size_t sig_len);

/* The claim checks of sse_jwt_verify, on an already authenticated payload
 * (the bytes of the decoded second segment). */
const char *sse_jwt_check_claims(apr_pool_t *p, const sse_jwt_policy *policy,
                                 const unsigned char *payload, apr_size_t len,
                                 apr_time_t now, sse_jwt_claims *claims);

#endif
