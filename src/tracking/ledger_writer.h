#pragma once
// LedgerWriter: the one thread that writes a Tracker's logging into the ledger. Callers only
// queue (a mutex and a vector push: no disk); the thread commits one transaction when
// `interval` passed since the oldest queued item or `max_items` are queued, and records in the
// outbox what MLflow still has to receive. A crash loses at most the batch not yet committed.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tracking/ledger.h"

namespace wmtp::tracking {

class LedgerWriter {
 public:
  // Opens its own connection to the ledger (creating it; InputError when the file is not a
  // ledger, or when a file that is not a directory sits where its artifact store goes); on_commit
  // runs on the writer thread after each successful commit.
  LedgerWriter(const std::string& ledger_path, std::chrono::milliseconds interval, std::size_t max_items,
               std::function<void()> on_commit = {});
  // Commits what is queued and stops the thread.
  ~LedgerWriter();
  LedgerWriter(const LedgerWriter&) = delete;
  LedgerWriter& operator=(const LedgerWriter&) = delete;

  // Queue one entry; never touch the disk. Throw the writer's error if an earlier commit failed.
  void add_metric(std::int64_t run, const std::string& key, double value, std::int64_t step, std::int64_t timestamp_ms);
  void add_param(std::int64_t run, const std::string& key, const std::string& value);
  void add_tag(std::int64_t run, const std::string& key, const std::string& value);
  void add_artifact(std::int64_t run, const std::string& path, const std::string& sha256, std::int64_t size);
  // The run's status and end time (0: none), after everything queued before for it.
  void set_status(std::int64_t run, RunStatus status, std::int64_t end_time_ms);

  // Runs task(Ledger&) on the writer thread, in its own transaction, after everything queued
  // before it; returns its result once committed, or rethrows what it threw (rolled back).
  template <class F>
  auto execute(F&& task) -> std::invoke_result_t<F&, Ledger&>;

  // Blocks until everything queued before the call is committed; rethrows a commit failure.
  void flush();
  const std::string& ledger_path() const { return path_; }

 private:
  enum class Kind { kMetric, kParam, kTag, kArtifact, kStatus, kTask };
  struct Item {
    Kind kind = Kind::kMetric;
    std::int64_t run = 0;
    std::string key;
    std::string text;  // param/tag value, artifact sha256
    RunStatus status = RunStatus::kRunning;
    double value = 0.0;
    std::int64_t step = 0;          // metric step, artifact size
    std::int64_t timestamp_ms = 0;  // metric timestamp, run end time
    std::function<void(Ledger&)> task;
  };

  void push(Item&& item);
  void loop();
  void commit_segment(Ledger& ledger, std::vector<Item>& items, std::size_t begin, std::size_t end);
  void write_batch(std::vector<Item>& items);
  std::int64_t next_seq(Ledger& ledger, std::int64_t run);

  std::string path_;
  std::chrono::milliseconds interval_;
  std::size_t max_items_;
  std::function<void()> on_commit_;

  std::mutex mutex_;
  std::condition_variable wake_;       // writer waits for items
  std::condition_variable committed_;  // flush() waits for commits
  std::vector<Item> queue_;
  std::chrono::steady_clock::time_point oldest_;
  std::uint64_t queued_total_ = 0;
  std::uint64_t committed_total_ = 0;
  bool urgent_ = false;  // a flush or task is waiting: commit now
  bool stop_ = false;
  std::exception_ptr error_;
  std::unordered_map<std::int64_t, std::int64_t> next_seqs_;  // writer thread only
  std::unique_ptr<Ledger> ledger_;                            // the writer thread's connection
  std::thread thread_;
};

template <class F>
auto LedgerWriter::execute(F&& task) -> std::invoke_result_t<F&, Ledger&> {
  using Result = std::invoke_result_t<F&, Ledger&>;
  std::packaged_task<Result(Ledger&)> packaged([&task](Ledger& ledger) {
    Transaction txn(ledger.db());
    if constexpr (std::is_void_v<Result>) {
      task(ledger);
      txn.commit();
    } else {
      Result result = task(ledger);
      txn.commit();
      return result;
    }
  });
  std::future<Result> done = packaged.get_future();
  Item item;
  item.kind = Kind::kTask;
  item.task = [&packaged](Ledger& ledger) { packaged(ledger); };
  push(std::move(item));
  return done.get();
}

}  // namespace wmtp::tracking
