/* sse_jwt.c: verification of JWS compact tokens (RFC 7515/7519) for mod_sse.
 *
 * The order is deliberate: size and shape, then the protected header (which
 * alone picks the key: alg, and kid when both sides have one; never jku, x5u,
 * jwk or x5c), then the signature, and only then the payload. Nothing in the
 * payload is believed, or even parsed, before the signature checks out.
 * Reasons returned are fixed strings: they go into an RFC 6750
 * error_description and must never echo the token.
 */
#include "sse_jwt_internal.h"
#include "sse_b64url.h"

#include <string.h>
#include <strings.h>

#include <apr_strings.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

/* Indexed by sse_jwt_alg. */
static const sse_jwt_alg_info alg_table[SSE_JWT_ALG_COUNT] = {
    { "HS256", SSE_JWT_FAMILY_HMAC,      "SHA256", 32, NID_undef, NULL, 0 },
    { "HS384", SSE_JWT_FAMILY_HMAC,      "SHA384", 48, NID_undef, NULL, 0 },
    { "HS512", SSE_JWT_FAMILY_HMAC,      "SHA512", 64, NID_undef, NULL, 0 },
    { "RS256", SSE_JWT_FAMILY_RSA_PKCS1, "SHA256", 32, NID_undef, NULL, 0 },
    { "RS384", SSE_JWT_FAMILY_RSA_PKCS1, "SHA384", 48, NID_undef, NULL, 0 },
    { "RS512", SSE_JWT_FAMILY_RSA_PKCS1, "SHA512", 64, NID_undef, NULL, 0 },
    { "PS256", SSE_JWT_FAMILY_RSA_PSS,   "SHA256", 32, NID_undef, NULL, 0 },
    { "PS384", SSE_JWT_FAMILY_RSA_PSS,   "SHA384", 48, NID_undef, NULL, 0 },
    { "PS512", SSE_JWT_FAMILY_RSA_PSS,   "SHA512", 64, NID_undef, NULL, 0 },
    { "ES256", SSE_JWT_FAMILY_ECDSA, "SHA256", 32, NID_X9_62_prime256v1, "P-256", 32 },
    { "ES384", SSE_JWT_FAMILY_ECDSA, "SHA384", 48, NID_secp384r1,        "P-384", 48 },
    { "ES512", SSE_JWT_FAMILY_ECDSA, "SHA512", 64, NID_secp521r1,        "P-521", 66 },
    { "EdDSA", SSE_JWT_FAMILY_EDDSA, NULL,      0, NID_ED25519,          "Ed25519", 0 },
};

/* NumericDates are clamped to about +-34,000 years so that adding the leeway
 * to a date, or to now, can never overflow apr_time_t (microseconds). */
#define SSE_JWT_DATE_LIMIT ((apr_int64_t)1 << 40)

const sse_jwt_alg_info *sse_jwt_alg_info_get(sse_jwt_alg alg)
{
    if ((int)alg < 0 || alg >= SSE_JWT_ALG_COUNT) {
        return NULL;
    }
    return &alg_table[alg];
}

int sse_jwt_alg_from_name(const char *name, sse_jwt_alg *alg)
{
    int i;

    if (name == NULL) {
        return -1;
    }
    for (i = 0; i < SSE_JWT_ALG_COUNT; i++) {
        if (strcmp(alg_table[i].name, name) == 0) {
            *alg = (sse_jwt_alg)i;
            return 0;
        }
    }
    return -1;
}

const char *sse_jwt_alg_name(sse_jwt_alg alg)
{
    const sse_jwt_alg_info *info = sse_jwt_alg_info_get(alg);
    return info ? info->name : "unknown";
}

static int hmac_ok(const sse_jwt_key *key, const sse_jwt_alg_info *info,
                   const unsigned char *input, apr_size_t input_len,
                   const unsigned char *sig, apr_size_t sig_len)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t mac_len = 0;

    if (sig_len != info->hash_len) {
        return 0;
    }
    if (EVP_Q_mac(NULL, "HMAC", NULL, info->digest, NULL,
                  key->secret, key->secret_len, input, input_len,
                  mac, sizeof(mac), &mac_len) == NULL || mac_len != sig_len) {
        return 0;
    }
    return CRYPTO_memcmp(mac, sig, sig_len) == 0;
}

/* JWS carries ECDSA signatures as R || S, each exactly the curve's size
 * (RFC 7518 section 3.4); OpenSSL wants a DER ECDSA-Sig-Value. */
static unsigned char *ecdsa_raw_to_der(const sse_jwt_alg_info *info,
                                       const unsigned char *sig, apr_size_t sig_len,
                                       int *der_len)
{
    ECDSA_SIG *esig;
    BIGNUM *r, *s;
    unsigned char *der = NULL;

    if (sig_len != 2 * info->coord_len) {
        return NULL;
    }
    esig = ECDSA_SIG_new();
    r = BN_bin2bn(sig, (int)info->coord_len, NULL);
    s = BN_bin2bn(sig + info->coord_len, (int)info->coord_len, NULL);
    if (esig == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0(esig, r, s)) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(esig);
        return NULL;
    }
    *der_len = i2d_ECDSA_SIG(esig, &der);
    ECDSA_SIG_free(esig);
    if (*der_len <= 0) {
        OPENSSL_free(der);
        return NULL;
    }
    return der;
}

static int pkey_signature_ok(const sse_jwt_key *key, const sse_jwt_alg_info *info,
                             const unsigned char *input, apr_size_t input_len,
                             const unsigned char *sig, apr_size_t sig_len)
{
    EVP_MD_CTX *mctx;
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char *der = NULL;
    int der_len = 0, ok = 0;

    if (info->family == SSE_JWT_FAMILY_ECDSA) {
        der = ecdsa_raw_to_der(info, sig, sig_len, &der_len);
        if (der == NULL) {
            return 0;
        }
        sig = der;
        sig_len = (apr_size_t)der_len;
    }
    else if (info->family == SSE_JWT_FAMILY_EDDSA && sig_len != 64) {
        return 0;
    }

    mctx = EVP_MD_CTX_new();
    if (mctx == NULL) {
        goto done;
    }
    /* EdDSA hashes internally: no digest name, one-shot verify only. */
    if (EVP_DigestVerifyInit_ex(mctx, &pctx, info->digest, NULL, NULL,
                                key->pkey, NULL) != 1) {
        goto done;
    }
    if (info->family == SSE_JWT_FAMILY_RSA_PKCS1) {
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0) {
            goto done;
        }
    }
    else if (info->family == SSE_JWT_FAMILY_RSA_PSS) {
        /* RFC 7518 section 3.5: MGF1 with the same hash, salt = hash size. */
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0
            || EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, info->digest, NULL) <= 0
            || EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0) {
            goto done;
        }
    }
    ok = EVP_DigestVerify(mctx, sig, sig_len, input, input_len) == 1;

done:
    EVP_MD_CTX_free(mctx);
    OPENSSL_free(der);
    return ok;
}

int sse_jwt_signature_ok(const sse_jwt_key *key,
                         const unsigned char *input, apr_size_t input_len,
                         const unsigned char *sig, apr_size_t sig_len)
{
    const sse_jwt_alg_info *info = sse_jwt_alg_info_get(key->alg);
    int ok;

    if (info == NULL) {
        return 0;
    }
    if (info->family == SSE_JWT_FAMILY_HMAC) {
        ok = key->secret != NULL
             && hmac_ok(key, info, input, input_len, sig, sig_len);
    }
    else {
        ok = key->pkey != NULL
             && pkey_signature_ok(key, info, input, input_len, sig, sig_len);
    }
    /* A failed verify leaves entries on this thread's error queue; a worker
     * thread lives long, so do not let them pile up. */
    ERR_clear_error();
    return ok;
}

/* A NumericDate (RFC 7519 section 2): any JSON number, fractions allowed.
 * Gives microseconds for comparisons and whole seconds (rounded down). */
static int numeric_date(const json_t *v, apr_time_t *usec, apr_int64_t *sec)
{
    if (json_is_integer(v)) {
        apr_int64_t s = (apr_int64_t)json_integer_value(v);
        if (s > SSE_JWT_DATE_LIMIT) s = SSE_JWT_DATE_LIMIT;
        if (s < -SSE_JWT_DATE_LIMIT) s = -SSE_JWT_DATE_LIMIT;
        *usec = (apr_time_t)s * APR_USEC_PER_SEC;
        if (sec) *sec = s;
        return 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        apr_int64_t s;
        if (!(d < (double)SSE_JWT_DATE_LIMIT)) d = (double)SSE_JWT_DATE_LIMIT;
        if (!(d > -(double)SSE_JWT_DATE_LIMIT)) d = -(double)SSE_JWT_DATE_LIMIT;
        s = (apr_int64_t)d;
        if ((double)s > d) {
            s--;
        }
        *usec = (apr_time_t)(d * (double)APR_USEC_PER_SEC);
        if (sec) *sec = s;
        return 0;
    }
    return -1;
}

static int audience_matches(const json_t *aud, const char *want)
{
    size_t i;
    json_t *item;

    if (json_is_string(aud)) {
        return strcmp(json_string_value(aud), want) == 0;
    }
    if (!json_is_array(aud)) {
        return 0;
    }
    json_array_foreach(aud, i, item) {
        if (json_is_string(item) && strcmp(json_string_value(item), want) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Top-level string and integer claims, typed and named exactly as sent:
 * JSON names are case-sensitive, and so is every lookup here. */
static apr_array_header_t *claims_list(apr_pool_t *p, json_t *root)
{
    apr_array_header_t *list = apr_array_make(p, (int)json_object_size(root),
                                              sizeof(sse_jwt_claim));
    const char *name;
    json_t *v;

    json_object_foreach(root, name, v) {
        sse_jwt_claim c;

        memset(&c, 0, sizeof(c));
        if (json_is_string(v)) {
            c.type = SSE_JWT_CLAIM_STRING;
            c.len = json_string_length(v);
            c.str = apr_pstrmemdup(p, json_string_value(v), c.len);
        }
        else if (json_is_integer(v)) {
            c.type = SSE_JWT_CLAIM_INTEGER;
            c.integer = (apr_int64_t)json_integer_value(v);
        }
        else {
            continue;
        }
        c.name = apr_pstrdup(p, name);
        APR_ARRAY_PUSH(list, sse_jwt_claim) = c;
    }
    return list;
}

const sse_jwt_claim *sse_jwt_claim_get(const sse_jwt_claims *claims, const char *name)
{
    int i;

    if (claims == NULL || claims->claims == NULL || name == NULL) {
        return NULL;
    }
    for (i = 0; i < claims->claims->nelts; i++) {
        const sse_jwt_claim *c = &APR_ARRAY_IDX(claims->claims, i, sse_jwt_claim);
        if (strcmp(c->name, name) == 0) {
            return c;
        }
    }
    return NULL;
}

const char *sse_jwt_claim_text(apr_pool_t *p, const sse_jwt_claims *claims,
                               const char *name)
{
    const sse_jwt_claim *c = sse_jwt_claim_get(claims, name);

    if (c == NULL) {
        return NULL;
    }
    if (c->type == SSE_JWT_CLAIM_STRING) {
        return c->str;
    }
    return apr_psprintf(p, "%" APR_INT64_T_FMT, c->integer);
}

const char *sse_jwt_check_claims(apr_pool_t *p, const sse_jwt_policy *policy,
                                 const unsigned char *payload, apr_size_t len,
                                 apr_time_t now, sse_jwt_claims *claims)
{
    json_t *root, *v;
    json_error_t jerr;
    apr_interval_time_t leeway = policy && policy->leeway > 0 ? policy->leeway : 0;
    apr_time_t exp_usec, t;
    apr_int64_t exp_sec = 0;
    const char *reason = NULL;

    if (leeway > (apr_interval_time_t)SSE_JWT_DATE_LIMIT * APR_USEC_PER_SEC) {
        leeway = (apr_interval_time_t)SSE_JWT_DATE_LIMIT * APR_USEC_PER_SEC;
    }
    root = json_loadb((const char *)payload, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        return "malformed token";
    }
    if (!json_is_object(root)) {
        reason = "malformed token";
        goto done;
    }

    if ((v = json_object_get(root, "exp")) == NULL) {
        reason = "missing exp";
        goto done;
    }
    if (numeric_date(v, &exp_usec, &exp_sec) != 0) {
        reason = "invalid exp";
        goto done;
    }
    /* RFC 7519 4.1.4: now must be before exp. */
    if (now - leeway >= exp_usec) {
        reason = "token expired";
        goto done;
    }
    if ((v = json_object_get(root, "nbf")) != NULL) {
        if (numeric_date(v, &t, NULL) != 0) {
            reason = "invalid nbf";
            goto done;
        }
        if (now + leeway < t) {
            reason = "token not yet valid";
            goto done;
        }
    }
    if ((v = json_object_get(root, "iat")) != NULL) {
        if (numeric_date(v, &t, NULL) != 0) {
            reason = "invalid iat";
            goto done;
        }
        if (t > now + leeway) {
            reason = "issued in the future";
            goto done;
        }
    }
    if (policy && policy->issuer) {
        v = json_object_get(root, "iss");
        if (!json_is_string(v) || strcmp(json_string_value(v), policy->issuer) != 0) {
            reason = "wrong issuer";
            goto done;
        }
    }
    v = json_object_get(root, "aud");
    if (policy && policy->audience) {
        if (v == NULL || !audience_matches(v, policy->audience)) {
            reason = "wrong audience";
            goto done;
        }
    }
    else if (v != NULL) {
        /* RFC 7519 4.1.3: a principal that does not identify itself with
         * the aud value must reject the token. With no SSEJWTAudience we
         * are no audience a token can name. */
        reason = "unexpected audience";
        goto done;
    }

    claims->exp = exp_sec;
    claims->claims = claims_list(p, root);

done:
    json_decref(root);
    return reason;
}

/* RFC 7515 4.1.9: `typ` is a media type, compared without regard to case,
 * and "application/" may be left out; RFC 8725 3.11 uses it to tell access
 * tokens (at+jwt) from other JWTs signed by the same issuer. */
static const char *media_subtype(const char *type)
{
    return strncasecmp(type, "application/", 12) == 0 ? type + 12 : type;
}

static int type_matches(const json_t *typ, const char *want)
{
    return json_is_string(typ)
           && strcasecmp(media_subtype(json_string_value(typ)), media_subtype(want)) == 0;
}

/* Parses the protected header; on success *alg and *kid (NULL if absent) are
 * set. Header parameters we do not understand are ignored, except `crit`,
 * which by RFC 7515 4.1.11 obliges us to understand them, and `typ` when
 * a type is required. */
static const char *check_header(apr_pool_t *p, const sse_jwt_policy *policy,
                                const unsigned char *bytes, apr_size_t len,
                                sse_jwt_alg *alg, const char **kid)
{
    json_t *root, *v;
    json_error_t jerr;
    const char *reason = NULL;

    root = json_loadb((const char *)bytes, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        return "malformed token";
    }
    if (!json_is_object(root)) {
        reason = "malformed token";
        goto done;
    }
    v = json_object_get(root, "alg");
    if (!json_is_string(v)) {
        reason = "malformed token";
        goto done;
    }
    /* "none" is not in our table, so it is refused here like any unknown. */
    if (sse_jwt_alg_from_name(json_string_value(v), alg) != 0) {
        reason = "unsupported algorithm";
        goto done;
    }
    if (json_object_get(root, "crit") != NULL) {
        reason = "unsupported critical header";
        goto done;
    }
    v = json_object_get(root, "cty");
    if (v != NULL) {
        if (!json_is_string(v)) {
            reason = "malformed token";
            goto done;
        }
        /* RFC 7519 5.2: a nested JWT; we accept only one layer. */
        if (strcasecmp(json_string_value(v), "JWT") == 0) {
            reason = "nested token not supported";
            goto done;
        }
    }
    if (policy && policy->type && !type_matches(json_object_get(root, "typ"), policy->type)) {
        reason = "wrong token type";
        goto done;
    }
    *kid = NULL;
    v = json_object_get(root, "kid");
    if (v != NULL) {
        if (!json_is_string(v)) {
            reason = "malformed token";
            goto done;
        }
        *kid = apr_pstrdup(p, json_string_value(v));
    }

done:
    json_decref(root);
    return reason;
}

static int key_matches(const sse_jwt_key *key, sse_jwt_alg alg, const char *kid)
{
    if (key == NULL || key->alg != alg) {
        return 0;
    }
    return kid == NULL || key->kid == NULL || strcmp(kid, key->kid) == 0;
}

const char *sse_jwt_verify(apr_pool_t *p, const apr_array_header_t *keys,
                           const sse_jwt_policy *policy, const char *token,
                           apr_time_t now, sse_jwt_claims *claims)
{
    const char *dot1, *dot2, *kid = NULL, *reason;
    apr_size_t len;
    unsigned char *header, *payload, *sig;
    apr_size_t header_len, payload_len, sig_len;
    sse_jwt_alg alg;
    int i, tried = 0, verified = 0;

    if (token == NULL || claims == NULL) {
        return "malformed token";
    }
    len = strnlen(token, SSE_JWT_MAX_TOKEN + 1);
    if (len > SSE_JWT_MAX_TOKEN) {
        return "token too large";
    }

    dot1 = memchr(token, '.', len);
    dot2 = dot1 ? memchr(dot1 + 1, '.', len - (apr_size_t)(dot1 + 1 - token)) : NULL;
    if (dot2 == NULL || memchr(dot2 + 1, '.', len - (apr_size_t)(dot2 + 1 - token))) {
        return "malformed token";
    }
    if (sse_b64url_decode(p, token, (apr_size_t)(dot1 - token), &header, &header_len) != 0
        || sse_b64url_decode(p, dot1 + 1, (apr_size_t)(dot2 - dot1 - 1),
                             &payload, &payload_len) != 0
        || sse_b64url_decode(p, dot2 + 1, len - (apr_size_t)(dot2 + 1 - token),
                             &sig, &sig_len) != 0) {
        return "malformed token";
    }

    if ((reason = check_header(p, policy, header, header_len, &alg, &kid)) != NULL) {
        return reason;
    }

    for (i = 0; keys && i < keys->nelts && !verified; i++) {
        const sse_jwt_key *key = APR_ARRAY_IDX(keys, i, const sse_jwt_key *);
        if (!key_matches(key, alg, kid)) {
            continue;
        }
        tried = 1;
        /* The signing input is the first two segments exactly as sent. */
        verified = sse_jwt_signature_ok(key, (const unsigned char *)token,
                                        (apr_size_t)(dot2 - token), sig, sig_len);
    }
    if (!tried) {
        return "no matching key";
    }
    if (!verified) {
        return "signature mismatch";
    }

    return sse_jwt_check_claims(p, policy, payload, payload_len, now, claims);
}

sse_jwt_failure sse_jwt_failure_of(const char *reason)
{
    static const struct {
        const char *reason;
        sse_jwt_failure kind;
    } kinds[] = {
        { "malformed token",             SSE_JWT_FAIL_MALFORMED },
        { "token too large",             SSE_JWT_FAIL_MALFORMED },
        { "missing exp",                 SSE_JWT_FAIL_MALFORMED },
        { "invalid exp",                 SSE_JWT_FAIL_MALFORMED },
        { "invalid nbf",                 SSE_JWT_FAIL_MALFORMED },
        { "invalid iat",                 SSE_JWT_FAIL_MALFORMED },
        { "no matching key",             SSE_JWT_FAIL_UNKNOWN_KEY },
        { "signature mismatch",          SSE_JWT_FAIL_BAD_SIGNATURE },
        { "token expired",               SSE_JWT_FAIL_EXPIRED },
        { "token not yet valid",         SSE_JWT_FAIL_NOT_YET_VALID },
        { "issued in the future",        SSE_JWT_FAIL_NOT_YET_VALID },
        { "wrong issuer",                SSE_JWT_FAIL_WRONG_ISSUER },
        { "wrong audience",              SSE_JWT_FAIL_WRONG_AUDIENCE },
        { "unexpected audience",         SSE_JWT_FAIL_WRONG_AUDIENCE },
        { "unsupported algorithm",       SSE_JWT_FAIL_UNSUPPORTED },
        { "unsupported critical header", SSE_JWT_FAIL_UNSUPPORTED },
        { "nested token not supported",  SSE_JWT_FAIL_UNSUPPORTED },
    };
    size_t i;

    for (i = 0; reason && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (!strcmp(reason, kinds[i].reason)) {
            return kinds[i].kind;
        }
    }
    return SSE_JWT_FAIL_OTHER;      /* "wrong token type", and any new reason */
}
