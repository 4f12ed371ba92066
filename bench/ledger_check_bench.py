#!/usr/bin/env python3
"""What PRAGMA quick_check costs when wmtp opens a large ledger.

Builds a ledger of RUNS runs (default 200, a 200-run plan) with POINTS metric points each (default
3,000: about what one smoke-recipe run logs), 40 params and 10 tags per run, in wmtp's schema
(version 2, marked with wmtp's application_id), then times PRAGMA quick_check and, for scale,
PRAGMA integrity_check and a full read of the metrics table, each REPS times (median).

  bench/ledger_check_bench.py [--runs N] [--points N] [--reps N] [--keep PATH]

With --keep the ledger is written to PATH (and left there), so `time wmtp-audit --ledger PATH -e bench`
can be run against it.
"""
import argparse
import os
import sqlite3
import statistics
import tempfile
import time

SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE experiments(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE runs(id INTEGER PRIMARY KEY, local_id TEXT NOT NULL UNIQUE,
  experiment_id INTEGER NOT NULL REFERENCES experiments(id), name TEXT NOT NULL, status TEXT NOT NULL,
  start_time_ms INTEGER NOT NULL, end_time_ms INTEGER NOT NULL DEFAULT 0, mlflow_run_id TEXT);
CREATE INDEX runs_by_experiment ON runs(experiment_id);
CREATE TABLE params(run INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY(run, key)) WITHOUT ROWID;
CREATE TABLE tags(run INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY(run, key)) WITHOUT ROWID;
CREATE TABLE metrics(run INTEGER NOT NULL, seq INTEGER NOT NULL, key TEXT NOT NULL, value REAL,
  step INTEGER NOT NULL, timestamp_ms INTEGER NOT NULL, PRIMARY KEY(run, seq)) WITHOUT ROWID;
CREATE TABLE artifacts(run INTEGER NOT NULL, path TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL,
  PRIMARY KEY(run, path)) WITHOUT ROWID;
CREATE TABLE outbox(id INTEGER PRIMARY KEY, run INTEGER NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL DEFAULT '',
  first_seq INTEGER NOT NULL DEFAULT 0, last_seq INTEGER NOT NULL DEFAULT 0);
CREATE INDEX outbox_by_run ON outbox(run, id);
INSERT INTO meta VALUES ('schema_version', '2');
INSERT INTO experiments(name) VALUES ('bench');
PRAGMA application_id = 1464685648;
PRAGMA user_version = 2;
"""


def build(path, runs, points):
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode = WAL")
    db.executescript(SCHEMA)
    for run in range(1, runs + 1):
        db.execute("INSERT INTO runs(local_id, experiment_id, name, status, start_time_ms, end_time_ms) "
                   "VALUES (?, 1, ?, 'FINISHED', 0, 1)", ("%032x" % run, "run-%d" % run))
        db.executemany("INSERT INTO params VALUES (?, ?, ?)",
                       [(run, "param_%02d" % i, "value-%d-%d" % (run, i)) for i in range(40)])
        db.executemany("INSERT INTO tags VALUES (?, ?, ?)", [(run, "tag_%d" % i, "v%d" % i) for i in range(10)])
        keys = ["train_loss"] * 8 + ["val_loss", "train_loss_epoch"]
        db.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?)",
                       [(run, seq, keys[seq % 10], 1.0 / seq, seq, 1700000000000 + seq)
                        for seq in range(1, points + 1)])
        db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def median_seconds(path, sql, reps):
    times = []
    for _ in range(reps):
        db = sqlite3.connect(path)
        start = time.perf_counter()
        rows = db.execute(sql).fetchall()
        times.append(time.perf_counter() - start)
        db.close()
    return statistics.median(times), rows[:1]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--points", type=int, default=3000)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--keep")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = a.keep or os.path.join(tmp, "bench.sqlite")
        if os.path.exists(path):
            os.remove(path)
        build(path, a.runs, a.points)
        size = os.path.getsize(path) / 1e6
        print("ledger: %d runs x %d points, %.1f MB (SQLite %s)" % (a.runs, a.points, size, sqlite3.sqlite_version))
        for name, sql in [("quick_check", "PRAGMA quick_check"), ("integrity_check", "PRAGMA integrity_check"),
                          ("read all metrics", "SELECT count(*), sum(value) FROM metrics")]:
            seconds, first = median_seconds(path, sql, a.reps)
            print("%-17s median %.3f s over %d reps (first row: %s)" % (name, seconds, a.reps, first))


if __name__ == "__main__":
    main()
