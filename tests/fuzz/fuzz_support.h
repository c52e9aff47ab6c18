/* fuzz_support.h: what every libFuzzer target here shares: one APR pool made
 * before the first input, and CHECK(), which aborts (a crash libFuzzer
 * records) when a property the target asserts does not hold. Define
 * FUZZ_NAME before including it. */
#ifndef FUZZ_SUPPORT_H
#define FUZZ_SUPPORT_H

#include <apr_general.h>
#include <apr_pools.h>
#include <stdio.h>
#include <stdlib.h>

static apr_pool_t *pool;

#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "%s: ", FUZZ_NAME);                             \
            fprintf(stderr, __VA_ARGS__);                                   \
            fputc('\n', stderr);                                            \
            abort();                                                        \
        }                                                                   \
    } while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (apr_initialize() != APR_SUCCESS || apr_pool_create(&pool, NULL) != APR_SUCCESS)
        abort();
    return 0;
}

#endif
