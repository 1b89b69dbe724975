#!/usr/bin/env python3
"""Checks the flight recorder's snapshots written by tests/trace/ring.c.

Usage: check_ring.py PREFIX "did ring=BYTES snapshots=N last_mark=M"

Fails (exit 1, with the reasons) unless:
- every snapshot (PREFIX.<i>.json, PREFIX.final.json) parses;
- no track of any snapshot holds more slots than its ring (otherData.tracks);
- every log event is whole: category "mark", message "mark <n>" (a torn record
  would cut or mix them), the marks of one snapshot increase;
- the final snapshot holds the last mark and not the first ones: the ring kept the
  last events only.
"""
import glob
import json
import re
import sys

errors = []


def load(path):
    with open(path) as f:
        return json.load(f)


def marks_of(doc, path):
    out = []
    for e in doc["traceEvents"]:
        if e.get("cat") != "log":
            continue
        a = e["args"]
        m = re.fullmatch(r"mark (\d+)", a.get("message", ""))
        if e["name"] != "mark" or a.get("category") != "mark" or not m:
            errors.append(f"{path}: a torn or foreign log event: {e}")
            continue
        out.append((e["ts"], int(m.group(1))))
    out.sort()
    nums = [n for _, n in out]
    if nums != sorted(nums):
        errors.append(f"{path}: marks out of order: {nums}")
    return nums


def main():
    prefix, did = sys.argv[1], sys.argv[2]
    want = dict(kv.split("=") for kv in did.split()[1:])
    paths = sorted(glob.glob(prefix + ".[0-9]*.json"))
    if len(paths) != int(want["snapshots"]):
        errors.append(f"{len(paths)} snapshot files, the program wrote {want['snapshots']}")
    paths.append(prefix + ".final.json")
    final = None
    for p in paths:
        try:
            doc = load(p)
        except (OSError, ValueError) as e:
            errors.append(f"{p}: does not parse: {e}")
            continue
        other = doc.get("otherData", {})
        cap = other.get("ring_slots")
        if cap != int(want["ring"]) // 32:
            errors.append(f"{p}: ring_slots {cap}, expected {int(want['ring']) // 32}")
            continue
        for t in other.get("tracks", []):
            if t["slots"] > cap:
                errors.append(f"{p}: track {t['tid']} holds {t['slots']} slots, more than the ring's {cap}")
        if not any(e.get("cat") == "goroutine" for e in doc["traceEvents"]):
            errors.append(f"{p}: no goroutine runs")
        nums = marks_of(doc, p)
        if p.endswith(".final.json"):
            final = nums
    if final is not None:
        last = int(want["last_mark"])
        if not final or final[-1] != last:
            errors.append(f"final snapshot: last mark {final[-1] if final else None}, the program's last is {last}")
        if 0 in final:
            errors.append("final snapshot still holds mark 0: the ring kept more than its size")
    if errors:
        print("\n".join(errors[:30]), file=sys.stderr)
        sys.exit(1)
    print(f"check_ring: ok: {len(paths)} snapshots, final marks {final[0]}..{final[-1]}")


main()
