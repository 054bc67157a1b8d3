#include "sync/echo_marks.h"

namespace cesync::sync {

std::string EchoMarks::keyOf(const std::string& table, const std::string& id) {
  std::string key = table;
  key.push_back('\0');
  key += id;
  return key;
}

void EchoMarks::record(const std::string& table, const std::string& id, std::int64_t version) {
  const std::lock_guard lock(mutex_);
  std::string key = keyOf(table, id);
  auto [it, inserted] = marks_.insert_or_assign(key, version);
  if (inserted) {
    order_.push_back(std::move(key));
  }
  while (marks_.size() > capacity_ && !order_.empty()) {
    marks_.erase(order_.front());
    order_.pop_front();
  }
  // Keys consumed earlier may linger in order_; keep it from growing without bound.
  if (order_.size() > 2 * capacity_ + 16) {
    std::deque<std::string> live;
    for (auto& k : order_) {
      if (marks_.contains(k)) {
        live.push_back(std::move(k));
      }
    }
    order_ = std::move(live);
  }
}

bool EchoMarks::consume(const std::string& table, const std::string& id, std::int64_t version) {
  const std::lock_guard lock(mutex_);
  const auto it = marks_.find(keyOf(table, id));
  if (it == marks_.end() || it->second != version) {
    return false;
  }
  marks_.erase(it);
  return true;
}

std::size_t EchoMarks::size() const {
  const std::lock_guard lock(mutex_);
  return marks_.size();
}

}  // namespace cesync::sync
