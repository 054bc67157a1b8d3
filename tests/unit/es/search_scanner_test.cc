// The two point-in-time dialects and the scroll fallback, request by request.
#include "es/search_scanner.h"

#include <gtest/gtest.h>

#include "scripted_transport.h"

namespace cesync::es {
namespace {

using testing::reply;
using testing::ScriptedTransport;

ServerInfo server(Flavour flavour, int major, int minor) {
  ServerInfo info;
  info.flavour = flavour;
  info.major = major;
  info.minor = minor;
  info.version = std::to_string(major) + "." + std::to_string(minor) + ".0";
  return info;
}

std::string page(std::string_view context_key, std::string_view context, int first, int n) {
  std::string hits;
  for (int i = first; i < first + n; ++i) {
    if (!hits.empty()) {
      hits += ",";
    }
    hits += R"({"_index":"docs","_id":")" + std::to_string(i) + R"(","_source":{"n":)" +
            std::to_string(i) + R"(},"sort":[)" + std::to_string(i) + R"(,")" + std::to_string(i) +
            R"("]})";
  }
  return "{\"" + std::string(context_key) + "\":\"" + std::string(context) +
         R"(","_shards":{"total":1,"successful":1,"failed":0},"hits":{"hits":[)" + hits + "]}}";
}

ScanOptions options(ScanMode mode = ScanMode::kAuto) {
  ScanOptions o;
  o.index = "docs";
  o.query = R"({"range":{"timestamp":{"gte":5}}})";
  o.page_size = 2;
  o.mode = mode;
  return o;
}

TEST(SearchScannerTest, ElasticsearchDialect) {
  ScriptedTransport transport;
  transport.then([](std::string_view) { return reply(200, R"({"id":"es-pit-1"})"); });
  transport.then([](std::string_view) { return reply(200, page("pit_id", "es-pit-2", 0, 2)); });
  transport.then([](std::string_view) { return reply(200, page("pit_id", "es-pit-3", 2, 1)); });
  transport.then([](std::string_view) { return reply(200, R"({"succeeded":true})"); });
  SearchScanner scan(transport, server(Flavour::kElasticsearch, 8, 19), options());
  std::vector<SearchHit> hits;
  auto more = scan.next(hits);
  ASSERT_TRUE(more) << more.error().toString();
  EXPECT_TRUE(*more);
  EXPECT_EQ(hits.size(), 2U);
  more = scan.next(hits);
  ASSERT_TRUE(more);
  EXPECT_FALSE(*more) << "a short page ends a point-in-time scan";
  EXPECT_EQ(hits.front().id, "2");
  EXPECT_EQ(scan.lastSort(), R"([2,"2"])");
  ASSERT_TRUE(scan.close());

  ASSERT_EQ(transport.paths.size(), 4U);
  EXPECT_EQ(transport.paths[0], "/docs/_pit?keep_alive=1m");
  EXPECT_EQ(transport.methods[0], HttpMethod::kPost);
  EXPECT_EQ(transport.paths[1], "/_search") << "no index in the path with a PIT";
  EXPECT_EQ(
      transport.bodies[1],
      R"({"size":2,"track_total_hits":false,"version":true,"seq_no_primary_term":true,"query":{"range":{"timestamp":{"gte":5}}},)"
      R"("sort":[{"timestamp":"asc"},{"id":"asc"}],"pit":{"id":"es-pit-1","keep_alive":"1m"}})");
  EXPECT_EQ(
      transport.bodies[2],
      R"({"size":2,"track_total_hits":false,"version":true,"seq_no_primary_term":true,"query":{"range":{"timestamp":{"gte":5}}},)"
      R"("sort":[{"timestamp":"asc"},{"id":"asc"}],"search_after":[1,"1"],)"
      R"("pit":{"id":"es-pit-2","keep_alive":"1m"}})")
      << "search_after the last hit, with the newest PIT id";
  EXPECT_EQ(transport.paths[3], "/_pit");
  EXPECT_EQ(transport.methods[3], HttpMethod::kDelete);
  EXPECT_EQ(transport.bodies[3], R"({"id":"es-pit-3"})");
}

TEST(SearchScannerTest, OpenSearchDialect) {
  ScriptedTransport transport;
  transport.then([](std::string_view) {
    return reply(200, R"({"pit_id":"os-pit","_shards":{"failed":0},"creation_time":1})");
  });
  transport.then([](std::string_view) { return reply(200, page("pit_id", "os-pit", 0, 0)); });
  transport.then([](std::string_view) { return reply(200, R"({"pits":[]})"); });
  auto o = options();
  o.search_after = R"([4,"4"])";
  SearchScanner scan(transport, server(Flavour::kOpenSearch, 2, 19), o);
  std::vector<SearchHit> hits;
  auto more = scan.next(hits);
  ASSERT_TRUE(more) << more.error().toString();
  EXPECT_FALSE(*more);
  ASSERT_TRUE(scan.close());
  ASSERT_EQ(transport.paths.size(), 3U);
  EXPECT_EQ(transport.paths[0], "/docs/_search/point_in_time?keep_alive=1m");
  EXPECT_NE(transport.bodies[1].find(R"("search_after":[4,"4"])"), std::string::npos)
      << "a scan can start after a checkpoint";
  EXPECT_EQ(transport.paths[2], "/_search/point_in_time");
  EXPECT_EQ(transport.bodies[2], R"({"pit_id":["os-pit"]})");
}

TEST(SearchScannerTest, OldEnginesScroll) {
  ScriptedTransport transport;
  transport.then([](std::string_view) { return reply(200, page("_scroll_id", "s1", 0, 2)); });
  transport.then([](std::string_view) { return reply(200, page("_scroll_id", "s2", 2, 1)); });
  transport.then([](std::string_view) { return reply(200, page("_scroll_id", "s3", 0, 0)); });
  transport.then([](std::string_view) { return reply(200, R"({"succeeded":true})"); });
  SearchScanner scan(transport, server(Flavour::kOpenSearch, 1, 3), options());
  std::vector<SearchHit> hits;
  std::size_t total = 0;
  for (bool more = true; more;) {
    auto next = scan.next(hits);
    ASSERT_TRUE(next) << next.error().toString();
    more = *next;
    total += hits.size();
  }
  EXPECT_EQ(total, 3U);
  EXPECT_EQ(scan.mode(), ScanMode::kScroll);
  ASSERT_TRUE(scan.close());
  EXPECT_EQ(transport.paths[0], "/docs/_search?scroll=1m");
  EXPECT_EQ(transport.paths[1], "/_search/scroll");
  EXPECT_EQ(transport.bodies[1], R"({"scroll":"1m","scroll_id":"s1"})");
  EXPECT_EQ(transport.bodies[2], R"({"scroll":"1m","scroll_id":"s2"})")
      << "a short scroll page is not the end; an empty one is";
  EXPECT_EQ(transport.paths[3], "/_search/scroll");
  EXPECT_EQ(transport.bodies[3], R"({"scroll_id":["s3"]})");
}

TEST(SearchScannerTest, AutoFallsBackToScrollWhenThePitApiIsMissing) {
  ScriptedTransport transport;
  transport.then([](std::string_view) {
    return reply(400, R"({"error":{"type":"illegal_argument_exception","reason":"no handler"}})");
  });
  transport.then([](std::string_view) { return reply(200, page("_scroll_id", "s1", 0, 0)); });
  SearchScanner scan(transport, server(Flavour::kElasticsearch, 7, 10), options());
  std::vector<SearchHit> hits;
  auto more = scan.next(hits);
  ASSERT_TRUE(more) << more.error().toString();
  EXPECT_EQ(scan.mode(), ScanMode::kScroll);
  EXPECT_EQ(transport.paths[1], "/docs/_search?scroll=1m");
}

TEST(SearchScannerTest, ForcedPitOnAnEngineWithoutOneIsAnError) {
  ScriptedTransport transport;
  SearchScanner scan(transport, server(Flavour::kElasticsearch, 7, 9),
                     options(ScanMode::kPointInTime));
  std::vector<SearchHit> hits;
  auto more = scan.next(hits);
  ASSERT_FALSE(more);
  EXPECT_EQ(more.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(transport.paths.empty());
}

TEST(SearchScannerTest, PageSizeIsBounded) {
  ScriptedTransport transport;
  for (std::size_t size : {std::size_t{0}, std::size_t{10'001}}) {
    auto o = options();
    o.page_size = size;
    SearchScanner scan(transport, server(Flavour::kOpenSearch, 2, 19), o);
    std::vector<SearchHit> hits;
    auto more = scan.next(hits);
    ASSERT_FALSE(more);
    EXPECT_EQ(more.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_TRUE(transport.paths.empty());
}

TEST(SearchScannerTest, ExpiredPitIsNotFound) {
  ScriptedTransport transport;
  transport.then([](std::string_view) { return reply(200, R"({"id":"p"})"); });
  transport.then([](std::string_view) {
    return reply(404, R"({"error":{"type":"search_context_missing_exception","reason":"gone"}})");
  });
  transport.then([](std::string_view) { return reply(404, "{}"); });
  SearchScanner scan(transport, server(Flavour::kElasticsearch, 8, 0), options());
  std::vector<SearchHit> hits;
  auto more = scan.next(hits);
  ASSERT_FALSE(more);
  EXPECT_EQ(more.error().code, ErrorCode::kNotFound);
  EXPECT_NE(more.error().message.find("search_context_missing_exception"), std::string::npos);
  EXPECT_TRUE(scan.close()) << "closing an expired PIT is fine";
}

}  // namespace
}  // namespace cesync::es
