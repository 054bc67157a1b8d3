#include "es/search_scanner.h"

#include "es/index_admin.h"
#include "es/json_util.h"
#include "util/json_writer.h"

namespace cesync::es {
namespace {

// The engines' default index.max_result_window: no page may be larger.
constexpr std::size_t kMaxPageSize = 10'000;

Status readString(simdjson::ondemand::value v, std::string& out) {
  std::string_view text;
  if (v.get_string().get(text) != simdjson::SUCCESS) {
    return fail(ErrorCode::kProtocol, "search answer: expected a string");
  }
  out.assign(text);
  return {};
}

Status readHit(simdjson::ondemand::value v, SearchHit& hit) {
  simdjson::ondemand::object obj;
  if (v.get_object().get(obj) != simdjson::SUCCESS) {
    return fail(ErrorCode::kProtocol, "search answer: a hit is not an object");
  }
  for (auto field : obj) {
    std::string_view key;
    simdjson::ondemand::value value;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS ||
        field.value().get(value) != simdjson::SUCCESS) {
      return fail(ErrorCode::kProtocol, "search answer: unreadable hit");
    }
    if (key == "_index") {
      CESYNC_TRY(readString(value, hit.index));
    } else if (key == "_id") {
      CESYNC_TRY(readString(value, hit.id));
    } else if (key == "_source") {
      simdjson::ondemand::object source;
      std::string_view raw;
      if (value.get_object().get(source) != simdjson::SUCCESS ||
          source.raw_json().get(raw) != simdjson::SUCCESS) {
        return fail(ErrorCode::kProtocol, "search answer: unreadable _source");
      }
      hit.source.assign(raw);
    } else if (key == "_seq_no" || key == "_primary_term") {
      std::int64_t number = 0;
      if (value.get_int64().get(number) != simdjson::SUCCESS) {
        return fail(ErrorCode::kProtocol, "search answer: unreadable " + std::string(key));
      }
      (key == "_seq_no" ? hit.seq_no : hit.primary_term) = number;
    } else if (key == "_version") {
      std::int64_t version = 0;
      if (value.get_int64().get(version) != simdjson::SUCCESS) {
        return fail(ErrorCode::kProtocol, "search answer: unreadable _version");
      }
      hit.version = version;
    } else if (key == "sort") {
      simdjson::ondemand::array sort;
      std::string_view raw;
      if (value.get_array().get(sort) != simdjson::SUCCESS ||
          sort.raw_json().get(raw) != simdjson::SUCCESS) {
        return fail(ErrorCode::kProtocol, "search answer: unreadable sort");
      }
      hit.sort.assign(raw);
    }
  }
  return {};
}

}  // namespace

Status parseSearchPage(std::string_view body, std::size_t padded_capacity,
                       std::vector<SearchHit>& page, std::string& context_id) {
  page.clear();
  PaddedJson json(body, padded_capacity);
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  simdjson::ondemand::object root;
  if (parser.iterate(json.view()).get(doc) != simdjson::SUCCESS ||
      doc.get_object().get(root) != simdjson::SUCCESS) {
    return fail(ErrorCode::kProtocol,
                "search answer is not JSON: '" + std::string(body.substr(0, 200)) + "'");
  }
  bool saw_hits = false;
  for (auto field : root) {
    std::string_view key;
    simdjson::ondemand::value value;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS ||
        field.value().get(value) != simdjson::SUCCESS) {
      return fail(ErrorCode::kProtocol, "search answer: unreadable member");
    }
    if (key == "pit_id" || key == "_scroll_id") {
      CESYNC_TRY(readString(value, context_id));
    } else if (key == "_shards") {
      std::int64_t failed = 0;
      if (value["failed"].get_int64().get(failed) == simdjson::SUCCESS && failed > 0) {
        return fail(ErrorCode::kUnavailable,
                    "search answer: " + std::to_string(failed) + " shards failed");
      }
    } else if (key == "hits") {
      simdjson::ondemand::array hits;
      if (value["hits"].get_array().get(hits) != simdjson::SUCCESS) {
        return fail(ErrorCode::kProtocol, "search answer: hits.hits is not an array");
      }
      saw_hits = true;
      for (auto element : hits) {
        simdjson::ondemand::value v;
        if (element.get(v) != simdjson::SUCCESS) {
          return fail(ErrorCode::kProtocol, "search answer: unreadable hit");
        }
        CESYNC_TRY(readHit(v, page.emplace_back()));
      }
    }
  }
  if (!saw_hits) {
    return fail(ErrorCode::kProtocol,
                "search answer has no hits: '" + std::string(body.substr(0, 200)) + "'");
  }
  return {};
}

SearchScanner::SearchScanner(HttpTransport& transport, const ServerInfo& server,
                             ScanOptions options)
    : transport_(transport),
      server_(server),
      options_(std::move(options)),
      mode_(options_.mode),
      dialect_(server.pitDialect()) {}

SearchScanner::~SearchScanner() {
  (void)close();
}

Status SearchScanner::openPit() {
  const std::string index = encodePathSegment(options_.index);
  std::string path;
  switch (dialect_) {
    case PitDialect::kElasticsearch:
      path = "/" + index + "/_pit?keep_alive=" + options_.keep_alive;
      break;
    case PitDialect::kOpenSearch:
      path = "/" + index + "/_search/point_in_time?keep_alive=" + options_.keep_alive;
      break;
    case PitDialect::kNone:
      return fail(ErrorCode::kInvalidArgument, std::string(flavourName(server_.flavour)) + " " +
                                                   server_.version + " has no point-in-time API");
  }
  CESYNC_ASSIGN_OR_RETURN(
      response, transport_.send({.method = HttpMethod::kPost, .path = path, .idempotent = true}));
  if (response.status != 200) {
    return fail(httpError(response.status, response.body, "POST " + path));
  }
  PaddedJson json(response.body, response.body.capacity());
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  std::string_view id;
  const char* key = dialect_ == PitDialect::kElasticsearch ? "id" : "pit_id";
  if (parser.iterate(json.view()).get(doc) != simdjson::SUCCESS ||
      doc[key].get_string().get(id) != simdjson::SUCCESS) {
    return fail(ErrorCode::kProtocol, "point-in-time answer has no " + std::string(key) + ": " +
                                          response.body.substr(0, 200));
  }
  context_id_.assign(id);
  return {};
}

Result<bool> SearchScanner::next(std::vector<SearchHit>& page) {
  page.clear();
  if (done_) {
    return false;
  }
  if (options_.page_size == 0 || options_.page_size > kMaxPageSize) {
    return fail(ErrorCode::kInvalidArgument, "scan page size " +
                                                 std::to_string(options_.page_size) +
                                                 " is not in 1.." + std::to_string(kMaxPageSize));
  }
  if (mode_ == ScanMode::kAuto) {
    mode_ = dialect_ == PitDialect::kNone ? ScanMode::kScroll : ScanMode::kPointInTime;
  }
  switch (mode_) {
    case ScanMode::kAuto:
    case ScanMode::kPointInTime:
      return nextPit(page);
    case ScanMode::kScroll:
      return nextScroll(page);
  }
  return false;
}

Result<bool> SearchScanner::nextPit(std::vector<SearchHit>& page) {
  if (context_id_.empty()) {
    if (auto opened = openPit(); !opened) {
      // An engine that reports a PIT-capable version may still lack the API (an OSS build
      // without x-pack answers 400 "no handler", a proxy 404/405): in auto mode, scroll.
      const ErrorCode code = opened.error().code;
      const bool missing_api = code == ErrorCode::kRejected || code == ErrorCode::kNotFound;
      if (options_.mode == ScanMode::kAuto && missing_api && options_.search_after.empty()) {
        mode_ = ScanMode::kScroll;
        return nextScroll(page);
      }
      return tl::unexpected(opened.error());
    }
    if (!options_.search_after.empty()) {
      last_sort_ = options_.search_after;
    }
  }
  std::string body;
  util::JsonWriter w(body);
  w.beginObject();
  w.key("size");
  w.value(static_cast<std::uint64_t>(options_.page_size));
  w.key("track_total_hits");
  w.value(false);
  w.key("version");
  w.value(true);
  w.key("seq_no_primary_term");
  w.value(true);
  if (!options_.query.empty()) {
    w.key("query");
    w.rawValue(options_.query);
  }
  w.key("sort");
  w.rawValue(options_.sort);
  if (!last_sort_.empty()) {
    w.key("search_after");
    w.rawValue(last_sort_);
  }
  w.key("pit");
  w.beginObject();
  w.key("id");
  w.value(context_id_);
  w.key("keep_alive");
  w.value(options_.keep_alive);
  w.endObject();
  w.endObject();
  CESYNC_ASSIGN_OR_RETURN(
      response,
      transport_.send(
          {.method = HttpMethod::kPost, .path = "/_search", .body = body, .idempotent = true}));
  if (response.status != 200) {
    return fail(httpError(response.status, response.body, "POST /_search (point in time)"));
  }
  std::string pit_id;
  CESYNC_TRY(parseSearchPage(response.body, response.body.capacity(), page, pit_id));
  if (!pit_id.empty()) {
    context_id_ = std::move(pit_id);  // the engine may hand out a new id for the same view
  }
  if (!page.empty()) {
    last_sort_ = page.back().sort;
    if (last_sort_.empty()) {
      return fail(ErrorCode::kProtocol, "point-in-time hits carry no sort values");
    }
  }
  // A point in time never grows, so a short page is the last one.
  done_ = page.size() < options_.page_size;
  return !done_;
}

Result<bool> SearchScanner::nextScroll(std::vector<SearchHit>& page) {
  std::string body;
  util::JsonWriter w(body);
  HttpRequest request{.method = HttpMethod::kPost};
  if (context_id_.empty()) {
    if (!options_.search_after.empty()) {
      return fail(ErrorCode::kInvalidArgument, "a scroll scan cannot start after a sort position");
    }
    w.beginObject();
    w.key("size");
    w.value(static_cast<std::uint64_t>(options_.page_size));
    w.key("version");
    w.value(true);
    w.key("seq_no_primary_term");
    w.value(true);
    if (!options_.query.empty()) {
      w.key("query");
      w.rawValue(options_.query);
    }
    w.key("sort");
    w.rawValue(options_.sort);
    w.endObject();
    request.path =
        "/" + encodePathSegment(options_.index) + "/_search?scroll=" + options_.keep_alive;
    // Opening twice only leaves a context to expire; a continuation resent would skip a page.
    request.idempotent = true;
  } else {
    w.beginObject();
    w.key("scroll");
    w.value(options_.keep_alive);
    w.key("scroll_id");
    w.value(context_id_);
    w.endObject();
    request.path = "/_search/scroll";
  }
  request.body = body;
  CESYNC_ASSIGN_OR_RETURN(response, transport_.send(request));
  if (response.status != 200) {
    return fail(httpError(response.status, response.body, "POST " + request.path));
  }
  std::string scroll_id;
  CESYNC_TRY(parseSearchPage(response.body, response.body.capacity(), page, scroll_id));
  if (!scroll_id.empty()) {
    context_id_ = std::move(scroll_id);
  }
  if (!page.empty()) {
    last_sort_ = page.back().sort;
  }
  // Scroll pages may come short before the end; only an empty page ends the scan.
  done_ = page.empty();
  return !done_;
}

Status SearchScanner::close() {
  if (context_id_.empty()) {
    return {};
  }
  std::string body;
  util::JsonWriter w(body);
  std::string path;
  w.beginObject();
  switch (mode_) {
    case ScanMode::kAuto:
    case ScanMode::kPointInTime:
      switch (dialect_) {
        case PitDialect::kElasticsearch:
          path = "/_pit";
          w.key("id");
          w.value(context_id_);
          break;
        case PitDialect::kOpenSearch:
        case PitDialect::kNone:
          path = "/_search/point_in_time";
          w.key("pit_id");
          w.beginArray();
          w.value(context_id_);
          w.endArray();
          break;
      }
      break;
    case ScanMode::kScroll:
      path = "/_search/scroll";
      w.key("scroll_id");
      w.beginArray();
      w.value(context_id_);
      w.endArray();
      break;
  }
  w.endObject();
  context_id_.clear();
  done_ = true;
  CESYNC_ASSIGN_OR_RETURN(
      response,
      transport_.send(
          {.method = HttpMethod::kDelete, .path = path, .body = body, .idempotent = true}));
  // 404: the context already expired, which is what closing wanted.
  if (response.status != 200 && response.status != 404) {
    return fail(httpError(response.status, response.body, "DELETE " + path));
  }
  return {};
}

}  // namespace cesync::es
