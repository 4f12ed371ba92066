import json
import subprocess

import pytest

import wmtp
from conftest import tool


def test_builtin_smoke_plan_expands_and_shards():
    p = wmtp.plan("smoke")
    runs = p.runs()
    assert len(runs) == 2 * 3 * 3
    assert (runs[0].cell, runs[0].series, runs[0].seed) == ("B0", "household-01", 42)
    assert [r.run_name for r in p.runs(shard="2/4")] == [r.run_name for r in runs[1::4]]


@pytest.mark.parametrize("command", [["wmtp-train", "--plan"], ["wmtp-plan"]])
def test_contract_is_what_the_tools_print(small_plan, command):
    printed = json.loads(subprocess.run([tool(command[0])] + command[1:] + [small_plan, "--print-contract"],
                                        check=True, capture_output=True, text=True).stdout)
    ours = wmtp.plan(small_plan).contract()
    assert [r["params"] for r in ours["runs"]] == [r["params"] for r in printed["runs"]]
    assert ours["plan_hash"] == printed["plan_hash"] and ours["prereg_hash"] == printed["prereg_hash"]


def test_unknown_run_names_the_planned_ones(small_plan):
    with pytest.raises(ValueError, match="planned: B0/household-01/5, B2/household-01/5"):
        wmtp.plan(small_plan).find("B9", "household-01", 5)


def test_bad_plan_names_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x"}')
    with pytest.raises(ValueError, match="bad.json"):
        wmtp.plan(str(bad))


def test_series_split_and_windows(small_plan):
    p = wmtp.plan(small_plan)
    values = p.series("household-01")
    assert len(values) == 60 * 24
    train, val, test = wmtp.split(values)
    run = p.runs()[0]
    assert wmtp.data_hash(train) == run.params["train_data_hash"]
    assert wmtp.data_hash(test) == run.params["test_data_hash"]
    tr, va, te = p.windows(run)
    assert tr[0] == 0 and te[-1] + 168 + 24 == len(values)


def test_shard_auto_reads_the_scheduler(monkeypatch):
    for name in ("WMTP_SHARD", "WMTP_SHARD_COUNT", "JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_STEP"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "3")
    monkeypatch.setenv("SLURM_ARRAY_TASK_COUNT", "4")
    monkeypatch.setenv("SLURM_ARRAY_TASK_MIN", "0")
    assert wmtp.shard_from_env() == "4/4"
    p = wmtp.plan("smoke")
    assert [r.run_name for r in p.runs(shard="auto")] == [r.run_name for r in p.runs()[3::4]]
    monkeypatch.delenv("SLURM_ARRAY_TASK_ID")
    with pytest.raises(ValueError):
        wmtp.shard_from_env()
