#!/usr/bin/env python3
"""A second producer of one wmtp plan: the seeds' team's PyTorch pipeline (bench/pipeline_reference.py,
DLinear as bench/train_reference.py builds it) and, for an `external` cell, a torch.nn.Linear over
the window, both logging through the `wmtp` package into the experiment that wmtp-train logs the
plan's other runs into. The package computes the contract, data hashes, scaler signature, golden
check, metrics, figures' text chunks and the seal; this file trains and logs.

  python_producer.py PLAN --shard i/n --ledger FILE [--tracking-uri URI]
Needs the wmtp package, torch, numpy and matplotlib (scripts/python-package's venv).
"""
import argparse
import os
import sys
import tempfile

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

import wmtp  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
import pipeline_reference as pipeline  # noqa: E402  the team's DLinear training and figures


def train_linear(recipe, seed, z, starts):
    """The external cell's model: torch.nn.Linear(seq_len, pred_len), Adam, MSE, in float64."""
    L, H = recipe["window"]["seq_len"], recipe["window"]["pred_len"]
    windows = [(torch.stack([z[s:s + L] for s in ss]), torch.stack([z[s + L:s + L + H] for s in ss])) for ss in starts]
    torch.manual_seed(seed)
    model = torch.nn.Linear(L, H).double()
    optimizer = torch.optim.Adam(model.parameters(), lr=recipe["optimizer"]["lr"])
    losses, val_losses = [], []
    for _ in range(recipe["training"]["epochs"]):
        for batch in torch.randperm(len(windows[0][0])).split(recipe["training"]["batch_size"]):
            loss = torch.nn.functional.mse_loss(model(windows[0][0][batch]), windows[0][1][batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(float(loss))
        with torch.no_grad():
            val_losses.append(float(torch.nn.functional.mse_loss(model(windows[1][0]), windows[1][1])))
    with torch.no_grad():
        predictions = {split: (y.numpy(), model(x).numpy()) for split, (x, y) in zip(("val", "test"), windows[1:])}
    return {"losses": losses, "val_losses": val_losses, "steps_per_epoch": len(losses) // len(val_losses),
            "model": model, "predictions": predictions}


def produce(plan, session, spec, scratch):
    recipe = spec.artifacts["config/recipe.json"]
    values = plan.series(spec.series)
    train, val, test = wmtp.split(values)
    with session.start_run(spec) as run:
        run.log_split(train, val, test)
        scaler = run.fit_scaler(train)
        z = scaler.transform(values)
        if recipe["model"]["kind"] == "external":
            result = train_linear(recipe, spec.seed, torch.from_numpy(z), plan.windows(spec))
            result["predictions"] = {k: (scaler.inverse(y), scaler.inverse(yhat))
                                     for k, (y, yhat) in result["predictions"].items()}
        else:
            tr, va, te = plan.windows(spec)
            series = {"values": values, "standardized": z.tolist(), "scaler_mean": scaler.mean,
                      "scaler_scale": scaler.scale}
            result = pipeline.train({"recipe": recipe, "seed": spec.seed, "train_starts": tr, "val_starts": va,
                                     "test_starts": te, "seasonal_period": int(spec.params["seasonal_period"])},
                                    series)
        per_epoch = result["steps_per_epoch"]
        for e, val_loss in enumerate(result["val_losses"]):
            for loss in result["losses"][e * per_epoch:(e + 1) * per_epoch]:
                run.step(loss)
            run.epoch(val_loss=val_loss)
        run.log_checkpoint(result["model"].state_dict())
        for split, (y, yhat) in result["predictions"].items():
            run.evaluate(y, yhat, split=split)
        if "week" in result:
            out = tempfile.mkdtemp(dir=scratch)
            for path in pipeline.write_figures(out, result, spec.run_name, run.figure_metadata(), plt):
                run.log_figure(path)
        else:
            fig, ax = plt.subplots(figsize=(8, 3))
            ax.plot(result["losses"], label="train_loss")
            ax.legend()
            run.log_figure(fig, "loss_curves")
            plt.close(fig)
    return run.status


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("plan")
    parser.add_argument("--shard", default=None, help="i/n: this producer's share of the plan")
    parser.add_argument("--ledger", required=True)
    parser.add_argument("--tracking-uri", default="", help='MLflow; "" (default): the ledger only')
    args = parser.parse_args()
    plan = wmtp.plan(args.plan)
    with tempfile.TemporaryDirectory() as scratch, \
            plan.start(shard=args.shard, ledger=args.ledger, tracking_uri=args.tracking_uri) as session:
        for spec in session.runs:
            print(spec.run_name, produce(plan, session, spec, scratch))
    return 0


if __name__ == "__main__":
    sys.exit(main())
