// Proves each local search engine is real: create an index, index a document, get it back, and
// read the flavour the node reports about itself.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>

#include "support/http.h"
#include "support/servers.h"

namespace cesync {
namespace {

using Reply = testing::HttpReply;
using testing::http;

class SearchRoundTripTest : public ::testing::TestWithParam<testing::SearchEndpoint> {};

TEST_P(SearchRoundTripTest, IndexAndGetDocument) {
  const auto& endpoint = GetParam();
  const std::string index = testing::uniqueName("ground");

  const Reply nodes = http("GET", endpoint.url + "/_nodes/_local");
  ASSERT_EQ(nodes.status, 200) << endpoint.flavour << " not reachable at " << endpoint.url
                               << " (scripts/cluster up): " << nodes.body;
  // The integ-test builds differ: OpenSearch names itself on GET /, Elasticsearch has no GET /
  // (no rest-root module) but reports its version per node.
  if (endpoint.flavour == "opensearch") {
    const Reply root = http("GET", endpoint.url + "/");
    EXPECT_NE(root.body.find("\"distribution\" : \"opensearch\""), std::string::npos) << root.body;
    EXPECT_NE(nodes.body.find("\"version\":\"2.19."), std::string::npos);
  } else {
    EXPECT_NE(nodes.body.find("\"version\":\"8."), std::string::npos) << nodes.body.substr(0, 400);
  }

  const Reply created = http("PUT", endpoint.url + "/" + index,
                             R"({"settings":{"number_of_shards":1,"number_of_replicas":0}})");
  ASSERT_EQ(created.status, 200) << created.body;

  const Reply indexed = http("PUT", endpoint.url + "/" + index + "/_doc/k%C3%A9y-1?refresh=true",
                             R"({"name":"caf\u00e9","n":42})");
  ASSERT_EQ(indexed.status, 201) << indexed.body;

  const Reply got = http("GET", endpoint.url + "/" + index + "/_doc/k%C3%A9y-1");
  ASSERT_EQ(got.status, 200) << got.body;
  simdjson::ondemand::parser parser;
  simdjson::padded_string json(got.body);
  auto doc = parser.iterate(json);
  EXPECT_EQ(std::string_view(doc["_id"].get_string().value()), "k\xC3\xA9y-1");
  EXPECT_TRUE(doc["found"].get_bool().value());
  auto source = doc["_source"];
  EXPECT_EQ(std::string_view(source["name"].get_string().value()), "caf\xC3\xA9");
  EXPECT_EQ(source["n"].get_int64().value(), 42);

  EXPECT_EQ(http("DELETE", endpoint.url + "/" + index).status, 200);
}

INSTANTIATE_TEST_SUITE_P(Flavours, SearchRoundTripTest,
                         ::testing::ValuesIn(testing::searchEndpoints()),
                         [](const auto& param_info) { return param_info.param.flavour; });

}  // namespace
}  // namespace cesync
