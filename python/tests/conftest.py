import json
import os
import shutil
import uuid

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With CI=true a skipped test fails: a requirement missing in CI (a tool, the server, a
    module) is an error there, never a silent skip."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") == "true" and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.longrepr = "skipped in CI (CI=true), which counts as a failure: %s" % reason


def tool(name):
    """A built wmtp tool: $WMTP_TEST_BIN_DIR/<name> (scripts/python-package sets it), else on PATH."""
    bin_dir = os.environ.get("WMTP_TEST_BIN_DIR")
    path = os.path.join(bin_dir, name) if bin_dir else shutil.which(name)
    if not path or not os.path.exists(path):
        pytest.skip("%s not found: set WMTP_TEST_BIN_DIR to the folder holding the built tools" % name)
    return path


def tracking_uri():
    """The test MLflow server's URI (WMTP_TEST_TRACKING_URI; scripts/test starts it and sets it)."""
    uri = os.environ.get("WMTP_TEST_TRACKING_URI")
    if not uri:
        pytest.skip("WMTP_TEST_TRACKING_URI is not set (scripts/test starts an MLflow server and sets it)")
    return uri


def write_plan(path, cells):
    """A plan in its own experiment (a shared MLflow server keeps earlier ones): one synthetic
    household of 60 days x `cells` x one seed; its runs train in a second."""
    path.write_text(json.dumps({
        "name": "py-small", "description": "The Python package's test plan.", "experiment": "wmtp-python-test-" + uuid.uuid4().hex[:8],
        "data": {"kind": "synthetic", "households": 1, "days": 60, "seed": 7},
        "series": ["household-01"],
        "cells": [{"name": c, "recipe": c, "use_vq": c == "A3"} for c in cells],
        "seeds": [5]}))
    return str(path)


@pytest.fixture
def example_plan(tmp_path):
    """examples/python's plan (cell LIN over load.csv, two households) in its own experiment."""
    example = os.path.join(ROOT, "examples", "python")
    for name in ("linear.json", "load.csv"):
        shutil.copy(os.path.join(example, name), tmp_path / name)
    with open(os.path.join(example, "plan.json"), encoding="utf-8") as f:
        doc = json.load(f)
    doc["experiment"] = "wmtp-python-example-" + uuid.uuid4().hex[:8]
    (tmp_path / "plan.json").write_text(json.dumps(doc))
    return str(tmp_path / "plan.json")


@pytest.fixture
def small_plan(tmp_path):
    """Cells B0 and B2 (no VQ: the example's linear model has no codebook to report)."""
    return write_plan(tmp_path / "plan.json", ["B0", "B2"])


@pytest.fixture
def vq_plan(tmp_path):
    """Cell A3 (VQ)."""
    return write_plan(tmp_path / "vq-plan.json", ["A3"])
