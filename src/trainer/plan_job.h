#pragma once
// From wmtp-train's options to the runs to train: the plan (a file or the built-in smoke plan)
// with the command line's overrides, its data loaded and checked, the pre-registration read, one
// RunRequest per planned run of the shard. All input is checked here, before anything is logged.
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/golden.h"
#include "experiment/run_request.h"
#include "trainer/run.h"

namespace wmtp::trainer {

// What the command line says about the plan; an empty string is an option not given.
struct PlanOptions {
  std::string plan;                              // plan file; empty: the built-in smoke plan
  std::string recipe;                            // train only this recipe (a file or a built-in name)
  std::string data;                              // a CSV in place of the plan's data
  std::string experiment;                        // empty: the plan's, else experiment::kDefaultExperiment
  std::string prereg;                            // pre-registration file; empty: the built-in one
  std::string shard;                             // "i/n" (resolved); empty: every planned run
  int epochs = 0;                                // > 0: every recipe's training.epochs
  std::optional<std::string> unit;               // CSV data only
  std::optional<std::string> gaps;               // CSV data only
  std::string policy = "prod";                   // "debug": train on when golden tensors do not reproduce
  std::function<void(const std::string&)> warn;  // one warning line (the debug policy's)
  bool contract_only = false;                    // --print-contract: nothing trains, external cells are fine

  // True when any option that picks or changes the plan was given (not policy or warn).
  bool any_given() const;
};

// The metric definition must reproduce the frozen golden tensors (`which` names them) before
// anything trains: else Error, unless policy is "debug", which warns and trains on.
void enforce_golden_policy(const GoldenCheck& golden, const std::string& which, const std::string& policy,
                           const std::function<void(const std::string&)>& warn);

// The job the options give. InputError for a bad plan, recipe, data, pre-registration or
// shard, when a series is too short for a recipe's window (no half-trained plans), and for a
// cell of an external model unless contract_only (another producer trains those).
experiment::PlanRuns plan_job(const PlanOptions& options);

}  // namespace wmtp::trainer
