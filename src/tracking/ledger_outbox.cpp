// The ledger's outbox: what MLflow has not acknowledged yet, and the reads a push needs.
#include <algorithm>
#include <limits>

#include "tracking/ledger.h"

namespace wmtp::tracking {

void Ledger::add_outbox(std::int64_t run, const char* kind, const std::string& key, std::int64_t first_seq,
                        std::int64_t last_seq) {
  Statement s(db_, "INSERT INTO outbox(run, kind, key, first_seq, last_seq) VALUES (?1, ?2, ?3, ?4, ?5)");
  s.bind(1, run).bind(2, std::string_view(kind)).bind(3, key).bind(4, first_seq).bind(5, last_seq);
  s.run();
}

std::int64_t Ledger::outbox_size(const std::vector<std::int64_t>& runs) {
  if (runs.empty()) {
    Statement s(db_, "SELECT count(*) FROM outbox");
    s.step();
    return s.int64(0);
  }
  Statement s(db_, "SELECT count(*) FROM outbox WHERE run = ?1");
  std::int64_t total = 0;
  for (std::int64_t run : runs) {
    s.bind(1, run);
    s.step();
    total += s.int64(0);
    s.reset();
  }
  return total;
}

OutboxSummary Ledger::outbox_summary(const std::vector<std::int64_t>& runs) {
  Statement s(db_,
              "SELECT run, count(*), coalesce(sum(CASE WHEN kind = 'metrics' THEN last_seq - first_seq + 1 "
              "ELSE 0 END), 0) FROM outbox GROUP BY run");
  OutboxSummary summary;
  while (s.step()) {
    if (!runs.empty() && std::find(runs.begin(), runs.end(), s.int64(0)) == runs.end()) continue;
    ++summary.runs;
    summary.entries += s.int64(1);
    summary.metric_points += s.int64(2);
  }
  return summary;
}

std::vector<OutboxEntry> Ledger::outbox_entries(std::int64_t run) {
  Statement s(db_, "SELECT id, kind, key, first_seq, last_seq FROM outbox WHERE run = ?1 ORDER BY id");
  s.bind(1, run);
  std::vector<OutboxEntry> rows;
  while (s.step()) rows.push_back({s.int64(0), s.str(1), s.str(2), s.int64(3), s.int64(4)});
  return rows;
}

std::vector<std::int64_t> Ledger::runs_with_outbox(std::optional<std::int64_t> experiment_id) {
  Statement s(db_,
              "SELECT DISTINCT o.run FROM outbox o JOIN runs r ON r.id = o.run "
              "WHERE ?1 IS NULL OR r.experiment_id = ?1 ORDER BY o.run");
  if (experiment_id) s.bind(1, *experiment_id);
  std::vector<std::int64_t> runs;
  while (s.step()) runs.push_back(s.int64(0));
  return runs;
}

void Ledger::delete_outbox_rows(const std::vector<std::int64_t>& ids) {
  Statement remove(db_, "DELETE FROM outbox WHERE id = ?1");
  for (std::int64_t id : ids) remove.bind(1, id).run();
}

void Ledger::acknowledge_outbox(const std::vector<std::int64_t>& ids,
                                const std::vector<std::pair<std::int64_t, std::int64_t>>& advanced) {
  if (ids.empty() && advanced.empty()) return;
  Transaction txn(db_);
  delete_outbox_rows(ids);
  Statement advance(db_, "UPDATE outbox SET first_seq = ?2 WHERE id = ?1");
  for (const auto& [id, first_seq] : advanced) advance.bind(1, id).bind(2, first_seq).run();
  txn.commit();
}

void Ledger::acknowledge_run_created(std::int64_t run, const std::string& mlflow_run_id,
                                     const std::vector<std::int64_t>& ids) {
  Transaction txn(db_);
  set_mlflow_run_id(run, mlflow_run_id);
  delete_outbox_rows(ids);
  txn.commit();
}

void Ledger::requeue_run(std::int64_t run, std::int64_t points_per_row) {
  Transaction txn(db_);
  Statement clear(db_, "DELETE FROM outbox WHERE run = ?1");
  clear.bind(1, run).run();
  add_outbox(run, outbox_kind::kCreateRun);
  for (const char* sql :
       {"INSERT INTO outbox(run, kind, key) SELECT run, 'param', key FROM params WHERE run = ?1",
        "INSERT INTO outbox(run, kind, key) SELECT run, 'tag', key FROM tags WHERE run = ?1",
        "INSERT INTO outbox(run, kind, key) SELECT run, 'artifact', path FROM artifacts WHERE run = ?1"}) {
    Statement insert(db_, sql);
    insert.bind(1, run).run();
  }
  Statement range(db_, "SELECT min(seq), max(seq) FROM metrics WHERE run = ?1");
  range.bind(1, run);
  if (range.step() && !range.is_null(0)) {
    const std::int64_t first = range.int64(0);
    const std::int64_t last = range.int64(1);
    for (std::int64_t from = first; from <= last; from += points_per_row) {
      add_outbox(run, outbox_kind::kMetrics, "", from, std::min(last, from + points_per_row - 1));
    }
  }
  range.reset();
  add_outbox(run, outbox_kind::kUpdateRun);
  set_mlflow_run_id(run, "");
  txn.commit();
}

Ledger::MetricCursor::MetricCursor(Ledger& ledger)
    : points_(ledger.db(),
              "SELECT seq, key, value, step, timestamp_ms FROM metrics "
              "WHERE run = ?1 AND seq BETWEEN ?2 AND ?3 ORDER BY seq") {}

void Ledger::MetricCursor::open(std::int64_t run, std::int64_t first_seq, std::int64_t last_seq) {
  points_.bind(1, run).bind(2, first_seq).bind(3, last_seq);
}

bool Ledger::MetricCursor::next() {
  if (points_.step()) return true;
  points_.reset();
  return false;
}

double Ledger::MetricCursor::value() const {
  return points_.is_null(2) ? std::numeric_limits<double>::quiet_NaN() : points_.real(2);
}

}  // namespace wmtp::tracking
