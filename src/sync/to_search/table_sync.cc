#include "sync/to_search/table_sync.h"

#include <algorithm>
#include <cstdio>
#include <set>
#include <unordered_map>

#include "sync/same_json.h"
#include "sync/search_side_edits.h"
#include "sync/to_search/partition_documents.h"

namespace cesync::sync {
namespace {

// The first wait before a settling row is read again; it doubles each time.
constexpr std::int64_t kFirstRecheckMicros = 200'000;
// A flush's writes are spread over the client's requests in flight once they reach this much
// per request: one request is indexed by one of the engine's write threads.
constexpr std::size_t kMinSpreadBytes = std::size_t{128} << 10U;
// Action line and framing of an item, on top of its id and source, for sizing batches.
constexpr std::size_t kItemOverheadBytes = 128;
// How often a key's write refused by the index is read again and compared before the index is
// taken to be right (each round follows a write of someone else's that won).
constexpr std::uint8_t kMaxConflictRounds = 8;

}  // namespace

TableSync::TableSync(cql::Session& session, es::EsClient& search, state::CheckpointStore& store,
                     TableSchema schema, TableSyncOptions options, const Clock& clock)
    : search_(search),
      store_(store),
      schema_(std::move(schema)),
      options_(std::move(options)),
      clock_(clock),
      fetcher_(session, schema_, options_.consistency, options_.max_in_flight,
               options_.keys_per_read),
      builder_(documentBuilderFor(schema_)),
      table_name_(schema_.keyspace + "." + schema_.table),
      timestamp_column_(
          options_.timestamp_column.empty() ? -1 : schema_.columnIndex(options_.timestamp_column)) {
}

std::string TableSync::scope() const {
  return schema_.keyspace + "." + schema_.table + "/to_search";
}

namespace {

// The oldest entry time of the work in `list`, or of `older` if that is older.
std::optional<std::int64_t> oldestEntryOf(const std::vector<KeyWork>& list,
                                          std::optional<std::int64_t> older = std::nullopt) {
  for (const auto& w : list) {
    older = std::min(older.value_or(w.oldest_entry_micros), w.oldest_entry_micros);
  }
  return older;
}

}  // namespace

std::optional<std::int64_t> TableSync::oldestOutstanding() const {
  return oldestEntryOf(waiting_, oldestEntryOf(work_));
}

std::string TableSync::timerScope() const {
  return expiryScope(schema_);
}

namespace {

constexpr char kHex[] = "0123456789abcdef";

// Key parts as hex, comma-separated: "0a1b,ff".
std::string hexParts(const std::vector<cql::Bytes>& parts) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) {
      out += ',';
    }
    for (const auto b : parts[i]) {
      out += kHex[b >> 4U];
      out += kHex[b & 15U];
    }
  }
  return out;
}

std::optional<std::vector<cql::Bytes>> partsOfHex(std::string_view text) {
  std::vector<cql::Bytes> parts;
  if (text.empty()) {
    return parts;
  }
  parts.emplace_back();
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    return -1;
  };
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] == ',') {
      parts.emplace_back();
      ++i;
      continue;
    }
    if (i + 1 >= text.size() || nibble(text[i]) < 0 || nibble(text[i + 1]) < 0) {
      return std::nullopt;
    }
    parts.back().push_back(static_cast<std::uint8_t>(nibble(text[i]) * 16 + nibble(text[i + 1])));
    i += 2;
  }
  return parts;
}

// Timer names start with the due time, zero-padded, so that the store lists them in time order.
std::string dueName(std::int64_t micros) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%020lld", static_cast<long long>(micros));
  return buffer;
}

}  // namespace

state::Cursor expiryTimer(const TableSchema& schema, KeyWork::Scope scope,
                          const std::vector<cql::Bytes>& pk, const std::vector<cql::Bytes>& ck,
                          std::int64_t due_micros, std::int64_t version, std::int64_t now) {
  // value: "r|<pk hex>|<ck hex>|<version>" for a row, "p|<pk hex>||<version>" for a partition.
  const bool row = scope == KeyWork::Scope::kRow;
  std::string value = std::string(row ? "r|" : "p|") + hexParts(pk) + "|" +
                      (row ? hexParts(ck) : std::string()) + "|" + std::to_string(version);
  // Due on a whole second (TTLs count whole seconds): reads of one row between its writes then
  // name the same timer, which the store keeps once.
  const std::int64_t due = (due_micros + 999'999) / 1'000'000 * 1'000'000;
  return {expiryScope(schema), dueName(due) + "|" + value, value, now};
}

std::optional<state::Cursor> rowExpiryTimer(const RowFetcher& fetcher, const cql::Row& row,
                                            std::int64_t version, std::int64_t now) {
  const std::int32_t ttl = fetcher.rowLeastTtl(row);
  if (ttl < 0) {
    return std::nullopt;
  }
  const TableSchema& schema = fetcher.schema();
  return expiryTimer(schema, KeyWork::Scope::kRow, keyPartsOf(schema, row, schema.partition_key),
                     keyPartsOf(schema, row, schema.clustering),
                     now + (std::int64_t{ttl} + 1) * 1'000'000, version, now);
}

std::string expiryScope(const TableSchema& schema) {
  return schema.keyspace + "." + schema.table + "/expiry";
}

std::vector<cql::Bytes> keyPartsOf(const TableSchema& schema, const cql::Row& row,
                                   const std::vector<std::string>& names) {
  std::vector<cql::Bytes> parts;
  parts.reserve(names.size());
  for (const auto& name : names) {
    const auto raw = row.raw(static_cast<std::size_t>(schema.columnIndex(name)));
    parts.emplace_back(raw ? cql::Bytes(raw->begin(), raw->end()) : cql::Bytes{});
  }
  return parts;
}

state::Cursor TableSync::timerFor(const KeyWork& w, std::int64_t now) const {
  // The version of the document the change wrote: what the row held then, and what its
  // expiry removes (an expired cell shadows as a tombstone of its own write time).
  return expiryTimer(schema_,
                     w.scope == KeyWork::Scope::kRow ? w.scope : KeyWork::Scope::kPartition, w.pk,
                     w.ck, w.expires_at_micros, w.write_time, now);
}

Status TableSync::takeDueTimers(std::int64_t now) {
  CESYNC_ASSIGN_OR_RETURN(due, store_.listUpTo(timerScope(), dueName(now) + "~", 1000));
  for (const auto& timer : due) {
    if (std::find(fired_.begin(), fired_.end(), timer.name) != fired_.end()) {
      continue;  // taken by a flush that has not succeeded yet
    }
    fired_.push_back(timer.name);
    fired_staged_.push_back(timer.name);
    const std::string_view v = timer.value;
    const auto bar = v.find('|', 2);
    if (v.size() < 3 || bar == std::string_view::npos) {
      continue;  // unreadable: dropped with the fired timers
    }
    const auto version_bar = v.find('|', bar + 1);
    auto pk = partsOfHex(v.substr(2, bar - 2));
    auto ck = partsOfHex(v.substr(bar + 1, version_bar == std::string_view::npos
                                               ? std::string_view::npos
                                               : version_bar - bar - 1));
    if (!pk || !ck) {
      continue;
    }
    // Versioned by the document the expiring write made (what the row itself held), so that
    // a later write of an older clock than the expiry is not refused. Timers of an earlier
    // format carry no version: their due time, as they were written.
    std::int64_t version = std::stoll(timer.name.substr(0, 20));
    if (version_bar != std::string_view::npos) {
      version = std::stoll(std::string(v.substr(version_bar + 1)));
    }
    KeyWork w;
    w.scope = v[0] == 'r' ? KeyWork::Scope::kRow : KeyWork::Scope::kPartition;
    w.pk = std::move(*pk);
    w.ck = std::move(*ck);
    w.write_time = version;
    w.oldest_entry_micros = now;
    w.newest_is_delete = true;  // nothing to wait for: finding no row is expected
    w.entries = 1;
    addWork(std::move(w));
  }
  return {};
}

std::optional<std::int64_t> TableSync::oldestUnwritten() const {
  return oldestEntryOf(work_);
}

void TableSync::addWork(KeyWork work) {
  // Documents that a range delete removed are found by comparing the whole partition with the
  // index, so a slice is re-read as its partition (range deletes are rare).
  // With static columns, a partition without rows reads as one row of nulls for the
  // clustering columns; its document must go when a row arrives and come back when the last
  // row goes, so every change re-reads the whole partition.
  if (work.scope == KeyWork::Scope::kSlice ||
      (!schema_.statics.empty() && !schema_.clustering.empty())) {
    if (work.scope == KeyWork::Scope::kRow) {
      // The row's own changes still version only that row.
      auto& time = work.row_times[clusteringKeyOf(work.ck)];
      time = std::max(time, work.write_time);
      work.ck.clear();
    }
    work.scope = KeyWork::Scope::kPartition;
  }
  work_.push_back(std::move(work));
}

std::vector<const es::BulkEncoder*> PreparedFlush::toSend() const {
  std::vector<const es::BulkEncoder*> out;
  for (const auto& b : batches) {
    if (!b.empty()) {
      out.push_back(&b);
    }
  }
  return out;
}

std::optional<std::int64_t> PreparedFlush::oldestEntry() const {
  return oldestEntryOf(work);
}

Result<FlushReport> TableSync::flush() {
  CESYNC_TRY(stage());
  CESYNC_ASSIGN_OR_RETURN(prepared, prepare());
  const auto results = search_.bulkAll(prepared.toSend());
  return finish(std::move(prepared), results);
}

Status TableSync::stage() {
  for (auto& w : coalescer_.drain()) {
    addWork(std::move(w));
  }
  const std::int64_t now = clock_.wallMicros();
  if (options_.expiry_timers) {
    CESYNC_TRY(takeDueTimers(now));
  }
  std::erase_if(waiting_, [&](KeyWork& w) {
    if (w.recheck_at_micros > now) {
      return false;
    }
    work_.push_back(std::move(w));
    return true;
  });
  return {};
}

bool TableSync::staticOnly(const cql::Row& row) const {
  if (schema_.statics.empty() || schema_.clustering.empty()) {
    return false;
  }
  return std::all_of(schema_.clustering.begin(), schema_.clustering.end(), [&](const auto& name) {
    return row.isNull(static_cast<std::size_t>(schema_.columnIndex(name)));
  });
}

bool TableSync::readsIndex() const {
  if (work_.empty()) {
    return false;
  }
  if (timestamp_column_ >= 0) {
    return true;  // every write is compared with the document as it is now
  }
  // Without clustering columns a partition holds one document, whose id is known.
  return !schema_.clustering.empty() && std::any_of(work_.begin(), work_.end(), [](const auto& w) {
    return w.scope != KeyWork::Scope::kRow;
  });
}

Result<PreparedFlush> TableSync::prepare() {
  const std::int64_t now = clock_.wallMicros();
  PreparedFlush out;
  out.now = now;
  FlushReport& report = out.report;
  report.work = work_.size();
  report.rechecks = waiting_.size();
  if (work_.empty()) {
    return out;
  }
  CESYNC_ASSIGN_OR_RETURN(fetched, fetcher_.fetch(work_));

  const std::int64_t settle =
      std::chrono::duration_cast<std::chrono::microseconds>(options_.settle).count();
  // What the flush will write, in order; documents of a table synced both ways are checked
  // against the index's own edits first.
  struct Planned {
    bool remove = false;
    std::string id;
    std::int64_t version = 0;
    std::string doc;
    std::optional<std::int64_t> row_timestamp_ms;
    bool echo = false;  // written from the search side at this version
    std::size_t work = 0;
  };
  std::vector<Planned> planned;
  std::vector<state::DeadLetter>& dead_letters = out.dead_letters;
  std::vector<KeyWork>& recheck = out.recheck;
  std::string doc;

  for (std::size_t i = 0; i < work_.size(); ++i) {
    const KeyWork& w = work_[i];
    // Upserts and deletes alike: on a ring an entry can be read before its change reaches the
    // replica read (a logged batch's mutations travel apart; a failed one is replayed from the
    // batchlog seconds later).
    const bool settling = now - w.oldest_entry_micros < settle;
    std::int64_t newest_written = 0;
    std::set<std::string> found;
    for (const auto& page : fetched[i].pages) {
      for (const auto row : page) {
        CESYNC_ASSIGN_OR_RETURN(id, builder_.documentId(row));
        if (auto usable = checkDocumentId(id); !usable) {
          dead_letters.push_back({scope(), id, usable.error().message, now});
          continue;
        }
        const std::int64_t written = fetcher_.rowWriteTime(row);
        CESYNC_ASSIGN_OR_RETURN(token, row.get<std::int64_t>(fetcher_.tokenColumn()));
        doc.clear();
        if (auto built = builder_.appendDocument(doc, row, schema_.columns, token, id); !built) {
          dead_letters.push_back({scope(), id, built.error().toString(), now});
          continue;
        }
        // The row as it is now, versioned at least as new as the changes that led here; in a
        // partition read, only the changes that touched this row (docs/ARCHITECTURE.md,
        // "Versions").
        std::int64_t version = std::max(w.write_time, written);
        // A partition holding only static values reads as one row of null clustering values:
        // that document comes and goes with every row of the partition, so every change of it
        // versions it.
        if (w.scope != KeyWork::Scope::kRow && !staticOnly(row)) {
          version = std::max(written, w.partition_time);
          if (!w.row_times.empty()) {
            const auto named =
                w.row_times.find(clusteringKeyOf(keyPartsOf(schema_, row, schema_.clustering)));
            if (named != w.row_times.end()) {
              version = std::max(version, named->second);
            }
          }
        }
        // A cell with a TTL: the row is read again when it runs out, at this version.
        if (options_.expiry_timers) {
          if (auto timer = rowExpiryTimer(fetcher_, row, version, now)) {
            out.timers.push_back(std::move(*timer));
          }
        }
        newest_written = std::max(newest_written, written);
        Planned item{false, id, version, doc, std::nullopt, false, i};
        if (timestamp_column_ >= 0 && !row.isNull(static_cast<std::size_t>(timestamp_column_))) {
          CESYNC_ASSIGN_OR_RETURN(ts, row.value(static_cast<std::size_t>(timestamp_column_)));
          item.row_timestamp_ms = ts.asInt();
        }
        item.echo =
            options_.echoes != nullptr && options_.echoes->consume(table_name_, id, version);
        planned.push_back(std::move(item));
        found.insert(std::move(id));
      }
    }
    // Rows older than the change that named them may not show that change yet: an upsert not
    // arrived, or a delete not arrived (its rows still there, all older than it).
    bool conclusive = found.empty() || newest_written >= w.write_time;
    switch (w.scope) {
      case KeyWork::Scope::kRow:
        if (found.empty()) {
          CESYNC_ASSIGN_OR_RETURN(id, documentIdOfKey(schema_, w.pk, w.ck));
          if (checkDocumentId(id)) {  // a longer id was never indexed
            planned.push_back({true, std::move(id), w.write_time, {}, std::nullopt, false, i});
          }
          conclusive = w.newest_is_delete;
        }
        break;
      case KeyWork::Scope::kPartition:
      case KeyWork::Scope::kSlice: {
        // Documents of the partition whose rows are gone.
        CESYNC_ASSIGN_OR_RETURN(selector, partitionSelector(schema_, w.pk));
        // A partition that is one row has one possible document: no need to search for it
        // (documents written by users carry no cesync_token to be found by).
        std::vector<std::string> indexed;
        if (!selector.exact_id.empty()) {
          indexed.push_back(selector.exact_id);
        } else {
          // Both ways: documents created on the search side carry no token until the daemon
          // writes them back (below), and a partition or range delete must find them too.
          CESYNC_ASSIGN_OR_RETURN(ids, partitionDocumentIds(search_, options_.index, selector,
                                                            /*unstamped=*/timestamp_column_ >= 0));
          indexed = std::move(ids);
        }
        for (auto& id : indexed) {
          if (!found.contains(id) && checkDocumentId(id)) {
            planned.push_back({true, std::move(id), w.write_time, {}, std::nullopt, false, i});
          }
        }
        break;
      }
    }
    if (!conclusive && settling) {
      // Read again soon, then less and less often: most changes show within milliseconds,
      // while a column delete never raises the row's write time and waits out `settle`.
      KeyWork again = w;
      again.recheck_gap_micros =
          std::max<std::int64_t>(kFirstRecheckMicros, 2 * again.recheck_gap_micros);
      again.recheck_at_micros = now + again.recheck_gap_micros;
      recheck.push_back(std::move(again));
    }
  }

  // Both ways: the documents as they are in the index now. One edited on the search side after
  // the row's timestamp wins (the poller brings it to Cassandra); an echo of such an edit is not
  // written back; anything else is written only if the document is still as read
  // (compare-and-set), so that an edit made in between is never overwritten.
  //
  // One way: a write the index refused as older is read again (work_[i].conflict_rounds) and
  // compared with the document. A version can come from a change the row no longer shows (a
  // cell delete, an expiry: tombstones have no WRITETIME), so a row written later at an older
  // clock can be refused while the document differs from it. Then the row is written over the
  // document as it was read (compare-and-set); where the two are the same, the index is right.
  const bool both_ways = timestamp_column_ >= 0;
  auto conflicted = [&](const Planned& p) { return work_[p.work].conflict_rounds > 0; };
  std::unordered_map<std::string, SearchSideEdits::Document> in_index;
  std::vector<std::string> read_ids;
  for (const auto& p : planned) {
    if (both_ways || conflicted(p)) {
      read_ids.push_back(p.id);
    }
  }
  if (!read_ids.empty()) {
    CESYNC_ASSIGN_OR_RETURN(found_docs, SearchSideEdits::read(search_, options_.index,
                                                              options_.timestamp_column, read_ids,
                                                              /*whole=*/!both_ways));
    in_index = std::move(found_docs);
  }
  std::size_t planned_bytes = 0;
  for (const auto& p : planned) {
    planned_bytes += p.id.size() + p.doc.size() + kItemOverheadBytes;
  }
  const es::BatchLimits limits =
      es::spreadOver(options_.limits, planned_bytes,
                     std::max<std::size_t>(1, search_.bulkInFlight()), kMinSpreadBytes);
  std::vector<es::BulkEncoder>& batches = out.batches;
  batches.emplace_back();
  std::vector<std::string>& ids = out.ids;  // per item, across batches, for dead letters
  for (auto& p : planned) {
    es::BulkTarget target{options_.index, p.id, p.version, {}};
    if (both_ways) {
      const auto found = in_index.find(p.id);
      if (found == in_index.end()) {
        if (p.remove) {
          continue;  // nothing to delete
        }
        target.create_only = true;
      } else {
        const auto& edited = found->second.timestamp_ms;
        const bool search_newer =
            edited && (p.remove ? *edited * 1000 > p.version
                                : p.row_timestamp_ms && *edited > *p.row_timestamp_ms);
        if (search_newer) {
          ++report.already_newer;
          continue;
        }
        // The index already holds this document, from the search side; one created there is
        // still written once, so that it carries its token (partition deletes find it by that).
        if (p.echo && edited && p.row_timestamp_ms && *edited == *p.row_timestamp_ms &&
            found->second.stamped) {
          ++report.echo;
          continue;
        }
        target.if_seq_no = found->second.seq_no;
        target.if_primary_term = found->second.primary_term;
      }
    } else if (conflicted(p)) {
      const auto found = in_index.find(p.id);
      if (found == in_index.end()) {
        if (p.remove) {
          ++report.already_newer;  // gone already
          continue;
        }
        // Still refused while absent: the engine keeps a deleted document's version a while
        // (index.gc_deletes); the row is created over it.
        target.create_only = work_[p.work].conflict_rounds > 1;
      } else if (found->second.version > p.version) {
        if (!p.remove && sameJson(found->second.source, p.doc)) {
          ++report.already_newer;
          continue;
        }
        target.if_seq_no = found->second.seq_no;
        target.if_primary_term = found->second.primary_term;
      }
    }
    if (batches.back().full(limits)) {
      batches.emplace_back();
    }
    if (p.remove) {
      batches.back().remove(target);
    } else {
      batches.back().index(target, p.doc);
    }
    ids.push_back(std::move(p.id));
    out.item_work.push_back(p.work);
  }
  // The work is the flush's now; timers taken with it go along.
  out.work = std::move(work_);
  work_.clear();
  out.fired = std::move(fired_staged_);
  fired_staged_.clear();
  return out;
}

Result<FlushReport> TableSync::finish(PreparedFlush flush,
                                      const std::vector<Result<es::BulkWriteResult>>& results) {
  // Not written: the work is staged again, with its timers, for the next flush.
  auto restage = [&](const Error& error) -> Result<FlushReport> {
    for (auto& w : flush.work) {
      work_.push_back(std::move(w));
    }
    for (auto& name : flush.fired) {
      fired_staged_.push_back(std::move(name));
    }
    return fail(error);
  };
  FlushReport report = flush.report;
  const auto sent = flush.toSend();
  if (results.size() != sent.size()) {
    return restage(Error{ErrorCode::kInternal, "a flush's writes were not all sent"});
  }
  std::vector<state::DeadLetter>& dead_letters = flush.dead_letters;
  const std::int64_t now = flush.now;
  std::set<std::size_t> refused;  // work whose write the index refused, to read again
  std::size_t item = 0;
  for (std::size_t b = 0; b < results.size(); ++b) {
    if (!results[b]) {
      return restage(results[b].error());
    }
    for (std::size_t j = 0; j < results[b]->items.size(); ++j, ++item) {
      const auto& result = results[b]->items[j];
      switch (result.outcome) {
        case es::ItemOutcome::kOk:
          ++(sent[b]->op(j) == es::BulkOp::kIndex ? report.indexed : report.deleted);
          break;
        case es::ItemOutcome::kAlreadyNewer:
          if (flush.work[flush.item_work[item]].conflict_rounds < kMaxConflictRounds) {
            refused.insert(flush.item_work[item]);
          } else {
            ++report.already_newer;
          }
          break;
        case es::ItemOutcome::kDeadLetter:
          dead_letters.push_back(
              {scope(), flush.ids[item], result.error_type + ": " + result.reason, now});
          break;
        case es::ItemOutcome::kRetry:
          return restage(Error{ErrorCode::kUnavailable,
                               "index " + options_.index + " did not accept " + flush.ids[item] +
                                   " within the retry budget: " + result.reason});
      }
    }
  }
  // Rows with a TTL are read again when it runs out (expiry writes nothing to the log); timers
  // that fired are done now that their work is written.
  state::Commit commit{.cursors = flush.timers, .dead_letters = dead_letters, .erase = {}};
  for (const auto& w : flush.work) {
    if (w.expires_at_micros != 0 && options_.expiry_timers) {
      commit.cursors.push_back(timerFor(w, now));
    }
  }
  for (const auto& name : flush.fired) {
    commit.erase.emplace_back(timerScope(), name);
  }
  if (!commit.cursors.empty() || !commit.dead_letters.empty() || !commit.erase.empty()) {
    if (auto saved = store_.commit(commit); !saved) {
      return restage(saved.error());
    }
  }
  std::erase_if(fired_, [&](const std::string& name) {
    return std::find(flush.fired.begin(), flush.fired.end(), name) != flush.fired.end();
  });
  report.dead_letters = dead_letters.size();
  for (auto& w : flush.recheck) {
    waiting_.push_back(std::move(w));
  }
  // Refused: read again at the next flush and compared with the document.
  for (const std::size_t i : refused) {
    KeyWork again = std::move(flush.work[i]);
    ++again.conflict_rounds;
    again.recheck_at_micros = 0;
    again.recheck_gap_micros = 0;
    work_.push_back(std::move(again));
  }
  report.rechecks = waiting_.size();
  return report;
}

}  // namespace cesync::sync
