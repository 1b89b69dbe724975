#!/usr/bin/env python3
"""Tests of scripts/gs-trace-summary on a hand-made trace whose numbers are known.

Run: python3 tests/trace/test_summary.py  (tests/trace.rs runs it).
"""
import importlib.machinery
import importlib.util
import io
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.path.join(HERE, "..", "..", "scripts", "gs-trace-summary")


def load_tool():
    loader = importlib.machinery.SourceFileLoader("gs_trace_summary", TOOL)
    spec = importlib.util.spec_from_loader("gs_trace_summary", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def run(tid, g, p, ts, dur, end, reason=None, name="worker"):
    a = {"g": g, "p": p, "end": end}
    if reason:
        a["reason"] = reason
    return {"ph": "X", "pid": 1, "tid": tid, "ts": ts, "dur": dur, "name": name, "cat": "goroutine", "args": a}


def wake(tid, g, ts, cat="wake", name=None):
    a = {"g": g, "waker": 0, "p": 0}
    if name:
        a["name"] = name
    return {"ph": "X", "pid": 1, "tid": tid, "ts": ts, "dur": 0, "name": "ready G%d" % g, "cat": cat, "args": a}


# Two "worker" goroutines and one "io" goroutine on P0 and P1, over 100 us:
# G2: created at 0, runs 10..20 (latency 10), blocks on "chan receive" until readied
#     at 50, runs 52..60 (latency 2), ends.
# G3: created at 0, runs 0..30 (latency 0), yields, runs 34..40 (latency 4), ends.
# G4 "io": created at 0, runs 40..100 with a blocking call 50..90 inside, P1.
TRACE = {"traceEvents": [
    wake(1, 2, 0.0, "create", "worker"),
    wake(1, 3, 0.0, "create", "worker"),
    wake(1, 4, 0.0, "create", "io"),
    run(2, 3, 1, 0.0, 30.0, "yield"),
    dict(run(1, 2, 0, 10.0, 10.0, "block", "chan receive"), args={"g": 2, "p": 0, "end": "block",
                                                                  "reason": "chan receive", "stack_kib": 12}),
    run(2, 3, 1, 34.0, 6.0, "end"),
    wake(2, 2, 50.0),
    run(1, 2, 0, 52.0, 8.0, "end"),
    run(3, 4, 1, 40.0, 60.0, "end", name="io"),
    {"ph": "X", "pid": 1, "tid": 3, "ts": 50.0, "dur": 40.0, "name": "blocking call", "cat": "syscall",
     "args": {"g": 4}},
]}


class SummaryTest(unittest.TestCase):
    def setUp(self):
        self.tool = load_tool()
        self.s = self.tool.summarize(TRACE)
        self.g = {g["name"]: g for g in self.s["groups"]}

    def test_groups_by_name(self):
        self.assertEqual(sorted(self.g), ["io", "worker"])
        self.assertEqual(self.g["worker"]["goroutines"], 2)
        self.assertEqual(self.g["worker"]["runs"], 4)
        self.assertAlmostEqual(self.g["worker"]["run_us"], 10 + 30 + 6 + 8)

    def test_latency_from_readied_to_running(self):
        w = self.g["worker"]
        # latencies: G2 10 and 2, G3 0 and 4
        self.assertAlmostEqual(w["latency_max_us"], 10.0)
        self.assertAlmostEqual(w["latency_p50_us"], 2.0)
        self.assertAlmostEqual(w["latency_p99_us"], 10.0)

    def test_blocked_time_by_reason(self):
        self.assertEqual(self.g["worker"]["blocked_us"], {"chan receive": 30.0})
        self.assertEqual(self.g["io"]["blocked_us"], {})

    def test_p_utilization_excludes_blocking_calls(self):
        procs = {p["p"]: p for p in self.s["procs"]}
        self.assertAlmostEqual(procs[0]["busy_us"], 18.0)
        self.assertAlmostEqual(procs[1]["busy_us"], 30 + 6 + 60 - 40)
        self.assertAlmostEqual(procs[1]["utilization"], 0.56)

    def test_command_line(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(TRACE, f)
        try:
            out = subprocess.run([sys.executable, TOOL, f.name], capture_output=True, text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn("worker", out.stdout)
            self.assertIn("chan receive 30.0", out.stdout)
            self.assertIn("P1", out.stdout)
            js = subprocess.run([sys.executable, TOOL, "--json", f.name], capture_output=True, text=True, timeout=60)
            self.assertEqual(json.loads(js.stdout)["span_us"], 100.0)
        finally:
            os.unlink(f.name)

    def test_deepest_stack_per_name(self):
        self.assertEqual(self.g["worker"]["stack_max_kib"], 12)
        self.assertEqual(self.g["io"]["stack_max_kib"], 0)

    def test_bad_file_is_an_error(self):
        out = subprocess.run([sys.executable, TOOL, "/nonexistent/trace.json"], capture_output=True, text=True,
                             timeout=60)
        self.assertEqual(out.returncode, 2)
        self.assertIn("gs-trace-summary", out.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
