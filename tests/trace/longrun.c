/*
 * The long-running detector of tests/trace.rs (GS_DEBUG=longrun=50): a goroutine
 * "spinner" runs 300 ms without a scheduling point, then a goroutine "yielder" runs
 * 300 ms calling gs_gosched every 100 us. tests/trace.rs checks that stderr reports
 * the spinner (its id and name, at least 50 ms) and never the yielder, and that the
 * trace (GS_TRACE) has the long-running event. Prints "did spinner=ID yielder=ID".
 */
#define _GNU_SOURCE
#include "gosched.h"
#include "../c/common.h"


static void spin_for(int64_t ns, bool yield)
{
    int64_t end = gs_nanotime() + ns, next = 0;
    while (gs_nanotime() < end) {
        if (yield && gs_nanotime() >= next) {
            CHECK_RC(gs_gosched(), 0);
            next = gs_nanotime() + 100000;
        }
    }
}

static void spinner(void *arg)
{
    (void)arg;
    spin_for(300000000, false);
}

static void yielder(void *arg)
{
    (void)arg;
    spin_for(300000000, true);
}

int main(void)
{
    CHECK_RC(gs_init(NULL), 0);
    gs_go_opts s = {0, "spinner", 0}, y = {0, "yielder", 0};
    int64_t sid = gs_go_with(spinner, NULL, &s);
    CHECK(sid > 0);
    CHECK_RC(gs_wait(-1), 0);
    int64_t yid = gs_go_with(yielder, NULL, &y);
    CHECK(yid > 0);
    CHECK_RC(gs_wait(-1), 0);
    printf("did spinner=%lld yielder=%lld\n", (long long)sid, (long long)yid);
    fflush(stdout);
    CHECK_RC(gs_shutdown(), 0);
    return 0;
}
