"""The Python reference of wmtp's MLflow ingest, for scripts/bench.

The official client logging the same points as wmtp_logging_bench (point i: key i % K of
KEYS, value 1 / (i + 1), step i // K, timestamp T0 + i) into a fresh run per repetition:
  --what log-batch   MlflowClient().log_batch(run_id, metrics) with all points (the client
                     sends them 1,000 a request)
  --what log-metric  mlflow.log_metric per point with async logging on
                     (mlflow.config.enable_async_logging(True)), timed until
                     mlflow.flush_async_logging() returns: every point acknowledged
Runs with the MLflow venv's Python (scripts/mlflow-server venv). Prints one JSON object per
repetition.
"""
import argparse
import json
import os
import time

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
import mlflow  # noqa: E402
from mlflow.entities import Metric  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

KEYS = ["train_loss", "val_loss", "lr", "grad_norm"]
T0 = 1700000000000
EXPERIMENT = "wmtp-logging-bench"


def points(n, keys):
    return [(KEYS[i % keys], 1.0 / (i + 1), i // keys, T0 + i) for i in range(n)]


def log_batch(client, run_id, pts):
    metrics = [Metric(key, value, timestamp, step) for key, value, step, timestamp in pts]
    begin = time.perf_counter()
    client.log_batch(run_id, metrics=metrics)
    return time.perf_counter() - begin


def log_metric(client, run_id, pts):
    mlflow.config.enable_async_logging(True)
    with mlflow.start_run(run_id=run_id):
        begin = time.perf_counter()
        for key, value, step, timestamp in pts:
            mlflow.log_metric(key, value, step=step, timestamp=timestamp)
        queued = time.perf_counter() - begin
        mlflow.flush_async_logging()
        return time.perf_counter() - begin, queued


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--what", choices=["log-batch", "log-metric"], required=True)
    parser.add_argument("--points", type=int, default=20000)
    parser.add_argument("--keys", type=int, default=4, choices=range(1, 5))
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    mlflow.set_tracking_uri(args.tracking_uri)
    client = MlflowClient(tracking_uri=args.tracking_uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(EXPERIMENT)
    pts = points(args.points, args.keys)
    for rep in range(args.reps):
        run_id = client.create_run(experiment_id, run_name=f"python-{args.what}-{rep}").info.run_id
        line = {"what": args.what, "points": args.points, "keys": args.keys}
        if args.what == "log-batch":
            seconds = log_batch(client, run_id, pts)
        else:
            seconds, queued = log_metric(client, run_id, pts)
            line["log_metric_us"] = queued / args.points * 1e6
        client.set_terminated(run_id)
        line.update(seconds=seconds, points_per_s=args.points / seconds)
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
