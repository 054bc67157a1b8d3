#include "sync/to_search/row_fetcher.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "cql/types/value_codec.h"
#include "util/murmur3.h"

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
                       std::size_t max_in_flight, std::size_t keys_per_read)
    : session_(session),
      schema_(std::move(schema)),
      consistency_(consistency),
      max_in_flight_(std::max<std::size_t>(1, max_in_flight)) {
  // Only a key of one column names its rows alone: a composite one can't be listed with IN
  // (each column's list would multiply), nor can rows that need a clustering key too.
  if (schema_.partition_key.size() == 1 && schema_.clustering.empty()) {
    keys_per_read_ = std::max<std::size_t>(1, keys_per_read);
    key_column_ = static_cast<std::size_t>(schema_.columnIndex(schema_.partition_key.front()));
  }
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
  for (const std::size_t i : regular_columns_) {
    selectors.push_back("ttl(" + quoteIdentifier(schema_.columns[i].name) + ")");
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

namespace {

std::int32_t bigEndian32(const std::uint8_t* p) {
  return static_cast<std::int32_t>((std::uint32_t{p[0]} << 24U) | (std::uint32_t{p[1]} << 16U) |
                                   (std::uint32_t{p[2]} << 8U) | std::uint32_t{p[3]});
}

// The least TTL (seconds left) of a `ttl(column)` cell: an int for a simple or frozen column, a
// list of ints (null for elements without one) for a collection or UDT that is not frozen (an
// empty one is null). -1: none.
std::int32_t leastTtl(cql::ByteView raw) {
  if (raw.size() == 4) {
    return bigEndian32(raw.data());
  }
  std::int32_t least = -1;
  if (raw.size() < 4) {
    return least;
  }
  std::size_t at = 4;
  for (std::int32_t n = bigEndian32(raw.data()); n > 0 && at + 4 <= raw.size(); --n) {
    const std::int32_t length = bigEndian32(raw.data() + at);
    at += 4;
    if (length == 4 && at + 4 <= raw.size()) {
      const std::int32_t ttl = bigEndian32(raw.data() + at);
      if (ttl >= 0 && (least < 0 || ttl < least)) {
        least = ttl;
      }
    }
    at += static_cast<std::size_t>(std::max(0, length));
  }
  return least;
}

}  // namespace

std::int32_t RowFetcher::rowLeastTtl(const cql::Row& row) const {
  std::int32_t least = -1;
  for (std::size_t i = 0; i < regular_columns_.size(); ++i) {
    const std::size_t column = tokenColumn() + 1 + regular_columns_.size() + i;
    if (const auto raw = row.raw(column)) {
      const std::int32_t ttl = leastTtl(*raw);
      if (ttl >= 0 && (least < 0 || ttl < least)) {
        least = ttl;
      }
    }
  }
  return least;
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

Result<RowFetcher::Read> RowFetcher::readOne(const std::vector<KeyWork>& work, std::size_t item) {
  CESYNC_ASSIGN_OR_RETURN(statement, statementFor(work[item]));
  CESYNC_ASSIGN_OR_RETURN(values, bind(work[item]));
  Read read{cql::Statement::of(statement, std::move(values)), {item}, false};
  read.statement.consistency = consistency_;
  read.statement.idempotent = true;
  return read;
}

Status RowFetcher::readByKeyLists(const std::vector<KeyWork>& work,
                                  const std::vector<std::size_t>& items, std::vector<Read>& reads) {
  if (items.empty()) {
    return {};
  }
  CESYNC_ASSIGN_OR_RETURN(statement,
                          prepared(quoteIdentifier(schema_.partition_key.front()) + " IN ?"));
  // Keys of one owner together, in token order, so that every list is served where its rows
  // live. Binding first checks each key against the table before anything reads it.
  struct Keyed {
    std::size_t owner;
    std::int64_t token;
    std::size_t item;
    cql::Value key;
  };
  std::vector<Keyed> keyed;
  keyed.reserve(items.size());
  for (const std::size_t i : items) {
    CESYNC_ASSIGN_OR_RETURN(values, bind(work[i]));
    const std::int64_t token = util::murmur3Token(work[i].pk.front());
    keyed.push_back(
        {session_.ownerOf(token).value_or(SIZE_MAX), token, i, std::move(values.front())});
  }
  std::sort(keyed.begin(), keyed.end(), [](const Keyed& a, const Keyed& b) {
    return std::tie(a.owner, a.token) < std::tie(b.owner, b.token);
  });
  for (std::size_t at = 0; at < keyed.size();) {
    Read read{cql::Statement::of(statement), {}, true};
    read.statement.consistency = consistency_;
    read.statement.idempotent = true;
    read.statement.page_size = 0;  // a row a key at most
    read.statement.routing_token = keyed[at].token;
    std::vector<cql::Value> keys;
    const std::size_t owner = keyed[at].owner;
    for (; at < keyed.size() && keyed[at].owner == owner && keys.size() < keys_per_read_; ++at) {
      keys.push_back(std::move(keyed[at].key));
      read.items.push_back(keyed[at].item);
    }
    read.statement.values.push_back(cql::Value::list(std::move(keys)));
    reads.push_back(std::move(read));
  }
  return {};
}

Status RowFetcher::run(std::vector<Read>& reads, const std::vector<KeyWork>& work,
                       std::vector<FetchedRows>& out, std::vector<std::size_t>& unmatched) {
  // Row reads and key lists go out together, at most max_in_flight_ at a time; partition and
  // slice reads page in turn meanwhile.
  std::mutex mutex;
  std::condition_variable done;
  std::size_t in_flight = 0;
  std::optional<Error> first_error;
  // Hands each row of a key list to the items of its key (compared as the log holds it).
  auto deal = [&](const Read& read, const cql::Rows& rows) {
    for (std::size_t row = 0; row < rows.size(); ++row) {
      const auto key = rows.cell(row, key_column_);
      bool matched = false;
      for (const std::size_t item : read.items) {
        const cql::Bytes& pk = work[item].pk.front();
        if (key && std::equal(key->begin(), key->end(), pk.begin(), pk.end())) {
          out[item].pages.push_back(rows.only(row));
          matched = true;
        }
      }
      if (!matched) {
        // Not expected: a key the server spells otherwise than the log. Read the list's keys
        // one at a time instead, rather than take a key's row for missing.
        unmatched.insert(unmatched.end(), read.items.begin(), read.items.end());
        return;
      }
    }
  };
  for (auto& read : reads) {
    const std::size_t first = read.items.front();
    if (!read.by_keys && work[first].scope != KeyWork::Scope::kRow) {
      cql::Pager pager = session_.pages(std::move(read.statement));
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
        out[first].pages.push_back(std::move((*page)->rows));
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
    session_.executeAsync(std::move(read.statement),
                          [&, first, of = &read](Result<cql::ResultSet> r) {
                            std::lock_guard guard(mutex);
                            if (!r) {
                              first_error = first_error.value_or(r.error());
                            } else if (of->by_keys) {
                              deal(*of, r->rows);
                            } else {
                              out[first].pages.push_back(std::move(r->rows));
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
  return {};
}

Result<std::vector<FetchedRows>> RowFetcher::fetch(const std::vector<KeyWork>& work) {
  // Everything that can fail before a request is sent is done first, so that no early return
  // leaves callbacks running.
  std::vector<Read> reads;
  std::vector<std::size_t> by_keys;
  for (std::size_t i = 0; i < work.size(); ++i) {
    if (keys_per_read_ > 1 && work[i].scope == KeyWork::Scope::kRow) {
      by_keys.push_back(i);
    } else {
      CESYNC_ASSIGN_OR_RETURN(read, readOne(work, i));
      reads.push_back(std::move(read));
    }
  }
  CESYNC_TRY(readByKeyLists(work, by_keys, reads));

  std::vector<FetchedRows> out(work.size());
  std::vector<std::size_t> unmatched;
  CESYNC_TRY(run(reads, work, out, unmatched));
  if (!unmatched.empty()) {
    reads.clear();
    for (const std::size_t item : unmatched) {
      out[item].pages.clear();
      CESYNC_ASSIGN_OR_RETURN(read, readOne(work, item));
      reads.push_back(std::move(read));
    }
    std::vector<std::size_t> again;
    CESYNC_TRY(run(reads, work, out, again));
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
