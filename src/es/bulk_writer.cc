#include "es/bulk_writer.h"

#include <algorithm>
#include <optional>
#include <random>
#include <thread>

#include "es/json_util.h"

namespace cesync::es {
namespace {

constexpr std::string_view kNdjson = "application/x-ndjson";
constexpr std::chrono::milliseconds kIdleCheck{1000};

void bump(EsStats* stats, EsStats::Counter EsStats::*counter, std::uint64_t n = 1) {
  if (stats != nullptr) {
    (stats->*counter) += n;
  }
}

}  // namespace

struct BulkWriter::BatchState {
  const BulkEncoder* batch = nullptr;
  BulkWriteResult result;
  std::vector<std::size_t> pending;  // items not yet final, in order
  std::vector<std::size_t> sent;     // the items of the request in flight
  std::string body;                  // its body when it is not the whole batch
  std::size_t chunk_items = 0;       // items per request (lowered by 413 answers)
  Backoff backoff;
  Clock::TimePoint due{};
  std::optional<Error> fatal;
  bool in_flight = false;
  bool split = false;  // the last answer asked for smaller requests
  bool retry = false;  // the last answer left retryable items

  BatchState(const BulkEncoder* b, const BackoffPolicy& policy, std::uint64_t seed)
      : batch(b), backoff(policy, seed) {}

  [[nodiscard]] bool idle() const { return !fatal && !in_flight && !pending.empty(); }
};

// One writeAll(): the batches as a request source for the transport.
class BulkWriter::Run final : public RequestSource {
 public:
  Run(BulkWriter& writer, std::vector<BatchState>& states) : w_(writer), states_(states) {}

  std::optional<HttpRequest> next(std::size_t& tag) override {
    if (in_flight_ >= w_.options_.max_in_flight) {
      return std::nullopt;
    }
    interrupt();
    const auto now = w_.clock_.now();
    // Round-robin from where the last request came from, so no batch starves.
    for (std::size_t k = 0; k < states_.size(); ++k) {
      const std::size_t i = (cursor_ + k) % states_.size();
      BatchState& s = states_[i];
      if (!s.idle() || s.due > now) {
        continue;
      }
      cursor_ = i + 1;
      const std::size_t n = std::min(s.chunk_items, s.pending.size());
      s.sent.assign(s.pending.begin(), s.pending.begin() + static_cast<std::ptrdiff_t>(n));
      s.body.clear();
      if (n != s.batch->items()) {
        for (std::size_t item : s.sent) {
          s.body.append(s.batch->item(item));
        }
      }
      s.in_flight = true;
      ++in_flight_;
      bump(w_.stats_, &EsStats::bulk_in_flight);
      ++s.result.attempts;
      bump(w_.stats_, &EsStats::bulk_requests);
      tag = i;
      return HttpRequest{.method = HttpMethod::kPost,
                         .path = w_.path_,
                         .body = s.body.empty() ? s.batch->body() : std::string_view(s.body),
                         .content_type = kNdjson};
    }
    return std::nullopt;
  }

  void complete(std::size_t tag, Result<HttpResponse> response) override {
    BatchState& s = states_[tag];
    s.in_flight = false;
    --in_flight_;
    if (w_.stats_ != nullptr) {
      --w_.stats_->bulk_in_flight;
    }
    s.split = false;
    s.retry = false;
    w_.applyResponse(s, response);
    std::erase_if(s.pending, [&](std::size_t i) { return isFinal(s.result.items[i].outcome); });
    const auto now = w_.clock_.now();
    if (s.fatal || s.pending.empty()) {
      return;
    }
    if (s.split || !s.retry) {
      // Smaller requests, or the rest of a split batch: no failure to back off from.
      s.due = now;
      return;
    }
    if (auto delay = s.backoff.next()) {
      bump(w_.stats_, &EsStats::bulk_request_retries);
      s.due = now + *delay;
    } else {
      bump(w_.stats_, &EsStats::bulk_items_gave_up, s.pending.size());
      s.pending.clear();
    }
  }

  bool waitForWork() override {
    const auto due = earliestDue();
    if (!due) {
      return false;
    }
    const auto now = w_.clock_.now();
    if (*due > now) {
      w_.options_.sleep(std::chrono::ceil<std::chrono::milliseconds>(*due - now));
    }
    interrupt();
    return earliestDue().has_value();
  }

  std::chrono::milliseconds nextReadyIn() override {
    // With the window full only an answer frees a slot, and the transport wakes up for that.
    if (in_flight_ >= w_.options_.max_in_flight) {
      return kIdleCheck;
    }
    const auto due = earliestDue();
    if (!due) {
      return kIdleCheck;
    }
    const auto now = w_.clock_.now();
    return *due > now ? std::chrono::ceil<std::chrono::milliseconds>(*due - now)
                      : std::chrono::milliseconds(0);
  }

 private:
  // Applies what the caller asks (BulkWriterOptions::interrupt) to the batches not in flight.
  void interrupt() {
    if (!w_.options_.interrupt) {
      return;
    }
    const BulkInterrupt asked = w_.options_.interrupt();
    if (asked == BulkInterrupt::kNone) {
      return;
    }
    const auto now = w_.clock_.now();
    for (BatchState& s : states_) {
      if (!s.idle()) {
        continue;
      }
      if (asked == BulkInterrupt::kRetryNow) {
        s.due = now;
      } else {
        bump(w_.stats_, &EsStats::bulk_items_gave_up, s.pending.size());
        s.pending.clear();
      }
    }
  }

  [[nodiscard]] std::optional<Clock::TimePoint> earliestDue() const {
    std::optional<Clock::TimePoint> due;
    for (const BatchState& s : states_) {
      if (s.idle()) {
        due = due ? std::min(*due, s.due) : s.due;
      }
    }
    return due;
  }

  BulkWriter& w_;
  std::vector<BatchState>& states_;
  std::size_t in_flight_ = 0;
  std::size_t cursor_ = 0;
};

std::size_t BulkWriteResult::finalPrefix() const {
  std::size_t n = 0;
  while (n < items.size() && isFinal(items[n].outcome)) {
    ++n;
  }
  return n;
}

BulkWriter::BulkWriter(HttpTransport& transport, const Clock& clock, BulkWriterOptions options,
                       EsStats* stats)
    : transport_(transport), clock_(clock), options_(std::move(options)), stats_(stats) {
  if (!options_.sleep) {
    options_.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  }
  next_seed_ = options_.seed ? *options_.seed : std::random_device{}();
  if (options_.max_in_flight == 0) {
    options_.max_in_flight = 1;
  }
  path_ = "/_bulk";
  if (!options_.refresh.empty()) {
    path_ += "?refresh=" + options_.refresh;
  }
}

Result<BulkWriteResult> BulkWriter::write(const BulkEncoder& batch) {
  const BulkEncoder* one[] = {&batch};
  auto results = writeAll(one);
  return std::move(results.front());
}

void BulkWriter::applyResponse(BatchState& state, Result<HttpResponse>& response) {
  const std::vector<std::size_t>& items = state.sent;
  auto& out = state.result.items;
  auto retryAll = [&](const std::string& reason) {
    bump(stats_, &EsStats::bulk_requests_rejected);
    bump(stats_, &EsStats::bulk_items_retried, items.size());
    for (std::size_t i : items) {
      out[i] = ItemResult{ItemOutcome::kRetry, 0, {}, reason};
    }
    state.result.last_retry_reason = reason;
    state.retry = true;
  };
  if (!response) {
    retryAll(response.error().toString());
    return;
  }
  const int status = response->status;
  switch (classifyBulkStatus(status)) {
    case RequestOutcome::kParseItems:
      break;
    case RequestOutcome::kRetryAll:
      if (status == 429) {
        bump(stats_, &EsStats::bulk_items_rejected_429, items.size());
      }
      retryAll("HTTP " + std::to_string(status) + ": " + errorSummary(response->body));
      for (std::size_t i : items) {
        out[i].status = static_cast<std::uint16_t>(status);
      }
      return;
    case RequestOutcome::kTooLarge:
      if (items.size() > 1) {
        // Keep every item pending and halve the request size; this is not a failed attempt.
        state.chunk_items = std::max<std::size_t>(1, std::min(state.chunk_items, items.size()) / 2);
        state.split = true;
        bump(stats_, &EsStats::bulk_batches_split);
        for (std::size_t i : items) {
          out[i] = ItemResult{ItemOutcome::kRetry, 413, {}, "request too large"};
        }
        return;
      }
      bump(stats_, &EsStats::bulk_items_dead_letter);
      out[items.front()] = ItemResult{ItemOutcome::kDeadLetter, 413, "request_entity_too_large",
                                      "the document alone exceeds the engine's request limit"};
      return;
    case RequestOutcome::kAuthFailed:
      state.fatal = httpError(status, response->body, "POST /_bulk");
      return;
    case RequestOutcome::kRejectAll: {
      const std::string reason = errorSummary(response->body);
      bump(stats_, &EsStats::bulk_items_dead_letter, items.size());
      for (std::size_t i : items) {
        out[i] = ItemResult{ItemOutcome::kDeadLetter, static_cast<std::uint16_t>(status),
                            "http_" + std::to_string(status), reason};
      }
      return;
    }
  }
  auto parsed = parseBulkResponse(response->body, items.size(), response->body.capacity());
  if (!parsed) {
    // An answer we cannot read says nothing about the items: they stay unacknowledged.
    retryAll(parsed.error().toString());
    return;
  }
  for (std::size_t k = 0; k < items.size(); ++k) {
    ItemResult& item = parsed->items[k];
    switch (item.outcome) {
      case ItemOutcome::kOk:
        bump(stats_, &EsStats::bulk_items_ok);
        break;
      case ItemOutcome::kAlreadyNewer:
        bump(stats_, &EsStats::bulk_items_already_newer);
        break;
      case ItemOutcome::kRetry:
        bump(stats_, &EsStats::bulk_items_retried);
        if (item.status == 429) {
          bump(stats_, &EsStats::bulk_items_rejected_429);
        }
        state.result.last_retry_reason = item.error_type + ": " + item.reason;
        state.retry = true;
        break;
      case ItemOutcome::kDeadLetter:
        bump(stats_, &EsStats::bulk_items_dead_letter);
        break;
    }
    out[items[k]] = std::move(item);
  }
}

std::vector<Result<BulkWriteResult>> BulkWriter::writeAll(
    std::span<const BulkEncoder* const> batches) {
  std::vector<BatchState> states;
  states.reserve(batches.size());
  for (const BulkEncoder* b : batches) {
    BatchState& s = states.emplace_back(b, options_.backoff, next_seed_++);
    const std::size_t n = b->items();
    s.result.items.resize(n, ItemResult{ItemOutcome::kRetry, 0, {}, "not sent"});
    s.pending.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      s.pending[i] = i;
    }
    s.chunk_items = std::max<std::size_t>(n, 1);
    s.due = clock_.now();
    if (n == 0) {
      s.fatal = makeError(ErrorCode::kInvalidArgument, "empty bulk batch");
    }
  }
  Run run(*this, states);
  transport_.run(run);

  std::vector<Result<BulkWriteResult>> out;
  out.reserve(states.size());
  for (BatchState& s : states) {
    if (s.fatal) {
      out.emplace_back(tl::unexpected(std::move(*s.fatal)));
      continue;
    }
    for (const ItemResult& item : s.result.items) {
      switch (item.outcome) {
        case ItemOutcome::kOk:
          ++s.result.ok;
          break;
        case ItemOutcome::kAlreadyNewer:
          ++s.result.already_newer;
          break;
        case ItemOutcome::kDeadLetter:
          ++s.result.dead_letter;
          break;
        case ItemOutcome::kRetry:
          ++s.result.unacknowledged;
          break;
      }
    }
    out.emplace_back(std::move(s.result));
  }
  return out;
}

}  // namespace cesync::es
