// MLflow's limits, the log-batch splitter and the tracking configuration: pure functions.
#include <gtest/gtest.h>

#include <cstdlib>

#include "core/errors.h"
#include "tracking/mlflow_client.h"
#include "tracking/mlflow_config.h"
#include "tracking/mlflow_limits.h"

namespace wmtp::tracking {
namespace {

TEST(SplitLogBatch, KeepsEverythingInOrderWithinMlflowLimits) {
  LogBatch all;
  for (int i = 0; i < 250; ++i) all.params.emplace_back("p" + std::to_string(i), std::to_string(i));
  for (int i = 0; i < 130; ++i) all.tags.emplace_back("t" + std::to_string(i), "v");
  for (int i = 0; i < 2500; ++i) all.metrics.push_back({"m" + std::to_string(i % 3), i * 0.25, i, 7});
  const std::vector<LogBatch> parts = split_log_batch(all);
  LogBatch joined;
  for (const LogBatch& part : parts) {
    EXPECT_LE(part.params.size(), kMaxParamsPerBatch);
    EXPECT_LE(part.tags.size(), kMaxTagsPerBatch);
    EXPECT_LE(part.metrics.size(), kMaxMetricsPerBatch);
    EXPECT_LE(part.size(), kMaxEntitiesPerBatch);
    EXPECT_GT(part.size(), 0u);
    joined.params.insert(joined.params.end(), part.params.begin(), part.params.end());
    joined.tags.insert(joined.tags.end(), part.tags.begin(), part.tags.end());
    joined.metrics.insert(joined.metrics.end(), part.metrics.begin(), part.metrics.end());
  }
  EXPECT_EQ(joined.params, all.params);
  EXPECT_EQ(joined.tags, all.tags);
  ASSERT_EQ(joined.metrics.size(), all.metrics.size());
  for (std::size_t i = 0; i < all.metrics.size(); ++i) EXPECT_EQ(joined.metrics[i].step, all.metrics[i].step);
  EXPECT_EQ(parts.size(), 3u);  // 2880 entities: three requests of at most 1000
}

TEST(SplitLogBatch, SplitsLongValuesByRequestSizeNeverTruncating) {
  LogBatch all;
  for (int i = 0; i < 100; ++i) all.params.emplace_back("p" + std::to_string(i), std::string(6000, 'a'));
  for (int i = 0; i < 100; ++i) all.tags.emplace_back("t" + std::to_string(i), std::string(8000, 'b'));
  const std::vector<LogBatch> parts = split_log_batch(all);
  EXPECT_GE(parts.size(), 2u);  // 1.4 MB of values: more than one request
  std::size_t params = 0;
  for (const LogBatch& part : parts) {
    std::size_t bytes = 0;
    for (const auto& kv : part.params) bytes += kv.second.size();
    for (const auto& kv : part.tags) bytes += kv.second.size();
    EXPECT_LT(bytes, 1000000u);
    for (const auto& kv : part.params) EXPECT_EQ(kv.second.size(), 6000u);
    params += part.params.size();
  }
  EXPECT_EQ(params, 100u);
}

TEST(SplitLogBatch, ValueOverTheLimitIsAnErrorNamingTheKey) {
  LogBatch all;
  all.params.emplace_back("ok", "1");
  all.params.emplace_back("config_json", std::string(6001, 'x'));
  try {
    split_log_batch(all);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("'config_json'"), std::string::npos) << e.what();
  }
  LogBatch keyed;
  keyed.metrics.push_back({std::string(300, 'k'), 1.0, 0, 0});
  EXPECT_THROW(split_log_batch(keyed), InputError);
}

TEST(MlflowConfig, CredentialsNeverStayInTheUri) {
  unsetenv("MLFLOW_TRACKING_USERNAME");
  unsetenv("MLFLOW_TRACKING_PASSWORD");
  const MlflowConfig c = MlflowConfig::from_env(std::string("https://alice:s%40cret@mlflow.example:8443/prefix/"));
  EXPECT_EQ(c.tracking_uri, "https://mlflow.example:8443/prefix");
  EXPECT_EQ(c.username, "alice");
  EXPECT_EQ(c.password, "s@cret");
  EXPECT_EQ(redact_uri("http://u:p@h:1/x@y"), "http://h:1/x@y");
  EXPECT_EQ(redact_uri("http://h:1"), "http://h:1");
  EXPECT_EQ(redact_secrets(c, "token s@cret here"), "token *** here");
}

TEST(MlflowConfig, ReadsMlflowEnvironment) {
  setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999", 1);
  setenv("MLFLOW_TRACKING_TOKEN", "tok123", 1);
  setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "3", 1);
  setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "9", 1);
  setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0.5", 1);
  setenv("MLFLOW_TRACKING_INSECURE_TLS", "true", 1);
  const MlflowConfig c = MlflowConfig::from_env();
  EXPECT_EQ(c.tracking_uri, "http://127.0.0.1:5999");
  EXPECT_EQ(c.token, "tok123");
  EXPECT_EQ(c.max_retries, 3);
  EXPECT_EQ(c.timeout_s, 9.0);
  EXPECT_EQ(c.backoff_factor, 0.5);
  EXPECT_TRUE(c.insecure_tls);
  EXPECT_FALSE(MlflowConfig::from_env(std::string("")).enabled());  // explicit "": ledger only
  setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "many", 1);
  try {
    MlflowConfig::from_env();
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("MLFLOW_HTTP_REQUEST_MAX_RETRIES='many'"), std::string::npos);
  }
  for (const char* name :
       {"MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_TOKEN", "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
        "MLFLOW_HTTP_REQUEST_TIMEOUT", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "MLFLOW_TRACKING_INSECURE_TLS"}) {
    unsetenv(name);
  }
  try {
    MlflowConfig::from_env(std::string("file:///tmp/mlruns"));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("'file:///tmp/mlruns' is not supported"), std::string::npos);
  }
}

}  // namespace
}  // namespace wmtp::tracking
