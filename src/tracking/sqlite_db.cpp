#include "tracking/sqlite_db.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/errors.h"

namespace wmtp::tracking {
namespace {

// A WAL database in a directory this process cannot write (read-only storage) cannot get the
// -shm file SQLite needs to read it, so it is read as an immutable file instead; not when a
// -wal file holds data that only a normal open would replay.
bool read_as_immutable(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  struct stat wal {};
  const bool wal_data = stat((path + "-wal").c_str(), &wal) == 0 && wal.st_size > 0;
  return access(dir.c_str(), W_OK) != 0 && !wal_data;
}

std::string immutable_uri(const std::string& path) {
  std::string uri = "file:";
  for (char c : path) {
    if (c == '%' || c == '?' || c == '#') {
      static const char* hex = "0123456789ABCDEF";
      uri += '%';
      uri += hex[static_cast<unsigned char>(c) >> 4];
      uri += hex[c & 15];
    } else {
      uri += c;
    }
  }
  return uri + "?immutable=1";
}

// Throws the error for a failed call: a damaged file (SQLITE_CORRUPT, SQLITE_NOTADB) is an input
// error that says what to do; anything else is said as SQLite says it.
[[noreturn]] void throw_sqlite_error(int code, const std::string& path, const std::string& what) {
  if ((code & 0xff) == SQLITE_CORRUPT || (code & 0xff) == SQLITE_NOTADB)
    throw InputError(damaged_ledger_message(path, what));
  throw Error("ledger " + path + ": " + what);
}

}  // namespace

std::string damaged_ledger_message(const std::string& path, const std::string& sqlite_says) {
  return "ledger " + path + " is damaged (SQLite: " + sqlite_says +
         "); nothing was written to it. Recover what it holds " + "into a new file with `sqlite3 " + path +
         " .recover | sqlite3 recovered.sqlite` and pass that file with " + "--ledger, or restore " + path +
         " from a backup";
}

SqliteDb::SqliteDb(const std::string& path, Mode mode) : path_(path) {
  int flags = mode == Mode::kReadOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  std::string target = path;
  if (mode == Mode::kReadOnly && read_as_immutable(path)) {
    target = immutable_uri(path);
    flags |= SQLITE_OPEN_URI;
  }
  const int rc = sqlite3_open_v2(target.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    const std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw UnreachableError("cannot open ledger " + path + ": " + message);
  }
  sqlite3_extended_result_codes(db_, 1);
}

SqliteDb::~SqliteDb() { sqlite3_close(db_); }

void SqliteDb::exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message != nullptr ? message : "unknown error";
    sqlite3_free(message);
    throw_sqlite_error(sqlite3_extended_errcode(db_), path_, text);
  }
}

std::int64_t SqliteDb::changes() const { return sqlite3_changes(db_); }

std::int64_t SqliteDb::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

void SqliteDb::fail(const std::string& what) const {
  throw_sqlite_error(sqlite3_extended_errcode(db_), path_, what + ": " + sqlite3_errmsg(db_));
}

Statement::Statement(SqliteDb& db, const char* sql) : db_(db) {
  if (sqlite3_prepare_v3(db.handle(), sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) != SQLITE_OK) {
    db.fail("cannot prepare statement");
  }
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::bind(int index, std::int64_t value) {
  if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK) db_.fail("bind");
  return *this;
}

Statement& Statement::bind(int index, double value) {
  if (sqlite3_bind_double(stmt_, index, value) != SQLITE_OK) db_.fail("bind");
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  if (sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT) != SQLITE_OK) {
    db_.fail("bind");
  }
  return *this;
}

Statement& Statement::bind_null(int index) {
  if (sqlite3_bind_null(stmt_, index) != SQLITE_OK) db_.fail("bind");
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  const std::string sql = sqlite3_sql(stmt_);
  sqlite3_reset(stmt_);
  db_.fail("statement '" + sql.substr(0, 60) + "' failed");
}

void Statement::run() {
  while (step()) {
  }
  reset();
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Statement::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

std::int64_t Statement::int64(int column) const { return sqlite3_column_int64(stmt_, column); }

double Statement::real(int column) const { return sqlite3_column_double(stmt_, column); }

std::string_view Statement::text(int column) const {
  const unsigned char* p = sqlite3_column_text(stmt_, column);
  if (p == nullptr) return {};
  return {reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column))};
}

Transaction::Transaction(SqliteDb& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }

Transaction::~Transaction() {
  if (open_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  db_.exec("COMMIT");
  open_ = false;
}

}  // namespace wmtp::tracking
