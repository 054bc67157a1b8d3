#include "sync/to_search/row_fetcher.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "cql/types/value_codec.h"

namespace cesync::sync {
namespace {

std::string joined(const std::vector<std::string>& names, const std::string& separator) {
  std::string out;
  for (const auto& n : names) {
    out += (out.empty() ? "" : separator) + n;
  }
  return out;
}

}  // namespace

std::size_t FetchedRows::rowCount() const {
  std::size_t n = 0;
  for (const auto& p : pages) {
    n += p.size();
  }
  return n;
}

RowFetcher::RowFetcher(cql::Session& session, TableSchema schema, cql::Consistency consistency,
                       std::size_t max_in_flight)
    : session_(session),
      schema_(std::move(schema)),
      consistency_(consistency),
      max_in_flight_(std::max<std::size_t>(1, max_in_flight)) {
  std::vector<std::string> selectors;
  for (const auto& c : schema_.columns) {
    selectors.push_back(quoteIdentifier(c.name));
  }
  std::vector<std::string> pk;
  for (const auto& name : schema_.partition_key) {
    pk.push_back(quoteIdentifier(name));
  }
  selectors.push_back("token(" + joined(pk, ", ") + ")");
  const auto key = schema_.primaryKey();
  for (std::size_t i = 0; i < schema_.columns.size(); ++i) {
    if (std::find(key.begin(), key.end(), schema_.columns[i].name) == key.end()) {
      regular_columns_.push_back(i);
      selectors.push_back("maxwritetime(" + quoteIdentifier(schema_.columns[i].name) + ")");
    }
  }
  select_ = "SELECT " + joined(selectors, ", ") + " FROM " + quotedTableName(schema_);
}

std::int64_t RowFetcher::rowWriteTime(const cql::Row& row) const {
  std::int64_t newest = 0;
  for (std::size_t i = 0; i < regular_columns_.size(); ++i) {
    const std::size_t column = tokenColumn() + 1 + i;
    if (!row.isNull(column)) {
      if (auto t = row.get<std::int64_t>(column)) {
        newest = std::max(newest, *t);
      }
    }
  }
  return newest;
}

Result<cql::PreparedPtr> RowFetcher::prepared(const std::string& where) {
  if (auto it = prepared_.find(where); it != prepared_.end()) {
    return it->second;
  }
  CESYNC_ASSIGN_OR_RETURN(p, session_.prepare(select_ + " WHERE " + where));
  prepared_.emplace(where, p);
  return p;
}

Result<cql::PreparedPtr> RowFetcher::statementFor(const KeyWork& work) {
  std::vector<std::string> terms;
  for (const auto& name : schema_.partition_key) {
    terms.push_back(quoteIdentifier(name) + " = ?");
  }
  switch (work.scope) {
    case KeyWork::Scope::kRow:
      for (std::size_t i = 0; i < work.ck.size() && i < schema_.clustering.size(); ++i) {
        terms.push_back(quoteIdentifier(schema_.clustering[i]) + " = ?");
      }
      break;
    case KeyWork::Scope::kPartition:
      break;
    case KeyWork::Scope::kSlice: {
      // (c1, .., cn) >= (?, .., ?) over the bound's prefix, as the change log records it.
      auto bound = [&](std::size_t n, const char* op) {
        std::vector<std::string> names(schema_.clustering.begin(),
                                       schema_.clustering.begin() + static_cast<std::ptrdiff_t>(n));
        for (auto& name : names) {
          name = quoteIdentifier(name);
        }
        terms.push_back("(" + joined(names, ", ") + ") " + op + " (" +
                        joined(std::vector<std::string>(n, "?"), ", ") + ")");
      };
      if (!work.slice_start.empty()) {
        bound(work.slice_start.size(), work.slice_start_inclusive ? ">=" : ">");
      }
      if (!work.slice_end.empty()) {
        bound(work.slice_end.size(), work.slice_end_inclusive ? "<=" : "<");
      }
      break;
    }
  }
  return prepared(joined(terms, " AND "));
}

Result<std::vector<cql::Value>> RowFetcher::bind(const KeyWork& work) const {
  std::vector<cql::Value> values;
  auto add = [&](const std::string& column, const cql::Bytes& bytes) -> Status {
    const int index = schema_.columnIndex(column);
    if (index < 0) {
      return fail(ErrorCode::kNotFound, "key column " + column + " is gone from " +
                                            schema_.keyspace + "." + schema_.table);
    }
    // The log holds serialized values; decoding them with the column's type lets the session
    // encode them back exactly.
    CESYNC_ASSIGN_OR_RETURN(
        v, cql::decodeValue(*schema_.columns[static_cast<std::size_t>(index)].type, bytes));
    values.push_back(std::move(v));
    return {};
  };
  if (work.pk.size() != schema_.partition_key.size()) {
    return fail(ErrorCode::kProtocol, "change-log key of " + schema_.keyspace + "." +
                                          schema_.table + " has " + std::to_string(work.pk.size()) +
                                          " partition parts");
  }
  for (std::size_t i = 0; i < work.pk.size(); ++i) {
    CESYNC_TRY(add(schema_.partition_key[i], work.pk[i]));
  }
  auto addPrefix = [&](const std::vector<cql::Bytes>& parts) -> Status {
    if (parts.size() > schema_.clustering.size()) {
      return fail(ErrorCode::kProtocol, "change-log clustering key of " + schema_.keyspace + "." +
                                            schema_.table + " is too long");
    }
    for (std::size_t i = 0; i < parts.size(); ++i) {
      CESYNC_TRY(add(schema_.clustering[i], parts[i]));
    }
    return {};
  };
  switch (work.scope) {
    case KeyWork::Scope::kRow:
      CESYNC_TRY(addPrefix(work.ck));
      break;
    case KeyWork::Scope::kPartition:
      break;
    case KeyWork::Scope::kSlice:
      CESYNC_TRY(addPrefix(work.slice_start));
      CESYNC_TRY(addPrefix(work.slice_end));
      break;
  }
  return values;
}

Result<std::vector<FetchedRows>> RowFetcher::fetch(const std::vector<KeyWork>& work) {
  // Everything that can fail before a request is sent is done first, so that no early return
  // leaves callbacks running.
  std::vector<cql::Statement> statements;
  statements.reserve(work.size());
  for (const auto& w : work) {
    CESYNC_ASSIGN_OR_RETURN(statement, statementFor(w));
    CESYNC_ASSIGN_OR_RETURN(values, bind(w));
    cql::Statement s = cql::Statement::of(statement, std::move(values));
    s.consistency = consistency_;
    s.idempotent = true;
    statements.push_back(std::move(s));
  }

  std::vector<FetchedRows> out(work.size());
  // Row reads go out together, at most max_in_flight_ at a time; partition and slice reads page
  // in turn meanwhile.
  std::mutex mutex;
  std::condition_variable done;
  std::size_t in_flight = 0;
  std::optional<Error> first_error;
  for (std::size_t i = 0; i < work.size(); ++i) {
    if (work[i].scope != KeyWork::Scope::kRow) {
      cql::Pager pager = session_.pages(std::move(statements[i]));
      while (true) {
        auto page = pager.next();
        if (!page) {
          std::lock_guard guard(mutex);
          first_error = first_error.value_or(page.error());
          break;
        }
        if (!*page) {
          break;
        }
        out[i].pages.push_back(std::move((*page)->rows));
      }
      continue;
    }
    std::unique_lock lock(mutex);
    done.wait(lock, [&] { return in_flight < max_in_flight_; });
    if (first_error) {
      break;
    }
    ++in_flight;
    lock.unlock();
    session_.executeAsync(std::move(statements[i]), [&, i](Result<cql::ResultSet> r) {
      std::lock_guard guard(mutex);
      if (r) {
        out[i].pages.push_back(std::move(r->rows));
      } else if (!first_error) {
        first_error = r.error();
      }
      --in_flight;
      done.notify_all();
    });
  }
  std::unique_lock lock(mutex);
  done.wait(lock, [&] { return in_flight == 0; });
  if (first_error) {
    return fail(*first_error);
  }
  return out;
}

Result<cql::PreparedPtr> RowFetcher::prepareTokenRange(bool inclusive_start,
                                                       const std::string& task) {
  std::string token = "token(";
  for (std::size_t i = 0; i < schema_.partition_key.size(); ++i) {
    token += (i == 0 ? "" : ", ") + quoteIdentifier(schema_.partition_key[i]);
  }
  token += ")";
  CESYNC_ASSIGN_OR_RETURN(statement, session_.prepare(select_ + " WHERE " + token +
                                                      (inclusive_start ? " >= ?" : " > ?") +
                                                      " AND " + token + " <= ?"));
  for (const auto& variable : statement->variables()) {
    if (variable.type == nullptr || variable.type->kind != cql::TypeKind::kBigint) {
      return fail(ErrorCode::kConfig, task + " needs the Murmur3Partitioner (bigint tokens)");
    }
  }
  return statement;
}

}  // namespace cesync::sync
