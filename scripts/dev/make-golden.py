"""Writes schemas/golden/golden.json: the golden tensors G1-G5 and their expected PAPE/HR,
computed here with numpy as an independent reference for src/core/metrics.cpp.
G3-G5 use a frozen 48-hour household-like load series (kW), written out in the file itself."""
import json, math
import numpy as np

def pape(y, yhat):
    y, yhat = np.asarray(y, float), np.asarray(yhat, float)
    if np.std(y) < 1e-8: return None
    p = y >= np.quantile(y, 0.9)
    return float(100 * np.mean(np.abs(y[p] - yhat[p]) / np.abs(y[p])))

def hr(y, yhat):
    y, yhat = np.asarray(y, float), np.asarray(yhat, float)
    if np.std(y) < 1e-8: return None
    p = y >= np.quantile(y, 0.9)
    ph = (yhat >= np.quantile(yhat, 0.9)) if np.std(yhat) >= 1e-8 else np.zeros_like(p)
    return float(np.sum(p & ph) / np.sum(p))

hours = np.arange(48)
rng = np.random.default_rng(20240601)
load = (0.35 + 0.9 * np.exp(-((hours % 24 - 7.5) ** 2) / 2.0) + 1.6 * np.exp(-((hours % 24 - 19.0) ** 2) / 3.0)
        + 0.05 * rng.standard_normal(48))
load[30:32] += 2.4  # an appliance event
load = [round(float(v), 4) for v in load]
noise = [round(float(v + n), 4) for v, n in zip(load, rng.uniform(-0.3, 0.3, 48))]
mean = round(float(np.mean(load)), 6)
cases = [
    ("G1", "hand example: one missed peak", [1, 2, 10, 3], [1, 2, 8, 3]),
    ("G2", "degenerate actuals: constant series", [5, 5, 5, 5], [4, 5, 6, 5]),
    ("G3", "perfect forecast of the frozen series", load, list(load)),
    ("G4", "constant forecast equal to the mean", load, [mean] * 48),
    ("G5", "seeded uniform noise U(-0.3, 0.3) on the frozen series", load, noise),
]
out = {"version": 1, "atol": 1e-6, "nan_is": "null", "cases": [
    {"id": i, "description": d, "y": y, "yhat": yh, "expected_pape": pape(y, yh), "expected_hr": hr(y, yh)}
    for i, d, y, yh in cases]}
json.dump(out, open("schemas/golden/golden.json", "w"), indent=1)
for c in out["cases"]: print(c["id"], c["expected_pape"], c["expected_hr"])
