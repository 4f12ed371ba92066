#include "tracking/outbox_sync.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

#include "core/errors.h"
#include "core/json_field.h"
#include "experiment/run_contract.h"

namespace wmtp::tracking {
namespace {

constexpr const char* kLocalRunIdTag = contract::tag::kLocalRunId;
// Metric points loaded from the ledger per round of log-batch requests (bounds memory).
constexpr std::size_t kPointsPerRound = 50000;

using RowsByKey = std::map<std::string, std::vector<std::int64_t>>;  // key -> outbox row ids
using SeqAdvance = std::pair<std::int64_t, std::int64_t>;            // outbox row id, first_seq

// Appends to acked the outbox rows of the keys sent[from, from + count).
void add_rows_of_keys(const RowsByKey& rows, const KeyValues& sent, std::size_t from, std::size_t count,
                      std::vector<std::int64_t>& acked) {
  for (std::size_t i = 0; i < count; ++i) {
    const std::vector<std::int64_t>& ids = rows.at(sent[from + i].first);
    acked.insert(acked.end(), ids.begin(), ids.end());
  }
}

// Metric rows cover ascending seq ranges: those ending at or before the last point sent are
// done; the one it falls inside starts after it from now on.
void settle_metric_rows(const std::vector<const OutboxEntry*>& rows, std::int64_t sent_through,
                        std::vector<std::int64_t>& acked, std::vector<SeqAdvance>& advanced) {
  for (const OutboxEntry* row : rows) {
    if (row->last_seq <= sent_through) {
      acked.push_back(row->id);
    } else if (row->first_seq <= sent_through) {
      advanced.emplace_back(row->id, sent_through + 1);
    }
  }
}

// One push of a run's outbox entries (which must outlive it) to its MLflow run. Each entry is
// acknowledged, deleted from the outbox, only once MLflow answered 200 for it.
class EntryPush {
 public:
  EntryPush(Ledger& ledger, MlflowClient& client, const std::string& mlflow_id, SyncReport& report,
            const std::vector<OutboxEntry>& entries);
  // Params and tags (current values, one per key) and metric ranges, through log-batch.
  void send_log_batches(std::int64_t run);
  // The files under run_folder (the run's folder of the artifact store).
  void send_artifacts(const std::string& run_folder);
  // The run's status and end time as the ledger holds them now.
  void send_status(std::int64_t run);

 private:
  // Loads the points of the next metric rows (whole rows, until a round holds kPointsPerRound)
  // into pending_ and their seqs into seqs; returns the rows loaded.
  std::vector<const OutboxEntry*> load_points(Ledger::MetricCursor& points, std::int64_t run,
                                              std::vector<std::int64_t>& seqs);
  // Sends pending_ in as many requests as MLflow's limits ask, acknowledging each as answered.
  void send_round(const std::vector<const OutboxEntry*>& round_rows, const std::vector<std::int64_t>& seqs);

  Ledger& ledger_;
  MlflowClient& client_;
  const std::string& mlflow_id_;
  SyncReport& report_;
  RowsByKey param_rows_;
  RowsByKey tag_rows_;
  std::vector<const OutboxEntry*> metric_rows_;
  std::size_t next_metric_row_ = 0;
  RowsByKey artifact_rows_;  // by path
  std::vector<std::int64_t> update_rows_;
  LogBatch pending_;
};

EntryPush::EntryPush(Ledger& ledger, MlflowClient& client, const std::string& mlflow_id, SyncReport& report,
                     const std::vector<OutboxEntry>& entries)
    : ledger_(ledger), client_(client), mlflow_id_(mlflow_id), report_(report) {
  for (const OutboxEntry& row : entries) {
    if (row.kind == outbox_kind::kParam) {
      param_rows_[row.key].push_back(row.id);
    } else if (row.kind == outbox_kind::kTag) {
      tag_rows_[row.key].push_back(row.id);
    } else if (row.kind == outbox_kind::kMetrics) {
      metric_rows_.push_back(&row);
    } else if (row.kind == outbox_kind::kArtifact) {
      artifact_rows_[row.key].push_back(row.id);
    } else if (row.kind == outbox_kind::kUpdateRun) {
      update_rows_.push_back(row.id);
    }
  }
}

void EntryPush::send_log_batches(std::int64_t run) {
  for (const auto& [key, ids] : param_rows_) {
    pending_.params.emplace_back(key, ledger_.param_value(run, key));
  }
  for (const auto& [key, ids] : tag_rows_) {
    pending_.tags.emplace_back(key, ledger_.tag_value(run, key));
  }
  Ledger::MetricCursor points(ledger_);
  do {
    // One round: params and tags (first round only) and up to kPointsPerRound points.
    std::vector<std::int64_t> seqs;
    const std::vector<const OutboxEntry*> round_rows = load_points(points, run, seqs);
    send_round(round_rows, seqs);
    pending_ = LogBatch();
  } while (next_metric_row_ < metric_rows_.size());
}

std::vector<const OutboxEntry*> EntryPush::load_points(Ledger::MetricCursor& points, std::int64_t run,
                                                       std::vector<std::int64_t>& seqs) {
  std::vector<const OutboxEntry*> round_rows;
  while (next_metric_row_ < metric_rows_.size() && pending_.metrics.size() < kPointsPerRound) {
    const OutboxEntry* row = metric_rows_[next_metric_row_++];
    round_rows.push_back(row);
    points.open(run, row->first_seq, row->last_seq);
    while (points.next()) {
      seqs.push_back(points.seq());
      pending_.metrics.push_back({points.key(), points.value(), points.step(), points.timestamp_ms()});
    }
  }
  return round_rows;
}

void EntryPush::send_round(const std::vector<const OutboxEntry*>& round_rows, const std::vector<std::int64_t>& seqs) {
  std::size_t params_done = 0, tags_done = 0, metrics_done = 0;
  for (const LogBatch& part : split_log_batch(pending_)) {
    client_.log_batch_request(mlflow_id_, part);
    std::vector<std::int64_t> acked;
    add_rows_of_keys(param_rows_, pending_.params, params_done, part.params.size(), acked);
    add_rows_of_keys(tag_rows_, pending_.tags, tags_done, part.tags.size(), acked);
    params_done += part.params.size();
    tags_done += part.tags.size();
    metrics_done += part.metrics.size();
    report_.params += static_cast<std::int64_t>(part.params.size());
    report_.tags += static_cast<std::int64_t>(part.tags.size());
    report_.metrics += static_cast<std::int64_t>(part.metrics.size());
    std::vector<SeqAdvance> advanced;
    if (!part.metrics.empty()) {
      settle_metric_rows(round_rows, seqs[metrics_done - 1], acked, advanced);
    }
    ledger_.acknowledge_outbox(acked, advanced);
  }
}

void EntryPush::send_artifacts(const std::string& run_folder) {
  for (const auto& [path, ids] : artifact_rows_) {
    client_.upload_artifact(mlflow_id_, run_folder + "/" + path, path);
    if (path == contract::artifact::kDatasets) client_.log_inputs(mlflow_id_, read_json_file(run_folder + "/" + path));
    ledger_.acknowledge_outbox(ids);
    ++report_.artifacts;
  }
}

void EntryPush::send_status(std::int64_t run) {
  if (update_rows_.empty()) return;
  // Read after the outbox rows: a finish committed meanwhile is sent now or by its own row.
  const LedgerRun now = *ledger_.find_run(run);
  client_.update_run(mlflow_id_, now.status, now.end_time_ms);
  ledger_.acknowledge_outbox(update_rows_);
  ++report_.status_updates;
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
  return ledger_.runs_with_outbox(experiment_id);
}

void OutboxSync::requeue_whole_run(std::int64_t run) {
  ledger_.requeue_run(run, static_cast<std::int64_t>(kPointsPerRound));
}

std::optional<std::pair<std::string, std::string>> OutboxSync::parent_tag(const LedgerRun& run, const KeyValues& tags,
                                                                          SyncReport& report) {
  std::string parent_local_id;
  for (const auto& [key, value] : tags) {
    if (key == contract::tag::kParentRunId) return std::nullopt;  // given by the producer
    if (key == contract::tag::kParentLocalRunId) parent_local_id = value;
  }
  if (parent_local_id.empty() || parent_local_id == run.local_id) return std::nullopt;
  const std::optional<LedgerRun> parent = ledger_.find_run(parent_local_id);
  if (!parent) return std::nullopt;  // a parent in another ledger: the local id tag still names it
  return std::make_pair(std::string(contract::tag::kParentRunId), resolve_run(parent->id, report));
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
  for (const OutboxEntry& row : ledger_.outbox_entries(run.id)) {
    if (row.kind == outbox_kind::kCreateRun) create_rows.push_back(row.id);
  }
  std::string mlflow_id = run.mlflow_run_id;
  if (mlflow_id.empty() || !create_rows.empty()) {
    bool created = false;
    KeyValues tags = ledger_.tags_of(run.id);
    const std::optional<std::pair<std::string, std::string>> parent = parent_tag(run, tags, report);
    if (parent) tags.push_back(*parent);
    mlflow_id =
        client_.find_or_create_run(exp->second, run.local_id, run.name, run.start_time_ms, tags, &created).run_id;
    if (created) ++report.runs_created;
    // A run created by an older push (or another producer) learns its parent now.
    if (!created && parent) client_.log_batch_request(mlflow_id, LogBatch{{}, {}, {*parent}});
    ledger_.acknowledge_run_created(run.id, mlflow_id, create_rows);
  }
  verified_.insert(run.id);
  return mlflow_id;
}

void OutboxSync::push_run(std::int64_t run_id, SyncReport& report) {
  const PushLock lock(ledger_.path());
  if (!ledger_.find_run(run_id) || ledger_.outbox_entries(run_id).empty()) return;
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

void OutboxSync::push_entries(std::int64_t run_id, const std::string& mlflow_id, SyncReport& report) {
  const LedgerRun run = *ledger_.find_run(run_id);
  const std::vector<OutboxEntry> entries = ledger_.outbox_entries(run.id);
  EntryPush push(ledger_, client_, mlflow_id, report, entries);
  push.send_log_batches(run.id);
  push.send_artifacts(artifact_store_ + "/" + run.local_id);
  push.send_status(run_id);
}

SyncReport push_outbox(const std::string& ledger_path, const MlflowConfig& config,
                       const std::optional<std::string>& experiment) {
  if (!config.enabled()) {
    throw InputError("no MLflow server to push to: pass --tracking-uri or set MLFLOW_TRACKING_URI");
  }
  // Must exist (opening read-write would create it); checked (quick_check) by the second open.
  Ledger(ledger_path, Ledger::Mode::kReadOnly, Ledger::Check::kNone);
  Ledger ledger(ledger_path);
  MlflowClient client(config);
  OutboxSync sync(ledger, client, artifact_store_for(ledger_path));
  SyncReport report;
  for (std::int64_t run : sync.pending_runs(experiment)) sync.push_run(run, report);
  report.left = ledger.outbox_size();
  return report;
}

}  // namespace wmtp::tracking
