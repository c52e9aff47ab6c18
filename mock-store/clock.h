/* clock.h: the two clocks mock-store reads: wall time for what it reports
 * (localTime, $currentDate) and monotonic time for what it measures (uptime,
 * idle cursors, blocked connections). */
#ifndef MS_CLOCK_H
#define MS_CLOCK_H

#include <stdint.h>

int64_t ms_wall_ms(void);
int64_t ms_monotonic_ms(void);

#endif
