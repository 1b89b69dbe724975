/*
 * Prints the layout of the public structs of gosched.h, one line per struct
 * ("name size align") and per field ("name.field offset size"), for tests/abi.rs to
 * compare with abi/layout.txt. Also prints the version macros and gs_version().
 */
#include <gosched.h>
#include <stdalign.h>
#include <stdio.h>

#define STRUCT(t) printf("%s %zu %zu\n", #t, sizeof(t), alignof(t))
#define FIELD(t, f) printf("%s.%s %zu %zu\n", #t, #f, offsetof(t, f), sizeof(((t *)0)->f))

int main(void)
{
    STRUCT(gs_config);
    FIELD(gs_config, nprocs);
    FIELD(gs_config, stack_size);
    FIELD(gs_config, max_threads);
    FIELD(gs_config, flags);
    FIELD(gs_config, longrun_ms);
    STRUCT(gs_go_opts);
    FIELD(gs_go_opts, stack_size);
    FIELD(gs_go_opts, name);
    FIELD(gs_go_opts, flags);
    STRUCT(gs_select_case);
    FIELD(gs_select_case, chan);
    FIELD(gs_select_case, op);
    FIELD(gs_select_case, elem);
    FIELD(gs_select_case, result);
    STRUCT(gs_stats);
    FIELD(gs_stats, goroutines);
    FIELD(gs_stats, runnable);
    FIELD(gs_stats, waiting);
    FIELD(gs_stats, in_syscall);
    FIELD(gs_stats, procs);
    FIELD(gs_stats, idle_procs);
    FIELD(gs_stats, threads);
    FIELD(gs_stats, idle_threads);
    FIELD(gs_stats, spinning_threads);
    FIELD(gs_stats, global_runq);
    FIELD(gs_stats, spawned_total);
    FIELD(gs_stats, switches_total);
    FIELD(gs_stats, steals_total);
    FIELD(gs_stats, netpoll_waiters);
    FIELD(gs_stats, timers);
    STRUCT(gs_once);
    FIELD(gs_once, _state);
    FIELD(gs_once, _pad);
    FIELD(gs_once, _private);
#if defined(__x86_64__) && !defined(GS_NO_INLINE_RWMUTEX)
    STRUCT(gs__rwmutex_head);
    FIELD(gs__rwmutex_head, _lock);
    FIELD(gs__rwmutex_head, _magic);
    FIELD(gs__rwmutex_head, _nslots);
    FIELD(gs__rwmutex_head, _gate);
    FIELD(gs__rwmutex_head, _tpoff);
#endif
    printf("version %d %d %d %s %s %ld\n", GS_VERSION_MAJOR, GS_VERSION_MINOR, GS_VERSION_PATCH,
           GS_VERSION_STRING, gs_version(), (long)GS_VERSION_NUMBER);
    return 0;
}
