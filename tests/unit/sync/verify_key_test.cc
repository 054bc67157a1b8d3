#include <gtest/gtest.h>

#include "cql/types/cql_type.h"
#include "sync/to_search/partition_documents.h"
#include "sync/verify/verifier.h"

namespace cesync::sync {
namespace {

using cql::CqlType;
using cql::TypeKind;

TableSchema schemaOf(std::vector<std::pair<std::string, TypeKind>> columns,
                     std::vector<std::string> pk, std::vector<std::string> ck) {
  TableSchema schema;
  schema.keyspace = "ks";
  schema.table = "t";
  for (auto& [name, kind] : columns) {
    schema.columns.push_back(cql::ColumnSpec{"ks", "t", name, CqlType::scalar(kind)});
  }
  schema.partition_key = std::move(pk);
  schema.clustering = std::move(ck);
  return schema;
}

TEST(KeyOfDocumentId, SingleColumnIdsRoundTrip) {
  const auto schema = schemaOf({{"id", TypeKind::kInt}, {"v", TypeKind::kVarchar}}, {"id"}, {});
  std::vector<cql::Bytes> pk;
  std::vector<cql::Bytes> ck;
  ASSERT_TRUE(keyOfDocumentId(schema, "42", pk, ck));
  ASSERT_EQ(pk.size(), 1U);
  EXPECT_TRUE(ck.empty());
  EXPECT_EQ(documentIdOfKey(schema, pk, ck).value(), "42");
  // Lenient forms and other text name no row's document.
  EXPECT_FALSE(keyOfDocumentId(schema, "+42", pk, ck));
  EXPECT_FALSE(keyOfDocumentId(schema, "stray", pk, ck));
  EXPECT_FALSE(keyOfDocumentId(schema, "", pk, ck));
}

TEST(KeyOfDocumentId, CompositeIdsAreJsonArraysOfTheKeyParts) {
  const auto schema = schemaOf(
      {{"k", TypeKind::kVarchar}, {"c", TypeKind::kInt}, {"v", TypeKind::kVarchar}}, {"k"}, {"c"});
  std::vector<cql::Bytes> pk;
  std::vector<cql::Bytes> ck;
  ASSERT_TRUE(keyOfDocumentId(schema, R"(["o'b ✓",2])", pk, ck));
  ASSERT_EQ(pk.size(), 1U);
  ASSERT_EQ(ck.size(), 1U);
  EXPECT_EQ(documentIdOfKey(schema, pk, ck).value(), R"(["o'b ✓",2])");
  EXPECT_FALSE(keyOfDocumentId(schema, R"(["a"])", pk, ck));       // too few parts
  EXPECT_FALSE(keyOfDocumentId(schema, R"(["a",1,2])", pk, ck));   // too many
  EXPECT_FALSE(keyOfDocumentId(schema, R"(["a",null])", pk, ck));  // null key part
  EXPECT_FALSE(keyOfDocumentId(schema, R"(["a", 1])", pk, ck));    // not the canonical form
  EXPECT_FALSE(keyOfDocumentId(schema, R"(["a","x"])", pk, ck));   // wrong type
  EXPECT_FALSE(keyOfDocumentId(schema, "stray-a", pk, ck));
}

}  // namespace
}  // namespace cesync::sync
