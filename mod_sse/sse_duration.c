/* sse_duration.c: durations as administrators write them in directives.
 *
 * Deliberately strict: a bare number of seconds or a number with one of the
 * units ms, s, m, h, nothing else (no sign, no spaces, no fractions), so a
 * typo fails `apachectl -t` instead of silently meaning something else.
 * Minimums (e.g. SSEPollInterval >= 100ms) are the caller's business. */
#include "sse_duration.h"

#include <apr_strings.h>
#include <stdint.h>
#include <string.h>

static const char *not_a_duration(apr_pool_t *p, const char *arg)
{
    return apr_psprintf(p, "'%s' is not a duration (use e.g. 3s, 500ms, 2m)",
                        arg ? arg : "");
}

/* Microseconds per unit, or 0 for an unknown unit. */
static apr_int64_t usec_per_unit(const char *unit)
{
    if (*unit == '\0' || strcmp(unit, "s") == 0) {
        return APR_USEC_PER_SEC;
    }
    if (strcmp(unit, "ms") == 0) {
        return 1000;
    }
    if (strcmp(unit, "m") == 0) {
        return 60 * APR_USEC_PER_SEC;
    }
    if (strcmp(unit, "h") == 0) {
        return 3600 * APR_USEC_PER_SEC;
    }
    return 0;
}

const char *sse_duration_parse(apr_pool_t *p, const char *arg,
                               apr_interval_time_t *out)
{
    const char *s = arg;
    apr_int64_t value = 0;
    apr_int64_t factor;

    if (s == NULL || *s == '\0') {
        return not_a_duration(p, arg);
    }
    if (*s == '-') {
        return apr_psprintf(p, "'%s' is not a duration: durations cannot be "
                            "negative (use e.g. 3s, 500ms, 2m)", arg);
    }
    if (*s < '0' || *s > '9') {
        return not_a_duration(p, arg);
    }

    for (; *s >= '0' && *s <= '9'; s++) {
        int digit = *s - '0';
        if (value > (INT64_MAX - digit) / 10) {
            return apr_psprintf(p, "'%s' is too long a duration", arg);
        }
        value = value * 10 + digit;
    }

    factor = usec_per_unit(s);
    if (factor == 0) {
        return not_a_duration(p, arg);
    }
    if (value > INT64_MAX / factor) {
        return apr_psprintf(p, "'%s' is too long a duration", arg);
    }

    *out = (apr_interval_time_t)(value * factor);
    return NULL;
}
