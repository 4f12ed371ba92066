"""The load test: N concurrent trainers logging every step into one MLflow server on PostgreSQL
for a bounded time, first N wmtp_load_trainer processes (ledger-backed Tracker, as wmtp-train
logs), then N Python processes logging through the `wmtp` package (the same Tracker, bound;
bench/load/package_trainer.py, with --package-python), then N processes of the official Python
client with async logging, against the same server.
Measured per client: points/s acknowledged (points in MLflow / seconds from the first start to
the last acknowledgement), the retries the clients counted (the server's errors and
unavailability as the clients saw them: wmtp's "attempt k/N failed" lines, urllib3's "Retrying",
the async queue's "Failed to log run data"),
the requests and 5xx answers in the server's access log (own server only),
the per-step logging cost (mean of the trainers' means, worst p99), and 0 lost / 0 duplicated:
each run's points in MLflow (get-history) against what its trainer logged.
Usage (the MLflow venv's Python):
  run_load.py --build build --package-python build/venv-py/bin/python [--trainers 32] [--seconds 25]
      [--package-seconds S] [--step-ms 10] [--tracking-uri URI]
Without --tracking-uri it starts its own server: scripts/mlflow-server start --backend postgresql
(--workers 4). Prints a Markdown table and writes --json (default load-results.json). Exit 1 when
a wmtp trainer (C++ or the package's) failed or one of its points is lost or duplicated (the
official Python client's row is measured, not gated)."""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def server_log_size(env):
    log = os.path.join(env.get("WMTP_MLFLOW_STATE", ""), "server.log")
    return os.path.getsize(log) if os.path.exists(log) else None


def server_statuses(env, since):
    """(requests, 5xx answers) in the server's access log since byte `since` (own server only)."""
    if since is None:
        return None, None
    requests = errors = 0
    with open(os.path.join(env["WMTP_MLFLOW_STATE"], "server.log"), errors="replace") as f:
        f.seek(since)
        for line in f:
            m = re.search(r'HTTP/1\.[01]" (\d{3})', line)
            if m:
                requests += 1
                errors += m.group(1).startswith("5")
    return requests, errors


def run_group(client_name, commands, env, workdir, deadline_s):
    """Runs the trainers at once; one still running deadline_s after the start is killed and counted
    as failed (the Python client can wait on a starved server for many minutes: CI must end)."""
    log_start = server_log_size(env)
    procs = []
    start = time.monotonic()
    for i, cmd in enumerate(commands):
        err = open(os.path.join(workdir, f"{client_name}-{i}.err"), "w")
        procs.append((subprocess.Popen(cmd, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=err, text=True), err))
    results, failed = [], 0
    timed_out = 0
    for p, err in procs:
        try:
            out, _ = p.communicate(timeout=max(0.0, start + deadline_s - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
            timed_out += 1
        err.close()
        if p.returncode != 0:
            failed += 1
        lines = [line for line in out.splitlines() if line.startswith("{")]
        if lines:
            results.append(json.loads(lines[-1]))
    if timed_out:
        print(f"load: {client_name}: {timed_out} of {len(procs)} trainer(s) still running {deadline_s:g} s after the "
              "start were killed (counted as failed)", file=sys.stderr)
    wall = time.monotonic() - start
    retries = 0
    for i in range(len(commands)):
        with open(os.path.join(workdir, f"{client_name}-{i}.err")) as f:
            for line in f:
                # wmtp's retry notices, urllib3's retries, the Python async queue's failed batches.
                if "failed (" in line and "attempt" in line or "Retrying (" in line or "Failed to log" in line:
                    retries += 1
    requests, errors = server_statuses(env, log_start)
    return results, failed, wall, retries, requests, errors


def count_points(uri, experiment, patience_s=180.0):
    """Points of train_loss per run in MLflow. Right after a group's trainers were killed the server
    can still be working through their requests (its connection pool exhausted: HTTP 400 "QueuePool
    limit ... reached"), so the read is tried again for up to patience_s seconds."""
    give_up = time.monotonic() + patience_s
    while True:
        try:
            client = MlflowClient(uri)
            exp = client.get_experiment_by_name(experiment)
            counts = {}
            for run in client.search_runs([exp.experiment_id], max_results=5000):
                key = run.data.tags.get("wmtp.local_run_id", run.info.run_id)
                history = client.get_metric_history(run.info.run_id, "train_loss")
                steps = [m.step for m in history]
                counts[key] = counts.get(key, 0) + len(steps)
                counts[key + "#distinct"] = counts.get(key + "#distinct", 0) + len(set(steps))
            return counts
        except MlflowException as e:
            if time.monotonic() > give_up:
                raise
            print(f"load: counting {experiment}'s points: MLflow answered {str(e).splitlines()[0][:160]}; "
                  "trying again in 5 s", file=sys.stderr)
            time.sleep(5)


def summarize(name, results, failed, wall, retries, requests, errors, uri, experiment, id_key, required=True):
    try:
        counts = count_points(uri, experiment)
    except MlflowException as e:
        if required:
            raise
        # The Python client's row is a measurement, not the gate: say so instead of stopping.
        print(f"load: {name}: its points could not be counted ({str(e).splitlines()[0][:160]})", file=sys.stderr)
        counts = {}
    logged = sum(r["points"] for r in results)
    lost = duplicated = 0
    for r in results:
        got = counts.get(r[id_key], 0)
        distinct = counts.get(r[id_key] + "#distinct", 0)
        lost += max(0, r["points"] - distinct)
        duplicated += got - distinct + max(0, distinct - r["points"])
    in_mlflow = sum(v for k, v in counts.items() if not k.endswith("#distinct"))
    return {
        "client": name, "failed": failed,
        "points_logged": logged, "points_in_mlflow": in_mlflow, "lost": lost, "duplicated": duplicated,
        "wall_s": wall, "points_per_s": in_mlflow / wall if wall else 0, "retries": retries,
        "server_requests": requests, "server_5xx": errors,
        "step_overhead_us_mean": sum(r["step_overhead_us_mean"] for r in results) / max(1, len(results)),
        "step_overhead_us_p99_worst": max((r["step_overhead_us_p99"] for r in results), default=0),
        "drain_s_max": max((r["drain_s"] for r in results), default=0),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--trainers", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=25)
    ap.add_argument("--step-ms", type=int, default=10)
    ap.add_argument("--tracking-uri")
    ap.add_argument("--package-python", required=True,
                    help="a Python with the wmtp wheel installed (scripts/python-package's build/venv-py)")
    ap.add_argument("--package-seconds", type=float,
                    help="the package's trainers' seconds of steps (default: --seconds)")
    ap.add_argument("--json", default="load-results.json")
    ap.add_argument("--drain-timeout", type=float, default=180,
                    help="seconds a group's trainers may take after their --seconds of steps before they are killed")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="wmtp-load.")
    env = dict(os.environ, MLFLOW_DISABLE_TELEMETRY="true", PYTHONUNBUFFERED="1")
    own_server = args.tracking_uri is None
    if own_server:
        env["WMTP_MLFLOW_STATE"] = os.path.join(work, "server")
        env["WMTP_MLFLOW_VENV"] = os.path.dirname(os.path.dirname(sys.executable))
        uri = subprocess.check_output(["bash", os.path.join(ROOT, "scripts/mlflow-server"), "start", "--backend",
                                       "postgresql"], env=env, text=True).strip()
    else:
        uri = args.tracking_uri
    env["MLFLOW_TRACKING_URI"] = uri
    try:
        stamp = str(int(time.time()))
        common = ["--seconds", str(args.seconds), "--step-ms", str(args.step_ms)]
        trainer = os.path.abspath(os.path.join(args.build, "bench", "wmtp_load_trainer"))
        wmtp_exp, package_exp, py_exp = "wmtp-load-" + stamp, "package-load-" + stamp, "python-load-" + stamp
        rows = []
        deadline = args.seconds + args.drain_timeout
        cmds = [[trainer, *common, "--ledger", f"wmtp-{i}.sqlite", "--experiment", wmtp_exp, "--name", f"t{i}"]
                for i in range(args.trainers)]
        rows.append(summarize("wmtp (C++ Tracker)", *run_group("wmtp", cmds, env, work, deadline), uri, wmtp_exp,
                              "local_run_id"))
        package_common = ["--seconds", str(args.package_seconds or args.seconds), "--step-ms", str(args.step_ms)]
        script = os.path.join(ROOT, "bench", "load", "package_trainer.py")
        cmds = [[args.package_python, script, *package_common, "--ledger", f"package-{i}.sqlite", "--experiment",
                 package_exp, "--name", f"t{i}"] for i in range(args.trainers)]
        rows.append(summarize("wmtp Python package (C++ Tracker)",
                              *run_group("package", cmds, env, work, (args.package_seconds or args.seconds) +
                                         args.drain_timeout), uri, package_exp, "local_run_id"))
        script = os.path.join(ROOT, "bench", "load", "python_trainer.py")
        cmds = [[sys.executable, script, *common, "--experiment", py_exp, "--name", f"t{i}"]
                for i in range(args.trainers)]
        py_env = dict(env, MLFLOW_ENABLE_ASYNC_LOGGING="true")
        rows.append(summarize("MLflow Python client, async", *run_group("python", cmds, py_env, work, deadline), uri, py_exp,
                              "run_id", required=False))
    finally:
        if own_server:
            subprocess.run(["bash", os.path.join(ROOT, "scripts/mlflow-server"), "stop"], env=env, check=False)
    package_s = f" (the package's {args.package_seconds:g} s)" if args.package_seconds else ""
    print(f"load: {args.trainers} trainers x {args.seconds:g} s{package_s}, a step every {args.step_ms} ms, one point "
          f"a step, into {uri} (PostgreSQL, --workers 4)")
    print("| client | trainers (failed) | points logged | in MLflow | lost | duplicated | points/s acknowledged |"
          " client retries/errors | server requests (5xx) | step overhead mean / worst p99 (us) | drain after last step (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['client']} | {args.trainers} ({r['failed']}) | {r['points_logged']} | {r['points_in_mlflow']} | "
              f"{r['lost']} | {r['duplicated']} | {r['points_per_s']:.0f} | {r['retries']} | "
              f"{r['server_requests']} ({r['server_5xx']}) | "
              f"{r['step_overhead_us_mean']:.1f} / {r['step_overhead_us_p99_worst']:.0f} | {r['drain_s_max']:.1f} |")
    with open(args.json, "w") as f:
        json.dump({"trainers": args.trainers, "seconds": args.seconds, "package_seconds": args.package_seconds or
                   args.seconds, "step_ms": args.step_ms, "rows": rows}, f, indent=2)
    # The gate is wmtp's rows (C++ and the package); the Python client's losses are a measurement,
    # not a failure of wmtp. A group that reported nothing has lost nothing only vacuously: a failure too.
    bad = any(r["lost"] or r["duplicated"] or r["failed"] or r["points_logged"] == 0 or
              r["points_in_mlflow"] != r["points_logged"] for r in rows[:2])
    if bad:
        print(f"load: FAIL; the trainers' ledgers and stderr are kept in {work}", file=sys.stderr)
    else:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
