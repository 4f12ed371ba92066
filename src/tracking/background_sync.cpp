#include "tracking/background_sync.h"

#include <algorithm>
#include <vector>

#include "core/errors.h"
#include "tracking/ledger.h"
#include "tracking/mlflow_client.h"
#include "tracking/outbox_sync.h"

namespace wmtp::tracking {
namespace {

// The loop retries on its own, so one request gives up sooner than a foreground call would.
constexpr int kMaxRetriesPerRequest = 2;
constexpr std::chrono::milliseconds kFirstPause{500};
constexpr std::chrono::milliseconds kLongestPause{30000};

}  // namespace

BackgroundSync::BackgroundSync(const MlflowConfig& config, std::string ledger_path, std::string artifact_store,
                               std::function<void(const std::string&)> warn)
    : config_(config),
      ledger_path_(std::move(ledger_path)),
      artifact_store_(std::move(artifact_store)),
      warn_(std::move(warn)) {
  config_.max_retries = std::min(config_.max_retries, kMaxRetriesPerRequest);
  config_.announce_retries = false;  // the loop warns once when MLflow goes away, and once when it is back
  thread_ = std::thread([this] { loop(); });
}

BackgroundSync::~BackgroundSync() {
  abort_ = true;
  wake_.notify_all();
  thread_.join();
}

void BackgroundSync::add_run(std::int64_t run) {
  std::lock_guard<std::mutex> lock(mutex_);
  runs_.insert(run);
}

void BackgroundSync::notify() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    pending_ = true;
  }
  wake_.notify_all();
}

bool BackgroundSync::drain(std::chrono::milliseconds timeout, bool* settled) {
  std::unique_lock<std::mutex> lock(mutex_);
  const std::uint64_t target = ++requested_;
  pending_ = true;
  wake_.notify_all();
  pushed_.wait_for(lock, timeout, [&] { return completed_ >= target && settled_; });
  if (settled != nullptr) *settled = completed_ >= target && settled_;
  return completed_ >= target && clean_;
}

std::vector<std::int64_t> BackgroundSync::runs() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return {runs_.begin(), runs_.end()};
}

std::vector<std::int64_t> BackgroundSync::our_pending_runs(OutboxSync& sync) {
  std::vector<std::int64_t> pending = sync.pending_runs();
  std::lock_guard<std::mutex> lock(mutex_);
  pending.erase(std::remove_if(pending.begin(), pending.end(),
                               [&](std::int64_t run) { return runs_.count(run) == 0 || refused_.count(run) > 0; }),
                pending.end());
  return pending;
}

void BackgroundSync::loop() {
  std::unique_ptr<Ledger> ledger;
  std::unique_ptr<MlflowClient> client;
  std::unique_ptr<OutboxSync> sync;
  bool unreachable = false;
  std::chrono::milliseconds pause = kFirstPause;
  std::unique_lock<std::mutex> lock(mutex_);
  while (!abort_) {
    if (unreachable) {
      wake_.wait_for(lock, pause, [&] { return abort_.load(); });
    } else {
      wake_.wait(lock, [&] { return abort_ || pending_; });
    }
    if (abort_) break;
    pending_ = false;
    const std::uint64_t generation = requested_;
    lock.unlock();

    bool clean = true;
    bool left = false;
    try {
      if (!sync) {
        ledger = std::make_unique<Ledger>(ledger_path_);
        client = std::make_unique<MlflowClient>(config_);
        client->set_abort_flag(&abort_);
        client->set_retry_listener([this](const std::string&) { failing_ = true; });
        sync = std::make_unique<OutboxSync>(*ledger, *client, artifact_store_);
      }
      SyncReport report;
      for (std::int64_t run : our_pending_runs(*sync)) {
        try {
          sync->push_run(run, report);
        } catch (const std::exception& e) {
          const auto* error = dynamic_cast<const Error*>(&e);
          // No connection, or 5xx through the retries: the whole push waits.
          if (error != nullptr && error->exit_code() == kExitUnreachable) throw;
          {
            std::lock_guard<std::mutex> guard(mutex_);
            refused_.insert(run);
          }
          warn_(std::string(e.what()) + "; this run's entries stay in the outbox (wmtp-sync retries)");
        }
      }
      if (unreachable) warn_("MLflow at " + config_.tracking_uri + " is reachable again");
      unreachable = false;
      failing_ = false;
      pause = kFirstPause;
      left = !our_pending_runs(*sync).empty();
    } catch (const std::exception& e) {
      clean = false;
      failing_ = true;
      if (!abort_) {
        if (!unreachable) {
          warn_(std::string(e.what()) + "; logging goes on into the ledger and the entries wait in its outbox");
        }
        unreachable = true;
        pause = std::min(kLongestPause, pause * 2);
      }
    }

    lock.lock();
    completed_ = generation;
    settled_ = clean && !left;
    clean_ = settled_ && refused_.empty();
    pushed_.notify_all();
  }
}

}  // namespace wmtp::tracking
