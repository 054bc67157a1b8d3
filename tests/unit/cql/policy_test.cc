#include <gtest/gtest.h>

#include "cql/retry_policy.h"
#include "cql/token_map.h"
#include "util/murmur3.h"

namespace cesync::cql {
namespace {

ServerError serverError(ServerErrorCode code) {
  ServerError e;
  e.code = code;
  return e;
}

TEST(RetryPolicyTest, UnpreparedAlwaysReprepares) {
  EXPECT_EQ(decideOnServerError(serverError(ServerErrorCode::kUnprepared), false, 0, 3),
            RetryDecision::kReprepare);
  EXPECT_EQ(decideOnServerError(serverError(ServerErrorCode::kUnprepared), false, 4, 3),
            RetryDecision::kReturn)
      << "a node that keeps forgetting is an error after the budget";
}

TEST(RetryPolicyTest, RequestErrorsAreReturned) {
  for (const auto code : {ServerErrorCode::kSyntaxError, ServerErrorCode::kInvalid,
                          ServerErrorCode::kUnauthorized, ServerErrorCode::kAlreadyExists,
                          ServerErrorCode::kConfigError, ServerErrorCode::kProtocolError,
                          ServerErrorCode::kWriteFailure, ServerErrorCode::kCasWriteUnknown}) {
    EXPECT_EQ(decideOnServerError(serverError(code), true, 0, 3), RetryDecision::kReturn)
        << serverErrorName(code);
  }
}

TEST(RetryPolicyTest, NodeStatesMoveToTheNextNode) {
  EXPECT_EQ(decideOnServerError(serverError(ServerErrorCode::kOverloaded), false, 0, 3),
            RetryDecision::kRetryNextHost);
  EXPECT_EQ(decideOnServerError(serverError(ServerErrorCode::kIsBootstrapping), false, 1, 3),
            RetryDecision::kRetryNextHost);
  EXPECT_EQ(decideOnServerError(serverError(ServerErrorCode::kUnavailable), false, 0, 3),
            RetryDecision::kRetryNextHost);
  EXPECT_EQ(decideOnServerError(serverError(ServerErrorCode::kUnavailable), false, 1, 3),
            RetryDecision::kReturn)
      << "unavailable is retried once";
  EXPECT_EQ(decideOnServerError(serverError(ServerErrorCode::kOverloaded), true, 3, 3),
            RetryDecision::kReturn)
      << "the budget is respected";
}

TEST(RetryPolicyTest, TimeoutsDependOnIdempotencyAndWhatTheReplicasSaid) {
  ServerError read = serverError(ServerErrorCode::kReadTimeout);
  read.received = 1;
  read.block_for = 1;
  read.data_present = false;
  EXPECT_EQ(decideOnServerError(read, false, 0, 3), RetryDecision::kRetrySameHost);
  read.data_present = true;
  EXPECT_EQ(decideOnServerError(read, false, 0, 3), RetryDecision::kReturn);
  ServerError write = serverError(ServerErrorCode::kWriteTimeout);
  write.write_type = "SIMPLE";
  EXPECT_EQ(decideOnServerError(write, false, 0, 3), RetryDecision::kReturn);
  EXPECT_EQ(decideOnServerError(write, true, 0, 3), RetryDecision::kRetrySameHost);
  write.write_type = "BATCH_LOG";
  EXPECT_EQ(decideOnServerError(write, false, 0, 3), RetryDecision::kRetrySameHost);
}

TEST(RetryPolicyTest, ClientErrors) {
  EXPECT_EQ(decideOnClientError(ErrorCode::kTimeout, false, 0, 3), RetryDecision::kReturn);
  EXPECT_EQ(decideOnClientError(ErrorCode::kTimeout, true, 0, 3), RetryDecision::kRetryNextHost);
  EXPECT_EQ(decideOnClientError(ErrorCode::kIo, true, 0, 3), RetryDecision::kRetryNextHost);
  EXPECT_EQ(decideOnClientError(ErrorCode::kUnavailable, false, 0, 3),
            RetryDecision::kRetryNextHost)
      << "no stream id: nothing was sent";
  EXPECT_EQ(decideOnClientError(ErrorCode::kInvalidArgument, true, 0, 3), RetryDecision::kReturn);
}

TEST(TokenMapTest, OwnerIsTheFirstTokenAtOrAboveWrappingAround) {
  TokenMap map;
  map.addHost(0, {"-100", "100"});
  map.addHost(1, {"0", "not-a-token"});
  map.build();
  EXPECT_EQ(map.ownerOf(-500), 0U);
  EXPECT_EQ(map.ownerOf(-100), 0U);
  EXPECT_EQ(map.ownerOf(-99), 1U);
  EXPECT_EQ(map.ownerOf(0), 1U);
  EXPECT_EQ(map.ownerOf(1), 0U);
  EXPECT_EQ(map.ownerOf(101), 0U) << "wraps to the lowest token";
  EXPECT_FALSE(TokenMap{}.ownerOf(1).has_value());
}

TEST(TokenMapTest, CompositeRoutingKeys) {
  EXPECT_EQ(TokenMap::routingKey({{1, 2}}), (Bytes{1, 2}));
  EXPECT_EQ(TokenMap::routingKey({{1, 2}, {3}}), (Bytes{0, 2, 1, 2, 0, 0, 1, 3, 0}));
}

}  // namespace
}  // namespace cesync::cql
