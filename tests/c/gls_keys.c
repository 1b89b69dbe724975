/*
 * Goroutine-local storage (gs_key_create, gs_key_delete, gs_setspecific,
 * gs_getspecific): each goroutine reads its own values on whichever thread it
 * resumes, at nprocs 1, 2 and 4; a new goroutine in a reused slot starts with NULL;
 * destructors run exactly once per value when a goroutine ends (by returning or by
 * gs_goexit), on that goroutine, with the value already cleared, and again for values
 * they set, at most GS_KEY_DESTRUCTOR_ITERATIONS rounds; values of deleted keys and of
 * goroutines abandoned by gs_shutdown get no call; bad, deleted and stale keys give
 * GS_EINVAL, off-goroutine calls GS_EPERM or NULL, and the key table runs out with
 * GS_EAGAIN.
 */
#include "common.h"

#define NG 400
#define SWITCHES 20
#define NAGAIN 50

static gs_key key_a, key_b;
static atomic_long migrations;
static atomic_int values_ok;

static long tid(void) { return syscall(SYS_gettid); }

/* ---- values per goroutine ---- */

static gs_chan *feed;

static void feeder(void *arg)
{
    (void)arg;
    int one = 1;
    while (gs_chan_send(feed, &one) == 0) {
    }
}

static void per_goroutine(void *arg)
{
    intptr_t i = (intptr_t)arg;
    static int cells[NG];
    CHECK(gs_getspecific(key_a) == NULL); /* a fresh goroutine, maybe in a reused slot */
    CHECK(gs_getspecific(key_b) == NULL);
    CHECK_RC(gs_setspecific(key_b, (void *)(i * 7 + 1)), 0);
    CHECK(gs_getspecific(key_a) == NULL); /* nothing left from the slot's last life */
    CHECK_RC(gs_setspecific(key_a, &cells[i]), 0);
    long t0 = tid();
    for (int r = 0; r < SWITCHES; r++) {
        switch ((i + r) % 3) {
        case 0:
            CHECK_RC(gs_gosched(), 0);
            break;
        case 1:
            CHECK_RC(gs_sleep(20000), 0);
            break;
        default: {
            int v;
            CHECK_RC(gs_chan_recv(feed, &v), 0);
        }
        }
        CHECK(gs_getspecific(key_a) == &cells[i]);
        CHECK(gs_getspecific(key_b) == (void *)(i * 7 + 1));
    }
    if (tid() != t0)
        atomic_fetch_add(&migrations, 1);
    CHECK_RC(gs_setspecific(key_b, NULL), 0);
    CHECK(gs_getspecific(key_b) == NULL);
    CHECK(gs_getspecific(key_a) == &cells[i]);
    atomic_fetch_add(&values_ok, 1);
}

static void values_at(uint32_t nprocs)
{
    gs_config cfg = {.nprocs = nprocs};
    CHECK_RC(gs_init(&cfg), 0);
    feed = gs_chan_new(sizeof(int), 0);
    CHECK(feed != NULL);
    CHECK(gs_go(feeder, NULL) > 0);
    atomic_store(&values_ok, 0);
    /* Two waves: the second reuses the first's goroutine slots and must read NULL. */
    for (int wave = 0; wave < 2; wave++) {
        int base = atomic_load(&values_ok);
        for (intptr_t i = 0; i < NG; i++)
            CHECK(gs_go(per_goroutine, (void *)i) > 0);
        while (atomic_load(&values_ok) < base + NG)
            usleep(1000);
    }
    CHECK_RC(gs_chan_close(feed), 0);
    CHECK_RC(gs_wait(TEST_WAIT_NS), 0);
    CHECK_RC(gs_chan_free(feed), 0);
    CHECK_RC(gs_shutdown(), 0);
    printf("nprocs %u: %d goroutines kept their values\n", nprocs, 2 * NG);
}

/* ---- destructors ---- */

static gs_key key_d, key_again, key_gone;
static atomic_int calls[NG];
static atomic_int bad_dtor;
static atomic_int again_rounds;
static atomic_int gone_calls;
static atomic_int gone_set, gone_deleted;

static void dtor(void *v)
{
    /* On the ending goroutine, with its value already cleared. */
    if (gs_self() == NULL || gs_getspecific(key_d) != NULL || gs_gosched() != 0)
        atomic_fetch_add(&bad_dtor, 1);
    atomic_fetch_add((atomic_int *)v, 1);
}

/* Sets its value again every time: called once per round. */
static void dtor_again(void *v)
{
    atomic_fetch_add(&again_rounds, 1);
    if (gs_setspecific(key_again, v) != 0)
        atomic_fetch_add(&bad_dtor, 1);
}

static void dtor_gone(void *v)
{
    (void)v;
    atomic_fetch_add(&gone_calls, 1);
}

static __attribute__((noinline)) void exit_deep(int depth)
{
    volatile char frame[32];
    frame[0] = (char)depth;
    if (depth > 0)
        exit_deep(depth - 1);
    else
        gs_goexit();
    (void)frame;
}

static void with_destructor(void *arg)
{
    intptr_t i = (intptr_t)arg;
    switch (i % 5) {
    case 0: /* set, then replaced: only the last value is destroyed */
        CHECK_RC(gs_setspecific(key_d, &calls[(i + 1) % NG]), 0);
        CHECK_RC(gs_setspecific(key_d, &calls[i]), 0);
        break;
    case 1: /* set, then cleared: no call */
        CHECK_RC(gs_setspecific(key_d, &calls[i]), 0);
        CHECK_RC(gs_setspecific(key_d, NULL), 0);
        return;
    case 2: /* ends with gs_goexit, after a switch */
        CHECK_RC(gs_setspecific(key_d, &calls[i]), 0);
        CHECK_RC(gs_gosched(), 0);
        exit_deep((int)(i % 4));
        break;
    case 3: /* a value under a key deleted before the goroutine ends: no call */
        CHECK_RC(gs_setspecific(key_gone, &calls[i]), 0);
        CHECK_RC(gs_setspecific(key_d, &calls[i]), 0);
        atomic_fetch_add(&gone_set, 1);
        while (!atomic_load(&gone_deleted))
            CHECK_RC(gs_sleep(100000), 0);
        CHECK(gs_getspecific(key_gone) == NULL);
        break;
    default: /* never sets a value */
        return;
    }
    CHECK_RC(gs_gosched(), 0);
}

static void again(void *arg)
{
    CHECK_RC(gs_setspecific(key_again, arg), 0);
}

static atomic_int stale_seen, fresh_checked;

/* Runs after the goroutines of `again`, in the slots they left: their last values
   (set by the last round of destructors) must not show. */
static void fresh(void *arg)
{
    (void)arg;
    if (gs_getspecific(key_again) != NULL || gs_getspecific(key_d) != NULL)
        atomic_fetch_add(&stale_seen, 1);
    CHECK_RC(gs_setspecific(key_b, &stale_seen), 0); /* a table, but nothing of key_again */
    if (gs_getspecific(key_again) != NULL)
        atomic_fetch_add(&stale_seen, 1);
    atomic_fetch_add(&fresh_checked, 1);
}

static gs_chan *never;

static void abandoned(void *arg)
{
    CHECK_RC(gs_setspecific(key_d, arg), 0);
    int v;
    gs_chan_recv(never, &v); /* blocks until gs_shutdown abandons it */
}

static void destructors(void)
{
    CHECK_RC(gs_key_create(&key_d, dtor), 0);
    CHECK_RC(gs_key_create(&key_again, dtor_again), 0);
    CHECK_RC(gs_key_create(&key_gone, dtor_gone), 0);
    gs_config cfg = {.nprocs = 2};
    CHECK_RC(gs_init(&cfg), 0);
    for (intptr_t i = 0; i < NG; i++)
        CHECK(gs_go(with_destructor, (void *)i) > 0);
    while (atomic_load(&gone_set) < NG / 5)
        usleep(1000);
    CHECK_RC(gs_key_delete(key_gone), 0);
    atomic_store(&gone_deleted, 1);
    for (int i = 0; i < NAGAIN; i++)
        CHECK(gs_go(again, &again_rounds) > 0);
    CHECK_RC(gs_wait(TEST_WAIT_NS), 0);
    for (int i = 0; i < 4 * NAGAIN; i++)
        CHECK(gs_go(fresh, NULL) > 0);
    CHECK_RC(gs_wait(TEST_WAIT_NS), 0);
    CHECK_EQ(atomic_load(&fresh_checked), 4 * NAGAIN);
    CHECK_EQ(atomic_load(&stale_seen), 0);
    for (int i = 0; i < NG; i++) {
        int want = (i % 5 == 0 || i % 5 == 2 || i % 5 == 3) ? 1 : 0;
        if (atomic_load(&calls[i]) != want)
            FAIL("value %d: destructor called %d times, want %d", i, atomic_load(&calls[i]), want);
    }
    CHECK_EQ(atomic_load(&bad_dtor), 0);
    CHECK_EQ(atomic_load(&gone_calls), 0);
    CHECK_EQ(atomic_load(&again_rounds), NAGAIN * GS_KEY_DESTRUCTOR_ITERATIONS);

    /* Abandoned goroutines: no destructor call at gs_shutdown. */
    static atomic_int abandoned_calls;
    never = gs_chan_new(sizeof(int), 0);
    CHECK(never != NULL);
    for (int i = 0; i < 10; i++)
        CHECK(gs_go(abandoned, &abandoned_calls) > 0);
    gs_stats st;
    do {
        usleep(1000);
        CHECK_RC(gs_stats_get(&st), 0);
    } while (st.waiting < 10);
    CHECK_EQ(gs_shutdown(), 10);
    CHECK_EQ(atomic_load(&abandoned_calls), 0);
    CHECK_RC(gs_key_delete(key_d), 0);
    CHECK_RC(gs_key_delete(key_again), 0);
    printf("destructors: once per value, %d rounds when they set values again\n",
           GS_KEY_DESTRUCTOR_ITERATIONS);
}

/* ---- bad keys, contexts, exhaustion ---- */

static atomic_int unlockf_rc;

static bool set_in_unlockf(gs_g *g, void *lock)
{
    (void)g;
    (void)lock;
    atomic_store(&unlockf_rc, gs_setspecific(key_a, &unlockf_rc));
    if (gs_getspecific(key_a) != NULL)
        atomic_store(&unlockf_rc, 1);
    return false; /* resume at once */
}

static atomic_int context_done;

static void contexts(void *arg)
{
    (void)arg;
    CHECK_RC(gs_park(set_in_unlockf, NULL, "gls test"), 0);
    CHECK_RC(atomic_load(&unlockf_rc), GS_EPERM);
    CHECK(gs_getspecific(key_a) == NULL); /* the unlockf's attempt set nothing */
    atomic_store(&context_done, 1);
}

static void errors(void)
{
    gs_key k;
    CHECK_RC(gs_key_create(NULL, NULL), GS_EINVAL);
    CHECK_RC(gs_key_delete(0), GS_EINVAL);
    CHECK_RC(gs_setspecific(0, &k), GS_EINVAL);
    CHECK(gs_getspecific(0) == NULL);
    CHECK_RC(gs_key_delete(123456789), GS_EINVAL);
    CHECK_RC(gs_key_delete(~(gs_key)0), GS_EINVAL);

    /* Keys work without a runtime; a deleted key is invalid, also once its slot is
       handed out again. */
    CHECK_RC(gs_key_create(&k, NULL), 0);
    CHECK(k != 0);
    CHECK_RC(gs_setspecific(k, &k), GS_EPERM); /* off-goroutine */
    CHECK(gs_getspecific(k) == NULL);
    CHECK_RC(gs_key_delete(k), 0);
    CHECK_RC(gs_key_delete(k), GS_EINVAL);
    CHECK_RC(gs_setspecific(k, &k), GS_EINVAL);
    gs_key k2;
    CHECK_RC(gs_key_create(&k2, NULL), 0);
    CHECK(k2 != k);
    CHECK_RC(gs_key_delete(k), GS_EINVAL);
    CHECK_RC(gs_setspecific(k, &k), GS_EINVAL);
    CHECK_RC(gs_key_delete(k2), 0);

    /* Exhaustion: GS_EAGAIN once GS_KEYS_MAX keys exist (key_a and key_b among them),
       and a slot freed by a delete is usable again. */
    static gs_key all[GS_KEYS_MAX];
    int n = 0;
    int rc;
    while ((rc = gs_key_create(&all[n], NULL)) == 0) {
        CHECK(n < GS_KEYS_MAX);
        n++;
    }
    CHECK_RC(rc, GS_EAGAIN);
    CHECK_EQ(n, GS_KEYS_MAX - 2);
    CHECK_RC(gs_key_delete(all[n / 2]), 0);
    gs_key again_key;
    CHECK_RC(gs_key_create(&again_key, NULL), 0);
    CHECK(again_key != all[n / 2]);
    CHECK_RC(gs_key_create(&k, NULL), GS_EAGAIN);
    CHECK_RC(gs_key_delete(all[n / 2]), GS_EINVAL);
    all[n / 2] = again_key;
    for (int i = 0; i < n; i++)
        CHECK_RC(gs_key_delete(all[i]), 0);
    printf("errors: bad and deleted keys, off-goroutine, %d keys then GS_EAGAIN\n", n);

    /* Inside an unlockf (on the scheduler's stack): GS_EPERM. */
    CHECK_RC(gs_init(NULL), 0);
    CHECK(gs_go(contexts, NULL) > 0);
    CHECK_RC(gs_wait(TEST_WAIT_NS), 0);
    CHECK_EQ(atomic_load(&context_done), 1);
    CHECK_RC(gs_shutdown(), 0);
}

int main(void)
{
    CHECK_RC(gs_key_create(&key_a, NULL), 0);
    CHECK_RC(gs_key_create(&key_b, NULL), 0);
    errors();
    values_at(1);
    values_at(2);
    values_at(4);
    printf("goroutines that resumed on another thread: %ld\n", atomic_load(&migrations));
    CHECK(atomic_load(&migrations) > 0);
    destructors();
    CHECK_RC(gs_key_delete(key_a), 0);
    CHECK_RC(gs_key_delete(key_b), 0);
    puts("gls_keys: OK");
    return 0;
}
