#!/usr/bin/env python3
"""Turns raw benchmark lines into a table of medians, ratios and targets.

usage: summarize.py [--markdown] RAW [RAW ...]

Input lines (from benches/c/*, benches/switch.rs and the Go peers alike):
    workload=<name> procs=<P> n=<count> value=<number> unit=<unit> [key=value ...]
`impl=` names the side: gosched, go (the default: the Go peers print no impl),
minimal (the raw switch baseline). tcp_echo lines name their side with `server=`
and their configuration with `server_procs=`.
Comment lines written by benches/run.sh:
    # FAIL workload=<name> procs=<P> impl=<side> rc=<code>
    # skipped workload=<name> reason=<text, may contain spaces>
Everything else is ignored.

For each (workload, procs, metric) the table shows the gosched median (min-max),
the reference median (Go, or the minimal switch for raw_switch), the ratio
gosched/reference, the target and PASS/MISS. Targets are in TARGETS below.
"""
import statistics
import sys
from collections import OrderedDict

# (workload, procs, metric) -> target.
#   ("ratio", x): median gosched / median reference <= x   (lower is better)
#   ("ratio>=", x): median gosched / median reference >= x (higher is better)
#   ("max", x): median gosched <= x, in the metric's unit
# metric "value" is the line's value=; any other name is an extra key=value field.
TARGETS = {
    ("spawn_join", "1", "value"): ("ratio", 0.5),
    ("spawn_join", "2", "value"): ("ratio", 0.7),
    ("gosched_pingpong", "1", "value"): ("ratio", 0.4),
    ("park_ready_pingpong", "1", "value"): ("max", 60.0),
    ("mem_parked", "2", "value"): ("max", 4.5 * 1024),
    ("raw_switch", "1", "value"): ("ratio", 1.3),
    ("chan_pingpong", "1", "value"): ("ratio", 0.4),
    ("chan_pingpong", "2", "value"): ("ratio", 0.7),
    ("skynet", "1", "value"): ("ratio", 0.25),
    ("skynet", "2", "value"): ("ratio", 0.25),
    ("thread_ring", "1", "value"): ("ratio", 0.4),
    ("sleep_timers", "2", "value"): ("ratio", 0.7),
    ("sleep_light", "2", "oversleep_mean_us"): ("max", 60.0),
    ("rwmutex_read", "1", "value"): ("ratio", 0.7),
    ("rwmutex_read", "2", "value"): ("ratio", 0.7),
    ("once_done", "1", "value"): ("ratio", 0.7),
    ("select_ticker", "1", "value"): ("ratio", 0.7),
    ("timer_stop", "1", "value"): ("ratio", 0.7),
    # tcp_echo: add the target here once the gosched echo server exists, e.g.
    # ("tcp_echo", "1", "value"): ("ratio>=", 1.0),
}

# Extra fields shown as rows of their own (workload -> [(field, unit)]).
EXTRA_METRICS = {
    "sleep_timers": [("oversleep_mean_us", "us/sleep")],
    "sleep_light": [("oversleep_mean_us", "us/sleep")],
    "tcp_echo": [("p50_us", "us"), ("p99_us", "us")],
}

# Display order; workloads not listed follow in order of appearance.
ORDER = [
    "raw_switch", "spawn_join", "gosched_pingpong", "park_ready_pingpong", "mem_parked",
    "chan_pingpong", "skynet", "thread_ring", "sleep_timers", "sleep_light",
    "mutex_uncontended", "foreign_pingpong", "tcp_echo",
    "rwmutex_read", "rwmutex_write", "once_done", "select_ticker", "timer_stop",
]

REFERENCE = {"raw_switch": "minimal"}


def parse_kv(line):
    kv = {}
    for field in line.split():
        if "=" in field:
            k, v = field.split("=", 1)
            kv[k] = v
    return kv


def load(paths):
    samples = OrderedDict()  # (workload, procs, metric) -> {"unit": u, impl: [values]}
    fails = {}               # (workload, procs) -> [impl ...]
    skipped = OrderedDict()  # workload -> reason
    for path in paths:
        with open(path) as f:
            for raw in f:
                line = raw.strip()
                if line.startswith("# FAIL "):
                    kv = parse_kv(line[len("# FAIL "):])
                    fails.setdefault((kv.get("workload", "?"), kv.get("procs", "?")), []).append(
                        kv.get("impl", "?"))
                    continue
                if line.startswith("# skipped "):
                    rest = line[len("# skipped "):]
                    kv = parse_kv(rest.split(" reason=", 1)[0])
                    reason = rest.split(" reason=", 1)[1] if " reason=" in rest else ""
                    skipped[kv.get("workload", "?")] = reason
                    continue
                if not line.startswith("workload="):
                    continue
                kv = parse_kv(line)
                try:
                    w, procs, unit, value = kv["workload"], kv["procs"], kv["unit"], float(kv["value"])
                except (KeyError, ValueError):
                    continue
                impl = kv.get("impl", "go")
                if w == "tcp_echo":
                    impl = kv.get("server", impl)
                    procs = kv.get("server_procs", procs)
                metrics = [("value", unit, value)]
                for field, funit in EXTRA_METRICS.get(w, []):
                    if field in kv:
                        try:
                            metrics.append((field, funit, float(kv[field])))
                        except ValueError:
                            pass
                for metric, munit, v in metrics:
                    cell = samples.setdefault((w, procs, metric), {"unit": munit})
                    cell.setdefault(impl, []).append(v)
    return samples, fails, skipped


def fmt(x):
    if x is None:
        return "-"
    a = abs(x)
    if a >= 1000:
        return f"{x:,.0f}"
    if a >= 100:
        return f"{x:.0f}"
    if a >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def spread(vs):
    if not vs:
        return "-"
    m = statistics.median(vs)
    if len(vs) == 1:
        return fmt(m)
    return f"{fmt(m)} ({fmt(min(vs))}-{fmt(max(vs))})"


def target_text(t, unit):
    kind, x = t
    if kind == "ratio":
        return f"ratio <= {x:g}"
    if kind == "ratio>=":
        return f"ratio >= {x:g}"
    return f"<= {fmt(x)} {unit}"


def rows(samples, fails, skipped):
    def order_key(key):
        w, procs, metric = key
        pos = ORDER.index(w) if w in ORDER else len(ORDER)
        try:
            p = int(procs)
        except ValueError:
            p = 0
        return (pos, w, metric != "value", metric, p)

    out = []
    keys = sorted(samples.keys(), key=order_key)
    seen = set()
    for key in keys:
        w, procs, metric = key
        seen.add(w)
        cell = samples[key]
        unit = cell["unit"]
        refname = REFERENCE.get(w, "go")
        g = cell.get("gosched", [])
        r = cell.get(refname, [])
        gm = statistics.median(g) if g else None
        rm = statistics.median(r) if r else None
        ratio = gm / rm if (gm is not None and rm) else None
        t = TARGETS.get(key)
        if not g:
            verdict = "FAIL" if "gosched" in fails.get((w, procs), []) else "n/a"
        elif t is None:
            verdict = "-"
        elif t[0] == "max":
            verdict = "PASS" if gm <= t[1] else "MISS"
        elif ratio is None:
            verdict = "n/a"
        elif t[0] == "ratio":
            verdict = "PASS" if ratio <= t[1] else "MISS"
        else:
            verdict = "PASS" if ratio >= t[1] else "MISS"
        name = w if metric == "value" else f"{w} {metric}"
        ref = spread(r)
        if r and refname != "go":
            ref += f" [{refname}]"
        out.append([name, procs, unit, spread(g), ref,
                    f"{ratio:.2f}" if ratio is not None else "-",
                    target_text(t, unit) if t else "-", verdict,
                    f"{len(g)}/{len(r)}"])
    # Runs that failed every time leave no sample: give them a row too.
    for (w, procs), impls in sorted(fails.items()):
        if not any(k[0] == w and k[1] == procs for k in samples):
            out.append([w, procs, "-", "FAIL" if "gosched" in impls else "-",
                        "FAIL" if any(i != "gosched" for i in impls) else "-",
                        "-", "-", "FAIL", "0/0"])
            seen.add(w)
    skips = [(w, reason) for w, reason in skipped.items() if w not in seen]
    return out, skips


HEAD = ["workload", "procs", "unit", "gosched median (min-max)", "reference", "ratio",
        "target", "result", "runs g/ref"]


def print_table(table, skips, markdown):
    if markdown:
        print("| " + " | ".join(HEAD) + " |")
        print("|" + "---|" * len(HEAD))
        for r in table:
            print("| " + " | ".join(r) + " |")
    else:
        widths = [max(len(str(r[i])) for r in [HEAD] + table) for i in range(len(HEAD))]

        def line(r):
            return "  ".join(str(c).ljust(widths[i]) for i, c in enumerate(r)).rstrip()

        print(line(HEAD))
        print("  ".join("-" * w for w in widths))
        for r in table:
            print(line(r))
    if skips:
        print()
        for w, reason in skips:
            print(f"skipped: {w}" + (f" ({reason})" if reason else ""))


def main(argv):
    markdown = False
    paths = []
    for a in argv[1:]:
        if a == "--markdown":
            markdown = True
        elif a in ("-h", "--help"):
            print(__doc__)
            return 0
        else:
            paths.append(a)
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    samples, fails, skipped = load(paths)
    table, skips = rows(samples, fails, skipped)
    print_table(table, skips, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
