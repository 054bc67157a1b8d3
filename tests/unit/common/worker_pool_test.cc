// The worker pool of the snapshot and verify: every item taken once, the first error kept and
// ending the other workers, a stop not reported as an error.
#include "common/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

namespace cesync {
namespace {

TEST(WorkerPoolTest, EveryItemIsTakenOnceAcrossTheWorkers) {
  WorkerPool<int> pool(nullptr);
  for (int i = 0; i < 100; ++i) {
    pool.add(i);
  }
  std::mutex mutex;
  std::multiset<int> taken;
  std::set<std::thread::id> threads;
  const auto done = pool.run(4, [&]() -> Status {
    while (auto item = pool.take()) {
      const std::lock_guard guard(mutex);
      taken.insert(*item);
      threads.insert(std::this_thread::get_id());
    }
    return {};
  });
  ASSERT_TRUE(done);
  EXPECT_EQ(taken.size(), 100U);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(taken.count(i), 1U) << i;
  }
  EXPECT_LE(threads.size(), 4U);
}

TEST(WorkerPoolTest, NoMoreWorkersThanItems) {
  WorkerPool<int> pool(nullptr);
  pool.add(1);
  std::atomic<int> started{0};
  ASSERT_TRUE(pool.run(8, [&]() -> Status {
    ++started;
    while (pool.take()) {
    }
    return {};
  }));
  EXPECT_EQ(started.load(), 1);
}

TEST(WorkerPoolTest, TheFirstErrorIsKeptAndStopsTheOthers) {
  WorkerPool<int> pool(nullptr);
  for (int i = 0; i < 1000; ++i) {
    pool.add(i);
  }
  std::atomic<int> taken{0};
  const auto done = pool.run(2, [&]() -> Status {
    while (auto item = pool.take()) {
      ++taken;
      if (*item == 10) {
        return fail(ErrorCode::kUnavailable, "item 10 failed");
      }
    }
    return {};
  });
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().message, "item 10 failed");
  EXPECT_TRUE(pool.stopping());
  EXPECT_LT(taken.load(), 1000);  // the failure ended the taking
}

TEST(WorkerPoolTest, AStopIsNotAnError) {
  std::atomic<bool> stop{false};
  WorkerPool<int> pool(&stop);
  for (int i = 0; i < 10; ++i) {
    pool.add(i);
  }
  const auto done = pool.run(2, [&]() -> Status {
    while (auto item = pool.take()) {
      if (*item == 3) {
        stop = true;
        return fail(ErrorCode::kCancelled, "stopped");
      }
    }
    return {};
  });
  EXPECT_TRUE(done);
  EXPECT_TRUE(pool.stopping());
  EXPECT_FALSE(pool.take());
}

}  // namespace
}  // namespace cesync
