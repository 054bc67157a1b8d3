#include "sync/status_report.h"

#include <cstdio>
#include <sstream>

#include "sync/to_search/doc_builder.h"
#include "util/json_writer.h"

namespace cesync::sync {
namespace {

std::string isoTime(std::int64_t micros) {
  return valueText(cql::Value::timestamp(micros / 1000));
}

const char* snapshotStateName(SnapshotState s) {
  switch (s) {
    case SnapshotState::kNone:
      return "none";
    case SnapshotState::kRunning:
      return "running";
    case SnapshotState::kDone:
      return "done";
  }
  return "none";
}

std::optional<double> lagSeconds(const TableStatus& t, std::int64_t now) {
  if (!t.applied_micros) {
    return std::nullopt;
  }
  return static_cast<double>(now - *t.applied_micros) / 1e6;
}

void writeDeadLetters(util::JsonWriter& w, const std::vector<state::DeadLetter>& letters) {
  w.beginArray();
  for (const auto& d : letters) {
    w.beginObject();
    w.key("key");
    w.value(d.key);
    w.key("reason");
    w.value(d.reason);
    w.key("at");
    w.value(isoTime(d.at_micros));
    w.endObject();
  }
  w.endArray();
}

void listDeadLetters(std::ostream& out, const std::vector<state::DeadLetter>& letters) {
  for (const auto& d : letters) {
    out << "  dead letter: " << isoTime(d.at_micros) << " " << d.key << ": " << d.reason << "\n";
  }
}

}  // namespace

Result<StatusReport> StatusReport::read(const config::Config& config, state::CheckpointStore& store,
                                        const Clock& clock, std::uint32_t dead_letter_limit) {
  StatusReport report;
  report.now_micros = clock.wallMicros();
  changelog::ReaderOptions log;
  log.keyspace = config.changelog.keyspace;
  log.table = config.changelog.table;
  CESYNC_ASSIGN_OR_RETURN(
      checkpoint, StreamCursors::readNumber(store, StreamCursors::logScope(log), "position"));
  for (const auto& t : config.tables) {
    TableStatus status;
    status.config = t;
    const std::string name = t.qualifiedName();
    const std::string scope = StreamCursors::tableScope(name);
    CESYNC_ASSIGN_OR_RETURN(snapshot, snapshotStatus(store, name));
    status.snapshot = snapshot;
    status.checkpoint_micros = checkpoint;
    CESYNC_ASSIGN_OR_RETURN(applied, StreamCursors::readNumber(store, scope, "applied"));
    status.applied_micros = applied;
    CESYNC_ASSIGN_OR_RETURN(counts, StreamCursors::readCounts(store, name));
    status.counts = counts;
    CESYNC_ASSIGN_OR_RETURN(dead, store.deadLetterCount(scope));
    status.dead_letter_count = dead;
    CESYNC_ASSIGN_OR_RETURN(letters, store.deadLetters(scope, dead_letter_limit));
    status.dead_letters = std::move(letters);
    if (t.direction != config::Direction::kToSearch) {
      BackStatus back;
      CESYNC_ASSIGN_OR_RETURN(position, IndexSync::readPosition(store, name));
      back.checkpoint_ms = position;
      CESYNC_ASSIGN_OR_RETURN(back_counts, IndexSync::readCounts(store, name));
      back.counts = back_counts;
      const std::string back_scope = name + "/to_cassandra";
      CESYNC_ASSIGN_OR_RETURN(back_dead, store.deadLetterCount(back_scope));
      back.dead_letter_count = back_dead;
      CESYNC_ASSIGN_OR_RETURN(back_letters, store.deadLetters(back_scope, dead_letter_limit));
      back.dead_letters = std::move(back_letters);
      status.back = std::move(back);
    }
    report.tables.push_back(std::move(status));
  }
  return report;
}

std::string StatusReport::json() const {
  std::string out;
  util::JsonWriter w(out);
  w.beginObject();
  w.key("now");
  w.value(isoTime(now_micros));
  w.key("tables");
  w.beginArray();
  for (const auto& t : tables) {
    w.beginObject();
    w.key("table");
    w.value(t.config.qualifiedName());
    w.key("index");
    w.value(t.config.index);
    w.key("direction");
    w.value(config::directionName(t.config.direction));
    w.key("snapshot");
    w.beginObject();
    w.key("state");
    w.value(snapshotStateName(t.snapshot.state));
    w.key("ranges");
    w.value(static_cast<std::uint64_t>(t.snapshot.ranges));
    w.key("ranges_done");
    w.value(static_cast<std::uint64_t>(t.snapshot.ranges_done));
    w.key("rows");
    w.value(t.snapshot.rows);
    w.endObject();
    w.key("checkpoint");
    if (t.checkpoint_micros) {
      w.value(isoTime(*t.checkpoint_micros));
    } else {
      w.null();
    }
    w.key("lag_seconds");
    if (const auto lag = lagSeconds(t, now_micros)) {
      w.value(*lag);
    } else {
      w.null();
    }
    w.key("counts");
    w.beginObject();
    w.key("entries");
    w.value(t.counts.entries);
    w.key("indexed");
    w.value(t.counts.indexed);
    w.key("deleted");
    w.value(t.counts.deleted);
    w.key("already_newer");
    w.value(t.counts.already_newer);
    w.key("echo");
    w.value(t.counts.echo);
    w.key("dead_letters");
    w.value(t.dead_letter_count);
    w.endObject();
    w.key("dead_letters");
    writeDeadLetters(w, t.dead_letters);
    if (t.back) {
      w.key("to_cassandra");
      w.beginObject();
      w.key("checkpoint");
      if (t.back->checkpoint_ms) {
        w.value(isoTime(*t.back->checkpoint_ms * 1000));
      } else {
        w.null();
      }
      w.key("counts");
      w.beginObject();
      w.key("read");
      w.value(t.back->counts.read);
      w.key("written");
      w.value(t.back->counts.written);
      w.key("deleted");
      w.value(t.back->counts.deleted);
      w.key("not_newer");
      w.value(t.back->counts.not_newer);
      w.key("echo");
      w.value(t.back->counts.echo);
      w.key("repaired");
      w.value(t.back->counts.repaired);
      w.key("dead_letters");
      w.value(t.back->dead_letter_count);
      w.endObject();
      w.key("dead_letters");
      writeDeadLetters(w, t.back->dead_letters);
      w.endObject();
    }
    w.endObject();
  }
  w.endArray();
  if (!daemon_json.empty()) {
    w.key("daemon");
    w.rawValue(daemon_json);
  }
  w.endObject();
  return out;
}

std::string StatusReport::text() const {
  std::ostringstream out;
  for (const auto& t : tables) {
    out << t.config.qualifiedName() << " -> " << t.config.index << " ("
        << config::directionName(t.config.direction) << ")\n";
    out << "  snapshot:    " << snapshotStateName(t.snapshot.state);
    if (t.snapshot.state != SnapshotState::kNone) {
      out << ", " << t.snapshot.ranges_done << " of " << t.snapshot.ranges << " ranges, "
          << t.snapshot.rows << " rows";
    }
    out << "\n  checkpoint:  "
        << (t.checkpoint_micros ? isoTime(*t.checkpoint_micros) : std::string("none")) << "\n";
    if (const auto lag = lagSeconds(t, now_micros)) {
      char buffer[32];
      std::snprintf(buffer, sizeof buffer, "%.1f s", *lag);
      out << "  lag:         " << buffer << "\n";
    }
    out << "  counts:      " << t.counts.entries << " entries, " << t.counts.indexed << " indexed, "
        << t.counts.deleted << " deleted, " << t.counts.already_newer << " already newer, "
        << t.dead_letter_count << " dead letters\n";
    listDeadLetters(out, t.dead_letters);
    if (t.back) {
      out << "  from index:  checkpoint "
          << (t.back->checkpoint_ms ? isoTime(*t.back->checkpoint_ms * 1000) : std::string("none"))
          << ", " << t.back->counts.read << " read, " << t.back->counts.written << " written, "
          << t.back->counts.deleted << " deleted, " << t.back->counts.not_newer << " not newer, "
          << t.back->counts.echo << " echoes, " << t.back->dead_letter_count << " dead letters\n";
      listDeadLetters(out, t.back->dead_letters);
    }
  }
  return out.str();
}

}  // namespace cesync::sync
