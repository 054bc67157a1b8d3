#include "es/server_info.h"

#include <gtest/gtest.h>

namespace cesync::es {
namespace {

constexpr std::string_view kOpenSearchNodes = R"({"nodes":{"23JP":{"version":"2.19.6"}}})";
constexpr std::string_view kOpenSearchRoot =
    R"({"name":"n1","version":{"distribution":"opensearch","number":"2.19.6"}})";
constexpr std::string_view kEsNodes =
    R"({"nodes":{"fXkH":{"version":"8.19.9","build_flavor":"default"}}})";

TEST(ServerInfoTest, ElasticsearchFromHeader) {
  auto info = parseServerInfo(kEsNodes, "Elasticsearch", "");
  ASSERT_TRUE(info) << info.error().toString();
  EXPECT_EQ(info->flavour, Flavour::kElasticsearch);
  EXPECT_EQ(info->major, 8);
  EXPECT_EQ(info->minor, 19);
  EXPECT_EQ(info->patch, 9);
  EXPECT_EQ(info->pitDialect(), PitDialect::kElasticsearch);
}

TEST(ServerInfoTest, OpenSearchFromRoot) {
  auto info = parseServerInfo(kOpenSearchNodes, "", kOpenSearchRoot);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->flavour, Flavour::kOpenSearch);
  EXPECT_EQ(info->version, "2.19.6");
  EXPECT_EQ(info->pitDialect(), PitDialect::kOpenSearch);
}

TEST(ServerInfoTest, VersionDecidesWithoutHeaderOrRoot) {
  auto es7 = parseServerInfo(R"({"nodes":{"a":{"version":"7.9.3"}}})", "", "");
  ASSERT_TRUE(es7);
  EXPECT_EQ(es7->flavour, Flavour::kElasticsearch);
  EXPECT_EQ(es7->pitDialect(), PitDialect::kNone) << "PIT arrived in 7.10";
  auto es710 = parseServerInfo(R"({"nodes":{"a":{"version":"7.10.2"}}})", "", "");
  EXPECT_EQ(es710->pitDialect(), PitDialect::kElasticsearch);
  auto os1 = parseServerInfo(R"({"nodes":{"a":{"version":"1.3.19"}}})", "", "");
  ASSERT_TRUE(os1);
  EXPECT_EQ(os1->flavour, Flavour::kOpenSearch);
  EXPECT_EQ(os1->pitDialect(), PitDialect::kNone) << "OpenSearch PIT arrived in 2.4";
  auto os23 = parseServerInfo(R"({"nodes":{"a":{"version":"2.3.0"}}})", "", "");
  EXPECT_EQ(os23->pitDialect(), PitDialect::kNone);
  auto os3 = parseServerInfo(R"({"nodes":{"a":{"version":"3.0.0-beta1"}}})", "", "");
  ASSERT_TRUE(os3);
  EXPECT_EQ(os3->pitDialect(), PitDialect::kOpenSearch);
}

TEST(ServerInfoTest, UnreadableAnswers) {
  EXPECT_EQ(parseServerInfo("{}", "", "").error().code, ErrorCode::kProtocol);
  EXPECT_EQ(parseServerInfo(R"({"nodes":{"a":{"version":"x"}}})", "", "").error().code,
            ErrorCode::kProtocol);
  EXPECT_EQ(parseServerInfo(R"({"nodes":{"a":{"version":"42.0.0"}}})", "", "").error().code,
            ErrorCode::kProtocol);
}

}  // namespace
}  // namespace cesync::es
