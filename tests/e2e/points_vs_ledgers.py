"""Counts what reached MLflow against what the ledgers recorded: every run once, every metric
point once. Usage: points_vs_ledgers.py <tracking uri> <experiment> <ledger.sqlite>...
Prints one line per mismatch and a summary; exit 0 when MLflow holds exactly the ledgers' runs
and, per run and metric key, exactly as many points (0 lost, 0 duplicated), else 1."""
import collections
import sqlite3
import sys

from mlflow.tracking import MlflowClient


def ledger_counts(paths, experiment):
    runs, points = {}, collections.Counter()
    for path in paths:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        rows = db.execute(
            "SELECT r.local_id, r.name FROM runs r JOIN experiments e ON e.id = r.experiment_id WHERE e.name = ?",
            (experiment,)).fetchall()
        for local_id, name in rows:
            if local_id in runs:
                sys.exit(f"points_vs_ledgers: run {local_id} is in two ledgers")
            runs[local_id] = name
        for local_id, key, n in db.execute(
                "SELECT r.local_id, m.key, COUNT(*) FROM metrics m JOIN runs r ON r.id = m.run "
                "JOIN experiments e ON e.id = r.experiment_id WHERE e.name = ? GROUP BY r.local_id, m.key",
                (experiment,)):
            points[(local_id, key)] = n
        db.close()
    return runs, points


def mlflow_counts(uri, experiment):
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        sys.exit(f"points_vs_ledgers: experiment {experiment} not in {uri}")
    runs, points, copies = {}, collections.Counter(), collections.Counter()
    for run in client.search_runs([exp.experiment_id], max_results=5000):
        local_id = run.data.tags.get("wmtp.local_run_id", run.info.run_id)
        copies[local_id] += 1
        runs[local_id] = run.info.run_name
        for key in run.data.metrics:
            points[(local_id, key)] += len(client.get_metric_history(run.info.run_id, key))
    return runs, points, copies


def main():
    uri, experiment, ledgers = sys.argv[1], sys.argv[2], sys.argv[3:]
    want_runs, want_points = ledger_counts(ledgers, experiment)
    got_runs, got_points, copies = mlflow_counts(uri, experiment)
    bad = 0
    for local_id, n in copies.items():
        if n != 1:
            print(f"run {local_id}: {n} copies in MLflow")
            bad += 1
    for local_id in sorted(set(want_runs) ^ set(got_runs)):
        where = "only in the ledgers" if local_id in want_runs else "only in MLflow"
        print(f"run {local_id} ({want_runs.get(local_id) or got_runs.get(local_id)}): {where}")
        bad += 1
    lost = duplicated = 0
    for key in sorted(set(want_points) | set(got_points)):
        diff = got_points[key] - want_points[key]
        if diff:
            print(f"run {key[0]} metric {key[1]}: ledger {want_points[key]} point(s), MLflow {got_points[key]}")
            lost += max(0, -diff)
            duplicated += max(0, diff)
    print(f"points_vs_ledgers: {len(got_runs)} run(s) in MLflow, {len(want_runs)} in {len(ledgers)} ledger(s); "
          f"{sum(want_points.values())} point(s) in the ledgers, {sum(got_points.values())} in MLflow: "
          f"{lost} lost, {duplicated} duplicated")
    sys.exit(1 if bad or lost or duplicated else 0)


if __name__ == "__main__":
    main()
