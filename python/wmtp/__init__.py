"""wmtp for Python trainers: runs that wmtp's gates (G1-G6) can trust, from any training loop.

Everything that is hashed, measured or sealed comes from wmtp's C++ libraries (the `_wmtp`
extension): the data hash, the standard scaler and its signature, PAPE / hit rate / MSE / MAE,
canonical JSON and RFC 8785, the golden check, the plan's run contract, the Tracker (SQLite
ledger first, MLflow in the background) and the run's seal. Nothing here re-implements them.

    with wmtp.start_run(plan="plan.json", cell="B0", series="household-01", seed=42) as run:
        run.log_split(train, val, test)
        scaler = run.fit_scaler(train)
        ...
        run.step(loss); run.epoch(val_loss=v)
        run.evaluate(y, yhat, split="test")
"""
from . import _wmtp
from ._wmtp import Error, InputError, StandardScaler, UnreachableError, __version__
from .functions import (canonical_json, content_hash16, data_hash, golden_check, hit_rate, jcs, mae, mse, pape,
                        pape_definition_hash, pape_definition_payload)
from .plan import Plan, RunContract, plan, shard_from_env, split
from .run import PlanSession, Run, start_run

__all__ = [
    "Error", "InputError", "UnreachableError", "StandardScaler", "__version__",
    "canonical_json", "content_hash16", "data_hash", "golden_check", "hit_rate", "jcs", "mae", "mse", "pape",
    "pape_definition_hash", "pape_definition_payload",
    "Plan", "RunContract", "plan", "shard_from_env", "split", "PlanSession", "Run", "start_run", "_wmtp",
]
