"""Mixed producers: one plan over a CSV (examples/python/load.csv, two households), one experiment,
runs from tests/e2e/python_producer.py (the team's PyTorch DLinear, or torch.nn.Linear for an
`external` cell, logged through the wmtp package) beside wmtp-train's. The audit from MLflow gates
every run alike (each producer's parent is a container): ALL PASS. wmtp-train refuses a plan with
an external cell, even outside its shard, so the external cell has a plan of its own."""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid

from conftest import ROOT, tool, tracking_uri

PRODUCER = os.path.join(ROOT, "tests", "e2e", "python_producer.py")


def run(cmd, cwd):
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, "%s failed (exit %d):\n%s%s" % (cmd[:2], done.returncode, done.stdout, done.stderr)
    return done.stdout


def audit(args, cwd):
    subprocess.run([tool("wmtp-audit")] + args + ["-o", "verdict.json"], cwd=cwd, capture_output=True, text=True)
    return json.loads((cwd / "verdict.json").read_text())


def write_plan(folder, cells):
    """A plan over examples/python/load.csv (two households, 42 days) x `cells` x seed 7, in an
    experiment of its own; returns the experiment's name."""
    example = os.path.join(ROOT, "examples", "python")
    for name in ("load.csv", "linear.json"):
        shutil.copy(os.path.join(example, name), folder / name)
    experiment = "mixed-" + uuid.uuid4().hex[:8]
    (folder / "plan.json").write_text(json.dumps({
        "name": "mixed", "description": "One plan, several producers.", "experiment": experiment,
        "data": {"kind": "csv", "path": "load.csv", "unit": "kW"}, "series": ["house-a", "house-b"],
        "cells": [{"name": c, "recipe": "linear.json" if c == "LIN" else c, "use_vq": False} for c in cells],
        "seeds": [7]}))
    return experiment


def python_producer(folder, shard, uri):
    return run([sys.executable, PRODUCER, "plan.json", "--shard", shard, "--ledger", "python.sqlite",
                "--tracking-uri", uri], folder).split()


def audit_all_pass(folder, experiment, uri, runs, containers):
    verdict = audit(["--experiment", experiment, "--tracking-uri", uri, "--source", "mlflow", "--artifact-cache",
                     "cache"], folder)
    assert verdict["overall"] == "ALL PASS", json.dumps(verdict)[:3000]
    assert sorted(r["run_name"] for r in verdict["runs"]) == sorted(runs)
    assert len(verdict["containers"]) == containers, verdict["containers"]
    assert all(g["status"] in ("PASS", "SKIPPED") for g in verdict["gates"]), verdict["gates"]


def test_python_and_wmtp_train_halves_of_one_plan_audit_all_pass(tmp_path):
    """Shard 1/2 (B0) from the Python producer, shard 2/2 (B2) from wmtp-train, one experiment."""
    uri = tracking_uri()
    experiment = write_plan(tmp_path, ["B0", "B2"])
    assert python_producer(tmp_path, "1/2", uri) == ["B0-house-a-s7", "FINISHED", "B0-house-b-s7", "FINISHED"]
    run([tool("wmtp-train"), "--plan", "plan.json", "--shard", "2/2", "--ledger", "train.sqlite", "--tracking-uri",
         uri, "--quiet", "--threads", "1"], tmp_path)
    audit_all_pass(tmp_path, experiment, uri, ["B0-house-a-s7", "B0-house-b-s7", "B2-house-a-s7", "B2-house-b-s7"], 2)

    with sqlite3.connect(tmp_path / "python.sqlite") as db:
        removed = db.execute("DELETE FROM params WHERE key = 'train_data_hash' AND run = (SELECT run FROM tags "
                             "WHERE key = 'mlflow.runName' AND value = 'B0-house-b-s7')").rowcount
    assert removed == 1
    verdict = audit(["--experiment", experiment, "--ledger", "python.sqlite", "--ledger", "train.sqlite"], tmp_path)
    g6 = next(g for g in verdict["gates"] if g["id"] == "G6")
    assert g6["status"] == "FAIL" and verdict["overall"] in ("FAIL", "CRITICAL FAIL"), json.dumps(verdict)[:3000]
    assert {r["run_name"] for r in g6["results"] if r["status"] == "FAIL"} == {"B0-house-b-s7"}


def test_an_external_cell_beside_a_dlinear_cell(tmp_path):
    """A second Python producer trains LIN (torch.nn.Linear, a model wmtp does not have) beside
    the team's DLinear B0 runs of the same plan: two producer processes, one experiment."""
    uri = tracking_uri()
    experiment = write_plan(tmp_path, ["B0", "LIN"])
    assert python_producer(tmp_path, "1/2", uri) == ["B0-house-a-s7", "FINISHED", "B0-house-b-s7", "FINISHED"]
    assert python_producer(tmp_path, "2/2", uri) == ["LIN-house-a-s7", "FINISHED", "LIN-house-b-s7", "FINISHED"]
    audit_all_pass(tmp_path, experiment, uri, ["B0-house-a-s7", "B0-house-b-s7", "LIN-house-a-s7",
                                               "LIN-house-b-s7"], 2)
