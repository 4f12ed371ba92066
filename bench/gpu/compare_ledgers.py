#!/usr/bin/env python3
"""Every run's metrics in some ledgers against a reference ledger (issue 15's GPU grid).

  compare_ledgers.py --reference seq.sqlite [--rtol R] CANDIDATE.sqlite...

Runs are matched by name (plan containers, tag wmtp.run_role=plan, are left out); each run's
points are matched by (key, step, order within the key). Prints one JSON object: runs compared,
points, how many were bit-identical, the largest absolute and relative difference (relative to
max(|reference|, 1e-12)) and where. Exit 1 when a run or point is missing on one side or a
difference exceeds --rtol.
"""
import argparse
import json
import math
import sqlite3
import sys


def read(path):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    containers = {r for (r,) in db.execute("SELECT run FROM tags WHERE key='wmtp.run_role' AND value='plan'")}
    names = {rid: name for rid, name in db.execute("SELECT id, name FROM runs") if rid not in containers}
    runs = {name: {} for name in names.values()}
    seen = {}
    for rid, key, step, value in db.execute("SELECT run, key, step, value FROM metrics ORDER BY run, seq"):
        if rid in names:
            n = seen[(rid, key, step)] = seen.get((rid, key, step), -1) + 1
            runs[names[rid]][(key, step, n)] = math.nan if value is None else value
    return runs


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", required=True)
    parser.add_argument("--rtol", type=float, default=1e-4)
    parser.add_argument("candidates", nargs="+")
    args = parser.parse_args()
    reference = read(args.reference)
    candidate = {}
    for path in args.candidates:
        candidate.update(read(path))
    problems, points, identical, worst_abs, worst_rel, where = [], 0, 0, 0.0, 0.0, None
    for name in sorted(set(reference) | set(candidate)):
        if name not in reference or name not in candidate:
            problems.append(f"run {name} only in {'candidates' if name in candidate else 'reference'}")
            continue
        ref, cand = reference[name], candidate[name]
        if ref.keys() != cand.keys():
            problems.append(f"run {name}: {len(ref.keys() ^ cand.keys())} points on one side only")
        for point in ref.keys() & cand.keys():
            a, b = ref[point], cand[point]
            points += 1
            if a == b or (math.isnan(a) and math.isnan(b)):
                identical += 1
                continue
            diff = abs(a - b)
            rel = diff / max(abs(a), 1e-12)
            worst_abs = max(worst_abs, diff)
            if rel > worst_rel:
                worst_rel, where = rel, f"{name} {point[0]} step {point[1]}"
    ok = not problems and worst_rel <= args.rtol
    print(json.dumps({"kind": "compare", "reference": args.reference, "candidates": len(args.candidates),
                      "runs": len(reference), "points": points, "identical_points": identical,
                      "max_abs_diff": worst_abs, "max_rel_diff": worst_rel, "worst": where, "rtol": args.rtol,
                      "problems": problems[:10], "ok": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
