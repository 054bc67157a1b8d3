#pragma once

#include <string>
#include <vector>

#include "sync/verify/verifier.h"

namespace cesync::sync {

/// One table's verify, as `cesync verify` prints it.
struct TableVerify {
  std::string table;  // "ks.t"
  std::string index;
  /// False for tables synced both ways: their documents' versions are internal.
  bool versions_compared = true;
  VerifyReport report;
};

/// Human-readable: per table a line of counts, then the examples, one per line.
std::string verifyText(const std::vector<TableVerify>& tables);

/// One JSON object: {"in_sync":bool,"clean":bool,"tables":[{"table","index",
/// "versions_compared","in_sync","rows","documents","missing","extra","stale","settled",
/// "repair":{"indexed","deleted","skipped","dead_letters"} (with --repair),"examples":{"missing":
/// [...],"extra":[...],"stale":[...]}}]}; each example has "id" and "token", missing and stale
/// "row_write_time" (µs), extra and stale "document_version", stale "reason" ("version" or
/// "content"). "clean": in sync, or every difference repaired.
std::string verifyJson(const std::vector<TableVerify>& tables);

}  // namespace cesync::sync
