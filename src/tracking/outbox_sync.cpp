#include "tracking/outbox_sync.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <limits>

#include "core/errors.h"

namespace wmtp::tracking {
namespace {

constexpr const char* kLocalRunIdTag = "wmtp.local_run_id";
// Metric points loaded from the ledger per round of log-batch requests (bounds memory).
constexpr std::size_t kPointsPerRound = 50000;

struct OutboxRow {
  std::int64_t id = 0;
  std::string kind;
  std::string key;
  std::int64_t first_seq = 0;
  std::int64_t last_seq = 0;
};

std::vector<OutboxRow> outbox_rows(Ledger& ledger, std::int64_t run) {
  Statement s(ledger.db(),
              "SELECT id, kind, key, first_seq, last_seq FROM outbox WHERE run = ?1 ORDER BY id");
  s.bind(1, run);
  std::vector<OutboxRow> rows;
  while (s.step()) rows.push_back({s.int64(0), s.str(1), s.str(2), s.int64(3), s.int64(4)});
  return rows;
}

std::string value_of(Ledger& ledger, const char* table, std::int64_t run, const std::string& key) {
  Statement s(ledger.db(),
              (std::string("SELECT value FROM ") + table + " WHERE run = ?1 AND key = ?2").c_str());
  s.bind(1, run).bind(2, key);
  if (!s.step()) {
    throw Error("ledger " + ledger.path() + ": outbox names " + table + " '" + key +
                "' that is not there");
  }
  return s.str(0);
}

KeyValues all_tags(Ledger& ledger, std::int64_t run) {
  Statement s(ledger.db(), "SELECT key, value FROM tags WHERE run = ?1 ORDER BY key");
  s.bind(1, run);
  KeyValues tags;
  while (s.step()) tags.emplace_back(s.str(0), s.str(1));
  return tags;
}

// One pusher at a time per ledger, across processes and threads (wmtp-sync from cron and by
// hand, a training run's live push): two could otherwise both find no MLflow run for a local id
// and both create one. flock(2) on "<ledger>-sync-lock", released when the file is closed.
class PushLock {
 public:
  explicit PushLock(const std::string& ledger_path)
      : fd_(::open((ledger_path + "-sync-lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    // A folder that refuses the file refuses the ledger's writes too; that error says why.
    while (fd_ >= 0 && ::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
    }
  }
  ~PushLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  PushLock(const PushLock&) = delete;
  PushLock& operator=(const PushLock&) = delete;

 private:
  int fd_;
};

}  // namespace

OutboxSync::OutboxSync(Ledger& ledger, MlflowClient& client, std::string artifact_store)
    : ledger_(ledger), client_(client), artifact_store_(std::move(artifact_store)) {}

std::vector<std::int64_t> OutboxSync::pending_runs(const std::optional<std::string>& experiment) {
  std::optional<std::int64_t> experiment_id;
  if (experiment) {
    experiment_id = ledger_.find_experiment(*experiment);
    if (!experiment_id) {
      throw InputError("experiment '" + *experiment + "' not found in ledger:" + ledger_.path());
    }
  }
  Statement s(ledger_.db(),
              "SELECT DISTINCT o.run FROM outbox o JOIN runs r ON r.id = o.run "
              "WHERE ?1 IS NULL OR r.experiment_id = ?1 ORDER BY o.run");
  if (experiment_id) s.bind(1, *experiment_id);
  std::vector<std::int64_t> runs;
  while (s.step()) runs.push_back(s.int64(0));
  return runs;
}

void OutboxSync::acknowledge(const std::vector<std::int64_t>& ids,
                             const std::vector<std::pair<std::int64_t, std::int64_t>>& advanced) {
  if (ids.empty() && advanced.empty()) return;
  Transaction txn(ledger_.db());
  Statement remove(ledger_.db(), "DELETE FROM outbox WHERE id = ?1");
  for (std::int64_t id : ids) remove.bind(1, id).run();
  Statement advance(ledger_.db(), "UPDATE outbox SET first_seq = ?2 WHERE id = ?1");
  for (const auto& [id, first_seq] : advanced) advance.bind(1, id).bind(2, first_seq).run();
  txn.commit();
}

void OutboxSync::requeue_whole_run(std::int64_t run) {
  SqliteDb& db = ledger_.db();
  Transaction txn(db);
  Statement clear(db, "DELETE FROM outbox WHERE run = ?1");
  clear.bind(1, run).run();
  ledger_.add_outbox(run, outbox_kind::kCreateRun);
  for (const char* sql :
       {"INSERT INTO outbox(run, kind, key) SELECT run, 'param', key FROM params WHERE run = ?1",
        "INSERT INTO outbox(run, kind, key) SELECT run, 'tag', key FROM tags WHERE run = ?1",
        "INSERT INTO outbox(run, kind, key) SELECT run, 'artifact', path FROM artifacts WHERE run = ?1"}) {
    Statement insert(db, sql);
    insert.bind(1, run).run();
  }
  Statement range(db, "SELECT min(seq), max(seq) FROM metrics WHERE run = ?1");
  range.bind(1, run);
  if (range.step() && !range.is_null(0)) {
    const std::int64_t first = range.int64(0);
    const std::int64_t last = range.int64(1);
    const auto span = static_cast<std::int64_t>(kPointsPerRound);
    for (std::int64_t from = first; from <= last; from += span) {
      ledger_.add_outbox(run, outbox_kind::kMetrics, "", from, std::min(last, from + span - 1));
    }
  }
  range.reset();
  ledger_.add_outbox(run, outbox_kind::kUpdateRun);
  ledger_.set_mlflow_run_id(run, "");
  txn.commit();
}

std::string OutboxSync::resolve_run(std::int64_t run_id, SyncReport& report) {
  LedgerRun run = *ledger_.find_run(run_id);
  auto exp = experiment_ids_.find(run.experiment);
  if (exp == experiment_ids_.end()) {
    exp = experiment_ids_.emplace(run.experiment, client_.get_or_create_experiment(run.experiment)).first;
  }
  if (!run.mlflow_run_id.empty() && verified_.count(run.id) == 0) {
    // Known from an earlier push, perhaps to another server: check that it is this run. If it
    // is not there, everything the run holds is sent again (to the run found by its local id,
    // or a new one): acknowledgements given by another server do not count here.
    bool known = false;
    try {
      const MlflowRun found = client_.get_run(run.mlflow_run_id);
      auto tag = found.tags.find(kLocalRunIdTag);
      known = tag != found.tags.end() && tag->second == run.local_id;
    } catch (const MlflowError& e) {
      if (e.error_code() != "RESOURCE_DOES_NOT_EXIST") throw;
    }
    if (!known) {
      requeue_whole_run(run.id);
      run.mlflow_run_id.clear();
    }
  }
  std::vector<std::int64_t> create_rows;
  for (const OutboxRow& row : outbox_rows(ledger_, run.id)) {
    if (row.kind == outbox_kind::kCreateRun) create_rows.push_back(row.id);
  }
  std::string mlflow_id = run.mlflow_run_id;
  if (mlflow_id.empty() || !create_rows.empty()) {
    bool created = false;
    mlflow_id = client_.find_or_create_run(exp->second, run.local_id, run.name, run.start_time_ms,
                                           all_tags(ledger_, run.id), &created).run_id;
    if (created) ++report.runs_created;
    Transaction txn(ledger_.db());
    ledger_.set_mlflow_run_id(run.id, mlflow_id);
    Statement remove(ledger_.db(), "DELETE FROM outbox WHERE id = ?1");
    for (std::int64_t id : create_rows) remove.bind(1, id).run();
    txn.commit();
  }
  verified_.insert(run.id);
  return mlflow_id;
}

void OutboxSync::push_run(std::int64_t run_id, SyncReport& report) {
  const PushLock lock(ledger_.path());
  if (!ledger_.find_run(run_id) || outbox_rows(ledger_, run_id).empty()) return;
  ++report.runs;
  try {
    push_entries(run_id, resolve_run(run_id, report), report);
  } catch (const MlflowError& e) {
    // The run vanished from MLflow while we pushed: send all of it again, as above.
    if (e.error_code() != "RESOURCE_DOES_NOT_EXIST") throw;
    requeue_whole_run(run_id);
    verified_.erase(run_id);
    push_entries(run_id, resolve_run(run_id, report), report);
  }
}

void OutboxSync::push_entries(std::int64_t run_id, const std::string& mlflow_id,
                              SyncReport& report) {
  const LedgerRun run = *ledger_.find_run(run_id);
  const std::vector<OutboxRow> rows = outbox_rows(ledger_, run.id);

  // Params and tags (current values, one per key) and metric ranges go through log-batch.
  LogBatch pending;
  std::map<std::string, std::vector<std::int64_t>> param_rows;
  std::map<std::string, std::vector<std::int64_t>> tag_rows;
  std::vector<const OutboxRow*> metric_rows;
  std::map<std::string, std::vector<std::int64_t>> artifact_rows;
  std::vector<std::int64_t> update_rows;
  for (const OutboxRow& row : rows) {
    if (row.kind == outbox_kind::kParam) {
      param_rows[row.key].push_back(row.id);
    } else if (row.kind == outbox_kind::kTag) {
      tag_rows[row.key].push_back(row.id);
    } else if (row.kind == outbox_kind::kMetrics) {
      metric_rows.push_back(&row);
    } else if (row.kind == outbox_kind::kArtifact) {
      artifact_rows[row.key].push_back(row.id);
    } else if (row.kind == outbox_kind::kUpdateRun) {
      update_rows.push_back(row.id);
    }
  }
  for (const auto& [key, ids] : param_rows) {
    pending.params.emplace_back(key, value_of(ledger_, "params", run.id, key));
  }
  for (const auto& [key, ids] : tag_rows) {
    pending.tags.emplace_back(key, value_of(ledger_, "tags", run.id, key));
  }

  Statement points(ledger_.db(),
                   "SELECT seq, key, value, step, timestamp_ms FROM metrics "
                   "WHERE run = ?1 AND seq BETWEEN ?2 AND ?3 ORDER BY seq");
  std::size_t next_metric_row = 0;
  do {
    // One round: params and tags (first round only) and up to kPointsPerRound points.
    std::vector<std::int64_t> seqs;
    std::vector<const OutboxRow*> round_rows;
    while (next_metric_row < metric_rows.size() && pending.metrics.size() < kPointsPerRound) {
      const OutboxRow* row = metric_rows[next_metric_row++];
      round_rows.push_back(row);
      points.bind(1, run.id).bind(2, row->first_seq).bind(3, row->last_seq);
      while (points.step()) {
        seqs.push_back(points.int64(0));
        const double value =
            points.is_null(2) ? std::numeric_limits<double>::quiet_NaN() : points.real(2);
        pending.metrics.push_back({points.str(1), value, points.int64(3), points.int64(4)});
      }
      points.reset();
    }
    std::size_t params_done = 0, tags_done = 0, metrics_done = 0;
    for (const LogBatch& part : split_log_batch(pending)) {
      client_.log_batch_request(mlflow_id, part);
      std::vector<std::int64_t> acked;
      for (std::size_t i = 0; i < part.params.size(); ++i) {
        const auto& ids = param_rows[pending.params[params_done + i].first];
        acked.insert(acked.end(), ids.begin(), ids.end());
      }
      for (std::size_t i = 0; i < part.tags.size(); ++i) {
        const auto& ids = tag_rows[pending.tags[tags_done + i].first];
        acked.insert(acked.end(), ids.begin(), ids.end());
      }
      params_done += part.params.size();
      tags_done += part.tags.size();
      metrics_done += part.metrics.size();
      report.params += static_cast<std::int64_t>(part.params.size());
      report.tags += static_cast<std::int64_t>(part.tags.size());
      report.metrics += static_cast<std::int64_t>(part.metrics.size());
      // Metric rows cover ascending seq ranges: those ending at or before the last point sent
      // are done; the one it falls inside starts after it from now on.
      std::vector<std::pair<std::int64_t, std::int64_t>> advanced;
      if (!part.metrics.empty()) {
        const std::int64_t sent_through = seqs[metrics_done - 1];
        for (const OutboxRow* row : round_rows) {
          if (row->last_seq <= sent_through) {
            acked.push_back(row->id);
          } else if (row->first_seq <= sent_through) {
            advanced.emplace_back(row->id, sent_through + 1);
          }
        }
      }
      acknowledge(acked, advanced);
    }
    pending = LogBatch();
  } while (next_metric_row < metric_rows.size());

  for (const auto& [path, ids] : artifact_rows) {
    client_.upload_artifact(mlflow_id, artifact_store_ + "/" + run.local_id + "/" + path, path);
    acknowledge(ids);
    ++report.artifacts;
  }
  if (!update_rows.empty()) {
    // Read after the outbox rows: a finish committed meanwhile is sent now or by its own row.
    const LedgerRun now = *ledger_.find_run(run_id);
    client_.update_run(mlflow_id, parse_run_status(now.status), now.end_time_ms);
    acknowledge(update_rows);
    ++report.status_updates;
  }
}

SyncReport push_outbox(const std::string& ledger_path, const MlflowConfig& config,
                       const std::optional<std::string>& experiment) {
  if (!config.enabled()) {
    throw InputError("no MLflow server to push to: pass --tracking-uri or set MLFLOW_TRACKING_URI");
  }
  Ledger(ledger_path, Ledger::Mode::kReadOnly);  // must exist: opening read-write would create it
  Ledger ledger(ledger_path);
  MlflowClient client(config);
  OutboxSync sync(ledger, client, artifact_store_for(ledger_path));
  SyncReport report;
  for (std::int64_t run : sync.pending_runs(experiment)) sync.push_run(run, report);
  report.left = ledger.outbox_size();
  return report;
}

}  // namespace wmtp::tracking
