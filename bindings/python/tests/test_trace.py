"""The tracer and flight recorder from Python (gosched.trace_*)."""

from __future__ import annotations

import json
import os
import tempfile
import unittest

from support import RuntimeTestCase, needs  # first: finds gosched

import gosched


def runs_named(doc, name):
    return [e for e in doc["traceEvents"] if e.get("cat") == "goroutine" and e.get("name") == name]


@needs("gs_trace_start", "gs_trace_stop", "gs_trace_ring", "gs_trace_snapshot", "gs_trace_log")
class Tracing(RuntimeTestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.dir.cleanup()

    def ping_pong(self, rounds):
        ping, pong = gosched.Chan(), gosched.Chan()
        wg = gosched.WaitGroup()
        wg.add(2)

        def ponger():
            for _ in range(rounds):
                pong.send(ping.recv() + 1)
            wg.done()

        def pinger():
            with gosched.trace_region("py-region"):
                for i in range(rounds):
                    ping.send(i)
                    assert pong.recv() == i + 1
            gosched.trace_log("py", "done")
            wg.done()

        gosched.go_with(ponger, name="py-ponger")
        gosched.go_with(pinger, name="py-pinger")
        wg.wait()

    def test_trace_to_a_path_has_named_goroutines_regions_and_logs(self):
        path = os.path.join(self.dir.name, "t.json")
        gosched.trace_start(path)
        try:
            self.ping_pong(50)
        finally:
            gosched.trace_stop()
        with open(path) as f:
            doc = json.load(f)
        pinger, ponger = runs_named(doc, "py-pinger"), runs_named(doc, "py-ponger")
        self.assertTrue(pinger and ponger)
        # Each message over an unbuffered channel parks exactly one side.
        parks = [r for r in pinger + ponger if r["args"].get("reason") in ("chan send", "chan receive")]
        self.assertGreaterEqual(len(parks), 50)
        regions = [e["ph"] for e in doc["traceEvents"] if e.get("cat") == "region" and e["name"] == "py-region"]
        self.assertEqual(sorted(regions), ["b", "e"])
        logs = [e for e in doc["traceEvents"] if e.get("cat") == "log" and e["name"] == "py"]
        self.assertEqual([e["args"]["message"] for e in logs], ["done"])

    def test_flight_recorder_snapshot_and_errors(self):
        with self.assertRaises(gosched.InvalidArgument):
            gosched.trace_ring(0)
        with self.assertRaises(gosched.InvalidArgument):
            gosched.trace_stop()  # nothing traced
        gosched.trace_ring(64 * 1024)
        try:
            with self.assertRaises(gosched.Busy):
                gosched.trace_ring(64 * 1024)
            self.ping_pong(2000)
            path = os.path.join(self.dir.name, "snap.json")
            gosched.trace_snapshot(path)
            with open(path) as f:
                doc = json.load(f)
            self.assertEqual(doc["otherData"]["ring_slots"], 2048)
            for t in doc["otherData"]["tracks"]:
                self.assertLessEqual(t["slots"], 2048)
            self.assertTrue(runs_named(doc, "py-pinger"))
        finally:
            gosched.trace_stop()
        with self.assertRaises(gosched.InvalidArgument):
            gosched.trace_snapshot(os.path.join(self.dir.name, "none.json"))


if __name__ == "__main__":
    unittest.main()
