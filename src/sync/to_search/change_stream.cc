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
                           std::chrono::milliseconds checkpoint_interval, const Clock& clock,
                           es::EsClient* writer)
    : search_(search),
      writer_(writer),
      store_(store),
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

ChangeStream::~ChangeStream() {
  if (in_flight_ && in_flight_->done.valid()) {
    in_flight_->done.wait();
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
  CycleReport report;
  std::optional<Error> first_error;
  auto entries = reader_.poll();
  if (!entries) {
    land(report, first_error);  // what is in flight is done whatever the log does
    return fail(entries.error());
  }
  report.entries = entries->size();
  for (const auto& entry : *entries) {
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
  auto failed = [&](const Table& t, const Error& e) {
    first_error = first_error.value_or(Error{e.code, t.name + ": " + e.message});
  };
  std::vector<std::size_t> staged;
  bool reads_index = false;
  for (std::size_t i = 0; i < tables_.size(); ++i) {
    if (auto done = tables_[i].sync->stage(); !done) {
      failed(tables_[i], done.error());
      continue;
    }
    staged.push_back(i);
    reads_index = reads_index || tables_[i].sync->readsIndex();
  }
  if (reads_index) {
    land(report, first_error);  // the index must show the writes in flight before it is read
  }
  // Rows are read while the last cycle's writes are in flight.
  std::vector<std::pair<std::size_t, PreparedFlush>> prepared;
  for (const std::size_t i : staged) {
    auto flush = tables_[i].sync->prepare();
    if (!flush) {
      failed(tables_[i], flush.error());
      continue;
    }
    prepared.emplace_back(i, std::move(*flush));
  }
  land(report, first_error);
  send(std::move(prepared), report, first_error);
  if (first_error) {
    return fail(*first_error);
  }
  return report;
}

void ChangeStream::send(std::vector<std::pair<std::size_t, PreparedFlush>>&& flushes,
                        CycleReport& report, std::optional<Error>& first_error) {
  auto in_flight = std::make_unique<InFlight>();
  for (auto& [table, flush] : flushes) {
    if (writer_ == nullptr || flush.toSend().empty()) {
      const auto results = search_.bulkAll(flush.toSend());
      finish(table, std::move(flush), results, report, first_error);
    } else {
      in_flight->flushes.emplace_back(table, std::move(flush));
    }
  }
  if (in_flight->flushes.empty()) {
    return;
  }
  // The thread touches nothing but the writer client and the InFlight it fills; it is read
  // once `done` is ready.
  InFlight& f = *in_flight;
  f.done = std::async(std::launch::async, [&f, writer = writer_] {
    for (const auto& [table, flush] : f.flushes) {
      f.results.push_back(writer->bulkAll(flush.toSend()));
    }
  });
  in_flight_ = std::move(in_flight);
}

void ChangeStream::land(CycleReport& report, std::optional<Error>& first_error) {
  if (!in_flight_) {
    return;
  }
  in_flight_->done.get();
  auto in_flight = std::move(in_flight_);
  for (std::size_t k = 0; k < in_flight->flushes.size(); ++k) {
    auto& [table, flush] = in_flight->flushes[k];
    finish(table, std::move(flush), in_flight->results[k], report, first_error);
  }
}

void ChangeStream::finish(std::size_t table, PreparedFlush flush,
                          const std::vector<Result<es::BulkWriteResult>>& results,
                          CycleReport& report, std::optional<Error>& first_error) {
  Table& t = tables_[table];
  auto flushed = t.sync->finish(std::move(flush), results);
  if (!flushed) {
    first_error =
        first_error.value_or(Error{flushed.error().code, t.name + ": " + flushed.error().message});
    return;
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

Result<CycleReport> ChangeStream::drain() {
  CycleReport report;
  std::optional<Error> first_error;
  land(report, first_error);
  if (first_error) {
    return fail(*first_error);
  }
  return report;
}

namespace {

std::optional<std::int64_t> older(std::optional<std::int64_t> a, std::optional<std::int64_t> b) {
  if (!a || !b) {
    return a ? a : b;
  }
  return std::min(*a, *b);
}

}  // namespace

std::optional<std::int64_t> ChangeStream::inFlightOldest(std::size_t table) const {
  std::optional<std::int64_t> oldest;
  if (in_flight_) {
    for (const auto& [i, flush] : in_flight_->flushes) {
      if (i == table) {
        oldest = older(oldest, flush.oldestEntry());
      }
    }
  }
  return oldest;
}

std::optional<std::int64_t> ChangeStream::tableOutstanding(std::size_t table) const {
  return older(tables_[table].sync->oldestOutstanding(), inFlightOldest(table));
}

std::int64_t ChangeStream::tableApplied(std::size_t table) const {
  const std::int64_t read = reader_.readPosition();
  const auto unwritten = older(tables_[table].sync->oldestUnwritten(), inFlightOldest(table));
  return unwritten ? std::min(read, *unwritten) : read;
}

std::vector<TableProgress> ChangeStream::progress() const {
  std::vector<TableProgress> out;
  out.reserve(tables_.size());
  for (std::size_t i = 0; i < tables_.size(); ++i) {
    out.push_back({tables_[i].name, tables_[i].counts, tableApplied(i)});
  }
  return out;
}

std::int64_t ChangeStream::appliedThrough() const {
  std::int64_t applied = reader_.readPosition();
  for (std::size_t i = 0; i < tables_.size(); ++i) {
    applied = std::min(applied, tableApplied(i));
  }
  return applied;
}

bool ChangeStream::hasOutstanding() const {
  for (std::size_t i = 0; i < tables_.size(); ++i) {
    if (tableOutstanding(i)) {
      return true;
    }
  }
  return in_flight_ != nullptr;
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
  for (std::size_t i = 0; i < tables_.size(); ++i) {
    if (const auto outstanding = tableOutstanding(i)) {
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
  for (std::size_t i = 0; i < tables_.size(); ++i) {
    const Table& t = tables_[i];
    const std::string scope = StreamCursors::tableScope(t.name);
    commit.cursors.push_back({scope, "applied", std::to_string(tableApplied(i)), now});
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
