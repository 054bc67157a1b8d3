#include "es/bulk_response.h"

#include <gtest/gtest.h>

#include <string>

#include "fixture.h"

namespace cesync::es {
namespace {

void expectMixedOutcomes(const std::string& body) {
  ASSERT_FALSE(body.empty());
  auto parsed = parseBulkResponse(body, 7);
  ASSERT_TRUE(parsed) << parsed.error().toString();
  const BulkResponse& r = *parsed;
  EXPECT_TRUE(r.errors);
  ASSERT_EQ(r.items.size(), 7U);
  EXPECT_EQ(r.items[0].outcome, ItemOutcome::kOk);
  EXPECT_EQ(r.items[0].status, 201);
  EXPECT_TRUE(r.items[0].error_type.empty());
  EXPECT_EQ(r.items[1].outcome, ItemOutcome::kAlreadyNewer) << "stale external version";
  EXPECT_EQ(r.items[1].status, 409);
  EXPECT_EQ(r.items[1].error_type, "version_conflict_engine_exception");
  EXPECT_EQ(r.items[2].outcome, ItemOutcome::kDeadLetter) << "mapping error";
  EXPECT_EQ(r.items[2].status, 400);
  EXPECT_NE(r.items[2].reason.find("failed to parse field [n] of type [long]"), std::string::npos)
      << r.items[2].reason;
  EXPECT_NE(r.items[2].reason.find("caused by illegal_argument_exception: For input string: "
                                   "\"not a number\""),
            std::string::npos)
      << r.items[2].reason;
  EXPECT_EQ(r.items[3].outcome, ItemOutcome::kOk) << "delete of a missing document";
  EXPECT_EQ(r.items[3].status, 404);
  EXPECT_EQ(r.items[4].outcome, ItemOutcome::kOk);
  EXPECT_EQ(r.items[5].outcome, ItemOutcome::kAlreadyNewer) << "stale delete";
  EXPECT_EQ(r.items[6].outcome, ItemOutcome::kOk);
  EXPECT_EQ(r.ok, 4U);
  EXPECT_EQ(r.already_newer, 2U);
  EXPECT_EQ(r.dead_letter, 1U);
  EXPECT_EQ(r.retry, 0U);
}

TEST(BulkResponseTest, MixedOutcomesFromOpenSearch) {
  expectMixedOutcomes(testing::readFixture("bulk_mixed_opensearch.json"));
}

TEST(BulkResponseTest, MixedOutcomesFromElasticsearch) {
  const std::string body = testing::readFixture("bulk_mixed_elasticsearch.json");
  expectMixedOutcomes(body);
  EXPECT_EQ(parseBulkResponse(body, 7)->items[2].error_type, "document_parsing_exception");
}

TEST(BulkResponseTest, RealWriteQueueRejections) {
  // Captured from an OpenSearch node with a write queue of one, under concurrent bulks.
  auto parsed = parseBulkResponse(testing::readFixture("bulk_overload_opensearch.json"), 12);
  ASSERT_TRUE(parsed) << parsed.error().toString();
  EXPECT_EQ(parsed->ok, 5U);
  EXPECT_EQ(parsed->retry, 7U);
  for (const auto& item : parsed->items) {
    if (item.outcome == ItemOutcome::kRetry) {
      EXPECT_EQ(item.status, 429);
      EXPECT_EQ(item.error_type, "rejected_execution_exception");
      EXPECT_NE(item.reason.find("queue capacity = 1"), std::string::npos);
    } else {
      EXPECT_EQ(item.status, 201);
    }
  }
}

// Hand-written in the engines' format: the overload and server-error shapes not easily provoked.
TEST(BulkResponseTest, OverloadAndServerErrorsAreRetried) {
  auto parsed = parseBulkResponse(testing::readFixture("bulk_rejected_opensearch.json"), 6);
  ASSERT_TRUE(parsed) << parsed.error().toString();
  const auto& items = parsed->items;
  EXPECT_EQ(items[0].outcome, ItemOutcome::kRetry);
  EXPECT_EQ(items[0].error_type, "rejected_execution_exception");
  EXPECT_EQ(items[1].outcome, ItemOutcome::kOk);
  EXPECT_EQ(items[2].outcome, ItemOutcome::kRetry);
  EXPECT_EQ(items[3].outcome, ItemOutcome::kRetry) << "503";
  EXPECT_EQ(items[4].outcome, ItemOutcome::kDeadLetter) << "404 with an error is not a delete ok";
  EXPECT_EQ(items[4].error_type, "index_not_found_exception");
  EXPECT_EQ(items[5].outcome, ItemOutcome::kRetry) << "circuit breaker";
  EXPECT_EQ(parsed->retry, 4U);
}

TEST(BulkResponseTest, ErrorsFalseStillReadsEveryItem) {
  const std::string body =
      R"({"took":1,"errors":false,"items":[{"index":{"_id":"1","status":201}},)"
      R"({"index":{"_id":"2","status":400,"error":{"type":"x","reason":"y"}}}]})";
  auto parsed = parseBulkResponse(body, 2);
  ASSERT_TRUE(parsed);
  EXPECT_FALSE(parsed->errors);
  EXPECT_EQ(parsed->items[1].outcome, ItemOutcome::kDeadLetter)
      << "a lying errors flag does not hide a failed item";
}

TEST(BulkResponseTest, PaddedViewAvoidsCopy) {
  std::string body = R"({"errors":false,"items":[{"delete":{"status":200}}]})";
  body.reserve(body.size() + 128);
  auto parsed = parseBulkResponse(body, 1, body.capacity());
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->ok, 1U);
}

TEST(BulkResponseTest, MalformedOrMismatchedBodiesAreProtocolErrors) {
  EXPECT_EQ(parseBulkResponse("not json", 1).error().code, ErrorCode::kProtocol);
  EXPECT_EQ(parseBulkResponse(R"({"errors":false})", 1).error().code, ErrorCode::kProtocol);
  EXPECT_EQ(parseBulkResponse(R"({"errors":false,"items":[]})", 1).error().code,
            ErrorCode::kProtocol);
  EXPECT_EQ(
      parseBulkResponse(R"({"errors":true,"items":[{"index":{"status":"x"}}]})", 1).error().code,
      ErrorCode::kProtocol);
  EXPECT_EQ(parseBulkResponse(R"({"items":[{"index":{"status":200}},)", 1).error().code,
            ErrorCode::kProtocol);
}

TEST(BulkResponseTest, ClassifyItemRules) {
  EXPECT_EQ(classifyItem("index", 200, ""), ItemOutcome::kOk);
  EXPECT_EQ(classifyItem("index", 201, ""), ItemOutcome::kOk);
  EXPECT_EQ(classifyItem("delete", 404, ""), ItemOutcome::kOk);
  EXPECT_EQ(classifyItem("index", 404, ""), ItemOutcome::kDeadLetter);
  EXPECT_EQ(classifyItem("index", 409, "version_conflict_engine_exception"),
            ItemOutcome::kAlreadyNewer);
  EXPECT_EQ(classifyItem("index", 409, "something_else"), ItemOutcome::kDeadLetter);
  EXPECT_EQ(classifyItem("index", 429, "es_rejected_execution_exception"), ItemOutcome::kRetry);
  EXPECT_EQ(classifyItem("index", 429, ""), ItemOutcome::kRetry);
  EXPECT_EQ(classifyItem("index", 400, "es_rejected_execution_exception"), ItemOutcome::kRetry);
  EXPECT_EQ(classifyItem("index", 500, "x"), ItemOutcome::kRetry);
  EXPECT_EQ(classifyItem("index", 503, ""), ItemOutcome::kRetry);
  EXPECT_EQ(classifyItem("index", 400, "mapper_parsing_exception"), ItemOutcome::kDeadLetter);
  EXPECT_EQ(classifyItem("index", 403, "cluster_block_exception"), ItemOutcome::kDeadLetter);
  EXPECT_EQ(classifyItem("index", 302, ""), ItemOutcome::kDeadLetter);
}

TEST(BulkResponseTest, ClassifyRequestStatus) {
  EXPECT_EQ(classifyBulkStatus(200), RequestOutcome::kParseItems);
  EXPECT_EQ(classifyBulkStatus(429), RequestOutcome::kRetryAll);
  EXPECT_EQ(classifyBulkStatus(502), RequestOutcome::kRetryAll);
  EXPECT_EQ(classifyBulkStatus(413), RequestOutcome::kTooLarge);
  EXPECT_EQ(classifyBulkStatus(401), RequestOutcome::kAuthFailed);
  EXPECT_EQ(classifyBulkStatus(400), RequestOutcome::kRejectAll);
}

TEST(BulkResponseTest, OutcomeNamesAndFinality) {
  EXPECT_EQ(itemOutcomeName(ItemOutcome::kAlreadyNewer), "already_newer");
  EXPECT_TRUE(isFinal(ItemOutcome::kDeadLetter));
  EXPECT_FALSE(isFinal(ItemOutcome::kRetry));
}

}  // namespace
TEST(ConflictCurrentVersion, ReadsTheVersionTheIndexHolds) {
  EXPECT_EQ(conflictCurrentVersion("[7]: version conflict, current version [1732000000000002] is "
                                   "higher or equal to the one provided [1732000000000000]"),
            1732000000000002);
  EXPECT_EQ(conflictCurrentVersion("[k]: version conflict, current version [2] is higher than the "
                                   "one provided [1]"),
            2);
  EXPECT_EQ(conflictCurrentVersion("[k]: version conflict, document already exists (current "
                                   "version [3])"),
            3);
  EXPECT_EQ(conflictCurrentVersion("mapper_parsing_exception: failed to parse"), std::nullopt);
  EXPECT_EQ(conflictCurrentVersion("current version [12"), std::nullopt);
  EXPECT_EQ(conflictCurrentVersion("current version [x]"), std::nullopt);
}

}  // namespace cesync::es
