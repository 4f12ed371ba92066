// The `wmtp._wmtp` extension: the C++ libraries without LibTorch (core, experiment, tracking) as
// Python sees them. One implementation of hashes, metrics, canonical JSON, the contract and the
// seal; the `wmtp` package (python/wmtp/) builds its run context on these functions.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/unique_ptr.h>
#include <nanobind/stl/vector.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/canonical_json.h"
#include "core/errors.h"
#include "core/golden.h"
#include "core/jcs.h"
#include "core/metrics.h"
#include "core/run_logger.h"
#include "core/version.h"
#include "experiment/dataset.h"
#include "experiment/plan.h"
#include "experiment/plan_contract.h"
#include "experiment/preregistration.h"
#include "experiment/run_request.h"
#include "experiment/sealing.h"
#include "experiment/shard.h"
#include "experiment/synthetic.h"
#include "tracking/tracker.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace {

namespace ex = wmtp::experiment;

// Any C-contiguous float64 array on the CPU, read in place through the buffer protocol.
using Values = nb::ndarray<const double, nb::c_contig, nb::device::cpu>;
using Values1d = nb::ndarray<const double, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

std::vector<double> to_vector(const Values& a) { return {a.data(), a.data() + a.size()}; }

// A new NumPy array of a's shape holding f(x) for every x of a.
template <typename F>
nb::ndarray<nb::numpy, double> map_values(const Values& a, F f) {
  auto* out = new double[a.size()];
  for (std::size_t i = 0; i < a.size(); ++i) out[i] = f(a.data()[i]);
  nb::capsule owner(out, [](void* p) noexcept { delete[] static_cast<double*>(p); });
  std::vector<std::size_t> shape(a.ndim());
  for (std::size_t d = 0; d < a.ndim(); ++d) shape[d] = a.shape(d);
  return nb::ndarray<nb::numpy, double>(out, a.ndim(), shape.data(), owner);
}

void check_pair(const Values& y, const Values& yhat) {
  if (y.size() != yhat.size()) {
    throw wmtp::InputError("y has " + std::to_string(y.size()) + " values and yhat " + std::to_string(yhat.size()) +
                           ": expected arrays of the same size");
  }
}

nlohmann::json parse_json(const std::string& text, const std::string& label) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw wmtp::InputError(label + ": not JSON (" + e.what() + ")");
  }
}

nb::dict golden_dict(const wmtp::GoldenCheck& g) {
  nb::list cases;
  for (const wmtp::GoldenCase& c : g.cases) {
    nb::dict d;
    d["id"] = c.id;
    d["expected_pape"] = c.expected_pape;
    d["expected_hr"] = c.expected_hr;
    d["pape"] = c.pape;
    d["hr"] = c.hr;
    d["passed"] = c.pass;
    cases.append(d);
  }
  nb::dict out;
  out["passed"] = g.pass;
  out["atol"] = g.atol;
  out["summary"] = g.summary();
  out["cases"] = cases;
  return out;
}

// The contract of a plan's runs: contract_document, each run with its datasets (wmtp/datasets.json)
// and the plan's data kind, and what the plan's parent run holds.
std::string plan_contract(const std::string& ref, const std::string& shard, const std::string& prereg_json,
                          const std::string& prereg_origin, const std::string& experiment) {
  const ex::Preregistration prereg = prereg_json.empty()
                                         ? ex::embedded_preregistration()
                                         : ex::parse_preregistration(parse_json(prereg_json, prereg_origin),
                                                                     prereg_origin);
  const ex::PlanRuns runs = ex::planned_runs(ref, prereg, shard, experiment);
  const ex::Plan plan = ex::load_plan(ref);
  nlohmann::json doc = ex::contract_document(runs, shard);
  for (std::size_t i = 0; i < runs.runs.size(); ++i) {
    const ex::RunRequest& r = runs.runs[i];
    doc["runs"][i]["datasets"] = ex::dataset_inputs(r, ex::SeriesData::prepare(r.series));
    doc["runs"][i]["data_kind"] = r.data.kind;
    doc["runs"][i]["data_unit"] = r.series.unit;
  }
  doc["data"] = plan.data.to_json();
  doc["plan_description"] = runs.plan_description;
  doc["recipes"] = runs.recipes;
  doc["trained_plan"] = runs.trained_plan;
  return doc.dump();
}

const ex::Series& plan_series_of(const std::string& ref, const std::string& name, std::vector<ex::Series>* all) {
  const ex::Plan plan = ex::load_plan(ref);
  *all = ex::load_data(plan.data);
  return ex::find_series(*all, name, plan.label);
}

}  // namespace

NB_MODULE(_wmtp, m) {
  m.doc() = "wmtp's C++ core, experiment and tracking libraries (no LibTorch); use the `wmtp` package.";
  m.attr("__version__") = WMTP_VERSION;

  // Error first: the translators registered later (its subclasses) are tried first.
  static nb::exception<wmtp::Error> error(m, "Error", PyExc_RuntimeError);
  static nb::exception<wmtp::InputError> input_error(m, "InputError", PyExc_ValueError);
  static nb::exception<wmtp::UnreachableError> unreachable(m, "UnreachableError", PyExc_ConnectionError);

  m.def(
      "data_hash", [](const Values1d& a) { return ex::data_hash(a.data(), a.size()); }, "values"_a,
      "The seeds' data hash of a 1-D float64 array: sha256(a.tobytes() + str(a.shape) + str(a.dtype)),\n"
      "first 16 hex chars. Read in place (no copy).");

  using Measure = double (*)(const std::vector<double>&, const std::vector<double>&);
  const auto def_measure = [&m](const char* name, Measure measure, const char* doc) {
    m.def(
        name,
        [measure](const Values& y, const Values& yhat) {
          check_pair(y, yhat);
          return measure(to_vector(y), to_vector(yhat));
        },
        "y"_a, "yhat"_a, doc);
  };
  def_measure("pape", &wmtp::pape,
              "Peak-aware percentage error over the flattened arrays: 100 * mean over P of |y - yhat| / |y|,\n"
              "P = {t : y[t] >= Q0.9(y)}. NaN when std(y) < 1e-8.");
  def_measure("hit_rate", &wmtp::hit_rate,
              "Peak hit rate |P & Phat| / |P| over the flattened arrays; a forecast with std < 1e-8 has no\n"
              "predicted peaks. NaN when std(y) < 1e-8.");
  def_measure("mse", &wmtp::mean_squared_error, "Mean squared error over the flattened arrays.");
  def_measure("mae", &wmtp::mean_absolute_error, "Mean absolute error over the flattened arrays.");
  m.def("pape_definition_hash", &wmtp::pape_definition_hash,
        "The metric definition's hash (the `pape_definition_hash` param, 16 hex chars).");
  m.def(
      "pape_definition_payload", [] { return wmtp::canonical_json(wmtp::pape_definition_payload()); },
      "The metric definition's canonical JSON payload (the `pape_definition_hash_payload` param).");

  m.def(
      "canonical_json", [](const std::string& text) { return wmtp::canonical_json(parse_json(text, "value")); },
      "json_text"_a, "Canonical JSON (sorted keys, no whitespace, nlohmann's number form) of a JSON text.");
  m.def(
      "content_hash16", [](const std::string& text) { return wmtp::content_hash16(parse_json(text, "value")); },
      "json_text"_a, "First 16 hex chars of sha256(canonical_json(value)) of a JSON text.");
  m.def(
      "jcs", [](const std::string& text) { return wmtp::jcs(parse_json(text, "value")); }, "json_text"_a,
      "RFC 8785 (JCS) text of a JSON text.");

  m.def(
      "golden_check",
      [](const std::optional<std::string>& json_text, double atol) {
        const nlohmann::json golden = json_text ? parse_json(*json_text, "golden tensors") : wmtp::embedded_golden();
        return golden_dict(wmtp::check_golden(golden, atol));
      },
      "json_text"_a = nb::none(), "atol"_a = -1.0,
      "Recomputes the golden tensors (the embedded schemas/golden/golden.json when json_text is None)\n"
      "with wmtp's metrics: {passed, atol, summary, cases: [{id, expected_pape, expected_hr, pape, hr,\n"
      "passed}]}. atol < 0 uses the file's.");
  m.def(
      "golden_tensor_check", [] { return ex::golden_tensor_check(); },
      "'pass' or 'fail': this build's metrics on the embedded golden tensors (the `golden_tensor_check` param).");

  nb::class_<ex::StandardScaler>(m, "StandardScaler",
                                 "z = (x - mean) / scale, scale the population std of the values it was fitted on.")
      .def_static(
          "fit",
          [](const Values1d& a, const std::string& unit, const std::string& what) {
            return ex::StandardScaler::fit(std::vector<double>(a.data(), a.data() + a.size()), unit, what);
          },
          "values"_a, "unit"_a = "kW", "what"_a = "values",
          "Fits on a 1-D float64 array (sequential float64 sums, as wmtp-train); InputError naming `what`\n"
          "when the values are constant.")
      .def_ro("mean", &ex::StandardScaler::mean, "The fitted mean.")
      .def_ro("scale", &ex::StandardScaler::scale, "The fitted population standard deviation.")
      .def_ro("fitted_on", &ex::StandardScaler::fitted_on_hash, "data_hash of the values it was fitted on.")
      .def_ro("unit", &ex::StandardScaler::unit, "The unit of the values it was fitted on.")
      .def("signature", &ex::StandardScaler::signature,
           "The scaler space's signature (content_hash16 of kind, params, fitted_on, unit).")
      .def(
          "transform",
          [](const ex::StandardScaler& s, const Values& a) {
            return map_values(a, [&](double x) { return s.transform(x); });
          },
          "values"_a, "(values - mean) / scale, a new array of the same shape.")
      .def(
          "inverse",
          [](const ex::StandardScaler& s, const Values& a) {
            return map_values(a, [&](double z) { return s.inverse(z); });
          },
          "values"_a, "values * scale + mean, a new array of the same shape.");

  m.def("plan_contract", &plan_contract, "ref"_a, "shard"_a = "", "prereg_json"_a = "", "prereg_origin"_a = "",
        "experiment"_a = "",
        "The contract of a plan's runs as JSON text: what `wmtp-train --print-contract` prints, each run\n"
        "with its datasets, data kind and unit. ref: a plan file, or the name of a built-in plan.");

  m.def(
      "plan_series",
      [](const std::string& ref, const std::string& name) {
        std::vector<ex::Series> all;
        const ex::Series& series = plan_series_of(ref, name, &all);
        auto* out = new std::vector<double>(series.values);
        nb::capsule owner(out, [](void* p) noexcept { delete static_cast<std::vector<double>*>(p); });
        return nb::ndarray<nb::numpy, const double, nb::ndim<1>>(out->data(), {out->size()}, owner);
      },
      "ref"_a, "series"_a,
      "The raw values (float64, time order) of a series of the plan's data: the synthetic households\n"
      "generated, or the CSV read, exactly as wmtp-train reads them.");
  m.def(
      "split_bounds",
      [](std::size_t n) {
        const ex::SplitBounds b = ex::split_bounds(n);
        return std::vector<std::size_t>{b.train_end, b.val_end, b.size};
      },
      "n"_a, "The chronological 70/10/20 split of n points: [train_end, val_end, n].");
  m.def(
      "window_starts",
      [](const std::string& ref, const std::string& name, int seq_len, int pred_len) {
        std::vector<ex::Series> all;
        const ex::SeriesData data = ex::SeriesData::prepare(plan_series_of(ref, name, &all));
        const ex::WindowIndex w = ex::window_index(data, seq_len, pred_len);
        return std::vector<std::vector<std::size_t>>{w.train_starts, w.val_starts, w.test_starts};
      },
      "ref"_a, "series"_a, "seq_len"_a, "pred_len"_a,
      "The first input index of every train, val and test window (wmtp-train's windows; the rows of\n"
      "predictions/<split>.npy follow this order).");

  m.def(
      "shard_from_env",
      [](const std::optional<std::int64_t>& shard_count) {
        return ex::resolve_auto_shard(shard_count, ex::process_environment());
      },
      "shard_count"_a = nb::none(),
      "`--shard auto`: this process's shard \"i/n\" from WMTP_SHARD, a Slurm job array\n"
      "(SLURM_ARRAY_TASK_ID/COUNT/MIN/STEP) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX with\n"
      "shard_count or WMTP_SHARD_COUNT). InputError naming the variable when none is set or one is bad.");

  nb::class_<wmtp::RunLogger>(m, "RunLogger",
                              "One run's logger (the Tracker's): ledger first, MLflow in the background.")
      .def_prop_ro("local_run_id", &wmtp::RunLogger::local_run_id,
                   "The run's local id (ledger id, tag wmtp.local_run_id).")
      .def("log_param", &wmtp::RunLogger::log_param, "key"_a, "value"_a,
           "Logs a param; the same value again is a no-op, a different one an InputError.")
      .def("set_tag", &wmtp::RunLogger::set_tag, "key"_a, "value"_a, "Sets a tag.")
      .def("log_metric", &wmtp::RunLogger::log_metric, "key"_a, "value"_a, "step"_a, "timestamp_ms"_a = 0,
           "Queues a metric point (never blocks on disk or network).")
      .def("log_artifact", &wmtp::RunLogger::log_artifact, "local_file"_a, "artifact_path"_a,
           nb::call_guard<nb::gil_scoped_release>(), "Copies the file into the run's artifacts at artifact_path.")
      .def("flush", &wmtp::RunLogger::flush, nb::call_guard<nb::gil_scoped_release>(),
           "Blocks until everything logged so far is durable in the ledger.")
      .def(
          "finish",
          [](wmtp::RunLogger& l, const std::string& status) { l.finish(wmtp::parse_run_status(status, "status")); },
          "status"_a, nb::call_guard<nb::gil_scoped_release>(), "Ends the run: FINISHED, FAILED or KILLED.");

  nb::class_<wmtp::tracking::Tracker>(
      m, "Tracker",
      "Logs runs to the SQLite ledger first and, with a tracking URI, to MLflow in the\n"
      "background; what MLflow has not acknowledged stays in the ledger's outbox.")
      .def(
          "__init__",
          [](wmtp::tracking::Tracker* t, const std::string& ledger, const std::optional<std::string>& uri) {
            wmtp::tracking::TrackerOptions o;
            o.ledger_path = ledger;
            o.tracking_uri = uri;
            new (t) wmtp::tracking::Tracker(o);
          },
          "ledger"_a, "tracking_uri"_a = nb::none(),
          "Opens (creates) the ledger. tracking_uri None: MLFLOW_TRACKING_URI from the environment; '': ledger only.")
      .def(
          "start_run",
          [](wmtp::tracking::Tracker& t, const std::string& experiment, const std::string& run_name,
             const std::map<std::string, std::string>& tags) {
            return t.start_run({experiment, run_name, tags});
          },
          "experiment"_a, "run_name"_a, "tags"_a = std::map<std::string, std::string>{}, nb::keep_alive<0, 1>(),
          "Starts a run (durable in the ledger on return) with the system tags and these.")
      .def("flush", &wmtp::tracking::Tracker::flush, nb::call_guard<nb::gil_scoped_release>(),
           "Blocks until everything logged so far is durable in the ledger.")
      .def(
          "close",
          [](wmtp::tracking::Tracker& t, double wait_s) {
            const wmtp::tracking::OutboxSummary left = t.close(
                std::chrono::milliseconds(static_cast<long long>(wait_s * 1000.0)));
            return left.entries;
          },
          "wait_s"_a = 30.0, nb::call_guard<nb::gil_scoped_release>(),
          "Everything to the ledger, then at most wait_s for MLflow; returns the outbox entries left\n"
          "(wmtp-sync pushes them later). The Tracker and its loggers are unusable afterwards.")
      .def_prop_ro("mlflow_enabled", &wmtp::tracking::Tracker::mlflow_enabled, "Whether a tracking URI is configured.")
      .def_prop_ro("ledger_path", &wmtp::tracking::Tracker::ledger_path, "The ledger file.");

  m.def(
      "seal_run",
      [](wmtp::tracking::Tracker& t, wmtp::RunLogger& l, const std::string& status) {
        return ex::seal_run(t, l, wmtp::parse_run_status(status, "status")).seal_sha256;
      },
      "tracker"_a, "logger"_a, "status"_a, nb::call_guard<nb::gil_scoped_release>(),
      "Seals the run from what the ledger holds (wmtp/seal.json, tag wmtp.seal_sha256) as ending with\n"
      "`status`; returns the seal's sha256. Does not finish the run.");
}
