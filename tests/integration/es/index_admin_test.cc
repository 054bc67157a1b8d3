// Index administration against the real engines.
#include <gtest/gtest.h>

#include "es_fixture.h"

namespace cesync::es {
namespace {

class IndexAdminTest : public testing::EsTest {};

TEST_P(IndexAdminTest, CreateExistsMappingRefreshCountDelete) {
  auto before = admin_->exists(index_);
  ASSERT_TRUE(before) << before.error().toString();
  EXPECT_FALSE(*before);

  ASSERT_TRUE(admin_->create(index_, testing::kDocsIndex));
  auto after = admin_->exists(index_);
  ASSERT_TRUE(after);
  EXPECT_TRUE(*after);

  auto again = admin_->create(index_, testing::kDocsIndex);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kRejected);
  EXPECT_NE(again.error().message.find("resource_already_exists_exception"), std::string::npos);

  auto mapping = admin_->getMapping(index_);
  ASSERT_TRUE(mapping) << mapping.error().toString();
  EXPECT_NE(mapping->find(R"("timestamp":{"type":"long"})"), std::string::npos) << *mapping;
  EXPECT_NE(mapping->find(R"("id":{"type":"keyword"})"), std::string::npos) << *mapping;

  ASSERT_TRUE(admin_->putSettings(index_, R"({"index":{"refresh_interval":"-1"}})"));
  for (int i = 0; i < 3; ++i) {
    const std::string body =
        R"({"id":")" + std::to_string(i) + R"(","n":)" + std::to_string(i) + "}";
    auto put = transport_->send({.method = HttpMethod::kPut,
                                 .path = "/" + index_ + "/_doc/" + std::to_string(i),
                                 .body = body});
    ASSERT_TRUE(put);
    ASSERT_EQ(put->status, 201) << put->body;
  }
  auto unrefreshed = admin_->count(index_);
  ASSERT_TRUE(unrefreshed);
  EXPECT_EQ(*unrefreshed, 0U) << "refresh is off, nothing visible yet";
  ASSERT_TRUE(admin_->refresh(index_));
  auto count = admin_->count(index_);
  ASSERT_TRUE(count);
  EXPECT_EQ(*count, 3U);
  auto filtered = admin_->count(index_, R"({"range":{"n":{"gte":1}}})");
  ASSERT_TRUE(filtered) << filtered.error().toString();
  EXPECT_EQ(*filtered, 2U);

  ASSERT_TRUE(admin_->remove(index_));
  auto gone = admin_->exists(index_);
  ASSERT_TRUE(gone);
  EXPECT_FALSE(*gone);
  EXPECT_TRUE(admin_->remove(index_)) << "deleting a missing index is fine";
  EXPECT_EQ(admin_->count(index_).error().code, ErrorCode::kNotFound);
}

TEST_P(IndexAdminTest, InvalidSettingsAreRejectedWithTheReason) {
  auto created = admin_->create(index_, R"({"settings":{"number_of_shards":0}})");
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().code, ErrorCode::kRejected);
  EXPECT_NE(created.error().message.find("number_of_shards"), std::string::npos)
      << created.error().message;
}

INSTANTIATE_TEST_SUITE_P(Flavours, IndexAdminTest,
                         ::testing::ValuesIn(cesync::testing::searchEndpoints()),
                         testing::flavourName);

}  // namespace
}  // namespace cesync::es
