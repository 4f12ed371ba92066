#pragma once
// Thin RAII wrappers over the SQLite C API: a connection, a prepared statement, a transaction.
// One connection per thread; errors become wmtp::Error naming the database file.
#include <cstdint>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace wmtp::tracking {

class SqliteDb {
 public:
  enum class Mode { kReadWrite, kReadOnly };
  // kReadWrite creates the file; kReadOnly requires it. Throws UnreachableError when the file
  // cannot be opened.
  SqliteDb(const std::string& path, Mode mode);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  sqlite3* handle() { return db_; }
  const std::string& path() const { return path_; }
  void exec(const char* sql);
  std::int64_t changes() const;
  std::int64_t last_insert_rowid() const;
  // Throws wmtp::Error "ledger <path>: <what>: <sqlite message>"; an InputError saying how to
  // recover when SQLite found the file damaged (SQLITE_CORRUPT, SQLITE_NOTADB).
  [[noreturn]] void fail(const std::string& what) const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

// "ledger <path> is damaged (SQLite: <sqlite_says>); nothing was written to it. Recover ...".
std::string damaged_ledger_message(const std::string& path, const std::string& sqlite_says);

class Statement {
 public:
  Statement(SqliteDb& db, const char* sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are 1-based, as in SQLite.
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, double value);  // NaN is stored as NULL by SQLite
  Statement& bind(int index, std::string_view value);
  Statement& bind_null(int index);
  // True when a row is available; false when done. Throws on error.
  bool step();
  // Steps to the end and resets, for statements without rows.
  void run();
  void reset();

  bool is_null(int column) const;
  std::int64_t int64(int column) const;
  double real(int column) const;
  std::string_view text(int column) const;  // valid until the next step
  std::string str(int column) const { return std::string(text(column)); }

 private:
  SqliteDb& db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// BEGIN IMMEDIATE on construction; ROLLBACK on destruction unless commit() was called.
class Transaction {
 public:
  explicit Transaction(SqliteDb& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  SqliteDb& db_;
  bool open_ = true;
};

}  // namespace wmtp::tracking
