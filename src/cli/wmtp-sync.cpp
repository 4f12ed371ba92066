// wmtp-sync: pushes the ledger's outbox (what MLflow has not acknowledged) to MLflow, exactly
// once. Exit 0 when the outbox is empty afterwards, 2 on bad input, 3 when MLflow or the ledger
// cannot be reached.
#include <iostream>
#include <optional>
#include <string>

#include "cli/cli_common.h"
#include "core/errors.h"
#include "tracking/ledger.h"
#include "tracking/mlflow_client.h"
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
    using namespace wmtp::tracking;
    const MlflowConfig config = MlflowConfig::from_env(
        tracking_uri.empty() ? std::nullopt : std::optional<std::string>(tracking_uri));
    if (!config.enabled()) {
      throw wmtp::InputError("no MLflow server to push to: pass --tracking-uri or set "
                             "MLFLOW_TRACKING_URI");
    }
    Ledger probe(ledger_path, Ledger::Mode::kReadOnly);  // a missing ledger is not created
    Ledger ledger(ledger_path);
    MlflowClient client(config);
    OutboxSync sync(ledger, client, artifact_store_for(ledger_path));
    SyncReport report;
    const std::optional<std::string> only =
        experiment.empty() ? std::nullopt : std::optional<std::string>(experiment);
    for (std::int64_t run : sync.pending_runs(only)) sync.push_run(run, report);
    std::cout << "pushed " << report.runs << " run(s) (" << report.runs_created << " created), "
              << report.metrics << " metric point(s), " << report.params << " param(s), "
              << report.tags << " tag(s), " << report.artifacts << " artifact(s), "
              << report.status_updates << " status update(s) to " << config.tracking_uri
              << "; outbox entries left: " << ledger.outbox_size() << "\n";
    return wmtp::kExitOk;
  });
}
