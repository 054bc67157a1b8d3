// 429 handling against an OpenSearch node whose write thread pool is one thread with a queue of
// one (scripts/cluster up opensearch-small-queue): concurrent bulk requests get rejected, and the
// writer must retry exactly the rejected items until every one is acknowledged.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "es/bulk_writer.h"
#include "es_fixture.h"

namespace cesync::es {
namespace {

std::string smallQueueUrl() {
  const char* url = std::getenv("CESYNC_OPENSEARCH_SMALL_QUEUE");
  return url != nullptr ? std::string(url) : std::string("http://127.0.0.1:9202");
}

TEST(OverloadTest, RejectedItemsAreRetriedUntilAcknowledged) {
  EsStats stats;
  auto transport = testing::connect(smallQueueUrl(), &stats, 8);
  ASSERT_NE(transport, nullptr);
  auto info = detectServer(*transport);
  ASSERT_TRUE(info) << "no small-queue node at " << smallQueueUrl()
                    << " (scripts/cluster up opensearch-small-queue): " << info.error().toString();
  auto pool =
      transport->send({.method = HttpMethod::kGet,
                       .path = "/_nodes/_local?filter_path=nodes.*.thread_pool.write.queue_size"});
  ASSERT_TRUE(pool);
  ASSERT_NE(pool->body.find("\"queue_size\":1}"), std::string::npos)
      << "the node's write queue is not tiny: " << pool->body;

  IndexAdmin admin(*transport);
  const std::string index = cesync::testing::uniqueName("overload");
  // Every shard-level bulk request is one task in the write pool: more shards, more tasks.
  ASSERT_TRUE(admin.create(index, R"({"settings":{"number_of_shards":6,"number_of_replicas":0}})"));

  constexpr int kBatches = 24;
  constexpr int kPerBatch = 500;
  std::vector<BulkEncoder> batches(kBatches);
  for (int b = 0; b < kBatches; ++b) {
    for (int i = 0; i < kPerBatch; ++i) {
      const int n = b * kPerBatch + i;
      const std::string id = std::to_string(n);
      batches[static_cast<std::size_t>(b)].index(
          {.index = index, .id = id, .version = 1000 + n},
          R"({"n":)" + id + R"(,"text":"some words to make the write take a moment"})");
    }
  }
  std::vector<const BulkEncoder*> pointers;
  for (const auto& b : batches) {
    pointers.push_back(&b);
  }
  SystemClock clock;
  BulkWriterOptions options;
  options.max_in_flight = 8;
  options.backoff = {.initial = std::chrono::milliseconds(20),
                     .max = std::chrono::milliseconds(500),
                     .multiplier = 2.0,
                     .max_retries = 100};
  BulkWriter writer(*transport, clock, options, &stats);
  auto results = writer.writeAll(pointers);

  std::size_t acknowledged = 0;
  std::uint32_t max_attempts = 0;
  for (auto& r : results) {
    ASSERT_TRUE(r) << r.error().toString();
    EXPECT_EQ(r->unacknowledged, 0U) << r->last_retry_reason;
    EXPECT_EQ(r->dead_letter, 0U);
    acknowledged += r->ok + r->already_newer;
    max_attempts = std::max(max_attempts, r->attempts);
  }
  EXPECT_EQ(acknowledged, static_cast<std::size_t>(kBatches * kPerBatch));
  EXPECT_GT(stats.bulk_items_rejected_429.load(), 0U) << "the tiny queue rejected nothing";
  EXPECT_GT(stats.bulk_request_retries.load(), 0U);
  EXPECT_GT(max_attempts, 1U);
  EXPECT_EQ(stats.bulk_items_gave_up.load(), 0U);

  ASSERT_TRUE(admin.refresh(index));
  auto count = admin.count(index);
  ASSERT_TRUE(count);
  EXPECT_EQ(*count, static_cast<std::uint64_t>(kBatches * kPerBatch))
      << "every rejected item landed after its retry, none twice";
  std::cout << "429 rejections: " << stats.bulk_items_rejected_429.load()
            << " items, retried requests: " << stats.bulk_request_retries.load()
            << ", most attempts for one batch: " << max_attempts << "\n";
  EXPECT_TRUE(admin.remove(index));
}

}  // namespace
}  // namespace cesync::es
