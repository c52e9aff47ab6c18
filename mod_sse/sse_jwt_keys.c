/* sse_jwt_keys.c: loading JWT verification keys at configuration time.
 *
 * Every key is pinned to one algorithm and checked for strength here, once,
 * so that a weak or mismatched key fails `apachectl -t` instead of a request.
 * OpenSSL objects live as long as the pool they were loaded into.
 */
#include "sse_jwt_internal.h"
#include "sse_b64url.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_strings.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* Key files and JWK Sets are small; anything bigger is a mistake. */
#define SSE_JWT_MAX_KEY_FILE (1024 * 1024)
#define SSE_JWT_MIN_RSA_BITS 2048

static apr_status_t free_pkey(void *data)
{
    EVP_PKEY_free(data);
    return APR_SUCCESS;
}

static apr_status_t wipe_secret(void *data)
{
    sse_jwt_key *key = data;
    OPENSSL_cleanse(key->secret, key->secret_len);
    return APR_SUCCESS;
}

sse_jwt_alg sse_jwt_key_alg(const sse_jwt_key *key)
{
    return key->alg;
}

const char *sse_jwt_key_kid(const sse_jwt_key *key)
{
    return key->kid;
}

static const char *copy_kid(apr_pool_t *p, const char *kid)
{
    return kid && *kid ? apr_pstrdup(p, kid) : NULL;
}

/* The curve of an EC key as a NID, NID_undef if it has none we know. */
static int ec_curve_nid(const EVP_PKEY *pkey)
{
    char name[80];
    size_t len = 0;
    int nid;

    if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
                                        name, sizeof(name), &len)) {
        return NID_undef;
    }
    nid = OBJ_txt2nid(name);
    if (nid == NID_undef) {
        nid = EC_curve_nist2nid(name);
    }
    return nid;
}

/* RSA with e = 1 makes the signature equal to the padded hash, so anyone can
 * "sign"; an even e or an even modulus is no RSA key at all. OpenSSL loads
 * such numbers without a word, so they are refused here. */
static const char *check_rsa_numbers(apr_pool_t *p, const EVP_PKEY *pkey)
{
    BIGNUM *n = NULL, *e = NULL;
    const char *err = NULL;

    if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n)
        || !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e)) {
        err = "RSA key has no modulus or exponent";
    }
    else if (!BN_is_odd(n)) {
        err = "RSA modulus is even; not a usable RSA key";
    }
    else if (!BN_is_odd(e) || BN_num_bits(e) < 2) {
        char *dec = BN_num_bits(e) <= 64 ? BN_bn2dec(e) : NULL;
        err = apr_psprintf(p, "RSA public exponent %s is refused: it must be odd "
                           "and at least 3 (65537 is usual)", dec ? dec : "(huge, even)");
        OPENSSL_free(dec);
    }
    else if (BN_cmp(e, n) >= 0) {
        err = "RSA public exponent is not smaller than the modulus";
    }
    BN_free(n);
    BN_free(e);
    ERR_clear_error();
    return err;
}

/* EC: the point must be on the named curve, not the point at infinity, and
 * of the group's order. OpenSSL decodes PEM points with an on-curve check
 * already; this states it once for PEM and JWK, P-256, P-384 and P-521. */
static const char *check_ec_point(const EVP_PKEY *pkey)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, (EVP_PKEY *)pkey, NULL);
    int ok = ctx != NULL && EVP_PKEY_public_check(ctx) == 1;

    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return ok ? NULL : "invalid EC key (point not on the curve?)";
}

/* Ed25519 (RFC 8032 5.1.3): 32 bytes, the little-endian y with the sign of x
 * in the top bit. The curve has 8 points of small order (the identity, one
 * of order 2, two of order 4, four of order 8); with such a key a signature
 * can verify for messages nobody signed. Their y values are 1, p-1, 0 and
 * the two roots below (y^2 = (-1 + sqrt(1 + d)) / d, the points whose double
 * has y = 0), each with either sign where x is not 0. */
#define ED25519_LEN 32

static const unsigned char ed25519_p[ED25519_LEN] = {      /* 2^255 - 19 */
    0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f
};

/* The canonical encodings of the 8 small-order points. */
static const unsigned char ed25519_small_order[8][ED25519_LEN] = {
    /* y = 1: the identity (order 1) */
    { 0x01 },
    /* y = p - 1, x = 0 (order 2) */
    { 0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
    /* y = 0, x = +-sqrt(-1) (order 4) */
    { 0x00 },
    { [31] = 0x80 },
    /* y = 0x7a03...17c7 and its negation, x of either sign (order 8) */
    { 0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76,
      0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6,
      0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a },
    { 0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76,
      0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6,
      0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0xfa },
    { 0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89,
      0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39,
      0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05 },
    { 0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89,
      0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39,
      0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x85 },
};

/* Refuses the small-order points and every non-canonical encoding: y >= p
 * (which includes p and p + 1, other spellings of y = 0 and y = 1), and a
 * set sign bit where x is 0 (y = 1 or y = p - 1). What is left is one
 * spelling per point, so the table above is complete. */
const char *sse_jwt_ed25519_check(const unsigned char *raw, apr_size_t len)
{
    unsigned char y[ED25519_LEN];
    int i, below_p = 0;
    static const unsigned char one[ED25519_LEN] = { 0x01 };

    if (len != ED25519_LEN) {
        return "Ed25519 key must be 32 bytes";
    }
    memcpy(y, raw, ED25519_LEN);
    y[31] &= 0x7f;
    for (i = ED25519_LEN - 1; i >= 0; i--) {
        if (y[i] != ed25519_p[i]) {
            below_p = y[i] < ed25519_p[i];
            break;
        }
    }
    if (!below_p) {
        return "Ed25519 key is not canonically encoded (y >= 2^255 - 19)";
    }
    if ((raw[31] & 0x80)
        && (memcmp(y, one, ED25519_LEN) == 0
            || memcmp(y, ed25519_small_order[1], ED25519_LEN) == 0)) {
        return "Ed25519 key is not canonically encoded (sign bit set for x = 0)";
    }
    for (i = 0; i < 8; i++) {
        if (memcmp(raw, ed25519_small_order[i], ED25519_LEN) == 0) {
            return "Ed25519 key is a small-order point; it would accept forged signatures";
        }
    }
    return NULL;
}

static const char *check_ed25519_point(const EVP_PKEY *pkey)
{
    unsigned char raw[ED25519_LEN];
    size_t len = sizeof(raw);

    if (!EVP_PKEY_get_raw_public_key(pkey, raw, &len)) {
        ERR_clear_error();
        return "invalid Ed25519 key";
    }
    return sse_jwt_ed25519_check(raw, len);
}

static const char *check_pkey(apr_pool_t *p, const sse_jwt_alg_info *info,
                              EVP_PKEY *pkey)
{
    int bits;

    switch (info->family) {
    case SSE_JWT_FAMILY_RSA_PKCS1:
    case SSE_JWT_FAMILY_RSA_PSS:
        if (!EVP_PKEY_is_a(pkey, "RSA")
            && !(info->family == SSE_JWT_FAMILY_RSA_PSS && EVP_PKEY_is_a(pkey, "RSA-PSS"))) {
            break;
        }
        bits = EVP_PKEY_get_bits(pkey);
        if (bits < SSE_JWT_MIN_RSA_BITS) {
            return apr_psprintf(p, "RSA key is %d bits; at least %d required",
                                bits, SSE_JWT_MIN_RSA_BITS);
        }
        return check_rsa_numbers(p, pkey);
    case SSE_JWT_FAMILY_ECDSA:
        if (!EVP_PKEY_is_a(pkey, "EC")) {
            break;
        }
        if (ec_curve_nid(pkey) != info->curve_nid) {
            return apr_psprintf(p, "%s needs a %s key", info->name, info->jwk_crv);
        }
        return check_ec_point(pkey);
    case SSE_JWT_FAMILY_EDDSA:
        if (!EVP_PKEY_is_a(pkey, "ED25519")) {
            break;
        }
        return check_ed25519_point(pkey);
    case SSE_JWT_FAMILY_HMAC:
        break;
    }
    return apr_psprintf(p, "key type does not match %s", info->name);
}

const char *sse_jwt_key_from_pkey(apr_pool_t *p, sse_jwt_alg alg,
                                  const char *kid, EVP_PKEY *pkey,
                                  sse_jwt_key **key)
{
    const sse_jwt_alg_info *info = sse_jwt_alg_info_get(alg);
    const char *err;
    sse_jwt_key *k;

    if (pkey == NULL) {
        return "no key";
    }
    if (info == NULL) {
        EVP_PKEY_free(pkey);
        return "unknown algorithm";
    }
    if ((err = check_pkey(p, info, pkey)) != NULL) {
        EVP_PKEY_free(pkey);
        return err;
    }
    k = apr_pcalloc(p, sizeof(*k));
    k->alg = alg;
    k->kid = copy_kid(p, kid);
    k->pkey = pkey;
    apr_pool_cleanup_register(p, pkey, free_pkey, apr_pool_cleanup_null);
    *key = k;
    return NULL;
}

/* Algorithm confusion by configuration: an HMAC "secret" that is a public
 * key lets anyone who has the public key (everyone) mint tokens. Refused
 * when it is PEM (or any "-----BEGIN" block), DER SubjectPublicKeyInfo, a
 * JSON object (a JWK or JWK Set) or an OpenSSH public key line. */
static const char *public_key_as_secret(apr_pool_t *p, const sse_jwt_alg_info *info,
                                        const unsigned char *bytes, apr_size_t len)
{
    const unsigned char *s = bytes, *der = bytes;
    apr_size_t n = len;
    const char *what = NULL;
    EVP_PKEY *pkey;
    json_t *json;

    while (n > 0 && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')) {
        s++;
        n--;
    }
    if (n >= 10 && memcmp(s, "-----BEGIN", 10) == 0) {
        what = "a PEM block (-----BEGIN ...)";
    }
    else if ((n >= 4 && memcmp(s, "ssh-", 4) == 0)
             || (n >= 11 && memcmp(s, "ecdsa-sha2-", 11) == 0)) {
        what = "an OpenSSH public key";
    }
    else if (n > 0 && *s == '{'
             && (json = json_loadb((const char *)s, n, 0, NULL)) != NULL) {
        if (json_is_object(json)) {
            what = "a JSON object (a JWK or JWK Set?)";
        }
        json_decref(json);
    }
    else if (len <= LONG_MAX && (pkey = d2i_PUBKEY(NULL, &der, (long)len)) != NULL) {
        EVP_PKEY_free(pkey);
        what = "a DER public key";
    }
    ERR_clear_error();
    if (what == NULL) {
        return NULL;
    }
    return apr_psprintf(p, "%s secret is %s; a public key is no HMAC secret (anyone "
                        "who has it could sign): use an asymmetric algorithm with it",
                        info->name, what);
}

static const char *hmac_key(apr_pool_t *p, const sse_jwt_alg_info *info,
                            sse_jwt_alg alg, const char *kid,
                            const unsigned char *bytes, apr_size_t len,
                            sse_jwt_key **key)
{
    sse_jwt_key *k;
    const char *err;

    if ((err = public_key_as_secret(p, info, bytes, len)) != NULL) {
        return err;
    }
    /* RFC 7518 3.2: a key of the same size as the hash output or larger. */
    if (len < info->hash_len) {
        return apr_psprintf(p, "%s secret is %" APR_SIZE_T_FMT " bytes; "
                            "at least %" APR_SIZE_T_FMT " required",
                            info->name, len, info->hash_len);
    }
    k = apr_pcalloc(p, sizeof(*k));
    k->alg = alg;
    k->kid = copy_kid(p, kid);
    k->secret = apr_pmemdup(p, bytes, len);
    k->secret_len = len;
    apr_pool_cleanup_register(p, k, wipe_secret, apr_pool_cleanup_null);
    *key = k;
    return NULL;
}

const char *sse_jwt_key_from_bytes(apr_pool_t *p, sse_jwt_alg alg,
                                   const char *kid,
                                   const unsigned char *bytes, apr_size_t len,
                                   sse_jwt_key **key)
{
    const sse_jwt_alg_info *info = sse_jwt_alg_info_get(alg);
    EVP_PKEY *pkey;
    BIO *bio;

    if (info == NULL) {
        return "unknown algorithm";
    }
    if (info->family == SSE_JWT_FAMILY_HMAC) {
        return hmac_key(p, info, alg, kid, bytes, len, key);
    }

    if (len > SSE_JWT_MAX_KEY_FILE) {
        return "key is too large";
    }
    bio = BIO_new_mem_buf(bytes, (int)len);
    if (bio == NULL) {
        return "out of memory";
    }
    pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    ERR_clear_error();
    if (pkey == NULL) {
        return apr_psprintf(p, "%s key is not a PEM public key "
                            "(-----BEGIN PUBLIC KEY-----)", info->name);
    }
    return sse_jwt_key_from_pkey(p, alg, kid, pkey, key);
}

/* Reads a whole (small) file into pool memory, NUL-terminated. */
static const char *read_file(apr_pool_t *p, const char *path,
                             unsigned char **bytes, apr_size_t *len)
{
    apr_file_t *f;
    apr_finfo_t finfo;
    apr_status_t rv;
    char errbuf[120];
    apr_size_t got = 0;

    rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, APR_OS_DEFAULT, p);
    if (rv == APR_SUCCESS) {
        rv = apr_file_info_get(&finfo, APR_FINFO_SIZE | APR_FINFO_TYPE, f);
        if (rv == APR_SUCCESS && finfo.filetype != APR_REG) {
            apr_file_close(f);
            return apr_psprintf(p, "cannot read %s: not a regular file", path);
        }
        if (rv == APR_SUCCESS && finfo.size > SSE_JWT_MAX_KEY_FILE) {
            apr_file_close(f);
            return apr_psprintf(p, "cannot read %s: larger than %d bytes",
                                path, SSE_JWT_MAX_KEY_FILE);
        }
        if (rv == APR_SUCCESS) {
            *bytes = apr_palloc(p, (apr_size_t)finfo.size + 1);
            rv = apr_file_read_full(f, *bytes, (apr_size_t)finfo.size, &got);
            if (rv == APR_EOF) {
                rv = APR_SUCCESS;
            }
            (*bytes)[got] = '\0';
            *len = got;
        }
        apr_file_close(f);
    }
    if (rv != APR_SUCCESS) {
        return apr_psprintf(p, "cannot read %s: %s", path,
                            apr_strerror(rv, errbuf, sizeof(errbuf)));
    }
    return NULL;
}

const char *sse_jwt_key_load(apr_pool_t *p, const char *alg_name,
                             const char *source, const char *kid,
                             sse_jwt_key **key)
{
    sse_jwt_alg alg;
    const sse_jwt_alg_info *info;
    unsigned char *bytes;
    apr_size_t len;
    const char *err;

    if (sse_jwt_alg_from_name(alg_name, &alg) != 0) {
        return apr_psprintf(p, "unknown JWT algorithm '%s' (expected HS256/384/512, "
                            "RS256/384/512, PS256/384/512, ES256/384/512 or EdDSA)",
                            alg_name ? alg_name : "");
    }
    info = sse_jwt_alg_info_get(alg);
    if (source && strncmp(source, "file:", 5) == 0 && source[5] != '\0') {
        if ((err = read_file(p, source + 5, &bytes, &len)) != NULL) {
            return err;
        }
        /* An HMAC secret is used byte for byte, except that one trailing
         * "\n" is dropped: `echo secret > file` and editors add it, and a
         * secret that really ends in a newline is better given by env:. */
        if (info->family == SSE_JWT_FAMILY_HMAC && len > 0 && bytes[len - 1] == '\n') {
            bytes[--len] = '\0';
        }
    }
    else if (source && strncmp(source, "env:", 4) == 0 && source[4] != '\0') {
        const char *value = getenv(source + 4);
        if (value == NULL) {
            return apr_psprintf(p, "environment variable %s is not set", source + 4);
        }
        bytes = (unsigned char *)apr_pstrdup(p, value);
        len = strlen(value);
    }
    else {
        return "key source must be file:/path or env:NAME";
    }
    err = sse_jwt_key_from_bytes(p, alg, kid, bytes, len, key);
    /* The key keeps its own copy; do not leave a second one of a secret
     * lying in the configuration pool. */
    OPENSSL_cleanse(bytes, len);
    return err;
}

/* ---- JWK Set (RFC 7517) ---- */

static const char *jwk_member(const json_t *jwk, const char *name)
{
    const json_t *v = json_object_get(jwk, name);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Decodes a required base64url member; NULL on absence or bad encoding. */
static unsigned char *jwk_bytes(apr_pool_t *p, const json_t *jwk, const char *name,
                                apr_size_t *len)
{
    const char *s = jwk_member(jwk, name);
    unsigned char *out;

    if (s == NULL || sse_b64url_decode(p, s, strlen(s), &out, len) != 0 || *len == 0) {
        return NULL;
    }
    return out;
}

static EVP_PKEY *pkey_from_params(const char *type, const OSSL_PARAM *params)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *pkey = NULL;

    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1
        || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, (OSSL_PARAM *)params) != 1) {
        pkey = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

static const char *jwk_rsa(apr_pool_t *p, const json_t *jwk, EVP_PKEY **out)
{
    unsigned char *n_bytes, *e_bytes;
    apr_size_t n_len, e_len;
    BIGNUM *n = NULL, *e = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;

    n_bytes = jwk_bytes(p, jwk, "n", &n_len);
    e_bytes = jwk_bytes(p, jwk, "e", &e_len);
    if (n_bytes == NULL || e_bytes == NULL) {
        return "RSA key needs base64url n and e";
    }
    if (n_len > 2048 || e_len > 8) {
        return "RSA key n or e is too long";
    }
    n = BN_bin2bn(n_bytes, (int)n_len, NULL);
    e = BN_bin2bn(e_bytes, (int)e_len, NULL);
    if (n && e && (bld = OSSL_PARAM_BLD_new()) != NULL
        && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n)
        && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e)) {
        params = OSSL_PARAM_BLD_to_param(bld);
    }
    if (params) {
        *out = pkey_from_params("RSA", params);
    }
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return *out ? NULL : "invalid RSA key";
}

static const char *jwk_ec(apr_pool_t *p, const sse_jwt_alg_info *info,
                          const json_t *jwk, EVP_PKEY **out)
{
    const char *crv = jwk_member(jwk, "crv");
    unsigned char *x, *y, *point;
    apr_size_t x_len, y_len, n = info->coord_len;
    OSSL_PARAM params[3];

    if (crv == NULL || strcmp(crv, info->jwk_crv) != 0) {
        return apr_psprintf(p, "%s needs a %s key", info->name, info->jwk_crv);
    }
    x = jwk_bytes(p, jwk, "x", &x_len);
    y = jwk_bytes(p, jwk, "y", &y_len);
    /* RFC 7518 6.2.1.2: coordinates are exactly the full field size. */
    if (x == NULL || y == NULL || x_len != n || y_len != n) {
        return apr_psprintf(p, "EC key needs base64url x and y of %" APR_SIZE_T_FMT
                            " bytes", n);
    }
    point = apr_palloc(p, 1 + 2 * n);
    point[0] = 0x04;                    /* SEC 1 uncompressed point */
    memcpy(point + 1, x, n);
    memcpy(point + 1 + n, y, n);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                                 (char *)OBJ_nid2sn(info->curve_nid), 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                                  point, 1 + 2 * n);
    params[2] = OSSL_PARAM_construct_end();
    *out = pkey_from_params("EC", params);
    return *out ? NULL : "invalid EC key (point not on the curve?)";
}

static const char *jwk_okp(apr_pool_t *p, const sse_jwt_alg_info *info,
                           const json_t *jwk, EVP_PKEY **out)
{
    const char *crv = jwk_member(jwk, "crv");
    unsigned char *x;
    apr_size_t x_len;

    if (crv == NULL || strcmp(crv, info->jwk_crv) != 0) {
        return "EdDSA needs an Ed25519 key";
    }
    x = jwk_bytes(p, jwk, "x", &x_len);
    if (x == NULL || x_len != 32) {
        return "Ed25519 key needs a base64url x of 32 bytes";
    }
    *out = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, x_len);
    return *out ? NULL : "invalid Ed25519 key";
}

/* The kty each algorithm family needs (RFC 7518 section 6, RFC 8037). */
static const char *family_kty(sse_jwt_family family)
{
    switch (family) {
    case SSE_JWT_FAMILY_HMAC:      return "oct";
    case SSE_JWT_FAMILY_RSA_PKCS1:
    case SSE_JWT_FAMILY_RSA_PSS:   return "RSA";
    case SSE_JWT_FAMILY_ECDSA:     return "EC";
    case SSE_JWT_FAMILY_EDDSA:     return "OKP";
    }
    return "?";
}

static const char *jwk_to_key(apr_pool_t *p, const json_t *jwk, sse_jwt_key **key)
{
    const char *kty = jwk_member(jwk, "kty");
    const char *kid = jwk_member(jwk, "kid");
    const char *alg_name = jwk_member(jwk, "alg");
    const sse_jwt_alg_info *info;
    sse_jwt_alg alg;
    EVP_PKEY *pkey = NULL;
    const char *err;

    if (kty == NULL) {
        return "missing kty";
    }
    if (kid == NULL || *kid == '\0') {
        return "missing kid";
    }
    if (alg_name == NULL) {
        return "missing alg";
    }
    if (sse_jwt_alg_from_name(alg_name, &alg) != 0) {
        return apr_psprintf(p, "unsupported alg '%s'", alg_name);
    }
    info = sse_jwt_alg_info_get(alg);
    if (strcmp(kty, family_kty(info->family)) != 0) {
        return apr_psprintf(p, "kty '%s' does not match %s (needs %s)",
                            kty, info->name, family_kty(info->family));
    }

    switch (info->family) {
    case SSE_JWT_FAMILY_HMAC: {
        apr_size_t len;
        unsigned char *k = jwk_bytes(p, jwk, "k", &len);
        if (k == NULL) {
            return "oct key needs a base64url k";
        }
        err = hmac_key(p, info, alg, kid, k, len, key);
        OPENSSL_cleanse(k, len);
        return err;
    }
    case SSE_JWT_FAMILY_RSA_PKCS1:
    case SSE_JWT_FAMILY_RSA_PSS:
        err = jwk_rsa(p, jwk, &pkey);
        break;
    case SSE_JWT_FAMILY_ECDSA:
        err = jwk_ec(p, info, jwk, &pkey);
        break;
    case SSE_JWT_FAMILY_EDDSA:
        err = jwk_okp(p, info, jwk, &pkey);
        break;
    default:
        err = "unsupported key type";
    }
    ERR_clear_error();
    if (err != NULL) {
        EVP_PKEY_free(pkey);
        return err;
    }
    return sse_jwt_key_from_pkey(p, alg, kid, pkey, key);
}

const char *sse_jwt_jwks_load(apr_pool_t *p, const char *path,
                              apr_array_header_t *keys)
{
    unsigned char *bytes;
    apr_size_t len, i;
    int added = 0;
    json_t *root, *list, *jwk;
    json_error_t jerr;
    const char *err = NULL;

    if ((err = read_file(p, path, &bytes, &len)) != NULL) {
        return err;
    }
    root = json_loadb((const char *)bytes, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        OPENSSL_cleanse(bytes, len);
        return apr_psprintf(p, "%s: invalid JSON at line %d: %s",
                            path, jerr.line, jerr.text);
    }
    list = json_object_get(root, "keys");
    if (!json_is_object(root) || !json_is_array(list)) {
        json_decref(root);
        OPENSSL_cleanse(bytes, len);
        return apr_psprintf(p, "%s: not a JWK Set (no \"keys\" array)", path);
    }
    json_array_foreach(list, i, jwk) {
        sse_jwt_key *key = NULL;
        const char *use, *kid;

        if (!json_is_object(jwk)) {
            err = apr_psprintf(p, "%s: key %" APR_SIZE_T_FMT ": not an object", path, i);
            break;
        }
        /* Encryption keys may share a published set; they are not ours. */
        use = jwk_member(jwk, "use");
        if (use && strcmp(use, "enc") == 0) {
            continue;
        }
        if (use && strcmp(use, "sig") != 0) {
            err = apr_psprintf(p, "%s: key %" APR_SIZE_T_FMT ": unknown use", path, i);
            break;
        }
        if ((err = jwk_to_key(p, jwk, &key)) != NULL) {
            kid = jwk_member(jwk, "kid");
            err = apr_psprintf(p, "%s: key %" APR_SIZE_T_FMT "%s%s%s: %s", path, i,
                               kid ? " (kid " : "", kid ? kid : "", kid ? ")" : "", err);
            break;
        }
        APR_ARRAY_PUSH(keys, sse_jwt_key *) = key;
        added++;
    }
    json_decref(root);
    OPENSSL_cleanse(bytes, len);        /* may hold oct secrets */
    if (err == NULL && added == 0) {
        err = apr_psprintf(p, "%s: no signing keys", path);
    }
    return err;
}
