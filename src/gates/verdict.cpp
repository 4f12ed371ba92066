#include "gates/verdict.h"

#include <cmath>
#include <limits>

#include "core/errors.h"
#include "core/json_field.h"

namespace wmtp::gates {
namespace {

constexpr const char* kOrigin = "verdict";

template <typename Enum, std::size_t N>
Enum parse_enum(const JsonField& f, const Enum (&values)[N]) {
  const std::string text = f.as_string();
  std::string names;
  for (Enum v : values) {
    if (text == to_string(v)) return v;
    names += (names.empty() ? "" : ", ") + std::string(to_string(v));
  }
  f.fail("unknown value '" + text + "' (expected one of: " + names + ")");
}

constexpr Status kStatuses[] = {Status::kPass, Status::kWarning, Status::kFail, Status::kSkipped};
constexpr Overall kOveralls[] = {Overall::kAllPass, Overall::kWarning, Overall::kFail, Overall::kCriticalFail};

int as_int(const JsonField& f) {
  const std::int64_t v = f.as_integer();
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) f.fail("integer out of range");
  return static_cast<int>(v);
}

// JSON has no NaN or infinity: non-finite metrics are written as null.
nlohmann::json metric_json(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

double metric_value(const JsonField& f) {
  if (f.value().is_null()) return std::numeric_limits<double>::quiet_NaN();
  return f.as_number();
}

GateRunResult result_from_json(const JsonField& f) {
  f.reject_unknown({"run_id", "run_name", "status", "message", "expected", "observed"});
  GateRunResult r;
  r.run_id = f.at("run_id").as_string();
  r.run_name = f.at("run_name").as_string();
  r.status = parse_enum(f.at("status"), kStatuses);
  r.message = f.at("message").as_string();
  r.expected = f.at("expected").as_string();
  r.observed = f.at("observed").as_string();
  return r;
}

GateReport gate_from_json(const JsonField& f) {
  f.reject_unknown({"id", "name", "status", "results"});
  GateReport g;
  g.id = f.at("id").as_nonempty_string();
  g.name = f.at("name").as_string();
  g.status = parse_enum(f.at("status"), kStatuses);
  for (const JsonField& r : f.at("results").elements()) g.results.push_back(result_from_json(r));
  return g;
}

RunSummary run_from_json(const JsonField& f, int schema_version) {
  f.reject_unknown({"run_id", "run_name", "mlflow_run_id", "mlflow_url", "status", "cell", "series", "seed", "model",
                    "weighting", "use_vq", "final_metrics", "figures"});
  RunSummary s;
  s.run_id = f.at("run_id").as_string();
  s.run_name = f.at("run_name").as_string();
  s.mlflow_run_id = f.at("mlflow_run_id").as_string();
  if (schema_version >= 3) {
    s.mlflow_url = f.at("mlflow_url").as_string();
  } else if (f.has("mlflow_url")) {
    f.at("mlflow_url").fail("not a field before schema_version 3");
  }
  s.status = f.at("status").as_string();
  s.cell = f.at("cell").as_string();
  s.series = f.at("series").as_string();
  s.seed = f.at("seed").as_string();
  s.model = f.at("model").as_string();
  s.weighting = f.at("weighting").as_string();
  s.use_vq = f.at("use_vq").as_bool();
  for (const auto& [key, value] : f.at("final_metrics").members()) s.final_metrics[key] = metric_value(value);
  for (const JsonField& figure : f.at("figures").elements()) s.figures.push_back(figure.as_string());
  return s;
}

Authenticity authenticity_from_json(const JsonField& f) {
  f.reject_unknown({"status", "trusted_keys", "signed_runs", "verified_runs"});
  Authenticity a;
  const JsonField status = f.at("status");
  a.status = status.as_string();
  if (a.status != "verified" && a.status != "failed" && a.status != "not checked") {
    status.fail("expected \"verified\", \"failed\" or \"not checked\"");
  }
  a.trusted_keys = as_int(f.at("trusted_keys"));
  a.signed_runs = as_int(f.at("signed_runs"));
  a.verified_runs = as_int(f.at("verified_runs"));
  return a;
}

ReplaySummary replay_from_json(const JsonField& f) {
  f.reject_unknown({"status", "replayed", "not_replayed"});
  ReplaySummary r;
  const JsonField status = f.at("status");
  r.status = status.as_string();
  if (r.status != "on" && r.status != "off") status.fail("expected \"on\" or \"off\"");
  r.replayed = as_int(f.at("replayed"));
  for (const JsonField& n : f.at("not_replayed").elements()) {
    n.reject_unknown({"run_id", "run_name", "reason"});
    r.not_replayed.push_back({n.at("run_id").as_string(), n.at("run_name").as_string(), n.at("reason").as_string()});
  }
  return r;
}

}  // namespace

std::string run_ui_url(const std::string& experiment_url, const std::string& mlflow_run_id) {
  if (experiment_url.empty() || mlflow_run_id.empty()) return "";
  return experiment_url + "/runs/" + mlflow_run_id;
}

const char* to_string(Status status) {
  switch (status) {
    case Status::kPass: return "PASS";
    case Status::kWarning: return "WARNING";
    case Status::kFail: return "FAIL";
    case Status::kSkipped: return "SKIPPED";
  }
  return "FAIL";
}

const char* to_string(Overall overall) {
  switch (overall) {
    case Overall::kAllPass: return "ALL PASS";
    case Overall::kWarning: return "WARNING";
    case Overall::kFail: return "FAIL";
    case Overall::kCriticalFail: return "CRITICAL FAIL";
  }
  return "CRITICAL FAIL";
}

nlohmann::json to_json(const Verdict& verdict) {
  nlohmann::json gates = nlohmann::json::array();
  for (const GateReport& g : verdict.gates) {
    nlohmann::json results = nlohmann::json::array();
    for (const GateRunResult& r : g.results) {
      results.push_back({{"run_id", r.run_id},
                         {"run_name", r.run_name},
                         {"status", to_string(r.status)},
                         {"message", r.message},
                         {"expected", r.expected},
                         {"observed", r.observed}});
    }
    gates.push_back({{"id", g.id}, {"name", g.name}, {"status", to_string(g.status)}, {"results", results}});
  }
  nlohmann::json runs = nlohmann::json::array();
  for (const RunSummary& s : verdict.runs) {
    nlohmann::json metrics = nlohmann::json::object();
    for (const auto& [key, value] : s.final_metrics) metrics[key] = metric_json(value);
    runs.push_back({{"run_id", s.run_id},
                    {"run_name", s.run_name},
                    {"mlflow_run_id", s.mlflow_run_id},
                    {"mlflow_url", s.mlflow_url},
                    {"status", s.status},
                    {"cell", s.cell},
                    {"series", s.series},
                    {"seed", s.seed},
                    {"model", s.model},
                    {"weighting", s.weighting},
                    {"use_vq", s.use_vq},
                    {"final_metrics", metrics},
                    {"figures", s.figures}});
  }
  nlohmann::json superseded = nlohmann::json::array();
  for (const SupersededRun& s : verdict.superseded) {
    superseded.push_back(
        {{"run_id", s.run_id}, {"run_name", s.run_name}, {"status", s.status}, {"superseded_by", s.superseded_by}});
  }
  nlohmann::json unfinished = nlohmann::json::array();
  for (const UnfinishedAttempt& u : verdict.unfinished_attempts) {
    unfinished.push_back({{"run_id", u.run_id},
                          {"run_name", u.run_name},
                          {"status", u.status},
                          {"start_time", u.start_time},
                          {"gated_run_id", u.gated_run_id}});
  }
  nlohmann::json containers = nlohmann::json::array();
  for (const ContainerRun& c : verdict.containers) {
    containers.push_back({{"run_id", c.run_id},
                          {"run_name", c.run_name},
                          {"mlflow_run_id", c.mlflow_run_id},
                          {"mlflow_url", c.mlflow_url}});
  }
  nlohmann::json not_replayed = nlohmann::json::array();
  for (const NotReplayed& n : verdict.replay.not_replayed) {
    not_replayed.push_back({{"run_id", n.run_id}, {"run_name", n.run_name}, {"reason", n.reason}});
  }
  return {{"schema_version", verdict.schema_version},
          {"tool", {{"name", verdict.tool_name}, {"version", verdict.tool_version}}},
          {"experiment", verdict.experiment},
          {"source", verdict.source},
          {"generated_at", verdict.generated_at},
          {"prereg_hash", verdict.prereg_hash},
          {"policy", verdict.policy},
          {"overall", to_string(verdict.overall)},
          {"exit_code", verdict.exit_code},
          {"counts", verdict.counts},
          {"gates", gates},
          {"runs", runs},
          {"superseded", superseded},
          {"unfinished_attempts", unfinished},
          {"containers", containers},
          {"caveats", verdict.caveats},
          {"authenticity",
           {{"status", verdict.authenticity.status},
            {"trusted_keys", verdict.authenticity.trusted_keys},
            {"signed_runs", verdict.authenticity.signed_runs},
            {"verified_runs", verdict.authenticity.verified_runs}}},
          {"replay",
           {{"status", verdict.replay.status}, {"replayed", verdict.replay.replayed}, {"not_replayed", not_replayed}}}};
}

Verdict verdict_from_json(const nlohmann::json& json) { return verdict_from_json(json, kOrigin); }

Verdict verdict_from_json(const nlohmann::json& json, const std::string& origin) {
  const JsonField root(json, origin);
  root.reject_unknown({"schema_version", "tool", "experiment", "source", "generated_at", "prereg_hash", "policy",
                       "overall", "exit_code", "counts", "gates", "runs", "superseded", "unfinished_attempts",
                       "containers", "caveats", "authenticity", "replay"});
  Verdict v;
  const JsonField version = root.at("schema_version");
  v.schema_version = as_int(version);
  if (v.schema_version < 1 || v.schema_version > 5)
    version.fail("unsupported schema_version (this build reads 1 to 5)");
  const JsonField tool = root.at("tool");
  tool.reject_unknown({"name", "version"});
  v.tool_name = tool.at("name").as_string();
  v.tool_version = tool.at("version").as_string();
  v.experiment = root.at("experiment").as_string();
  v.source = root.at("source").as_string();
  v.generated_at = root.at("generated_at").as_string();
  v.prereg_hash = root.at("prereg_hash").as_string();
  const JsonField policy = root.at("policy");
  v.policy = policy.as_string();
  if (v.policy != "prod" && v.policy != "debug") policy.fail("expected \"prod\" or \"debug\"");
  v.overall = parse_enum(root.at("overall"), kOveralls);
  v.exit_code = as_int(root.at("exit_code"));
  for (const auto& [key, value] : root.at("counts").members()) v.counts[key] = as_int(value);
  for (const JsonField& g : root.at("gates").elements()) v.gates.push_back(gate_from_json(g));
  for (const JsonField& r : root.at("runs").elements()) v.runs.push_back(run_from_json(r, v.schema_version));
  if (v.schema_version >= 2) {
    for (const JsonField& s : root.at("superseded").elements()) {
      s.reject_unknown({"run_id", "run_name", "status", "superseded_by"});
      v.superseded.push_back({s.at("run_id").as_string(), s.at("run_name").as_string(), s.at("status").as_string(),
                              s.at("superseded_by").as_string()});
    }
    for (const JsonField& c : root.at("caveats").elements()) v.caveats.push_back(c.as_string());
  } else {
    for (const char* key : {"superseded", "caveats"}) {
      if (root.has(key)) root.at(key).fail("not a field of schema_version 1");
    }
  }
  if (v.schema_version >= 3) {
    for (const JsonField& c : root.at("containers").elements()) {
      c.reject_unknown({"run_id", "run_name", "mlflow_run_id", "mlflow_url"});
      v.containers.push_back({c.at("run_id").as_string(), c.at("run_name").as_string(),
                              c.at("mlflow_run_id").as_string(), c.at("mlflow_url").as_string()});
    }
  } else if (root.has("containers")) {
    root.at("containers").fail("not a field before schema_version 3");
  }
  if (v.schema_version >= 4) {
    v.authenticity = authenticity_from_json(root.at("authenticity"));
    for (const JsonField& u : root.at("unfinished_attempts").elements()) {
      u.reject_unknown({"run_id", "run_name", "status", "start_time", "gated_run_id"});
      v.unfinished_attempts.push_back({u.at("run_id").as_string(), u.at("run_name").as_string(),
                                       u.at("status").as_string(), u.at("start_time").as_string(),
                                       u.at("gated_run_id").as_string()});
    }
  } else {
    for (const char* field : {"authenticity", "unfinished_attempts"}) {
      if (root.has(field)) root.at(field).fail("not a field before schema_version 4");
    }
  }
  if (v.schema_version >= 5) {
    v.replay = replay_from_json(root.at("replay"));
  } else if (root.has("replay")) {
    root.at("replay").fail("not a field before schema_version 5");
  }
  return v;
}

}  // namespace wmtp::gates
