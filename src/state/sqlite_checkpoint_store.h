#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "state/checkpoint_store.h"

struct sqlite3;

namespace cesync::state {

/// The default CheckpointStore: one SQLite file in WAL mode with synchronous=FULL, so a commit
/// survives a crash of the process or the machine. Safe to share between threads (calls are
/// serialised). Opening migrates older schema versions forward.
class SqliteCheckpointStore final : public CheckpointStore {
 public:
  /// Opens (creating if needed) the store at `path`.
  static Result<std::unique_ptr<SqliteCheckpointStore>> open(const std::string& path);
  /// Opens an existing store for reading only, beside a daemon that writes it (`cesync
  /// status`): nothing is created or migrated, so the reader never waits for the writer's lock.
  /// Commits fail. kNotFound when the file holds no state yet (a daemon is creating it).
  static Result<std::unique_ptr<SqliteCheckpointStore>> openReadOnly(const std::string& path);

  ~SqliteCheckpointStore() override;
  SqliteCheckpointStore(const SqliteCheckpointStore&) = delete;
  SqliteCheckpointStore& operator=(const SqliteCheckpointStore&) = delete;

  Result<std::optional<std::string>> get(const std::string& scope,
                                         const std::string& name) override;
  Result<std::vector<Cursor>> list(const std::string& scope) override;
  Result<std::vector<Cursor>> listUpTo(const std::string& scope, const std::string& upto_name,
                                       std::uint32_t limit) override;
  Status commit(const Commit& commit) override;
  Status clearScope(const std::string& scope) override;
  Result<std::uint64_t> deadLetterCount(const std::string& scope) override;
  Result<std::vector<DeadLetter>> deadLetters(const std::string& scope,
                                              std::uint32_t limit) override;

 private:
  SqliteCheckpointStore(sqlite3* db, std::string path);
  static Result<std::unique_ptr<SqliteCheckpointStore>> openFile(const std::string& path,
                                                                 int flags);
  Result<std::vector<Cursor>> selectCursors(const std::string& scope,
                                            const std::optional<std::string>& upto_name,
                                            std::int64_t limit);
  Status exec(const char* sql);
  Error sqlError(const std::string& what) const;

  std::mutex mutex_;
  sqlite3* db_;
  std::string path_;
};

}  // namespace cesync::state
