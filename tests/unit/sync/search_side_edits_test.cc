#include "sync/search_side_edits.h"

#include <gtest/gtest.h>

namespace cesync::sync {
namespace {

TEST(SearchSideEditsTest, FoundAndMissingDocuments) {
  const std::string body = R"({"docs":[
    {"_index":"ix","_id":"1","_version":3,"_seq_no":7,"_primary_term":2,"found":true,
     "_source":{"updated":"2026-11-24T23:00:00.000Z"}},
    {"_index":"ix","_id":"2","_version":1,"_seq_no":8,"_primary_term":2,"found":true,
     "_source":{"updated":1795561200001}},
    {"_index":"ix","_id":"3","_seq_no":9,"_primary_term":2,"found":true,"_source":{}},
    {"_index":"ix","_id":"4","found":false}]})";
  auto docs = SearchSideEdits::parse("ix", "updated", body);
  ASSERT_TRUE(docs) << docs.error().message;
  ASSERT_EQ(docs->size(), 3U);
  EXPECT_EQ(docs->at("1").timestamp_ms, 1795561200000);
  EXPECT_EQ(docs->at("1").seq_no, 7);
  EXPECT_EQ(docs->at("1").primary_term, 2);
  EXPECT_EQ(docs->at("2").timestamp_ms, 1795561200001);
  EXPECT_FALSE(docs->at("3").timestamp_ms.has_value());
  EXPECT_FALSE(docs->contains("4"));
}

// Found by the fault suite: right after the engine restarts, an _mget answers documents of a
// shard still recovering with an error entry. Taken for missing, such a document was written
// with `create`, refused as a conflict (it exists), counted as already newer and never written:
// the index kept an older version of the row for good.
TEST(SearchSideEditsTest, ADocumentTheEngineCouldNotReadIsAnErrorNotMissing) {
  const std::string body = R"({"docs":[
    {"_index":"ix","_id":"1","_seq_no":7,"_primary_term":2,"found":true,"_source":{}},
    {"_index":"ix","_id":"2","error":{"root_cause":[{"type":"no_shard_available_action_exception",
     "reason":"No shard available for [get [ix][2]: routing [null]]"}],
     "type":"no_shard_available_action_exception",
     "reason":"No shard available for [get [ix][2]: routing [null]]"}}]})";
  auto docs = SearchSideEdits::parse("ix", "updated", body);
  ASSERT_FALSE(docs) << "a document that could not be read was taken for missing";
  EXPECT_EQ(docs.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(docs.error().message.find("no_shard_available_action_exception"), std::string::npos)
      << docs.error().message;
  EXPECT_NE(docs.error().message.find("document 2"), std::string::npos) << docs.error().message;
}

TEST(SearchSideEditsTest, AnAnswerThatIsNotAnMgetAnswerIsAnError) {
  EXPECT_FALSE(SearchSideEdits::parse("ix", "updated", "not json"));
  EXPECT_FALSE(SearchSideEdits::parse("ix", "updated", R"({"hits":{}})"));
}

}  // namespace
}  // namespace cesync::sync
