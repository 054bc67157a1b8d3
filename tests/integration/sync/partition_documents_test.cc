// Finding the documents of a partition (for partition and range deletes) on both engines: the
// documents come from real rows through the fetcher and the document builder, are indexed with
// refresh off, and are found by token and id without a refresh by the caller.
#include "sync/to_search/partition_documents.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "cql/types/value_codec.h"
#include "support/http.h"
#include "support/servers.h"
#include "sync/doc_fields.h"
#include "sync/setup.h"
#include "sync/to_search/doc_builder.h"
#include "sync/to_search/row_fetcher.h"
#include "sync_fixture.h"

namespace cesync::sync {
namespace {

using cql::CqlType;
using cql::TypeKind;
using cql::Value;

cql::Bytes ser(TypeKind kind, const Value& v) {
  return serialized(kind, v);
}

class PartitionDocumentsTest : public SyncFixture {
 protected:
  // Creates the table, inserts `rows`, indexes a document per row (refresh off) and returns
  // the table's schema.
  TableSchema indexTable(const std::string& definition, const std::vector<std::string>& inserts,
                         const std::vector<std::vector<cql::Bytes>>& partitions,
                         std::string& index) {
    const std::string table = testing::uniqueName("parts");
    run("CREATE TABLE it_sync." + table + " (" + definition + ")");
    EXPECT_TRUE(session_->waitForSchemaAgreement(std::chrono::seconds(30)));
    for (const auto& insert : inserts) {
      run("INSERT INTO it_sync." + table + " " + insert);
    }
    auto schema = loadTableSchema(*session_, "it_sync", table);
    EXPECT_TRUE(schema);
    index = table;
    const std::string body = indexBody(*schema, client_->server());
    const auto created = testing::http("PUT", GetParam().url + "/" + index, body);
    EXPECT_EQ(created.status, 200) << created.body;
    EXPECT_EQ(testing::http("PUT", GetParam().url + "/" + index + "/_settings",
                            R"({"index":{"refresh_interval":"-1"}})")
                  .status,
              200);

    RowFetcher fetcher(*session_, *schema, cql::Consistency::kOne, 4);
    std::vector<KeyWork> work;
    for (const auto& pk : partitions) {
      KeyWork w;
      w.scope = KeyWork::Scope::kPartition;
      w.pk = pk;
      work.push_back(w);
    }
    auto fetched = fetcher.fetch(work);
    EXPECT_TRUE(fetched);
    std::vector<std::size_t> fields(schema->columns.size());
    for (std::size_t i = 0; i < fields.size(); ++i) {
      fields[i] = i;
    }
    std::vector<std::size_t> keys;
    for (const auto& name : schema->primaryKey()) {
      keys.push_back(static_cast<std::size_t>(schema->columnIndex(name)));
    }
    const DocBuilder builder(fields, keys, kTokenField, kIdField);
    for (const auto& f : *fetched) {
      for (const auto& page : f.pages) {
        for (const auto row : page) {
          auto id = builder.documentId(row);
          EXPECT_TRUE(id);
          std::string doc;
          EXPECT_TRUE(builder.appendDocument(doc, row, schema->columns,
                                             *row.get<std::int64_t>(fetcher.tokenColumn()), *id));
          const auto put = testing::http(
              "PUT", GetParam().url + "/" + index + "/_doc/" + testing::urlEncode(*id), doc);
          EXPECT_EQ(put.status, 201) << put.body;
        }
      }
    }
    return *schema;
  }

  std::vector<std::string> idsOf(const TableSchema& schema, const std::string& index,
                                 const std::vector<cql::Bytes>& pk) {
    auto selector = partitionSelector(schema, pk);
    EXPECT_TRUE(selector);
    auto ids = partitionDocumentIds(*client_, index, *selector);
    EXPECT_TRUE(ids) << ids.error().toString();
    auto out = ids ? *ids : std::vector<std::string>{};
    std::sort(out.begin(), out.end());
    return out;
  }
};

TEST_P(PartitionDocumentsTest, CompositePartitionWithClusteringRows) {
  std::string index;
  const cql::Bytes one = ser(TypeKind::kInt, Value::integer(1));
  const cql::Bytes eleven = ser(TypeKind::kInt, Value::integer(11));
  const cql::Bytes x = ser(TypeKind::kVarchar, Value::text("x"));
  const auto schema =
      indexTable("a int, b text, c int, v text, PRIMARY KEY ((a, b), c)",
                 {"(a, b, c, v) VALUES (1, 'x', 1, 'a')", "(a, b, c, v) VALUES (1, 'x', 2, 'b')",
                  "(a, b, c, v) VALUES (1, 'x', 3, 'c')", "(a, b, c, v) VALUES (11, 'x', 1, 'd')"},
                 {{one, x}, {eleven, x}}, index);
  EXPECT_EQ(idsOf(schema, index, {one, x}),
            (std::vector<std::string>{R"([1,"x",1])", R"([1,"x",2])", R"([1,"x",3])"}));
  EXPECT_EQ(idsOf(schema, index, {eleven, x}), (std::vector<std::string>{R"([11,"x",1])"}));
  EXPECT_TRUE(idsOf(schema, index, {ser(TypeKind::kInt, Value::integer(2)), x}).empty());
  testing::http("DELETE", GetParam().url + "/" + index);
}

TEST_P(PartitionDocumentsTest, SingleColumnKeyAndCompositeKeyWithoutClustering) {
  std::string index;
  const cql::Bytes quote = ser(TypeKind::kVarchar, Value::text("o'b ✓"));
  const auto single = indexTable("k text PRIMARY KEY, v int",
                                 {"(k, v) VALUES ('o''b ✓', 1)", "(k, v) VALUES ('other', 2)"},
                                 {{quote}, {ser(TypeKind::kVarchar, Value::text("other"))}}, index);
  EXPECT_EQ(idsOf(single, index, {quote}), (std::vector<std::string>{"o'b ✓"}));
  testing::http("DELETE", GetParam().url + "/" + index);

  const cql::Bytes one = ser(TypeKind::kInt, Value::integer(1));
  const cql::Bytes two = ser(TypeKind::kInt, Value::integer(2));
  const auto composite = indexTable("a int, b int, v int, PRIMARY KEY ((a, b))",
                                    {"(a, b, v) VALUES (1, 2, 3)", "(a, b, v) VALUES (1, 22, 3)"},
                                    {{one, two}}, index);
  EXPECT_EQ(idsOf(composite, index, {one, two}), (std::vector<std::string>{"[1,2]"}));
  testing::http("DELETE", GetParam().url + "/" + index);
}

INSTANTIATE_TEST_SUITE_P(Flavours, PartitionDocumentsTest,
                         ::testing::ValuesIn(testing::searchEndpoints()),
                         [](const auto& param_info) { return param_info.param.flavour; });

}  // namespace
}  // namespace cesync::sync
