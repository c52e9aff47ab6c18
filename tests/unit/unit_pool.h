/* unit_pool.h: the one APR pool a cmocka test file allocates from, made
 * in the group setup, cleared after every test and destroyed at the end,
 * so ASan's leak check sees everything a test left behind. */
#ifndef UNIT_POOL_H
#define UNIT_POOL_H

#include <apr_general.h>
#include <apr_pools.h>

static apr_pool_t *pool;

static int group_setup(void **state)
{
    (void)state;
    if (apr_initialize() != APR_SUCCESS)
        return -1;
    return apr_pool_create(&pool, NULL) == APR_SUCCESS ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}

static int clear_pool(void **state)
{
    (void)state;
    apr_pool_clear(pool);
    return 0;
}

#endif
