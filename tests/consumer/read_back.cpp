// Reads back one run that log_run logged, through the installed wmtp::tracking and wmtp::gates:
// the run (by local id) from a store (ledger path or MLflow URI) and the verdict wmtp-audit wrote
// about its experiment. Prints one line of key=value facts for run.sh to check; on error one line
// on stderr and wmtp's exit code (2 input, 3 unreachable).
#include <fstream>
#include <iostream>
#include <string>

#include "core/errors.h"
#include "core/version.h"
#include "gates/verdict.h"
#include "tracking/run_source.h"

int main(int argc, char** argv) {
  if (argc != 6) {
    std::cerr
        << "usage: read_back <ledger or MLflow URI> <experiment> <local run id> <verdict.json> <artifact cache>\n";
    return 2;
  }
  const std::string run_id = argv[3];
  try {
    const auto source = wmtp::tracking::open_run_source(argv[1], argv[5]);
    const wmtp::RunSet runs = source->read(argv[2]);
    std::ifstream in(argv[4]);
    if (!in) throw wmtp::InputError(std::string(argv[4]) + ": cannot read the verdict");
    const wmtp::gates::Verdict verdict = wmtp::gates::verdict_from_json(nlohmann::json::parse(in), argv[4]);
    int found = 0;
    for (const wmtp::RunRecord& run : runs.runs) {
      if (run.local_id != run_id) continue;
      ++found;
      const std::string* model = run.param("model");
      const auto loss = run.metrics.find("val_loss");
      std::cout << "status=" << wmtp::to_string(run.status) << " model=" << (model ? *model : "-")
                << " val_loss_points=" << (loss == run.metrics.end() ? 0 : loss->second.size())
                << " test_pape=" << run.last_metric("test_pape").value_or(-1) << " ";
    }
    int in_verdict = 0;
    for (const auto& run : verdict.runs) in_verdict += run.run_id == run_id;
    for (const auto& run : verdict.superseded) in_verdict += run.run_id == run_id;
    std::cout << "found=" << found << " in_verdict=" << in_verdict << " verdict_tool=" << verdict.tool_name << "/"
              << verdict.tool_version << " library=" << wmtp::kVersion << "\n";
    return 0;
  } catch (const wmtp::Error& e) {
    std::cerr << "read_back: error: " << e.what() << "\n";
    return e.exit_code();
  } catch (const std::exception& e) {
    std::cerr << "read_back: error: " << e.what() << "\n";
    return 2;
  }
}
