"""The Python reference of wmtp's MLflow audit read, for scripts/bench.

What a user of the official client writes to pull an experiment's runs for an audit: search_runs
paged (1,000 a page, the server's maximum default), then get_metric_history for every run and
metric key. Runs with the MLflow venv's Python (scripts/mlflow-server venv). Prints one JSON
object per repetition: runs, metric points and seconds.
    mlflow_read_reference.py --tracking-uri URI --experiment NAME [--reps N] [--figures | --artifacts]
--figures also lists each run's figures and downloads its figures/*.png; --artifacts downloads
every artifact of each run (client.download_artifacts of the run's root) and hashes each file
(sha256), as checking a run's seal needs and as wmtp-audit does.
"""
import argparse
import hashlib
import json
import os
import shutil
import tempfile
import time

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
from mlflow.tracking import MlflowClient  # noqa: E402


def sha256_tree(root):
    """sha256 of every file under root, by relative path."""
    out = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, root)] = hashlib.sha256(f.read()).hexdigest()
    return out


def read_experiment(client, experiment_id, figures, artifacts, scratch):
    runs, token = [], None
    while True:
        page = client.search_runs([experiment_id], max_results=1000, page_token=token)
        runs.extend(page)
        token = page.token
        if not token:
            break
    points = 0
    for run in runs:
        for key in run.data.metrics:
            points += len(client.get_metric_history(run.info.run_id, key))
        if artifacts:
            sha256_tree(client.download_artifacts(run.info.run_id, "", tempfile.mkdtemp(dir=scratch)))
        elif figures:
            for item in client.list_artifacts(run.info.run_id, "figures"):
                if item.path.endswith(".png"):
                    client.download_artifacts(run.info.run_id, item.path, scratch)
    return len(runs), points


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--experiment", required=True)
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--figures", action="store_true")
    parser.add_argument("--artifacts", action="store_true")
    args = parser.parse_args()
    client = MlflowClient(tracking_uri=args.tracking_uri)
    experiment = client.get_experiment_by_name(args.experiment)
    if experiment is None:
        raise SystemExit(f"mlflow_read_reference.py: no experiment {args.experiment!r} at {args.tracking_uri}")
    for _ in range(args.reps):
        scratch = tempfile.mkdtemp(prefix="wmtp-bench-figures-")
        begin = time.perf_counter()
        runs, points = read_experiment(client, experiment.experiment_id, args.figures, args.artifacts, scratch)
        seconds = time.perf_counter() - begin
        shutil.rmtree(scratch, ignore_errors=True)
        print(json.dumps({"runs": runs, "points": points, "read_s": seconds, "figures": args.figures,
                          "artifacts": args.artifacts}), flush=True)


if __name__ == "__main__":
    main()
