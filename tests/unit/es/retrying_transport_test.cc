#include "es/retrying_transport.h"

#include <gtest/gtest.h>

#include "scripted_transport.h"

namespace cesync::es {
namespace {

using std::chrono::milliseconds;
using testing::reply;
using testing::ScriptedTransport;

class RetryingTransportTest : public ::testing::Test {
 protected:
  RetryingTransport retrying(std::uint32_t budget = 3) {
    return RetryingTransport(
        inner, {.initial = milliseconds(10), .max = milliseconds(100), .max_retries = budget},
        &stats, [this](milliseconds d) { slept.push_back(d); });
  }
  ScriptedTransport inner;
  EsStats stats;
  std::vector<milliseconds> slept;
};

TEST_F(RetryingTransportTest, IdempotentRequestsAreResentUntilAnswered) {
  inner.then([](std::string_view) -> Result<HttpResponse> {
    return fail(ErrorCode::kIo, "connection reset");
  });
  inner.then([](std::string_view) { return reply(503, "{}"); });
  inner.then([](std::string_view) { return reply(200, R"({"count":3})"); });
  auto t = retrying();
  auto response = t.send({.method = HttpMethod::kGet, .path = "/i/_count", .idempotent = true});
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(stats.http_retries.load(), 2U);
  ASSERT_EQ(slept.size(), 2U);
  EXPECT_LE(slept[0].count(), 10);
  EXPECT_LE(slept[1].count(), 20);
}

TEST_F(RetryingTransportTest, NonIdempotentRequestsAreNot) {
  inner.then([](std::string_view) { return reply(503, "{}"); });
  auto t = retrying();
  auto response = t.send({.method = HttpMethod::kPut, .path = "/i"});
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 503);
  EXPECT_EQ(stats.http_retries.load(), 0U);
  EXPECT_EQ(inner.paths.size(), 1U);
}

TEST_F(RetryingTransportTest, PermanentAnswersAreNotRetried) {
  inner.then([](std::string_view) { return reply(400, "{}"); });
  inner.then(
      [](std::string_view) -> Result<HttpResponse> { return fail(ErrorCode::kConfig, "bad url"); });
  auto t = retrying();
  EXPECT_EQ(t.send({.path = "/a", .idempotent = true})->status, 400);
  EXPECT_FALSE(t.send({.path = "/b", .idempotent = true}));
  EXPECT_EQ(inner.paths.size(), 2U);
}

TEST_F(RetryingTransportTest, BudgetEndsWithTheLastAnswer) {
  for (int i = 0; i < 3; ++i) {
    inner.then([](std::string_view) { return reply(429, "{}"); });
  }
  auto t = retrying(2);
  auto response = t.send({.path = "/a", .idempotent = true});
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 429);
  EXPECT_EQ(stats.http_retries.load(), 2U);
}

TEST_F(RetryingTransportTest, SendAllRetriesOnlyWhatNeedsIt) {
  inner.then([](std::string_view) { return reply(200, "a"); });
  inner.then([](std::string_view) { return reply(502, "b"); });
  inner.then([](std::string_view) { return reply(502, "c"); });
  inner.then([](std::string_view) { return reply(200, "b2"); });
  auto t = retrying();
  const HttpRequest requests[] = {{.path = "/a", .idempotent = true},
                                  {.path = "/b", .idempotent = true},
                                  {.path = "/c", .idempotent = false}};
  auto results = t.sendAll(requests);
  ASSERT_EQ(results.size(), 3U);
  EXPECT_EQ(results[0]->body, "a");
  EXPECT_EQ(results[1]->body, "b2");
  EXPECT_EQ(results[2]->status, 502);
  EXPECT_EQ(inner.paths.back(), "/b");
}

}  // namespace
}  // namespace cesync::es
