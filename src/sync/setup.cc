#include "sync/setup.h"

#include <algorithm>

#include "changelog/changelog_schema.h"
#include "sync/doc_fields.h"
#include "sync/mapping.h"
#include "sync/to_cassandra/index_sync.h"

namespace cesync::sync {

std::string indexBody(const TableSchema& schema, const es::ServerInfo& server) {
  const std::string mapping =
      deriveMapping(schema.columns, {server, schema.primaryKey(), kTokenField, kIdField});
  return R"({"settings":{"index":{"number_of_shards":1,"number_of_replicas":1}},"mappings":)" +
         mapping + "}";
}

namespace {

// Cassandra keeps the table definition a statement was prepared with, triggers included, until
// the statement is evicted; CREATE TRIGGER does not evict it, so writes through statements
// prepared earlier would skip the change log. Changing a table property that prepared
// statements depend on evicts them (clients prepare them again on their next use): set
// gc_grace_seconds to another value and back.
Status invalidatePreparedStatements(cql::Session& session, const config::TableConfig& table) {
  CESYNC_ASSIGN_OR_RETURN(
      rows, session.execute("SELECT gc_grace_seconds FROM system_schema.tables WHERE "
                            "keyspace_name = ? AND table_name = ?",
                            {cql::Value::text(table.keyspace), cql::Value::text(table.table)}));
  if (rows.rows.empty()) {
    return fail(ErrorCode::kNotFound, "table " + table.qualifiedName() + " disappeared");
  }
  CESYNC_ASSIGN_OR_RETURN(grace, rows.rows[0].get<std::int32_t>(0));
  const std::string alter =
      "ALTER TABLE \"" + table.keyspace + "\".\"" + table.table + "\" WITH gc_grace_seconds = ";
  for (const std::int32_t value : {grace == 0 ? 1 : grace - 1, grace}) {
    auto r = session.execute(alter + std::to_string(value));
    if (!r) {
      return fail(r.error().code, "refreshing prepared statements of " + table.qualifiedName() +
                                      " after installing the trigger: " + r.error().message);
    }
  }
  return session.waitForSchemaAgreement(std::chrono::seconds(60));
}

}  // namespace

Status checkTables(cql::Session& session, const std::vector<config::TableConfig>& tables) {
  for (const auto& table : tables) {
    const std::string where =
        "tables: " + table.qualifiedName() + " (line " + std::to_string(table.line) + ")";
    auto schema = loadTableSchema(session, table.keyspace, table.table);
    if (!schema) {
      return fail(schema.error().code, where + ": " + schema.error().message);
    }
    if (table.direction != config::Direction::kToSearch) {
      if (auto usable = IndexSync::checkTable(*schema, table.timestamp_column); !usable) {
        return fail(ErrorCode::kConfig, where + ": " + usable.error().message);
      }
    }
  }
  return {};
}

Status runSetup(const config::Config& config, cql::Session& session, es::EsClient& search,
                std::ostream& report) {
  // Every table is checked before anything is changed: a table `cesync run` would refuse (no such
  // table, an unusable timestamp_column) must not leave a trigger or an index behind.
  CESYNC_TRY(checkTables(session, config.tables));
  changelog::ChangelogSchema log;
  log.keyspace = config.changelog.keyspace;
  log.table = config.changelog.table;
  log.replication = config.changelog.replication;
  log.ttl_seconds = std::chrono::duration_cast<std::chrono::seconds>(config.changelog.ttl).count();
  // About 28 compaction windows per TTL, the usual TimeWindowCompactionStrategy target.
  log.window_hours = std::max<std::int64_t>(1, log.ttl_seconds / 3600 / 28);
  for (const auto& statement : changelog::changelogDdl(log)) {
    auto r = session.execute(statement);
    if (!r) {
      return fail(r.error().code, "creating the change log " + log.keyspace + "." + log.table +
                                      ": " + r.error().message);
    }
  }
  CESYNC_TRY(session.waitForSchemaAgreement(std::chrono::seconds(60)));
  report << "change log " << log.keyspace << "." << log.table << ": ready\n";

  for (const auto& table : config.tables) {
    auto schema = loadTableSchema(session, table.keyspace, table.table);
    if (!schema) {
      return fail(schema.error().code, "tables: " + table.qualifiedName() + " (line " +
                                           std::to_string(table.line) +
                                           "): " + schema.error().message);
    }
    if (table.direction != config::Direction::kToCassandra) {
      auto r = session.execute("CREATE TRIGGER IF NOT EXISTS cesync ON \"" + table.keyspace +
                               "\".\"" + table.table + "\" USING '" + kTriggerClass + "'");
      if (!r) {
        return fail(r.error().code, "installing the trigger on " + table.qualifiedName() + ": " +
                                        r.error().message +
                                        " (is the trigger jar in every node's triggers "
                                        "directory, and is the user a superuser?)");
      }
      if (r->schema_change) {
        CESYNC_TRY(invalidatePreparedStatements(session, table));
      }
      report << "table " << table.qualifiedName() << ": trigger installed\n";
    }
    CESYNC_ASSIGN_OR_RETURN(exists, search.admin().exists(table.index));
    if (exists) {
      report << "index " << table.index << ": exists, left as it is\n";
      continue;
    }
    auto created = search.admin().create(table.index, indexBody(*schema, search.server()));
    if (!created) {
      return fail(created.error().code,
                  "creating index " + table.index + ": " + created.error().message);
    }
    report << "index " << table.index << ": created\n";
  }
  return {};
}

}  // namespace cesync::sync
