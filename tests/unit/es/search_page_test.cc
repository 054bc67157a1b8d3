#include <gtest/gtest.h>

#include "es/search_scanner.h"

namespace cesync::es {
namespace {

TEST(SearchPageTest, ReadsHitsAndContextId) {
  const std::string body =
      R"({"pit_id":"abc==","took":1,"timed_out":false,"_shards":{"total":1,"successful":1,)"
      R"("skipped":0,"failed":0},"hits":{"total":{"value":2,"relation":"eq"},"max_score":null,)"
      R"("hits":[{"_index":"docs","_id":"k\u00e9y","_score":null,"_source":{"id":"k\u00e9y",)"
      R"("timestamp":5,"nested":{"a":[1,2]}},"sort":[5,"k\u00e9y"]},)"
      R"({"_index":"docs","_id":"2","_score":null,"_source":{},"sort":[6,"2"]}]}})";
  std::vector<SearchHit> page;
  std::string context;
  auto status = parseSearchPage(body, 0, page, context);
  ASSERT_TRUE(status) << status.error().toString();
  EXPECT_EQ(context, "abc==");
  ASSERT_EQ(page.size(), 2U);
  EXPECT_EQ(page[0].index, "docs");
  EXPECT_EQ(page[0].id, "k\xC3\xA9y") << "ids are unescaped";
  EXPECT_EQ(page[0].source, R"({"id":"k\u00e9y","timestamp":5,"nested":{"a":[1,2]}})")
      << "sources are raw JSON";
  EXPECT_EQ(page[0].sort, R"([5,"k\u00e9y"])") << "sort values are raw JSON, for search_after";
  EXPECT_EQ(page[1].source, "{}");
}

TEST(SearchPageTest, ScrollIdAndEmptyPage) {
  std::vector<SearchHit> page{SearchHit{}};
  std::string context;
  ASSERT_TRUE(parseSearchPage(R"({"_scroll_id":"s1","hits":{"hits":[]}})", 0, page, context));
  EXPECT_TRUE(page.empty());
  EXPECT_EQ(context, "s1");
}

TEST(SearchPageTest, ShardFailuresAreUnavailable) {
  std::vector<SearchHit> page;
  std::string context;
  auto status = parseSearchPage(
      R"({"_shards":{"total":2,"successful":1,"failed":1},"hits":{"hits":[]}})", 0, page, context);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kUnavailable);
}

TEST(SearchPageTest, MalformedAnswers) {
  std::vector<SearchHit> page;
  std::string context;
  EXPECT_EQ(parseSearchPage("[]", 0, page, context).error().code, ErrorCode::kProtocol);
  EXPECT_EQ(parseSearchPage(R"({"took":1})", 0, page, context).error().code, ErrorCode::kProtocol);
  EXPECT_EQ(parseSearchPage(R"({"hits":{"hits":[{"_id":1}]}})", 0, page, context).error().code,
            ErrorCode::kProtocol);
}

}  // namespace
}  // namespace cesync::es
