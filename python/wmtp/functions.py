"""Pure functions of wmtp's C++ core, for NumPy arrays and JSON-like Python values."""
import json
from typing import Any, Optional

import numpy as np

from . import _wmtp


def as_float64(values: Any, name: str = "values", ndim: Optional[int] = None) -> np.ndarray:
    """values as a C-contiguous float64 array: no copy when it already is one."""
    a = np.ascontiguousarray(values, dtype=np.float64)
    if ndim is not None and a.ndim != ndim:
        raise ValueError("%s: expected a %d-D array, got shape %s" % (name, ndim, a.shape))
    return a


def data_hash(values: Any) -> str:
    """The seeds' data hash of a 1-D series split (16 hex chars), as wmtp-train logs it."""
    return _wmtp.data_hash(as_float64(values, "data_hash", 1))


def pape(y: Any, yhat: Any) -> float:
    """Peak-aware percentage error (wmtp's definition) over the flattened arrays."""
    return _wmtp.pape(as_float64(y, "y"), as_float64(yhat, "yhat"))


def hit_rate(y: Any, yhat: Any) -> float:
    """Peak hit rate (wmtp's definition) over the flattened arrays."""
    return _wmtp.hit_rate(as_float64(y, "y"), as_float64(yhat, "yhat"))


def mse(y: Any, yhat: Any) -> float:
    """Mean squared error over the flattened arrays."""
    return _wmtp.mse(as_float64(y, "y"), as_float64(yhat, "yhat"))


def mae(y: Any, yhat: Any) -> float:
    """Mean absolute error over the flattened arrays."""
    return _wmtp.mae(as_float64(y, "y"), as_float64(yhat, "yhat"))


def pape_definition_hash() -> str:
    """The metric definition's hash (the `pape_definition_hash` param)."""
    return _wmtp.pape_definition_hash()


def pape_definition_payload() -> str:
    """The metric definition's canonical JSON (the `pape_definition_hash_payload` param)."""
    return _wmtp.pape_definition_payload()


def _json_text(value: Any) -> str:
    try:
        return json.dumps(value, allow_nan=False)
    except ValueError as e:
        raise ValueError("canonical JSON holds no NaN or infinity: %s" % e) from None


def canonical_json(value: Any) -> str:
    """Canonical JSON of a JSON-like value (sorted keys, no whitespace): what wmtp hashes."""
    return _wmtp.canonical_json(_json_text(value))


def content_hash16(value: Any) -> str:
    """First 16 hex chars of sha256(canonical_json(value)): recipe_hash, plan_hash, prereg_hash."""
    return _wmtp.content_hash16(_json_text(value))


def jcs(value: Any) -> str:
    """RFC 8785 (JSON Canonicalization Scheme) text of a JSON-like value: the seal's format."""
    return _wmtp.jcs(_json_text(value))


def golden_check(path: Optional[str] = None, atol: float = -1.0) -> dict:
    """Recomputes the golden tensors with wmtp's metrics: the embedded schemas/golden/golden.json,
    or the file at `path`. {passed, atol, summary, cases: [{id, expected_pape, expected_hr, pape,
    hr, passed}]}."""
    text = None
    if path is not None:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    return _wmtp.golden_check(text, atol)
