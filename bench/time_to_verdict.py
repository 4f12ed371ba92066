#!/usr/bin/python3
"""Time to verdict (issue 15): wall seconds from "train this plan" to a verdict file, wmtp against
the seeds' team's Python pipeline (bench/pipeline_reference.py), both against the same MLflow
server; plus wmtp ledger-only (the demo: train, audit, report) and wmtp-train --jobs 1 vs 2.

Repetitions alternate (wmtp first on even ones, Python first on odd ones) so that the load of a
shared machine hits both sides alike; every repetition logs into a fresh experiment. Prints a
markdown table (median, min-max, ratio) and one JSON line per measurement to --json-out.
Run by scripts/bench (which starts the server and builds the venv); by hand:
  time_to_verdict.py --build build --tracking-uri URI --python VENV/bin/python [--reps 5]
      [--plans smoke,grid204] [--work DIR] [--results bench/RESULTS.md]
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd, env=None, cwd=None):
    begin = time.perf_counter()
    r = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    took = time.perf_counter() - begin
    if r.returncode not in (0,):
        raise SystemExit("time_to_verdict.py: %s exited %d:\n%s%s" % (" ".join(cmd), r.returncode, r.stdout[-2000:],
                                                                        r.stderr[-2000:]))
    return took, r.stdout


def grid_plan(work, seeds):
    """The smoke plan with seeds 1..seeds: 2 households x {B0, B2, A3} x seeds runs."""
    path = os.path.join(work, "grid%d.json" % (6 * seeds))
    with open(os.path.join(HERE, "..", "configs", "plans", "smoke.json")) as f:
        plan = json.load(f)
    plan.update(name="grid%d" % (6 * seeds), experiment="grid", seeds=list(range(1, seeds + 1)))
    with open(path, "w") as f:
        json.dump(plan, f, indent=2)
    return path


def per_plan(spec, plan_name, default):
    """N for every plan, or PLAN=N,...; default for a plan not named."""
    if not spec:
        return default
    if "=" not in spec:
        return int(spec)
    values = dict(item.split("=", 1) for item in spec.split(","))
    return int(values.get(plan_name, default))


def median_range(values):
    return statistics.median(values), min(values), max(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", required=True, help="build directory with src/cli and bench binaries")
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--python", required=True, help="python with torch, mlflow-skinny and matplotlib")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--plans", default="smoke", help="smoke and/or grid204 (2 x 3 x 34 seeds)")
    parser.add_argument("--python-reps", default="",
                        help="repetitions of the Python side: N for every plan, or PLAN=N,... (default --reps)")
    parser.add_argument("--plan-reps", default="", help="PLAN=N,...: repetitions of a plan's wmtp side (default --reps)")
    parser.add_argument("--work", default="/tmp/wmtp-time-to-verdict")
    parser.add_argument("--json-out")
    parser.add_argument("--results", help="markdown file whose '## Time to verdict' section is (re)written")
    parser.add_argument("--command", default="bench/time_to_verdict.py", help="the command named in --results")
    args = parser.parse_args()
    args.work, args.build = os.path.abspath(args.work), os.path.abspath(args.build)  # the runs change directory
    cli = os.path.join(args.build, "src", "cli")
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    env = dict(os.environ)
    env.pop("MLFLOW_TRACKING_URI", None)
    rows, lines = [], []
    stamp = time.strftime("%Y%m%d%H%M%S")

    # wmtp ledger-only: the demo's three commands, and wmtp-train --jobs 1 vs --jobs 2.
    demo, jobs = [], {1: [], 2: []}
    for rep in range(args.reps):
        d = os.path.join(args.work, "demo%d" % rep)
        os.makedirs(d)
        t1, _ = run([os.path.join(cli, "wmtp-train"), "--quiet"], env=env, cwd=d)
        t2, _ = run([os.path.join(cli, "wmtp-audit"), "--experiment", "wmtp-smoke"], env=env, cwd=d)
        t3, _ = run([os.path.join(cli, "wmtp-report"), "--output-dir", d], env=env, cwd=d)
        demo.append(t1 + t2 + t3)
        for j in ((1, 2) if rep % 2 == 0 else (2, 1)):
            t, _ = run([os.path.join(cli, "wmtp-train"), "--quiet", "--jobs", str(j), "--ledger",
                        os.path.join(d, "jobs%d.sqlite" % j)], env=env, cwd=d)
            jobs[j].append(t)
        lines.append({"what": "demo", "rep": rep, "train_s": t1, "audit_s": t2, "report_s": t3,
                      "jobs1_s": jobs[1][-1], "jobs2_s": jobs[2][-1]})
        print(json.dumps(lines[-1]), file=sys.stderr, flush=True)
    rows.append(("wmtp ledger-only demo (train + audit + report), 18 runs", median_range(demo), None, None))
    rows.append(("wmtp-train --jobs 1 / --jobs 2, smoke plan, ledger only", median_range(jobs[1]),
                 median_range(jobs[2]), statistics.median(jobs[1]) / statistics.median(jobs[2])))

    for plan_name in args.plans.split(","):
        plan = "" if plan_name == "smoke" else grid_plan(args.work, 34)
        dump = os.path.join(args.work, plan_name + "-dump.json")
        run([os.path.join(args.build, "bench", "wmtp_trainer_bench"), "--dump-plan", dump] +
            (["--plan", plan] if plan else []))
        wmtp_t, py_t = [], []
        reps = per_plan(args.plan_reps, plan_name, args.reps)
        python_reps = per_plan(args.python_reps, plan_name, reps)
        for rep in range(max(reps, python_reps)):
            exp = "ttv-%s-%s-%d" % (plan_name, stamp, rep)
            d = os.path.join(args.work, exp)
            os.makedirs(d)
            order = ("wmtp", "python") if rep % 2 == 0 else ("python", "wmtp")
            first_line = len(lines)
            for side in order:
                if side == "wmtp" and rep < reps:
                    plan_flags = ["--plan", plan] if plan else []
                    uri = ["--tracking-uri", args.tracking_uri]
                    # The verdict needs every run in MLflow: wait for the push to finish, however long.
                    t1, _ = run([os.path.join(cli, "wmtp-train"), "--quiet", "--experiment", exp, "--ledger",
                                 os.path.join(d, "ledger.sqlite"), "--sync-wait", "3600"] + plan_flags + uri,
                                env=env, cwd=d)
                    t2, _ = run([os.path.join(cli, "wmtp-audit"), "--experiment", exp, "--source", "mlflow",
                                 "-o", os.path.join(d, "wmtp-verdict.json"), "--artifact-cache",
                                 os.path.join(d, "cache")] + uri, env=env, cwd=d)
                    t3, _ = run([os.path.join(cli, "wmtp-report"), "--verdict", os.path.join(d, "wmtp-verdict.json"),
                                 "--output-dir", d], env=env, cwd=d)
                    wmtp_t.append(t1 + t2 + t3)
                    lines.append({"what": plan_name, "side": "wmtp", "rep": rep, "train_s": t1, "audit_s": t2,
                                  "report_s": t3})
                elif side == "python" and rep < python_reps:
                    t, out = run([args.python, os.path.join(HERE, "pipeline_reference.py"), dump, "--tracking-uri",
                                  args.tracking_uri, "--experiment", exp + "-py", "--verdict",
                                  os.path.join(d, "python-verdict.json")], env=env, cwd=d)
                    py_t.append(t)
                    lines.append(dict(json.loads(out.strip().splitlines()[-1]), what=plan_name, side="python",
                                      rep=rep, wall_s=t))
            print(json.dumps(lines[first_line:]), file=sys.stderr, flush=True)
        runs = json.load(open(dump))["runs"]
        rows.append(("to verdict with MLflow, %s plan (%d runs): wmtp / Python pipeline (%d / %d repetitions)"
                     % (plan_name, len(runs), reps, python_reps),
                     median_range(wmtp_t), median_range(py_t) if py_t else None,
                     statistics.median(py_t) / statistics.median(wmtp_t) if py_t else None))

    load = os.getloadavg()
    out = ["## Time to verdict", "",
           "Written by `%s` on %s: wall seconds from training the plan to a verdict file; repetitions alternate "
           "wmtp and Python, each into a fresh experiment of one fresh MLflow server (%d repetitions of the demo and "
           "--jobs rows; each plan's own in its row)." % (args.command, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                                                          args.reps), "",
           "| measurement | wmtp s (median, min-max) | other s (median, min-max) | ratio |", "|---|---|---|---|"]
    for name, a, b, ratio in rows:
        fmt = lambda m: "%.2f (%.2f-%.2f)" % m if m else "-"  # noqa: E731
        out.append("| %s | %s | %s | %s |" % (name, fmt(a), fmt(b), "%.2fx" % ratio if ratio else "-"))
    out += ["", "Load average at the end: %.2f %.2f %.2f on %d cores." % (load + (os.cpu_count(),)), ""]
    section = "\n".join(out)
    print(section)
    if args.results:
        text = open(args.results).read() if os.path.exists(args.results) else ""
        kept = re.sub(r"^## Time to verdict\n.*?(?=^## |\Z)", "", text, flags=re.S | re.M).rstrip()
        with open(args.results, "w") as f:
            f.write((kept + "\n\n" if kept else "") + section)
    if args.json_out:
        with open(args.json_out, "w") as f:
            for line in lines:
                f.write(json.dumps(line) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
