#!/usr/bin/env python3
"""Python goroutines against threads and asyncio, in one run.

1. spawn + join of N trivial tasks: gosched.go + gosched.wait; threading.Thread start +
   join; asyncio.create_task + gather.
2. ping-pong between two tasks over two channels/queues: gosched.Chan (unbuffered)
   between two goroutines; queue.Queue between two threads; asyncio.Queue between two
   tasks.

Prints ns per operation (per spawned task, per round trip) and how gosched compares.

    python3 bindings/python/bench.py [--spawn N] [--pingpong N] [--procs N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import queue
import sys
import threading
import time

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


def report(title: str, unit: str, n: int, results: dict) -> None:
    ns = {k: v / n * 1e9 for k, v in results.items()}
    g = ns["gosched"]
    print(f"{title}:")
    for k, v in ns.items():
        if k == "gosched":
            print(f"  {k:<18} {v:>10.0f} ns/{unit}")
        else:
            ratio = v / g
            word = "faster" if ratio >= 1 else "slower"
            shown = ratio if ratio >= 1 else 1 / ratio
            print(f"  {k:<18} {v:>10.0f} ns/{unit}   gosched is {shown:.1f}x {word}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spawn", type=int, default=100_000, help="tasks spawned and joined")
    ap.add_argument("--pingpong", type=int, default=50_000, help="round trips")
    ap.add_argument("--procs", type=int, default=None, help="gosched Ps (default: CPUs)")
    a = ap.parse_args()

    gosched.init(procs=a.procs)
    s = gosched.stats()
    print(
        f"gosched {gosched.library_version()} ({gosched.library_path}), {s['procs']} procs, "
        f"Python {sys.version.split()[0]}, thread mode {gosched.thread_mode()!r}, "
        f"{os.cpu_count()} CPUs"
    )
    report(
        f"spawn + join of {a.spawn} trivial tasks",
        "task",
        a.spawn,
        {
            "gosched": bench_gosched_spawn(a.spawn),
            "threading": bench_threads_spawn(a.spawn),
            "asyncio": bench_asyncio_spawn(a.spawn),
        },
    )
    report(
        f"ping-pong, {a.pingpong} round trips",
        "round trip",
        a.pingpong,
        {
            "gosched": bench_gosched_pingpong(a.pingpong),
            "threading+Queue": bench_threads_pingpong(a.pingpong),
            "asyncio.Queue": bench_asyncio_pingpong(a.pingpong),
        },
    )
    gosched.shutdown()


if __name__ == "__main__":
    main()
