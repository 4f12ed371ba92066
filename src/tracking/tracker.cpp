#include "tracking/tracker.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>

#include "core/errors.h"
#include "core/output_file.h"
#include "core/sha256.h"
#include "experiment/run_contract.h"
#include "tracking/background_sync.h"
#include "tracking/ledger.h"
#include "tracking/ledger_writer.h"
#include "tracking/mlflow_config.h"
#include "tracking/mlflow_limits.h"

namespace wmtp::tracking {
namespace fs = std::filesystem;
namespace {

constexpr const char* kLocalRunIdTag = contract::tag::kLocalRunId;
constexpr std::size_t kMaxExperimentNameLength = 500;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// 32 lowercase hex characters from the OS's entropy, like MLflow's run ids.
std::string new_local_run_id() {
  static const char* hex = "0123456789abcdef";
  std::random_device device;
  std::string id;
  for (int i = 0; i < 4; ++i) {  // 4 x 32 random bits
    std::uint32_t word = device();
    for (int j = 0; j < 4; ++j) {
      id += hex[(word >> 4) & 15];
      id += hex[word & 15];
      word >>= 8;
    }
  }
  return id;
}

std::string current_user() {
  for (const char* name : {"USER", "LOGNAME"}) {
    const char* v = std::getenv(name);
    if (v != nullptr && *v != '\0') return v;
  }
  if (const passwd* pw = getpwuid(getuid())) return pw->pw_name;
  return "unknown";
}

std::string current_program() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("wmtp") : exe.string();
}

// What `git -C dir <args>` prints (trailing newlines cut); nullopt when it fails.
std::optional<std::string> git_output(const std::string& dir, const std::string& args) {
  std::string quoted = "'";
  for (char c : dir) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  quoted += "'";
  FILE* pipe = popen(("git -C " + quoted + " " + args + " 2>/dev/null").c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  std::array<char, 256> buffer{};
  std::string out;
  while (std::fgets(buffer.data(), static_cast<int>(buffer.size()), pipe) != nullptr) {
    out += buffer.data();
  }
  const int status = pclose(pipe);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  if (status != 0) return std::nullopt;
  return out;
}

// HEAD of the git checkout around dir; empty outside one.
std::string git_commit(const std::string& dir) {
  const std::string out = git_output(dir, "rev-parse HEAD").value_or("");
  const bool hex = out.size() == 40 && out.find_first_not_of("0123456789abcdef") == std::string::npos;
  return hex ? out : "";
}

std::string shown_value(const std::string& value) { return value.size() <= 200 ? value : value.substr(0, 200) + "..."; }

}  // namespace

std::map<std::string, std::string> git_provenance(const std::string& dir) {
  std::map<std::string, std::string> tags;
  const std::string commit = git_commit(dir);
  if (commit.empty()) return tags;
  tags[contract::tag::kGitCommit] = commit;
  const std::string branch = git_output(dir, "rev-parse --abbrev-ref HEAD").value_or("");
  if (!branch.empty() && branch != "HEAD") tags[contract::tag::kGitBranch] = branch;
  const std::string remote = git_output(dir, "remote get-url origin").value_or("");
  if (!remote.empty()) tags[contract::tag::kGitRepoUrl] = redact_uri(remote);
  if (const auto status = git_output(dir, "status --porcelain --untracked-files=no")) {
    tags[contract::tag::kGitDirty] = status->empty() ? "false" : "true";
  }
  return tags;
}

struct Tracker::Impl {
  TrackerOptions options;
  std::string artifact_store;
  MlflowConfig mlflow;
  std::string user = current_user();
  std::string program = current_program();
  std::string commit;
  std::once_flag commit_once;
  std::unique_ptr<BackgroundSync> sync;  // declared before writer: outlives its callbacks
  std::unique_ptr<LedgerWriter> writer;
  std::atomic<bool> closed{false};
  std::mutex close_mutex;

  void warn(const std::string& message) const {
    if (options.warn) {
      options.warn(message);
    } else {
      std::cerr << "wmtp: warning: " << message << "\n";
    }
  }

  LedgerWriter& open_writer() {
    if (closed) throw Error("the Tracker of ledger " + options.ledger_path + " is closed");
    return *writer;
  }

  const std::string& git_commit_once() {
    std::call_once(commit_once, [this] { commit = git_commit("."); });
    return commit;
  }

  // What the outbox holds of `runs` (entries -1 when the ledger cannot be read).
  OutboxSummary outbox_left(const std::vector<std::int64_t>& runs) const {
    if (runs.empty()) return {};
    try {
      return Ledger(options.ledger_path, Ledger::Mode::kReadOnly, Ledger::Check::kNone).outbox_summary(runs);
    } catch (const Error&) {
      return {static_cast<std::int64_t>(runs.size()), -1, 0};
    }
  }

  // Waits for the background push as `wait` says; `runs` are this Tracker's.
  MlflowDelivery wait_for_mlflow(const MlflowWait& wait, const std::vector<std::int64_t>& runs) const {
    using Clock = std::chrono::steady_clock;
    constexpr std::chrono::milliseconds kPoll{500};
    MlflowDelivery out;
    const Clock::time_point start = Clock::now();
    const auto finish = [&](MlflowDelivery::End end, bool drained) {
      out.end = end;
      out.left = drained ? OutboxSummary{} : outbox_left(runs);
      if (out.left.entries == 0) out.end = MlflowDelivery::End::kDelivered;
      out.waited = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
      return out;
    };
    if (wait.at_most.count() <= 0) return finish(MlflowDelivery::End::kNoWait, false);
    bool settled = false;
    if (!wait.stall) {
      const bool drained = sync->drain(wait.at_most, &settled);
      return finish(settled ? MlflowDelivery::End::kRefused : MlflowDelivery::End::kTimeLimit, drained);
    }
    Clock::time_point last_ack = start;
    OutboxSummary before = outbox_left(runs);
    for (;;) {
      const auto elapsed = Clock::now() - start;
      if (elapsed >= wait.at_most) return finish(MlflowDelivery::End::kTimeLimit, false);
      const auto slice = std::min<Clock::duration>(kPoll, wait.at_most - elapsed);
      if (sync->drain(std::chrono::duration_cast<std::chrono::milliseconds>(slice), &settled)) {
        return finish(MlflowDelivery::End::kDelivered, true);
      }
      if (settled) return finish(MlflowDelivery::End::kRefused, false);
      const OutboxSummary now_left = outbox_left(runs);
      const bool acknowledged = now_left.entries >= 0 &&
                                (now_left.entries < before.entries || now_left.metric_points < before.metric_points);
      if (acknowledged) last_ack = Clock::now();
      before = now_left;
      if (wait.on_progress) wait.on_progress(now_left);
      const bool failing = sync->mlflow_failing();
      if (Clock::now() - last_ack >= (failing ? wait.failing_stall : *wait.stall)) {
        return finish(failing ? MlflowDelivery::End::kFailing : MlflowDelivery::End::kStalled, false);
      }
    }
  }

  // Returns what is left in the outbox of this Tracker's runs (nothing when ledger only or
  // already closed).
  MlflowDelivery close(const MlflowWait& wait, bool warn_left) {
    std::lock_guard<std::mutex> lock(close_mutex);
    if (closed.exchange(true)) return {};
    try {
      writer->flush();
    } catch (const std::exception& e) {
      warn(std::string("closing the ledger: ") + e.what());
    }
    writer.reset();
    MlflowDelivery delivery;
    if (sync) {
      delivery = wait_for_mlflow(wait, sync->runs());
      sync.reset();
      const OutboxSummary& left = delivery.left;
      if (left.entries != 0 && warn_left) {
        const std::string count = left.entries < 0 ? "some" : std::to_string(left.entries);
        warn(count + " outbox entries of " + options.ledger_path + " are not acknowledged by MLflow at " +
             mlflow.tracking_uri + "; run `wmtp-sync --ledger " + options.ledger_path + "` to push them");
      }
    }
    return delivery;
  }
};

namespace {

class TrackedRun : public RunLogger {
 public:
  TrackedRun(std::shared_ptr<Tracker::Impl> impl, std::int64_t run, std::string local_id,
             std::map<std::string, std::string> params)
      : impl_(std::move(impl)), run_(run), local_id_(std::move(local_id)), params_(std::move(params)) {}

  const std::string& local_run_id() const override { return local_id_; }

  void log_param(const std::string& key, const std::string& value) override {
    validate_param(key, value);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto [it, inserted] = params_.emplace(key, value);
      if (!inserted) {
        if (it->second == value) return;
        throw InputError("run " + local_id_ + ": param '" + key + "' is already '" + shown_value(it->second) +
                         "'; refusing new value '" + shown_value(value) + "' (params are immutable)");
      }
    }
    impl_->open_writer().add_param(run_, key, value);
  }

  void set_tag(const std::string& key, const std::string& value) override {
    validate_tag(key, value);
    if (key == kLocalRunIdTag && value != local_id_) {
      throw InputError("run " + local_id_ + ": tag '" + key + "' is set by the Tracker");
    }
    impl_->open_writer().add_tag(run_, key, value);
  }

  void log_metric(const std::string& key, double value, std::int64_t step, std::int64_t timestamp_ms) override {
    validate_metric_key(key);
    impl_->open_writer().add_metric(run_, key, value, step, timestamp_ms != 0 ? timestamp_ms : now_ms());
  }

  void log_artifact(const std::string& local_file, const std::string& artifact_path) override {
    validate_artifact_path(artifact_path);
    LedgerWriter& writer = impl_->open_writer();
    const fs::path dest = fs::path(impl_->artifact_store) / local_id_ / artifact_path;
    std::ifstream in(local_file, std::ios::binary);
    if (!in) throw InputError("cannot read artifact file " + local_file);
    fs::create_directories(dest.parent_path());
    Sha256 sha;
    std::int64_t size = 0;
    try {
      // Copied whole or not at all, and fsynced before the ledger records it.
      AtomicFile out(dest.string());
      std::array<char, 1 << 16> buffer{};
      while (in) {
        in.read(buffer.data(), buffer.size());
        const std::streamsize n = in.gcount();
        if (n <= 0) break;
        sha.update(buffer.data(), static_cast<std::size_t>(n));
        out.write(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
        size += n;
      }
      if (in.bad()) throw Error("cannot read it: " + std::string(std::strerror(errno)));
      out.commit();
    } catch (const Error& e) {
      throw Error("cannot copy " + local_file + " into the ledger's artifact store: " + e.what());
    }
    writer.add_artifact(run_, artifact_path, sha.hex_digest(), size);
  }

  void flush() override { impl_->open_writer().flush(); }

  void finish(RunStatus status) override {
    impl_->open_writer().set_status(run_, status, status == RunStatus::kRunning ? 0 : now_ms());
  }

 private:
  std::shared_ptr<Tracker::Impl> impl_;
  std::int64_t run_;
  std::string local_id_;
  std::mutex mutex_;
  std::map<std::string, std::string> params_;
};

}  // namespace

Tracker::Tracker(TrackerOptions options) : impl_(std::make_shared<Impl>()) {
  impl_->options = std::move(options);
  impl_->artifact_store = artifact_store_for(impl_->options.ledger_path);
  impl_->mlflow = MlflowConfig::from_env(impl_->options.tracking_uri);
  const fs::path parent = fs::path(impl_->options.ledger_path).parent_path();
  std::error_code ec;
  if (!parent.empty()) fs::create_directories(parent, ec);
  if (impl_->mlflow.enabled()) {
    const Impl* impl = impl_.get();
    impl_->sync = std::make_unique<BackgroundSync>(impl_->mlflow, impl_->options.ledger_path, impl_->artifact_store,
                                                   [impl](const std::string& message) { impl->warn(message); });
  }
  BackgroundSync* sync = impl_->sync.get();
  impl_->writer = std::make_unique<LedgerWriter>(impl_->options.ledger_path, impl_->options.commit_interval,
                                                 impl_->options.commit_max_items, [sync] {
                                                   if (sync != nullptr) sync->notify();
                                                 });
}

MlflowWait MlflowWait::fixed(std::chrono::milliseconds at_most) {
  MlflowWait wait;
  wait.at_most = at_most;
  return wait;
}

MlflowWait MlflowWait::while_progressing(std::chrono::milliseconds stall, std::chrono::milliseconds at_most) {
  MlflowWait wait;
  wait.at_most = at_most;
  wait.stall = stall;
  wait.failing_stall = std::min(wait.failing_stall, stall);
  return wait;
}

Tracker::~Tracker() { impl_->close(MlflowWait::fixed(impl_->options.mlflow_drain_timeout), true); }

OutboxSummary Tracker::close(std::chrono::milliseconds mlflow_wait) {
  return impl_->close(MlflowWait::fixed(mlflow_wait), false).left;
}

MlflowDelivery Tracker::close(const MlflowWait& wait) { return impl_->close(wait, false); }

OutboxSummary Tracker::mlflow_backlog() {
  if (!impl_->sync || impl_->sync->runs().empty()) return {};
  impl_->open_writer().flush();
  return Ledger(impl_->options.ledger_path, Ledger::Mode::kReadOnly, Ledger::Check::kNone)
      .outbox_summary(impl_->sync->runs());
}

bool Tracker::mlflow_failing() const { return impl_->sync && impl_->sync->mlflow_failing(); }

std::unique_ptr<RunLogger> Tracker::start_run(const RunStart& start) {
  if (start.experiment.empty() || start.experiment.size() > kMaxExperimentNameLength) {
    throw InputError("experiment name must have 1 to 500 characters, got " + std::to_string(start.experiment.size()));
  }
  const std::string local_id = new_local_run_id();
  const std::string name = start.run_name.empty() ? "run-" + local_id.substr(0, 8) : start.run_name;
  std::map<std::string, std::string> tags = start.tags;
  for (const char* reserved : {kLocalRunIdTag, contract::tag::kRunName}) {
    if (tags.count(reserved) != 0) {
      throw InputError(std::string("tag '") + reserved + "' is set by the Tracker; do not pass it in RunStart::tags");
    }
  }
  tags[kLocalRunIdTag] = local_id;
  tags[contract::tag::kRunName] = name;
  tags.emplace(contract::tag::kUser, impl_->user);
  tags.emplace(contract::tag::kSourceName, impl_->program);
  tags.emplace(contract::tag::kSourceType, "LOCAL");
  const std::string& commit = impl_->git_commit_once();
  if (!commit.empty()) tags.emplace(contract::tag::kGitCommit, commit);
  for (const auto& [k, v] : tags) validate_tag(k, v);

  const std::int64_t start_time = now_ms();
  const std::int64_t run = impl_->open_writer().execute([&](Ledger& ledger) {
    const std::int64_t experiment = ledger.find_or_create_experiment(start.experiment);
    const std::int64_t id = ledger.insert_run(experiment, local_id, name, start_time);
    ledger.insert_tags(id, tags);
    ledger.add_outbox(id, outbox_kind::kCreateRun);
    return id;
  });
  if (impl_->sync) {
    impl_->sync->add_run(run);
    impl_->sync->notify();
  }
  return std::make_unique<TrackedRun>(impl_, run, local_id, std::map<std::string, std::string>());
}

std::unique_ptr<RunLogger> Tracker::reopen_run(const std::string& local_run_id) {
  std::map<std::string, std::string> params;
  const std::int64_t run = impl_->open_writer().execute([&](Ledger& ledger) {
    const std::optional<LedgerRun> found = ledger.find_run(local_run_id);
    if (!found) {
      throw InputError("no run with local id '" + local_run_id + "' in ledger " + ledger.path());
    }
    ledger.set_run_status(found->id, RunStatus::kRunning, 0);
    ledger.add_outbox(found->id, outbox_kind::kUpdateRun);
    params = ledger.params_of(found->id);
    return found->id;
  });
  if (impl_->sync) {
    impl_->sync->add_run(run);
    impl_->sync->notify();
  }
  return std::make_unique<TrackedRun>(impl_, run, local_run_id, std::move(params));
}

RunRecord Tracker::load_run(const std::string& local_run_id) {
  impl_->open_writer().flush();
  // Checked when the writer opened it: a quick_check per read made sealing grow with the ledger.
  Ledger ledger(impl_->options.ledger_path, Ledger::Mode::kReadOnly, Ledger::Check::kNone);
  const std::optional<LedgerRun> found = ledger.find_run(local_run_id);
  if (!found) {
    throw InputError("no run with local id '" + local_run_id + "' in ledger " + ledger.path());
  }
  const std::int64_t experiment = *ledger.find_experiment(found->experiment);
  std::vector<RunRecord> records = ledger.read_records(experiment, impl_->artifact_store, found->id);
  return std::move(records.front());
}

std::vector<RunRecord> Tracker::runs_of(const std::string& experiment) {
  impl_->open_writer().flush();
  Ledger ledger(impl_->options.ledger_path, Ledger::Mode::kReadOnly, Ledger::Check::kNone);  // as load_run
  std::vector<RunRecord> out;
  const std::optional<std::int64_t> id = ledger.find_experiment(experiment);
  if (!id) return out;
  for (LedgerRun& run : ledger.runs_of(*id)) {
    RunRecord record;
    record.local_id = std::move(run.local_id);
    record.mlflow_run_id = std::move(run.mlflow_run_id);
    record.experiment = std::move(run.experiment);
    record.name = std::move(run.name);
    record.status = run.status;
    record.start_time_ms = run.start_time_ms;
    record.end_time_ms = run.end_time_ms;
    record.params = ledger.params_of(run.id);
    out.push_back(std::move(record));
  }
  return out;
}

void Tracker::flush() { impl_->open_writer().flush(); }

bool Tracker::wait_for_mlflow(std::chrono::milliseconds timeout) {
  impl_->open_writer().flush();
  return impl_->sync && impl_->sync->drain(timeout);
}

bool Tracker::mlflow_enabled() const { return impl_->mlflow.enabled(); }

const std::string& Tracker::ledger_path() const { return impl_->options.ledger_path; }

const std::string& Tracker::artifact_store() const { return impl_->artifact_store; }

}  // namespace wmtp::tracking
