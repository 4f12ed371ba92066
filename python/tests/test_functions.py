import hashlib
import json
import math
import os

import numpy as np
import pytest

import wmtp
from conftest import ROOT


def seeds_hash(a):
    a = np.asarray(a, dtype=np.float64)
    return hashlib.sha256(a.tobytes() + str(a.shape).encode() + str(a.dtype).encode()).hexdigest()[:16]


def test_data_hash_is_the_seeds_numpy_scheme():
    a = np.random.default_rng(1).normal(size=1000) * 1e3
    assert wmtp.data_hash(a) == seeds_hash(a)
    assert wmtp.data_hash(a[::2]) == seeds_hash(a[::2])  # a strided view is read as its values
    assert wmtp.data_hash([1, 2, 3]) == seeds_hash([1.0, 2.0, 3.0])


def test_data_hash_refuses_2d():
    with pytest.raises(ValueError, match="1-D"):
        wmtp.data_hash(np.zeros((2, 3)))


def test_metrics_reproduce_golden_g1_and_g2():
    assert wmtp.pape([1, 2, 10, 3], [1, 2, 8, 3]) == pytest.approx(20.0)
    assert wmtp.hit_rate([1, 2, 10, 3], [1, 2, 8, 3]) == 1.0
    assert math.isnan(wmtp.pape([5, 5, 5, 5], [4, 5, 6, 5]))
    assert wmtp.mse([0, 0], [1, 3]) == 5.0 and wmtp.mae([0, 0], [1, 3]) == 2.0
    with pytest.raises(ValueError, match="same size"):
        wmtp.pape([1, 2, 3], [1, 2])


def test_golden_check_passes_and_reads_a_file(tmp_path):
    g = wmtp.golden_check()
    assert g["passed"] and [c["id"] for c in g["cases"]][:2] == ["G1", "G2"]
    bad = {"atol": 1e-6, "cases": [{"id": "G1", "y": [1, 2, 10, 3], "yhat": [1, 2, 8, 3],
                                    "expected_pape": 21.0, "expected_hr": 1.0}]}
    path = tmp_path / "golden.json"
    path.write_text(json.dumps(bad))
    assert not wmtp.golden_check(str(path))["passed"]


def test_canonical_json_and_jcs():
    assert wmtp.canonical_json({"b": 1, "a": [1.5, "x"]}) == '{"a":[1.5,"x"],"b":1}'
    assert wmtp.content_hash16({"a": 1}) == hashlib.sha256(b'{"a":1}').hexdigest()[:16]
    assert wmtp.jcs({"b": 1e21, "a": -0.0}) == '{"a":0,"b":1e+21}'
    with pytest.raises(ValueError, match="NaN"):
        wmtp.canonical_json({"a": float("nan")})


def test_scaler_signature_and_arrays():
    train = np.array([1.0, 2.0, 3.0, 4.0])
    s = wmtp.StandardScaler.fit(train, "kW")
    assert s.mean == 2.5 and s.scale == pytest.approx(np.std(train))
    assert s.fitted_on == wmtp.data_hash(train)
    expected = wmtp.content_hash16({"kind": "standard-scaler", "params": {"mean": s.mean, "scale": s.scale},
                                    "fitted_on": s.fitted_on, "unit": "kW"})
    assert s.signature() == expected
    z = s.transform(np.arange(6.0).reshape(2, 3))
    assert z.shape == (2, 3) and np.allclose(s.inverse(z), np.arange(6.0).reshape(2, 3))
    with pytest.raises(ValueError, match="constant"):
        wmtp.StandardScaler.fit(np.ones(5), "kW", "flat")


def test_definition_hash_is_its_payloads():
    payload = wmtp.pape_definition_payload()
    assert wmtp.pape_definition_hash() == hashlib.sha256(payload.encode()).hexdigest()[:16]


def test_the_golden_cases_ship_inside_the_package():
    """The wheel carries schemas/golden/golden.json compiled into the extension (no file to find at
    run time): the embedded cases are the repository's, expected values included."""
    with open(os.path.join(ROOT, "schemas", "golden", "golden.json"), encoding="utf-8") as f:
        repository = json.load(f)
    embedded = wmtp.golden_check()
    assert [c["id"] for c in embedded["cases"]] == [c["id"] for c in repository["cases"]]
    for ours, theirs in zip(embedded["cases"], repository["cases"]):
        for key in ("expected_pape", "expected_hr"):
            assert (ours[key] is None or math.isnan(ours[key])) if theirs[key] is None else ours[key] == theirs[key]
    assert not any(name.endswith(".json") for name in os.listdir(os.path.dirname(wmtp.__file__)))
