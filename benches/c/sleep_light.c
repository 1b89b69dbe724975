/* sleep_light: sleep_timers under a light load, 100 goroutines x 100 sleeps of
 * 1 ms; the figure of interest is oversleep_mean_us (timer latency). Go's twin is
 * gobench -workload sleep_timers -n 100.
 *
 * bench-needs: gs_sleep
 */
#define SLEEP_WORKLOAD "sleep_light"
#define SLEEP_DEFAULT_G 100
#include "sleep_timers.c"
