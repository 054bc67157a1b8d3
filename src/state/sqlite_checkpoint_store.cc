#include "state/sqlite_checkpoint_store.h"

#include <sqlite3.h>

#include <utility>

namespace cesync::state {
namespace {

constexpr int kSchemaVersion = 1;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS cursors (
  scope      TEXT    NOT NULL,
  name       TEXT    NOT NULL,
  value      TEXT    NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (scope, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dead_letters (
  id     INTEGER PRIMARY KEY AUTOINCREMENT,
  scope  TEXT    NOT NULL,
  key    TEXT    NOT NULL,
  reason TEXT    NOT NULL,
  at     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_by_scope ON dead_letters (scope, id);
CREATE INDEX IF NOT EXISTS dead_letters_by_key ON dead_letters (scope, key);
)sql";

// A prepared statement that finalises itself.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  [[nodiscard]] bool ok() const { return stmt_ != nullptr; }
  void bind(int index, const std::string& text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  void bind(int index, std::int64_t v) { sqlite3_bind_int64(stmt_, index, v); }
  /// SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(stmt_); }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  std::string text(int column) {
    const auto* p = sqlite3_column_text(stmt_, column);
    return p == nullptr
               ? std::string()
               : std::string(reinterpret_cast<const char*>(p),
                             static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
  }
  std::int64_t integer(int column) { return sqlite3_column_int64(stmt_, column); }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace

Result<std::unique_ptr<SqliteCheckpointStore>> SqliteCheckpointStore::openFile(
    const std::string& path, int flags) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = "cannot open state file " + path + ": " +
                          (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    return fail(ErrorCode::kConfig, std::move(message));
  }
  std::unique_ptr<SqliteCheckpointStore> store(new SqliteCheckpointStore(db, path));
  sqlite3_busy_timeout(db, 5000);
  return store;
}

Result<std::unique_ptr<SqliteCheckpointStore>> SqliteCheckpointStore::open(
    const std::string& path) {
  CESYNC_ASSIGN_OR_RETURN(
      store, openFile(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX));
  sqlite3* db = store->db_;
  // WAL + FULL: a commit is on disk when it returns, and readers never block the writer.
  CESYNC_TRY(store->exec("PRAGMA journal_mode=WAL"));
  CESYNC_TRY(store->exec("PRAGMA synchronous=FULL"));
  Statement version(db, "PRAGMA user_version");
  if (!version.ok() || version.step() != SQLITE_ROW) {
    return fail(store->sqlError("reading the schema version"));
  }
  const std::int64_t found = version.integer(0);
  if (found > kSchemaVersion) {
    return fail(ErrorCode::kConfig, "state file " + path + " has schema version " +
                                        std::to_string(found) + ", newer than this cesync (" +
                                        std::to_string(kSchemaVersion) + ")");
  }
  CESYNC_TRY(store->exec(kSchema));
  CESYNC_TRY(store->exec("PRAGMA user_version = 1"));
  return store;
}

Result<std::unique_ptr<SqliteCheckpointStore>> SqliteCheckpointStore::openReadOnly(
    const std::string& path) {
  CESYNC_ASSIGN_OR_RETURN(store, openFile(path, SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX));
  sqlite3* db = store->db_;
  Statement version(db, "PRAGMA user_version");
  if (!version.ok() || version.step() != SQLITE_ROW) {
    return fail(store->sqlError("reading the schema version"));
  }
  if (version.integer(0) == 0) {
    // Being created by a daemon that has not written its tables yet.
    return fail(ErrorCode::kNotFound, "state file " + path + " holds no state yet");
  }
  if (version.integer(0) != kSchemaVersion) {
    return fail(ErrorCode::kConfig, "state file " + path + " has schema version " +
                                        std::to_string(version.integer(0)) +
                                        ", this cesync reads " + std::to_string(kSchemaVersion));
  }
  return store;
}

SqliteCheckpointStore::SqliteCheckpointStore(sqlite3* db, std::string path)
    : db_(db), path_(std::move(path)) {}

SqliteCheckpointStore::~SqliteCheckpointStore() {
  sqlite3_close(db_);
}

Error SqliteCheckpointStore::sqlError(const std::string& what) const {
  return Error{ErrorCode::kIo, "state file " + path_ + ": " + what + ": " + sqlite3_errmsg(db_)};
}

Status SqliteCheckpointStore::exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message != nullptr ? message : "unknown error";
    sqlite3_free(message);
    return fail(ErrorCode::kIo, "state file " + path_ + ": " + text);
  }
  return {};
}

Result<std::optional<std::string>> SqliteCheckpointStore::get(const std::string& scope,
                                                              const std::string& name) {
  std::lock_guard lock(mutex_);
  Statement s(db_, "SELECT value FROM cursors WHERE scope = ?1 AND name = ?2");
  if (!s.ok()) {
    return fail(sqlError("reading a cursor"));
  }
  s.bind(1, scope);
  s.bind(2, name);
  switch (s.step()) {
    case SQLITE_ROW:
      return std::optional<std::string>(s.text(0));
    case SQLITE_DONE:
      return std::optional<std::string>();
    default:
      return fail(sqlError("reading a cursor"));
  }
}

Result<std::vector<Cursor>> SqliteCheckpointStore::list(const std::string& scope) {
  return selectCursors(scope, std::nullopt, -1);
}

Result<std::vector<Cursor>> SqliteCheckpointStore::listUpTo(const std::string& scope,
                                                            const std::string& upto_name,
                                                            std::uint32_t limit) {
  return selectCursors(scope, upto_name, std::int64_t{limit});
}

Result<std::vector<Cursor>> SqliteCheckpointStore::selectCursors(
    const std::string& scope, const std::optional<std::string>& upto_name, std::int64_t limit) {
  std::lock_guard lock(mutex_);
  // A negative LIMIT is no limit. A bound scans the primary key's range (scope, name).
  Statement s(db_, upto_name ? "SELECT name, value, updated_at FROM cursors WHERE scope = ?1 AND "
                               "name <= ?2 ORDER BY name LIMIT ?3"
                             : "SELECT name, value, updated_at FROM cursors WHERE scope = ?1 "
                               "ORDER BY name LIMIT ?3");
  if (!s.ok()) {
    return fail(sqlError("listing cursors"));
  }
  s.bind(1, scope);
  if (upto_name) {
    s.bind(2, *upto_name);
  }
  s.bind(3, limit);
  std::vector<Cursor> out;
  int rc = 0;
  while ((rc = s.step()) == SQLITE_ROW) {
    out.push_back(Cursor{scope, s.text(0), s.text(1), s.integer(2)});
  }
  if (rc != SQLITE_DONE) {
    return fail(sqlError("listing cursors"));
  }
  return out;
}

Status SqliteCheckpointStore::commit(const Commit& commit) {
  std::lock_guard lock(mutex_);
  CESYNC_TRY(exec("BEGIN IMMEDIATE"));
  Statement cursor(db_,
                   "INSERT INTO cursors (scope, name, value, updated_at) VALUES (?1, ?2, ?3, ?4) "
                   "ON CONFLICT (scope, name) DO UPDATE SET value = excluded.value, "
                   "updated_at = excluded.updated_at");
  Statement letter(db_,
                   "INSERT INTO dead_letters (scope, key, reason, at) SELECT ?1, ?2, ?3, ?4 "
                   "WHERE NOT EXISTS (SELECT 1 FROM dead_letters WHERE scope = ?1 AND key = ?2 "
                   "AND reason = ?3)");
  Statement erase(db_, "DELETE FROM cursors WHERE scope = ?1 AND name = ?2");
  bool ok = cursor.ok() && letter.ok() && erase.ok();
  for (const auto& [scope, name] : commit.erase) {
    if (!ok) {
      break;
    }
    erase.bind(1, scope);
    erase.bind(2, name);
    ok = erase.step() == SQLITE_DONE;
    erase.reset();
  }
  for (const auto& c : commit.cursors) {
    if (!ok) {
      break;
    }
    cursor.bind(1, c.scope);
    cursor.bind(2, c.name);
    cursor.bind(3, c.value);
    cursor.bind(4, c.updated_at_micros);
    ok = cursor.step() == SQLITE_DONE;
    cursor.reset();
  }
  for (const auto& d : commit.dead_letters) {
    if (!ok) {
      break;
    }
    letter.bind(1, d.scope);
    letter.bind(2, d.key);
    letter.bind(3, d.reason);
    letter.bind(4, d.at_micros);
    ok = letter.step() == SQLITE_DONE;
    letter.reset();
  }
  if (!ok) {
    Error error = sqlError("saving a checkpoint");
    (void)exec("ROLLBACK");
    return fail(std::move(error));
  }
  return exec("COMMIT");
}

Status SqliteCheckpointStore::clearScope(const std::string& scope) {
  std::lock_guard lock(mutex_);
  Statement s(db_, "DELETE FROM cursors WHERE scope = ?1");
  if (!s.ok()) {
    return fail(sqlError("clearing cursors"));
  }
  s.bind(1, scope);
  if (s.step() != SQLITE_DONE) {
    return fail(sqlError("clearing cursors"));
  }
  return {};
}

Result<std::uint64_t> SqliteCheckpointStore::deadLetterCount(const std::string& scope) {
  std::lock_guard lock(mutex_);
  Statement s(db_, "SELECT count(*) FROM dead_letters WHERE scope = ?1");
  if (!s.ok()) {
    return fail(sqlError("counting dead letters"));
  }
  s.bind(1, scope);
  if (s.step() != SQLITE_ROW) {
    return fail(sqlError("counting dead letters"));
  }
  return static_cast<std::uint64_t>(s.integer(0));
}

Result<std::vector<DeadLetter>> SqliteCheckpointStore::deadLetters(const std::string& scope,
                                                                   std::uint32_t limit) {
  std::lock_guard lock(mutex_);
  Statement s(db_,
              "SELECT key, reason, at FROM dead_letters WHERE scope = ?1 ORDER BY id DESC "
              "LIMIT ?2");
  if (!s.ok()) {
    return fail(sqlError("reading dead letters"));
  }
  s.bind(1, scope);
  s.bind(2, static_cast<std::int64_t>(limit));
  std::vector<DeadLetter> out;
  int rc = 0;
  while ((rc = s.step()) == SQLITE_ROW) {
    out.push_back(DeadLetter{scope, s.text(0), s.text(1), s.integer(2)});
  }
  if (rc != SQLITE_DONE) {
    return fail(sqlError("reading dead letters"));
  }
  return out;
}

}  // namespace cesync::state
