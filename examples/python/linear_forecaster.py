"""A linear forecaster trained with NumPy on every run of a plan, logged gate-ready through wmtp
under one parent run (README "Use from Python").

    python linear_forecaster.py PLAN LEDGER [TRACKING_URI]    then: wmtp-audit --ledger LEDGER
"""
import os
import sys
import tempfile

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import wmtp  # noqa: E402

plan = wmtp.plan(sys.argv[1])
uri = sys.argv[3] if len(sys.argv) > 3 else ""  # "": the ledger only; None: MLFLOW_TRACKING_URI
with plan.start(ledger=sys.argv[2], tracking_uri=uri) as session:  # the plan's parent run
    for spec in session.runs:  # every (series, cell, seed) of the plan (or of a shard)
        recipe = spec.artifacts["config/recipe.json"]
        L, H = recipe["window"]["seq_len"], recipe["window"]["pred_len"]
        values = plan.series(spec.series)  # or your own array: it must hash as the plan's data
        train, val, test = wmtp.split(values)
        with session.start_run(spec) as run:
            run.log_split(train, val, test)
            scaler = run.fit_scaler(train)
            z = scaler.transform(values)
            (Xtr, Ytr), (Xva, Yva), (Xte, Yte) = [
                (np.stack([z[s:s + L] for s in starts]), np.stack([z[s + L:s + L + H] for s in starts]))
                for starts in plan.windows(spec)]
            rng, W, b = np.random.default_rng(spec.seed), np.zeros((L, H)), np.zeros(H)
            for epoch in range(recipe["training"]["epochs"]):
                for batch in np.array_split(rng.permutation(len(Xtr)), 8):
                    err = Xtr[batch] @ W + b - Ytr[batch]
                    W -= 0.005 * Xtr[batch].T @ err / len(batch)
                    b -= 0.005 * err.mean(axis=0)
                    run.step(np.mean(err ** 2))
                run.epoch(val_loss=np.mean((Xva @ W + b - Yva) ** 2))
            with tempfile.TemporaryDirectory() as tmp:
                np.savez(os.path.join(tmp, "linear.npz"), W=W, b=b)
                run.log_checkpoint(os.path.join(tmp, "linear.npz"))
            run.evaluate(scaler.inverse(Yva), scaler.inverse(Xva @ W + b), split="val")
            y, yhat = scaler.inverse(Yte), scaler.inverse(Xte @ W + b)
            run.evaluate(y, yhat, split="test")
            fig, ax = plt.subplots(figsize=(8, 3))
            ax.plot(y[:7 * H:H].ravel(), label="actual")
            ax.plot(yhat[:7 * H:H].ravel(), label="forecast")
            ax.legend()
            run.log_figure(fig, "forecast")
            plt.close(fig)
        print(spec.run_name, run.local_run_id)
