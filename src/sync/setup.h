#pragma once

#include <ostream>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "cql/session.h"
#include "es/client.h"
#include "sync/table_schema.h"

namespace cesync::sync {

/// The trigger class `cesync setup` installs (trigger/).
inline constexpr const char* kTriggerClass = "cesync.trigger.ChangeLogTrigger";

/// Checks what `setup` cannot fix: every table exists and, when it takes documents back, has a
/// usable timestamp_column. The error names the table and its line.
[[nodiscard]] Status checkTables(cql::Session& session,
                                 const std::vector<config::TableConfig>& tables);

/// The index body (settings and derived mapping) for a table.
std::string indexBody(const TableSchema& schema, const es::ServerInfo& server);

/// `cesync setup`: creates the change-log keyspace and table, installs the trigger on every
/// table that sends changes to the search side, and creates every missing index with the
/// mapping derived from its table. Idempotent: what exists is left as it is. Reports each step
/// to `report`; stops at the first failure with an error that names the table or index.
Status runSetup(const config::Config& config, cql::Session& session, es::EsClient& search,
                std::ostream& report);

}  // namespace cesync::sync
