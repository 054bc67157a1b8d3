#include "sync/mapping.h"

#include <gtest/gtest.h>

namespace cesync::sync {
namespace {

using cql::CqlType;
using cql::TypeKind;

es::ServerInfo server(es::Flavour flavour, int major, int minor) {
  es::ServerInfo s;
  s.flavour = flavour;
  s.major = major;
  s.minor = minor;
  return s;
}

std::vector<cql::ColumnSpec> columns() {
  auto scalar = [](TypeKind k) { return CqlType::scalar(k); };
  return {
      {"ks", "t", "id", scalar(TypeKind::kVarchar)},
      {"ks", "t", "name", scalar(TypeKind::kVarchar)},
      {"ks", "t", "n", scalar(TypeKind::kInt)},
      {"ks", "t", "price", scalar(TypeKind::kDecimal)},
      {"ks", "t", "at", scalar(TypeKind::kTimestamp)},
      {"ks", "t", "tags", CqlType::set(scalar(TypeKind::kVarchar))},
      {"ks", "t", "attrs", CqlType::map(scalar(TypeKind::kVarchar), scalar(TypeKind::kInt))},
      {"ks", "t", "pair", CqlType::tuple({scalar(TypeKind::kInt), scalar(TypeKind::kVarchar)})},
      {"ks", "t", "deep", CqlType::tuple({CqlType::list(scalar(TypeKind::kInt))})},
      {"ks", "t", "emb", CqlType::vector(scalar(TypeKind::kFloat), 3)},
      {"ks", "t", "addr",
       CqlType::udt("ks", "address", {"street", "zip"},
                    {scalar(TypeKind::kVarchar), scalar(TypeKind::kInt)})},
      {"ks", "t", "d", scalar(TypeKind::kDuration)},
  };
}

TEST(MappingTest, OpenSearch) {
  const std::string m = deriveMapping(
      columns(), {server(es::Flavour::kOpenSearch, 2, 19), {"id"}, "cesync_token", "cesync_id"});
  EXPECT_EQ(
      m,
      R"({"properties":{)"
      R"("id":{"type":"keyword"},)"
      R"("name":{"type":"text","fields":{"keyword":{"type":"keyword","ignore_above":256}}},)"
      R"("n":{"type":"integer"},)"
      R"("price":{"type":"keyword"},)"
      R"("at":{"type":"date"},)"
      R"("tags":{"type":"text","fields":{"keyword":{"type":"keyword","ignore_above":256}}},)"
      R"("attrs":{"type":"flat_object"},)"
      R"("pair":{"type":"keyword"},)"
      R"("deep":{"type":"object","enabled":false},)"
      R"("emb":{"type":"float"},)"
      R"("addr":{"properties":{"street":{"type":"text","fields":{"keyword":{"type":"keyword","ignore_above":256}}},"zip":{"type":"integer"}}},)"
      R"("d":{"properties":{"months":{"type":"integer"},"days":{"type":"integer"},"nanoseconds":{"type":"long"}}},)"
      R"("cesync_id":{"type":"keyword"},"cesync_token":{"type":"long"}}})");
}

TEST(MappingTest, ElasticsearchUsesFlattenedAndDenseVector) {
  const std::string m =
      deriveMapping(columns(), {server(es::Flavour::kElasticsearch, 8, 19), {"id"}, "", ""});
  EXPECT_NE(m.find(R"("attrs":{"type":"flattened"})"), std::string::npos) << m;
  EXPECT_NE(m.find(R"("emb":{"type":"dense_vector","dims":3,"index":true,"similarity":"l2_norm"})"),
            std::string::npos)
      << m;
  EXPECT_EQ(m.find("cesync_token"), std::string::npos);
}

TEST(MappingTest, OldEnginesKeepMapsInTheSourceOnly) {
  const std::string m =
      deriveMapping(columns(), {server(es::Flavour::kOpenSearch, 1, 3), {"id"}, "", ""});
  EXPECT_NE(m.find(R"("attrs":{"type":"object","enabled":false})"), std::string::npos) << m;
}

}  // namespace
}  // namespace cesync::sync
