#include "tracking_test_util.h"

#include <sqlite3.h>

#include <array>
#include <cmath>
#include <fstream>
#include <random>
#include <stdexcept>

#include "support/test_support.h"

namespace wmtp::testing {
namespace {

std::uint32_t crc32(const std::string& bytes) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char b : bytes) {
    crc ^= b;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

std::string chunk(const std::string& type, const std::string& data) {
  return be32(static_cast<std::uint32_t>(data.size())) + type + data + be32(crc32(type + data));
}

}  // namespace

tracking::TrackerOptions ledger_only(const std::string& ledger_path) {
  tracking::TrackerOptions options;
  options.ledger_path = ledger_path;
  options.tracking_uri = "";
  return options;
}

std::string unique_name(const std::string& prefix) {
  static const char* hex = "0123456789abcdef";
  std::random_device device;
  std::string out = prefix;
  for (int i = 0; i < 12; ++i) out += hex[device() % 16];
  return out;
}

tracking::MlflowConfig real_server_config() { return tracking::MlflowConfig::from_env(test_tracking_uri()); }

std::string tiny_png(const std::map<std::string, std::string>& text) {
  std::string png = "\x89PNG\r\n\x1a\n";
  const std::string ihdr = be32(1) + be32(1) + std::string("\x08\x00\x00\x00\x00", 5);
  png += chunk("IHDR", ihdr);
  for (const auto& [k, v] : text) png += chunk("tEXt", k + std::string(1, '\0') + v);
  // zlib stream of one stored block holding the scanline [filter 0, pixel 0].
  const std::string idat("\x78\x01\x01\x02\x00\xfd\xff\x00\x00\x00\x02\x00\x01", 13);
  png += chunk("IDAT", idat);
  png += chunk("IEND", "");
  return png;
}

std::map<std::string, std::vector<MetricPoint>> mlflow_histories(tracking::MlflowClient& client,
                                                                 const std::string& run_id) {
  std::map<std::string, std::vector<MetricPoint>> out;
  for (const auto& [key, latest] : client.get_run(run_id).latest_metrics) {
    out[key] = client.get_metric_history(run_id, key);
  }
  return out;
}

std::int64_t ledger_scalar(const std::string& ledger_path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(ledger_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    throw std::runtime_error("cannot open " + ledger_path);
  }
  sqlite3_stmt* stmt = nullptr;
  std::int64_t value = -1;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW) {
    value = sqlite3_column_int64(stmt, 0);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return value;
}

bool same_points(const std::vector<MetricPoint>& a, const std::vector<MetricPoint>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const bool values = a[i].value == b[i].value || (std::isnan(a[i].value) && std::isnan(b[i].value));
    if (!values || a[i].step != b[i].step || a[i].timestamp_ms != b[i].timestamp_ms) return false;
  }
  return true;
}

void sqlite_exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    sqlite3_close(db);
    throw std::runtime_error("cannot open " + path);
  }
  char* message = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
  const std::string text = message != nullptr ? message : "";
  sqlite3_free(message);
  sqlite3_close(db);
  if (rc != SQLITE_OK) throw std::runtime_error(path + ": " + text);
}

void corrupt_table_page(const std::string& ledger_path, const std::string& table) {
  sqlite_exec(ledger_path, "PRAGMA wal_checkpoint(TRUNCATE);");
  const std::int64_t page_size = ledger_scalar(ledger_path, "PRAGMA page_size");
  const std::int64_t root = ledger_scalar(ledger_path,
                                          "SELECT rootpage FROM sqlite_master WHERE name = '" + table + "'");
  if (page_size <= 0 || root <= 1) throw std::runtime_error("no table " + table + " in " + ledger_path);
  std::fstream file(ledger_path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekp((root - 1) * page_size);
  std::string garbage(static_cast<std::size_t>(page_size), '\0');
  for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>(0xA5 ^ (i * 7));
  file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  if (!file.flush()) throw std::runtime_error("cannot corrupt " + ledger_path);
}

}  // namespace wmtp::testing
