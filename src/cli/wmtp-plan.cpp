// wmtp-plan: a plan's runs, and with --print-contract what each must log before it trains (the
// document `wmtp-train --print-contract` prints), without LibTorch: for another producer, a
// scheduler or a machine that only audits. Exit 0, 2 on bad input, 1 when the golden tensors do
// not reproduce with this build (the contract's golden_tensor_check would not hold).
#include <cstdint>
#include <iostream>
#include <optional>
#include <string>

#include "cli/cli_common.h"
#include "core/errors.h"
#include "core/golden.h"
#include "experiment/plan_contract.h"
#include "experiment/shard.h"

namespace {

void require_golden(const nlohmann::json& golden, const std::string& which) {
  const wmtp::GoldenCheck check = wmtp::check_golden(golden);
  if (!check.pass) throw wmtp::Error(which + " do not reproduce with this build (" + check.summary() + ")");
}

}  // namespace

int main(int argc, char** argv) {
  namespace ex = wmtp::experiment;
  const std::string program = "wmtp-plan";
  CLI::App app{"A plan's runs, one name a line; --print-contract: what each run must log (as wmtp-train prints it)."};
  app.name(program);
  wmtp::cli::add_version_flag(app, program);
  std::string plan;
  std::string shard;
  std::optional<std::int64_t> shard_count;
  std::string prereg;
  std::string experiment;
  bool print_contract = false;
  app.add_option("plan", plan, "plan JSON (schemas/plan.schema.json) or a built-in plan's name; default: smoke");
  app.add_option("--shard", shard, "i/n: only runs i-1, i-1+n, ... (as wmtp-train --shard); auto: from the scheduler");
  app.add_option("--shard-count", shard_count,
                 "with --shard auto: the number of shards, when the scheduler's "
                 "variables do not say it");
  app.add_option("--prereg", prereg, "pre-registration whose hash the runs log; default: the built-in smoke one");
  app.add_option("--experiment", experiment, "experiment name; default: the plan's, else wmtp-smoke");
  app.add_flag("--print-contract", print_contract,
               "print the runs' contract (JSON, byte for byte what wmtp-train --print-contract prints)");
  if (const int rc = wmtp::cli::parse(app, argc, argv); rc >= 0) return rc;

  return wmtp::cli::guarded_main(program, [&] {
    if (shard == "auto") {
      shard = ex::resolve_auto_shard(shard_count, ex::process_environment());
    } else if (shard_count) {
      throw wmtp::InputError("--shard-count is only read with --shard auto");
    }
    require_golden(wmtp::embedded_golden(), "golden tensors");
    const ex::Preregistration registered = ex::load_preregistration(prereg);
    if (!registered.user_golden.is_null())
      require_golden(registered.user_golden, "the pre-registration's golden tensors");
    const ex::PlanRuns runs = ex::planned_runs(plan, registered, shard, experiment);
    if (print_contract) {
      std::cout << ex::contract_document(runs, shard).dump(2) << "\n" << std::flush;
    } else {
      for (const ex::RunRequest& run : runs.runs) std::cout << run.run_name << "\n";
      std::cout << std::flush;
    }
    return wmtp::kExitOk;
  });
}
