// One trainer of the load test (bench/load/run_load.py): a run that logs train_loss at every
// step for --seconds, each step --step-ms of simulated compute (a sleep: the GPU's time, so 32 of
// them fit a small machine), through a ledger-backed Tracker pushing to MLFLOW_TRACKING_URI in
// the background, as wmtp-train does. Then it finishes the run and waits until MLflow acknowledged
// every point. Prints one JSON object: points logged, the log_metric cost per step (the
// trainer's step overhead: mean, p50, p99 in microseconds), seconds to drain after the last step,
// whether everything was acknowledged, and the run's local id.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "tracking/tracker.h"

namespace {

using Clock = std::chrono::steady_clock;

double micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

int run(int argc, char** argv) {
  double seconds = 25;
  int step_ms = 10;
  std::string ledger = "load.sqlite";
  std::string experiment = "wmtp-load";
  std::string name = "load";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--seconds") {
      seconds = std::stod(value);
    } else if (flag == "--step-ms") {
      step_ms = std::stoi(value);
    } else if (flag == "--ledger") {
      ledger = value;
    } else if (flag == "--experiment") {
      experiment = value;
    } else if (flag == "--name") {
      name = value;
    } else {
      throw wmtp::InputError("wmtp_load_trainer: unknown flag " + flag +
                             " (--seconds S --step-ms M --ledger L --experiment E --name N)");
    }
  }
  wmtp::tracking::TrackerOptions options;
  options.ledger_path = ledger;
  wmtp::tracking::Tracker tracker(options);
  std::unique_ptr<wmtp::RunLogger> run = tracker.start_run({experiment, name, {}});
  std::vector<double> costs;
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  std::int64_t step = 0;
  while (Clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(step_ms));
    const auto t0 = Clock::now();
    run->log_metric("train_loss", 1.0 / static_cast<double>(step + 1), step);
    costs.push_back(micros(Clock::now() - t0));
    ++step;
  }
  const auto last_step = Clock::now();
  run->finish(wmtp::RunStatus::kFinished);
  const bool acknowledged = tracker.wait_for_mlflow(std::chrono::minutes(5));
  const double drain_s = std::chrono::duration<double>(Clock::now() - last_step).count();
  std::sort(costs.begin(), costs.end());
  double sum = 0;
  for (double c : costs) sum += c;
  const auto at = [&](double q) {
    return costs.empty() ? 0.0 : costs[static_cast<std::size_t>(q * (costs.size() - 1))];
  };
  std::cout << nlohmann::json{{"client", "wmtp"},
                              {"local_run_id", run->local_run_id()},
                              {"points", step},
                              {"seconds", seconds},
                              {"step_overhead_us_mean", costs.empty() ? 0.0 : sum / costs.size()},
                              {"step_overhead_us_p50", at(0.5)},
                              {"step_overhead_us_p99", at(0.99)},
                              {"drain_s", drain_s},
                              {"acknowledged", acknowledged}}
                   .dump()
            << std::endl;
  return acknowledged ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const wmtp::Error& e) {
    std::cerr << e.what() << "\n";
    return e.exit_code();
  }
}
