#include "common/result.h"

#include <gtest/gtest.h>

namespace cesync {
namespace {

Result<int> half(int v) {
  if (v % 2 != 0) {
    return fail(ErrorCode::kInvalidArgument, "odd value " + std::to_string(v));
  }
  return v / 2;
}

Result<int> quarter(int v) {
  CESYNC_ASSIGN_OR_RETURN(h, half(v));
  return half(h);
}

Status checkEven(int v) {
  CESYNC_TRY(half(v));
  return {};
}

TEST(ResultTest, PropagatesErrors) {
  EXPECT_EQ(*quarter(8), 2);
  auto r = quarter(6);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().toString(), "invalid argument: odd value 3");
  EXPECT_TRUE(checkEven(4));
  EXPECT_FALSE(checkEven(5));
}

TEST(ErrorTest, TransientCodes) {
  EXPECT_TRUE(isTransient(ErrorCode::kTimeout));
  EXPECT_TRUE(isTransient(ErrorCode::kUnavailable));
  EXPECT_TRUE(isTransient(ErrorCode::kIo));
  EXPECT_FALSE(isTransient(ErrorCode::kRejected));
  EXPECT_FALSE(isTransient(ErrorCode::kConfig));
}

}  // namespace
}  // namespace cesync
