#include "sync/verify/verify_output.h"

#include <fmt/format.h>

#include "util/json_writer.h"

namespace cesync::sync {

namespace {

void appendExample(std::string& out, const Difference& d) {
  switch (d.kind) {
    case DifferenceKind::kMissing:
      out += fmt::format("  missing {} (row written at {} µs)\n", d.id, d.row_version);
      break;
    case DifferenceKind::kExtra:
      out += fmt::format("  extra   {} (document version {})\n", d.id, d.document_version);
      break;
    case DifferenceKind::kStale:
      out += fmt::format("  stale   {} ({}: document version {}, row written at {} µs)\n", d.id,
                         d.reason == "version" ? "older" : "other content", d.document_version,
                         d.row_version);
      break;
  }
}

}  // namespace

std::string verifyText(const std::vector<TableVerify>& tables) {
  std::string out;
  for (const auto& t : tables) {
    const auto& r = t.report;
    out += fmt::format("{} -> {}: {} rows, {} documents: {} missing, {} extra, {} stale{}\n",
                       t.table, t.index, r.rows, r.documents, r.missing, r.extra, r.stale,
                       t.versions_compared ? "" : " (content compared; versions are internal)");
    for (const auto kind :
         {DifferenceKind::kMissing, DifferenceKind::kExtra, DifferenceKind::kStale}) {
      for (const auto& d : r.examples) {
        if (d.kind == kind) {
          appendExample(out, d);
        }
      }
    }
    if (r.settled > 0) {
      out += fmt::format(
          "  {} more seen during the walk were gone when read again (writes in "
          "flight)\n",
          r.settled);
    }
    if (r.repair) {
      out += fmt::format(
          "  repaired: {} documents written, {} deleted; {} skipped (changed since read), {} "
          "dead-lettered\n",
          r.repair->indexed, r.repair->deleted, r.repair->skipped, r.repair->dead_letters);
    }
    out += r.inSync()  ? "  in sync\n"
           : r.clean() ? "  differences found and repaired\n"
                       : "  differences found\n";
  }
  return out;
}

std::string verifyJson(const std::vector<TableVerify>& tables) {
  std::string out;
  util::JsonWriter w(out);
  bool all = true;
  bool clean = true;
  for (const auto& t : tables) {
    all = all && t.report.inSync();
    clean = clean && t.report.clean();
  }
  w.beginObject();
  w.key("in_sync");
  w.value(all);
  w.key("clean");
  w.value(clean);
  w.key("tables");
  w.beginArray();
  for (const auto& t : tables) {
    const auto& r = t.report;
    w.beginObject();
    w.key("table");
    w.value(t.table);
    w.key("index");
    w.value(t.index);
    w.key("versions_compared");
    w.value(t.versions_compared);
    w.key("in_sync");
    w.value(r.inSync());
    const std::pair<const char*, std::uint64_t> counts[] = {
        {"rows", r.rows},   {"documents", r.documents}, {"missing", r.missing},
        {"extra", r.extra}, {"stale", r.stale},         {"settled", r.settled}};
    for (const auto& [name, n] : counts) {
      w.key(name);
      w.value(n);
    }
    if (r.repair) {
      w.key("repair");
      w.beginObject();
      const std::pair<const char*, std::uint64_t> repaired[] = {
          {"indexed", r.repair->indexed},
          {"deleted", r.repair->deleted},
          {"skipped", r.repair->skipped},
          {"dead_letters", r.repair->dead_letters}};
      for (const auto& [name, n] : repaired) {
        w.key(name);
        w.value(n);
      }
      w.endObject();
    }
    w.key("examples");
    w.beginObject();
    for (const auto kind :
         {DifferenceKind::kMissing, DifferenceKind::kExtra, DifferenceKind::kStale}) {
      w.key(differenceName(kind));
      w.beginArray();
      for (const auto& d : r.examples) {
        if (d.kind != kind) {
          continue;
        }
        w.beginObject();
        w.key("id");
        w.value(d.id);
        w.key("token");
        w.value(d.token);
        if (kind != DifferenceKind::kExtra) {
          w.key("row_write_time");
          w.value(d.row_version);
        }
        if (kind != DifferenceKind::kMissing) {
          w.key("document_version");
          w.value(d.document_version);
        }
        if (kind == DifferenceKind::kStale) {
          w.key("reason");
          w.value(d.reason);
        }
        w.endObject();
      }
      w.endArray();
    }
    w.endObject();
    w.endObject();
  }
  w.endArray();
  w.endObject();
  return out;
}

}  // namespace cesync::sync
