/*
 * gs_context_* (Go's context package):
 *
 * 1. Propagation: a tree of 3 levels (1 root child, 4 children, 4 grandchildren
 *    each, plus a value context) under a cancel context: canceling the top closes
 *    every descendant's done channel (a receive returns GS_ECLOSED at once), and
 *    each reports GS_ECANCELED; a sibling tree is untouched. Canceling a child
 *    leaves its parent alone.
 * 2. Deadline: a context with a 30 ms timeout is canceled with GS_ETIMEDOUT no
 *    earlier than 30 ms and within the timer slack (200 ms, for loaded machines and
 *    sanitizers; typically 0.1 ms); a child inherits the
 *    earlier parent deadline (gs_context_deadline); a deadline already passed
 *    cancels at once.
 * 3. Select over done and a channel: 100 goroutines wait in gs_select on a work
 *    channel and their context's done; 50 get work, then cancel wakes the other 50
 *    through done.
 * 4. Values: found through descendants, nearest first; NULL for a missing key.
 * 5. Misuse: cancel of the background or a value context GS_EINVAL; free of a
 *    parent with children GS_EBUSY; NULL GS_EINVAL.
 */
#include "common.h"

#define MS 1000000LL

static bool is_closed(gs_context *c)
{
    int rc = gs_chan_try_recv(gs_context_done(c), NULL);
    if (rc != GS_ECLOSED && rc != GS_EAGAIN)
        FAIL("try_recv on done: %d", rc);
    return rc == GS_ECLOSED;
}

static void test_propagation(void)
{
    gs_context *bg = gs_context_background();
    CHECK(bg == gs_context_background());
    CHECK(gs_context_done(bg) == NULL);
    CHECK_RC(gs_context_err(bg), 0);
    gs_context *top, *other, *kids[4], *grand[4][4], *val;
    CHECK_RC(gs_context_with_cancel(bg, &top), 0);
    CHECK_RC(gs_context_with_cancel(bg, &other), 0);
    for (int i = 0; i < 4; i++) {
        CHECK_RC(gs_context_with_cancel(top, &kids[i]), 0);
        for (int j = 0; j < 4; j++)
            CHECK_RC(gs_context_with_cancel(kids[i], &grand[i][j]), 0);
    }
    CHECK_RC(gs_context_with_value(grand[2][1], (void *)1, (void *)2, &val), 0);
    CHECK(!is_closed(top) && !is_closed(val));
    /* Canceling a child leaves its parent and siblings alone. */
    CHECK_RC(gs_context_cancel(kids[3]), 0);
    CHECK(is_closed(kids[3]) && is_closed(grand[3][0]));
    CHECK_RC(gs_context_err(grand[3][2]), GS_ECANCELED);
    CHECK(!is_closed(top) && !is_closed(kids[0]));
    CHECK_RC(gs_context_err(top), 0);
    /* Cancel the top: every descendant. */
    CHECK_RC(gs_context_cancel(top), 0);
    CHECK(is_closed(top));
    for (int i = 0; i < 4; i++) {
        CHECK(is_closed(kids[i]));
        CHECK_RC(gs_context_err(kids[i]), GS_ECANCELED);
        for (int j = 0; j < 4; j++) {
            CHECK(is_closed(grand[i][j]));
            CHECK_RC(gs_context_err(grand[i][j]), GS_ECANCELED);
        }
    }
    CHECK(is_closed(val));
    CHECK_RC(gs_context_err(val), GS_ECANCELED);
    CHECK(!is_closed(other));
    CHECK_RC(gs_context_cancel(top), 0); /* again: nothing */
    /* A child of a canceled context is canceled at birth. */
    gs_context *late;
    CHECK_RC(gs_context_with_cancel(top, &late), 0);
    CHECK(is_closed(late));
    /* Free: children first. */
    CHECK_RC(gs_context_free(top), GS_EBUSY);
    CHECK_RC(gs_context_free(late), 0);
    CHECK_RC(gs_context_free(val), 0);
    for (int i = 0; i < 4; i++) {
        CHECK_RC(gs_context_free(kids[i]), GS_EBUSY);
        for (int j = 0; j < 4; j++)
            CHECK_RC(gs_context_free(grand[i][j]), 0);
        CHECK_RC(gs_context_free(kids[i]), 0);
    }
    CHECK_RC(gs_context_free(top), 0);
    CHECK_RC(gs_context_free(top), GS_EINVAL);
    CHECK_RC(gs_context_err(other), 0);
    CHECK_RC(gs_context_free(other), 0);
    CHECK_RC(gs_context_free(bg), 0); /* does nothing */
    CHECK_RC(gs_context_err(gs_context_background()), 0);
    printf("cancel propagates to every descendant, and only down: ok\n");
}

static void test_deadline(void)
{
    gs_context *c, *child, *late, *past;
    int64_t t0 = gs_nanotime();
    CHECK_RC(gs_context_with_timeout(gs_context_background(), 30 * MS, &c), 0);
    int64_t d = 0;
    CHECK_RC(gs_context_deadline(c, &d), 1);
    CHECK(d >= t0 + 30 * MS && d < t0 + 1000 * MS);
    CHECK_RC(gs_context_with_timeout(c, 10000 * MS, &late), 0); /* inherits the earlier */
    int64_t d2 = 0;
    CHECK_RC(gs_context_deadline(late, &d2), 1);
    CHECK_EQ(d2, d);
    CHECK_RC(gs_context_with_cancel(c, &child), 0);
    CHECK_RC(gs_context_deadline(gs_context_background(), &d2), 0);
    CHECK_RC(gs_chan_recv(gs_context_done(child), NULL), GS_ECLOSED); /* waits for it */
    int64_t dt = gs_nanotime() - t0;
    CHECK(dt >= 30 * MS);
    if (dt > 230 * MS)
        FAIL("the deadline fired %.1f ms late", (dt - 30 * MS) / 1e6);
    CHECK_RC(gs_context_err(c), GS_ETIMEDOUT);
    CHECK_RC(gs_context_err(child), GS_ETIMEDOUT);
    CHECK_RC(gs_context_err(late), GS_ETIMEDOUT);
    CHECK_RC(gs_context_with_deadline(gs_context_background(), gs_nanotime() - 1, &past), 0);
    CHECK(is_closed(past));
    CHECK_RC(gs_context_err(past), GS_ETIMEDOUT);
    CHECK_RC(gs_context_free(past), 0);
    CHECK_RC(gs_context_free(child), 0);
    CHECK_RC(gs_context_free(late), 0);
    CHECK_RC(gs_context_free(c), 0);
    /* Freeing a context before its deadline: the timer never fires into it. */
    for (int i = 0; i < 1000; i++) {
        CHECK_RC(gs_context_with_timeout(gs_context_background(), (i % 5) * 10000, &c), 0);
        if (i % 3 == 0)
            gs_sleep(10000);
        CHECK_RC(gs_context_free(c), 0);
    }
    printf("deadline fires on time (%.1f ms for 30 ms), inherited, freed early safely: ok\n", dt / 1e6);
}

static void deadline_g(void *arg)
{
    (void)arg;
    test_deadline();
}

/* ----------------------------------------------------- 3. select over done */
#define NW 100
static gs_chan *work;
static gs_context *wctx;
static atomic_int got_work, got_cancel;

static void worker(void *arg)
{
    (void)arg;
    int64_t job;
    gs_select_case cases[2] = {
        {.chan = work, .op = GS_RECV, .elem = &job},
        {.chan = gs_context_done(wctx), .op = GS_RECV, .elem = NULL},
    };
    int i = gs_select(cases, 2, -1);
    if (i == 0) {
        CHECK_EQ(job, 7);
        atomic_fetch_add(&got_work, 1);
    } else {
        CHECK_EQ(i, 1);
        CHECK_RC(cases[1].result, GS_ECLOSED);
        CHECK_RC(gs_context_err(wctx), GS_ECANCELED);
        atomic_fetch_add(&got_cancel, 1);
    }
}

static void test_select(void)
{
    work = gs_chan_new(sizeof(int64_t), 0);
    CHECK(work);
    CHECK_RC(gs_context_with_cancel(gs_context_background(), &wctx), 0);
    atomic_store(&got_work, 0);
    atomic_store(&got_cancel, 0);
    for (int i = 0; i < NW; i++)
        CHECK(gs_go(worker, NULL) > 0);
    int64_t job = 7;
    for (int i = 0; i < NW / 2; i++)
        CHECK_RC(gs_chan_send(work, &job), 0);
    /* Each send returns once a worker took the job; the worker counts it when it
       runs again, which a slow machine (a sanitizer) may delay: wait for the count. */
    for (int ms = 0; ms < 10000 && atomic_load(&got_work) < NW / 2; ms++)
        sleep_ms(1);
    CHECK_EQ(atomic_load(&got_work), NW / 2);
    CHECK_EQ(atomic_load(&got_cancel), 0);
    CHECK_RC(gs_context_cancel(wctx), 0);
    WAIT_ALL();
    CHECK_EQ(atomic_load(&got_cancel), NW / 2);
    CHECK_RC(gs_context_free(wctx), 0);
    CHECK_RC(gs_chan_free(work), 0);
    printf("select over done and a channel: 50 got work, 50 woke on cancel: ok\n");
}

static void test_values(void)
{
    static int k1, k2, k3;
    gs_context *a, *b, *c;
    CHECK_RC(gs_context_with_value(gs_context_background(), &k1, (void *)11, &a), 0);
    CHECK_RC(gs_context_with_cancel(a, &b), 0);
    CHECK_RC(gs_context_with_value(b, &k2, (void *)22, &c), 0);
    CHECK(gs_context_value(c, &k1) == (void *)11);
    CHECK(gs_context_value(c, &k2) == (void *)22);
    CHECK(gs_context_value(c, &k3) == NULL);
    CHECK(gs_context_value(b, &k2) == NULL); /* not visible upwards */
    gs_context *shadow;
    CHECK_RC(gs_context_with_value(c, &k1, (void *)99, &shadow), 0);
    CHECK(gs_context_value(shadow, &k1) == (void *)99); /* nearest first */
    CHECK_RC(gs_context_cancel(c), GS_EINVAL); /* a value context */
    CHECK_RC(gs_context_cancel(gs_context_background()), GS_EINVAL);
    CHECK_RC(gs_context_cancel(b), 0);
    CHECK_RC(gs_context_err(shadow), GS_ECANCELED);
    CHECK(gs_context_value(shadow, &k2) == (void *)22); /* values survive cancel */
    CHECK_RC(gs_context_free(shadow), 0);
    CHECK_RC(gs_context_free(c), 0);
    CHECK_RC(gs_context_free(b), 0);
    CHECK_RC(gs_context_free(a), 0);
    /* Hostile: the done channel freed by the user (the docs forbid it): cancel and
     * free still work without touching it. */
    gs_context *h;
    CHECK_RC(gs_context_with_cancel(gs_context_background(), &h), 0);
    CHECK_RC(gs_chan_free(gs_context_done(h)), 0);
    CHECK_RC(gs_context_cancel(h), 0);
    CHECK_RC(gs_context_err(h), GS_ECANCELED);
    CHECK_RC(gs_context_free(h), 0);
    printf("values: nearest first, not upwards, kept after cancel: ok\n");
}

int main(void)
{
    gs_context *c;
    CHECK_RC(gs_context_with_cancel(NULL, &c), GS_EINVAL);
    CHECK_RC(gs_context_with_cancel(gs_context_background(), NULL), GS_EINVAL);
    CHECK_RC(gs_context_with_timeout(gs_context_background(), 10 * MS, &c), GS_ENOTINIT);
    CHECK_RC(gs_context_cancel(NULL), GS_EINVAL);
    CHECK_RC(gs_context_err(NULL), GS_EINVAL);
    CHECK_RC(gs_context_free(NULL), GS_EINVAL);
    CHECK(gs_context_done(NULL) == NULL);
    test_propagation(); /* no runtime needed */
    test_values();
    init_procs(2);
    test_deadline(); /* from a foreign thread */
    CHECK(gs_go(deadline_g, NULL) > 0); /* and from a goroutine */
    WAIT_ALL();
    test_select();
    CHECK(gs_shutdown() >= 0);
    printf("sync_context: all ok\n");
    return 0;
}
