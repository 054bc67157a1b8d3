#include "es/bulk_writer.h"

#include <gtest/gtest.h>

#include <string>

#include "scripted_transport.h"

namespace cesync::es {
namespace {

using std::chrono::milliseconds;
using testing::reply;
using testing::ScriptedTransport;

std::string items(std::initializer_list<std::string_view> parts) {
  std::string out = R"({"took":1,"errors":true,"items":[)";
  bool first = true;
  for (auto p : parts) {
    if (!first) {
      out += ",";
    }
    first = false;
    out += p;
  }
  return out + "]}";
}

constexpr std::string_view kOk = R"({"index":{"_id":"x","status":201}})";
constexpr std::string_view kConflict =
    R"({"index":{"_id":"x","status":409,"error":{"type":"version_conflict_engine_exception","reason":"newer"}}})";
constexpr std::string_view kRejected =
    R"({"index":{"_id":"x","status":429,"error":{"type":"es_rejected_execution_exception","reason":"queue full"}}})";
constexpr std::string_view kMapping =
    R"({"index":{"_id":"x","status":400,"error":{"type":"mapper_parsing_exception","reason":"bad n"}}})";

BulkEncoder batchOf(int n) {
  BulkEncoder enc;
  for (int i = 0; i < n; ++i) {
    const std::string id = std::to_string(i);
    enc.index({.index = "docs", .id = id, .version = 100 + i}, R"({"n":1})");
  }
  return enc;
}

class BulkWriterTest : public ::testing::Test {
 protected:
  BulkWriter writer(BulkWriterOptions options = {}) {
    options.seed = 42;
    options.sleep = [this](milliseconds d) {
      slept.push_back(d);
      clock.advance(d);
    };
    return BulkWriter(transport, clock, std::move(options), &stats);
  }

  ScriptedTransport transport;
  ManualClock clock;
  EsStats stats;
  std::vector<milliseconds> slept;
};

TEST_F(BulkWriterTest, MixedOutcomesRetryOnlyTheRetryableItems) {
  const BulkEncoder batch = batchOf(4);
  transport.then([](std::string_view) {
    return reply(200, items({kOk, kConflict, kRejected, kMapping}));
  });
  transport.then([&](std::string_view body) {
    EXPECT_EQ(body, batch.item(2)) << "only item 2 is resent, byte for byte";
    return reply(200, items({kOk}));
  });
  auto w = writer();
  auto result = w.write(batch);
  ASSERT_TRUE(result) << result.error().toString();
  ASSERT_EQ(result->items.size(), 4U);
  EXPECT_EQ(result->items[0].outcome, ItemOutcome::kOk);
  EXPECT_EQ(result->items[1].outcome, ItemOutcome::kAlreadyNewer);
  EXPECT_EQ(result->items[2].outcome, ItemOutcome::kOk) << "acknowledged on the retry";
  EXPECT_EQ(result->items[3].outcome, ItemOutcome::kDeadLetter);
  EXPECT_EQ(result->items[3].reason, "bad n");
  EXPECT_EQ(result->attempts, 2U);
  EXPECT_EQ(result->finalPrefix(), 4U);
  EXPECT_EQ(result->ok, 2U);
  EXPECT_EQ(result->already_newer, 1U);
  EXPECT_EQ(result->dead_letter, 1U);
  EXPECT_EQ(result->unacknowledged, 0U);
  ASSERT_EQ(slept.size(), 1U);
  EXPECT_LE(slept[0], milliseconds(100)) << "first backoff within the initial ceiling";
  EXPECT_EQ(stats.bulk_requests.load(), 2U);
  EXPECT_EQ(stats.bulk_request_retries.load(), 1U);
  EXPECT_EQ(stats.bulk_items_retried.load(), 1U);
  EXPECT_EQ(stats.bulk_items_rejected_429.load(), 1U);
  EXPECT_EQ(stats.bulk_items_dead_letter.load(), 1U);
  EXPECT_EQ(stats.bulk_items_already_newer.load(), 1U);
  EXPECT_EQ(stats.bulk_items_ok.load(), 2U);
}

TEST_F(BulkWriterTest, RetryBudgetRunsOutAndItemsStayUnacknowledged) {
  const BulkEncoder batch = batchOf(2);
  BulkWriterOptions options;
  options.backoff = {.initial = milliseconds(50), .max = milliseconds(400), .max_retries = 3};
  auto w = writer(options);
  // The first answer acknowledges item 0; the rest only ever reject item 1.
  transport.then([](std::string_view) { return reply(200, items({kOk, kRejected})); });
  for (int i = 0; i < 3; ++i) {
    transport.then([](std::string_view) { return reply(200, items({kRejected})); });
  }
  auto result = w.write(batch);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->attempts, 4U) << "one try and a budget of three retries";
  EXPECT_EQ(result->items[0].outcome, ItemOutcome::kOk);
  EXPECT_EQ(result->items[1].outcome, ItemOutcome::kRetry);
  EXPECT_EQ(result->unacknowledged, 1U);
  EXPECT_EQ(result->finalPrefix(), 1U) << "a checkpoint may pass item 0 only";
  EXPECT_NE(result->last_retry_reason.find("queue full"), std::string::npos);
  EXPECT_EQ(stats.bulk_items_gave_up.load(), 1U);
  EXPECT_EQ(stats.bulk_items_retried.load(), 4U);
  ASSERT_EQ(slept.size(), 3U);
  const std::int64_t ceilings[] = {50, 100, 200};
  for (std::size_t i = 0; i < slept.size(); ++i) {
    EXPECT_LE(slept[i].count(), ceilings[i]) << "exponential ceiling, full jitter";
  }
}

TEST_F(BulkWriterTest, WholeRequestFailuresRetryEverything) {
  const BulkEncoder batch = batchOf(3);
  transport.then([](std::string_view) -> Result<HttpResponse> {
    return fail(ErrorCode::kIo, "connection reset");
  });
  transport.then([](std::string_view) {
    return reply(429, R"({"error":{"type":"es_rejected_execution_exception","reason":"busy"}})");
  });
  transport.then([](std::string_view) { return reply(503, "unavailable"); });
  transport.then([&](std::string_view body) {
    EXPECT_EQ(body, batch.body()) << "the whole batch again";
    return reply(200, items({kOk, kOk, kOk}));
  });
  auto w = writer();
  auto result = w.write(batch);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->ok, 3U);
  EXPECT_EQ(result->attempts, 4U);
  EXPECT_EQ(stats.bulk_requests_rejected.load(), 3U);
  EXPECT_EQ(stats.bulk_items_rejected_429.load(), 3U);
  EXPECT_EQ(stats.bulk_request_retries.load(), 3U);
}

TEST_F(BulkWriterTest, ErrorsTrueIsNeverAllSuccess) {
  const BulkEncoder batch = batchOf(2);
  transport.then([](std::string_view) { return reply(200, items({kMapping, kMapping})); });
  auto w = writer();
  auto result = w.write(batch);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->ok, 0U);
  EXPECT_EQ(result->dead_letter, 2U);
  EXPECT_EQ(result->attempts, 1U) << "dead letters are never retried";
}

TEST_F(BulkWriterTest, UnreadableAnswerLeavesItemsUnacknowledged) {
  const BulkEncoder batch = batchOf(2);
  transport.then([](std::string_view) { return reply(200, items({kOk})); });  // one item short
  transport.then([](std::string_view) { return reply(200, items({kOk, kOk})); });
  auto w = writer();
  auto result = w.write(batch);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->ok, 2U);
  EXPECT_EQ(result->attempts, 2U);
}

TEST_F(BulkWriterTest, TooLargeSplitsTheBatch) {
  const BulkEncoder batch = batchOf(4);
  transport.then([](std::string_view) { return reply(413, ""); });
  transport.then([&](std::string_view body) {
    EXPECT_EQ(body, std::string(batch.item(0)) + std::string(batch.item(1)));
    return reply(200, items({kOk, kOk}));
  });
  transport.then([&](std::string_view body) {
    EXPECT_EQ(body, std::string(batch.item(2)) + std::string(batch.item(3)));
    return reply(200, items({kOk, kOk}));
  });
  auto w = writer();
  auto result = w.write(batch);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->ok, 4U);
  EXPECT_TRUE(slept.empty()) << "a split is not a failure to back off from";
  EXPECT_EQ(stats.bulk_batches_split.load(), 1U);
}

TEST_F(BulkWriterTest, AuthFailureIsAnError) {
  const BulkEncoder batch = batchOf(1);
  transport.then([](std::string_view) { return reply(401, R"({"error":"nope"})"); });
  auto w = writer();
  auto result = w.write(batch);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kAuth);
}

TEST_F(BulkWriterTest, BadRequestDeadLettersEveryItemWithTheReason) {
  const BulkEncoder batch = batchOf(2);
  transport.then([](std::string_view) {
    return reply(400, R"({"error":{"type":"illegal_argument_exception","reason":"bad"}})");
  });
  auto w = writer();
  auto result = w.write(batch);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->dead_letter, 2U);
  EXPECT_EQ(result->items[1].reason, "illegal_argument_exception: bad");
}

TEST_F(BulkWriterTest, SeveralBatchesShareTheInFlightWindow) {
  const BulkEncoder a = batchOf(1);
  const BulkEncoder b = batchOf(2);
  const BulkEncoder c = batchOf(1);
  transport.then([](std::string_view) { return reply(200, items({kOk})); });
  transport.then([](std::string_view) { return reply(200, items({kOk, kRejected})); });
  transport.then([](std::string_view) { return reply(200, items({kOk})); });
  transport.then([](std::string_view) { return reply(200, items({kOk})); });
  BulkWriterOptions options;
  options.max_in_flight = 2;
  options.refresh = "wait_for";
  auto w = writer(options);
  const BulkEncoder* batches[] = {&a, &b, &c};
  auto results = w.writeAll(batches);
  ASSERT_EQ(results.size(), 3U);
  for (auto& r : results) {
    ASSERT_TRUE(r);
    EXPECT_EQ(r->unacknowledged, 0U);
  }
  EXPECT_EQ(results[1]->ok, 2U);
  EXPECT_EQ(transport.rounds, 3) << "a+b, then c, then b's retry after its backoff";
  EXPECT_EQ(transport.paths.front(), "/_bulk?refresh=wait_for");
}

// A transport that holds two requests in flight and asks the source how soon it should look for
// more, as the curl transport does while it waits for answers.
class HoldingTransport final : public HttpTransport {
 public:
  Result<HttpResponse> send(const HttpRequest&) override { return reply(200, ""); }
  std::vector<Result<HttpResponse>> sendAll(std::span<const HttpRequest>) override { return {}; }
  void run(RequestSource& source) override {
    std::vector<std::size_t> held;
    std::size_t tag = 0;
    while (held.size() < 2) {
      if (!source.next(tag)) {
        break;
      }
      held.push_back(tag);
    }
    ready_in_with_window_full = source.nextReadyIn();
    if (stats != nullptr) {
      in_flight_seen = stats->bulk_in_flight.load();
    }
    for (std::size_t t : held) {
      source.complete(t, reply(200, R"({"errors":false,"items":[{"index":{"status":201}}]})"));
    }
    while (source.next(tag)) {
      source.complete(tag, reply(200, R"({"errors":false,"items":[{"index":{"status":201}}]})"));
    }
  }
  std::chrono::milliseconds ready_in_with_window_full{-1};
  EsStats* stats = nullptr;
  std::uint64_t in_flight_seen = 0;
};

TEST_F(BulkWriterTest, AFullWindowIsNotABusyWait) {
  HoldingTransport holding;
  holding.stats = &stats;
  BulkWriterOptions options;
  options.max_in_flight = 2;
  BulkWriter w(holding, clock, options, &stats);
  const BulkEncoder a = batchOf(1);
  const BulkEncoder b = batchOf(1);
  const BulkEncoder c = batchOf(1);
  const BulkEncoder* batches[] = {&a, &b, &c};
  auto results = w.writeAll(batches);
  for (auto& r : results) {
    ASSERT_TRUE(r);
    EXPECT_EQ(r->ok, 1U);
  }
  EXPECT_GE(holding.ready_in_with_window_full, milliseconds(100))
      << "batch c is ready but has no slot: only an answer can help, so no reason to spin";
  EXPECT_EQ(holding.in_flight_seen, 2U) << "the gauge shows the full window";
  EXPECT_EQ(stats.bulk_in_flight.load(), 0U);
}

TEST_F(BulkWriterTest, EmptyBatchIsRefused) {
  const BulkEncoder empty;
  auto w = writer();
  EXPECT_EQ(w.write(empty).error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(transport.bodies.empty());
}

}  // namespace
}  // namespace cesync::es

namespace cesync::es {
namespace {

TEST_F(BulkWriterTest, GivingUpLeavesTheRestUnacknowledgedAtOnce) {
  const BulkEncoder batch = batchOf(3);
  BulkWriterOptions options;
  options.backoff = {.initial = milliseconds(10'000), .max = milliseconds(10'000)};
  bool stopping = false;
  options.interrupt = [&] { return stopping ? BulkInterrupt::kGiveUp : BulkInterrupt::kNone; };
  auto w = writer(options);
  transport.then([&](std::string_view) {
    stopping = true;  // the process is told to stop while the first answer is on its way
    return reply(200, items({kOk, kRejected, kRejected}));
  });
  auto result = w.write(batch);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->attempts, 1U) << "no retry once stopping";
  EXPECT_EQ(result->items[0].outcome, ItemOutcome::kOk);
  EXPECT_EQ(result->items[1].outcome, ItemOutcome::kRetry);
  EXPECT_EQ(result->items[2].outcome, ItemOutcome::kRetry);
  EXPECT_EQ(result->unacknowledged, 2U);
  EXPECT_EQ(stats.bulk_items_gave_up.load(), 2U);
}

TEST_F(BulkWriterTest, RetryNowEndsABackoffEarly) {
  const BulkEncoder batch = batchOf(1);
  BulkWriterOptions options;
  options.seed = 42;
  options.backoff = {.initial = milliseconds(60'000), .max = milliseconds(60'000)};
  bool told = false;
  // The engine comes back during the first sleep: the retry goes out without waiting it out.
  options.interrupt = [&] {
    if (slept.empty() || told) {
      return BulkInterrupt::kNone;
    }
    told = true;
    return BulkInterrupt::kRetryNow;
  };
  options.sleep = [this](milliseconds d) { slept.push_back(d); };  // the clock does not move
  BulkWriter w(transport, clock, options, &stats);
  transport.then([](std::string_view) { return reply(200, items({kRejected})); });
  transport.then([](std::string_view) { return reply(200, items({kOk})); });
  auto result = w.write(batch);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->items[0].outcome, ItemOutcome::kOk);
  EXPECT_EQ(result->attempts, 2U);
  EXPECT_EQ(slept.size(), 1U);
}

}  // namespace
}  // namespace cesync::es
