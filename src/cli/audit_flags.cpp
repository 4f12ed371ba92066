#include "cli/audit_flags.h"

namespace wmtp::cli {
namespace {

constexpr const char* kGroup = "Audit";

}  // namespace

void add_audit_flags(CLI::App& app, report::AuditRequest& request) {
  const std::string group = kGroup;
  app.add_option("--source", request.source, "Where to read the runs: auto, mlflow or ledger")
      ->check(CLI::IsMember({"auto", "mlflow", "ledger"}))
      ->capture_default_str()
      ->group(group);
  app.add_option("--tracking-uri", request.tracking_uri, "MLflow tracking server (default: MLFLOW_TRACKING_URI)")
      ->group(group);
  app.add_option("--ledger", request.ledgers,
                 "SQLite ledger to read when the source is the ledger (default wmtp-ledger.sqlite); repeat it, or "
                 "name a directory (every *.sqlite under it), to audit shards' ledgers as one")
      ->group(group);
  app.add_option("--artifact-cache", request.artifact_cache,
                 "Where artifacts fetched from MLflow are kept (default: $XDG_CACHE_HOME/wmtp/mlflow-artifacts)")
      ->group(group);
  app.add_option("--connections", request.connections,
                 "Parallel requests while reading runs from MLflow; more suit a distant server or artifact store, "
                 "where each request waits its round trip")
      ->check(CLI::Range(1, 64))
      ->capture_default_str()
      ->group(group);
  app.add_option("--prereg", request.prereg, "Pre-registration JSON (default: the embedded configs/prereg/smoke.json)")
      ->group(group);
  app.add_option("--plan", request.plan,
                 "Plan to check the runs against instead of the one they recorded (file, or an embedded plan: smoke)")
      ->group(group);
  app.add_option("--trusted-keys", request.trusted_keys,
                 "PEM public keys (a file, or a directory of *.pem and *.pub) trusted to sign runs and verdicts; "
                 "every gated run must then carry a signature by one (Gate 3). Default: WMTP_TRUSTED_KEYS")
      ->group(group);
  app.add_option("--policy", request.policy, "prod, or debug to allow debug-only options (refused when CI=true)")
      ->check(CLI::IsMember({"prod", "debug"}))
      ->capture_default_str()
      ->group(group);
  app.add_flag("--strict", request.strict, "A WARNING verdict exits 1")->group(group);
  app.add_flag("--no-figures", request.no_figures, "Debug only: do not verify figures; Gate 4 then FAILs")
      ->group(group);
  app.add_option("--data-root", request.data_root,
                 "Where the runs' CSV data lies now: replay reads the file of the logged name under DIR")
      ->group(group);
  const auto no_replay = [&request](bool) { request.replay = false; };
  app.add_flag_function("--no-replay", no_replay,
                        "Do not replay: the data hashes, scaler signatures and val/test metrics are then only checked "
                        "as logged, not recomputed from the data and predictions/*.npy (refused when the "
                        "pre-registration says replay: required)")
      ->group(group);
}

bool audit_flags_given(const CLI::App& app) {
  const auto given = app.get_options([](const CLI::Option* o) { return o->get_group() == kGroup && o->count() > 0; });
  return !given.empty();
}

}  // namespace wmtp::cli
