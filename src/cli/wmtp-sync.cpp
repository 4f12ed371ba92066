// wmtp-sync: pushes the ledger's outbox (what MLflow has not acknowledged) to MLflow, exactly
// once. Exit 0 when done, 2 on bad input, 3 when MLflow or the ledger cannot be reached.
#include <iostream>
#include <optional>
#include <string>

#include "cli/cli_common.h"
#include "core/errors.h"
#include "tracking/outbox_sync.h"
#include "tracking/tracker.h"

int main(int argc, char** argv) {
  const std::string program = "wmtp-sync";
  CLI::App app{"Push ledger entries that never reached MLflow, exactly once."};
  app.name(program);
  wmtp::cli::add_version_flag(app, program);
  std::string ledger_path = wmtp::tracking::TrackerOptions().ledger_path;
  std::string tracking_uri;
  std::string experiment;
  app.add_option("--ledger", ledger_path, "SQLite ledger to push from")->capture_default_str();
  app.add_option("--tracking-uri", tracking_uri, "MLflow server (default: MLFLOW_TRACKING_URI)");
  app.add_option("--experiment", experiment, "push only this experiment's runs");
  if (const int rc = wmtp::cli::parse(app, argc, argv); rc >= 0) return rc;

  return wmtp::cli::guarded_main(program, [&] {
    using wmtp::tracking::MlflowConfig;
    auto given = [](const std::string& s) { return s.empty() ? std::nullopt : std::optional<std::string>(s); };
    const MlflowConfig config = MlflowConfig::from_env(given(tracking_uri));
    const wmtp::tracking::SyncReport r = wmtp::tracking::push_outbox(ledger_path, config, given(experiment));
    std::cout << "pushed " << r.runs << " run(s) (" << r.runs_created << " created), " << r.metrics
              << " metric point(s), " << r.params << " param(s), " << r.tags << " tag(s), " << r.artifacts
              << " artifact(s), " << r.status_updates << " status update(s) to " << config.tracking_uri
              << "; outbox entries left: " << r.left << "\n";
    return wmtp::kExitOk;
  });
}
