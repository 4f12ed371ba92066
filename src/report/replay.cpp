#include "report/replay.h"

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <utility>

#include "core/errors.h"
#include "core/json_field.h"
#include "core/npy.h"
#include "experiment/dataset.h"
#include "experiment/replay.h"
#include "experiment/run_contract.h"
#include "experiment/synthetic.h"

namespace wmtp::report {
namespace {

namespace fs = std::filesystem;
namespace param = contract::param;
namespace artifact = contract::artifact;

// Why a run cannot be replayed; thrown inside one run's replay only.
struct NotReplayable {
  std::string reason;
};

// Data specs read once, series prepared once, across the runs of one audit.
class DataCache {
 public:
  explicit DataCache(std::string data_root) : data_root_(std::move(data_root)) {}

  const experiment::SeriesData& series(experiment::DataSpec spec, const std::string& name) {
    relocate(spec);
    const std::string key = spec.to_json().dump();
    auto loaded = loaded_.find(key);
    if (loaded == loaded_.end()) loaded = loaded_.emplace(key, load(spec)).first;
    if (!loaded->second.error.empty()) throw NotReplayable{loaded->second.error};
    auto prepared = prepared_.find({key, name});
    if (prepared == prepared_.end()) {
      try {
        const std::string where = "the run's data";  // named: GCC 13 takes a temporary here for a dangling one
        const experiment::Series& s = experiment::find_series(loaded->second.series, name, where);
        prepared = prepared_.emplace(std::make_pair(key, name), experiment::SeriesData::prepare(s)).first;
      } catch (const InputError& e) {
        throw NotReplayable{e.what()};
      }
    }
    return prepared->second;
  }

 private:
  struct Loaded {
    std::vector<experiment::Series> series;
    std::string error;
  };

  void relocate(experiment::DataSpec& spec) const {
    if (spec.kind != "csv" || data_root_.empty()) return;
    spec.csv_path = (fs::path(data_root_) / fs::path(spec.csv_path).filename()).string();
  }

  static Loaded load(const experiment::DataSpec& spec) {
    Loaded out;
    std::error_code ec;
    if (spec.kind == "csv" && !fs::is_regular_file(spec.csv_path, ec)) {
      out.error = "data file " + spec.csv_path + " is not reachable (--data-root DIR relocates it by file name)";
      return out;
    }
    try {
      out.series = experiment::load_data(spec);
    } catch (const InputError& e) {
      out.error = e.what();
    }
    return out;
  }

  std::string data_root_;
  std::map<std::string, Loaded> loaded_;
  std::map<std::pair<std::string, std::string>, experiment::SeriesData> prepared_;
};

const std::string& required_param(const RunRecord& run, const char* key) {
  const std::string* value = run.param(key);
  if (value == nullptr) throw NotReplayable{"no param " + std::string(key)};
  return *value;
}

experiment::DataSpec data_spec(const RunRecord& run, const gates::AuditInputs& in) {
  if (const std::string* text = run.param(param::kDataSource)) {
    try {
      const std::string origin = "param " + std::string(param::kDataSource);
      return experiment::DataSpec::from_json(parse_json_text(*text, origin), origin);
    } catch (const InputError& e) {
      throw NotReplayable{e.what()};
    }
  }
  if (in.plan) return in.plan->data;
  throw NotReplayable{"no param " + std::string(param::kDataSource) + " and no plan to take the data from"};
}

// The run's recipe in points: its config/recipe.json, else its cell's recipe in the plan.
experiment::Recipe recipe_of(const RunRecord& run, const gates::AuditInputs& in, const experiment::Series& series) {
  try {
    const auto text = in.recipe_texts.find(run.local_id);
    if (text != in.recipe_texts.end()) {
      const std::string origin = std::string(artifact::kRecipe);
      return experiment::recipe_for(experiment::parse_recipe(parse_json_text(text->second, origin), origin), series);
    }
    const experiment::Cell* cell = in.plan ? in.plan->find_cell(param_or_empty(run.params, param::kCell)) : nullptr;
    if (cell != nullptr) return experiment::recipe_for(cell->recipe, series);
  } catch (const InputError& e) {
    throw NotReplayable{e.what()};
  }
  throw NotReplayable{"no " + std::string(artifact::kRecipe) + " and no planned cell to take the windows from"};
}

NpyArray predictions(const RunRecord& run, const char* path) {
  for (const ArtifactRef& a : run.artifacts) {
    if (a.path != path) continue;
    if (a.local_path.empty()) throw NotReplayable{std::string(path) + " could not be fetched"};
    try {
      return read_npy_array(a.local_path);
    } catch (const InputError& e) {
      throw NotReplayable{std::string(path) + ": " + e.what()};
    }
  }
  throw NotReplayable{"no " + std::string(path) + " artifact"};
}

experiment::RunReplay replay_one(const RunRecord& run, const gates::AuditInputs& in, DataCache& cache) {
  const NpyArray test = predictions(run, artifact::kPredictionsTest);
  const NpyArray val = predictions(run, artifact::kPredictionsVal);
  const experiment::SeriesData& data = cache.series(data_spec(run, in), required_param(run, param::kSeries));
  const experiment::Recipe recipe = recipe_of(run, in, data.series);
  try {
    return experiment::replay_run(data, recipe, test, val);
  } catch (const InputError& e) {
    throw NotReplayable{e.what()};
  }
}

}  // namespace

void replay_runs(const RunSet& runs, const std::string& data_root, gates::AuditInputs& inputs) {
  inputs.replay_on = true;
  DataCache cache(data_root);
  for (const RunRecord& run : runs.runs) {
    if (run.local_id.empty()) {  // the gates find a replay by local id
      inputs.not_replayed.push_back({"", run.name, "no tag " + std::string(contract::tag::kLocalRunId)});
      continue;
    }
    try {
      inputs.replays[run.local_id] = replay_one(run, inputs, cache);
    } catch (const NotReplayable& e) {
      inputs.not_replayed.push_back({run.local_id, run.name.empty() ? run.local_id : run.name, e.reason});
    }
  }
}

}  // namespace wmtp::report
