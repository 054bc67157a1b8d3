#include "sync/to_search/change_stream.h"

#include <algorithm>
#include <charconv>

namespace cesync::sync {
namespace {

constexpr const char* kPosition = "position";

}  // namespace

std::chrono::milliseconds pauseAfterCycle(std::chrono::milliseconds poll_interval,
                                          std::chrono::steady_clock::duration took, bool behind) {
  if (behind || took >= poll_interval) {
    return std::chrono::milliseconds(0);
  }
  return std::chrono::ceil<std::chrono::milliseconds>(poll_interval - took);
}

std::string StreamCursors::logScope(const changelog::ReaderOptions& reader) {
  return "changelog/" + reader.keyspace + "." + reader.table;
}

std::string StreamCursors::tableScope(const std::string& qualified_table) {
  return qualified_table + "/to_search";
}

Result<std::optional<std::int64_t>> StreamCursors::readNumber(state::CheckpointStore& store,
                                                              const std::string& scope,
                                                              const std::string& name) {
  CESYNC_ASSIGN_OR_RETURN(value, store.get(scope, name));
  if (!value) {
    return std::optional<std::int64_t>();
  }
  std::int64_t v = 0;
  const auto* end = value->data() + value->size();
  auto [p, ec] = std::from_chars(value->data(), end, v);
  if (ec != std::errc() || p != end) {
    return fail(ErrorCode::kInternal,
                "state store: " + scope + " " + name + " is not a number: '" + *value + "'");
  }
  return std::optional<std::int64_t>(v);
}

Result<StreamCounts> StreamCursors::readCounts(state::CheckpointStore& store,
                                               const std::string& qualified_table) {
  const std::string scope = tableScope(qualified_table);
  StreamCounts counts;
  for (auto [name, field] :
       {std::pair{"entries", &StreamCounts::entries}, std::pair{"indexed", &StreamCounts::indexed},
        std::pair{"deleted", &StreamCounts::deleted},
        std::pair{"already_newer", &StreamCounts::already_newer},
        std::pair{"echo", &StreamCounts::echo}}) {
    CESYNC_ASSIGN_OR_RETURN(v, readNumber(store, scope, name));
    counts.*field = static_cast<std::uint64_t>(std::max<std::int64_t>(0, v.value_or(0)));
  }
  return counts;
}

ChangeStream::ChangeStream(cql::Session& session, es::EsClient& search,
                           state::CheckpointStore& store, changelog::ReaderOptions reader,
                           std::vector<StreamTable> tables,
                           std::chrono::milliseconds checkpoint_interval, const Clock& clock)
    : store_(store),
      reader_options_(reader),
      reader_(session, std::move(reader), clock),
      checkpoint_interval_(checkpoint_interval),
      clock_(clock) {
  for (auto& t : tables) {
    std::string name = t.schema.keyspace + "." + t.schema.table;
    by_name_.emplace(name, tables_.size());
    tables_.push_back({std::make_unique<TableSync>(session, search, store, std::move(t.schema),
                                                   std::move(t.options), clock),
                       std::move(name),
                       {}});
  }
}

Result<std::int64_t> ChangeStream::start() {
  const std::string scope = StreamCursors::logScope(reader_options_);
  CESYNC_ASSIGN_OR_RETURN(saved, StreamCursors::readNumber(store_, scope, kPosition));
  std::int64_t position = 0;
  if (saved) {
    position = *saved;
  } else {
    position = clock_.wallMicros() - std::chrono::duration_cast<std::chrono::microseconds>(
                                         reader_options_.confidence_window)
                                         .count();
    CESYNC_TRY(store_.commit(
        {.cursors = {{scope, kPosition, std::to_string(position), clock_.wallMicros()}},
         .dead_letters = {}}));
  }
  reader_.resume(position);
  saved_position_ = position;
  for (auto& t : tables_) {
    CESYNC_ASSIGN_OR_RETURN(counts, StreamCursors::readCounts(store_, t.name));
    t.counts = counts;
  }
  return position;
}

Result<CycleReport> ChangeStream::cycle() {
  CESYNC_ASSIGN_OR_RETURN(entries, reader_.poll());
  CycleReport report;
  report.entries = entries.size();
  for (const auto& entry : entries) {
    const auto it = by_name_.find(entry.keyspace + "." + entry.table);
    if (it == by_name_.end()) {
      ++report.untracked;
      continue;
    }
    Table& table = tables_[it->second];
    table.sync->add(entry);
    ++table.counts.entries;
    counts_changed_ = true;
  }
  std::optional<Error> first_error;
  for (auto& t : tables_) {
    auto flushed = t.sync->flush();
    if (!flushed) {
      first_error = first_error.value_or(
          Error{flushed.error().code, t.name + ": " + flushed.error().message});
      continue;
    }
    t.counts.indexed += flushed->indexed;
    t.counts.deleted += flushed->deleted;
    t.counts.already_newer += flushed->already_newer;
    t.counts.echo += flushed->echo;
    counts_changed_ = counts_changed_ || flushed->work > 0;
    report.flushed.work += flushed->work;
    report.flushed.indexed += flushed->indexed;
    report.flushed.deleted += flushed->deleted;
    report.flushed.already_newer += flushed->already_newer;
    report.flushed.dead_letters += flushed->dead_letters;
    report.flushed.rechecks += flushed->rechecks;
    report.flushed.echo += flushed->echo;
  }
  if (first_error) {
    return fail(*first_error);
  }
  return report;
}

std::int64_t ChangeStream::tableApplied(const Table& table) const {
  const std::int64_t read = reader_.readPosition();
  const auto unwritten = table.sync->oldestUnwritten();
  return unwritten ? std::min(read, *unwritten) : read;
}

std::vector<TableProgress> ChangeStream::progress() const {
  std::vector<TableProgress> out;
  out.reserve(tables_.size());
  for (const auto& t : tables_) {
    out.push_back({t.name, t.counts, tableApplied(t)});
  }
  return out;
}

std::int64_t ChangeStream::appliedThrough() const {
  std::int64_t applied = reader_.readPosition();
  for (const auto& t : tables_) {
    applied = std::min(applied, tableApplied(t));
  }
  return applied;
}

bool ChangeStream::hasOutstanding() const {
  return std::any_of(tables_.begin(), tables_.end(),
                     [](const Table& t) { return t.sync->oldestOutstanding().has_value(); });
}

bool ChangeStream::caughtUpTo(std::int64_t micros) const {
  return reader_.readPosition() >= micros && !hasOutstanding();
}

Status ChangeStream::saveCheckpoint(bool force) {
  const std::int64_t now = clock_.wallMicros();
  const auto interval =
      std::chrono::duration_cast<std::chrono::microseconds>(checkpoint_interval_).count();
  if (!force && now - saved_at_micros_ < interval) {
    return {};
  }
  // Only entries that are written for good may fall behind the checkpoint: a restart reads
  // again from here.
  std::int64_t position = reader_.safePosition();
  for (const auto& t : tables_) {
    if (const auto outstanding = t.sync->oldestOutstanding()) {
      position = std::min(position, *outstanding);
    }
  }
  position = std::max(position, saved_position_);
  if (position == saved_position_ && !counts_changed_ && !force) {
    return {};
  }
  state::Commit commit;
  commit.cursors.push_back(
      {StreamCursors::logScope(reader_options_), kPosition, std::to_string(position), now});
  for (const auto& t : tables_) {
    const std::string scope = StreamCursors::tableScope(t.name);
    commit.cursors.push_back({scope, "applied", std::to_string(tableApplied(t)), now});
    commit.cursors.push_back({scope, "entries", std::to_string(t.counts.entries), now});
    commit.cursors.push_back({scope, "indexed", std::to_string(t.counts.indexed), now});
    commit.cursors.push_back({scope, "deleted", std::to_string(t.counts.deleted), now});
    commit.cursors.push_back({scope, "already_newer", std::to_string(t.counts.already_newer), now});
    commit.cursors.push_back({scope, "echo", std::to_string(t.counts.echo), now});
  }
  CESYNC_TRY(store_.commit(commit));
  saved_position_ = position;
  saved_at_micros_ = now;
  counts_changed_ = false;
  return {};
}

}  // namespace cesync::sync
