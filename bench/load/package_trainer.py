"""One trainer of the load test (bench/load/run_load.py) logging through the `wmtp` Python package:
its Tracker (the C++ one: ledger first, MLflow in the background, outbox), the path run.step()
takes. train_loss at every step for --seconds, each step --step-ms of simulated compute (a sleep),
then the run finished and the Tracker closed, waiting until MLflow acknowledged every point.
Prints one JSON object as wmtp_load_trainer does. Runs with a Python that has the wheel
(scripts/python-package's venv); MLFLOW_TRACKING_URI names the server."""
import argparse
import json
import sys
import time

from wmtp import _wmtp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=25)
    ap.add_argument("--step-ms", type=int, default=10)
    ap.add_argument("--ledger", default="load.sqlite")
    ap.add_argument("--experiment", default="wmtp-load-package")
    ap.add_argument("--name", default="load")
    args = ap.parse_args()
    tracker = _wmtp.Tracker(args.ledger, None)  # None: MLFLOW_TRACKING_URI
    run = tracker.start_run(args.experiment, args.name)
    costs = []
    end = time.monotonic() + args.seconds
    step = 0
    while time.monotonic() < end:
        time.sleep(args.step_ms / 1000)
        t0 = time.perf_counter()
        run.log_metric("train_loss", 1.0 / (step + 1), step)
        costs.append((time.perf_counter() - t0) * 1e6)
        step += 1
    last = time.monotonic()
    local_run_id = run.local_run_id
    run.finish("FINISHED")
    left = tracker.close(300.0)
    drain = time.monotonic() - last
    costs.sort()
    print(json.dumps({
        "client": "wmtp-python", "local_run_id": local_run_id, "points": step, "seconds": args.seconds,
        "step_overhead_us_mean": sum(costs) / max(1, len(costs)),
        "step_overhead_us_p50": costs[len(costs) // 2] if costs else 0,
        "step_overhead_us_p99": costs[int(0.99 * (len(costs) - 1))] if costs else 0,
        "drain_s": drain, "acknowledged": left == 0}), flush=True)
    return 0 if left == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
