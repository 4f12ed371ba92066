"""One trainer of the load test's reference (bench/load/run_load.py): the official MLflow client
logging train_loss at every step for --seconds with async logging (mlflow.log_metric(...,
synchronous=False)), each step --step-ms of simulated compute (a sleep), then
mlflow.flush_async_logging() and end_run. Prints one JSON object as wmtp_load_trainer does:
points logged, the log_metric cost per step, seconds to drain after the last step, and the run id.
Runs with the MLflow venv's Python; MLFLOW_TRACKING_URI names the server."""
import argparse
import json
import os
import time

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
import mlflow  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=25)
    ap.add_argument("--step-ms", type=int, default=10)
    ap.add_argument("--experiment", default="wmtp-load-python")
    ap.add_argument("--name", default="load")
    args = ap.parse_args()
    mlflow.set_experiment(args.experiment)
    costs = []
    with mlflow.start_run(run_name=args.name) as run:
        end = time.monotonic() + args.seconds
        step = 0
        while time.monotonic() < end:
            time.sleep(args.step_ms / 1000)
            t0 = time.perf_counter()
            mlflow.log_metric("train_loss", 1.0 / (step + 1), step=step, synchronous=False)
            costs.append((time.perf_counter() - t0) * 1e6)
            step += 1
        last = time.monotonic()
        mlflow.flush_async_logging()
    drain = time.monotonic() - last
    costs.sort()
    print(json.dumps({
        "client": "python", "run_id": run.info.run_id, "points": step, "seconds": args.seconds,
        "step_overhead_us_mean": sum(costs) / max(1, len(costs)),
        "step_overhead_us_p50": costs[len(costs) // 2] if costs else 0,
        "step_overhead_us_p99": costs[int(0.99 * (len(costs) - 1))] if costs else 0,
        "drain_s": drain, "acknowledged": True}), flush=True)


if __name__ == "__main__":
    main()
