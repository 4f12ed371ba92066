#pragma once
// Helpers shared by the tracking tests: unique names on the shared MLflow server, a real PNG
// with text chunks, metric histories read back from MLflow, and SQL probes into a ledger.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/run_record.h"
#include "tracking/mlflow_client.h"
#include "tracking/tracker.h"

namespace wmtp::testing {

// Options for a Tracker that logs into the ledger at `ledger_path` only, whatever
// MLFLOW_TRACKING_URI says.
tracking::TrackerOptions ledger_only(const std::string& ledger_path);
// prefix + 12 random hex characters, so reruns against one server never collide.
std::string unique_name(const std::string& prefix);
// The real server of the suite (test_tracking_uri()), with the default retry policy.
tracking::MlflowConfig real_server_config();
// A valid 1x1 grayscale PNG carrying `text` as tEXt chunks.
std::string tiny_png(const std::map<std::string, std::string>& text);
// Every key's full history of an MLflow run, as the server returns it.
std::map<std::string, std::vector<MetricPoint>> mlflow_histories(tracking::MlflowClient& client,
                                                                 const std::string& run_id);
// First column of the first row of `sql` run on the ledger (read-only).
std::int64_t ledger_scalar(const std::string& ledger_path, const std::string& sql);
// Runs `sql` on a SQLite file directly, creating it when absent (no wmtp checks): builds old,
// foreign or tampered databases. Throws std::runtime_error with SQLite's message.
void sqlite_exec(const std::string& path, const std::string& sql);
// Overwrites the first page of `table`'s b-tree in the ledger with garbage, as a bad sector
// would (after checkpointing its WAL into the file); the header page is left intact.
void corrupt_table_page(const std::string& ledger_path, const std::string& table);
// Same sequence of (step, timestamp, value) with NaN equal to NaN.
bool same_points(const std::vector<MetricPoint>& a, const std::vector<MetricPoint>& b);

}  // namespace wmtp::testing
