// Log a run from your own C++ trainer: the ledger first, MLflow too when a tracking URI is set.
#include <chrono>
#include <iostream>

#include "experiment/run_contract.h"
#include "tracking/tracker.h"

int main(int argc, char** argv) {
  namespace contract = wmtp::contract;
  wmtp::tracking::TrackerOptions options;       // defaults: ./wmtp-ledger.sqlite and
  if (argc > 1) options.ledger_path = argv[1];  // MLFLOW_TRACKING_URI ("" = ledger only)
  if (argc > 2) options.tracking_uri = argv[2];
  wmtp::tracking::Tracker tracker(options);  // throws wmtp::Error (exit_code())
  auto run = tracker.start_run({"my-experiment", "my-run", {}});
  run->log_param(contract::param::kModel, "my-model");
  for (int epoch = 1; epoch <= 3; ++epoch) run->log_metric(contract::metric::kValLoss, 1.0 / epoch, epoch);
  run->log_metric(contract::metric::kTestPape, 12.5, 0);
  run->finish(wmtp::RunStatus::kFinished);
  const bool in_mlflow = tracker.wait_for_mlflow(std::chrono::seconds(30));  // else: wmtp-sync later
  std::cout << run->local_run_id() << (in_mlflow ? " ledger+mlflow" : " ledger") << "\n";
}
