// Security rules users rely on: TLS verification is on unless they say otherwise, artifact paths
// cannot leave their directory (neither when logging nor when a server names them), hostile run
// names and params are inert in the report, read-only ledgers are read and never damaged, and
// the inputs the fuzzers broke are refused with exit code 2 by the real binaries.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "core/ecdsa_key.h"
#include "core/errors.h"
#include "hardening_util.h"
#include "run_fixtures.h"
#include "support/fault_server.h"
#include "support/test_support.h"
#include "tracking/mlflow_client.h"
#include "tracking/run_source.h"
#include "tracking/tracker.h"
#include "tracking/tracking_test_util.h"

namespace wmtp::hardening {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using testing::run_command;
using testing::shell_quote;
using testing::TempDir;

// A self-signed certificate for 127.0.0.1 (cert.pem, key.pem in dir/<name>).
void make_certificate(const TempDir& dir, const std::string& name) {
  fs::create_directories(dir.file(name));
  const CommandResult r = run_command(
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
      "-keyout " +
      shell_quote(dir.file(name + "/key.pem")) + " -out " + shell_quote(dir.file(name + "/cert.pem")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

class Tls : public ::testing::Test {
 protected:
  void SetUp() override {
    make_certificate(dir_, "server");
    make_certificate(dir_, "other");
    proxy_ = std::make_unique<BackgroundProcess>(shell_quote(testing::test_python()) + " " +
                                                     shell_quote(testing::source_dir() +
                                                                 "/tests/hardening/tls_proxy.py") +
                                                     " " + shell_quote(dir_.file("server/cert.pem")) + " " +
                                                     shell_quote(dir_.file("server/key.pem")) + " " +
                                                     shell_quote(testing::test_tracking_uri()),
                                                 dir_.file("proxy.out"));
    const std::string port = proxy_->first_line(30);
    ASSERT_FALSE(port.empty()) << testing::read_file(dir_.file("proxy.out"));
    uri_ = "https://127.0.0.1:" + port;
  }

  // What get_or_create_experiment does with the given TLS settings: "" on success, else the
  // error's exit code and message.
  std::string try_client(const std::map<std::string, std::optional<std::string>>& tls) {
    std::map<std::string, std::optional<std::string>> env = {{"MLFLOW_TRACKING_INSECURE_TLS", std::nullopt},
                                                             {"MLFLOW_TRACKING_SERVER_CERT_PATH", std::nullopt}};
    for (const auto& [k, v] : tls) env[k] = v;
    ScopedEnv scoped(env);
    try {
      tracking::MlflowClient client(tracking::MlflowConfig::from_env(uri_));
      client.get_or_create_experiment(experiment_);
      return "";
    } catch (const Error& e) {
      return std::to_string(e.exit_code()) + " " + e.what();
    }
  }

  TempDir dir_;
  std::unique_ptr<BackgroundProcess> proxy_;
  std::string uri_;
  const std::string experiment_ = testing::unique_name("tls-");
};

TEST_F(Tls, VerificationIsOnByDefaultAndFailsFastWithAHint) {
  const auto start = std::chrono::steady_clock::now();
  const std::string error = try_client({});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_FALSE(error.empty()) << "a self-signed server was trusted";
  EXPECT_EQ(error.substr(0, 2), "3 ") << error;
  EXPECT_NE(error.find("certificate"), std::string::npos) << error;
  EXPECT_NE(error.find("MLFLOW_TRACKING_SERVER_CERT_PATH"), std::string::npos) << error;
  EXPECT_LT(seconds, 5.0) << "a certificate problem is not transient: no retries with backoff";
}

TEST_F(Tls, AnotherCertificateAuthorityIsRefused) {
  const std::string error = try_client({{"MLFLOW_TRACKING_SERVER_CERT_PATH", dir_.file("other/cert.pem")}});
  EXPECT_NE(error.find("certificate"), std::string::npos) << error;
}

TEST_F(Tls, TheServersCertificateOrInsecureTlsLetsTheClientIn) {
  EXPECT_EQ(try_client({{"MLFLOW_TRACKING_SERVER_CERT_PATH", dir_.file("server/cert.pem")}}), "");
  EXPECT_EQ(try_client({{"MLFLOW_TRACKING_INSECURE_TLS", "true"}}), "");
  EXPECT_NE(try_client({{"MLFLOW_TRACKING_INSECURE_TLS", "false"}}), "");
}

TEST_F(Tls, WmtpSyncPushesOverVerifiedTlsOnly) {
  TempDir ledger_dir;
  {
    tracking::Tracker tracker(testing::ledger_only(ledger_dir.file("ledger.sqlite")));
    auto run = tracker.start_run({experiment_, "over-tls", {}});
    for (int i = 0; i < 100; ++i) run->log_metric("loss", 1.0 / (1 + i), i);
    run->finish(RunStatus::kFinished);
  }
  const std::string sync = binary("wmtp-sync") + " --ledger " + shell_quote(ledger_dir.file("ledger.sqlite")) +
                           " --tracking-uri " + shell_quote(uri_);
  const CommandResult refused = run_command("env -u MLFLOW_TRACKING_INSECURE_TLS -u MLFLOW_TRACKING_SERVER_CERT_PATH " +
                                            sync);
  EXPECT_EQ(refused.exit_code, 3) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("certificate"), std::string::npos) << refused.err;
  const CommandResult pushed = run_command(
      "MLFLOW_TRACKING_SERVER_CERT_PATH=" + shell_quote(dir_.file("server/cert.pem")) + " " + sync);
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
  const Delivered d = expect_mlflow_holds_ledger(ledger_dir.file("ledger.sqlite"), experiment_,
                                                 tracking::MlflowConfig::from_env(testing::test_tracking_uri()));
  EXPECT_EQ(d.mlflow_runs, 1u);
  EXPECT_EQ(d.points, 100u);
}

TEST(ArtifactPaths, LoggingRefusesPathsThatLeaveTheRunsFolder) {
  TempDir dir;
  testing::write_file(dir.file("fig.png"), testing::tiny_png({{"k", "v"}}));
  tracking::Tracker tracker(testing::ledger_only(dir.file("store/ledger.sqlite")));
  auto run = tracker.start_run({"paths", "victim", {}});
  for (const std::string bad : {"../escape.png", "figures/../../escape.png", "/tmp/escape.png", "figures//x.png",
                                "./x.png", "figures\\..\\x.png", ""}) {
    SCOPED_TRACE(bad);
    try {
      run->log_artifact(dir.file("fig.png"), bad);
      ADD_FAILURE() << "accepted";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("must be relative"), std::string::npos) << e.what();
    }
  }
  run->log_artifact(dir.file("fig.png"), "figures/ok.png");
  run->finish(RunStatus::kFinished);
  tracker.flush();
  EXPECT_FALSE(fs::exists(dir.file("escape.png")));
  EXPECT_FALSE(fs::exists(dir.file("store/escape.png")));
  const RunRecord stored = tracker.load_run(run->local_run_id());
  ASSERT_EQ(stored.artifacts.size(), 1u);
  EXPECT_EQ(stored.artifacts[0].path, "figures/ok.png");
}

TEST(ArtifactPaths, ClientRefusesTraversalBeforeSendingAnything) {
  testing::FaultServer server({{200, "{}", "application/json", {}}});
  tracking::MlflowClient client(tracking::MlflowConfig::from_env(server.uri()));
  TempDir dir;
  EXPECT_THROW(client.download_artifact("abc", "../../etc/passwd", dir.file("x")), InputError);
  EXPECT_THROW(client.upload_artifact("abc", "/etc/hostname", "/abs/path.png"), InputError);
  EXPECT_EQ(server.requests().size(), 0u);
}

// A server (or whoever wrote its runs) controls run ids, tags and artifact listings: none of
// them may steer where the audit's artifact cache writes.
TEST(ArtifactPathsFromMlflow, RunsCannotWriteOutsideTheCache) {
  const tracking::MlflowConfig config = tracking::MlflowConfig::from_env(testing::test_tracking_uri());
  tracking::MlflowClient client(config);
  const std::string experiment = testing::unique_name("traversal-");
  const std::string experiment_id = client.get_or_create_experiment(experiment);
  const tracking::MlflowRun run = client.create_run(experiment_id, "hostile", 1,
                                                    {{"wmtp.local_run_id", "../../escaped"}});
  TempDir dir;
  testing::write_file(dir.file("fig.png"), testing::tiny_png({{"wmtp.run_id", "x"}}));
  client.upload_artifact(run.run_id, dir.file("fig.png"), "figures/fig.png");
  client.set_terminated(run.run_id, RunStatus::kFinished);

  const std::string cache = dir.file("a/b/cache");
  const RunSet set = tracking::read_mlflow_runs(config, experiment, cache);
  ASSERT_EQ(set.runs.size(), 1u);
  EXPECT_EQ(set.runs[0].local_id, "../../escaped");  // reported as it is, for Gate 4 to judge
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(dir.path())) {
    if (!e.is_regular_file() || e.path() == dir.file("fig.png")) continue;
    EXPECT_EQ(e.path().string().rfind(cache + "/", 0), 0u) << e.path() << " is outside the cache " << cache;
  }
  ASSERT_EQ(set.runs[0].artifacts.size(), 1u);
  EXPECT_EQ(set.runs[0].artifacts[0].png_text.at("wmtp.run_id"), "x");

  // A listing that names a figure outside the run is refused, not downloaded.
  testing::FaultServer proxy(
      testing::test_tracking_uri(),
      [](const testing::ReceivedRequest& r) {
        // Either listing: the REST API's artifacts/list or the artifact proxy's, which the audit uses.
        const bool lists = r.target.find("/artifacts/list") != std::string::npos ||
                           r.target.find("/mlflow-artifacts/artifacts?path=") != std::string::npos;
        if (!lists) return testing::Fault{};
        testing::ScriptedResponse listing;
        listing.body = R"({"files":[{"path":"figures/../../../outside.png","is_dir":false,"file_size":10}]})";
        return testing::Fault::respond(listing);
      },
      1.0);
  try {
    tracking::read_mlflow_runs(tracking::MlflowConfig::from_env(proxy.uri()), experiment, dir.file("cache2"));
    ADD_FAILURE() << "a traversing artifact path was followed";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("figures/../../../outside.png"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir.file("outside.png")));
}

// Run names and params are user text: in the report they must stay text, never markup.
TEST(ReportEscaping, HostileNamesAndParamsStayTextInTheRenderedReport) {
  TempDir dir;
  const std::string experiment = "esc <b>exp</b> | x";
  const std::string script = "<script>alert(1)</script>";
  const std::string img = "<img src=x onerror=alert(2)>";
  const std::string link = "[click](javascript:alert(3))";
  {
    tracking::Tracker tracker(testing::ledger_only(dir.file("ledger.sqlite")));
    auto run = tracker.start_run({experiment, script + " | **bold** `tick`", {}});
    run->log_param("cell", img + " | col");
    run->log_param("series", link);
    run->log_param("seed", "42\n\n# heading");
    run->log_param("pape_definition_hash", "<iframe src=//evil>");
    run->log_metric("train_loss", 1.0, 0);
    run->finish(RunStatus::kFinished);
  }
  const CommandResult audit = run_command("cd " + shell_quote(dir.path()) + " && " + binary("wmtp-audit") +
                                          " --experiment " + shell_quote(experiment) +
                                          " --ledger ledger.sqlite --quiet");
  ASSERT_EQ(audit.exit_code, 1) << audit.err;  // G1 fails: the definition hash is wrong
  const CommandResult report = run_command("cd " + shell_quote(dir.path()) + " && " + binary("wmtp-report") +
                                           " > report.md");
  ASSERT_EQ(report.exit_code, 0) << report.err;
  const std::string md = testing::read_file(dir.file("report.md"));
  const CommandResult html = run_command("cmark-gfm --unsafe -e table " + shell_quote(dir.file("report.md")));
  ASSERT_EQ(html.exit_code, 0) << html.err;
  for (const char* tag : {"<script", "<img src=x", "<iframe", "<b>exp", "href=\"javascript:", "<h1>heading"}) {
    EXPECT_EQ(html.out.find(tag), std::string::npos) << tag << " became markup:\n" << html.out;
  }
  // The text is still there for a reader, as text.
  EXPECT_NE(html.out.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos) << html.out;
  EXPECT_NE(html.out.find("&lt;iframe src=//evil&gt;"), std::string::npos) << html.out;
  // Every table row keeps its column count: pipes in names did not open new cells.
  std::size_t rows = 0;
  for (std::size_t table = html.out.find("<table>"); table != std::string::npos;
       table = html.out.find("<table>", table + 1)) {
    const std::size_t table_end = html.out.find("</table>", table);
    std::size_t columns = 0;
    for (std::size_t row = html.out.find("<tr>", table); row < table_end; row = html.out.find("<tr>", row + 1)) {
      const std::string cells = html.out.substr(row, html.out.find("</tr>", row) - row);
      std::size_t n = 0;
      for (const char* cell : {"<td>", "<th>", "<td ", "<th "}) {
        for (std::size_t at = cells.find(cell); at != std::string::npos; at = cells.find(cell, at + 1)) ++n;
      }
      if (columns == 0) columns = n;
      EXPECT_EQ(n, columns) << cells;
      ++rows;
    }
  }
  EXPECT_GT(rows, 2u) << md;
}

// A signing key's PEM bytes and its password never reach params, tags, the ledger, artifacts, the
// verdict, the report or any output: runs signed through the tracking library (experiment::seal_run)
// with an encrypted key, then audited and reported on; a wrong password's message names no secret.
TEST(SigningKeys, NeverAppearInLedgersArtifactsVerdictsReportsOrOutputs) {
  TempDir keys;
  TempDir dir;
  const std::string password = "sig-Pa55w0rd-5d1c";
  const EcdsaPrivateKey generated = EcdsaPrivateKey::generate("P-256");
  const std::string plain_pem = generated.private_pem();
  const std::string encrypted_pem = generated.private_pem(password);
  testing::write_file(keys.file("key.pem"), encrypted_pem);
  ASSERT_EQ(chmod(keys.file("key.pem").c_str(), 0600), 0);
  testing::write_file(keys.file("key.pub"), generated.public_key().pem());
  const EcdsaPrivateKey key = EcdsaPrivateKey::read(keys.file("key.pem"), password);
  {
    tracking::Tracker tracker(testing::ledger_only(dir.file("ledger.sqlite")));
    gates::fixtures::RunSpec spec;
    gates::fixtures::log_passing_run(tracker, spec, gates::fixtures::smoke_inputs(), "signed", dir.path(), &key);
  }
  std::string outputs;
  for (const std::string& command :
       {binary("wmtp-audit") + " --experiment signed --ledger ledger.sqlite --trusted-keys " +
            shell_quote(keys.file("key.pub")) + " --junit junit.xml",
        binary("wmtp-report") + " > report.md"}) {
    const CommandResult r = run_command("cd " + shell_quote(dir.path()) + " && " + command);
    outputs += r.out + r.err;
  }
  try {
    EcdsaPrivateKey::read(keys.file("key.pem"), std::string("wrong-") + password);
    ADD_FAILURE() << "a wrong password was accepted";
  } catch (const InputError& e) {
    outputs += e.what();
  }
  EXPECT_NE(outputs.find("authenticity: verified"), std::string::npos) << outputs;
  const std::string files = all_bytes_under(dir.path());
  EXPECT_NE(files.find(generated.public_key().fingerprint()), std::string::npos) << "the signer is named";
  // Every base64 line of both private PEMs, and the password.
  std::vector<std::string> secrets = {password};
  for (const std::string* pem : {&plain_pem, &encrypted_pem}) {
    std::size_t at = 0;
    for (std::size_t end = pem->find('\n'); end != std::string::npos; at = end + 1, end = pem->find('\n', at)) {
      const std::string line = pem->substr(at, end - at);
      if (line.rfind("-----", 0) != 0 && line.size() >= 32) secrets.push_back(line);
    }
  }
  ASSERT_GT(secrets.size(), 3u);
  for (const std::string& secret : secrets) {
    EXPECT_EQ(outputs.find(secret), std::string::npos) << secret << " in the output:\n" << outputs;
    EXPECT_EQ(files.find(secret), std::string::npos) << secret << " in a file under " << dir.path();
  }
}

// A ledger on read-only storage (a CI artifact, a mounted results folder) can be audited and
// reported on; what needs to write says so and leaves it as it was.
TEST(ReadOnlyLedger, AuditAndReportReadItSyncAndTrainRefuseWithoutDamage) {
  TempDir dir;
  const std::string experiment = "read-only";
  {
    tracking::Tracker tracker(testing::ledger_only(dir.file("ro/ledger.sqlite")));
    auto run = tracker.start_run({experiment, "kept", {}});
    for (int i = 0; i < 50; ++i) run->log_metric("train_loss", 1.0 / (1 + i), i);
    run->finish(RunStatus::kFinished);
  }
  ASSERT_EQ(run_command("chmod 755 " + shell_quote(dir.path()) + " && chmod 555 " + shell_quote(dir.file("ro")) +
                        " && chmod 444 " + shell_quote(dir.file("ro")) + "/ledger.*")
                .exit_code,
            0);
  fs::create_directories(dir.file("out"));
  run_command("chmod 777 " + shell_quote(dir.file("out")));
  const std::string before = testing::read_file(dir.file("ro/ledger.sqlite"));
  const std::string user = as_unprivileged_user();
  const std::string in_out = "cd " + shell_quote(dir.file("out")) + " && " + user;
  const std::string ledger = shell_quote(dir.file("ro/ledger.sqlite"));

  const CommandResult audit = run_command(in_out + binary("wmtp-audit") + " --experiment " + experiment + " --ledger " +
                                          ledger + " --quiet");
  EXPECT_EQ(audit.exit_code, 1) << audit.err;  // audited (the run logged no contract): a verdict, not an error
  EXPECT_TRUE(fs::exists(dir.file("out/wmtp-verdict.json"))) << audit.err;
  const CommandResult report = run_command(in_out + binary("wmtp-report") + " --experiment " + experiment +
                                           " --ledger " + ledger);
  EXPECT_EQ(report.exit_code, 0) << report.err;
  EXPECT_NE(report.out.find("kept"), std::string::npos) << report.out;

  const CommandResult sync = run_command(in_out + binary("wmtp-sync") + " --ledger " + ledger + " --tracking-uri " +
                                         shell_quote(testing::test_tracking_uri()));
  EXPECT_NE(sync.exit_code, 0) << sync.out;
  EXPECT_NE(sync.exit_code, 1) << "a clear input or unreachable error, not a crash: " << sync.err;
  EXPECT_EQ(sync.err.rfind("wmtp-sync: error: ", 0), 0u) << sync.err;
  EXPECT_NE(sync.err.find("ledger.sqlite"), std::string::npos) << sync.err;
  EXPECT_EQ(testing::read_file(dir.file("ro/ledger.sqlite")), before);
  EXPECT_EQ(integrity_check(dir.file("ro/ledger.sqlite")), "ok");
}

// The inputs the fuzzers broke, through the binaries users run: exit 2 and one line.
TEST(FuzzFindings, BinariesRefuseOutOfRangeNumbersAsInputErrors) {
  TempDir dir;
  testing::write_file(dir.file("verdict.json"), R"({"schema_version": 1e999})");
  const CommandResult report = run_command(binary("wmtp-report") + " --verdict " +
                                           shell_quote(dir.file("verdict.json")));
  EXPECT_EQ(report.exit_code, 2) << report.err;
  EXPECT_NE(report.err.find("verdict.json"), std::string::npos) << report.err;
  EXPECT_NE(report.err.find("number overflow"), std::string::npos) << report.err;

  testing::write_file(dir.file("prereg.json"), R"({"name": "x", "g5": {"min_epochs": -1e999}})");
  const CommandResult audit = run_command("cd " + shell_quote(dir.path()) + " && " + binary("wmtp-audit") +
                                          " --experiment x --prereg prereg.json --ledger none.sqlite");
  EXPECT_EQ(audit.exit_code, 2) << audit.err;
  EXPECT_NE(audit.err.find("prereg.json"), std::string::npos) << audit.err;
  EXPECT_NE(audit.err.find("number overflow"), std::string::npos) << audit.err;
}

}  // namespace
}  // namespace wmtp::hardening
