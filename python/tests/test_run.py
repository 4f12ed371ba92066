import json
import os
import sqlite3
import subprocess
import sys

import numpy as np
import pytest

import wmtp
from conftest import ROOT, tool, tracking_uri, write_plan

EXAMPLE = os.path.join(ROOT, "examples", "python", "linear_forecaster.py")


def ledger_rows(ledger, sql, *args):
    with sqlite3.connect(ledger) as db:
        return db.execute(sql, args).fetchall()


def run_status(ledger, run_name):
    return ledger_rows(ledger, "SELECT r.status FROM runs r JOIN tags t ON t.run = r.id "
                               "WHERE t.key = 'mlflow.runName' AND t.value = ?", run_name)[0][0]


def params_of(ledger, local_id):
    return dict(ledger_rows(ledger, "SELECT p.key, p.value FROM params p JOIN runs r ON r.id = p.run "
                                    "WHERE r.local_id = ?", local_id))


def audit(ledger, experiment, tmp_path):
    verdict = tmp_path / "verdict.json"
    done = subprocess.run([tool("wmtp-audit"), "--ledger", ledger, "--experiment", experiment, "--strict",
                           "-o", str(verdict)], capture_output=True, text=True)
    return done, json.loads(verdict.read_text()) if verdict.exists() else None


def test_example_audits_all_pass(example_plan, tmp_path):
    ledger = str(tmp_path / "ledger.sqlite")
    subprocess.run([sys.executable, EXAMPLE, example_plan, ledger], check=True, timeout=300)
    done, verdict = audit(ledger, wmtp.plan(example_plan).runs()[0].experiment, tmp_path)
    assert done.returncode == 0, done.stderr
    assert verdict["overall"] == "ALL PASS", json.dumps(verdict)[:2000]
    parent = ledger_rows(ledger, "SELECT r.local_id, r.status FROM runs r JOIN tags t ON t.run = r.id "
                                 "WHERE t.key = 'wmtp.run_role' AND t.value = 'plan'")
    assert len(parent) == 1 and parent[0][1] == "FINISHED"
    children = ledger_rows(ledger, "SELECT count(*) FROM tags WHERE key = 'wmtp.parent_local_run_id' AND value = ?",
                           parent[0][0])
    assert children == [(2,)]
    assert params_of(ledger, parent[0][0])["shard"] == "all"
    checkpoints = ledger_rows(ledger, "SELECT a.path FROM artifacts a JOIN runs r ON r.id = a.run "
                                      "WHERE a.path LIKE 'checkpoints/%.pt'")
    assert len(checkpoints) == 2  # run.log_checkpoint(model.state_dict()), saved by torch.save


def start(small_plan, tmp_path, cell="B0"):
    return wmtp.start_run(small_plan, cell, "household-01", 5, tracking_uri="", ledger=str(tmp_path / "l.sqlite"))


def test_contract_params_logged_and_held_back(small_plan, tmp_path):
    p = wmtp.plan(small_plan)
    values = p.series("household-01")
    with pytest.raises(wmtp.Error, match="log_split"):
        with start(small_plan, tmp_path) as run:
            local_id = run.local_run_id
            run.flush()
            logged = params_of(str(tmp_path / "l.sqlite"), local_id)
            assert logged["golden_tensor_check"] == "pass"
            assert logged["pape_definition_hash"] == wmtp.pape_definition_hash()
            assert "train_data_hash" not in logged  # only log_split computes it
    assert run_status(str(tmp_path / "l.sqlite"), "B0-household-01-s5") == "FAILED"
    assert len(values) > 0


def test_split_of_other_data_is_refused(small_plan, tmp_path):
    values = wmtp.plan(small_plan).series("household-01")
    train, val, test = wmtp.split(values)
    other = np.array(val, copy=True)
    other[0] += 0.001
    with pytest.raises(ValueError) as e:
        with start(small_plan, tmp_path) as run:
            run.log_split(train, other, test)
    msg = str(e.value)
    assert "val split hashes to %s" % wmtp.data_hash(other) in msg
    assert wmtp.data_hash(val) in msg
    assert run_status(str(tmp_path / "l.sqlite"), "B0-household-01-s5") == "FAILED"


@pytest.mark.parametrize("key", ["golden_tensor_check", "train_data_hash", "dlinear_output_scaler_space_signature",
                                 "nan_step_count", "test_pape", "golden_g1_pape"])
def test_own_names_are_refused(small_plan, tmp_path, key):
    with pytest.raises(ValueError, match="logged by the wmtp package"):
        with start(small_plan, tmp_path) as run:
            if key in ("nan_step_count", "test_pape", "golden_g1_pape"):
                run.log_metric(key, 0.0)
            else:
                run.log_param(key, "pass")


def test_nan_steps_are_counted_and_vq_signature_logged(vq_plan, tmp_path):
    p = wmtp.plan(vq_plan)
    train, val, test = wmtp.split(p.series("household-01"))
    with pytest.warns(UserWarning, match="0 checkpoints"), start(vq_plan, tmp_path, cell="A3") as run:
        run.log_split(train, val, test)
        scaler = run.fit_scaler(train)
        run.step(1.0)
        run.step(float("nan"))
        run.epoch(val_loss=1.0)
        y = np.tile(test[:24], (3, 1))
        run.evaluate(y, y, split="test")
    ledger = str(tmp_path / "l.sqlite")
    params = params_of(ledger, run.local_run_id)
    assert params["vq_scaler_space_signature"] == scaler.signature() == params["dlinear_output_scaler_space_signature"]
    assert params["vq_scaler_space_signature"] == p.find("A3", "household-01", 5).params["vq_scaler_space_signature"]
    nan_steps = ledger_rows(ledger, "SELECT m.value FROM metrics m JOIN runs r ON r.id = m.run "
                                    "WHERE r.local_id = ? AND m.key = 'nan_step_count'", run.local_run_id)
    assert nan_steps == [(1.0,)]
    assert run_status(ledger, "A3-household-01-s5") == "FINISHED"
    assert ledger_rows(ledger, "SELECT count(*) FROM tags t JOIN runs r ON r.id = t.run WHERE r.local_id = ? AND "
                               "t.key = 'wmtp.seal_sha256'", run.local_run_id) == [(1,)]


def test_exception_marks_failed_and_seals(small_plan, tmp_path):
    with pytest.raises(RuntimeError, match="boom"):
        with start(small_plan, tmp_path):
            raise RuntimeError("boom")
    assert run_status(str(tmp_path / "l.sqlite"), "B0-household-01-s5") == "FAILED"


def test_through_a_real_mlflow_server(example_plan, tmp_path):
    uri = tracking_uri()
    ledger = str(tmp_path / "ledger.sqlite")
    subprocess.run([sys.executable, EXAMPLE, example_plan, ledger, uri], check=True, timeout=300)
    left = ledger_rows(ledger, "SELECT count(*) FROM outbox")[0][0]
    assert left == 0  # MLflow acknowledged everything
    done = subprocess.run([tool("wmtp-audit"), "--tracking-uri", uri, "--source", "mlflow", "--experiment",
                           wmtp.plan(example_plan).runs()[0].experiment, "--strict", "-o", str(tmp_path / "v.json")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "v.json").read_text())["overall"] == "ALL PASS"


def test_readme_shows_the_example_as_it_is():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    with open(EXAMPLE, encoding="utf-8") as f:
        assert "```python\n" + f.read() + "```" in readme


def test_csv_plan_checks_the_split_against_the_file(tmp_path):
    values = np.round(np.random.default_rng(3).gamma(2.0, 0.5, size=40 * 24), 3)
    lines = ["timestamp,series,value"] + ["2024-01-%02dT%02d:00:00Z,meter-7,%r" % (1 + i // 24, i % 24, float(v))
                                          for i, v in enumerate(values)]
    lines = lines[:1 + 31 * 24] + ["2024-02-%02dT%02d:00:00Z,meter-7,%r" % (1 + i // 24, i % 24, float(v))
                                   for i, v in enumerate(values[31 * 24:])]
    (tmp_path / "load.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "plan.json").write_text(json.dumps({
        "name": "csv", "description": "CSV", "experiment": "wmtp-python-csv",
        "data": {"kind": "csv", "path": "load.csv"}, "cells": [{"name": "B0", "recipe": "B0", "use_vq": False}],
        "seeds": [1]}))
    plan = wmtp.plan(str(tmp_path / "plan.json"))
    assert np.array_equal(plan.series("meter-7"), values)
    train, val, test = wmtp.split(values)
    with pytest.raises(ValueError, match=r"the test split hashes to .* the plan's data \(csv, series meter-7\)"):
        with wmtp.start_run(plan, "B0", "meter-7", 1, tracking_uri="", ledger=str(tmp_path / "l.sqlite")) as run:
            run.log_split(train, val, test * 1000.0)  # MW given where the plan's file says kW


def test_a_png_file_gets_the_provenance_chunks(tmp_path):
    plt = pytest.importorskip("matplotlib.pyplot")
    from PIL import Image
    from wmtp.run import _png_with_text
    fig = plt.figure(figsize=(2, 2))
    fig.savefig(tmp_path / "f.png", format="png", metadata={"wmtp.run_id": "stale", "Title": "kept"})
    plt.close(fig)
    out = tmp_path / "g.png"
    out.write_bytes(_png_with_text((tmp_path / "f.png").read_bytes(), {"wmtp.run_id": "abc", "Software": "x"}, "f"))
    text = Image.open(out).text
    assert text["wmtp.run_id"] == "abc" and text["Title"] == "kept" and text["Software"] == "x"
    with pytest.raises(ValueError, match="not a PNG"):
        _png_with_text(b"GIF89a", {}, "f.gif")


def test_an_external_model_audits_all_pass_beside_a_dlinear_cell(tmp_path):
    """A model wmtp does not train (model.kind external) in the same plan as a dlinear cell: the
    example's PyTorch linear model trains both, the external runs log its name and params, and the
    built wmtp-audit gates the whole plan ALL PASS."""
    recipe = {"name": "LIN", "description": "NumPy linear model, trained outside wmtp.",
              "model": {"kind": "external", "name": "numpy-linear", "params": {"lr": 0.005, "batches": 8}},
              "weighting": {"kind": "uniform"}, "training": {"epochs": 5}}
    (tmp_path / "lin.json").write_text(json.dumps(recipe))
    plan_path = write_plan(tmp_path / "plan.json", ["B0"])
    plan_doc = json.loads(open(plan_path).read())
    plan_doc["cells"].append({"name": "LIN", "recipe": "lin.json", "use_vq": False})
    (tmp_path / "plan.json").write_text(json.dumps(plan_doc))
    specs = {s.cell: s for s in wmtp.plan(plan_path).runs()}
    assert specs["LIN"].params["model"] == "external"
    assert specs["LIN"].params["model_name"] == "numpy-linear"
    assert specs["LIN"].params["model.lr"] == "0.005" and specs["LIN"].params["model.batches"] == "8"
    assert specs["LIN"].params["use_vq"] == "false" and "moving_avg" not in specs["LIN"].params
    assert specs["B0"].params["model"] == "dlinear" and "model_name" not in specs["B0"].params

    ledger = str(tmp_path / "ledger.sqlite")
    subprocess.run([sys.executable, EXAMPLE, plan_path, ledger], check=True, timeout=300)
    done, verdict = audit(ledger, specs["LIN"].experiment, tmp_path)
    assert done.returncode == 0, done.stderr
    assert verdict["overall"] == "ALL PASS", json.dumps(verdict)[:2000]
    lin = ledger_rows(ledger, "SELECT r.local_id FROM runs r JOIN params p ON p.run = r.id "
                              "WHERE p.key = 'model' AND p.value = 'external'")
    assert len(lin) == 1
    assert params_of(ledger, lin[0][0])["model_name"] == "numpy-linear"

    # The same run with a param that contradicts its recipe fails Gate 6.
    with sqlite3.connect(ledger) as db:
        db.execute("UPDATE params SET value = '0.5' WHERE key = 'model.lr' AND run = "
                   "(SELECT id FROM runs WHERE local_id = ?)", (lin[0][0],))
    done, verdict = audit(ledger, specs["LIN"].experiment, tmp_path)
    assert done.returncode == 1, done.stderr
    assert "param model.lr 0.5 contradicts the run's config/recipe.json (0.005)" in done.stderr + json.dumps(verdict)
