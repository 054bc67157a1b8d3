// The document form (docs/TYPES.md) and the derived mapping, proven together on real servers:
// rows of every CQL type are read from Cassandra with cesync's client, turned into documents,
// and indexed into an index created with the derived mapping on each search engine; the engines
// accept every document and answer typed queries (ranges on dates, CIDR on ip, terms on keys).
#include <gtest/gtest.h>
#include <simdjson.h>

#include "cql/session.h"
#include "support/cassandra.h"
#include "support/http.h"
#include "support/servers.h"
#include "sync/mapping.h"
#include "sync/to_search/doc_builder.h"

namespace cesync::sync {
namespace {

using testing::http;

class MappingIntegrationTest : public ::testing::TestWithParam<testing::SearchEndpoint> {
 protected:
  static void SetUpTestSuite() {
    session_ = testing::connectLocalCassandra().release();
    ASSERT_NE(session_, nullptr);
    table_ = "it_sync." + testing::uniqueName("all_types");
    run("CREATE KEYSPACE IF NOT EXISTS it_sync WITH replication = "
        "{'class': 'SimpleStrategy', 'replication_factor': 1}");
    run("CREATE TYPE IF NOT EXISTS it_sync.address (street text, zip int)");
    run("CREATE TABLE " + table_ +
        " (id text, c int, a ascii, big bigint, bl blob, b boolean, dec decimal, dbl double,"
        " fl float, i int, ts timestamp, u uuid, tu timeuuid, vi varint, ip inet, d date, t time,"
        " si smallint, ti tinyint, dur duration, l list<int>, s set<text>, m map<text, int>,"
        " tup tuple<int, text>, addr frozen<address>, v vector<float, 3>,"
        " nested map<text, frozen<list<int>>>, PRIMARY KEY ((id), c))");
    ASSERT_TRUE(session_->waitForSchemaAgreement(std::chrono::seconds(30)));
    run("INSERT INTO " + table_ +
        " (id, c, a, big, bl, b, dec, dbl, fl, i, ts, u, tu, vi, ip, d, t, si, ti, dur, l, s, m,"
        " tup, addr, v, nested) VALUES ('o''b ✓', 1, 'ascii', 9223372036854775807, 0xcafe, true,"
        " 123.450, 0.1, 0.1, -7, '2024-02-29 12:34:56.789+0000',"
        " 123e4567-e89b-12d3-a456-426614174000, 50554d6e-29bb-11e5-b345-feff819cdc9f,"
        " 1180591620717411303424, '10.1.2.3', '2024-01-01', '23:59:59.999999999', 32767, -128,"
        " 1mo2d3ns, [3, 1, 2], {'b', 'a'}, {'k': 1, 'q\"': 2}, (1, 'x'),"
        " {street: 'Main', zip: 12345}, [0.5, -1.25, 3], {'n': [1, 2]})");
    // Nulls everywhere, NaN, and an all-zero vector (rejected by cosine similarity).
    run("INSERT INTO " + table_ + " (id, c, dbl, v) VALUES ('second', 2, NaN, [0, 0, 0])");
  }

  static void TearDownTestSuite() {
    if (session_ != nullptr) {
      session_->stop();
      delete session_;
      session_ = nullptr;
    }
  }

  static void run(const std::string& cql) { testing::runCql(*session_, cql); }

  static cql::Session* session_;
  static std::string table_;
};

cql::Session* MappingIntegrationTest::session_ = nullptr;
std::string MappingIntegrationTest::table_;

TEST_P(MappingIntegrationTest, EveryTypeIsAcceptedAndQueryable) {
  const auto& endpoint = GetParam();
  auto rows = session_->execute("SELECT * FROM " + table_);
  ASSERT_TRUE(rows) << rows.error().toString();
  ASSERT_EQ(rows->rows.size(), 2U);
  const auto& columns = rows->rows.columns();

  es::ServerInfo server;
  server.flavour =
      endpoint.flavour == "opensearch" ? es::Flavour::kOpenSearch : es::Flavour::kElasticsearch;
  server.major = endpoint.flavour == "opensearch" ? 2 : 8;
  server.minor = 19;
  const std::string mapping =
      deriveMapping(columns, {server, {"id", "c"}, "cesync_token", "cesync_id"});

  const std::string index = testing::uniqueName("mapping");
  const auto created = http(
      "PUT", endpoint.url + "/" + index,
      R"({"settings":{"number_of_shards":1,"number_of_replicas":0},"mappings":)" + mapping + "}");
  ASSERT_EQ(created.status, 200) << created.body << "\n" << mapping;

  std::vector<std::size_t> fields(columns.size());
  for (std::size_t i = 0; i < fields.size(); ++i) {
    fields[i] = i;
  }
  const auto id_column = *rows->rows.columnIndex("id");
  const auto c_column = *rows->rows.columnIndex("c");
  const DocBuilder builder(fields, {id_column, c_column}, "cesync_token", "cesync_id");
  std::vector<std::string> ids;
  for (const auto row : rows->rows) {
    auto id = builder.documentId(row);
    ASSERT_TRUE(id);
    std::string doc;
    ASSERT_TRUE(builder.appendDocument(doc, row, columns, -1234567890123, *id));
    const auto put = http(
        "PUT", endpoint.url + "/" + index + "/_doc/" + testing::urlEncode(*id) + "?refresh=true",
        doc);
    EXPECT_EQ(put.status, 201) << "document refused: " << put.body << "\n" << doc;
    ids.push_back(*id);
  }
  EXPECT_NE(std::find(ids.begin(), ids.end(), R"(["o'b ✓",1])"), ids.end());

  const auto got =
      http("GET", endpoint.url + "/" + index + "/_doc/" + testing::urlEncode(R"(["o'b ✓",1])"));
  ASSERT_EQ(got.status, 200) << got.body;
  simdjson::dom::parser parser;
  const simdjson::dom::element source = parser.parse(got.body)["_source"];
  EXPECT_EQ(std::string_view(source["ts"]), "2024-02-29T12:34:56.789Z");
  EXPECT_EQ(std::string_view(source["dec"]), "123.450");
  EXPECT_EQ(std::string_view(source["vi"]), "1180591620717411303424");
  EXPECT_EQ(std::string_view(source["t"]), "23:59:59.999999999");
  EXPECT_EQ(std::string_view(source["d"]), "2024-01-01");
  EXPECT_EQ(std::string_view(source["bl"]), "yv4=");
  EXPECT_EQ(std::int64_t(source["big"]), 9223372036854775807);
  EXPECT_EQ(std::int64_t(source["cesync_token"]), -1234567890123);
  EXPECT_EQ(std::string_view(source["cesync_id"]), R"(["o'b ✓",1])");
  EXPECT_EQ(simdjson::to_string(source["m"]), R"({"k":1,"q\"":2})");
  EXPECT_EQ(simdjson::to_string(source["addr"]), R"({"street":"Main","zip":12345})");
  EXPECT_EQ(simdjson::to_string(source["dur"]), R"({"months":1,"days":2,"nanoseconds":3})");

  // The mapping types do their jobs: a date range, a CIDR match on ip, a term on a text key.
  auto count = [&](const std::string& query) {
    const auto r = http("POST", endpoint.url + "/" + index + "/_count", query);
    EXPECT_EQ(r.status, 200) << r.body;
    simdjson::dom::parser p;
    return std::int64_t(p.parse(r.body)["count"]);
  };
  EXPECT_EQ(count(R"({"query":{"range":{"ts":{"gte":"2024-02-29T00:00:00Z"}}}})"), 1);
  EXPECT_EQ(count(R"({"query":{"term":{"ip":"10.0.0.0/8"}}})"), 1);
  EXPECT_EQ(count(R"({"query":{"term":{"id":"o'b ✓"}}})"), 1);
  EXPECT_EQ(count(R"({"query":{"match":{"addr.street":"main"}}})"), 1);
  EXPECT_EQ(count(R"({"query":{"range":{"dur.days":{"gte":2}}}})"), 1);

  EXPECT_EQ(http("DELETE", endpoint.url + "/" + index).status, 200);
}

INSTANTIATE_TEST_SUITE_P(Flavours, MappingIntegrationTest,
                         ::testing::ValuesIn(testing::searchEndpoints()),
                         [](const auto& param_info) { return param_info.param.flavour; });

}  // namespace
}  // namespace cesync::sync
