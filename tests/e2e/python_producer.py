#!/usr/bin/env python3
"""A second producer of one wmtp plan: the seeds' team's Python pipeline logging runs with the
official MLflow client into the experiment that wmtp-train logs the plan's other runs into.

It reads what each run must log before training from `wmtp-train --plan P --shard i/n
--print-contract` (the plan's identity: cell, seed, recipe and plan hashes, the definition's
payload and hash, the config documents) and computes everything that depends on the data itself,
as the seeds describe it, from the CSV the plan names:
  - the 70/10/20 split (train n*7//10, test n*2//10) and each split's data hash,
    sha256(a.tobytes() + str(a.shape).encode() + str(a.dtype).encode()).hexdigest()[:16];
  - the standard scaler (mean, population std) and its signature, the same hash over canonical
    JSON {"kind", "params": {"mean", "scale"}, "fitted_on", "unit"};
  - the golden check of its own PAPE/HR (numpy) against schemas/golden/golden.json.
Then it trains with the PyTorch models of bench/train_reference.py (through
bench/pipeline_reference.py), logs params, metrics (step 0 for single values), datasets
(log_inputs), a torch checkpoint, matplotlib figures with the PNG text chunks, the config
documents and the run's seal (wmtp/seal.json, version 2: RFC 8785 JSON with binary history hashes,
tests/support/seal_hashes.py; and the tag wmtp.seal_sha256), each run a child of one Python
parent run that has no params.

Exit 1 when a value it computed differs from the one wmtp-train would log (the contract), so
that a drift in the data scheme shows here, not only as a failing gate.

  python_producer.py CONTRACT --csv FILE --tracking-uri URI --golden schemas/golden/golden.json
      [--omit-param RUN:PARAM ...]   leave a param out of one run (the audit must fail it)
Needs torch, numpy, mlflow(-skinny) and matplotlib: scripts/pipeline-venv makes such a venv.
"""
import argparse
import csv
import getpass
import hashlib
import json
import math
import os
import sys
import tempfile
import time
import uuid

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench"))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import pipeline_reference as pipeline  # noqa: E402  the team's training, metrics and figures
import seal_hashes  # noqa: E402  RFC 8785 and the binary history hash: seal version 2

PRODUCER = "tests/e2e/python_producer.py"


# ---- canonical JSON and hashes, as wmtp writes them (src/core/canonical_json.h) --------------------

def number_text(v):
    """nlohmann::json's shortest round-trip form of a finite double: Python's repr, except that
    nlohmann switches to the exponent form one decade earlier (from 1e15, Python from 1e16)."""
    text = repr(float(v))
    if "e" in text or abs(v) < 1e15:
        return text
    digits = text.lstrip("-").replace(".", "").rstrip("0")
    return "%s%s%se+15" % ("-" if v < 0 else "", digits[0], "." + digits[1:] if len(digits) > 1 else "")


def canonical(v):
    """Canonical JSON: keys sorted, no whitespace, integers as integers (canonical_json.h)."""
    if isinstance(v, bool) or v is None:
        return json.dumps(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError("canonical JSON holds no NaN or infinity")
        return number_text(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(canonical(x) for x in v) + "]"
    return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + canonical(v[k]) for k in sorted(v)) + "}"


def hash16(value):
    return hashlib.sha256(canonical(value).encode()).hexdigest()[:16]


def data_hash(a):
    a = np.asarray(a, dtype=np.float64)
    return hashlib.sha256(a.tobytes() + str(a.shape).encode() + str(a.dtype).encode()).hexdigest()[:16]


def json_number(v):
    return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity") if math.isinf(v) else float(v)


# ---- the data, as the seeds describe it -----------------------------------------------------------

def read_long_csv(path):
    series = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            series.setdefault(row["series"], []).append((row["timestamp"], float(row["value"])))
    return {name: [v for _, v in sorted(points)] for name, points in series.items()}


def prepare(values, unit):
    n = len(values)
    train_end, val_end = n * 7 // 10, n - n * 2 // 10
    train = values[:train_end]
    mean = 0.0
    for v in train:  # sequential sums in double, as the C++ scaler adds
        mean += v
    mean /= len(train)
    sum_sq = 0.0
    for v in train:
        sum_sq += (v - mean) * (v - mean)
    scale = math.sqrt(sum_sq / len(train))
    hashes = {"train_data_hash": data_hash(train), "val_data_hash": data_hash(values[train_end:val_end]),
              "test_data_hash": data_hash(values[val_end:])}
    signature = hash16({"kind": "standard-scaler", "params": {"mean": mean, "scale": scale},
                        "fitted_on": hashes["train_data_hash"], "unit": unit})
    standardized = (np.asarray(values) - mean) / scale
    return {"values": values, "standardized": standardized.tolist(), "scaler_mean": mean, "scaler_scale": scale,
            "scaler_signature": signature, "unit": unit, "bounds": (train_end, val_end, n), **hashes}


def windows(bounds, L, P):
    train_end, val_end, n = bounds
    return (list(range(0, train_end - L - P + 1)), list(range(train_end - L, val_end - P - L + 1)),
            list(range(val_end - L, n - P - L + 1)))


def golden_check(path):
    with open(path) as f:
        golden = json.load(f)
    metrics, ok = {}, True
    for case in golden["cases"]:
        y, yhat = np.asarray(case["y"], dtype=np.float64), np.asarray(case["yhat"], dtype=np.float64)
        for measure, got, expected in (("pape", pipeline.pape(y, yhat), case["expected_pape"]),
                                       ("hr", pipeline.hit_rate(y, yhat), case["expected_hr"])):
            metrics["golden_%s_%s" % (case["id"].lower(), measure)] = got
            ok = ok and (math.isnan(got) if expected is None else abs(got - expected) <= golden["atol"])
    return ("pass" if ok else "fail"), metrics


# ---- the seal, version 2 (src/experiment/seal.h) -------------------------------------------------

def seal_text(params, points, artifacts):
    finals = {key: json_number(max(pts, key=lambda p: p[0])[1]) for key, pts in points.items()}
    histories = {key: seal_hashes.history_hash(pts) for key, pts in points.items()}
    files = [{"path": p, "size": s, "sha256": h} for p, s, h in sorted(artifacts)]
    return seal_hashes.jcs({"seal_version": 2, "status": "FINISHED", "params": params, "final_metrics": finals,
                            "histories": histories, "artifacts": files})


# ---- one run --------------------------------------------------------------------------------------

def check_contract(spec, series, golden):
    """Exit 1 when a value computed here differs from the one wmtp-train would log."""
    computed = {k: series[k] for k in ("train_data_hash", "val_data_hash", "test_data_hash")}
    computed["dlinear_output_scaler_space_signature"] = series["scaler_signature"]
    computed["golden_tensor_check"] = golden[0]
    for key, value in computed.items():
        if spec["params"].get(key) != value:
            raise SystemExit("%s: %s: computed %s = %s, but wmtp-train logs %s" %
                             (PRODUCER, spec["run_name"], key, value, spec["params"].get(key)))


def produce(client, experiment_id, experiment, parent_id, spec, series, golden, omit, scratch, plt):
    from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param, RunTag
    params = dict(spec["params"])  # equal to what this producer computed (check_contract)
    recipe = spec["artifacts"]["config/recipe.json"]
    for key in omit.get(spec["run_name"], ()):
        params.pop(key)
    local_id = uuid.uuid4().hex
    tags = dict(spec["tags"], **{"wmtp.local_run_id": local_id, "mlflow.parentRunId": parent_id,
                                  "mlflow.source.name": PRODUCER, "mlflow.source.type": "LOCAL",
                                  "mlflow.user": getpass.getuser(), "wmtp.producer": "python"})
    run = client.create_run(experiment_id, run_name=spec["run_name"], tags=tags)
    run_id = run.info.run_id

    L, P = recipe["window"]["seq_len"], recipe["window"]["pred_len"]
    train_starts, val_starts, test_starts = windows(series["bounds"], L, P)
    result = pipeline.train({"recipe": recipe, "seed": int(params["seed"]),
                             "seasonal_period": int(params["seasonal_period"]), "train_starts": train_starts,
                             "val_starts": val_starts, "test_starts": test_starts}, series)

    points = {}

    def add(key, value, step):
        points.setdefault(key, []).append((step, float(value)))
    per_epoch = result["steps_per_epoch"]
    for i, v in enumerate(result["losses"]):
        add("train_loss", v, i + 1)
        add("epoch", i // per_epoch + 1, i + 1)
    for e, v in enumerate(result["val_losses"]):
        add("val_loss", v, e + 1)
        add("train_loss_epoch", np.mean(result["losses"][e * per_epoch:(e + 1) * per_epoch]), e + 1)
    for key, value in list(result["final"].items()) + list(golden[1].items()):
        add(key, value, 0)  # single values at step 0
    now = int(time.time() * 1000)
    metrics = [Metric(k, v, now, s) for k, pts in points.items() for s, v in pts]
    client.log_batch(run_id, params=[Param(k, v) for k, v in params.items()])
    for i in range(0, len(metrics), 1000):  # MLflow takes at most 1,000 metrics per log_batch
        client.log_batch(run_id, metrics=metrics[i:i + 1000])
    contexts = (("training", "train_data_hash", 0), ("validation", "val_data_hash", 1),
                ("testing", "test_data_hash", 2))
    client.log_inputs(run_id, datasets=[
        DatasetInput(Dataset(params["series"], series[key], "local", json.dumps({"path": series["path"]})),
                     [InputTag("mlflow.data.context", context)]) for context, key, _ in contexts])

    out = tempfile.mkdtemp(dir=scratch)
    files = []
    checkpoint = os.path.join(out, "step-%08d.pt" % len(result["losses"]))
    pipeline.torch.save(result["model"].state_dict(), checkpoint)
    files.append((checkpoint, "checkpoints"))
    metadata = {"wmtp.run_id": local_id, "wmtp.experiment": experiment, "wmtp.run_name": spec["run_name"],
                "wmtp.pape_definition_hash": params["pape_definition_hash"],
                "wmtp.train_data_hash": series["train_data_hash"], "Software": PRODUCER}
    files += [(p, "figures") for p in pipeline.write_figures(out, result, spec["run_name"], metadata, plt)]
    for name, document in spec["artifacts"].items():
        path = os.path.join(out, os.path.basename(name))
        with open(path, "w") as f:
            json.dump(document, f, indent=2)
        files.append((path, os.path.dirname(name)))
    sealed = []
    for path, folder in files:
        client.log_artifact(run_id, path, folder)
        with open(path, "rb") as f:
            data = f.read()
        sealed.append((folder + "/" + os.path.basename(path), len(data), hashlib.sha256(data).hexdigest()))
    seal = seal_text(params, points, sealed).encode()
    seal_path = os.path.join(out, "seal.json")
    with open(seal_path, "wb") as f:
        f.write(seal)
    client.log_artifact(run_id, seal_path, "wmtp")
    client.log_batch(run_id, tags=[RunTag("wmtp.seal_sha256", hashlib.sha256(seal).hexdigest())])
    client.set_terminated(run_id, "FINISHED")
    return spec["run_name"], run_id


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("contract", help="output of wmtp-train --print-contract")
    parser.add_argument("--csv", required=True, help="the plan's CSV (long: timestamp,series,value)")
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--golden", required=True, help="schemas/golden/golden.json")
    parser.add_argument("--omit-param", action="append", default=[], metavar="RUN:PARAM")
    args = parser.parse_args()
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from mlflow import MlflowClient

    with open(args.contract) as f:
        contract = json.load(f)
    omit = {}
    for item in args.omit_param:
        run_name, _, key = item.partition(":")
        omit.setdefault(run_name, []).append(key)
    golden = golden_check(args.golden)
    data = read_long_csv(args.csv)
    prepared = {}
    for spec in contract["runs"]:  # every check before anything is logged
        name, unit = spec["params"]["series"], spec["params"]["data_unit"]
        if name not in prepared:
            prepared[name] = dict(prepare(data[name], unit), path=os.path.abspath(args.csv))
        check_contract(spec, prepared[name], golden)
    client = MlflowClient(args.tracking_uri)
    experiment = contract["experiment"]
    found = client.get_experiment_by_name(experiment)
    experiment_id = found.experiment_id if found else client.create_experiment(experiment)
    parent = client.create_run(experiment_id, run_name="%s (Python pipeline)" % contract["plan_name"],
                               tags={"mlflow.source.name": PRODUCER, "wmtp.producer": "python"})
    scratch = tempfile.mkdtemp(prefix="python-producer.")
    produced = []
    for spec in contract["runs"]:
        produced.append(produce(client, experiment_id, experiment, parent.info.run_id, spec,
                                prepared[spec["params"]["series"]], golden, omit, scratch, plt))
    client.set_terminated(parent.info.run_id, "FINISHED")
    print(json.dumps({"parent": parent.info.run_id, "runs": dict(produced)}))


if __name__ == "__main__":
    main()
