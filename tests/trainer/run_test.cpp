#include "trainer/run.h"

#include <gtest/gtest.h>

#include "experiment/plan.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <set>

#include "core/canonical_json.h"
#include "core/golden.h"
#include "core/metrics.h"
#include "core/npy.h"
#include "experiment/replay.h"
#include "experiment/run_signature.h"
#include "experiment/seal.h"
#include "experiment/synthetic.h"
#include "memory_store.h"
#include "support/expect_input_error.h"
#include "support/test_support.h"
#include "trainer/prediction_replay.h"

namespace wmtp::trainer {
namespace {

using experiment::load_recipe;
using experiment::SyntheticOptions;

using wmtp::testing::expect_input_error;
using wmtp::testing::MemoryStore;

struct RecordedFigure {
  std::string title;
  PngTextChunks text;
  std::string path;
};

// Writes the plot's title as the "figure" and remembers what it was asked.
struct RecordingWriter {
  std::vector<RecordedFigure> figures;
  FigureWriter writer() {
    return [this](const PlotData& plot, const PngTextChunks& text, const std::string& path) {
      std::ofstream(path) << plot.title;
      figures.push_back({plot.title, text, path});
    };
  }
};

experiment::RunRequest request(const std::string& recipe, const std::string& series = "household-01",
                               std::uint64_t seed = 42, int epochs = 5) {
  static const std::vector<experiment::Series> all = experiment::synthetic_households(SyntheticOptions{});
  experiment::RunRequest r;
  r.experiment = "wmtp-test";
  r.cell = recipe;
  r.recipe = load_recipe(recipe);
  r.recipe.training.epochs = epochs;
  r.recipe.training.checkpoint_every = 200;
  r.run_name = recipe + "-" + series + "-s" + std::to_string(seed);
  r.plan_hash = "0123456789abcdef";
  r.prereg_hash = "fedcba9876543210";
  r.series = experiment::find_series(all, series, "test");
  r.seed = seed;
  return r;
}

// The steps of a metric's points, sorted.
std::vector<std::int64_t> steps_of(const RunRecord& rec, const std::string& key) {
  std::vector<std::int64_t> steps;
  for (const MetricPoint& p : rec.metrics.at(key)) steps.push_back(p.step);
  std::sort(steps.begin(), steps.end());
  return steps;
}

std::vector<std::int64_t> one_to(std::int64_t n) {
  std::vector<std::int64_t> v;
  for (std::int64_t i = 1; i <= n; ++i) v.push_back(i);
  return v;
}

bool is_hex16(const std::string& s) {
  return s.size() == 16 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

TEST(Run, LogsTheRunContract) {
  wmtp::testing::TempDir dir;
  MemoryStore store(dir.file("artifacts"));
  RecordingWriter figures;
  RunOptions options;
  options.figure_writer = figures.writer();
  const experiment::RunRequest req = request("A3");
  const RunOutcome out = train_run(store, req, options);
  ASSERT_EQ(out.status, RunStatus::kFinished);
  const RunRecord& rec = store.runs().at(out.local_run_id);
  EXPECT_EQ(rec.status, RunStatus::kFinished);
  EXPECT_EQ(rec.name, "A3-household-01-s42");
  EXPECT_EQ(rec.experiment, "wmtp-test");

  const experiment::SeriesData data = experiment::SeriesData::prepare(req.series);
  const std::map<std::string, std::string> expected = {{"cell", "A3"},
                                                       {"series", "household-01"},
                                                       {"seed", "42"},
                                                       {"model", "dlinear-vq"},
                                                       {"weighting", "peak-excess"},
                                                       {"use_vq", "true"},
                                                       {"pape_definition_hash", pape_definition_hash()},
                                                       {"prereg_hash", "fedcba9876543210"},
                                                       {"recipe_hash", req.recipe.hash},
                                                       {"plan_hash", "0123456789abcdef"},
                                                       {"dlinear_output_unit", "standardized"},
                                                       {"dlinear_output_scaler_space_signature",
                                                        data.scaler.signature()},
                                                       {"vq_input_unit", "standardized"},
                                                       {"vq_scaler_space_signature", data.scaler.signature()},
                                                       {"train_data_hash", data.train_hash},
                                                       {"val_data_hash", data.val_hash},
                                                       {"test_data_hash", data.test_hash},
                                                       {"golden_tensor_check",
                                                        check_golden(embedded_golden()).pass ? "pass" : "fail"},
                                                       {"epochs", "5"},
                                                       {"batch_size", "32"},
                                                       {"lr", "0.001"},
                                                       {"seq_len", "168"},
                                                       {"pred_len", "24"},
                                                       {"seasonal_period", "24"}};
  for (const auto& [key, value] : expected) {
    ASSERT_NE(rec.param(key), nullptr) << key;
    EXPECT_EQ(*rec.param(key), value) << key;
  }
  EXPECT_EQ(*rec.param("golden_tensor_check"), "pass");
  for (const char* key :
       {"pape_definition_hash", "recipe_hash", "train_data_hash", "dlinear_output_scaler_space_signature"}) {
    EXPECT_TRUE(is_hex16(*rec.param(key))) << key;
  }

  const std::int64_t steps = out.steps;
  EXPECT_EQ(steps, 5 * (5941 / 32));
  EXPECT_EQ(steps_of(rec, "train_loss"), one_to(steps));
  EXPECT_EQ(steps_of(rec, "val_loss"), one_to(5));
  EXPECT_EQ(steps_of(rec, "train_loss_epoch"), one_to(5));
  double first_epoch = 0.0;  // the mean of the epoch's step losses
  for (const MetricPoint& p : rec.metrics.at("train_loss")) first_epoch += p.step <= steps / 5 ? p.value : 0.0;
  EXPECT_NEAR(rec.metrics.at("train_loss_epoch").front().value, first_epoch / static_cast<double>(steps / 5), 1e-9);
  EXPECT_EQ(*rec.param("pape_definition_hash_payload"), canonical_json(pape_definition_payload()));
  EXPECT_EQ(*rec.last_metric("golden_g1_pape"), 20.0);  // the frozen cases as this build computes them
  EXPECT_EQ(*rec.last_metric("golden_g1_hr"), 1.0);
  EXPECT_TRUE(std::isnan(*rec.last_metric("golden_g2_pape")));
  EXPECT_EQ(steps_of(rec, "codebook_util"), one_to(5));
  EXPECT_EQ(steps_of(rec, "codebook_perplexity"), one_to(5));
  for (const std::string& key : final_metric_names()) {
    ASSERT_EQ(rec.metrics.count(key), 1u) << key;
    EXPECT_EQ(rec.metrics.at(key).size(), 1u) << key;
    EXPECT_EQ(*rec.last_metric(key), out.final_metrics.at(key)) << key;
  }
  EXPECT_EQ(*rec.last_metric("nan_step_count"), 0.0);
  EXPECT_EQ(*rec.last_metric("n_nan_predictions"), 0.0);
  EXPECT_LT(*rec.last_metric("test_mse"), *rec.last_metric("ref_test_mse"));

  std::set<std::string> artifacts;
  for (const ArtifactRef& a : rec.artifacts) artifacts.insert(a.path);
  EXPECT_EQ(artifacts, (std::set<std::string>{"config/recipe.json", "config/plan.json", "checkpoints/step-00000200.pt",
                                              "checkpoints/step-00000400.pt", "checkpoints/step-00000600.pt",
                                              "checkpoints/step-00000800.pt", "checkpoints/step-00000925.pt",
                                              "figures/loss_curves.png", "figures/forecast.png", "predictions/test.npy",
                                              "predictions/val.npy", "wmtp/datasets.json", "wmtp/seal.json"}));
  // The logged val/test metrics follow, to the last bit, from the predictions artifacts and the data.
  std::map<std::string, NpyArray> predictions;
  for (const ArtifactRef& a : rec.artifacts) {
    if (a.path.rfind("predictions/", 0) == 0) predictions[a.path] = read_npy_array(a.local_path);
  }
  const experiment::WindowIndex index = experiment::window_index(data, 168, 24);
  EXPECT_EQ(predictions.at("predictions/test.npy").shape, (std::vector<std::size_t>{index.test_starts.size(), 24}));
  EXPECT_EQ(predictions.at("predictions/val.npy").shape, (std::vector<std::size_t>{index.val_starts.size(), 24}));
  const experiment::RunReplay replay = experiment::replay_run(data, req.recipe, predictions.at("predictions/test.npy"),
                                                              predictions.at("predictions/val.npy"));
  EXPECT_TRUE(replay.problems.empty());
  EXPECT_EQ(replay.metrics.size(), 8u);
  for (const auto& [key, value] : replay.metrics) EXPECT_EQ(*rec.last_metric(key), value) << key;
  for (const auto& [key, value] : replay.params) EXPECT_EQ(*rec.param(key), value) << key;
  ASSERT_EQ(figures.figures.size(), 2u);
  for (const RecordedFigure& f : figures.figures) {
    const std::map<std::string, std::string> text(f.text.begin(), f.text.end());
    EXPECT_EQ(text.at("wmtp.run_id"), out.local_run_id);
    EXPECT_EQ(text.at("wmtp.experiment"), "wmtp-test");
    EXPECT_EQ(text.at("wmtp.pape_definition_hash"), pape_definition_hash());
    EXPECT_EQ(text.at("wmtp.train_data_hash"), data.train_hash);
  }
  EXPECT_EQ(out.figures.loss_curves.lines[0].y.size(), static_cast<std::size_t>(steps));
  EXPECT_EQ(out.figures.forecast.lines[0].y.size(), 168u);
  EXPECT_FALSE(out.figures.forecast.lines[3].x.empty());  // peaks marked
  EXPECT_TRUE(out.figures.forecast.lines[3].markers_only);
}

TEST(Run, DeclaredUnitGapPolicyAndTheDataStepReachTheRun) {
  wmtp::testing::TempDir dir;
  MemoryStore store(dir.file("artifacts"));
  RunOptions options;
  RecordingWriter figures;
  options.figure_writer = figures.writer();
  experiment::RunRequest req = request("B0", "household-01", 42, 1);
  // household-01 as 15-minute data in MW, with 3 points missing in its train split.
  experiment::Series& s = req.series;
  for (std::size_t i = 0; i < s.time_s.size(); ++i) s.time_s[i] = s.time_s[0] + static_cast<std::int64_t>(i) * 900;
  s.spacing_s = 900;
  s.time_s.erase(s.time_s.begin() + 1000, s.time_s.begin() + 1003);
  s.values.erase(s.values.begin() + 1000, s.values.begin() + 1003);
  s.missing_points = 3;
  s.unit = "MW";
  req.data.kind = "csv";
  req.data.csv_path = dir.file("grid.csv");
  req.data.unit = "MW";
  req.data.gaps = "drop-windows";
  const RunOutcome out = train_run(store, req, options);
  ASSERT_EQ(out.status, RunStatus::kFinished);
  const RunRecord& rec = store.runs().at(out.local_run_id);
  EXPECT_EQ(*rec.param("data_unit"), "MW");
  EXPECT_EQ(*rec.param("gap_policy"), "drop-windows");
  EXPECT_EQ(*rec.param("data_missing_points"), "3");
  EXPECT_EQ(*rec.param("seasonal_period"), "96");  // one day of 15-minute steps
  EXPECT_EQ(out.figures.forecast.x_label.rfind("steps (15min) from ", 0), 0u) << out.figures.forecast.x_label;
  EXPECT_EQ(out.figures.forecast.y_label, "MW");

  const RunOutcome hourly = train_run(store, request("B0", "household-01", 42, 1), options);
  const RunRecord& hourly_rec = store.runs().at(hourly.local_run_id);
  EXPECT_EQ(*hourly_rec.param("gap_policy"), "fail");
  EXPECT_EQ(hourly_rec.param("data_missing_points"), nullptr);
  EXPECT_EQ(*hourly_rec.param("data_unit"), "kW");
  EXPECT_EQ(hourly.figures.forecast.x_label.rfind("hours from ", 0), 0u) << hourly.figures.forecast.x_label;
}

TEST(Run, EveryCellSeesTheSameDataHashes) {
  wmtp::testing::TempDir dir;
  MemoryStore store(dir.file("artifacts"));
  std::map<std::string, std::string> first;
  for (const char* cell : {"B0", "B1", "B2", "A3"}) {
    const RunOutcome out = train_run(store, request(cell, "household-02", 43, 1), {});
    const RunRecord& rec = store.runs().at(out.local_run_id);
    for (const char* key :
         {"train_data_hash", "val_data_hash", "test_data_hash", "dlinear_output_scaler_space_signature"}) {
      auto [it, inserted] = first.emplace(key, *rec.param(key));
      EXPECT_EQ(*rec.param(key), it->second) << cell << " " << key;
    }
  }
}

// Acceptance 4 through the run store: a run stopped after step k (no finish, and the store lost
// the last points as a kill may) and resumed ends with the uninterrupted run's numbers, each
// metric point logged once.
TEST(Run, ResumedRunEqualsUninterruptedRun) {
  for (const char* cell : {"B2", "A3"}) {
    SCOPED_TRACE(cell);
    wmtp::testing::TempDir dir;
    MemoryStore straight(dir.file("a"));
    const RunOutcome full = train_run(straight, request(cell, "household-01", 43, 3), {});
    const RunRecord& want = straight.runs().at(full.local_run_id);

    MemoryStore store(dir.file("b"));
    RunOptions stop;
    stop.stop_after_step = 437;
    const RunOutcome cut = train_run(store, request(cell, "household-01", 43, 3), stop);
    ASSERT_TRUE(cut.interrupted);
    RunRecord& partial = store.runs().at(cut.local_run_id);
    EXPECT_EQ(partial.status, RunStatus::kRunning);  // never finished
    EXPECT_EQ(partial.metrics.at("train_loss").size(), 437u);
    // Points the store lost: some before the last checkpoint (step 400), some after it. The
    // checkpoint brings back 391..400, training again brings back 421..437 and skips 401..420.
    auto& losses = partial.metrics.at("train_loss");
    losses.erase(std::remove_if(losses.begin(), losses.end(),
                                [](const MetricPoint& p) { return (p.step > 390 && p.step <= 400) || p.step > 420; }),
                 losses.end());

    const RunOutcome resumed = resume_run(store, cut.local_run_id, {});
    EXPECT_EQ(resumed.status, RunStatus::kFinished);
    const RunRecord& got = store.runs().at(cut.local_run_id);
    EXPECT_EQ(got.status, RunStatus::kFinished);
    EXPECT_EQ(steps_of(got, "train_loss"), steps_of(want, "train_loss"));
    for (const auto& [key, points] : want.metrics) {
      ASSERT_EQ(got.metrics.count(key), 1u) << key;
      std::map<std::int64_t, double> a, b;
      for (const MetricPoint& p : points) a[p.step] = p.value;
      for (const MetricPoint& p : got.metrics.at(key))
        EXPECT_TRUE(b.emplace(p.step, p.value).second) << key << " step " << p.step << " logged twice";
      EXPECT_TRUE(wmtp::testing::same_history(b, a)) << key;
    }
    EXPECT_EQ(resumed.final_metrics, full.final_metrics);
  }
}

TEST(Run, ResumeRefusesFinishedRunsAndChangedData) {
  wmtp::testing::TempDir dir;
  MemoryStore store(dir.file("artifacts"));
  const RunOutcome done = train_run(store, request("B0", "household-01", 42, 1), {});
  expect_input_error([&] { resume_run(store, done.local_run_id, {}); }, {"already finished"});

  // A CSV run whose file changes between the kill and the resume.
  SyntheticOptions o;
  o.days = 120;
  experiment::write_csv({experiment::synthetic_household(o, 1)}, dir.file("data.csv"));
  experiment::RunRequest r = request("B0", "household-01", 42, 2);
  r.data.kind = "csv";
  r.data.csv_path = dir.file("data.csv");
  r.series = experiment::load_csv(dir.file("data.csv"))[0];
  RunOptions stop;
  stop.stop_after_step = 5;
  const RunOutcome cut = train_run(store, r, stop);
  std::vector<experiment::Series> edited = experiment::load_csv(dir.file("data.csv"));
  edited[0].values[10] += 1.0;
  experiment::write_csv(edited, dir.file("data.csv"));
  expect_input_error([&] { resume_run(store, cut.local_run_id, {}); },
                     {"changed since the run started", "train_data_hash"});
  expect_input_error([&] { resume_run(store, "no-such-run", {}); }, {"no run no-such-run"});
}

TEST(Run, NonFiniteLossFailsTheRunWithCounts) {
  wmtp::testing::TempDir dir;
  MemoryStore store(dir.file("artifacts"));
  experiment::RunRequest r = request("B0", "household-01", 42, 2);
  r.recipe.optimizer.lr = 1e30;
  const RunOutcome out = train_run(store, r, {});
  EXPECT_EQ(out.status, RunStatus::kFailed);
  const RunRecord& rec = store.runs().at(out.local_run_id);
  EXPECT_EQ(rec.status, RunStatus::kFailed);
  EXPECT_EQ(*rec.last_metric("nan_step_count"), 1.0);
  EXPECT_GT(*rec.last_metric("n_nan_predictions"), 0.0);
  EXPECT_FALSE(rec.artifacts_under("checkpoints/").empty());
}

TEST(Run, SeasonalNaiveRunLogsResultsWithoutTraining) {
  wmtp::testing::TempDir dir;
  MemoryStore store(dir.file("artifacts"));
  RecordingWriter figures;
  RunOptions options;
  options.figure_writer = figures.writer();
  experiment::RunRequest r = request("B0");
  r.recipe.model.kind = "seasonal-naive";
  const RunOutcome out = train_run(store, r, options);
  const RunRecord& rec = store.runs().at(out.local_run_id);
  EXPECT_EQ(rec.status, RunStatus::kFinished);
  EXPECT_EQ(rec.metrics.count("train_loss"), 0u);
  // The same forecast, through the float32 standardized space vs straight from the raw values.
  EXPECT_NEAR(*rec.last_metric("test_pape"), *rec.last_metric("ref_test_pape"),
              1e-6 * *rec.last_metric("ref_test_pape"));
  EXPECT_EQ(rec.artifacts_under("checkpoints/").size(), 1u);
  ASSERT_EQ(figures.figures.size(), 1u);  // no losses to draw: the forecast only
}

// wmtp-train --replay's engine: each finished run's checkpoint gives back its logged forecasts bit
// for bit; a nudged forecast or another run's checkpoint differs; what cannot be replayed says why.
TEST(Run, ReplayRecomputesTheLoggedPredictionsFromTheFinalCheckpoint) {
  wmtp::testing::TempDir dir;
  MemoryStore store(dir.file("artifacts"));
  experiment::RunRequest naive = request("B0", "household-01", 42, 1);
  naive.recipe.model.kind = "seasonal-naive";
  naive.run_name = "naive";
  RunOptions stop;
  stop.stop_after_step = 3;
  const std::vector<std::string> ids = {train_run(store, request("B0", "household-01", 42, 1), {}).local_run_id,
                                        train_run(store, request("A3", "household-01", 43, 1), {}).local_run_id,
                                        train_run(store, naive, {}).local_run_id,
                                        train_run(store, request("B0", "household-01", 43, 1), stop).local_run_id};
  const auto replay = [&] {
    RunSet runs;
    for (const std::string& id : ids) runs.runs.push_back(store.runs().at(id));
    return replay_predictions(runs, "cpu");
  };
  std::vector<PredictionReplay> out = replay();
  ASSERT_EQ(out.size(), 4u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(out[i].result, PredictionReplay::Result::kMatch) << replay_line(out[i]);
    EXPECT_GT(out[i].values, 0u);
    EXPECT_EQ(out[i].exact, out[i].values) << replay_line(out[i]);
  }
  EXPECT_EQ(replay_line(out[3]), "not replayed  " + store.runs().at(ids[3]).name + ": status RUNNING, not FINISHED");

  const auto file_of = [&](const std::string& id, const std::function<bool(const std::string&)>& pick) {
    for (const ArtifactRef& a : store.runs().at(id).artifacts) {
      if (pick(a.path)) return a.local_path;
    }
    return std::string();
  };
  const auto final_checkpoint = [](const std::string& path) { return path.rfind("checkpoints/", 0) == 0; };
  NpyArray val = read_npy_array(file_of(ids[1], [](const std::string& p) { return p == "predictions/val.npy"; }));
  val.values[5] *= 1.001;
  write_npy(file_of(ids[1], [](const std::string& p) { return p == "predictions/val.npy"; }), val.values, val.shape);
  wmtp::testing::write_file(file_of(ids[0], final_checkpoint),
                            wmtp::testing::read_file(file_of(ids[2], final_checkpoint)));
  out = replay();
  EXPECT_EQ(out[0].result, PredictionReplay::Result::kDiffers);
  EXPECT_NE(out[0].detail.find("the checkpoint is not this run's: "), std::string::npos) << out[0].detail;
  EXPECT_EQ(out[1].result, PredictionReplay::Result::kDiffers);
  EXPECT_NE(out[1].detail.find("predictions/val.npy: 1 of "), std::string::npos) << out[1].detail;
  EXPECT_NE(out[1].detail.find("(first at window 0, horizon 5: logged "), std::string::npos) << out[1].detail;

  // Another producer's checkpoint (no identity record, not logged by wmtp-train): not replayed.
  wmtp::testing::write_file(file_of(ids[2], final_checkpoint), "a torch.save pickle");
  out = replay();
  EXPECT_EQ(out[2].result, PredictionReplay::Result::kNotReplayed);
  EXPECT_NE(out[2].detail.find("is another producer's (no wmtp identity record)"), std::string::npos) << out[2].detail;
}

// With a signing key the finished run carries wmtp/run.sig over every artifact, seal included.
TEST(Run, ASigningKeySignsTheSealedRun) {
  wmtp::testing::TempDir dir;
  MemoryStore store(dir.file("artifacts"));
  RunOptions options;
  options.signing_key = std::make_shared<const EcdsaPrivateKey>(EcdsaPrivateKey::generate("P-256"));
  experiment::RunRequest r = request("B0");
  r.recipe.model.kind = "seasonal-naive";
  const RunOutcome out = train_run(store, r, options);
  const RunRecord& rec = store.runs().at(out.local_run_id);
  EXPECT_EQ(rec.tags.at("wmtp.signer"), options.signing_key->public_key().fingerprint());
  std::string bundle;
  for (const ArtifactRef& a : rec.artifacts) {
    if (a.path == "wmtp/run.sig") bundle = wmtp::testing::read_file(a.local_path);
  }
  const experiment::ModelSignatureCheck check = experiment::verify_run(bundle, rec,
                                                                       {options.signing_key->public_key()});
  EXPECT_TRUE(check.ok()) << check.message;
  EXPECT_EQ(check.manifest.files.size(), rec.artifacts.size() - 1);
  for (const ArtifactRef& a : rec.artifacts) {
    if (a.path == "wmtp/seal.json") {
      const auto seal = experiment::Seal::from_json(nlohmann::json::parse(wmtp::testing::read_file(a.local_path)),
                                                    "seal");
      EXPECT_TRUE(experiment::compare_with_seal(rec, seal).empty());
    }
  }
}

}  // namespace
}  // namespace wmtp::trainer
