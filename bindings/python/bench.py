#!/usr/bin/env python3
"""Python goroutines against threads, asyncio and gevent, in one run.

1. spawn + join of N trivial tasks: gosched.go + gosched.wait; threading.Thread start +
   join; asyncio.create_task + gather; gevent.spawn + joinall.
2. ping-pong between two tasks over two channels/queues: gosched.Chan (unbuffered)
   between two goroutines; queue.Queue between two threads; asyncio.Queue between two
   tasks; gevent.queue.Queue between two greenlets.
3. a 3-stage pipeline of M messages (producer -> +1 -> *2 -> consumer) over buffered
   channels/queues (capacity 64), the consumer a task like the others;
4. the same pipeline with capacity 1 and the consumer on the main thread (for gosched:
   the main thread receives from a goroutine pipeline; for asyncio and gevent the
   consumer is the main task/greenlet, as the main thread is theirs).

Each figure is the median of --reps runs. gevent is imported if installed, else
installed with pip into a cache directory ($GOSCHED_BENCH_CACHE, default
~/.cache/gosched-bench); if that fails its column says SKIPPED and why.

Prints ns per operation (per spawned task, per round trip, per message) and how
gosched compares. When gosched ran with more than one P, the two pipelines are then run
again, gosched only, with one P (``init(procs=1)``), in the same process: Python code
runs one goroutine at a time, and one P saves the hand-offs of the GIL between OS
threads (see the README's Performance section).

    python3 bindings/python/bench.py [--spawn N] [--pingpong N] [--pipeline M] [--reps R] [--procs N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import queue
import statistics
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Dict, Optional

try:
    import gosched
except ModuleNotFoundError:  # run from the source tree without installing
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import gosched


def bench_gosched_spawn(n: int) -> float:
    def noop() -> None:
        pass

    t0 = time.perf_counter()
    for _ in range(n):
        gosched.go(noop)
    gosched.wait()
    return time.perf_counter() - t0


def bench_threads_spawn(n: int) -> float:
    def noop() -> None:
        pass

    t0 = time.perf_counter()
    batch = 256  # at most this many live threads at a time
    for start in range(0, n, batch):
        ts = [threading.Thread(target=noop) for _ in range(min(batch, n - start))]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    return time.perf_counter() - t0


def bench_asyncio_spawn(n: int) -> float:
    async def noop() -> None:
        pass

    async def main() -> float:
        t0 = time.perf_counter()
        await asyncio.gather(*[asyncio.create_task(noop()) for _ in range(n)])
        return time.perf_counter() - t0

    return asyncio.run(main())


def bench_gosched_pingpong(n: int) -> float:
    ping, pong = gosched.Chan(), gosched.Chan()
    done = gosched.Chan(1)

    def player_a() -> None:
        t0 = time.perf_counter()
        for i in range(n):
            ping.send(i)
            pong.recv()
        done.send(time.perf_counter() - t0)

    def player_b() -> None:
        for _ in range(n):
            pong.send(ping.recv())

    gosched.go(player_b)
    gosched.go(player_a)
    return done.recv()


def bench_threads_pingpong(n: int) -> float:
    ping: queue.Queue = queue.Queue()
    pong: queue.Queue = queue.Queue()
    out = []

    def player_a() -> None:
        t0 = time.perf_counter()
        for i in range(n):
            ping.put(i)
            pong.get()
        out.append(time.perf_counter() - t0)

    def player_b() -> None:
        for _ in range(n):
            pong.put(ping.get())

    ts = [threading.Thread(target=player_b), threading.Thread(target=player_a)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out[0]


def bench_asyncio_pingpong(n: int) -> float:
    async def main() -> float:
        ping: asyncio.Queue = asyncio.Queue()
        pong: asyncio.Queue = asyncio.Queue()

        async def player_a() -> float:
            t0 = time.perf_counter()
            for i in range(n):
                await ping.put(i)
                await pong.get()
            return time.perf_counter() - t0

        async def player_b() -> None:
            for _ in range(n):
                await pong.put(await ping.get())

        b = asyncio.create_task(player_b())
        dt = await player_a()
        await b
        return dt

    return asyncio.run(main())


# ---------------------------------------------------------------------------------------
# The 3-stage pipeline: producer -> (+1) -> (*2) -> consumer.


def _expected(m: int) -> int:
    return sum((i + 1) * 2 for i in range(m))


def bench_gosched_pipeline(m: int, cap: int, main_consumer: bool) -> float:
    a, b, c = gosched.Chan[int](cap), gosched.Chan[int](cap), gosched.Chan[int](cap)

    def produce() -> None:
        send = a.send
        for i in range(m):
            send(i)
        a.close()

    def inc() -> None:
        send = b.send
        for v in a:
            send(v + 1)
        b.close()

    def dbl() -> None:
        send = c.send
        for v in b:
            send(v * 2)
        c.close()

    def consume() -> int:
        total = 0
        for v in c:
            total += v
        return total

    t0 = time.perf_counter()
    gosched.go(produce)
    gosched.go(inc)
    gosched.go(dbl)
    if main_consumer:
        total = consume()
    else:
        total = gosched.go(consume).result()
    dt = time.perf_counter() - t0
    assert total == _expected(m), total
    return dt


_DONE = object()


def bench_threads_pipeline(m: int, cap: int, main_consumer: bool) -> float:
    a: "queue.Queue[Any]" = queue.Queue(cap)
    b: "queue.Queue[Any]" = queue.Queue(cap)
    c: "queue.Queue[Any]" = queue.Queue(cap)
    out = []

    def produce() -> None:
        for i in range(m):
            a.put(i)
        a.put(_DONE)

    def stage(src: "queue.Queue[Any]", dst: "queue.Queue[Any]", f: Callable[[int], int]) -> None:
        while True:
            v = src.get()
            if v is _DONE:
                dst.put(_DONE)
                return
            dst.put(f(v))

    def consume() -> None:
        total = 0
        while True:
            v = c.get()
            if v is _DONE:
                out.append(total)
                return
            total += v

    t0 = time.perf_counter()
    ts = [
        threading.Thread(target=produce),
        threading.Thread(target=stage, args=(a, b, lambda v: v + 1)),
        threading.Thread(target=stage, args=(b, c, lambda v: v * 2)),
    ]
    if not main_consumer:
        ts.append(threading.Thread(target=consume))
    for t in ts:
        t.start()
    if main_consumer:
        consume()
    for t in ts:
        t.join()
    dt = time.perf_counter() - t0
    assert out[0] == _expected(m)
    return dt


def bench_asyncio_pipeline(m: int, cap: int, main_consumer: bool) -> float:
    async def main() -> float:
        a: "asyncio.Queue[Any]" = asyncio.Queue(cap)
        b: "asyncio.Queue[Any]" = asyncio.Queue(cap)
        c: "asyncio.Queue[Any]" = asyncio.Queue(cap)

        async def produce() -> None:
            for i in range(m):
                await a.put(i)
            await a.put(_DONE)

        async def stage(src: "asyncio.Queue[Any]", dst: "asyncio.Queue[Any]", f: Callable[[int], int]) -> None:
            while True:
                v = await src.get()
                if v is _DONE:
                    await dst.put(_DONE)
                    return
                await dst.put(f(v))

        async def consume() -> int:
            total = 0
            while True:
                v = await c.get()
                if v is _DONE:
                    return total
                total += v

        t0 = time.perf_counter()
        tasks = [
            asyncio.create_task(produce()),
            asyncio.create_task(stage(a, b, lambda v: v + 1)),
            asyncio.create_task(stage(b, c, lambda v: v * 2)),
        ]
        if main_consumer:
            total = await consume()
        else:
            total = await asyncio.create_task(consume())
        await asyncio.gather(*tasks)
        dt = time.perf_counter() - t0
        assert total == _expected(m)
        return dt

    return asyncio.run(main())


def bench_gevent_pipeline(m: int, cap: int, main_consumer: bool) -> float:
    import gevent
    import gevent.queue

    a = gevent.queue.Queue(cap)
    b = gevent.queue.Queue(cap)
    c = gevent.queue.Queue(cap)

    def produce() -> None:
        for i in range(m):
            a.put(i)
        a.put(_DONE)

    def stage(src: Any, dst: Any, f: Callable[[int], int]) -> None:
        while True:
            v = src.get()
            if v is _DONE:
                dst.put(_DONE)
                return
            dst.put(f(v))

    def consume() -> int:
        total = 0
        while True:
            v = c.get()
            if v is _DONE:
                return total
            total += v

    t0 = time.perf_counter()
    gs = [gevent.spawn(produce), gevent.spawn(stage, a, b, lambda v: v + 1), gevent.spawn(stage, b, c, lambda v: v * 2)]
    if main_consumer:
        total = consume()
    else:
        g = gevent.spawn(consume)
        total = g.get()
    gevent.joinall(gs)
    dt = time.perf_counter() - t0
    assert total == _expected(m)
    return dt


def bench_gevent_spawn(n: int) -> float:
    import gevent

    def noop() -> None:
        pass

    t0 = time.perf_counter()
    gevent.joinall([gevent.spawn(noop) for _ in range(n)])
    return time.perf_counter() - t0


def bench_gevent_pingpong(n: int) -> float:
    import gevent
    import gevent.queue

    ping = gevent.queue.Queue()
    pong = gevent.queue.Queue()

    def player_b() -> None:
        for _ in range(n):
            pong.put(ping.get())

    b = gevent.spawn(player_b)
    t0 = time.perf_counter()
    for i in range(n):
        ping.put(i)
        pong.get()
    dt = time.perf_counter() - t0
    b.join()
    return dt


_gevent_why: Optional[str] = None


def have_gevent() -> bool:
    """Imports gevent, installing it with pip into a cache directory first if needed."""
    global _gevent_why
    try:
        import gevent  # noqa: F401

        return True
    except ImportError:
        pass
    cache = os.environ.get("GOSCHED_BENCH_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "gosched-bench")
    if cache not in sys.path:
        sys.path.append(cache)
    try:
        import gevent  # noqa: F401,F811

        return True
    except ImportError:
        pass
    r = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target", cache, "gevent"],
        capture_output=True,
        text=True,
    )
    try:
        import gevent  # noqa: F401,F811

        return True
    except ImportError as e:
        _gevent_why = f"gevent did not install ({(r.stderr.strip().splitlines() or [str(e)])[-1]})"
        return False


def median_of(reps: int, f: Callable[[], float]) -> float:
    return statistics.median(f() for _ in range(reps))


def report(title: str, unit: str, n: int, results: Dict[str, Optional[float]]) -> Dict[str, float]:
    ns = {k: v / n * 1e9 for k, v in results.items() if v is not None}
    g = ns["gosched"]
    print(f"{title}:")
    for k, v in results.items():
        if v is None:
            print(f"  {k:<18} SKIPPED: {_gevent_why}")
            continue
        v = ns[k]
        if k == "gosched":
            print(f"  {k:<18} {v:>10.0f} ns/{unit}")
        else:
            ratio = v / g
            word = "faster" if ratio >= 1 else "slower"
            shown = ratio if ratio >= 1 else 1 / ratio
            print(f"  {k:<18} {v:>10.0f} ns/{unit}   gosched is {shown:.2f}x {word}")
    return ns


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spawn", type=int, default=100_000, help="tasks spawned and joined")
    ap.add_argument("--pingpong", type=int, default=50_000, help="round trips")
    ap.add_argument("--pipeline", type=int, default=100_000, help="messages through the pipeline")
    ap.add_argument("--reps", type=int, default=3, help="runs per figure (the median is shown)")
    ap.add_argument("--procs", type=int, default=None, help="gosched Ps (default: CPUs)")
    ap.add_argument("--only-pipeline", action="store_true", help="run the pipeline benchmarks only")
    a = ap.parse_args()
    gevent_ok = have_gevent()

    gosched.init(procs=a.procs)
    s = gosched.stats()
    print(
        f"gosched {gosched.library_version()} ({gosched.library_path}), {s['procs']} procs, "
        f"Python {sys.version.split()[0]}, thread mode {gosched.thread_mode()!r}, "
        f"{os.cpu_count()} CPUs"
    )
    r = a.reps
    if not a.only_pipeline:
        report(
            f"spawn + join of {a.spawn} trivial tasks",
            "task",
            a.spawn,
            {
                "gosched": median_of(r, lambda: bench_gosched_spawn(a.spawn)),
                "threading": median_of(r, lambda: bench_threads_spawn(a.spawn)),
                "asyncio": median_of(r, lambda: bench_asyncio_spawn(a.spawn)),
                "gevent": median_of(r, lambda: bench_gevent_spawn(a.spawn)) if gevent_ok else None,
            },
        )
        report(
            f"ping-pong, {a.pingpong} round trips",
            "round trip",
            a.pingpong,
            {
                "gosched": median_of(r, lambda: bench_gosched_pingpong(a.pingpong)),
                "threading+Queue": median_of(r, lambda: bench_threads_pingpong(a.pingpong)),
                "asyncio.Queue": median_of(r, lambda: bench_asyncio_pingpong(a.pingpong)),
                "gevent.Queue": median_of(r, lambda: bench_gevent_pingpong(a.pingpong)) if gevent_ok else None,
            },
        )
    m = a.pipeline
    tasks = report(
        f"3-stage pipeline, {m} messages, capacity 64, consumer a task",
        "message",
        m,
        {
            "gosched": median_of(r, lambda: bench_gosched_pipeline(m, 64, False)),
            "threading+Queue": median_of(r, lambda: bench_threads_pipeline(m, 64, False)),
            "asyncio.Queue": median_of(r, lambda: bench_asyncio_pipeline(m, 64, False)),
            "gevent.Queue": median_of(r, lambda: bench_gevent_pipeline(m, 64, False)) if gevent_ok else None,
        },
    )
    main = report(
        f"3-stage pipeline, {m} messages, capacity 1, consumer on the main thread",
        "message",
        m,
        {
            "gosched": median_of(r, lambda: bench_gosched_pipeline(m, 1, True)),
            "threading+Queue": median_of(r, lambda: bench_threads_pipeline(m, 1, True)),
            "asyncio.Queue": median_of(r, lambda: bench_asyncio_pipeline(m, 1, True)),
            "gevent.Queue": median_of(r, lambda: bench_gevent_pipeline(m, 1, True)) if gevent_ok else None,
        },
    )
    gcap1 = median_of(r, lambda: bench_gosched_pipeline(m, 1, False))
    print(
        f"gosched, capacity 1: main-thread consumer {main['gosched']:.0f} ns/message, goroutine "
        f"consumer {gcap1 / m * 1e9:.0f} ns/message ({main['gosched'] / (gcap1 / m * 1e9):.2f}x)"
    )
    print(f"gosched vs asyncio, pipeline (capacity 64): {tasks['asyncio.Queue'] / tasks['gosched']:.2f}x as fast")
    gosched.shutdown()
    if s["procs"] > 1:
        gosched.init(procs=1)
        one = [median_of(r, lambda: bench_gosched_pipeline(m, c, main)) / m * 1e9 for c, main in ((64, False), (1, True), (1, False))]
        gosched.shutdown()
        print(
            f"gosched with 1 P: pipeline (capacity 64) {one[0]:.0f} ns/message "
            f"({tasks['asyncio.Queue'] / one[0]:.2f}x as fast as asyncio); capacity 1: main-thread consumer "
            f"{one[1]:.0f} ns/message, goroutine consumer {one[2]:.0f} ns/message ({one[1] / one[2]:.2f}x)"
        )


if __name__ == "__main__":
    main()
