/* test_b64url.c: strict base64url as JOSE uses it (sse_b64url.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_pools.h>

#include "sse_b64url.h"

static int setup(void **state)
{
    apr_pool_t *p;
    if (apr_pool_create(&p, NULL) != APR_SUCCESS)
        return -1;
    *state = p;
    return 0;
}

static int teardown(void **state)
{
    apr_pool_destroy(*state);
    return 0;
}

static int decodes(apr_pool_t *p, const char *in)
{
    unsigned char *out = NULL;
    apr_size_t outlen = 0;
    return sse_b64url_decode(p, in, strlen(in), &out, &outlen) == 0;
}

/* RFC 4648 section 10, without the padding. */
static const struct { const char *plain, *encoded; } rfc4648[] = {
    { "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
    { "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" }, { "foobar", "Zm9vYmFy" },
};

static void decodes_rfc4648_vectors(void **state)
{
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
        unsigned char *out = NULL;
        apr_size_t outlen = 99;
        assert_int_equal(sse_b64url_decode(p, rfc4648[i].encoded,
                                           strlen(rfc4648[i].encoded), &out, &outlen), 0);
        assert_int_equal(outlen, strlen(rfc4648[i].plain));
        assert_memory_equal(out, rfc4648[i].plain, outlen);
        assert_int_equal(out[outlen], '\0');
    }
}

static void encodes_rfc4648_vectors_without_padding(void **state)
{
    apr_pool_t *p = *state;
    size_t i;

    for (i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
        const char *plain = rfc4648[i].plain;
        assert_string_equal(sse_b64url_encode(p, (const unsigned char *)plain, strlen(plain)),
                            rfc4648[i].encoded);
    }
}

static void uses_the_url_safe_alphabet(void **state)
{
    apr_pool_t *p = *state;
    const unsigned char bytes[] = { 0xfb, 0xff, 0xbf };
    unsigned char *out;
    apr_size_t outlen;

    assert_string_equal(sse_b64url_encode(p, bytes, 3), "-_-_");
    assert_int_equal(sse_b64url_decode(p, "-_-_", 4, &out, &outlen), 0);
    assert_int_equal(outlen, 3);
    assert_memory_equal(out, bytes, 3);
}

static void round_trips_every_byte_value_and_length(void **state)
{
    apr_pool_t *p = *state;
    unsigned char bytes[300];
    apr_size_t len, i;

    for (i = 0; i < sizeof(bytes); i++)
        bytes[i] = (unsigned char)(i * 7 + 3);
    for (len = 0; len <= sizeof(bytes); len++) {
        const char *enc = sse_b64url_encode(p, bytes, len);
        unsigned char *out;
        apr_size_t outlen;
        assert_int_equal(strlen(enc), (len * 4 + 2) / 3);
        assert_int_equal(sse_b64url_decode(p, enc, strlen(enc), &out, &outlen), 0);
        assert_int_equal(outlen, len);
        assert_memory_equal(out, bytes, len);
    }
}

static void decodes_only_the_given_length(void **state)
{
    apr_pool_t *p = *state;
    unsigned char *out;
    apr_size_t outlen;

    assert_int_equal(sse_b64url_decode(p, "Zm9v.garbage", 4, &out, &outlen), 0);
    assert_int_equal(outlen, 3);
    assert_memory_equal(out, "foo", 3);
}

static void rejects_padding(void **state)
{
    apr_pool_t *p = *state;
    assert_false(decodes(p, "Zg=="));
    assert_false(decodes(p, "Zm8="));
    assert_false(decodes(p, "Zg="));
    assert_false(decodes(p, "===="));
}

static void rejects_whitespace(void **state)
{
    apr_pool_t *p = *state;
    assert_false(decodes(p, "Zm9v Zm9v"));
    assert_false(decodes(p, "Zm9v\nZm9v"));
    assert_false(decodes(p, "Zm9v\r\n"));
    assert_false(decodes(p, "\tZm9v"));
    assert_false(decodes(p, " Zm9v"));
}

static void rejects_the_standard_alphabet(void **state)
{
    apr_pool_t *p = *state;
    assert_false(decodes(p, "+/+/"));
    assert_false(decodes(p, "Zm9+"));
    assert_false(decodes(p, "Zm9/"));
}

static void rejects_other_bytes(void **state)
{
    apr_pool_t *p = *state;
    unsigned char *out;
    apr_size_t outlen;
    char buf[4] = { 'Z', 'm', '9', 'v' };
    int c;

    for (c = 0; c < 256; c++) {
        int valid = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
                    || (c >= '0' && c <= '9') || c == '-' || c == '_';
        buf[3] = (char)c;
        assert_int_equal(sse_b64url_decode(p, buf, 4, &out, &outlen) == 0, valid);
    }
}

static void rejects_a_length_of_one_mod_four(void **state)
{
    apr_pool_t *p = *state;
    assert_false(decodes(p, "Z"));
    assert_false(decodes(p, "Zm9vZ"));
    assert_true(decodes(p, "Zm9vZg"));
}

static void rejects_non_canonical_trailing_bits(void **state)
{
    apr_pool_t *p = *state;
    /* "f" is Zg; Zh..Zv carry the same byte with nonzero spare bits. */
    assert_true(decodes(p, "Zg"));
    assert_false(decodes(p, "Zh"));
    assert_false(decodes(p, "Zv"));
    /* "fo" is Zm8; Zm9 has a spare bit set. */
    assert_true(decodes(p, "Zm8"));
    assert_false(decodes(p, "Zm9"));
    assert_false(decodes(p, "Zm_"));
}

static void decodes_the_empty_string(void **state)
{
    apr_pool_t *p = *state;
    unsigned char *out = NULL;
    apr_size_t outlen = 99;

    assert_int_equal(sse_b64url_decode(p, "", 0, &out, &outlen), 0);
    assert_int_equal(outlen, 0);
    assert_non_null(out);
    assert_int_equal(out[0], '\0');
}

static void encoding_is_the_only_accepted_spelling(void **state)
{
    /* For every 1- and 2-byte input, exactly one 2- or 3-char string decodes to it. */
    apr_pool_t *p = *state;
    const char *alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    int a, b, accepted = 0;

    for (a = 0; a < 64; a++) {
        for (b = 0; b < 64; b++) {
            char s[2] = { alphabet[a], alphabet[b] };
            unsigned char *out;
            apr_size_t outlen;
            if (sse_b64url_decode(p, s, 2, &out, &outlen) == 0) {
                accepted++;
                assert_memory_equal(sse_b64url_encode(p, out, outlen), s, 2);
            }
        }
    }
    assert_int_equal(accepted, 256);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(decodes_rfc4648_vectors, setup, teardown),
        cmocka_unit_test_setup_teardown(encodes_rfc4648_vectors_without_padding, setup, teardown),
        cmocka_unit_test_setup_teardown(uses_the_url_safe_alphabet, setup, teardown),
        cmocka_unit_test_setup_teardown(round_trips_every_byte_value_and_length, setup, teardown),
        cmocka_unit_test_setup_teardown(decodes_only_the_given_length, setup, teardown),
        cmocka_unit_test_setup_teardown(rejects_padding, setup, teardown),
        cmocka_unit_test_setup_teardown(rejects_whitespace, setup, teardown),
        cmocka_unit_test_setup_teardown(rejects_the_standard_alphabet, setup, teardown),
        cmocka_unit_test_setup_teardown(rejects_other_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(rejects_a_length_of_one_mod_four, setup, teardown),
        cmocka_unit_test_setup_teardown(rejects_non_canonical_trailing_bits, setup, teardown),
        cmocka_unit_test_setup_teardown(decodes_the_empty_string, setup, teardown),
        cmocka_unit_test_setup_teardown(encoding_is_the_only_accepted_spelling, setup, teardown),
    };
    int rc;

    apr_initialize();
    rc = cmocka_run_group_tests_name("b64url", tests, NULL, NULL);
    apr_terminate();
    return rc;
}
