/* fuzz_b64url.c: libFuzzer target for sse_b64url.c.
 *
 * Strictness means one spelling per byte string, which gives two properties
 * to check on every input: whatever decodes re-encodes to exactly the input,
 * and whatever is encoded decodes back to exactly the bytes. Any broken
 * promise aborts, which libFuzzer reports as a crash. */
#include <apr_general.h>
#include <apr_pools.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sse_b64url.h"

#define FUZZ_NAME "fuzz_b64url"
#include "fuzz_support.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *out;
    apr_size_t outlen;
    const char *enc;

    if (sse_b64url_decode(pool, (const char *)data, size, &out, &outlen) == 0) {
        CHECK(size % 4 != 1, "accepted a length of 1 mod 4");
        CHECK(outlen == size / 4 * 3 + (size % 4 ? size % 4 - 1 : 0), "wrong decoded length");
        CHECK(out[outlen] == '\0', "decoded bytes not NUL-terminated");
        enc = sse_b64url_encode(pool, out, outlen);
        CHECK(strlen(enc) == size && memcmp(enc, data, size) == 0,
              "a decoded string does not re-encode to itself");
    }

    enc = sse_b64url_encode(pool, data, size);
    CHECK(strlen(enc) == (size * 4 + 2) / 3, "wrong encoded length");
    CHECK(sse_b64url_decode(pool, enc, strlen(enc), &out, &outlen) == 0,
          "an encoding does not decode");
    CHECK(outlen == size && (size == 0 || memcmp(out, data, size) == 0),
          "round trip changed the bytes");

    apr_pool_clear(pool);
    return 0;
}
