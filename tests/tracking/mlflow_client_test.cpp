// MlflowClient against the real MLflow server (paging, splitting, NaN/Inf, artifacts) and, for
// failures the real server cannot produce on demand, against a scripted fault server.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <tuple>

#include "core/errors.h"
#include "core/sha256.h"
#include "support/fault_server.h"
#include "support/test_support.h"
#include "tracking/mlflow_client.h"
#include "tracking_test_util.h"

namespace wmtp::tracking {
namespace {

using testing::FaultServer;
using testing::ScriptedResponse;

MlflowConfig fast_retries(const std::string& uri) {
  MlflowConfig c = MlflowConfig::from_env(uri);
  c.max_retries = 3;
  c.backoff_factor = 0.05;
  c.backoff_jitter = 0.01;
  return c;
}

const char* kExperimentJson = R"({"experiment": {"experiment_id": "7", "name": "e", "lifecycle_stage": "active"}})";

TEST(MlflowClientServer, PagesThroughRunsAndMetricHistory) {
  MlflowClient client(testing::real_server_config());
  const std::string exp = client.get_or_create_experiment(testing::unique_name("paging-"));
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(client.create_run(exp, "r" + std::to_string(i), 1000 + i, {}).run_id);
  const std::vector<MlflowRun> runs = client.search_runs({exp}, "", 2);  // 3 pages
  ASSERT_EQ(runs.size(), 5u);
  for (std::size_t i = 0; i < runs.size(); ++i) EXPECT_EQ(runs[i].run_id, ids[i]);  // by start time

  LogBatch batch;
  for (int i = 0; i < 2500; ++i) batch.metrics.push_back({"loss", i * 0.001, i, 5000 + i});
  client.log_batch(ids[0], batch);
  const std::vector<MetricPoint> history = client.get_metric_history(ids[0], "loss", 1000);  // 3 pages
  ASSERT_EQ(history.size(), 2500u);
  for (int i = 0; i < 2500; ++i) {
    EXPECT_EQ(history[i].step, i);
    EXPECT_EQ(history[i].value, i * 0.001);
    EXPECT_EQ(history[i].timestamp_ms, 5000 + i);
  }
}

// Points as comparable tuples (NaN compared as a marker).
std::vector<std::tuple<std::int64_t, std::int64_t, double, bool>> as_tuples(const std::vector<MetricPoint>& points) {
  std::vector<std::tuple<std::int64_t, std::int64_t, double, bool>> out;
  for (const MetricPoint& p : points)
    out.emplace_back(p.step, p.timestamp_ms, std::isnan(p.value) ? 0.0 : p.value, std::isnan(p.value));
  std::sort(out.begin(), out.end());
  return out;
}

TEST(MlflowClientServer, BulkHistoriesAreEveryPointOfEveryRun) {
  MlflowClient client(testing::real_server_config());
  const std::string exp = client.get_or_create_experiment(testing::unique_name("bulk-"));
  const std::string long_run = client.create_run(exp, "long", 1, {}).run_id;
  const std::string short_run = client.create_run(exp, "short", 2, {}).run_id;
  const std::string other_run = client.create_run(exp, "other", 3, {}).run_id;
  LogBatch batch;  // 2,600 points: more than get-history-bulk-interval gives unsampled
  for (int i = 0; i < 2600; ++i) batch.metrics.push_back({"loss", i * 0.25, i + 1, 7000 + i});
  client.log_batch(long_run, batch);
  client.log_batch(short_run,
                   LogBatch{{{"loss", std::nan(""), 0, 1}, {"loss", 0.5, 1, 2}, {"loss", 0.5, 1, 3}}, {}, {}});
  client.log_batch(other_run, LogBatch{{{"acc", 1.0, 0, 1}}, {}, {}});
  const std::map<std::string, std::vector<MetricPoint>> got = client.get_metric_histories({long_run, short_run,
                                                                                           other_run},
                                                                                          "loss");
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got.at(long_run).size(), 2600u);
  EXPECT_EQ(as_tuples(got.at(long_run)), as_tuples(client.get_metric_history(long_run, "loss")));
  EXPECT_EQ(got.at(short_run).size(), 3u);
  EXPECT_EQ(as_tuples(got.at(short_run)), as_tuples(client.get_metric_history(short_run, "loss")));
  EXPECT_TRUE(got.at(other_run).empty());
}

TEST(MlflowClientServer, BulkHistoriesAskAgainInHalvesWhenTheAnswerReachesTheServersLimit) {
  MlflowClient client(testing::real_server_config());
  const std::string exp = client.get_or_create_experiment(testing::unique_name("bulkcut-"));
  std::vector<std::string> ids;
  for (int r = 0; r < 2; ++r) {  // 2 x 12,600 points: more than one answer of get-history-bulk holds
    ids.push_back(client.create_run(exp, "r" + std::to_string(r), r, {}).run_id);
    LogBatch batch;
    for (int i = 0; i < 12600; ++i) batch.metrics.push_back({"loss", r + i * 0.5, i, 100 + i});
    client.log_batch(ids.back(), batch);
  }
  const std::map<std::string, std::vector<MetricPoint>> got = client.get_metric_histories(ids, "loss");
  for (const std::string& id : ids) {
    ASSERT_EQ(got.at(id).size(), 12600u);
    EXPECT_EQ(as_tuples(got.at(id)), as_tuples(client.get_metric_history(id, "loss")));
  }
}

TEST(MlflowClientServer, BulkHistoriesFallBackToOneRunAtATimeWithoutTheEndpoint) {
  MlflowClient upstream(testing::real_server_config());
  const std::string exp = upstream.get_or_create_experiment(testing::unique_name("bulk404-"));
  const std::string a = upstream.create_run(exp, "a", 1, {}).run_id;
  const std::string b = upstream.create_run(exp, "b", 2, {}).run_id;
  upstream.log_batch(a, LogBatch{{{"loss", 1.0, 1, 1}, {"loss", 2.0, 2, 1}}, {}, {}});
  upstream.log_batch(b, LogBatch{{{"loss", 3.0, 1, 1}}, {}, {}});
  // A server (or proxy) that knows neither get-history-bulk nor get-history-bulk-interval.
  FaultServer proxy(
      testing::real_server_config().tracking_uri,
      [](const testing::ReceivedRequest& r) {
        if (r.target.find("get-history-bulk") == std::string::npos) return testing::Fault{};
        return testing::Fault::respond(
            {404, R"({"error_code":"ENDPOINT_NOT_FOUND","message":"no such endpoint"})", "application/json", {}});
      },
      0.0);
  MlflowClient client(fast_retries(proxy.uri()));
  for (int round = 0; round < 2; ++round) {
    const std::map<std::string, std::vector<MetricPoint>> got = client.get_metric_histories({a, b}, "loss");
    EXPECT_EQ(got.at(a).size(), 2u);
    EXPECT_EQ(got.at(b).size(), 1u);
  }
  std::size_t complete_requests = 0;
  std::size_t interval_requests = 0;
  for (const testing::ReceivedRequest& r : proxy.requests()) {
    interval_requests += r.target.find("get-history-bulk-interval") != std::string::npos ? 1 : 0;
    complete_requests += r.target.find("get-history-bulk?") != std::string::npos ? 1 : 0;
  }
  EXPECT_EQ(complete_requests, 1u);  // each asked once, then run by run
  EXPECT_EQ(interval_requests, 1u);
}

TEST(MlflowClientServer, BulkHistoriesUseTheIntervalReadWhereTheUiEndpointAnswersAPage) {
  MlflowClient upstream(testing::real_server_config());
  const std::string exp = upstream.get_or_create_experiment(testing::unique_name("bulkhtml-"));
  const std::string a = upstream.create_run(exp, "a", 1, {}).run_id;
  upstream.log_batch(a, LogBatch{{{"loss", std::nan(""), 1, 1}, {"loss", 2.0, 2, 1}}, {}, {}});
  // A proxy that serves the UI's page for every path it does not route, with 200.
  FaultServer proxy(
      testing::real_server_config().tracking_uri,
      [](const testing::ReceivedRequest& r) {
        if (r.target.find("get-history-bulk?") == std::string::npos) return testing::Fault{};
        return testing::Fault::respond({200, "<!doctype html><title>MLflow</title>", "text/html", {}});
      },
      0.0);
  MlflowClient client(fast_retries(proxy.uri()));
  const std::map<std::string, std::vector<MetricPoint>> got = client.get_metric_histories({a}, "loss");
  EXPECT_EQ(as_tuples(got.at(a)), as_tuples(upstream.get_metric_history(a, "loss")));
}

TEST(MlflowClientServer, OneLogBatchCallArrivesCompleteWhenSplit) {
  MlflowClient client(testing::real_server_config());
  const std::string exp = client.get_or_create_experiment(testing::unique_name("split-"));
  const std::string run = client.create_run(exp, "split", 1, {}).run_id;
  LogBatch batch;
  for (int i = 0; i < 250; ++i) batch.params.emplace_back("p" + std::to_string(i), std::string(i + 1, 'v'));
  batch.params.emplace_back("long", std::string(6000, 'L'));
  for (int i = 0; i < 2500; ++i) batch.metrics.push_back({"m" + std::to_string(i % 3), i * 1.5, i, 1});
  client.log_batch(run, batch);
  const MlflowRun got = client.get_run(run);
  ASSERT_EQ(got.params.size(), 251u);
  EXPECT_EQ(got.params.at("p249"), std::string(250, 'v'));
  EXPECT_EQ(got.params.at("long"), std::string(6000, 'L'));  // not truncated
  std::size_t points = 0;
  for (const auto& [key, history] : testing::mlflow_histories(client, run)) points += history.size();
  EXPECT_EQ(points, 2500u);
}

TEST(MlflowClientServer, NanAndInfinitiesRoundTrip) {
  MlflowClient client(testing::real_server_config());
  const std::string exp = client.get_or_create_experiment(testing::unique_name("nan-"));
  const std::string run = client.create_run(exp, "nan", 1, {}).run_id;
  const double inf = std::numeric_limits<double>::infinity();
  LogBatch batch;
  batch.metrics = {{"x", std::numeric_limits<double>::quiet_NaN(), 0, 1},
                   {"x", inf, 1, 1},
                   {"x", -inf, 2, 1},
                   {"x", 0.1, 3, 1},
                   {"x", -0.0, 4, 1},
                   {"x", std::numeric_limits<double>::denorm_min(), 5, 1},
                   {"x", 1e300, 6, 1}};
  client.log_batch(run, batch);
  const std::vector<MetricPoint> h = client.get_metric_history(run, "x");
  ASSERT_EQ(h.size(), 7u);
  EXPECT_TRUE(std::isnan(h[0].value));
  EXPECT_EQ(h[1].value, inf);
  EXPECT_EQ(h[2].value, -inf);
  EXPECT_EQ(h[3].value, 0.1);
  EXPECT_EQ(h[4].value, 0.0);
  EXPECT_EQ(h[5].value, std::numeric_limits<double>::denorm_min());
  EXPECT_EQ(h[6].value, 1e300);
}

TEST(MlflowClientServer, ArtifactsGoThroughTheProxy) {
  testing::TempDir dir;
  MlflowClient client(testing::real_server_config());
  const std::string exp = client.get_or_create_experiment(testing::unique_name("art-"));
  const MlflowRun run = client.create_run(exp, "art", 1, {});
  EXPECT_EQ(run.artifact_uri.rfind("mlflow-artifacts:", 0), 0u) << run.artifact_uri;
  const std::string bytes = testing::tiny_png({{"k", "v"}}) + std::string(100000, '\xff');
  testing::write_file(dir.file("in.png"), bytes);
  client.upload_artifact(run.run_id, dir.file("in.png"), "figures/sub dir/a b.png");
  const std::vector<MlflowFileInfo> files = client.list_artifacts_recursive(run.run_id);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].path, "figures/sub dir/a b.png");
  EXPECT_EQ(files[0].file_size, static_cast<std::int64_t>(bytes.size()));
  EXPECT_EQ(client.download_artifact(run.run_id, "figures/sub dir/a b.png", dir.file("out/a.png")), sha256_hex(bytes));
  EXPECT_EQ(testing::read_file(dir.file("out/a.png")), bytes);
  // The same listing through the artifact proxy, once the run's root is known.
  MlflowClient proxied(testing::real_server_config());
  proxied.remember_artifact_uri(run.run_id, run.artifact_uri);
  const std::vector<MlflowFileInfo> again = proxied.list_artifacts_recursive(run.run_id);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].path, "figures/sub dir/a b.png");
  EXPECT_EQ(again[0].file_size, static_cast<std::int64_t>(bytes.size()));
  EXPECT_THROW(client.upload_artifact(run.run_id, dir.file("in.png"), "../x.png"), InputError);
  client.set_terminated(run.run_id, RunStatus::kFinished);
  EXPECT_EQ(client.get_run(run.run_id).status, RunStatus::kFinished);
}

TEST(MlflowClientServer, RetriedCreateFindsTheRunByLocalId) {
  MlflowClient client(testing::real_server_config());
  const std::string exp = client.get_or_create_experiment(testing::unique_name("once-"));
  const std::string local = "00112233445566778899aabbccddeeff";
  const KeyValues tags = {{"wmtp.local_run_id", local}, {"mlflow.runName", "r"}};
  bool created = false;
  const MlflowRun first = client.find_or_create_run(exp, local, "r", 1, tags, &created);
  EXPECT_TRUE(created);
  const MlflowRun again = client.find_or_create_run(exp, local, "r", 1, tags, &created);
  EXPECT_FALSE(created);
  EXPECT_EQ(again.run_id, first.run_id);
  EXPECT_EQ(client.search_runs({exp}).size(), 1u);
}

TEST(MlflowClientServer, ServerErrorsCarryMlflowsCodeAndMessage) {
  MlflowClient client(testing::real_server_config());
  EXPECT_FALSE(client.get_experiment_by_name(testing::unique_name("absent-")).has_value());
  const std::string exp = client.get_or_create_experiment(testing::unique_name("err-"));
  const std::string run = client.create_run(exp, "r", 1, {}).run_id;
  LogBatch batch;
  batch.params.emplace_back("lr", "0.1");
  client.log_batch(run, batch);
  client.log_batch(run, batch);  // same value again: accepted
  batch.params[0].second = "0.2";
  try {
    client.log_batch(run, batch);
    FAIL();
  } catch (const MlflowError& e) {
    EXPECT_EQ(e.http_status(), 400);
    EXPECT_EQ(e.error_code(), "INVALID_PARAMETER_VALUE");
    EXPECT_EQ(e.exit_code(), kExitInput);
    EXPECT_NE(std::string(e.what()).find("lr"), std::string::npos) << e.what();
  }
  try {
    client.get_run("ffffffffffffffffffffffffffffffff");
    FAIL();
  } catch (const MlflowError& e) {
    EXPECT_EQ(e.error_code(), "RESOURCE_DOES_NOT_EXIST");
  }
}

TEST(MlflowClientFaults, PlainText403IsOneClearLineAndHostIsSentWithoutOrigin) {
  FaultServer server({{403, "Invalid Host header - possible DNS rebinding attack detected\n", "text/plain", {}}});
  MlflowClient client(fast_retries(server.uri()));
  try {
    client.get_experiment_by_name("e");
    FAIL();
  } catch (const MlflowError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.find('\n'), std::string::npos);
    EXPECT_NE(what.find("HTTP 403"), std::string::npos) << what;
    EXPECT_NE(what.find("non-JSON answer \"Invalid Host header - possible DNS rebinding attack detected\""),
              std::string::npos)
        << what;
    EXPECT_EQ(e.exit_code(), kExitInput);
  }
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u) << "a 403 is not retried";
  EXPECT_EQ(requests[0].headers.at("host"), server.uri().substr(7));
  EXPECT_EQ(requests[0].headers.count("origin"), 0u);
  EXPECT_EQ(requests[0].target, "/api/2.0/mlflow/experiments/get-by-name?experiment_name=e");
}

TEST(MlflowClientFaults, Retries503ThenSucceeds) {
  FaultServer server({{503, "busy", "text/plain", {}},
                      {503, R"({"error_code":"TEMPORARILY_UNAVAILABLE","message":"later"})", "application/json", {}},
                      {200, kExperimentJson, "application/json", {}}});
  MlflowClient client(fast_retries(server.uri()));
  const auto e = client.get_experiment_by_name("e");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->experiment_id, "7");
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST(MlflowClientFaults, HonoursRetryAfterOn429) {
  FaultServer server(
      {{429, "{}", "application/json", {{"Retry-After", "1"}}}, {200, kExperimentJson, "application/json", {}}});
  MlflowClient client(fast_retries(server.uri()));
  const auto begin = std::chrono::steady_clock::now();
  ASSERT_TRUE(client.get_experiment_by_name("e").has_value());
  EXPECT_GE(std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count(), 0.95);
}

TEST(MlflowClientFaults, Persistent5xxEndsAsUnreachableAfterTheRetries) {
  FaultServer server({{500, R"({"error_code":"INTERNAL_ERROR","message":"db down"})", "application/json", {}}});
  MlflowClient client(fast_retries(server.uri()));
  try {
    client.get_run("abc");
    FAIL();
  } catch (const MlflowError& e) {
    EXPECT_EQ(e.exit_code(), kExitUnreachable);
    EXPECT_NE(std::string(e.what()).find("INTERNAL_ERROR: db down after 4 attempts"), std::string::npos) << e.what();
  }
  EXPECT_EQ(server.requests().size(), 4u);
}

TEST(MlflowClientFaults, Other4xxFailAtOnce) {
  FaultServer server(
      {{400, R"({"error_code":"INVALID_PARAMETER_VALUE","message":"bad\nthing"})", "application/json", {}}});
  MlflowClient client(fast_retries(server.uri()));
  try {
    client.call("POST", "runs/update", {{"run_id", "x"}});
    FAIL();
  } catch (const MlflowError& e) {
    EXPECT_EQ(e.error_code(), "INVALID_PARAMETER_VALUE");
    EXPECT_NE(std::string(e.what()).find("HTTP 400 INVALID_PARAMETER_VALUE: bad thing"), std::string::npos) << e.what();
  }
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(MlflowClientFaults, CredentialsGoInHeadersNeverInMessages) {
  FaultServer server({{401, R"({"error_code":"UNAUTHENTICATED","message":"no"})", "application/json", {}}});
  const std::string uri = "http://alice:hunter2secret@" + server.uri().substr(7);
  MlflowClient client(fast_retries(uri));
  try {
    client.get_experiment_by_name("e");
    FAIL();
  } catch (const MlflowError& e) {
    EXPECT_EQ(std::string(e.what()).find("hunter2secret"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(server.uri()), std::string::npos) << e.what();
  }
  // Basic base64("alice:hunter2secret")
  EXPECT_EQ(server.requests().at(0).headers.at("authorization"), "Basic YWxpY2U6aHVudGVyMnNlY3JldA==");
}

TEST(MlflowClientFaults, UnreachableHostIsAnUnreachableError) {
  MlflowConfig config = fast_retries("http://127.0.0.1:1");
  config.max_retries = 1;
  MlflowClient client(config);
  try {
    client.get_experiment_by_name("e");
    FAIL();
  } catch (const UnreachableError& e) {
    EXPECT_NE(std::string(e.what()).find("MLflow at http://127.0.0.1:1 is unreachable"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("2 attempts"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace wmtp::tracking
