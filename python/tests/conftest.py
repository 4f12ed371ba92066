import json
import os
import shutil
import uuid

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def tool(name):
    """A built wmtp tool: $WMTP_TEST_BIN_DIR/<name> (scripts/python-package sets it), else on PATH."""
    bin_dir = os.environ.get("WMTP_TEST_BIN_DIR")
    path = os.path.join(bin_dir, name) if bin_dir else shutil.which(name)
    if not path or not os.path.exists(path):
        pytest.skip("%s not found: set WMTP_TEST_BIN_DIR to the folder holding the built tools" % name)
    return path


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
def small_plan(tmp_path):
    """Cells B0 and B2 (no VQ: the example's linear model has no codebook to report)."""
    return write_plan(tmp_path / "plan.json", ["B0", "B2"])


@pytest.fixture
def vq_plan(tmp_path):
    """Cell A3 (VQ)."""
    return write_plan(tmp_path / "vq-plan.json", ["A3"])
