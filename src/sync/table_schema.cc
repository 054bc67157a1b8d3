#include "sync/table_schema.h"

#include <algorithm>
#include <map>

namespace cesync::sync {

std::vector<std::string> TableSchema::primaryKey() const {
  std::vector<std::string> out = partition_key;
  out.insert(out.end(), clustering.begin(), clustering.end());
  return out;
}

int TableSchema::columnIndex(const std::string& name) const {
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == name) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

Result<TableSchema> loadTableSchema(cql::Session& session, const std::string& keyspace,
                                    const std::string& table) {
  TableSchema schema;
  schema.keyspace = keyspace;
  schema.table = table;
  CESYNC_ASSIGN_OR_RETURN(
      tables, session.execute("SELECT id FROM system_schema.tables WHERE keyspace_name = ? AND "
                              "table_name = ?",
                              {cql::Value::text(keyspace), cql::Value::text(table)}));
  if (tables.rows.empty()) {
    return fail(ErrorCode::kNotFound, "table " + keyspace + "." + table + " does not exist");
  }
  CESYNC_ASSIGN_OR_RETURN(id, tables.rows[0].get<cql::UuidBytes>(0));
  schema.id = id;

  CESYNC_ASSIGN_OR_RETURN(
      columns, session.execute("SELECT column_name, kind, position FROM system_schema.columns "
                               "WHERE keyspace_name = ? AND table_name = ?",
                               {cql::Value::text(keyspace), cql::Value::text(table)}));
  std::map<std::int32_t, std::string> partition;
  std::map<std::int32_t, std::string> clustering;
  for (const auto row : columns.rows) {
    CESYNC_ASSIGN_OR_RETURN(name, row.get<std::string>(0));
    CESYNC_ASSIGN_OR_RETURN(kind, row.get<std::string>(1));
    CESYNC_ASSIGN_OR_RETURN(position, row.get<std::int32_t>(2));
    if (kind == "partition_key") {
      partition[position] = name;
    } else if (kind == "clustering") {
      clustering[position] = name;
    } else if (kind == "static") {
      schema.statics.push_back(name);
    }
  }
  for (auto& [position, name] : partition) {
    schema.partition_key.push_back(std::move(name));
  }
  for (auto& [position, name] : clustering) {
    schema.clustering.push_back(std::move(name));
  }
  // Column types come from the server's own result metadata for SELECT *.
  CESYNC_ASSIGN_OR_RETURN(select,
                          session.prepare("SELECT * FROM \"" + keyspace + "\".\"" + table + "\""));
  schema.columns = *select->resultColumns();
  if (schema.partition_key.empty()) {
    return fail(ErrorCode::kProtocol,
                "table " + keyspace + "." + table + " has no partition key in system_schema");
  }
  return schema;
}

std::string quoteIdentifier(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    out += c;
    if (c == '"') {
      out += '"';
    }
  }
  return out + "\"";
}

std::string quotedTableName(const TableSchema& schema) {
  return quoteIdentifier(schema.keyspace) + "." + quoteIdentifier(schema.table);
}

}  // namespace cesync::sync
