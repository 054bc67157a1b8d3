// The client facade end to end: connect, create, write, scan, count.
#include "es/client.h"

#include <gtest/gtest.h>

#include "es_fixture.h"

namespace cesync::es {
namespace {

class ClientTest : public ::testing::TestWithParam<cesync::testing::SearchEndpoint> {};

TEST_P(ClientTest, ConnectWriteScan) {
  SystemClock clock;
  ClientOptions options;
  options.transport.base_url = GetParam().url;
  options.bulk.refresh = "wait_for";
  auto client = EsClient::connect(options, clock);
  ASSERT_TRUE(client) << client.error().toString();
  EsClient& es = **client;
  EXPECT_EQ(flavourName(es.server().flavour), GetParam().flavour);

  const std::string index = cesync::testing::uniqueName("client");
  ASSERT_TRUE(es.admin().create(index, testing::kDocsIndex));
  BulkEncoder batch;
  for (int i = 0; i < 25; ++i) {
    const std::string id = "k" + std::to_string(100 + i);
    batch.index({.index = index, .id = id, .version = 7},
                R"({"id":")" + id + R"(","timestamp":)" + std::to_string(i) + "}");
  }
  auto written = es.bulk(batch);
  ASSERT_TRUE(written) << written.error().toString();
  EXPECT_EQ(written->ok, 25U);

  ScanOptions scan_options;
  scan_options.index = index;
  scan_options.page_size = 10;
  auto scan = es.scan(scan_options);
  std::vector<SearchHit> page;
  std::vector<std::string> ids;
  for (bool more = true; more;) {
    auto next = scan->next(page);
    ASSERT_TRUE(next) << next.error().toString();
    more = *next;
    for (const auto& hit : page) {
      ids.push_back(hit.id);
    }
  }
  ASSERT_TRUE(scan->close());
  ASSERT_EQ(ids.size(), 25U);
  EXPECT_EQ(ids.front(), "k100");
  EXPECT_EQ(ids.back(), "k124");
  EXPECT_EQ(es.stats().bulk_items_ok.load(), 25U);
  EXPECT_LE(es.stats().connections_opened.load(), 2U);
  EXPECT_TRUE(es.admin().remove(index));
}

TEST(ClientConnectTest, UnreachableClusterIsATransientError) {
  SystemClock clock;
  ClientOptions options;
  options.transport.base_url = "http://127.0.0.1:1";
  auto client = EsClient::connect(options, clock);
  ASSERT_FALSE(client);
  EXPECT_TRUE(isTransient(client.error().code)) << client.error().toString();
}

INSTANTIATE_TEST_SUITE_P(Flavours, ClientTest,
                         ::testing::ValuesIn(cesync::testing::searchEndpoints()),
                         testing::flavourName);

}  // namespace
}  // namespace cesync::es
