#pragma once

#include <algorithm>
#include <atomic>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "common/result.h"

namespace cesync {

/// Items shared by a few worker threads, each taking the next one until none is left, the caller
/// stops or a worker fails: the token ranges of a snapshot or of a verify. The first error is
/// kept and makes the others give up; a worker ended by the caller's stop (kCancelled while
/// stopping) is not an error.
template <typename Item>
class WorkerPool {
 public:
  /// `stop` (may be null) is the caller's stop flag; it must outlive the pool.
  explicit WorkerPool(const std::atomic<bool>* stop) : stop_(stop) {}

  void add(Item item) {
    const std::lock_guard guard(mutex_);
    items_.push_back(std::move(item));
  }

  /// True once the caller stops or a worker failed: workers give up between steps.
  [[nodiscard]] bool stopping() const {
    return (stop_ != nullptr && stop_->load()) || failed_.load();
  }

  /// The next item; nullopt when none is left or the pool is stopping.
  [[nodiscard]] std::optional<Item> take() {
    const std::lock_guard guard(mutex_);
    if (items_.empty() || stopping()) {
      return std::nullopt;
    }
    Item item = std::move(items_.front());
    items_.pop_front();
    return item;
  }

  /// Runs `workers` threads (at least one, at most one per item), each calling `work`, which
  /// takes items with take() until it gets none, and waits for them. Returns the first error.
  [[nodiscard]] Status run(std::size_t workers, const std::function<Status()>& work) {
    std::size_t items = 0;
    {
      const std::lock_guard guard(mutex_);
      items = items_.size();
    }
    workers = std::min(std::max<std::size_t>(1, workers), std::max<std::size_t>(1, items));
    std::vector<std::thread> threads;
    threads.reserve(workers);
    for (std::size_t i = 0; i < workers; ++i) {
      threads.emplace_back([this, &work] { record(work()); });
    }
    for (auto& t : threads) {
      t.join();
    }
    const std::lock_guard guard(mutex_);
    return error_ ? fail(*error_) : Status{};
  }

 private:
  void record(const Status& done) {
    if (done || (done.error().code == ErrorCode::kCancelled && stopping())) {
      return;
    }
    const std::lock_guard guard(mutex_);
    if (!error_) {
      error_ = done.error();
    }
    failed_ = true;
  }

  const std::atomic<bool>* stop_;
  std::atomic<bool> failed_{false};
  std::mutex mutex_;  // guards everything below
  std::deque<Item> items_;
  std::optional<Error> error_;
};

}  // namespace cesync
