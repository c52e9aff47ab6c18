/* fuzz_jwt.c: libFuzzer target for sse_jwt_verify.
 *
 * The key set is fixed: one HS256 key (kid "h") and one ES256 key (no kid,
 * generated at start-up). The first input byte picks the mode:
 *   0: the rest is the token, as a client would send it;
 *   1: the rest is a payload, signed here with HS256, so the fuzzer reaches
 *      the claim checks that a forged signature never would;
 *   2: the rest is "header\npayload", signed with HS256 (header parsing and
 *      key choice with arbitrary JSON);
 *   3: like 1 but signed with ES256.
 * Whatever happens, the answer must be NULL or one of the fixed reasons:
 * a reason that is anything else could be echoing the token. */
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sse_b64url.h"
#include "sse_jwt.h"
#include "sse_jwt_internal.h"

static apr_pool_t *config_pool, *pool;
static apr_array_header_t *keys;
static EVP_PKEY *es_private;
/* The pool owns the public key, but APR's allocator memory is not scanned by
 * LeakSanitizer; a global pointer keeps it visibly reachable. */
static EVP_PKEY *es_public;
static sse_jwt_policy policy = {
    .issuer = "issuer", .audience = "audience", .type = NULL, .leeway = 30 * APR_USEC_PER_SEC
};
static const unsigned char hs_secret[32] = "fuzz-only HS256 secret, 32 bytes";
#define NOW apr_time_from_sec(1700000000)

static const char *const reasons[] = {
    "malformed token", "token too large", "unsupported algorithm",
    "unsupported critical header", "nested token not supported",
    "no matching key", "signature mismatch", "missing exp", "invalid exp",
    "invalid nbf", "invalid iat", "token expired", "token not yet valid",
    "issued in the future", "wrong issuer", "wrong audience",
    "wrong token type", "unexpected audience",
};

#define CHECK(cond, what)                                                   \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "fuzz_jwt: %s\n", what);                        \
            abort();                                                        \
        }                                                                   \
    } while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    sse_jwt_key *key;
    BIO *bio;
    char *pem;
    long pem_len;

    (void)argc;
    (void)argv;
    apr_initialize();
    apr_pool_create(&config_pool, NULL);
    apr_pool_create(&pool, NULL);
    keys = apr_array_make(config_pool, 2, sizeof(sse_jwt_key *));

    CHECK(sse_jwt_key_from_bytes(config_pool, SSE_JWT_HS256, "h", hs_secret,
                                 sizeof(hs_secret), &key) == NULL, "HS256 key");
    APR_ARRAY_PUSH(keys, sse_jwt_key *) = key;

    es_private = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    CHECK(es_private != NULL, "ES256 keygen");
    bio = BIO_new(BIO_s_mem());
    CHECK(bio && PEM_write_bio_PUBKEY(bio, es_private) == 1, "ES256 PEM");
    pem_len = BIO_get_mem_data(bio, &pem);
    CHECK(sse_jwt_key_from_bytes(config_pool, SSE_JWT_ES256, NULL, (unsigned char *)pem,
                                 (apr_size_t)pem_len, &key) == NULL, "ES256 key");
    BIO_free(bio);
    es_public = key->pkey;
    APR_ARRAY_PUSH(keys, sse_jwt_key *) = key;
    return 0;
}

static const char *hs256_signature(const char *input)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t len = 0;
    CHECK(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, hs_secret, sizeof(hs_secret),
                    (const unsigned char *)input, strlen(input), mac, sizeof(mac), &len),
          "HMAC");
    return sse_b64url_encode(pool, mac, len);
}

static const char *es256_signature(const char *input)
{
    unsigned char der[80], raw[64];
    const unsigned char *q = der;
    size_t len = sizeof(der);
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    ECDSA_SIG *esig;

    CHECK(mctx && EVP_DigestSignInit_ex(mctx, NULL, "SHA256", NULL, NULL, es_private, NULL) == 1
          && EVP_DigestSign(mctx, der, &len, (const unsigned char *)input, strlen(input)) == 1,
          "ECDSA sign");
    EVP_MD_CTX_free(mctx);
    esig = d2i_ECDSA_SIG(NULL, &q, (long)len);
    CHECK(esig != NULL, "ECDSA DER");
    BN_bn2binpad(ECDSA_SIG_get0_r(esig), raw, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(esig), raw + 32, 32);
    ECDSA_SIG_free(esig);
    return sse_b64url_encode(pool, raw, sizeof(raw));
}

static const char *signed_token(const uint8_t *header, size_t header_len,
                                const uint8_t *payload, size_t payload_len, int es)
{
    const char *input = apr_pstrcat(pool, sse_b64url_encode(pool, header, header_len), ".",
                                    sse_b64url_encode(pool, payload, payload_len), NULL);
    return apr_pstrcat(pool, input, ".",
                       es ? es256_signature(input) : hs256_signature(input), NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char hs_header[] = "{\"alg\":\"HS256\",\"kid\":\"h\"}";
    static const char es_header[] = "{\"alg\":\"ES256\"}";
    sse_jwt_claims claims;
    const char *token, *reason;
    const uint8_t *nl;
    size_t i;
    int mode, known = 0;

    if (size < 1)
        return 0;
    mode = data[0] & 3;
    data++;
    size--;
    switch (mode) {
    case 0:
        token = apr_pstrmemdup(pool, (const char *)data, size);
        break;
    case 1:
        token = signed_token((const uint8_t *)hs_header, strlen(hs_header), data, size, 0);
        break;
    case 2:
        nl = memchr(data, '\n', size);
        if (nl == NULL)
            return 0;
        token = signed_token(data, (size_t)(nl - data), nl + 1,
                             size - (size_t)(nl + 1 - data), 0);
        break;
    default:
        token = signed_token((const uint8_t *)es_header, strlen(es_header), data, size, 1);
        break;
    }

    memset(&claims, 0, sizeof(claims));
    reason = sse_jwt_verify(pool, keys, &policy, token, NOW, &claims);
    if (reason == NULL) {
        CHECK(claims.claims != NULL, "success without claims");
        CHECK(claims.exp >= 1700000000 - 30, "accepted an expired token");
    }
    else {
        for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
            if (strcmp(reason, reasons[i]) == 0)
                known = 1;
        CHECK(known, "a reason that is not one of the fixed strings");
    }
    apr_pool_clear(pool);
    return 0;
}
