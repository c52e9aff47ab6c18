/* test_jwt.c: JWT verification and key loading (sse_jwt.c, sse_jwt_keys.c).
 *
 * Known-answer tests use the published vectors (RFC 7515 A.1-A.3, RFC 8037
 * A.4). Everything else is signed here with keys generated at start-up, so no
 * private key is committed. Time is injected: NOW is a fixed instant.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/rsa.h>

#include "sse_b64url.h"
#include "sse_jwt.h"
#include "sse_jwt_internal.h"

#define NOW_S 1700000000
#define NOW   apr_time_from_sec(NOW_S)

/* ---- shared state: generated keys and a scratch directory ---- */

static EVP_PKEY *rsa2048, *rsa1024, *ec256, *ec384, *ec521, *ed25519, *ec256_other;
static char tmpdir[64];
static const unsigned char hs_secret[64] =
    "test-only HMAC secret: sixty-four bytes long, never used in prod";

typedef struct {
    apr_pool_t *p;
    apr_array_header_t *keys;
    sse_jwt_policy policy;
    sse_jwt_claims claims;
} fixture;

static int group_setup(void **state)
{
    (void)state;
    rsa2048 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    ec256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ec256_other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ec384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    ec521 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
    ed25519 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    strcpy(tmpdir, "/tmp/sse_jwt_test.XXXXXX");
    if (!rsa2048 || !rsa1024 || !ec256 || !ec256_other || !ec384 || !ec521 || !ed25519
        || mkdtemp(tmpdir) == NULL)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    char cmd[128];
    (void)state;
    EVP_PKEY_free(rsa2048);
    EVP_PKEY_free(rsa1024);
    EVP_PKEY_free(ec256);
    EVP_PKEY_free(ec256_other);
    EVP_PKEY_free(ec384);
    EVP_PKEY_free(ec521);
    EVP_PKEY_free(ed25519);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (f == NULL || apr_pool_create(&f->p, NULL) != APR_SUCCESS)
        return -1;
    f->keys = apr_array_make(f->p, 4, sizeof(sse_jwt_key *));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    apr_pool_destroy(f->p);
    free(f);
    return 0;
}

/* ---- helpers: keys, signing, tokens ---- */

static const sse_jwt_alg_info *info_of(sse_jwt_alg alg)
{
    return sse_jwt_alg_info_get(alg);
}

static EVP_PKEY *private_key_for(sse_jwt_alg alg)
{
    switch (info_of(alg)->family) {
    case SSE_JWT_FAMILY_RSA_PKCS1:
    case SSE_JWT_FAMILY_RSA_PSS:
        return rsa2048;
    case SSE_JWT_FAMILY_ECDSA:
        return alg == SSE_JWT_ES256 ? ec256 : alg == SSE_JWT_ES384 ? ec384 : ec521;
    case SSE_JWT_FAMILY_EDDSA:
        return ed25519;
    default:
        return NULL;
    }
}

static char *public_pem(apr_pool_t *p, EVP_PKEY *pkey)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data, *out;
    long len;

    assert_non_null(bio);
    assert_int_equal(PEM_write_bio_PUBKEY(bio, pkey), 1);
    len = BIO_get_mem_data(bio, &data);
    out = apr_pstrmemdup(p, data, (apr_size_t)len);
    BIO_free(bio);
    return out;
}

static char *write_file(apr_pool_t *p, const char *name, const void *data, size_t len)
{
    char *path = apr_psprintf(p, "%s/%s", tmpdir, name);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
    return path;
}

/* Adds the default test key for `alg` (generated key, or hs_secret). */
static sse_jwt_key *add_key(fixture *f, sse_jwt_alg alg, const char *kid)
{
    sse_jwt_key *key = NULL;
    const char *err;

    if (info_of(alg)->family == SSE_JWT_FAMILY_HMAC) {
        err = sse_jwt_key_from_bytes(f->p, alg, kid, hs_secret, sizeof(hs_secret), &key);
    }
    else {
        const char *pem = public_pem(f->p, private_key_for(alg));
        err = sse_jwt_key_from_bytes(f->p, alg, kid, (const unsigned char *)pem,
                                     strlen(pem), &key);
    }
    assert_null(err);
    assert_non_null(key);
    APR_ARRAY_PUSH(f->keys, sse_jwt_key *) = key;
    return key;
}

static void add_jwks(fixture *f, const char *json)
{
    const char *path = write_file(f->p, "jwks.json", json, strlen(json));
    assert_null(sse_jwt_jwks_load(f->p, path, f->keys));
}

static const char *b64(apr_pool_t *p, const void *data, size_t len)
{
    return sse_b64url_encode(p, data, len);
}

static const char *b64s(apr_pool_t *p, const char *s)
{
    return b64(p, s, strlen(s));
}

/* Signs `input` the JWS way; pss_salt < 0 means "hash length". */
static const char *sign_with(apr_pool_t *p, sse_jwt_alg alg, EVP_PKEY *priv,
                             const unsigned char *secret, size_t secret_len,
                             const char *input, int pss_salt)
{
    const sse_jwt_alg_info *info = info_of(alg);
    unsigned char buf[1024];
    size_t len = sizeof(buf);
    EVP_MD_CTX *mctx;
    EVP_PKEY_CTX *pctx = NULL;

    if (info->family == SSE_JWT_FAMILY_HMAC) {
        assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, info->digest, NULL, secret,
                                  secret_len, (const unsigned char *)input,
                                  strlen(input), buf, sizeof(buf), &len));
        return b64(p, buf, len);
    }
    mctx = EVP_MD_CTX_new();
    assert_non_null(mctx);
    assert_int_equal(EVP_DigestSignInit_ex(mctx, &pctx, info->digest, NULL, NULL,
                                           priv, NULL), 1);
    if (info->family == SSE_JWT_FAMILY_RSA_PSS) {
        assert_true(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0);
        assert_true(EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, info->digest, NULL) > 0);
        assert_true(EVP_PKEY_CTX_set_rsa_pss_saltlen(
                        pctx, pss_salt < 0 ? RSA_PSS_SALTLEN_DIGEST : pss_salt) > 0);
    }
    assert_int_equal(EVP_DigestSign(mctx, buf, &len, (const unsigned char *)input,
                                    strlen(input)), 1);
    EVP_MD_CTX_free(mctx);

    if (info->family == SSE_JWT_FAMILY_ECDSA) {
        const unsigned char *q = buf;
        unsigned char raw[132];
        ECDSA_SIG *esig = d2i_ECDSA_SIG(NULL, &q, (long)len);
        assert_non_null(esig);
        assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(esig), raw, (int)info->coord_len),
                         (int)info->coord_len);
        assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(esig), raw + info->coord_len,
                                      (int)info->coord_len), (int)info->coord_len);
        ECDSA_SIG_free(esig);
        return b64(p, raw, 2 * info->coord_len);
    }
    return b64(p, buf, len);
}

static const char *signing_input(apr_pool_t *p, const char *header, const char *payload)
{
    return apr_pstrcat(p, b64s(p, header), ".", b64s(p, payload), NULL);
}

/* A token for `alg` with explicit header and payload JSON, signed by the
 * default test key of that alg. */
static const char *token_hp(apr_pool_t *p, sse_jwt_alg alg, const char *header,
                            const char *payload)
{
    const char *in = signing_input(p, header, payload);
    return apr_pstrcat(p, in, ".",
                       sign_with(p, alg, private_key_for(alg), hs_secret,
                                 sizeof(hs_secret), in, -1), NULL);
}

static const char *alg_header(apr_pool_t *p, sse_jwt_alg alg)
{
    return apr_psprintf(p, "{\"alg\":\"%s\"}", sse_jwt_alg_name(alg));
}

static const char *valid_payload(apr_pool_t *p)
{
    return apr_psprintf(p, "{\"sub\":\"alice\",\"exp\":%d}", NOW_S + 600);
}

/* HS256 token with the given payload, for the claim tests. */
static const char *hs256(apr_pool_t *p, const char *payload)
{
    return token_hp(p, SSE_JWT_HS256, "{\"alg\":\"HS256\"}", payload);
}

static const char *verify_at(fixture *f, const char *token, apr_time_t now)
{
    return sse_jwt_verify(f->p, f->keys, &f->policy, token, now, &f->claims);
}

static const char *verify(fixture *f, const char *token)
{
    return verify_at(f, token, NOW);
}

/* A claim of the last verified token as text (NULL when absent). */
static const char *claim_text(fixture *f, const char *name)
{
    return sse_jwt_claim_text(f->p, &f->claims, name);
}

static void assert_verifies(fixture *f, const char *token)
{
    const char *reason = verify(f, token);
    if (reason)
        fail_msg("expected success, got \"%s\"", reason);
}

static void assert_rejected(fixture *f, const char *token, const char *want)
{
    const char *reason = verify(f, token);
    if (reason == NULL)
        fail_msg("expected \"%s\", token was accepted", want);
    assert_string_equal(reason, want);
}

static void round_trip(fixture *f, sse_jwt_alg alg)
{
    add_key(f, alg, NULL);
    assert_verifies(f, token_hp(f->p, alg, alg_header(f->p, alg), valid_payload(f->p)));
    assert_string_equal(claim_text(f, "sub"), "alice");
    assert_int_equal(f->claims.exp, NOW_S + 600);
}

/* ---- known-answer vectors ---- */

/* RFC 7515 A.1/A.2/A.3 share this payload: iss "joe", exp 1300819380. */
#define RFC7515_PAYLOAD "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
#define RFC7515_EXP 1300819380

static void verifies_rfc7515_a1_hs256(void **state)
{
    fixture *f = *state;
    const char *k = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
    const char *token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9." RFC7515_PAYLOAD
                        ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    unsigned char *secret;
    apr_size_t len;
    sse_jwt_key *key;

    assert_int_equal(sse_b64url_decode(f->p, k, strlen(k), &secret, &len), 0);
    assert_null(sse_jwt_key_from_bytes(f->p, SSE_JWT_HS256, NULL, secret, len, &key));
    APR_ARRAY_PUSH(f->keys, sse_jwt_key *) = key;

    assert_null(verify_at(f, token, apr_time_from_sec(RFC7515_EXP - 60)));
    assert_int_equal(f->claims.exp, RFC7515_EXP);
    assert_string_equal(claim_text(f, "iss"), "joe");
    assert_string_equal(claim_text(f, "exp"), "1300819380");
    /* A boolean claim is not carried as text. */
    assert_null(claim_text(f, "http://example.com/is_root"));
    assert_string_equal(verify_at(f, token, apr_time_from_sec(RFC7515_EXP)), "token expired");
}

static void verifies_rfc7515_a2_rs256_from_jwks(void **state)
{
    fixture *f = *state;
    const char *token =
        "eyJhbGciOiJSUzI1NiJ9." RFC7515_PAYLOAD "."
        "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7"
        "AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4"
        "BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K"
        "0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqv"
        "hJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrB"
        "p0igcN_IoypGlUPQGe77Rw";
    add_jwks(f, "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"2011-04-29\",\"alg\":\"RS256\","
                "\"n\":\"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddx"
                "HmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMs"
                "D1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSH"
                "SXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdV"
                "MTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8"
                "NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ\","
                "\"e\":\"AQAB\"}]}");
    assert_int_equal(f->keys->nelts, 1);
    assert_string_equal(sse_jwt_key_kid(APR_ARRAY_IDX(f->keys, 0, sse_jwt_key *)), "2011-04-29");
    assert_int_equal(sse_jwt_key_alg(APR_ARRAY_IDX(f->keys, 0, sse_jwt_key *)), SSE_JWT_RS256);

    assert_null(verify_at(f, token, apr_time_from_sec(RFC7515_EXP - 1)));
    assert_string_equal(claim_text(f, "iss"), "joe");
    assert_string_equal(verify_at(f, token, apr_time_from_sec(RFC7515_EXP + 1)), "token expired");
}

static void verifies_rfc7515_a3_es256_from_jwks(void **state)
{
    fixture *f = *state;
    const char *token =
        "eyJhbGciOiJFUzI1NiJ9." RFC7515_PAYLOAD "."
        "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
    add_jwks(f, "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"a3\",\"alg\":\"ES256\","
                "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
                "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}]}");
    assert_null(verify_at(f, token, apr_time_from_sec(RFC7515_EXP - 1)));
    assert_string_equal(claim_text(f, "iss"), "joe");
}

static void verifies_rfc8037_a4_ed25519_signature(void **state)
{
    fixture *f = *state;
    /* The RFC signs the text "Example of Ed25519 signing", not a claim set:
     * the signature must verify, and only then is the payload refused. */
    const char *input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
    const char *sig = "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
    const char *tampered = "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAA";
    const sse_jwt_key *key;
    unsigned char *raw;
    apr_size_t raw_len;

    add_jwks(f, "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"a4\",\"alg\":\"EdDSA\","
                "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}]}");
    key = APR_ARRAY_IDX(f->keys, 0, sse_jwt_key *);
    assert_int_equal(sse_b64url_decode(f->p, sig, strlen(sig), &raw, &raw_len), 0);
    assert_true(sse_jwt_signature_ok(key, (const unsigned char *)input, strlen(input),
                                     raw, raw_len));
    raw[10] ^= 1;
    assert_false(sse_jwt_signature_ok(key, (const unsigned char *)input, strlen(input),
                                      raw, raw_len));

    assert_rejected(f, apr_pstrcat(f->p, input, ".", sig, NULL), "malformed token");
    assert_rejected(f, apr_pstrcat(f->p, input, ".", tampered, NULL), "signature mismatch");
}

static void verifies_token_signed_with_rfc8037_private_key(void **state)
{
    fixture *f = *state;
    const char *d = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
    unsigned char *seed;
    apr_size_t seed_len;
    EVP_PKEY *priv;
    const char *in, *token;

    add_jwks(f, "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"a4\",\"alg\":\"EdDSA\","
                "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}]}");
    assert_int_equal(sse_b64url_decode(f->p, d, strlen(d), &seed, &seed_len), 0);
    priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, seed_len);
    assert_non_null(priv);
    in = signing_input(f->p, "{\"alg\":\"EdDSA\",\"kid\":\"a4\"}", valid_payload(f->p));
    token = apr_pstrcat(f->p, in, ".", sign_with(f->p, SSE_JWT_EDDSA, priv, NULL, 0, in, -1),
                        NULL);
    EVP_PKEY_free(priv);
    assert_verifies(f, token);
    assert_string_equal(claim_text(f, "sub"), "alice");
}

/* ---- every algorithm with generated keys ---- */

static void verifies_hs256(void **state) { round_trip(*state, SSE_JWT_HS256); }
static void verifies_hs384(void **state) { round_trip(*state, SSE_JWT_HS384); }
static void verifies_hs512(void **state) { round_trip(*state, SSE_JWT_HS512); }
static void verifies_rs256(void **state) { round_trip(*state, SSE_JWT_RS256); }
static void verifies_rs384(void **state) { round_trip(*state, SSE_JWT_RS384); }
static void verifies_rs512(void **state) { round_trip(*state, SSE_JWT_RS512); }
static void verifies_ps256(void **state) { round_trip(*state, SSE_JWT_PS256); }
static void verifies_ps384(void **state) { round_trip(*state, SSE_JWT_PS384); }
static void verifies_ps512(void **state) { round_trip(*state, SSE_JWT_PS512); }
static void verifies_es256(void **state) { round_trip(*state, SSE_JWT_ES256); }
static void verifies_es384(void **state) { round_trip(*state, SSE_JWT_ES384); }
static void verifies_es512(void **state) { round_trip(*state, SSE_JWT_ES512); }
static void verifies_eddsa(void **state) { round_trip(*state, SSE_JWT_EDDSA); }

static void maps_alg_names_case_sensitively(void **state)
{
    sse_jwt_alg alg;
    int i;
    (void)state;

    for (i = 0; i < SSE_JWT_ALG_COUNT; i++) {
        assert_int_equal(sse_jwt_alg_from_name(sse_jwt_alg_name((sse_jwt_alg)i), &alg), 0);
        assert_int_equal(alg, i);
    }
    assert_int_equal(sse_jwt_alg_from_name("hs256", &alg), -1);
    assert_int_equal(sse_jwt_alg_from_name("EDDSA", &alg), -1);
    assert_int_equal(sse_jwt_alg_from_name("none", &alg), -1);
    assert_int_equal(sse_jwt_alg_from_name("", &alg), -1);
    assert_int_equal(sse_jwt_alg_from_name(NULL, &alg), -1);
}

/* ---- header and algorithm rules ---- */

static void rejects_alg_none(void **state)
{
    fixture *f = *state;
    add_key(f, SSE_JWT_HS256, NULL);
    assert_rejected(f, signing_input(f->p, "{\"alg\":\"none\"}", valid_payload(f->p)),
                    "malformed token");
    assert_rejected(f, apr_pstrcat(f->p, signing_input(f->p, "{\"alg\":\"none\"}",
                                                      valid_payload(f->p)), ".", NULL),
                    "unsupported algorithm");
    assert_rejected(f, apr_pstrcat(f->p, signing_input(f->p, "{\"alg\":\"none\"}",
                                                      valid_payload(f->p)), ".AAAA", NULL),
                    "unsupported algorithm");
}

static void rejects_alg_in_the_wrong_case(void **state)
{
    fixture *f = *state;
    const char *in;
    add_key(f, SSE_JWT_HS256, NULL);
    in = signing_input(f->p, "{\"alg\":\"hs256\"}", valid_payload(f->p));
    assert_rejected(f, apr_pstrcat(f->p, in, ".",
                                   sign_with(f->p, SSE_JWT_HS256, NULL, hs_secret,
                                             sizeof(hs_secret), in, -1), NULL),
                    "unsupported algorithm");
}

static void rejects_missing_or_non_string_alg(void **state)
{
    fixture *f = *state;
    add_key(f, SSE_JWT_HS256, NULL);
    assert_rejected(f, token_hp(f->p, SSE_JWT_HS256, "{\"typ\":\"JWT\"}", valid_payload(f->p)),
                    "malformed token");
    assert_rejected(f, token_hp(f->p, SSE_JWT_HS256, "{\"alg\":256}", valid_payload(f->p)),
                    "malformed token");
    assert_rejected(f, token_hp(f->p, SSE_JWT_HS256, "{\"alg\":\"HS256\",\"kid\":7}",
                                valid_payload(f->p)), "malformed token");
}

static void rejects_hs256_token_keyed_with_the_rsa_public_key(void **state)
{
    /* Classic confusion: only an RS256 key is configured, the attacker
     * MACs with its public PEM. The HS256 alg has no key, so nothing to try. */
    fixture *f = *state;
    const char *pem = public_pem(f->p, rsa2048);
    const char *in = signing_input(f->p, "{\"alg\":\"HS256\"}", valid_payload(f->p));
    add_key(f, SSE_JWT_RS256, NULL);
    assert_rejected(f, apr_pstrcat(f->p, in, ".",
                                   sign_with(f->p, SSE_JWT_HS256, NULL,
                                             (const unsigned char *)pem, strlen(pem), in, -1),
                                   NULL),
                    "no matching key");
}

static void refuses_an_rsa_public_key_as_hmac_secret(void **state)
{
    /* Algorithm confusion by configuration: the PEM that everybody has,
     * configured as an HS256 secret, would let anybody MAC tokens. */
    fixture *f = *state;
    const char *pem = public_pem(f->p, rsa2048);
    sse_jwt_key *key = NULL;

    assert_string_equal(sse_jwt_key_from_bytes(f->p, SSE_JWT_HS256, NULL,
                                               (const unsigned char *)pem, strlen(pem), &key),
                        "HS256 secret is a PEM block (-----BEGIN ...); a public key is no "
                        "HMAC secret (anyone who has it could sign): use an asymmetric "
                        "algorithm with it");
    assert_null(key);
}

static void pins_each_key_to_one_alg(void **state)
{
    /* The same RSA key configured for RS256 does not accept PS256, and a
     * PS256 signature under an "RS256" header does not verify. */
    fixture *f = *state;
    const char *in = signing_input(f->p, "{\"alg\":\"RS256\"}", valid_payload(f->p));
    add_key(f, SSE_JWT_RS256, NULL);
    assert_rejected(f, token_hp(f->p, SSE_JWT_PS256, "{\"alg\":\"PS256\"}", valid_payload(f->p)),
                    "no matching key");
    assert_rejected(f, apr_pstrcat(f->p, in, ".",
                                   sign_with(f->p, SSE_JWT_PS256, rsa2048, NULL, 0, in, -1),
                                   NULL),
                    "signature mismatch");
}

static void rejects_ps256_with_a_salt_other_than_the_hash_length(void **state)
{
    fixture *f = *state;
    const char *in = signing_input(f->p, "{\"alg\":\"PS256\"}", valid_payload(f->p));
    add_key(f, SSE_JWT_PS256, NULL);
    assert_rejected(f, apr_pstrcat(f->p, in, ".",
                                   sign_with(f->p, SSE_JWT_PS256, rsa2048, NULL, 0, in, 20),
                                   NULL),
                    "signature mismatch");
    assert_verifies(f, apr_pstrcat(f->p, in, ".",
                                   sign_with(f->p, SSE_JWT_PS256, rsa2048, NULL, 0, in, 32),
                                   NULL));
}

static void rejects_kid_mismatch(void **state)
{
    fixture *f = *state;
    const char *reason;
    add_key(f, SSE_JWT_HS256, "key-a");
    reason = verify(f, token_hp(f->p, SSE_JWT_HS256,
                                "{\"alg\":\"HS256\",\"kid\":\"confidential-kid\"}",
                                valid_payload(f->p)));
    assert_non_null(reason);
    assert_string_equal(reason, "no matching key");
    assert_null(strstr(reason, "confidential"));
    assert_verifies(f, token_hp(f->p, SSE_JWT_HS256, "{\"alg\":\"HS256\",\"kid\":\"key-a\"}",
                                valid_payload(f->p)));
}

static void matches_kid_only_when_both_sides_have_one(void **state)
{
    fixture *f = *state;
    add_key(f, SSE_JWT_HS256, NULL);
    /* Key without kid: any token kid is fine; token without kid: fine too. */
    assert_verifies(f, token_hp(f->p, SSE_JWT_HS256, "{\"alg\":\"HS256\",\"kid\":\"whatever\"}",
                                valid_payload(f->p)));
    assert_verifies(f, hs256(f->p, valid_payload(f->p)));
}

static void tries_every_key_of_the_alg_when_token_has_no_kid(void **state)
{
    fixture *f = *state;
    const unsigned char other[32] = "a different 32-byte HMAC secret";
    sse_jwt_key *key;

    assert_null(sse_jwt_key_from_bytes(f->p, SSE_JWT_HS256, "first", other, sizeof(other), &key));
    APR_ARRAY_PUSH(f->keys, sse_jwt_key *) = key;
    add_key(f, SSE_JWT_HS256, "second");
    assert_verifies(f, hs256(f->p, valid_payload(f->p)));
    /* With a kid, only that key is tried. */
    assert_rejected(f, token_hp(f->p, SSE_JWT_HS256, "{\"alg\":\"HS256\",\"kid\":\"first\"}",
                                valid_payload(f->p)), "signature mismatch");
}

static void tries_only_keys_of_the_token_alg(void **state)
{
    /* The HS512 key holds the very secret the token was MACed with, but the
     * token says HS256 and the HS256 key is a different one. */
    fixture *f = *state;
    const unsigned char other[32] = "a different 32-byte HMAC secret";
    sse_jwt_key *key;

    add_key(f, SSE_JWT_HS512, NULL);
    assert_null(sse_jwt_key_from_bytes(f->p, SSE_JWT_HS256, NULL, other, sizeof(other), &key));
    APR_ARRAY_PUSH(f->keys, sse_jwt_key *) = key;
    assert_rejected(f, hs256(f->p, valid_payload(f->p)), "signature mismatch");
}

static void rejects_crit(void **state)
{
    fixture *f = *state;
    add_key(f, SSE_JWT_HS256, NULL);
    assert_rejected(f, token_hp(f->p, SSE_JWT_HS256,
                                "{\"alg\":\"HS256\",\"crit\":[\"exp\"],\"exp\":1}",
                                valid_payload(f->p)), "unsupported critical header");
    assert_rejected(f, token_hp(f->p, SSE_JWT_HS256, "{\"alg\":\"HS256\",\"crit\":[]}",
                                valid_payload(f->p)), "unsupported critical header");
    assert_rejected(f, token_hp(f->p, SSE_JWT_HS256,
                                "{\"alg\":\"HS256\",\"b64\":false,\"crit\":[\"b64\"]}",
                                valid_payload(f->p)), "unsupported critical header");
}

static void rejects_nested_cty_jwt(void **state)
{
    fixture *f = *state;
    add_key(f, SSE_JWT_HS256, NULL);
    assert_rejected(f, token_hp(f->p, SSE_JWT_HS256, "{\"alg\":\"HS256\",\"cty\":\"JWT\"}",
                                valid_payload(f->p)), "nested token not supported");
    assert_rejected(f, token_hp(f->p, SSE_JWT_HS256, "{\"alg\":\"HS256\",\"cty\":\"jwt\"}",
                                valid_payload(f->p)), "nested token not supported");
    assert_rejected(f, token_hp(f->p, SSE_JWT_HS256, "{\"alg\":\"HS256\",\"cty\":1}",
                                valid_payload(f->p)), "malformed token");
    assert_verifies(f, token_hp(f->p, SSE_JWT_HS256,
                                "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"cty\":\"json\"}",
                                valid_payload(f->p)));
}

static void ignores_embedded_keys_and_key_urls_for_key_choice(void **state)
{
    /* A token signed by the attacker's own ES256 key, which it also embeds
     * (jwk) or points at (jku, x5u, x5c), is checked against our key only. */
    fixture *f = *state;
    const char *header = apr_psprintf(
        f->p, "{\"alg\":\"ES256\",\"jku\":\"https://evil.example/jwks\","
              "\"x5u\":\"https://evil.example/cert\",\"x5c\":[\"MIIB\"],"
              "\"jwk\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}}",
        "ignored", "ignored");
    const char *in = signing_input(f->p, header, valid_payload(f->p));

    add_key(f, SSE_JWT_ES256, NULL);
    assert_rejected(f, apr_pstrcat(f->p, in, ".",
                                   sign_with(f->p, SSE_JWT_ES256, ec256_other, NULL, 0, in, -1),
                                   NULL),
                    "signature mismatch");
    /* The same header signed by our key is fine: the members are ignored. */
    assert_verifies(f, token_hp(f->p, SSE_JWT_ES256, header, valid_payload(f->p)));
}

static void rejects_duplicate_keys_in_header(void **state)
{
    fixture *f = *state;
    add_key(f, SSE_JWT_HS256, NULL);
    assert_rejected(f, token_hp(f->p, SSE_JWT_HS256, "{\"alg\":\"HS256\",\"alg\":\"HS256\"}",
                                valid_payload(f->p)), "malformed token");
    assert_rejected(f, token_hp(f->p, SSE_JWT_HS256,
                                "{\"alg\":\"HS256\",\"kid\":\"a\",\"kid\":\"b\"}",
                                valid_payload(f->p)), "malformed token");
}

static void rejects_duplicate_keys_in_payload(void **state)
{
    fixture *f = *state;
    add_key(f, SSE_JWT_HS256, NULL);
    assert_rejected(f, hs256(f->p, apr_psprintf(f->p,
                                                "{\"sub\":\"alice\",\"sub\":\"mallory\",\"exp\":%d}",
                                                NOW_S + 60)),
                    "malformed token");
    assert_rejected(f, hs256(f->p, apr_psprintf(f->p, "{\"exp\":%d,\"exp\":%d}",
                                                NOW_S - 60, NOW_S + 60)),
                    "malformed token");
}

static void rejects_non_object_header(void **state)
{
    fixture *f = *state;
    add_key(f, SSE_JWT_HS256, NULL);
    assert_rejected(f, token_hp(f->p, SSE_JWT_HS256, "[\"HS256\"]", valid_payload(f->p)),
                    "malformed token");
    assert_rejected(f, token_hp(f->p, SSE_JWT_HS256, "\"HS256\"", valid_payload(f->p)),
                    "malformed token");
    assert_rejected(f, token_hp(f->p, SSE_JWT_HS256, "{\"alg\":\"HS256\"", valid_payload(f->p)),
                    "malformed token");
    assert_rejected(f, token_hp(f->p, SSE_JWT_HS256, "{\"alg\":\"HS256\"} x",
                                valid_payload(f->p)), "malformed token");
}

static void rejects_non_object_payload(void **state)
{
    fixture *f = *state;
    add_key(f, SSE_JWT_HS256, NULL);
    assert_rejected(f, hs256(f->p, "[1700000600]"), "malformed token");
    assert_rejected(f, hs256(f->p, "1700000600"), "malformed token");
    assert_rejected(f, hs256(f->p, ""), "malformed token");
}

/* ---- encoding and shape ---- */

static void rejects_padding(void **state)
{
    fixture *f = *state;
    const char *token;
    add_key(f, SSE_JWT_HS256, NULL);
    token = hs256(f->p, valid_payload(f->p));
    /* An HS256 signature is 32 bytes: 43 characters, "=" in padded base64. */
    assert_verifies(f, token);
    assert_rejected(f, apr_pstrcat(f->p, token, "=", NULL), "malformed token");
}

static void rejects_whitespace(void **state)
{
    fixture *f = *state;
    const char *token, *dot;
    add_key(f, SSE_JWT_HS256, NULL);
    token = hs256(f->p, valid_payload(f->p));
    dot = strchr(token, '.');
    assert_rejected(f, apr_pstrcat(f->p, token, "\n", NULL), "malformed token");
    assert_rejected(f, apr_pstrcat(f->p, " ", token, NULL), "malformed token");
    assert_rejected(f, apr_pstrcat(f->p, apr_pstrmemdup(f->p, token, (apr_size_t)(dot - token)),
                                   " ", dot, NULL), "malformed token");
    assert_rejected(f, apr_pstrcat(f->p, apr_pstrmemdup(f->p, token, 5), "\r\n", token + 5, NULL),
                    "malformed token");
}

static void rejects_non_canonical_trailing_bits(void **state)
{
    /* Setting a spare low bit of the signature's last character gives a
     * second spelling of the very same signature bytes. */
    fixture *f = *state;
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *token;
    size_t len;
    int v;

    add_key(f, SSE_JWT_HS256, NULL);
    token = apr_pstrdup(f->p, hs256(f->p, valid_payload(f->p)));
    len = strlen(token);
    v = (int)(strchr(alphabet, token[len - 1]) - alphabet);
    assert_int_equal(v & 3, 0);
    token[len - 1] = alphabet[v | 1];
    assert_rejected(f, token, "malformed token");
}

static void rejects_two_and_four_segments(void **state)
{
    fixture *f = *state;
    const char *token;
    add_key(f, SSE_JWT_HS256, NULL);
    token = hs256(f->p, valid_payload(f->p));
    assert_rejected(f, signing_input(f->p, "{\"alg\":\"HS256\"}", valid_payload(f->p)),
                    "malformed token");
    assert_rejected(f, apr_pstrcat(f->p, token, ".", NULL), "malformed token");
    assert_rejected(f, apr_pstrcat(f->p, token, ".e30", NULL), "malformed token");
    assert_rejected(f, "", "malformed token");
    assert_rejected(f, "..", "malformed token");
    assert_rejected(f, "abc", "malformed token");
}

static void rejects_tokens_over_8_kib_and_accepts_exactly_8_kib(void **state)
{
    fixture *f = *state;
    const char *token = NULL;
    int pad, kid;

    add_key(f, SSE_JWT_HS256, NULL);
    /* Find a padding that makes the token exactly SSE_JWT_MAX_TOKEN long. */
    for (kid = 0; kid < 3 && token == NULL; kid++) {
        for (pad = 5900; pad < 6200; pad++) {
            char *filler = apr_palloc(f->p, (apr_size_t)pad + 1);
            const char *t;
            memset(filler, 'x', (size_t)pad);
            filler[pad] = '\0';
            t = token_hp(f->p, SSE_JWT_HS256,
                         apr_psprintf(f->p, "{\"alg\":\"HS256\",\"kid\":\"%.*s\"}", kid, "kkk"),
                         apr_psprintf(f->p, "{\"exp\":%d,\"pad\":\"%s\"}", NOW_S + 60, filler));
            if (strlen(t) == SSE_JWT_MAX_TOKEN) {
                token = t;
                break;
            }
        }
    }
    assert_non_null(token);
    assert_verifies(f, token);
    assert_rejected(f, apr_pstrcat(f->p, token, "A", NULL), "token too large");
}

static void rejects_bad_signature(void **state)
{
    fixture *f = *state;
    char *token;
    char *last_dot;

    add_key(f, SSE_JWT_HS256, NULL);
    add_key(f, SSE_JWT_RS256, NULL);
    add_key(f, SSE_JWT_ES256, NULL);
    add_key(f, SSE_JWT_EDDSA, NULL);

    token = apr_pstrdup(f->p, hs256(f->p, valid_payload(f->p)));
    last_dot = strrchr(token, '.');
    last_dot[1] = last_dot[1] == 'A' ? 'B' : 'A';
    assert_rejected(f, token, "signature mismatch");

    /* Payload changed after signing (the signature is of another payload). */
    token = apr_pstrcat(f->p, signing_input(f->p, "{\"alg\":\"RS256\"}",
                                            apr_psprintf(f->p, "{\"sub\":\"root\",\"exp\":%d}",
                                                         NOW_S + 60)),
                        strrchr(token_hp(f->p, SSE_JWT_RS256, "{\"alg\":\"RS256\"}",
                                         valid_payload(f->p)), '.'), NULL);
    assert_rejected(f, token, "signature mismatch");

    token = apr_pstrcat(f->p, signing_input(f->p, "{\"alg\":\"EdDSA\"}",
                                            apr_psprintf(f->p, "{\"sub\":\"root\",\"exp\":%d}",
                                                         NOW_S + 60)),
                        strrchr(token_hp(f->p, SSE_JWT_EDDSA, "{\"alg\":\"EdDSA\"}",
                                         valid_payload(f->p)), '.'), NULL);
    assert_rejected(f, token, "signature mismatch");

    /* Empty signature. */
    assert_rejected(f, apr_pstrcat(f->p, signing_input(f->p, "{\"alg\":\"ES256\"}",
                                                       valid_payload(f->p)), ".", NULL),
                    "signature mismatch");
}

static void rejects_truncated_or_der_es256_signature(void **state)
{
    fixture *f = *state;
    const char *in = signing_input(f->p, "{\"alg\":\"ES256\"}", valid_payload(f->p));
    const char *sig = sign_with(f->p, SSE_JWT_ES256, ec256, NULL, 0, in, -1);
    unsigned char *raw, der[80], *q = der;
    apr_size_t raw_len;
    ECDSA_SIG *esig;
    int der_len;

    add_key(f, SSE_JWT_ES256, NULL);
    assert_verifies(f, apr_pstrcat(f->p, in, ".", sig, NULL));
    assert_int_equal(sse_b64url_decode(f->p, sig, strlen(sig), &raw, &raw_len), 0);
    assert_int_equal(raw_len, 64);
    assert_rejected(f, apr_pstrcat(f->p, in, ".", b64(f->p, raw, 63), NULL),
                    "signature mismatch");
    assert_rejected(f, apr_pstrcat(f->p, in, ".", b64(f->p, raw + 1, 63), NULL),
                    "signature mismatch");

    /* The same signature in DER, as OpenSSL would emit it, is not JWS. */
    esig = ECDSA_SIG_new();
    assert_int_equal(ECDSA_SIG_set0(esig, BN_bin2bn(raw, 32, NULL),
                                    BN_bin2bn(raw + 32, 32, NULL)), 1);
    der_len = i2d_ECDSA_SIG(esig, &q);
    ECDSA_SIG_free(esig);
    assert_true(der_len > 0);
    assert_rejected(f, apr_pstrcat(f->p, in, ".", b64(f->p, der, (size_t)der_len), NULL),
                    "signature mismatch");
}

static void rejects_es384_signature_for_es256_key(void **state)
{
    /* A P-384 signature (96 bytes) under ES256: wrong length for the curve. */
    fixture *f = *state;
    const char *in = signing_input(f->p, "{\"alg\":\"ES256\"}", valid_payload(f->p));
    add_key(f, SSE_JWT_ES256, NULL);
    assert_rejected(f, apr_pstrcat(f->p, in, ".",
                                   sign_with(f->p, SSE_JWT_ES384, ec384, NULL, 0, in, -1),
                                   NULL),
                    "signature mismatch");
}

/* ---- claims ---- */

static const char *payload_with(apr_pool_t *p, const char *extra)
{
    return apr_psprintf(p, "{\"exp\":%d%s%s}", NOW_S + 600, *extra ? "," : "", extra);
}

static void rejects_expired_token(void **state)
{
    fixture *f = *state;
    add_key(f, SSE_JWT_HS256, NULL);
    assert_rejected(f, hs256(f->p, apr_psprintf(f->p, "{\"exp\":%d}", NOW_S - 1)),
                    "token expired");
    /* RFC 7519: the current time must be before exp, so exp == now fails. */
    assert_rejected(f, hs256(f->p, apr_psprintf(f->p, "{\"exp\":%d}", NOW_S)),
                    "token expired");
    assert_verifies(f, hs256(f->p, apr_psprintf(f->p, "{\"exp\":%d}", NOW_S + 1)));
}

static void honours_leeway_for_exp(void **state)
{
    fixture *f = *state;
    add_key(f, SSE_JWT_HS256, NULL);
    f->policy.leeway = apr_time_from_sec(30);
    assert_verifies(f, hs256(f->p, apr_psprintf(f->p, "{\"exp\":%d}", NOW_S - 29)));
    assert_rejected(f, hs256(f->p, apr_psprintf(f->p, "{\"exp\":%d}", NOW_S - 30)),
                    "token expired");
}

static void rejects_nbf_in_the_future(void **state)
{
    fixture *f = *state;
    add_key(f, SSE_JWT_HS256, NULL);
    assert_rejected(f, hs256(f->p, payload_with(f->p, apr_psprintf(f->p, "\"nbf\":%d",
                                                                    NOW_S + 1))),
                    "token not yet valid");
    assert_verifies(f, hs256(f->p, payload_with(f->p, apr_psprintf(f->p, "\"nbf\":%d", NOW_S))));
}

static void honours_leeway_for_nbf(void **state)
{
    fixture *f = *state;
    add_key(f, SSE_JWT_HS256, NULL);
    f->policy.leeway = apr_time_from_sec(30);
    assert_verifies(f, hs256(f->p, payload_with(f->p, apr_psprintf(f->p, "\"nbf\":%d",
                                                                    NOW_S + 30))));
    assert_rejected(f, hs256(f->p, payload_with(f->p, apr_psprintf(f->p, "\"nbf\":%d",
                                                                    NOW_S + 31))),
                    "token not yet valid");
}

static void rejects_iat_in_the_future(void **state)
{
    fixture *f = *state;
    add_key(f, SSE_JWT_HS256, NULL);
    assert_rejected(f, hs256(f->p, payload_with(f->p, apr_psprintf(f->p, "\"iat\":%d",
                                                                    NOW_S + 1))),
                    "issued in the future");
    assert_verifies(f, hs256(f->p, payload_with(f->p, apr_psprintf(f->p, "\"iat\":%d",
                                                                    NOW_S - 100))));
}

static void honours_leeway_for_iat(void **state)
{
    fixture *f = *state;
    add_key(f, SSE_JWT_HS256, NULL);
    f->policy.leeway = apr_time_from_sec(30);
    assert_verifies(f, hs256(f->p, payload_with(f->p, apr_psprintf(f->p, "\"iat\":%d",
                                                                    NOW_S + 30))));
    assert_rejected(f, hs256(f->p, payload_with(f->p, apr_psprintf(f->p, "\"iat\":%d",
                                                                    NOW_S + 31))),
                    "issued in the future");
}

static void accepts_fractional_numeric_dates(void **state)
{
    fixture *f = *state;
    add_key(f, SSE_JWT_HS256, NULL);
    assert_verifies(f, hs256(f->p, apr_psprintf(f->p, "{\"exp\":%d.5,\"iat\":%d.25,\"nbf\":%d.75}",
                                                NOW_S, NOW_S - 1, NOW_S - 1)));
    assert_int_equal(f->claims.exp, NOW_S);
    assert_verifies(f, hs256(f->p, "{\"exp\":1.7000006e9}"));
    assert_int_equal(f->claims.exp, NOW_S + 600);
    assert_rejected(f, hs256(f->p, apr_psprintf(f->p, "{\"exp\":%d.999}", NOW_S - 1)),
                    "token expired");
    assert_rejected(f, hs256(f->p, payload_with(f->p, apr_psprintf(f->p, "\"nbf\":%d.5",
                                                                    NOW_S))),
                    "token not yet valid");
}

static void rejects_missing_exp(void **state)
{
    fixture *f = *state;
    add_key(f, SSE_JWT_HS256, NULL);
    assert_rejected(f, hs256(f->p, "{\"sub\":\"alice\"}"), "missing exp");
    assert_rejected(f, hs256(f->p, "{}"), "missing exp");
}

static void rejects_non_numeric_dates(void **state)
{
    fixture *f = *state;
    add_key(f, SSE_JWT_HS256, NULL);
    assert_rejected(f, hs256(f->p, "{\"exp\":\"1700000600\"}"), "invalid exp");
    assert_rejected(f, hs256(f->p, "{\"exp\":null}"), "invalid exp");
    assert_rejected(f, hs256(f->p, "{\"exp\":true}"), "invalid exp");
    assert_rejected(f, hs256(f->p, "{\"exp\":[1700000600]}"), "invalid exp");
    assert_rejected(f, hs256(f->p, payload_with(f->p, "\"nbf\":\"0\"")), "invalid nbf");
    assert_rejected(f, hs256(f->p, payload_with(f->p, "\"iat\":false")), "invalid iat");
}

static void survives_extreme_numeric_dates(void **state)
{
    fixture *f = *state;
    add_key(f, SSE_JWT_HS256, NULL);
    f->policy.leeway = apr_time_from_sec(30);
    assert_verifies(f, hs256(f->p, "{\"exp\":9223372036854775807}"));
    assert_true(f->claims.exp > NOW_S);
    assert_verifies(f, hs256(f->p, "{\"exp\":1e300}"));
    assert_rejected(f, hs256(f->p, "{\"exp\":-9223372036854775808}"), "token expired");
    assert_rejected(f, hs256(f->p, "{\"exp\":-1e300}"), "token expired");
    assert_rejected(f, hs256(f->p, payload_with(f->p, "\"nbf\":9223372036854775807")),
                    "token not yet valid");
    /* Larger than int64 or double: jansson refuses to parse it. */
    assert_rejected(f, hs256(f->p, "{\"exp\":99999999999999999999}"), "malformed token");
    assert_rejected(f, hs256(f->p, "{\"exp\":1e999}"), "malformed token");
}

static void checks_issuer_exactly(void **state)
{
    fixture *f = *state;
    add_key(f, SSE_JWT_HS256, NULL);
    f->policy.issuer = "https://issuer.example";
    assert_verifies(f, hs256(f->p, payload_with(f->p, "\"iss\":\"https://issuer.example\"")));
    assert_rejected(f, hs256(f->p, payload_with(f->p, "\"iss\":\"https://issuer.example/\"")),
                    "wrong issuer");
    assert_rejected(f, hs256(f->p, payload_with(f->p, "\"iss\":\"HTTPS://issuer.example\"")),
                    "wrong issuer");
    assert_rejected(f, hs256(f->p, payload_with(f->p, "\"iss\":[\"https://issuer.example\"]")),
                    "wrong issuer");
    assert_rejected(f, hs256(f->p, payload_with(f->p, "")), "wrong issuer");
}

static void checks_audience_string_or_array(void **state)
{
    fixture *f = *state;
    add_key(f, SSE_JWT_HS256, NULL);
    f->policy.audience = "meetings-api";
    assert_verifies(f, hs256(f->p, payload_with(f->p, "\"aud\":\"meetings-api\"")));
    assert_verifies(f, hs256(f->p, payload_with(f->p, "\"aud\":[\"other\",\"meetings-api\"]")));
    assert_rejected(f, hs256(f->p, payload_with(f->p, "\"aud\":\"other-api\"")),
                    "wrong audience");
    assert_rejected(f, hs256(f->p, payload_with(f->p, "\"aud\":[\"other\",\"more\"]")),
                    "wrong audience");
    assert_rejected(f, hs256(f->p, payload_with(f->p, "\"aud\":[]")), "wrong audience");
    assert_rejected(f, hs256(f->p, payload_with(f->p, "")), "wrong audience");
}

static void rejects_audience_of_other_types(void **state)
{
    fixture *f = *state;
    add_key(f, SSE_JWT_HS256, NULL);
    f->policy.audience = "42";
    assert_rejected(f, hs256(f->p, payload_with(f->p, "\"aud\":42")), "wrong audience");
    assert_rejected(f, hs256(f->p, payload_with(f->p, "\"aud\":[42]")), "wrong audience");
    assert_rejected(f, hs256(f->p, payload_with(f->p, "\"aud\":{\"42\":true}")),
                    "wrong audience");
    assert_rejected(f, hs256(f->p, payload_with(f->p, "\"aud\":null")), "wrong audience");
    assert_rejected(f, hs256(f->p, payload_with(f->p, "\"aud\":[[\"42\"]]")), "wrong audience");
}

static void ignores_iss_when_not_configured(void **state)
{
    fixture *f = *state;
    add_key(f, SSE_JWT_HS256, NULL);
    assert_verifies(f, hs256(f->p, payload_with(f->p, "\"iss\":\"x\"")));
}

static void refuses_any_aud_when_no_audience_is_configured(void **state)
{
    /* RFC 7519 4.1.3: a token meant for some audience is not for us when
     * we are none, whatever the type or value of its aud. */
    fixture *f = *state;
    const char *auds[] = { "\"meetings-api\"", "[\"meetings-api\"]", "[]", "\"\"", "17",
                           "null", "{}" };
    size_t i;

    add_key(f, SSE_JWT_HS256, NULL);
    for (i = 0; i < sizeof(auds) / sizeof(auds[0]); i++) {
        const char *payload = payload_with(f->p, apr_pstrcat(f->p, "\"aud\":", auds[i], NULL));
        assert_rejected(f, hs256(f->p, payload), "unexpected audience");
        assert_string_equal(sse_jwt_verify(f->p, f->keys, NULL, hs256(f->p, payload), NOW,
                                           &f->claims), "unexpected audience");
    }
    assert_verifies(f, hs256(f->p, valid_payload(f->p)));
}

static void checks_claims_only_after_the_signature(void **state)
{
    /* An expired token with a bad signature is a signature failure. */
    fixture *f = *state;
    const char *in = signing_input(f->p, "{\"alg\":\"HS256\"}", "{\"exp\":1}");
    add_key(f, SSE_JWT_HS256, NULL);
    assert_rejected(f, apr_pstrcat(f->p, in, ".", b64(f->p, hs_secret, 32), NULL),
                    "signature mismatch");
    assert_rejected(f, apr_pstrcat(f->p, signing_input(f->p, "{\"alg\":\"HS256\"}", "not json"),
                                   ".", b64(f->p, hs_secret, 32), NULL),
                    "signature mismatch");
}

static void exposes_string_and_integer_claims(void **state)
{
    fixture *f = *state;
    add_key(f, SSE_JWT_HS256, NULL);
    assert_verifies(f, hs256(f->p, payload_with(f->p,
        "\"sub\":\"user-1\",\"uid\":42,\"neg\":-7,\"ratio\":0.5,\"admin\":true,"
        "\"roles\":[\"a\"],\"obj\":{\"sub\":\"inner\"},\"nothing\":null,"
        "\"name\":\"Zo\\u00eb \\\"Z\\\"\"")));
    assert_string_equal(claim_text(f, "sub"), "user-1");
    assert_string_equal(claim_text(f, "uid"), "42");
    assert_string_equal(claim_text(f, "neg"), "-7");
    assert_string_equal(claim_text(f, "exp"),
                        apr_psprintf(f->p, "%d", NOW_S + 600));
    assert_string_equal(claim_text(f, "name"), "Zo\xc3\xab \"Z\"");
    assert_null(claim_text(f, "ratio"));
    assert_null(claim_text(f, "admin"));
    assert_null(claim_text(f, "roles"));
    assert_null(claim_text(f, "obj"));
    assert_null(claim_text(f, "nothing"));
}

static void keeps_claim_names_exactly_as_sent(void **state)
{
    /* JSON names are case-sensitive: "SUB" is another claim, never "sub". */
    fixture *f = *state;
    add_key(f, SSE_JWT_HS256, NULL);
    assert_verifies(f, hs256(f->p, payload_with(f->p,
        "\"sub\":\"alice\",\"SUB\":\"mallory\",\"Sub\":\"eve\",\"iss\":\"x\"")));
    assert_string_equal(claim_text(f, "sub"), "alice");
    assert_string_equal(claim_text(f, "SUB"), "mallory");
    assert_string_equal(claim_text(f, "Sub"), "eve");
    assert_null(claim_text(f, "sUb"));
    assert_string_equal(claim_text(f, "iss"), "x");

    assert_verifies(f, hs256(f->p, payload_with(f->p, "\"SUB\":\"mallory\",\"Sub\":\"eve\"")));
    assert_null(sse_jwt_claim_get(&f->claims, "sub"));
    assert_null(sse_jwt_claim_get(&f->claims, "sub "));
    assert_null(sse_jwt_claim_get(&f->claims, ""));
}

static void types_claims_as_string_or_integer(void **state)
{
    fixture *f = *state;
    const sse_jwt_claim *c;

    add_key(f, SSE_JWT_HS256, NULL);
    assert_verifies(f, hs256(f->p, payload_with(f->p,
        "\"s\":\"12345\",\"i\":12345,\"big\":9007199254740993,\"empty\":\"\","
        "\"f\":12345.0,\"t\":true")));
    c = sse_jwt_claim_get(&f->claims, "s");
    assert_non_null(c);
    assert_int_equal(c->type, SSE_JWT_CLAIM_STRING);
    assert_int_equal(c->len, 5);
    assert_string_equal(c->str, "12345");
    c = sse_jwt_claim_get(&f->claims, "i");
    assert_non_null(c);
    assert_int_equal(c->type, SSE_JWT_CLAIM_INTEGER);
    assert_int_equal(c->integer, 12345);
    c = sse_jwt_claim_get(&f->claims, "big");
    assert_int_equal(c->type, SSE_JWT_CLAIM_INTEGER);
    assert_true(c->integer == (apr_int64_t)9007199254740993LL);
    c = sse_jwt_claim_get(&f->claims, "empty");
    assert_int_equal(c->type, SSE_JWT_CLAIM_STRING);
    assert_int_equal(c->len, 0);
    assert_null(sse_jwt_claim_get(&f->claims, "f"));
    assert_null(sse_jwt_claim_get(&f->claims, "t"));
    /* A NUL inside a claim would let "a\0b" pass for "a": such a payload
     * does not parse at all. */
    assert_rejected(f, hs256(f->p, payload_with(f->p, "\"sub\":\"a\\u0000b\"")),
                    "malformed token");
}

static const char *typ_token(apr_pool_t *p, const char *typ_json)
{
    return token_hp(p, SSE_JWT_HS256,
                    typ_json ? apr_psprintf(p, "{\"alg\":\"HS256\",\"typ\":%s}", typ_json)
                             : "{\"alg\":\"HS256\"}",
                    valid_payload(p));
}

static void requires_the_configured_typ(void **state)
{
    /* RFC 8725 3.11 and RFC 7515 4.1.9: media types compare without regard
     * to case, and "application/" may be left out on either side. */
    fixture *f = *state;
    const char *good[] = { "\"at+jwt\"", "\"AT+JWT\"", "\"application/at+jwt\"",
                           "\"Application/At+Jwt\"" };
    const char *bad[] = { "\"JWT\"", "\"at+jwt \"", "\"\"", "\"application/\"",
                          "\"text/at+jwt\"", "42", "[\"at+jwt\"]", "null" };
    size_t i;

    add_key(f, SSE_JWT_HS256, NULL);
    assert_verifies(f, typ_token(f->p, "\"anything\""));
    assert_verifies(f, typ_token(f->p, NULL));
    f->policy.type = "at+jwt";
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_verifies(f, typ_token(f->p, good[i]));
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_rejected(f, typ_token(f->p, bad[i]), "wrong token type");
    assert_rejected(f, typ_token(f->p, NULL), "wrong token type");
    f->policy.type = "application/at+jwt";
    assert_verifies(f, typ_token(f->p, "\"at+jwt\""));
    assert_rejected(f, typ_token(f->p, "\"jwt\""), "wrong token type");
}

static void rejects_token_when_no_keys_are_configured(void **state)
{
    fixture *f = *state;
    const char *token = hs256(f->p, valid_payload(f->p));
    assert_string_equal(sse_jwt_verify(f->p, NULL, &f->policy, token, NOW, &f->claims),
                        "no matching key");
    assert_string_equal(sse_jwt_verify(f->p, f->keys, &f->policy, NULL, NOW, &f->claims),
                        "malformed token");
}

static void works_without_a_policy(void **state)
{
    fixture *f = *state;
    add_key(f, SSE_JWT_HS256, NULL);
    assert_null(sse_jwt_verify(f->p, f->keys, NULL, hs256(f->p, valid_payload(f->p)), NOW,
                               &f->claims));
}

/* ---- configuration-time key loading ---- */

static void rejects_short_hmac_secret(void **state)
{
    fixture *f = *state;
    sse_jwt_key *key = NULL;
    assert_string_equal(sse_jwt_key_from_bytes(f->p, SSE_JWT_HS256, NULL,
                                               (const unsigned char *)"twelve bytes", 12, &key),
                        "HS256 secret is 12 bytes; at least 32 required");
    assert_string_equal(sse_jwt_key_from_bytes(f->p, SSE_JWT_HS384, NULL, hs_secret, 47, &key),
                        "HS384 secret is 47 bytes; at least 48 required");
    assert_string_equal(sse_jwt_key_from_bytes(f->p, SSE_JWT_HS512, NULL, hs_secret, 32, &key),
                        "HS512 secret is 32 bytes; at least 64 required");
    assert_null(key);
    assert_null(sse_jwt_key_from_bytes(f->p, SSE_JWT_HS256, NULL, hs_secret, 32, &key));
}

static void rejects_1024_bit_rsa_key(void **state)
{
    fixture *f = *state;
    const char *pem = public_pem(f->p, rsa1024);
    sse_jwt_key *key = NULL;
    assert_string_equal(sse_jwt_key_from_bytes(f->p, SSE_JWT_RS256, NULL,
                                               (const unsigned char *)pem, strlen(pem), &key),
                        "RSA key is 1024 bits; at least 2048 required");
    assert_string_equal(sse_jwt_key_from_bytes(f->p, SSE_JWT_PS256, NULL,
                                               (const unsigned char *)pem, strlen(pem), &key),
                        "RSA key is 1024 bits; at least 2048 required");
    assert_null(key);
}

static const char *load_pem(fixture *f, sse_jwt_alg alg, EVP_PKEY *pkey)
{
    const char *pem = public_pem(f->p, pkey);
    sse_jwt_key *key = NULL;
    return sse_jwt_key_from_bytes(f->p, alg, NULL, (const unsigned char *)pem, strlen(pem), &key);
}

static void rejects_key_of_the_wrong_type(void **state)
{
    fixture *f = *state;
    assert_string_equal(load_pem(f, SSE_JWT_RS256, ec256), "key type does not match RS256");
    assert_string_equal(load_pem(f, SSE_JWT_PS384, ed25519), "key type does not match PS384");
    assert_string_equal(load_pem(f, SSE_JWT_ES256, rsa2048), "key type does not match ES256");
    assert_string_equal(load_pem(f, SSE_JWT_ES256, ed25519), "key type does not match ES256");
    assert_string_equal(load_pem(f, SSE_JWT_EDDSA, ec256), "key type does not match EdDSA");
}

static void accepts_rsa_pss_key_only_for_ps_algs(void **state)
{
    fixture *f = *state;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA-PSS", NULL);
    EVP_PKEY *pss = NULL;
    const char *pem, *in;
    sse_jwt_key *key = NULL;

    assert_non_null(ctx);
    assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
    assert_true(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048) > 0);
    assert_int_equal(EVP_PKEY_generate(ctx, &pss), 1);
    EVP_PKEY_CTX_free(ctx);
    assert_non_null(pss);
    pem = public_pem(f->p, pss);
    assert_string_equal(sse_jwt_key_from_bytes(f->p, SSE_JWT_RS256, NULL,
                                               (const unsigned char *)pem, strlen(pem), &key),
                        "key type does not match RS256");
    assert_null(sse_jwt_key_from_bytes(f->p, SSE_JWT_PS384, NULL,
                                       (const unsigned char *)pem, strlen(pem), &key));
    APR_ARRAY_PUSH(f->keys, sse_jwt_key *) = key;
    in = signing_input(f->p, "{\"alg\":\"PS384\"}", valid_payload(f->p));
    assert_verifies(f, apr_pstrcat(f->p, in, ".",
                                   sign_with(f->p, SSE_JWT_PS384, pss, NULL, 0, in, -1), NULL));
    EVP_PKEY_free(pss);
}

static void rejects_ec_key_on_the_wrong_curve(void **state)
{
    fixture *f = *state;
    assert_string_equal(load_pem(f, SSE_JWT_ES384, ec256), "ES384 needs a P-384 key");
    assert_string_equal(load_pem(f, SSE_JWT_ES256, ec384), "ES256 needs a P-256 key");
    assert_string_equal(load_pem(f, SSE_JWT_ES512, ec384), "ES512 needs a P-521 key");
    assert_null(load_pem(f, SSE_JWT_ES512, ec521));
}

static void rejects_pem_that_is_not_a_public_key(void **state)
{
    fixture *f = *state;
    BIO *bio = BIO_new(BIO_s_mem());
    char *data;
    long len;
    sse_jwt_key *key = NULL;
    const char *err;

    assert_int_equal(PEM_write_bio_PrivateKey(bio, ec256, NULL, NULL, 0, NULL, NULL), 1);
    len = BIO_get_mem_data(bio, &data);
    err = sse_jwt_key_from_bytes(f->p, SSE_JWT_ES256, NULL, (unsigned char *)data,
                                 (apr_size_t)len, &key);
    BIO_free(bio);
    assert_string_equal(err, "ES256 key is not a PEM public key (-----BEGIN PUBLIC KEY-----)");
    assert_non_null(sse_jwt_key_from_bytes(f->p, SSE_JWT_RS256, NULL,
                                           (const unsigned char *)"garbage", 7, &key));
    assert_null(key);
}

static void loads_pem_key_from_file_with_kid(void **state)
{
    fixture *f = *state;
    const char *pem = public_pem(f->p, ec384);
    const char *path = write_file(f->p, "es384.pem", pem, strlen(pem));
    sse_jwt_key *key = NULL;

    assert_null(sse_jwt_key_load(f->p, "ES384", apr_pstrcat(f->p, "file:", path, NULL),
                                 "k384", &key));
    assert_int_equal(sse_jwt_key_alg(key), SSE_JWT_ES384);
    assert_string_equal(sse_jwt_key_kid(key), "k384");
    APR_ARRAY_PUSH(f->keys, sse_jwt_key *) = key;
    assert_verifies(f, token_hp(f->p, SSE_JWT_ES384, "{\"alg\":\"ES384\",\"kid\":\"k384\"}",
                                valid_payload(f->p)));
}

static void loads_hmac_secret_from_file_dropping_one_newline(void **state)
{
    fixture *f = *state;
    char buf[sizeof(hs_secret) + 2];
    const char *path;
    sse_jwt_key *key = NULL;

    memcpy(buf, hs_secret, sizeof(hs_secret));
    buf[sizeof(hs_secret)] = '\n';
    path = write_file(f->p, "hs.secret", buf, sizeof(hs_secret) + 1);
    assert_null(sse_jwt_key_load(f->p, "HS256", apr_pstrcat(f->p, "file:", path, NULL),
                                 NULL, &key));
    assert_null(sse_jwt_key_kid(key));
    APR_ARRAY_PUSH(f->keys, sse_jwt_key *) = key;
    assert_verifies(f, hs256(f->p, valid_payload(f->p)));

    /* Only one newline is dropped: a second one is part of the secret. */
    buf[sizeof(hs_secret) + 1] = '\n';
    path = write_file(f->p, "hs2.secret", buf, sizeof(hs_secret) + 2);
    f->keys->nelts = 0;
    assert_null(sse_jwt_key_load(f->p, "HS256", apr_pstrcat(f->p, "file:", path, NULL),
                                 NULL, &key));
    APR_ARRAY_PUSH(f->keys, sse_jwt_key *) = key;
    assert_rejected(f, hs256(f->p, valid_payload(f->p)), "signature mismatch");
}

static void loads_hmac_secret_from_env(void **state)
{
    fixture *f = *state;
    sse_jwt_key *key = NULL;
    char value[sizeof(hs_secret) + 1];

    memcpy(value, hs_secret, sizeof(hs_secret));
    value[sizeof(hs_secret)] = '\0';
    setenv("SSE_TEST_JWT_SECRET", value, 1);
    assert_null(sse_jwt_key_load(f->p, "HS512", "env:SSE_TEST_JWT_SECRET", "env-kid", &key));
    unsetenv("SSE_TEST_JWT_SECRET");
    APR_ARRAY_PUSH(f->keys, sse_jwt_key *) = key;
    assert_verifies(f, token_hp(f->p, SSE_JWT_HS512, "{\"alg\":\"HS512\",\"kid\":\"env-kid\"}",
                                valid_payload(f->p)));
}

static void rejects_unreadable_key_file(void **state)
{
    fixture *f = *state;
    sse_jwt_key *key = NULL;
    const char *err = sse_jwt_key_load(f->p, "RS256", "file:/nonexistent/jwt.pem", NULL, &key);
    assert_non_null(err);
    assert_string_equal(err, "cannot read /nonexistent/jwt.pem: No such file or directory");
    err = sse_jwt_key_load(f->p, "RS256", apr_pstrcat(f->p, "file:", tmpdir, NULL), NULL, &key);
    assert_non_null(err);
    assert_non_null(strstr(err, "not a regular file"));
    assert_null(key);
}

static void rejects_missing_env_var(void **state)
{
    fixture *f = *state;
    sse_jwt_key *key = NULL;
    unsetenv("SSE_TEST_NOT_SET");
    assert_string_equal(sse_jwt_key_load(f->p, "HS256", "env:SSE_TEST_NOT_SET", NULL, &key),
                        "environment variable SSE_TEST_NOT_SET is not set");
    assert_null(key);
}

static void rejects_bad_key_source_and_alg(void **state)
{
    fixture *f = *state;
    sse_jwt_key *key = NULL;
    const char *err;

    assert_string_equal(sse_jwt_key_load(f->p, "HS256", "/etc/secret", NULL, &key),
                        "key source must be file:/path or env:NAME");
    assert_string_equal(sse_jwt_key_load(f->p, "HS256", "file:", NULL, &key),
                        "key source must be file:/path or env:NAME");
    err = sse_jwt_key_load(f->p, "hs256", "env:HOME", NULL, &key);
    assert_non_null(err);
    assert_non_null(strstr(err, "unknown JWT algorithm 'hs256'"));
    assert_non_null(sse_jwt_key_load(f->p, "none", "env:HOME", NULL, &key));
    assert_null(key);
}

/* ---- JWK Sets ---- */

static const char *jwks_error(fixture *f, const char *json)
{
    const char *path = write_file(f->p, "bad-jwks.json", json, strlen(json));
    const char *err = sse_jwt_jwks_load(f->p, path, f->keys);
    assert_non_null(err);
    return err;
}

/* Like jwks_error, for a set that may load: NULL when it did. */
static const char *jwks_result(fixture *f, const char *json)
{
    const char *path = write_file(f->p, "some-jwks.json", json, strlen(json));
    return sse_jwt_jwks_load(f->p, path, f->keys);
}

static void assert_contains(const char *haystack, const char *needle)
{
    if (haystack == NULL)
        fail_msg("expected an error containing \"%s\", got none", needle);
    if (strstr(haystack, needle) == NULL)
        fail_msg("\"%s\" does not contain \"%s\"", haystack, needle);
}

static void rejects_jwk_without_kid_or_alg(void **state)
{
    fixture *f = *state;
    assert_contains(jwks_error(f, "{\"keys\":[{\"kty\":\"oct\",\"alg\":\"HS256\","
                                  "\"k\":\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY\"}]}"),
                    "key 0: missing kid");
    assert_contains(jwks_error(f, "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"k1\","
                                  "\"k\":\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY\"}]}"),
                    "key 0 (kid k1): missing alg");
}

static void rejects_jwk_with_the_wrong_kty(void **state)
{
    fixture *f = *state;
    assert_contains(jwks_error(f, "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"k\",\"alg\":\"ES256\","
                                  "\"n\":\"AQAB\",\"e\":\"AQAB\"}]}"),
                    "kty 'RSA' does not match ES256 (needs EC)");
    assert_contains(jwks_error(f, "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"k\",\"alg\":\"RS256\","
                                  "\"k\":\"AQAB\"}]}"),
                    "kty 'oct' does not match RS256 (needs RSA)");
    assert_contains(jwks_error(f, "{\"keys\":[{\"kty\":\"OKP\",\"kid\":\"k\",\"alg\":\"EdDSA\","
                                  "\"crv\":\"X25519\",\"x\":\"AQAB\"}]}"),
                    "EdDSA needs an Ed25519 key");
    assert_contains(jwks_error(f, "{\"keys\":[{\"kid\":\"k\",\"alg\":\"HS256\"}]}"),
                    "missing kty");
}

static void rejects_weak_or_broken_jwks(void **state)
{
    fixture *f = *state;
    /* 16-byte oct key for HS256 */
    assert_contains(jwks_error(f, "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"k\",\"alg\":\"HS256\","
                                  "\"k\":\"MDEyMzQ1Njc4OWFiY2RlZg\"}]}"),
                    "HS256 secret is 16 bytes; at least 32 required");
    /* P-384 coordinates under ES256 */
    assert_contains(jwks_error(f, "{\"keys\":[{\"kty\":\"EC\",\"kid\":\"k\",\"alg\":\"ES256\","
                                  "\"crv\":\"P-384\",\"x\":\"AA\",\"y\":\"AA\"}]}"),
                    "ES256 needs a P-256 key");
    /* A point that is not on P-256 (y changed). */
    assert_contains(jwks_error(f, "{\"keys\":[{\"kty\":\"EC\",\"kid\":\"k\",\"alg\":\"ES256\","
                                  "\"crv\":\"P-256\","
                                  "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
                                  "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5b0\"}]}"),
                    "invalid EC key");
    /* Padded base64 in k */
    assert_contains(jwks_error(f, "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"k\",\"alg\":\"HS256\","
                                  "\"k\":\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\"}]}"),
                    "oct key needs a base64url k");
    /* Small RSA modulus (RFC 7517 A.1's e as n) */
    assert_contains(jwks_error(f, "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"k\",\"alg\":\"RS256\","
                                  "\"n\":\"AQAB\",\"e\":\"AQAB\"}]}"),
                    "RSA key is");
    assert_contains(jwks_error(f, "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"k\",\"alg\":\"A128KW\","
                                  "\"k\":\"AQAB\"}]}"),
                    "unsupported alg 'A128KW'");
    assert_contains(jwks_error(f, "{\"keys\":{}}"), "not a JWK Set");
    assert_contains(jwks_error(f, "[]"), "not a JWK Set");
    assert_contains(jwks_error(f, "{\"keys\":[],\"keys\":[]}"), "invalid JSON");
    assert_contains(jwks_error(f, "{\"keys\":[]}"), "no signing keys");
    assert_contains(jwks_error(f, "{\"keys\":[\"k\"]}"), "key 0: not an object");
    assert_contains(sse_jwt_jwks_load(f->p, "/nonexistent/jwks.json", f->keys),
                    "cannot read /nonexistent/jwks.json: No such file or directory");
}

static char *jwk_coord(apr_pool_t *p, EVP_PKEY *pkey, const char *param)
{
    BIGNUM *bn = NULL;
    unsigned char buf[1024];
    int len;
    assert_int_equal(EVP_PKEY_get_bn_param(pkey, param, &bn), 1);
    len = BN_bn2bin(bn, buf);
    BN_free(bn);
    return (char *)b64(p, buf, (size_t)len);
}

static char *jwk_ec_coord(apr_pool_t *p, EVP_PKEY *pkey, const char *param, int size)
{
    BIGNUM *bn = NULL;
    unsigned char buf[80];
    assert_int_equal(EVP_PKEY_get_bn_param(pkey, param, &bn), 1);
    assert_int_equal(BN_bn2binpad(bn, buf, size), size);
    BN_free(bn);
    return (char *)b64(p, buf, (size_t)size);
}

static void loads_every_kty_from_jwks_and_skips_encryption_keys(void **state)
{
    fixture *f = *state;
    unsigned char ed_pub[32];
    size_t ed_len = sizeof(ed_pub);
    const char *json;

    assert_int_equal(EVP_PKEY_get_raw_public_key(ed25519, ed_pub, &ed_len), 1);
    json = apr_psprintf(f->p,
        "{\"keys\":["
        "{\"kty\":\"oct\",\"kid\":\"h\",\"alg\":\"HS384\",\"use\":\"sig\",\"k\":\"%s\"},"
        "{\"kty\":\"RSA\",\"kid\":\"r\",\"alg\":\"PS512\",\"n\":\"%s\",\"e\":\"%s\"},"
        "{\"kty\":\"EC\",\"kid\":\"e\",\"alg\":\"ES512\",\"crv\":\"P-521\",\"x\":\"%s\",\"y\":\"%s\"},"
        "{\"kty\":\"OKP\",\"kid\":\"o\",\"alg\":\"EdDSA\",\"crv\":\"Ed25519\",\"x\":\"%s\"},"
        "{\"kty\":\"RSA\",\"kid\":\"enc\",\"alg\":\"RSA-OAEP\",\"use\":\"enc\",\"n\":\"AQAB\",\"e\":\"AQAB\"}"
        "]}",
        b64(f->p, hs_secret, sizeof(hs_secret)),
        jwk_coord(f->p, rsa2048, OSSL_PKEY_PARAM_RSA_N),
        jwk_coord(f->p, rsa2048, OSSL_PKEY_PARAM_RSA_E),
        jwk_ec_coord(f->p, ec521, OSSL_PKEY_PARAM_EC_PUB_X, 66),
        jwk_ec_coord(f->p, ec521, OSSL_PKEY_PARAM_EC_PUB_Y, 66),
        b64(f->p, ed_pub, ed_len));
    add_jwks(f, json);
    assert_int_equal(f->keys->nelts, 4);

    assert_verifies(f, token_hp(f->p, SSE_JWT_HS384, "{\"alg\":\"HS384\",\"kid\":\"h\"}",
                                valid_payload(f->p)));
    assert_verifies(f, token_hp(f->p, SSE_JWT_PS512, "{\"alg\":\"PS512\",\"kid\":\"r\"}",
                                valid_payload(f->p)));
    assert_verifies(f, token_hp(f->p, SSE_JWT_ES512, "{\"alg\":\"ES512\",\"kid\":\"e\"}",
                                valid_payload(f->p)));
    assert_verifies(f, token_hp(f->p, SSE_JWT_EDDSA, "{\"alg\":\"EdDSA\",\"kid\":\"o\"}",
                                valid_payload(f->p)));
    /* The key with kid "h" is HS384: an HS384 token naming kid "r" finds nothing. */
    assert_rejected(f, token_hp(f->p, SSE_JWT_HS384, "{\"alg\":\"HS384\",\"kid\":\"r\"}",
                                valid_payload(f->p)), "no matching key");
}

/* ---- keys that cannot be safe keys (issue 11) ---- */

static EVP_PKEY *rsa_with(const BIGNUM *n, const BIGNUM *e)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *pkey = NULL;

    assert_non_null(bld);
    assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n), 1);
    assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e), 1);
    params = OSSL_PARAM_BLD_to_param(bld);
    assert_non_null(params);
    assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
    assert_int_equal(EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params), 1);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

static const char *bn_b64(apr_pool_t *p, const BIGNUM *bn)
{
    unsigned char buf[1024];
    int len = BN_bn2bin(bn, buf);
    return b64(p, buf, (size_t)(len > 0 ? len : 0));
}

static const char *rsa_jwks(apr_pool_t *p, const BIGNUM *n, const BIGNUM *e)
{
    return apr_psprintf(p, "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"r\",\"alg\":\"RS256\","
                           "\"n\":\"%s\",\"e\":\"%s\"}]}", bn_b64(p, n), bn_b64(p, e));
}

static void refuses_rsa_keys_with_a_bad_exponent_or_modulus(void **state)
{
    fixture *f = *state;
    const unsigned long bad_e[] = { 1, 2, 4, 65536, 65538 };
    const unsigned long good_e[] = { 3, 17, 65537 };
    BIGNUM *n = NULL, *even_n, *e = BN_new();
    EVP_PKEY *pkey;
    size_t i;

    assert_int_equal(EVP_PKEY_get_bn_param(rsa2048, OSSL_PKEY_PARAM_RSA_N, &n), 1);
    for (i = 0; i < sizeof(bad_e) / sizeof(bad_e[0]); i++) {
        const char *want = apr_psprintf(f->p, "RSA public exponent %lu is refused", bad_e[i]);
        assert_int_equal(BN_set_word(e, bad_e[i]), 1);
        pkey = rsa_with(n, e);
        assert_contains(load_pem(f, SSE_JWT_RS256, pkey), want);
        assert_contains(load_pem(f, SSE_JWT_PS512, pkey), want);
        EVP_PKEY_free(pkey);
        assert_contains(jwks_error(f, rsa_jwks(f->p, n, e)), want);
    }
    for (i = 0; i < sizeof(good_e) / sizeof(good_e[0]); i++) {
        assert_int_equal(BN_set_word(e, good_e[i]), 1);
        pkey = rsa_with(n, e);
        assert_null(load_pem(f, SSE_JWT_RS256, pkey));
        EVP_PKEY_free(pkey);
        assert_null(jwks_result(f, rsa_jwks(f->p, n, e)));
    }
    /* An even modulus of full size: no RSA key at all. */
    even_n = BN_dup(n);
    assert_int_equal(BN_add_word(even_n, 1), 1);
    assert_int_equal(BN_set_word(e, 65537), 1);
    pkey = rsa_with(even_n, e);
    assert_string_equal(load_pem(f, SSE_JWT_RS256, pkey),
                        "RSA modulus is even; not a usable RSA key");
    EVP_PKEY_free(pkey);
    assert_contains(jwks_error(f, rsa_jwks(f->p, even_n, e)), "RSA modulus is even");
    BN_free(even_n);
    BN_free(n);
    BN_free(e);
}

static void a_token_forged_for_e1_would_verify_so_the_key_is_refused(void **state)
{
    /* With e = 1 the "signature" is the EMSA-PKCS1-v1_5 block itself: no
     * private key involved. Shown to verify against such a key (so the test
     * could fail), and then that the key never loads. */
    static const unsigned char sha256_info[19] = {
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
        0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 };
    fixture *f = *state;
    BIGNUM *n = NULL, *e = BN_new();
    unsigned char em[256], hash[32];
    const char *in = signing_input(f->p, "{\"alg\":\"RS256\"}", valid_payload(f->p));
    sse_jwt_key forged_key;
    sse_jwt_key *loaded = NULL;
    EVP_PKEY *pkey;

    assert_int_equal(EVP_PKEY_get_bn_param(rsa2048, OSSL_PKEY_PARAM_RSA_N, &n), 1);
    assert_int_equal(BN_set_word(e, 1), 1);
    pkey = rsa_with(n, e);
    assert_int_equal(EVP_Digest(in, strlen(in), hash, NULL, EVP_sha256(), NULL), 1);
    memset(em, 0xff, sizeof(em));
    em[0] = 0x00;
    em[1] = 0x01;
    em[sizeof(em) - 32 - 19 - 1] = 0x00;
    memcpy(em + sizeof(em) - 32 - 19, sha256_info, 19);
    memcpy(em + sizeof(em) - 32, hash, 32);

    memset(&forged_key, 0, sizeof(forged_key));
    forged_key.alg = SSE_JWT_RS256;
    forged_key.pkey = pkey;
    assert_int_equal(sse_jwt_signature_ok(&forged_key, (const unsigned char *)in, strlen(in),
                                          em, sizeof(em)), 1);
    assert_contains(sse_jwt_key_from_pkey(f->p, SSE_JWT_RS256, NULL, pkey, &loaded),
                    "RSA public exponent 1 is refused");
    assert_null(loaded);
    BN_free(n);
    BN_free(e);
}

static void hex32(const char *hex, unsigned char out[32])
{
    size_t i;
    assert_int_equal(strlen(hex), 64);
    for (i = 0; i < 32; i++) {
        unsigned int byte;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &byte), 1);
        out[i] = (unsigned char)byte;
    }
}

static const char *ed25519_pem_error(fixture *f, const unsigned char raw[32])
{
    EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, 32);
    const char *err;
    assert_non_null(pkey);
    err = load_pem(f, SSE_JWT_EDDSA, pkey);
    EVP_PKEY_free(pkey);
    return err;
}

static const char *ed25519_jwk_error(fixture *f, const unsigned char raw[32])
{
    return jwks_error(f, apr_psprintf(f->p, "{\"keys\":[{\"kty\":\"OKP\",\"kid\":\"o\","
                                            "\"alg\":\"EdDSA\",\"crv\":\"Ed25519\",\"x\":\"%s\"}]}",
                                      b64(f->p, raw, 32)));
}

static void refuses_all_small_order_ed25519_points(void **state)
{
    /* The 8 points of order 1, 2, 4 and 8, canonically encoded. */
    static const char *small[8] = {
        "0100000000000000000000000000000000000000000000000000000000000000",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    };
    fixture *f = *state;
    unsigned char raw[32];
    size_t i;

    for (i = 0; i < 8; i++) {
        hex32(small[i], raw);
        assert_string_equal(sse_jwt_ed25519_check(raw, 32),
                            "Ed25519 key is a small-order point; it would accept forged signatures");
        assert_contains(ed25519_pem_error(f, raw), "small-order point");
        assert_contains(ed25519_jwk_error(f, raw), "small-order point");
    }
}

static void refuses_non_canonical_ed25519_encodings(void **state)
{
    /* y >= p (p, p + 1: other spellings of y = 0 and 1; p + 18 the largest),
     * with either sign; and x = 0 with the sign bit set. */
    static const char *odd[] = {
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "0100000000000000000000000000000000000000000000000000000000000080",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    };
    fixture *f = *state;
    unsigned char raw[32];
    size_t i;

    for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
        hex32(odd[i], raw);
        assert_contains(sse_jwt_ed25519_check(raw, 32), "not canonically encoded");
        assert_contains(ed25519_pem_error(f, raw), "not canonically encoded");
        assert_contains(ed25519_jwk_error(f, raw), "not canonically encoded");
    }
    /* y = p - 2 is canonical and of large order (or off the curve; either
     * way not one of the 8). */
    hex32("ebffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", raw);
    assert_null(sse_jwt_ed25519_check(raw, 32));
    assert_non_null(sse_jwt_ed25519_check(raw, 31));
}

static void accepts_generated_ed25519_keys(void **state)
{
    int i;
    (void)state;
    for (i = 0; i < 64; i++) {
        EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        unsigned char raw[32];
        size_t len = sizeof(raw);
        assert_non_null(k);
        assert_int_equal(EVP_PKEY_get_raw_public_key(k, raw, &len), 1);
        assert_null(sse_jwt_ed25519_check(raw, len));
        EVP_PKEY_free(k);
    }
}

static void an_identity_ed25519_key_would_accept_a_forgery(void **state)
{
    /* R = identity, S = 0: [S]B = R + [k]A holds for every message when A
     * is the identity. What the refusal above prevents. */
    fixture *f = *state;
    unsigned char identity[32] = { 0x01 }, sig[64];
    const char *in = signing_input(f->p, "{\"alg\":\"EdDSA\"}", valid_payload(f->p));
    sse_jwt_key key;

    memset(sig, 0, sizeof(sig));
    sig[0] = 0x01;
    memset(&key, 0, sizeof(key));
    key.alg = SSE_JWT_EDDSA;
    key.pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, identity, 32);
    assert_non_null(key.pkey);
    assert_int_equal(sse_jwt_signature_ok(&key, (const unsigned char *)in, strlen(in),
                                          sig, sizeof(sig)), 1);
    EVP_PKEY_free(key.pkey);
}

static void refuses_off_curve_points_on_every_curve(void **state)
{
    struct { sse_jwt_alg alg; EVP_PKEY **pkey; const char *crv; int size; } curves[] = {
        { SSE_JWT_ES256, &ec256, "P-256", 32 },
        { SSE_JWT_ES384, &ec384, "P-384", 48 },
        { SSE_JWT_ES512, &ec521, "P-521", 66 },
    };
    fixture *f = *state;
    size_t i;

    for (i = 0; i < 3; i++) {
        EVP_PKEY *pkey = *curves[i].pkey;
        const char *alg = sse_jwt_alg_name(curves[i].alg);
        char *x = jwk_ec_coord(f->p, pkey, OSSL_PKEY_PARAM_EC_PUB_X, curves[i].size);
        BIGNUM *ybn = NULL;
        unsigned char y[80], *der = NULL;
        int der_len;
        BIO *bio;
        char *pem;
        long pem_len;
        sse_jwt_key *key = NULL;
        const char *fmt = "{\"keys\":[{\"kty\":\"EC\",\"kid\":\"e\",\"alg\":\"%s\","
                          "\"crv\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"}]}";

        assert_int_equal(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &ybn), 1);
        assert_int_equal(BN_bn2binpad(ybn, y, curves[i].size), curves[i].size);
        BN_free(ybn);
        assert_null(jwks_result(f, apr_psprintf(f->p, fmt, alg, curves[i].crv, x,
                                               b64(f->p, y, (size_t)curves[i].size))));
        y[curves[i].size - 1] ^= 0x01;
        assert_contains(jwks_error(f, apr_psprintf(f->p, fmt, alg, curves[i].crv, x,
                                                   b64(f->p, y, (size_t)curves[i].size))),
                        "invalid EC key");

        /* The same change inside a PEM SubjectPublicKeyInfo (y ends it). */
        der_len = i2d_PUBKEY(pkey, &der);
        assert_true(der_len > 0);
        der[der_len - 1] ^= 0x01;
        bio = BIO_new(BIO_s_mem());
        assert_true(PEM_write_bio(bio, "PUBLIC KEY", "", der, der_len) > 0);
        pem_len = BIO_get_mem_data(bio, &pem);
        assert_non_null(sse_jwt_key_from_bytes(f->p, curves[i].alg, NULL,
                                               (unsigned char *)pem, (apr_size_t)pem_len, &key));
        assert_null(key);
        BIO_free(bio);
        OPENSSL_free(der);
    }
}

static const char *hmac_error(fixture *f, const void *bytes, size_t len)
{
    sse_jwt_key *key = NULL;
    const char *err = sse_jwt_key_from_bytes(f->p, SSE_JWT_HS256, NULL, bytes, len, &key);
    if (err != NULL)
        assert_null(key);
    return err;
}

static void refuses_public_keys_as_hmac_secrets_in_any_form(void **state)
{
    fixture *f = *state;
    const char *pem_rsa = public_pem(f->p, rsa2048);
    const char *pem_ec = apr_pstrcat(f->p, "\n  ", public_pem(f->p, ec256), NULL);
    const char *cert = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUJ...\n"
                       "-----END CERTIFICATE-----\n";
    const char *jwk = apr_psprintf(f->p, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}",
                                   jwk_coord(f->p, rsa2048, OSSL_PKEY_PARAM_RSA_N));
    const char *jwks = apr_psprintf(f->p, "{\"keys\":[%s]}", jwk);
    const char *ssh = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ1ZmZlciBvdmVyZmxvdyBzZWNyZXQ user@host";
    const char *ecdsa = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTY= x";
    const char *forms[] = { pem_rsa, pem_ec, cert, jwk, jwks, ssh, ecdsa };
    const char *ok_secrets[] = {
        "{not JSON at all, just a secret of forty-odd bytes}",
        "[\"a JSON array is no JWK, and this is long enough\"]",
        "random secret with -----BEGIN in the middle, 48 bytes",
    };
    unsigned char *der = NULL;
    int der_len;
    size_t i;
    const char *path, *jwks_oct;

    for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        assert_contains(hmac_error(f, forms[i], strlen(forms[i])),
                        "a public key is no HMAC secret");
        path = write_file(f->p, "pub-as-secret", forms[i], strlen(forms[i]));
        assert_contains(sse_jwt_key_load(f->p, "HS512", apr_pstrcat(f->p, "file:", path, NULL),
                                         NULL, &(sse_jwt_key *){ NULL }),
                        "HS512 secret is");
        setenv("SSE_TEST_PUB_AS_SECRET", forms[i], 1);
        assert_contains(sse_jwt_key_load(f->p, "HS384", "env:SSE_TEST_PUB_AS_SECRET",
                                         NULL, &(sse_jwt_key *){ NULL }),
                        "a public key is no HMAC secret");
        jwks_oct = apr_psprintf(f->p, "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"h\","
                                      "\"alg\":\"HS256\",\"k\":\"%s\"}]}",
                                b64(f->p, forms[i], strlen(forms[i])));
        assert_contains(jwks_error(f, jwks_oct), "a public key is no HMAC secret");
    }
    unsetenv("SSE_TEST_PUB_AS_SECRET");
    assert_contains(hmac_error(f, pem_rsa, strlen(pem_rsa)), "a PEM block");
    assert_contains(hmac_error(f, jwk, strlen(jwk)), "a JSON object");

    der_len = i2d_PUBKEY(rsa2048, &der);
    assert_true(der_len > 0);
    assert_contains(hmac_error(f, der, (size_t)der_len), "a DER public key");
    OPENSSL_free(der);
    der = NULL;
    der_len = i2d_PUBKEY(ec521, &der);
    assert_contains(hmac_error(f, der, (size_t)der_len), "a DER public key");
    OPENSSL_free(der);

    for (i = 0; i < sizeof(ok_secrets) / sizeof(ok_secrets[0]); i++)
        assert_null(hmac_error(f, ok_secrets[i], strlen(ok_secrets[i])));
    assert_null(hmac_error(f, hs_secret, sizeof(hs_secret)));
}

/* Every reason the verifier documents has the kind the metrics count it
 * under; a reason it does not know is "other", never a guess. */
static void every_reason_has_its_failure_kind(void **state)
{
    static const struct { const char *reason; sse_jwt_failure kind; } cases[] = {
        { "malformed token", SSE_JWT_FAIL_MALFORMED },
        { "token too large", SSE_JWT_FAIL_MALFORMED },
        { "missing exp", SSE_JWT_FAIL_MALFORMED },
        { "invalid exp", SSE_JWT_FAIL_MALFORMED },
        { "invalid nbf", SSE_JWT_FAIL_MALFORMED },
        { "invalid iat", SSE_JWT_FAIL_MALFORMED },
        { "no matching key", SSE_JWT_FAIL_UNKNOWN_KEY },
        { "signature mismatch", SSE_JWT_FAIL_BAD_SIGNATURE },
        { "token expired", SSE_JWT_FAIL_EXPIRED },
        { "token not yet valid", SSE_JWT_FAIL_NOT_YET_VALID },
        { "issued in the future", SSE_JWT_FAIL_NOT_YET_VALID },
        { "wrong issuer", SSE_JWT_FAIL_WRONG_ISSUER },
        { "wrong audience", SSE_JWT_FAIL_WRONG_AUDIENCE },
        { "unexpected audience", SSE_JWT_FAIL_WRONG_AUDIENCE },
        { "unsupported algorithm", SSE_JWT_FAIL_UNSUPPORTED },
        { "unsupported critical header", SSE_JWT_FAIL_UNSUPPORTED },
        { "nested token not supported", SSE_JWT_FAIL_UNSUPPORTED },
        { "wrong token type", SSE_JWT_FAIL_OTHER },
        { "token expired!", SSE_JWT_FAIL_OTHER },
        { "", SSE_JWT_FAIL_OTHER },
        { NULL, SSE_JWT_FAIL_OTHER },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (sse_jwt_failure_of(cases[i].reason) != cases[i].kind) {
            fail_msg("'%s' has kind %d, not %d", cases[i].reason ? cases[i].reason : "(null)",
                     (int)sse_jwt_failure_of(cases[i].reason), (int)cases[i].kind);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(verifies_rfc7515_a1_hs256),
        T(verifies_rfc7515_a2_rs256_from_jwks),
        T(verifies_rfc7515_a3_es256_from_jwks),
        T(verifies_rfc8037_a4_ed25519_signature),
        T(verifies_token_signed_with_rfc8037_private_key),
        T(verifies_hs256), T(verifies_hs384), T(verifies_hs512),
        T(verifies_rs256), T(verifies_rs384), T(verifies_rs512),
        T(verifies_ps256), T(verifies_ps384), T(verifies_ps512),
        T(verifies_es256), T(verifies_es384), T(verifies_es512),
        T(verifies_eddsa),
        T(maps_alg_names_case_sensitively),
        T(rejects_alg_none),
        T(rejects_alg_in_the_wrong_case),
        T(rejects_missing_or_non_string_alg),
        T(rejects_hs256_token_keyed_with_the_rsa_public_key),
        T(refuses_an_rsa_public_key_as_hmac_secret),
        T(pins_each_key_to_one_alg),
        T(rejects_ps256_with_a_salt_other_than_the_hash_length),
        T(rejects_kid_mismatch),
        T(matches_kid_only_when_both_sides_have_one),
        T(tries_every_key_of_the_alg_when_token_has_no_kid),
        T(tries_only_keys_of_the_token_alg),
        T(rejects_crit),
        T(rejects_nested_cty_jwt),
        T(ignores_embedded_keys_and_key_urls_for_key_choice),
        T(rejects_duplicate_keys_in_header),
        T(rejects_duplicate_keys_in_payload),
        T(rejects_non_object_header),
        T(rejects_non_object_payload),
        T(rejects_padding),
        T(rejects_whitespace),
        T(rejects_non_canonical_trailing_bits),
        T(rejects_two_and_four_segments),
        T(rejects_tokens_over_8_kib_and_accepts_exactly_8_kib),
        T(rejects_bad_signature),
        T(rejects_truncated_or_der_es256_signature),
        T(rejects_es384_signature_for_es256_key),
        T(rejects_expired_token),
        T(honours_leeway_for_exp),
        T(rejects_nbf_in_the_future),
        T(honours_leeway_for_nbf),
        T(rejects_iat_in_the_future),
        T(honours_leeway_for_iat),
        T(accepts_fractional_numeric_dates),
        T(rejects_missing_exp),
        T(rejects_non_numeric_dates),
        T(survives_extreme_numeric_dates),
        T(checks_issuer_exactly),
        T(checks_audience_string_or_array),
        T(rejects_audience_of_other_types),
        T(ignores_iss_when_not_configured),
        T(refuses_any_aud_when_no_audience_is_configured),
        T(types_claims_as_string_or_integer),
        T(requires_the_configured_typ),
        T(checks_claims_only_after_the_signature),
        T(exposes_string_and_integer_claims),
        T(keeps_claim_names_exactly_as_sent),
        T(rejects_token_when_no_keys_are_configured),
        T(works_without_a_policy),
        T(rejects_short_hmac_secret),
        T(rejects_1024_bit_rsa_key),
        T(rejects_key_of_the_wrong_type),
        T(accepts_rsa_pss_key_only_for_ps_algs),
        T(rejects_ec_key_on_the_wrong_curve),
        T(rejects_pem_that_is_not_a_public_key),
        T(loads_pem_key_from_file_with_kid),
        T(loads_hmac_secret_from_file_dropping_one_newline),
        T(loads_hmac_secret_from_env),
        T(rejects_unreadable_key_file),
        T(rejects_missing_env_var),
        T(rejects_bad_key_source_and_alg),
        T(rejects_jwk_without_kid_or_alg),
        T(rejects_jwk_with_the_wrong_kty),
        T(rejects_weak_or_broken_jwks),
        T(loads_every_kty_from_jwks_and_skips_encryption_keys),
        T(refuses_rsa_keys_with_a_bad_exponent_or_modulus),
        T(a_token_forged_for_e1_would_verify_so_the_key_is_refused),
        T(refuses_all_small_order_ed25519_points),
        T(refuses_non_canonical_ed25519_encodings),
        T(accepts_generated_ed25519_keys),
        T(an_identity_ed25519_key_would_accept_a_forgery),
        T(refuses_off_curve_points_on_every_curve),
        T(refuses_public_keys_as_hmac_secrets_in_any_form),
        T(every_reason_has_its_failure_kind),
#undef T
    };
    int rc;

    apr_initialize();
    rc = cmocka_run_group_tests_name("jwt", tests, group_setup, group_teardown);
    apr_terminate();
    return rc;
}
