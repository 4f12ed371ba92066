"""The run context: one planned run logged through wmtp's C++ Tracker, gate-ready when it ends.

The package logs what the gates judge from values it computes itself (the golden check, the
data hashes, the scaler signatures, the NaN counts, the metrics); a user who logs one of those
names by hand gets a ValueError, so that nothing copied from a contract can pass for a check.
"""
import json
import math
import os
import shutil
import struct
import tempfile
import warnings
import zlib
from typing import Any, Dict, List, Optional, Union

import numpy as np

from . import _wmtp
from .functions import as_float64
from .plan import Plan, RunContract

_DATA_HASHES = ("train_data_hash", "val_data_hash", "test_data_hash")
_SCALER_SIGNATURES = ("dlinear_output_scaler_space_signature", "vq_scaler_space_signature")
_SPLITS = ("test", "val")
_MEASURES = ("pape", "hr", "mse", "mae")
# Metrics the run context logs itself, besides the contract's params.
_OWN_METRICS = {"train_loss", "val_loss", "train_loss_epoch", "epoch", "nan_step_count", "n_nan_predictions"} | {
    "%s_%s" % (s, m) for s in _SPLITS for m in _MEASURES}
_WHY = {
    "golden_tensor_check": "the result of the golden check the run ran at start",
    "nan_step_count": "counted by run.step()",
    "n_nan_predictions": "counted by run.evaluate()",
    "train_loss": "logged by run.step()", "epoch": "logged by run.step()",
    "val_loss": "logged by run.epoch()", "train_loss_epoch": "logged by run.epoch()",
}
for _k in _DATA_HASHES:
    _WHY[_k] = "computed by run.log_split() from the arrays the run trains on"
for _k in _SCALER_SIGNATURES:
    _WHY[_k] = "computed by run.fit_scaler()"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_with_text(png: bytes, text: Dict[str, str], origin: str) -> bytes:
    """The PNG with tEXt chunks `text` after IHDR (replacing tEXt chunks of the same keywords)."""
    if not png.startswith(_PNG_SIGNATURE):
        raise ValueError("%s: not a PNG file (no PNG signature)" % origin)
    chunks, pos = [], len(_PNG_SIGNATURE)
    while pos < len(png):
        if pos + 8 > len(png):
            raise ValueError("%s: truncated PNG chunk at byte %d" % (origin, pos))
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        end = pos + 12 + length
        if end > len(png):
            raise ValueError("%s: truncated PNG chunk %r at byte %d" % (origin, kind, pos))
        data = png[pos + 8:pos + 8 + length]
        if not (kind == b"tEXt" and data.split(b"\0", 1)[0].decode("latin-1") in text):
            chunks.append(png[pos:end])
        pos = end
    own = []
    for key, value in text.items():
        data = key.encode("latin-1") + b"\0" + value.encode("latin-1")
        own.append(struct.pack(">I", len(data)) + b"tEXt" + data +
                   struct.pack(">I", zlib.crc32(b"tEXt" + data) & 0xFFFFFFFF))
    return _PNG_SIGNATURE + chunks[0] + b"".join(own) + b"".join(chunks[1:])


class Run:
    """One planned run in progress; made by start_run(), used as a context manager."""

    def __init__(self, contract: RunContract, tracker: "_wmtp.Tracker", logger: "_wmtp.RunLogger",
                 mlflow_wait_s: float, session: Optional["PlanSession"] = None):
        self.contract = contract
        self.status = "RUNNING"
        self._session = session  # None: the run owns its Tracker and closes it
        self._tracker = tracker
        self._logger = logger
        self._mlflow_wait_s = mlflow_wait_s
        self._scratch = tempfile.mkdtemp(prefix="wmtp-run.")
        self._global_step = 0
        self._epoch = 0
        self._epoch_losses: List[float] = []
        self._nan_steps = 0
        self._nan_predictions = 0
        self._hashes: Dict[str, str] = {}
        self._scaler: Optional[_wmtp.StandardScaler] = None
        self._evaluated: set = set()
        self._checkpoints = 0
        self._figures = 0
        self._closed = False

    # ---- identity ---------------------------------------------------------------------------
    @property
    def local_run_id(self) -> str:
        """The run's local id: ledger id, MLflow tag wmtp.local_run_id, figures' wmtp.run_id."""
        return self._logger.local_run_id

    @property
    def run_name(self) -> str:
        return self.contract.run_name

    @property
    def global_step(self) -> int:
        return self._global_step

    # ---- data --------------------------------------------------------------------------------
    def log_split(self, train: Any, val: Any, test: Any) -> Dict[str, str]:
        """Hashes the raw (unscaled) train, val and test values the run uses (1-D, in time order)
        and logs train/val/test_data_hash. ValueError when a hash differs from the plan's data
        (the split and both hashes named). Returns the three hashes."""
        arrays = {"train": train, "val": val, "test": test}
        computed = {}
        for (split, values), key in zip(arrays.items(), _DATA_HASHES):
            computed[key] = _wmtp.data_hash(as_float64(values, "log_split(%s)" % split, 1))
        for (split, _), key in zip(arrays.items(), _DATA_HASHES):
            planned = self.contract.params[key]
            if computed[key] != planned:
                raise ValueError(
                    "log_split: the %s split hashes to %s, but the plan's data (%s, series %s) gives %s: pass the "
                    "plan's chronological 70/10/20 split of the raw values (wmtp.split)" %
                    (split, computed[key], self.contract.data_kind, self.contract.series, planned))
        for key in _DATA_HASHES:
            self._logger.log_param(key, computed[key])
        self._hashes = computed
        return dict(computed)

    def fit_scaler(self, train: Any) -> "_wmtp.StandardScaler":
        """Fits wmtp's standard scaler on the train split given to log_split and logs its signature
        (dlinear_output_scaler_space_signature, and vq_scaler_space_signature in a VQ cell).
        Returns it: scaler.transform(a) / scaler.inverse(a) work on arrays of any shape."""
        if not self._hashes:
            raise ValueError("fit_scaler: call run.log_split(train, val, test) first")
        a = as_float64(train, "fit_scaler(train)", 1)
        if _wmtp.data_hash(a) != self._hashes["train_data_hash"]:
            raise ValueError("fit_scaler: these values hash to %s, not to the train split logged by log_split (%s)" %
                             (_wmtp.data_hash(a), self._hashes["train_data_hash"]))
        scaler = _wmtp.StandardScaler.fit(a, self.contract.data_unit, "train split of " + self.contract.series)
        keys = _SCALER_SIGNATURES if self.contract.use_vq else _SCALER_SIGNATURES[:1]
        for key in keys:
            self._logger.log_param(key, scaler.signature())
        self._scaler = scaler
        return scaler

    # ---- training ----------------------------------------------------------------------------
    def step(self, loss: Any) -> None:
        """One optimizer step's training loss (a float or a 1-element tensor): train_loss at the
        global step (from 1), and epoch at an epoch's first step (MLflow charts against the step;
        one point per epoch maps steps to epochs); a NaN or infinite loss counts in nan_step_count."""
        value = float(loss)
        self._global_step += 1
        if not math.isfinite(value):
            self._nan_steps += 1
        if not self._epoch_losses:
            self._logger.log_metric("epoch", float(self._epoch + 1), self._global_step)
        self._epoch_losses.append(value)
        self._logger.log_metric("train_loss", value, self._global_step)

    def epoch(self, train_loss: Optional[float] = None, val_loss: Optional[float] = None) -> int:
        """Ends an epoch: val_loss and train_loss_epoch (given, else the mean of the epoch's step
        losses) at step = epoch (from 1). Returns the epoch number."""
        if val_loss is None:
            raise ValueError("run.epoch: val_loss is required (Gate 5 judges the validation loss per epoch)")
        if train_loss is None:
            if not self._epoch_losses:
                raise ValueError("run.epoch: no train_loss given and no run.step(loss) in this epoch")
            train_loss = sum(self._epoch_losses) / len(self._epoch_losses)
        self._epoch += 1
        self._epoch_losses = []
        self._logger.log_metric("val_loss", float(val_loss), self._epoch)
        self._logger.log_metric("train_loss_epoch", float(train_loss), self._epoch)
        return self._epoch

    # ---- results -----------------------------------------------------------------------------
    def evaluate(self, y: Any, yhat: Any, split: str = "test") -> Dict[str, float]:
        """Actuals and forecasts of a split in the data's unit (scaler inverted), shape
        (windows, pred_len): logs <split>_pape, _hr, _mse, _mae by wmtp's definitions (step 0) and
        keeps the forecasts as predictions/<split>.npy (float64). Returns the metrics."""
        if split not in _SPLITS:
            raise ValueError("run.evaluate: split %r: expected 'test' or 'val'" % split)
        if split in self._evaluated:
            raise ValueError("run.evaluate: the %s split was evaluated already" % split)
        y_a, yhat_a = as_float64(y, "evaluate(y)", 2), as_float64(yhat, "evaluate(yhat)", 2)
        if y_a.shape != yhat_a.shape:
            raise ValueError("run.evaluate: y has shape %s and yhat %s" % (y_a.shape, yhat_a.shape))
        if self.contract.pred_len and y_a.shape[1] != self.contract.pred_len:
            raise ValueError("run.evaluate: %d columns, but the recipe's pred_len is %d: expected (windows, pred_len)"
                             % (y_a.shape[1], self.contract.pred_len))
        metrics = {"%s_pape" % split: _wmtp.pape(y_a, yhat_a), "%s_hr" % split: _wmtp.hit_rate(y_a, yhat_a),
                   "%s_mse" % split: _wmtp.mse(y_a, yhat_a), "%s_mae" % split: _wmtp.mae(y_a, yhat_a)}
        for key, value in metrics.items():
            self._logger.log_metric(key, value, 0)
        self._nan_predictions += int(np.count_nonzero(~np.isfinite(yhat_a)))
        path = os.path.join(self._scratch, "%s.npy" % split)
        np.save(path, yhat_a)
        self._logger.log_artifact(path, "predictions/%s.npy" % split)
        self._evaluated.add(split)
        return metrics

    def figure_metadata(self) -> Dict[str, str]:
        """The PNG text chunks Gate 4 reads: this run's id, experiment, name, definition hash and
        train data hash (after log_split), and the producer."""
        if not self._hashes:
            raise ValueError("a figure names the run's train data hash: call run.log_split first")
        return {"wmtp.run_id": self.local_run_id, "wmtp.experiment": self.contract.experiment,
                "wmtp.run_name": self.run_name, "wmtp.pape_definition_hash": _wmtp.pape_definition_hash(),
                "wmtp.train_data_hash": self._hashes["train_data_hash"],
                "Software": "wmtp-python %s" % _wmtp.__version__}

    def log_figure(self, figure: Any, name: Optional[str] = None) -> str:
        """Logs a matplotlib figure or a PNG file as figures/<name>.png with the provenance text
        chunks (figure_metadata). Returns the artifact path."""
        metadata = self.figure_metadata()
        self._figures += 1
        if name is None:
            name = os.path.splitext(os.path.basename(figure))[0] if isinstance(figure, (str, os.PathLike)) \
                else "figure-%d" % self._figures
        path = os.path.join(self._scratch, name + ".png")
        if hasattr(figure, "savefig"):
            figure.savefig(path, format="png", metadata=metadata)
        else:
            with open(figure, "rb") as f:
                png = f.read()
            with open(path, "wb") as f:
                f.write(_png_with_text(png, metadata, os.fspath(figure)))
        artifact = "figures/%s.png" % name
        self._logger.log_artifact(path, artifact)
        return artifact

    def log_checkpoint(self, checkpoint: Union[str, os.PathLike, Dict[str, Any]]) -> str:
        """Logs a checkpoint file (or a state_dict, saved with torch.save) as
        checkpoints/step-<global step>.pt. Returns the artifact path."""
        artifact = "checkpoints/step-%08d.pt" % self._global_step
        if isinstance(checkpoint, (str, os.PathLike)):
            path = os.fspath(checkpoint)
        else:
            import torch  # only when a state_dict is given
            path = os.path.join(self._scratch, "checkpoint.pt")
            torch.save(checkpoint, path)
        self._logger.log_artifact(path, artifact)
        self._checkpoints += 1
        return artifact

    # ---- free-form logging -------------------------------------------------------------------
    def _refuse_own(self, key: str, what: str) -> None:
        own = key in self.contract.params or key in _OWN_METRICS or key.startswith("golden_") or key in _WHY
        if own:
            why = _WHY.get(key, "part of the plan's run contract, logged by wmtp at start"
                           if key in self.contract.params else "logged by wmtp itself")
            raise ValueError("%s %r is logged by the wmtp package (%s); it cannot be logged by hand" % (what, key, why))

    def log_param(self, key: str, value: Any) -> None:
        """Logs a param of the user's own (not a contract name)."""
        self._refuse_own(key, "param")
        self._logger.log_param(key, str(value))

    def log_metric(self, key: str, value: float, step: int = 0) -> None:
        """Logs a metric point of the user's own (not one the package logs)."""
        self._refuse_own(key, "metric")
        self._logger.log_metric(key, float(value), int(step))

    def set_tag(self, key: str, value: str) -> None:
        """Sets a tag."""
        self._logger.set_tag(key, str(value))

    def flush(self) -> None:
        """Blocks until everything logged so far is durable in the ledger."""
        self._logger.flush()

    # ---- end ---------------------------------------------------------------------------------
    def _missing(self) -> List[str]:
        missing = []
        if not self._hashes:
            missing.append("run.log_split(train, val, test)")
        if self._scaler is None:
            missing.append("run.fit_scaler(train)")
        if "test" not in self._evaluated:
            missing.append('run.evaluate(y, yhat, split="test")')
        return missing

    def _end(self, status: str) -> None:
        self._closed = True
        self.status = status
        try:
            self._logger.log_metric("nan_step_count", float(self._nan_steps), 0)
            self._logger.log_metric("n_nan_predictions", float(self._nan_predictions), 0)
            _wmtp.seal_run(self._tracker, self._logger, status)
            self._logger.finish(status)
        finally:
            shutil.rmtree(self._scratch, ignore_errors=True)
            if self._session is not None:
                self._session._ended(status)
            else:
                _close_tracker(self._tracker, self._mlflow_wait_s, "run " + self.run_name)

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if self._closed:
            return False
        if exc_type is not None:
            self._end("FAILED")
            return False
        missing = self._missing()
        if missing:
            self._end("FAILED")
            raise _wmtp.Error("run %s marked FAILED: the gates need %s before the run ends" %
                              (self.run_name, ", ".join(missing)))
        if self._checkpoints == 0 or self._figures == 0 or self._epoch < 5:
            warnings.warn("wmtp: run %s has %d checkpoints, %d figures and %d epochs; Gate 3 needs a checkpoint, Gate 4 "
                          "a figure, Gate 5 five epochs" % (self.run_name, self._checkpoints, self._figures, self._epoch),
                          stacklevel=2)
        self._end("FINISHED")
        return False


def _close_tracker(tracker: "_wmtp.Tracker", wait_s: float, what: str) -> None:
    left = tracker.close(wait_s)
    if left > 0:
        warnings.warn("wmtp: %d entries of %s are left in the outbox of %s; wmtp-sync pushes them" %
                      (left, what, tracker.ledger_path), stacklevel=4)


def _checked_golden() -> dict:
    golden = _wmtp.golden_check()
    if not golden["passed"]:
        raise _wmtp.Error("the golden tensors do not reproduce with this build (%s): refusing to start" %
                          golden["summary"])
    return golden


def _write_json(folder: str, artifact: str, document: Any) -> str:
    path = os.path.join(folder, artifact.replace("/", "_"))
    with open(path, "w", encoding="utf-8") as f:
        json.dump(document, f, indent=2)
        f.write("\n")
    return path


def _start(contract: RunContract, tracker: "_wmtp.Tracker", tags: Dict[str, str], mlflow_wait_s: float,
           session: Optional["PlanSession"], golden: dict) -> Run:
    start_tags = dict(contract.tags)
    start_tags.update(tags)
    start_tags["wmtp.producer"] = "python"
    start_tags["wmtp.version"] = _wmtp.__version__
    logger = tracker.start_run(contract.experiment, contract.run_name, start_tags)
    run = Run(contract, tracker, logger, mlflow_wait_s, session)
    try:
        held_back = set(_DATA_HASHES) | set(_SCALER_SIGNATURES) | {"golden_tensor_check"}
        for key, value in contract.params.items():
            if key not in held_back:
                logger.log_param(key, value)
        logger.log_param("golden_tensor_check", "pass")
        for case in golden["cases"]:
            logger.log_metric("golden_%s_pape" % case["id"].lower(), case["pape"], 0)
            logger.log_metric("golden_%s_hr" % case["id"].lower(), case["hr"], 0)
        documents = dict(contract.artifacts)
        documents["wmtp/datasets.json"] = contract.datasets
        for artifact, document in documents.items():
            logger.log_artifact(_write_json(run._scratch, artifact, document), artifact)
    except BaseException:
        run._end("FAILED")
        raise
    return run


def start_run(plan: Union[str, Plan], cell: str, series: str, seed: int, tracking_uri: Optional[str] = None,
              ledger: str = "wmtp-ledger.sqlite", experiment: Optional[str] = None, prereg: Optional[str] = None,
              tags: Optional[Dict[str, str]] = None, mlflow_wait_s: float = 30.0) -> Run:
    """Starts the planned run (cell, series, seed) of `plan` (a file, a built-in plan's name or a
    Plan) on a Tracker of its own: runs the golden check (refusing to start when wmtp's metrics do
    not reproduce it), opens the ledger file (MLflow at tracking_uri; None: MLFLOW_TRACKING_URI; "":
    ledger only) and logs the contract's params, the golden metrics, config/recipe.json,
    config/plan.json and wmtp/datasets.json. Leaving the `with` block seals the run and marks it
    FINISHED (FAILED on an exception). PlanSession.start_run starts one under the plan's parent run."""
    p = plan if isinstance(plan, Plan) else Plan(plan, prereg=prereg, experiment=experiment)
    contract = p.find(cell, series, seed)
    golden = _checked_golden()  # before the ledger is opened: a failing build logs nothing
    return _start(contract, _wmtp.Tracker(ledger, tracking_uri), tags or {}, mlflow_wait_s, None, golden)


class PlanSession:
    """One invocation of a plan (or of a shard): its parent run (tag wmtp.run_role=plan, params
    plan_name, plan_hash, prereg_hash, recipes, shard; config/plan.json; runs_planned, runs_finished,
    runs_failed) and one Tracker for it and the runs started through it, which name it as their
    parent (wmtp.parent_local_run_id; mlflow.parentRunId in MLflow), as wmtp-train's do."""

    def __init__(self, plan: Plan, shard: Optional[str], tracking_uri: Optional[str], ledger: str,
                 mlflow_wait_s: float):
        if shard == "auto":
            shard = _wmtp.shard_from_env(None)
        self.plan = plan
        self.shard = shard or ""
        doc = plan.contract(self.shard)
        self.runs: List[RunContract] = plan.runs(self.shard)
        self._mlflow_wait_s = mlflow_wait_s
        self._counts = {"FINISHED": 0, "FAILED": 0}
        self._tracker = _wmtp.Tracker(ledger, tracking_uri)
        name = doc["plan_name"]
        if self.shard:
            i, n = self.shard.split("/")
            name = "%s shard %s-of-%s" % (name, i, n)
        tags = {"wmtp.run_role": "plan", "wmtp.producer": "python", "wmtp.version": _wmtp.__version__}
        if doc["plan_description"]:
            tags["mlflow.note.content"] = doc["plan_description"]
        self._parent = self._tracker.start_run(doc["experiment"], name, tags)
        self.local_run_id = self._parent.local_run_id
        scratch = tempfile.mkdtemp(prefix="wmtp-plan.")
        try:
            for key in ("plan_name", "plan_hash", "prereg_hash", "recipes"):
                self._parent.log_param(key, doc[key])
            self._parent.log_param("shard", doc["shard"])
            self._parent.log_artifact(_write_json(scratch, "config/plan.json", doc["trained_plan"]),
                                      "config/plan.json")
            self._parent.log_metric("runs_planned", float(len(self.runs)), 0)
        except BaseException:
            self._finish("FAILED")
            raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def start_run(self, run: RunContract, tags: Optional[Dict[str, str]] = None) -> Run:
        """Starts one of this session's runs (an item of session.runs) under the parent run."""
        if run.run_name not in {r.run_name for r in self.runs}:
            raise ValueError("run %s is not one of this session's runs (shard %s)" % (run.run_name, self.shard or "all"))
        child_tags = dict(tags or {})
        child_tags["wmtp.parent_local_run_id"] = self.local_run_id
        return _start(run, self._tracker, child_tags, self._mlflow_wait_s, self, _checked_golden())

    def _ended(self, status: str) -> None:
        self._counts[status] = self._counts.get(status, 0) + 1

    def _finish(self, status: str) -> None:
        try:
            self._parent.log_metric("runs_finished", float(self._counts["FINISHED"]), 0)
            self._parent.log_metric("runs_failed", float(self._counts["FAILED"]), 0)
            self._parent.finish(status)
        finally:
            _close_tracker(self._tracker, self._mlflow_wait_s, "plan " + self.plan.name)

    def __enter__(self) -> "PlanSession":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        self._finish("FAILED" if exc_type is not None or self._counts["FAILED"] else "FINISHED")
        return False
