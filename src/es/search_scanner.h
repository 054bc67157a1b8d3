#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "es/http_transport.h"
#include "es/server_info.h"

namespace cesync::es {

/// How a scan pages through an index.
enum class ScanMode : std::uint8_t {
  kAuto,         // point in time when the engine has it, else scroll
  kPointInTime,  // PIT + search_after in the engine's dialect
  kScroll,       // the scroll API (older engines; cannot start after a sort position)
};

/// What to scan.
struct ScanOptions {
  std::string index;
  /// The JSON of "query"; empty: every document.
  std::string query;
  /// The JSON array of "sort"; it must order documents totally (end with a unique field).
  std::string sort = R"([{"timestamp":"asc"},{"id":"asc"}])";
  /// Start after this sort position (a JSON array from a previous hit's `sort`); empty: from the
  /// start. Point-in-time scans only.
  std::string search_after;
  /// Hits per page, 1..10000 (the engines' default max_result_window).
  std::size_t page_size = 1000;
  /// How long the engine keeps the PIT or scroll context between pages.
  std::string keep_alive = "1m";
  ScanMode mode = ScanMode::kAuto;
};

/// One document of a page; `source` and `sort` are raw JSON.
struct SearchHit {
  std::string index;
  std::string id;
  std::string source;
  std::string sort;
  /// The document's version (`_version`); -1 when the answer had none.
  std::int64_t version = -1;
  /// Its sequence number and primary term, for a compare-and-set write; -1 when absent.
  std::int64_t seq_no = -1;
  std::int64_t primary_term = -1;
};

/// Reads every document matching a query from one consistent view of an index, page by page:
/// a point in time searched with search_after (both the Elasticsearch `_pit`/`id` and the
/// OpenSearch `_search/point_in_time`/`pit_id` dialects), or a scroll as the fallback. Writes
/// made after the scan opened are not seen.
///
///   SearchScanner scan(transport, info, options);
///   std::vector<SearchHit> page;
///   while (true) { auto more = scan.next(page); if (!more) ...; handle(page); if (!*more) break; }
///   scan.close();
class SearchScanner {
 public:
  /// `transport` must outlive the scanner.
  SearchScanner(HttpTransport& transport, const ServerInfo& server, ScanOptions options);
  ~SearchScanner();
  SearchScanner(const SearchScanner&) = delete;
  SearchScanner& operator=(const SearchScanner&) = delete;

  /// Replaces `page` with the next page of hits. Answers false once the scan is complete (the
  /// page then holds the last hits, possibly none). The first call opens the PIT or scroll.
  [[nodiscard]] Result<bool> next(std::vector<SearchHit>& page);

  /// Releases the PIT or scroll context. Called by the destructor too (errors ignored there).
  [[nodiscard]] Status close();

  /// The mode in use (kAuto until the first page).
  [[nodiscard]] ScanMode mode() const { return mode_; }
  /// The sort position of the last hit returned, for resuming; empty before any hit.
  [[nodiscard]] const std::string& lastSort() const { return last_sort_; }

 private:
  [[nodiscard]] Status openPit();
  [[nodiscard]] Result<bool> nextPit(std::vector<SearchHit>& page);
  [[nodiscard]] Result<bool> nextScroll(std::vector<SearchHit>& page);
  [[nodiscard]] Status parsePage(HttpResponse& response, std::vector<SearchHit>& page);

  HttpTransport& transport_;
  ServerInfo server_;
  ScanOptions options_;
  ScanMode mode_;
  PitDialect dialect_;
  std::string context_id_;  // PIT id or scroll id
  std::string last_sort_;
  bool done_ = false;
};

/// Parses a search answer's hits (pure): `hits.hits[*]` into `page`, the `pit_id` or
/// `_scroll_id` into `context_id` when present. Shard failures are kUnavailable: a partial page
/// would silently skip documents.
[[nodiscard]] Status parseSearchPage(std::string_view body, std::size_t padded_capacity,
                                     std::vector<SearchHit>& page, std::string& context_id);

}  // namespace cesync::es
