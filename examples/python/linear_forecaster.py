"""A PyTorch linear forecaster trained on every run of a plan over a CSV (plan.json: load.csv,
cell LIN), logged gate-ready through wmtp under one parent run (README "Use from Python").

    python linear_forecaster.py PLAN LEDGER [TRACKING_URI]    then: wmtp-audit --ledger LEDGER
"""
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from torch.nn.functional import mse_loss  # noqa: E402

import wmtp  # noqa: E402

plan = wmtp.plan(sys.argv[1])
uri = sys.argv[3] if len(sys.argv) > 3 else ""  # "": the ledger only; None: MLFLOW_TRACKING_URI
with plan.start(ledger=sys.argv[2], tracking_uri=uri) as session:  # the plan's parent run
    for spec in session.runs:  # every (series, cell, seed) of the plan (or of a shard)
        recipe = spec.artifacts["config/recipe.json"]
        L, H = recipe["window"]["seq_len"], recipe["window"]["pred_len"]
        values = plan.series(spec.series)  # the CSV's column; your own array must hash the same
        train, val, test = wmtp.split(values)
        with session.start_run(spec) as run:
            run.log_split(train, val, test)
            scaler = run.fit_scaler(train)
            z = torch.from_numpy(scaler.transform(values))  # float64: metrics replay to 1e-9
            (Xtr, Ytr), (Xva, Yva), (Xte, Yte) = [
                (torch.stack([z[s:s + L] for s in starts]), torch.stack([z[s + L:s + L + H] for s in starts]))
                for starts in plan.windows(spec)]
            torch.manual_seed(spec.seed)
            model = torch.nn.Linear(L, H).double()
            optimizer = torch.optim.Adam(model.parameters(), lr=recipe["optimizer"]["lr"])
            for epoch in range(recipe["training"]["epochs"]):
                for batch in torch.randperm(len(Xtr)).split(recipe["training"]["batch_size"]):
                    loss = mse_loss(model(Xtr[batch]), Ytr[batch])
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                    run.step(loss)
                with torch.no_grad():
                    run.epoch(val_loss=mse_loss(model(Xva), Yva))
            run.log_checkpoint(model.state_dict())
            with torch.no_grad():
                run.evaluate(scaler.inverse(Yva.numpy()), scaler.inverse(model(Xva).numpy()), split="val")
                y, yhat = scaler.inverse(Yte.numpy()), scaler.inverse(model(Xte).numpy())
            run.evaluate(y, yhat, split="test")
            fig, ax = plt.subplots(figsize=(8, 3))
            ax.plot(y[:7 * H:H].ravel(), label="actual")
            ax.plot(yhat[:7 * H:H].ravel(), label="forecast")
            ax.legend()
            run.log_figure(fig, "forecast")
            plt.close(fig)
        print(spec.run_name, run.local_run_id)
