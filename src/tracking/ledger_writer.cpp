#include "tracking/ledger_writer.h"

#include <map>

#include "core/errors.h"
#include "core/output_file.h"

namespace wmtp::tracking {
namespace {

// The ledger, opened for writing once its artifact store is known to be a directory or absent.
std::unique_ptr<Ledger> open_for_writing(const std::string& ledger_path) {
  guard_output("the artifact store of --ledger " + ledger_path + ",", artifact_store_for(ledger_path), {},
               OutputKind::kDirectory);
  return std::make_unique<Ledger>(ledger_path);
}

}  // namespace

LedgerWriter::LedgerWriter(const std::string& ledger_path, std::chrono::milliseconds interval, std::size_t max_items,
                           std::function<void()> on_commit)
    : path_(ledger_path),
      interval_(interval),
      max_items_(max_items == 0 ? 1 : max_items),
      on_commit_(std::move(on_commit)),
      ledger_(open_for_writing(ledger_path)) {
  thread_ = std::thread([this] { loop(); });
}

LedgerWriter::~LedgerWriter() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void LedgerWriter::push(Item&& item) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (error_) std::rethrow_exception(error_);
    if (stop_) throw Error("ledger " + path_ + ": the writer is closed");
    const bool first = queue_.empty();
    if (first) oldest_ = std::chrono::steady_clock::now();
    if (item.kind == Kind::kTask) urgent_ = true;
    queue_.push_back(std::move(item));
    ++queued_total_;
    // The writer needs waking for the first item (it then sleeps until the interval ends) and
    // when the batch must go now; not for every item.
    if (!first && !urgent_ && queue_.size() < max_items_) return;
  }
  wake_.notify_one();
}

void LedgerWriter::add_metric(std::int64_t run, const std::string& key, double value, std::int64_t step,
                              std::int64_t timestamp_ms) {
  Item item;
  item.kind = Kind::kMetric;
  item.run = run;
  item.key = key;
  item.value = value;
  item.step = step;
  item.timestamp_ms = timestamp_ms;
  push(std::move(item));
}

void LedgerWriter::add_param(std::int64_t run, const std::string& key, const std::string& value) {
  Item item;
  item.kind = Kind::kParam;
  item.run = run;
  item.key = key;
  item.text = value;
  push(std::move(item));
}

void LedgerWriter::add_tag(std::int64_t run, const std::string& key, const std::string& value) {
  Item item;
  item.kind = Kind::kTag;
  item.run = run;
  item.key = key;
  item.text = value;
  push(std::move(item));
}

void LedgerWriter::add_artifact(std::int64_t run, const std::string& path, const std::string& sha256,
                                std::int64_t size) {
  Item item;
  item.kind = Kind::kArtifact;
  item.run = run;
  item.key = path;
  item.text = sha256;
  item.step = size;
  push(std::move(item));
}

void LedgerWriter::set_status(std::int64_t run, RunStatus status, std::int64_t end_time_ms) {
  Item item;
  item.kind = Kind::kStatus;
  item.run = run;
  item.status = status;
  item.timestamp_ms = end_time_ms;
  push(std::move(item));
}

void LedgerWriter::flush() {
  std::unique_lock<std::mutex> lock(mutex_);
  const std::uint64_t target = queued_total_;
  if (committed_total_ < target) {
    urgent_ = true;
    wake_.notify_one();
    committed_.wait(lock, [&] { return committed_total_ >= target; });
  }
  if (error_) std::rethrow_exception(error_);
}

void LedgerWriter::loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) break;  // stop_ with nothing left
    wake_.wait_until(lock, oldest_ + interval_, [&] { return stop_ || urgent_ || queue_.size() >= max_items_; });
    std::vector<Item> items;
    items.swap(queue_);
    urgent_ = false;
    const std::uint64_t taken = queued_total_;
    lock.unlock();
    write_batch(items);
    lock.lock();
    committed_total_ = taken;
    committed_.notify_all();
    if (on_commit_ && !error_) {
      lock.unlock();
      on_commit_();
      lock.lock();
    }
  }
}

void LedgerWriter::write_batch(std::vector<Item>& items) {
  // Tasks run in their own transaction (their caller waits for the outcome); the entries
  // between them are committed as one transaction each.
  std::size_t begin = 0;
  for (std::size_t i = 0; i <= items.size(); ++i) {
    if (i < items.size() && items[i].kind != Kind::kTask) continue;
    if (i > begin) commit_segment(*ledger_, items, begin, i);
    if (i < items.size()) items[i].task(*ledger_);
    begin = i + 1;
  }
}

std::int64_t LedgerWriter::next_seq(Ledger& ledger, std::int64_t run) {
  auto it = next_seqs_.find(run);
  if (it == next_seqs_.end()) it = next_seqs_.emplace(run, ledger.next_metric_seq(run)).first;
  return it->second++;
}

void LedgerWriter::commit_segment(Ledger& ledger, std::vector<Item>& items, std::size_t begin, std::size_t end) {
  try {
    Ledger::WriteBatch batch(ledger);
    std::map<std::int64_t, std::pair<std::int64_t, std::int64_t>> metric_ranges;
    for (std::size_t i = begin; i < end; ++i) {
      const Item& item = items[i];
      switch (item.kind) {
        case Kind::kMetric: {
          const std::int64_t seq = next_seq(ledger, item.run);
          batch.add_metric(item.run, seq, item.key, item.value, item.step, item.timestamp_ms);
          auto [range, inserted] = metric_ranges.emplace(item.run, std::make_pair(seq, seq));
          if (!inserted) range->second.second = seq;
          break;
        }
        case Kind::kParam:
          if (batch.add_param(item.run, item.key, item.text)) {
            ledger.add_outbox(item.run, outbox_kind::kParam, item.key);
          }
          break;
        case Kind::kTag:
          if (batch.set_tag(item.run, item.key, item.text)) {
            ledger.add_outbox(item.run, outbox_kind::kTag, item.key);
          }
          break;
        case Kind::kArtifact:
          batch.set_artifact(item.run, item.key, item.text, item.step);
          ledger.add_outbox(item.run, outbox_kind::kArtifact, item.key);
          break;
        case Kind::kStatus:
          ledger.set_run_status(item.run, item.status, item.timestamp_ms);
          ledger.add_outbox(item.run, outbox_kind::kUpdateRun);
          break;
        case Kind::kTask: break;
      }
    }
    for (const auto& [run, range] : metric_ranges) {
      ledger.add_outbox(run, outbox_kind::kMetrics, "", range.first, range.second);
    }
    batch.commit();
  } catch (...) {
    // Sequence numbers handed out in the failed transaction are re-read from the ledger.
    next_seqs_.clear();
    std::lock_guard<std::mutex> lock(mutex_);
    if (!error_) error_ = std::current_exception();
  }
}

}  // namespace wmtp::tracking
