// The wmtp-train binary: defaults, bad input, a real SIGKILL and --resume, MLflow mirroring, and
// the schemas checked by a second validator (Python's jsonschema).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "core/embedded.h"
#include "core/errors.h"
#include "core/json_field.h"
#include "experiment/plan.h"
#include "experiment/series.h"
#include "experiment/synthetic.h"
#include "support/test_support.h"
#include "support/wide_csv.h"
#include "tracking/mlflow_config.h"
#include "tracking/run_source.h"
#include "trainer/trainer.h"

namespace wmtp::trainer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using wmtp::testing::CommandResult;
using wmtp::testing::run_command;
using wmtp::testing::shell_quote;
using wmtp::testing::TempDir;
using wmtp::testing::write_file;

const std::string kTrain = WMTP_TRAIN_BINARY;

CommandResult train(const TempDir& dir, const std::string& args) {
  return run_command("cd " + shell_quote(dir.path()) + " && " + shell_quote(kTrain) + " " + args);
}

std::map<std::string, const RunRecord*> by_name(const RunSet& set) {
  std::map<std::string, const RunRecord*> m;
  for (const RunRecord& r : set.runs) m[r.name] = &r;
  return m;
}

std::map<std::int64_t, double> history(const RunRecord& r, const std::string& key) {
  std::map<std::int64_t, double> h;
  for (const MetricPoint& p : r.metrics.at(key))
    EXPECT_TRUE(h.emplace(p.step, p.value).second) << key << " step " << p.step << " twice";
  return h;
}

// A plan of one run: A3 (VQ, so slow enough to kill mid-way) on household-01, seed 7.
std::string write_one_run_plan(const TempDir& dir, int epochs) {
  json recipe = embedded_json("configs/recipes/A3.json");
  recipe["name"] = "K";
  recipe["training"]["epochs"] = epochs;
  recipe["training"]["checkpoint_every"] = 100;
  write_file(dir.file("K.json"), recipe.dump(2));
  json plan = {{"name", "one"},
               {"experiment", "kill-test"},
               {"series", {"household-01"}},
               {"cells", {{{"name", "K"}, {"recipe", "K.json"}, {"use_vq", true}}}},
               {"seeds", {7}}};
  write_file(dir.file("plan.json"), plan.dump(2));
  return dir.file("plan.json");
}

TEST(TrainCli, NoFlagsTrainsTheSmokePlanFromAnyDirectory) {
  TempDir dir;
  const CommandResult r = train(dir, "");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("18 run(s) finished, 0 failed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ledger:     " + fs::canonical(dir.path()).string() + "/wmtp-ledger.sqlite"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("experiment: wmtp-smoke"), std::string::npos);
  EXPECT_NE(r.out.find("next:       wmtp-audit --experiment wmtp-smoke\n"), std::string::npos);
  EXPECT_EQ(r.err.find('\r'), std::string::npos);  // no progress bar when stderr is not a terminal
  const RunSet set = wmtp::tracking::read_ledger_runs(dir.file("wmtp-ledger.sqlite"), "wmtp-smoke");
  ASSERT_EQ(set.runs.size(), 18u);
  std::map<std::string, std::string> hashes;  // (series, seed) -> data hashes, across cells
  for (const RunRecord& run : set.runs) {
    SCOPED_TRACE(run.name);
    EXPECT_EQ(run.status, RunStatus::kFinished);
    EXPECT_NE(r.out.find(run.name + "  FINISHED  run " + run.local_id), std::string::npos);  // one line per run
    const std::string key = *run.param("series") + "/" + *run.param("seed");
    const std::string h = *run.param("train_data_hash") + *run.param("val_data_hash") + *run.param("test_data_hash");
    EXPECT_EQ(hashes.emplace(key, h).first->second, h);
    const std::vector<const ArtifactRef*> figures = run.artifacts_under("figures/");
    ASSERT_EQ(figures.size(), 2u);
    for (const ArtifactRef* f : figures) {
      EXPECT_EQ(f->png_text.at("wmtp.run_id"), run.local_id);
      EXPECT_EQ(f->png_text.at("wmtp.experiment"), "wmtp-smoke");
      EXPECT_EQ(f->png_text.at("wmtp.train_data_hash"), *run.param("train_data_hash"));
      EXPECT_EQ(f->png_text.at("wmtp.pape_definition_hash"), *run.param("pape_definition_hash"));
    }
    EXPECT_FALSE(run.artifacts_under("checkpoints/").empty());
    EXPECT_EQ(*run.param("golden_tensor_check"), "pass");
    // What makes the audit need no flags and notice edits: the plan, the seal, the epoch means.
    EXPECT_EQ(run.artifacts_under("config/plan.json").size(), 1u);
    EXPECT_EQ(run.artifacts_under("wmtp/seal.json").size(), 1u);
    EXPECT_EQ(run.tags.count("wmtp.seal_sha256"), 1u);
    EXPECT_EQ(*run.param("plan_name"), "smoke");
    EXPECT_NE(run.param("pape_definition_hash_payload"), nullptr);
    EXPECT_EQ(run.metrics.count("train_loss_epoch"), 1u);
  }
  EXPECT_EQ(hashes.size(), 6u);

  // The documented audit with no flags: ALL PASS; with one planned run deleted: FAIL naming it.
  const std::string audit = shell_quote((fs::path(kTrain).parent_path() / "wmtp-audit").string());
  const CommandResult passed = run_command("cd " + shell_quote(dir.path()) + " && env -u MLFLOW_TRACKING_URI " + audit +
                                           " --experiment wmtp-smoke");
  EXPECT_EQ(passed.exit_code, 0) << passed.err;
  EXPECT_NE(passed.err.find("overall: ALL PASS (exit 0)"), std::string::npos) << passed.err;
  ASSERT_EQ(run_command("sqlite3 " + shell_quote(dir.file("wmtp-ledger.sqlite")) +
                        " \"DELETE FROM runs WHERE name = 'B2-household-02-s43'\"")
                .exit_code,
            0);
  const CommandResult missing = run_command("cd " + shell_quote(dir.path()) + " && env -u MLFLOW_TRACKING_URI " +
                                            audit + " --experiment wmtp-smoke");
  EXPECT_EQ(missing.exit_code, 1) << missing.err;
  EXPECT_NE(missing.err.find("planned run B2/household-02/43 is missing"), std::string::npos) << missing.err;
}

TEST(TrainCliInput, CiRefusesTheDebugPolicy) {
  TempDir dir;
  const CommandResult r = run_command("cd " + shell_quote(dir.path()) + " && CI=true " + shell_quote(kTrain) +
                                      " --policy debug --epochs 1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--policy debug is refused when CI=true"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir.file("wmtp-ledger.sqlite")));
}

TEST(TrainCli, ShardTrainsEveryNthRun) {
  TempDir dir;
  const CommandResult r = train(dir, "--shard 2/9 --epochs 5 --experiment sharded --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> names;
  for (const RunRecord& run : wmtp::tracking::read_ledger_runs(dir.file("wmtp-ledger.sqlite"), "sharded").runs) {
    names.insert(run.name);
    EXPECT_EQ(*run.param("epochs"), "5");
  }
  EXPECT_EQ(names, (std::set<std::string>{"B0-household-01-s43", "B0-household-02-s43"}));
  EXPECT_EQ(r.out.find("FINISHED"), std::string::npos);  // --quiet: no per-run lines
}

// MLflow away: the default wait gives up once the server stops answering (no fixed 10 s, no
// hour), and the next command is wmtp-sync, then the audit.
TEST(TrainCli, WithMlflowAwayTheNextLineNamesWmtpSyncFirst) {
  TempDir dir;
  const std::string away = "http://127.0.0.1:1";
  const auto start = std::chrono::steady_clock::now();
  const CommandResult r = train(dir, "--shard 1/18 --epochs 5 --experiment away --quiet --tracking-uri " + away);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string sync = fs::path(kTrain).parent_path().string() + "/wmtp-sync" +
                           " --ledger wmtp-ledger.sqlite --tracking-uri " + away;
  EXPECT_NE(r.err.find("waiting while it acknowledges entries"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(": it stopped answering; nothing is lost: deliver them with: " + sync), std::string::npos)
      << r.err;
  EXPECT_NE(r.out.find("  next:       " + sync + "\n  then:       wmtp-audit --experiment away --tracking-uri " + away +
                       "\n"),
            std::string::npos)
      << r.out;
  EXPECT_LT(took, 60.0);
  std::cout << "[ measure  ] wmtp-train, one run, MLflow away, default wait: " << took << " s in all\n";
}

// --jobs 2 trains two runs at once: every run logs the numbers --jobs 1 logs, bit for bit, and
// the output keeps one whole line per run.
TEST(TrainCli, JobsTwoLogsTheSameNumbersAsJobsOne) {
  TempDir dir;
  const std::string plan_args = "--epochs 2 --experiment jobs ";
  const CommandResult one = train(dir, plan_args + "--jobs 1 --ledger one.sqlite");
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const CommandResult two = train(dir, plan_args + "--jobs 2 --ledger two.sqlite");
  ASSERT_EQ(two.exit_code, 0) << two.err;
  const RunSet want = wmtp::tracking::read_ledger_runs(dir.file("one.sqlite"), "jobs");
  const RunSet got = wmtp::tracking::read_ledger_runs(dir.file("two.sqlite"), "jobs");
  ASSERT_EQ(got.runs.size(), 18u);
  ASSERT_EQ(want.runs.size(), 18u);
  const auto wanted = by_name(want);
  std::size_t run_lines = 0;
  std::istringstream lines(two.out);
  for (std::string line; std::getline(lines, line);) {
    run_lines += line.find("  FINISHED  run ") != std::string::npos ? 1 : 0;
  }
  EXPECT_EQ(run_lines, 18u) << two.out;
  for (const RunRecord& run : got.runs) {
    SCOPED_TRACE(run.name);
    EXPECT_EQ(run.status, RunStatus::kFinished);
    EXPECT_NE(("\n" + two.out).find("\n" + run.name + "  FINISHED  run " + run.local_id + "  "), std::string::npos);
    ASSERT_EQ(wanted.count(run.name), 1u);
    const RunRecord& twin = *wanted.at(run.name);
    EXPECT_EQ(run.params, twin.params);
    ASSERT_EQ(run.metrics.size(), twin.metrics.size());
    for (const auto& [key, points] : twin.metrics) {
      ASSERT_EQ(run.metrics.count(key), 1u) << key;
      EXPECT_TRUE(wmtp::testing::same_history(history(run, key), history(twin, key))) << key;
    }
  }
}

// The verdict without what differs by reading: when and from where.
json verdict_content(const std::string& path) {
  json v = wmtp::read_json_file(path);
  v.erase("generated_at");
  v.erase("source");
  return v;
}

TEST(TrainCli, ShardsLedgersAuditAsOne) {
  TempDir dir;
  const std::string audit = shell_quote((fs::path(kTrain).parent_path() / "wmtp-audit").string());
  std::string ledgers;
  for (int i = 1; i <= 3; ++i) {
    const std::string ledger = "shards/" + std::to_string(i) + "/wmtp-ledger.sqlite";
    const CommandResult r = run_command("cd " + shell_quote(dir.path()) + " && WMTP_SHARD=" + std::to_string(i) +
                                        "/3 env -u MLFLOW_TRACKING_URI " + shell_quote(kTrain) +
                                        " --shard auto --epochs 5 --experiment multi --quiet --ledger " + ledger);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ledgers += " --ledger " + ledger;
  }
  const std::string in_dir = "cd " + shell_quote(dir.path()) + " && env -u MLFLOW_TRACKING_URI " + audit;
  // One shard's ledger alone misses the other shards' runs; the three together are the plan.
  const CommandResult one = run_command(in_dir +
                                        " --experiment multi --ledger shards/1/wmtp-ledger.sqlite -o one.json");
  EXPECT_EQ(one.exit_code, 1) << one.err;
  const CommandResult listed = run_command(in_dir + " --experiment multi" + ledgers + " -o listed.json");
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.err.find("overall: ALL PASS"), std::string::npos) << listed.err;
  const CommandResult folder = run_command(in_dir + " --experiment multi --ledger shards -o folder.json");
  EXPECT_EQ(folder.exit_code, 0) << folder.err;
  EXPECT_EQ(verdict_content(dir.file("listed.json")), verdict_content(dir.file("folder.json")));

  // A copy of a ledger adds nothing; a copy whose runs differ is refused, naming both files.
  ASSERT_EQ(run_command("cd " + shell_quote(dir.path()) +
                        " && cp shards/2/wmtp-ledger.sqlite copy.sqlite && cp -r shards/2/wmtp-ledger.artifacts "
                        "copy.artifacts")
                .exit_code,
            0);
  const CommandResult copied = run_command(in_dir +
                                           " --experiment multi --ledger shards --ledger copy.sqlite -o c.json");
  EXPECT_EQ(copied.exit_code, 0) << copied.err;
  EXPECT_EQ(verdict_content(dir.file("listed.json")), verdict_content(dir.file("c.json")));
  ASSERT_EQ(run_command(
                "sqlite3 " + shell_quote(dir.file("copy.sqlite")) +
                " \"UPDATE metrics SET value = value + 1 WHERE (run, seq) = (SELECT run, seq FROM metrics LIMIT 1)\"")
                .exit_code,
            0);
  const CommandResult differ = run_command(in_dir +
                                           " --experiment multi --ledger shards --ledger copy.sqlite -o d.json");
  EXPECT_EQ(differ.exit_code, 2) << differ.err;
  EXPECT_NE(differ.err.find("with different content"), std::string::npos) << differ.err;
  EXPECT_NE(differ.err.find("copy.sqlite"), std::string::npos) << differ.err;
  const CommandResult empty = run_command("mkdir -p " + shell_quote(dir.file("none")) + " && " + in_dir +
                                          " --experiment multi --ledger none -o e.json");
  EXPECT_EQ(empty.exit_code, 2) << empty.err;
  EXPECT_NE(empty.err.find("no *.sqlite ledger"), std::string::npos) << empty.err;
}

struct BadInput {
  const char* what;
  std::string args;
  std::string message;
};

// A plan with a model wmtp does not train: exit 2 naming the cell, nothing written; its contract
// still prints for the producer that trains it.
TEST(TrainCliInput, RefusesAPlanWithAnExternalCell) {
  TempDir dir;
  json recipe = embedded_json("configs/recipes/B0.json");
  recipe["name"] = "LIN";
  recipe["model"] = {{"kind", "external"}, {"name", "numpy-linear"}, {"params", {{"ridge", 0.1}}}};
  write_file(dir.file("LIN.json"), recipe.dump(2));
  json plan = embedded_json("configs/plans/smoke.json");
  plan["cells"].push_back({{"name", "LIN"}, {"recipe", "LIN.json"}, {"use_vq", false}});
  write_file(dir.file("plan.json"), plan.dump(2));
  const CommandResult r = train(dir, "--plan plan.json --epochs 1");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("cell LIN: model 'external' (numpy-linear) is not one wmtp-train trains"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("Python package wmtp"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir.file("wmtp-ledger.sqlite")));
  EXPECT_TRUE(r.out.empty()) << r.out;
  const CommandResult contract = train(dir, "--plan plan.json --print-contract");
  ASSERT_EQ(contract.exit_code, 0) << contract.err;
  EXPECT_NE(contract.out.find("\"model_name\": \"numpy-linear\""), std::string::npos);
  EXPECT_NE(contract.out.find("\"model.ridge\": \"0.1\""), std::string::npos);
  EXPECT_FALSE(fs::exists(dir.file("wmtp-ledger.sqlite")));
  // A shard that holds none of the external cell's runs is wmtp-train's share of a mixed plan.
  plan["cells"] = json::array({plan["cells"][0], plan["cells"].back()});  // B0, LIN
  plan["series"] = {"household-01"};
  plan["seeds"] = {42};
  write_file(dir.file("mixed.json"), plan.dump(2));
  const CommandResult external_share = train(dir, "--plan mixed.json --epochs 1 --shard 2/2");
  EXPECT_EQ(external_share.exit_code, 2) << external_share.err;
  EXPECT_NE(external_share.err.find("cell LIN: model 'external'"), std::string::npos) << external_share.err;
  const CommandResult own_share = train(dir, "--plan mixed.json --epochs 1 --shard 1/2 --quiet");
  EXPECT_EQ(own_share.exit_code, 0) << own_share.err;
  EXPECT_TRUE(fs::exists(dir.file("wmtp-ledger.sqlite")));
}

TEST(TrainCliInput, BadInputExitsTwoWithOneClearLine) {
  TempDir dir;
  const std::string header = "timestamp,series,value\n";
  const std::string rows = "2023-01-01T00:00:00Z,a,1\n2023-01-01T01:00:00Z,a,2\n";
  write_file(dir.file("gap.csv"), header + rows + "2023-01-01T03:00:00Z,a,3\n");
  write_file(dir.file("dup.csv"), header + rows + "2023-01-01T01:00:00Z,a,3\n");
  write_file(dir.file("text.csv"), header + rows + "2023-01-01T02:00:00Z,a,high\n");
  write_file(dir.file("nan.csv"), header + rows + "2023-01-01T02:00:00Z,a,NaN\n");
  write_file(dir.file("time.csv"), header + rows + "01/01/2023 02:00,a,3\n");
  write_file(dir.file("cols.csv"), "time,value\n2023-01-01T00:00:00Z,1\n");
  json minutes = embedded_json("configs/recipes/B0.json");
  minutes["window"]["seq_len"] = "90min";
  write_file(dir.file("minutes.json"), minutes.dump());
  json recipe = embedded_json("configs/recipes/B0.json");
  recipe["optimizer"]["lrr"] = 0.1;
  write_file(dir.file("unknown-key.json"), recipe.dump());
  recipe = embedded_json("configs/recipes/B0.json");
  recipe["optimizer"]["lr"] = "fast";
  write_file(dir.file("wrong-type.json"), recipe.dump());
  json plan = embedded_json("configs/plans/smoke.json");
  plan["seeds"][0] = "42";
  write_file(dir.file("plan-type.json"), plan.dump());
  plan = embedded_json("configs/plans/smoke.json");
  plan["cell"] = plan["cells"];
  write_file(dir.file("plan-key.json"), plan.dump());
  plan = embedded_json("configs/plans/smoke.json");
  plan["series"][1] = "household-09";
  write_file(dir.file("plan-series.json"), plan.dump());

  const std::vector<BadInput> cases = {
      {"gap", "--data gap.csv", dir.file("gap.csv") + ":4: gap in series 'a'"},
      {"duplicate", "--data dup.csv", dir.file("dup.csv") + ":4: duplicate timestamp 2023-01-01T01:00:00Z"},
      {"non-numeric", "--data text.csv", dir.file("text.csv") + ":4: value 'high' is not a number"},
      {"NaN", "--data nan.csv", dir.file("nan.csv") + ":4: value 'NaN' is not a finite number"},
      {"bad timestamp", "--data time.csv", dir.file("time.csv") + ":4: bad timestamp '01/01/2023 02:00'"},
      {"missing column", "--data cols.csv", dir.file("cols.csv") + ":1: missing column 'timestamp'"},
      {"gap", "--data gap.csv --gaps fail", "--gaps drop-windows trains around gaps"},
      {"bad unit", "--data gap.csv --unit 'k W'", "--unit 'k W': expected a unit such as kW, MW"},
      {"empty unit", "--data gap.csv --unit ''", "--unit: empty value"},
      {"unit of synthetic data", "--unit MW", "--unit and --gaps describe CSV data"},
      {"bad gap policy", "--data gap.csv --gaps skip", "--gaps"},
      {"duration not whole steps", "--recipe minutes.json",
       "minutes.json: $.window.seq_len: '90min' is not a whole number of the 1h steps of series 'household-01'"},
      {"resume with a unit for synthetic data", "--resume abc --unit MW", "--unit and --gaps describe CSV data"},
      {"recipe unknown key", "--recipe unknown-key.json", "unknown-key.json: $.optimizer.lrr: unknown key"},
      {"recipe wrong type", "--recipe ./wrong-type.json",
       "wrong-type.json: $.optimizer.lr: expected a number, got string"},
      {"plan wrong type", "--plan plan-type.json", "plan-type.json: $.seeds[0]: expected an integer, got string"},
      {"plan unknown key", "--plan plan-key.json", "plan-key.json: $.cell: unknown key"},
      {"plan unknown series", "--plan plan-series.json",
       "plan-series.json: $.series[1]: no series named 'household-09'"},
      {"bad shard", "--shard 3/2", "--shard '3/2': expected i/n"},
      {"resume with a bad plan", "--resume abc --plan plan-type.json",
       "plan-type.json: $.seeds[0]: expected an integer, got string"},
      {"resume unknown run", "--resume no-such-run", "no-such-run"},
  };
  for (const BadInput& c : cases) {
    SCOPED_TRACE(c.what);
    const CommandResult r = train(dir, c.args + " --ledger bad.sqlite");
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << "stderr: " << r.err;
    EXPECT_EQ(r.err.find("wmtp-train: error:"), 0u) << r.err;
    EXPECT_EQ(r.out, "");
    if (std::string(c.what) != "resume unknown run") {
      EXPECT_FALSE(fs::exists(dir.file("bad.sqlite"))) << "no ledger for bad input";
    }
  }
}

// A plan of cell B0 x seed 42 over every series of the data, 5 epochs (what G5 needs).
std::string write_b0_plan(const TempDir& dir) {
  json plan = {{"name", "grid"}, {"cells", {{{"name", "B0"}, {"recipe", "B0"}, {"use_vq", false}}}}, {"seeds", {42}}};
  write_file(dir.file("plan.json"), plan.dump(2));
  return "--plan plan.json --epochs 5 --quiet";
}

CommandResult audit(const TempDir& dir, const std::string& args) {
  const std::string tool = shell_quote((fs::path(kTrain).parent_path() / "wmtp-audit").string());
  return run_command("cd " + shell_quote(dir.path()) + " && env -u MLFLOW_TRACKING_URI " + tool + " " + args);
}

std::vector<experiment::Series> ninety_days() {
  experiment::SyntheticOptions o;
  o.days = 90;
  return experiment::synthetic_households(o);
}

TEST(TrainCli, WideCsvWithBomIndexAndMwUnitsAuditsAgainstThePreregsUnits) {
  TempDir dir;
  const std::vector<experiment::Series> series = ninety_days();
  write_file(dir.file("grid.csv"), wmtp::testing::wide_csv(series, "", true));  // pandas index, Excel BOM
  experiment::write_csv(series, dir.file("long.csv"));
  json prereg = embedded_json("configs/prereg/smoke.json");
  prereg["g2"]["allowed_units"].push_back("MW");
  write_file(dir.file("mw-prereg.json"), prereg.dump(2));
  const std::string plan = write_b0_plan(dir);

  const CommandResult wide = train(dir, plan + " --data grid.csv --unit MW --experiment wide --prereg mw-prereg.json");
  ASSERT_EQ(wide.exit_code, 0) << wide.err;
  const CommandResult pass = audit(dir, "--experiment wide --prereg mw-prereg.json");
  EXPECT_EQ(pass.exit_code, 0) << pass.err;
  EXPECT_NE(pass.err.find("overall: ALL PASS (exit 0)"), std::string::npos) << pass.err;

  // The same MW data under the smoke pre-registration (kW, not MW): G2 fails, naming the unit.
  ASSERT_EQ(train(dir, plan + " --data grid.csv --unit MW --experiment smoke-units").exit_code, 0);
  const CommandResult fail = audit(dir, "--experiment smoke-units -o smoke-units.json");
  EXPECT_EQ(fail.exit_code, 1) << fail.err;
  const json verdict = read_json_file(dir.file("smoke-units.json"));
  EXPECT_NE(verdict.dump().find("data_unit 'MW' is not an allowed unit"), std::string::npos);
  for (const json& g : verdict.at("gates")) {
    EXPECT_EQ(g.at("status"), g.at("id") == "G2" ? "FAIL" : "PASS") << g.dump();
  }

  // The equivalent long CSV: the same series, data hashes and trained numbers.
  ASSERT_EQ(train(dir, plan + " --data long.csv --unit MW --experiment long --prereg mw-prereg.json").exit_code, 0);
  const RunSet wide_runs = wmtp::tracking::read_ledger_runs(dir.file("wmtp-ledger.sqlite"), "wide");
  const RunSet long_runs = wmtp::tracking::read_ledger_runs(dir.file("wmtp-ledger.sqlite"), "long");
  const auto long_by_name = by_name(long_runs);
  ASSERT_EQ(wide_runs.runs.size(), 2u);
  for (const RunRecord& w : wide_runs.runs) {
    SCOPED_TRACE(w.name);
    const RunRecord& l = *long_by_name.at(w.name);
    for (const char* p : {"train_data_hash", "val_data_hash", "test_data_hash", "data_unit",
                          "dlinear_output_scaler_space_signature", "recipe_hash", "gap_policy"}) {
      EXPECT_EQ(*w.param(p), *l.param(p)) << p;
    }
    EXPECT_EQ(*w.param("data_unit"), "MW");
    for (const char* m : {"test_pape", "test_hr", "test_mse", "val_mse", "ref_test_pape"}) {
      EXPECT_EQ(*w.last_metric(m), *l.last_metric(m)) << m;
    }
  }
}

TEST(TrainCli, GapsFailByDefaultAndDropWindowsTrainsAroundThem) {
  TempDir dir;
  std::vector<experiment::Series> series = ninety_days();
  // household-02 misses 3 hours on day 10 (empty cells of the wide CSV).
  series[1].time_s.erase(series[1].time_s.begin() + 240, series[1].time_s.begin() + 243);
  series[1].values.erase(series[1].values.begin() + 240, series[1].values.begin() + 243);
  write_file(dir.file("gaps.csv"), wmtp::testing::wide_csv(series, "Unnamed: 0"));
  const std::string plan = write_b0_plan(dir);

  const auto start = std::chrono::steady_clock::now();
  const CommandResult refused = train(dir, plan + " --data gaps.csv --ledger gaps.sqlite");
  // ~1 s idle (the startup golden check, before the data is read); the bound only catches a hang,
  // as the suite runs this beside ctest -j $(nproc) on a loaded machine.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(refused.exit_code, 2) << refused.err;
  EXPECT_NE(refused.err.find(
                dir.file("gaps.csv") +
                ":245: gap in series 'household-02': 3 missing point(s) between 2023-01-10T23:00:00Z "
                "(line 241) and 2023-01-11T03:00:00Z (spacing 1h; --gaps drop-windows trains around gaps)"),
            std::string::npos)
      << refused.err;
  EXPECT_FALSE(fs::exists(dir.file("gaps.sqlite")));

  const CommandResult trained = train(dir, plan + " --data gaps.csv --gaps drop-windows --experiment gaps");
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const RunSet set = wmtp::tracking::read_ledger_runs(dir.file("wmtp-ledger.sqlite"), "gaps");
  const auto runs = by_name(set);
  EXPECT_EQ(*runs.at("B0-household-02-s42")->param("gap_policy"), "drop-windows");
  EXPECT_EQ(*runs.at("B0-household-02-s42")->param("data_missing_points"), "3");
  EXPECT_EQ(*runs.at("B0-household-01-s42")->param("data_missing_points"), "0");
  const json source = json::parse(*runs.at("B0-household-02-s42")->param("data_source"));
  EXPECT_EQ(source.at("gaps"), "drop-windows");  // what --resume reloads the data with
  EXPECT_EQ(audit(dir, "--experiment gaps").exit_code, 0);
}

TEST(TrainCliInput, CudaWithoutCudaIsABadInput) {
  TempDir dir;
  const CommandResult r = train(dir, "--device cuda --epochs 5 --shard 1/18");
  if (cuda_available()) {
    EXPECT_EQ(r.exit_code, 0) << r.err;
  } else {
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--device cuda: this LibTorch build has no CUDA support or sees no GPU"), std::string::npos)
        << r.err;
  }
}

TEST(TrainCli, DeviceSpellingsAndMissingGpusAreBadInputs) {
  TempDir dir;
  for (const std::string bad : {"gpu", "cuda:", "cuda:x", "cuda0", "cuda:-1", "cuda:12345"}) {
    const CommandResult r = train(dir, "--device " + bad + " --epochs 5 --shard 1/18");
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.err;
    EXPECT_NE(r.err.find("--device"), std::string::npos) << bad << ": " << r.err;
  }
  // An index past the machine's GPUs: "no such GPU" with CUDA, "no CUDA support" without.
  const CommandResult missing = train(dir, "--device cuda:999 --epochs 5 --shard 1/18");
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
  const std::string expected = cuda_available() ? "--device cuda:999: no such GPU" : "--device cuda:999: this LibTorch";
  EXPECT_NE(missing.err.find(expected), std::string::npos) << missing.err;
  EXPECT_FALSE(fs::exists(dir.file("wmtp-ledger.sqlite")));  // refused before the ledger
}

// Starts wmtp-train in the background; returns its pid.
pid_t spawn_train(const TempDir& dir, const std::string& args) {
  const std::string command = "cd " + shell_quote(dir.path()) + " && exec " + shell_quote(kTrain) + " " + args + " >" +
                              shell_quote(dir.file("victim.out")) + " 2>&1";
  const pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

// The run of a ledger's experiment once it has a checkpoint artifact; nullopt before that.
std::optional<RunRecord> checkpointed_run(const std::string& ledger, const std::string& experiment) {
  try {
    RunSet set = wmtp::tracking::read_ledger_runs(ledger, experiment);
    if (set.runs.size() == 1 && !set.runs[0].artifacts_under("checkpoints/").empty()) return set.runs[0];
  } catch (const Error&) {
    // Not created yet.
  }
  return std::nullopt;
}

// Acceptance 4 with a real kill: SIGKILL wmtp-train at a random moment after its first
// checkpoint, then `wmtp-train --resume ID`: the final numbers equal an uninterrupted run's.
TEST(TrainCli, SigkilledRunResumesToTheSameNumbers) {
  TempDir dir;
  const std::string plan = write_one_run_plan(dir, 30);
  const CommandResult straight = train(dir, "--plan " + shell_quote(plan) + " --ledger straight.sqlite --quiet");
  ASSERT_EQ(straight.exit_code, 0) << straight.err;

  const pid_t pid = spawn_train(dir, "--plan " + shell_quote(plan) + " --ledger killed.sqlite");
  std::optional<RunRecord> run;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!(run = checkpointed_run(dir.file("killed.sqlite"), "kill-test")) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(run.has_value()) << "no checkpoint within 60 s: " << wmtp::testing::read_file(dir.file("victim.out"));
  std::mt19937 rng(std::random_device{}());
  const int delay_ms = std::uniform_int_distribution<int>(0, 400)(rng);
  std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the run ended before the kill (" << delay_ms
                                   << " ms after its first checkpoint)";
  const RunRecord killed = wmtp::tracking::read_ledger_runs(dir.file("killed.sqlite"), "kill-test").runs.at(0);
  ASSERT_EQ(killed.status, RunStatus::kRunning);
  SCOPED_TRACE("killed " + std::to_string(delay_ms) + " ms after the first checkpoint, at step ~" +
               std::to_string(killed.metrics.count("train_loss") ? killed.metrics.at("train_loss").size() : 0));

  const CommandResult resumed = train(dir, "--ledger killed.sqlite --resume " + killed.local_id);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.out.find("K-household-01-s7  FINISHED  run " + killed.local_id), std::string::npos) << resumed.out;
  EXPECT_NE(resumed.out.find("experiment: kill-test"), std::string::npos);

  const RunRecord want = wmtp::tracking::read_ledger_runs(dir.file("straight.sqlite"), "kill-test").runs.at(0);
  const RunRecord got = wmtp::tracking::read_ledger_runs(dir.file("killed.sqlite"), "kill-test").runs.at(0);
  EXPECT_EQ(got.status, RunStatus::kFinished);
  ASSERT_EQ(got.metrics.size(), want.metrics.size());
  for (const auto& [key, points] : want.metrics) {
    ASSERT_EQ(got.metrics.count(key), 1u) << key;
    EXPECT_TRUE(wmtp::testing::same_history(history(got, key), history(want, key))) << key;
  }
  for (const char* key : {"test_pape", "test_hr", "test_mse", "test_mae", "val_mse", "ref_test_pape"}) {
    EXPECT_EQ(*got.last_metric(key), *want.last_metric(key)) << key;
  }
  EXPECT_EQ(got.artifacts_under("figures/").size(), 2u);
}

TEST(TrainCliMlflow, MirrorsRunsToMlflow) {
  const std::string uri = wmtp::testing::test_tracking_uri();
  TempDir dir;
  const std::string experiment = "wmtp-train-cli-" + std::to_string(getpid()) + "-" +
                                 std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  const CommandResult r = train(dir, "--recipe B0 --epochs 5 --shard 1/3 --experiment " + experiment +
                                         " --tracking-uri " + shell_quote(uri));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("MLflow:     " + uri), std::string::npos) << r.out;
  const RunSet local = wmtp::tracking::read_ledger_runs(dir.file("wmtp-ledger.sqlite"), experiment);
  const RunSet remote = wmtp::tracking::read_mlflow_runs(wmtp::tracking::MlflowConfig::from_env(uri), experiment,
                                                         dir.file("cache"));
  ASSERT_EQ(local.runs.size(), 2u);  // B0 x 2 series x 3 seeds, every third run
  ASSERT_EQ(remote.runs.size(), 2u);
  const auto mine = by_name(local);
  for (const RunRecord& run : remote.runs) {
    SCOPED_TRACE(run.name);
    const RunRecord& twin = *mine.at(run.name);
    EXPECT_EQ(run.local_id, twin.local_id);
    EXPECT_EQ(run.params, twin.params);
    EXPECT_EQ(history(run, "train_loss"), history(twin, "train_loss"));
    EXPECT_EQ(*run.last_metric("test_pape"), *twin.last_metric("test_pape"));
    EXPECT_EQ(run.artifacts_under("figures/").size(), 2u);
  }
}

// The schemas are real JSON Schema: Python's jsonschema agrees with wmtp-train about what is valid.
TEST(Schemas, ShippedConfigsValidateWithJsonschema) {
  TempDir dir;
  json bad = embedded_json("configs/recipes/B0.json");
  bad["optimizer"]["lr"] = "fast";
  write_file(dir.file("bad-recipe.json"), bad.dump());
  const std::string root = wmtp::testing::source_dir();
  const std::string script =
      "import glob, json, sys, jsonschema\n"
      "root = sys.argv[1]\n"
      "def check(schema, pattern):\n"
      "    v = jsonschema.Draft202012Validator(json.load(open(root + '/schemas/' + schema)))\n"
      "    v.check_schema(v.schema)\n"
      "    files = sorted(glob.glob(root + '/configs/' + pattern))\n"
      "    assert files, pattern\n"
      "    for f in files:\n"
      "        v.validate(json.load(open(f)))\n"
      "        print('valid', f.split('/')[-1])\n"
      "    return v\n"
      "recipes = check('recipe.schema.json', 'recipes/*.json')\n"
      "check('plan.schema.json', 'plans/*.json')\n"
      "errors = list(recipes.iter_errors(json.load(open(sys.argv[2]))))\n"
      "print('bad recipe errors:', [e.json_path for e in errors])\n";
  write_file(dir.file("check.py"), script);
  const CommandResult r = run_command(shell_quote(wmtp::testing::test_python()) + " " +
                                      shell_quote(dir.file("check.py")) + " " + shell_quote(root) + " " +
                                      shell_quote(dir.file("bad-recipe.json")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* f : {"valid A3.json", "valid B0.json", "valid B1.json", "valid B2.json", "valid smoke.json"}) {
    EXPECT_NE(r.out.find(f), std::string::npos) << r.out;
  }
  EXPECT_NE(r.out.find("bad recipe errors: ['$.optimizer.lr']"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace wmtp::trainer
