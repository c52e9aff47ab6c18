/* sse_jwt.h: JSON Web Token (JWS compact) verification for mod_sse.
 *
 * Keys are loaded once at configuration time, each pinned to one algorithm.
 * Verification is a pure function of (keys, policy, token, clock), so the
 * cmocka tests drive it directly. Nothing here knows about Apache requests.
 */
#ifndef SSE_JWT_H
#define SSE_JWT_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#define SSE_JWT_MAX_TOKEN 8192

typedef enum {
    SSE_JWT_HS256, SSE_JWT_HS384, SSE_JWT_HS512,
    SSE_JWT_RS256, SSE_JWT_RS384, SSE_JWT_RS512,
    SSE_JWT_PS256, SSE_JWT_PS384, SSE_JWT_PS512,
    SSE_JWT_ES256, SSE_JWT_ES384, SSE_JWT_ES512,
    SSE_JWT_EDDSA,
    SSE_JWT_ALG_COUNT
} sse_jwt_alg;

/* Opaque: algorithm, optional kid, and the HMAC secret or EVP_PKEY.
 * Freed by a cleanup on the pool it was loaded into. */
typedef struct sse_jwt_key sse_jwt_key;

typedef struct {
    const char *issuer;           /* required `iss` when non-NULL */
    const char *audience;         /* required in `aud` when non-NULL; when NULL,
                                   * a token that carries `aud` is refused */
    const char *type;             /* required header `typ` when non-NULL */
    apr_interval_time_t leeway;   /* clock skew for exp/nbf/iat */
} sse_jwt_policy;

typedef enum {
    SSE_JWT_CLAIM_STRING,
    SSE_JWT_CLAIM_INTEGER
} sse_jwt_claim_type;

/* One top-level claim of a JSON type we compare: a string or an integer. */
typedef struct {
    const char *name;             /* exactly as in the token */
    sse_jwt_claim_type type;
    const char *str;              /* STRING: the UTF-8 bytes, NUL-terminated */
    apr_size_t len;               /* STRING: their count (a claim may hold \u0000) */
    apr_int64_t integer;          /* INTEGER */
} sse_jwt_claim;

typedef struct {
    apr_int64_t exp;              /* seconds since the epoch (always present) */
    apr_array_header_t *claims;   /* sse_jwt_claim: top-level string and integer claims */
} sse_jwt_claims;

/* The claim named exactly `name` (byte for byte, case counts), or NULL. */
const sse_jwt_claim *sse_jwt_claim_get(const sse_jwt_claims *claims, const char *name);

/* The claim as text: a string as it is, an integer in decimal; NULL when
 * absent or of another type. For logs and counting keys, never for
 * authorization (that compares types: sse_auth_may_see). */
const char *sse_jwt_claim_text(apr_pool_t *p, const sse_jwt_claims *claims,
                               const char *name);

/* Case-sensitive name -> alg. Returns 0 on success, -1 when unknown. */
int sse_jwt_alg_from_name(const char *name, sse_jwt_alg *alg);
const char *sse_jwt_alg_name(sse_jwt_alg alg);

/* Builds a key from bytes: a PEM public key (or certificate-free SPKI) for
 * RS/PS/ES/EdDSA, the raw secret for HS. Checks strength and sanity: an HMAC
 * secret >= hash size that is not itself a public key (PEM, DER, JWK,
 * OpenSSH); RSA >= 2048 bits with an odd modulus and an odd e >= 3; an EC
 * point on the alg's curve; an Ed25519 point canonically encoded and not of
 * small order. Returns NULL or an error. */
const char *sse_jwt_key_from_bytes(apr_pool_t *p, sse_jwt_alg alg,
                                   const char *kid,
                                   const unsigned char *bytes, apr_size_t len,
                                   sse_jwt_key **key);

/* `SSEJWTKey alg source [kid=ID]`: source is `file:/path` or `env:NAME`;
 * `kid` is the bare ID (NULL or "" for none). An HMAC secret read from a file
 * is used byte for byte except that one trailing "\n" is dropped; from the
 * environment it is used exactly.
 * Returns NULL or an error message suitable for apachectl -t. */
const char *sse_jwt_key_load(apr_pool_t *p, const char *alg_name,
                             const char *source, const char *kid,
                             sse_jwt_key **key);

/* `SSEJWKSFile path`: appends every key of the JWK Set to `keys`
 * (an array of sse_jwt_key *). Each JWK needs `kid` and `alg`. */
const char *sse_jwt_jwks_load(apr_pool_t *p, const char *path,
                              apr_array_header_t *keys);

sse_jwt_alg sse_jwt_key_alg(const sse_jwt_key *key);
const char *sse_jwt_key_kid(const sse_jwt_key *key);

/* Verifies `token` (JWS compact form) against `keys` (array of
 * sse_jwt_key *) and `policy` at time `now`. On success returns NULL and
 * fills `claims` (allocated from p). On failure returns a short reason
 * fit for an RFC 6750 error_description, e.g. "token expired". The token
 * itself is never part of the reason. The reasons, all static strings:
 *   "malformed token", "token too large", "unsupported algorithm",
 *   "unsupported critical header", "nested token not supported",
 *   "wrong token type", "no matching key", "signature mismatch",
 *   "missing exp", "invalid exp", "invalid nbf", "invalid iat",
 *   "token expired", "token not yet valid", "issued in the future",
 *   "wrong issuer", "wrong audience", "unexpected audience".
 * Claim names are kept exactly as sent ("sub" and "SUB" are two claims).
 * `policy` may be NULL (no iss/aud/typ, no leeway; `aud` then refused). */
const char *sse_jwt_verify(apr_pool_t *p, const apr_array_header_t *keys,
                           const sse_jwt_policy *policy, const char *token,
                           apr_time_t now, sse_jwt_claims *claims);

/* What kind of refusal a reason of sse_jwt_verify() is, for counting: the
 * texts above, exactly; anything else is SSE_JWT_FAIL_OTHER. */
typedef enum {
    SSE_JWT_FAIL_MALFORMED,         /* unparsable, too large, a bad or missing claim value */
    SSE_JWT_FAIL_UNKNOWN_KEY,
    SSE_JWT_FAIL_BAD_SIGNATURE,
    SSE_JWT_FAIL_EXPIRED,
    SSE_JWT_FAIL_NOT_YET_VALID,     /* nbf, or iat in the future */
    SSE_JWT_FAIL_WRONG_ISSUER,
    SSE_JWT_FAIL_WRONG_AUDIENCE,
    SSE_JWT_FAIL_UNSUPPORTED,       /* algorithm, crit, nested token */
    SSE_JWT_FAIL_OTHER
} sse_jwt_failure;

sse_jwt_failure sse_jwt_failure_of(const char *reason);

#endif
