"""A plan's runs and each run's contract, from wmtp's C++ experiment library (no LibTorch)."""
import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from . import _wmtp


@dataclass(frozen=True)
class RunContract:
    """What one planned run logs before it trains, as `wmtp-train --print-contract` gives it."""
    run_name: str
    cell: str
    series: str
    seed: int
    experiment: str
    params: Dict[str, str]
    tags: Dict[str, str]
    artifacts: Dict[str, Any]  # config/recipe.json and config/plan.json, as documents
    datasets: List[Any]  # wmtp/datasets.json: one MLflow DatasetInput per split
    data_kind: str  # "synthetic" or "csv"
    data_unit: str
    pred_len: int = field(default=0)

    @property
    def use_vq(self) -> bool:
        return self.params.get("use_vq") == "true"


class Plan:
    """A plan (a file, or the name of a built-in plan such as "smoke") with its data loaded."""

    def __init__(self, ref: str, prereg: Optional[str] = None, experiment: Optional[str] = None):
        self.ref = ref
        self.prereg = prereg
        self.experiment = experiment or ""
        self._prereg_text = ""
        if prereg is not None:
            with open(prereg, encoding="utf-8") as f:
                self._prereg_text = f.read()
        self._all = self.contract()  # every input checked now: a bad plan fails here

    @property
    def name(self) -> str:
        return self._all["plan_name"]

    @property
    def plan_hash(self) -> str:
        return self._all["plan_hash"]

    def contract(self, shard: Optional[str] = None) -> dict:
        """The contract document of the plan's runs (of one shard "i/n"), as wmtp-train prints it."""
        return json.loads(_wmtp.plan_contract(self._resolved(), shard or "", self._prereg_text, self.prereg or "",
                                              self.experiment))

    def runs(self, shard: Optional[str] = None) -> List[RunContract]:
        """Each planned run's contract, in order series x cells x seeds; shard "i/n" keeps runs
        i-1, i-1+n, ... (as wmtp-train --shard); "auto" reads it from the scheduler (shard_from_env)."""
        if shard == "auto":
            shard = shard_from_env()
        doc = self._all if not shard else self.contract(shard)
        out = []
        for r in doc["runs"]:
            p = r["params"]
            out.append(RunContract(run_name=r["run_name"], cell=p["cell"], series=p["series"], seed=int(p["seed"]),
                                   experiment=doc["experiment"], params=dict(p), tags=dict(r["tags"]),
                                   artifacts=r["artifacts"], datasets=r["datasets"], data_kind=r["data_kind"],
                                   data_unit=r["data_unit"],
                                   pred_len=int(r["artifacts"]["config/recipe.json"]["window"]["pred_len"])))
        return out

    def _resolved(self) -> str:
        return os.path.abspath(self.ref) if os.path.exists(self.ref) else self.ref

    def series(self, name: str) -> "np.ndarray":
        """The raw values of one series of the plan's data (float64, time order, read-only)."""
        return _wmtp.plan_series(self._resolved(), name)

    def windows(self, run: RunContract) -> Tuple[List[int], List[int], List[int]]:
        """The first input index of each train, val and test window of the run's recipe, as
        wmtp-train windows the series (rows of predictions/<split>.npy follow this order)."""
        window = run.artifacts["config/recipe.json"]["window"]
        starts = _wmtp.window_starts(self._resolved(), run.series, int(window["seq_len"]), int(window["pred_len"]))
        return starts[0], starts[1], starts[2]

    def start(self, shard: Optional[str] = None, tracking_uri: Optional[str] = None,
              ledger: str = "wmtp-ledger.sqlite", mlflow_wait_s: float = 30.0) -> "PlanSession":
        """Starts an invocation of the plan (of one shard "i/n", or "auto"): its parent run, and
        session.start_run(spec) for each spec of session.runs. A `with` block finishes the parent."""
        from .run import PlanSession
        return PlanSession(self, shard, tracking_uri, ledger, mlflow_wait_s)

    def find(self, cell: str, series: str, seed: int) -> RunContract:
        """The planned run (cell, series, seed); ValueError listing the planned runs when absent."""
        for r in self.runs():
            if (r.cell, r.series, r.seed) == (cell, series, int(seed)):
                return r
        planned = ", ".join("%s/%s/%d" % (r.cell, r.series, r.seed) for r in self.runs())
        raise ValueError("plan %s: no run %s/%s/%s; planned: %s" % (self.name, cell, series, seed, planned))


def plan(ref: str, prereg: Optional[str] = None, experiment: Optional[str] = None) -> Plan:
    """Loads a plan: a file path, or the name of a built-in plan ("smoke")."""
    return Plan(ref, prereg=prereg, experiment=experiment)


def split(values: Any) -> Tuple["np.ndarray", "np.ndarray", "np.ndarray"]:
    """The chronological 70/10/20 split of a series (train, val, test), as views of the array."""
    a = np.ascontiguousarray(values, dtype=np.float64)
    train_end, val_end, n = _wmtp.split_bounds(len(a))
    return a[:train_end], a[train_end:val_end], a[val_end:n]


def shard_from_env(shard_count: Optional[int] = None) -> str:
    """This process's shard "i/n" from WMTP_SHARD, a Slurm job array or a Kubernetes Indexed Job,
    as `wmtp-train --shard auto` reads it; ValueError naming the variable when none is set."""
    return _wmtp.shard_from_env(shard_count)
