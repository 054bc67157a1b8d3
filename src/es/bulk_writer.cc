#include "es/bulk_writer.h"

#include <algorithm>
#include <optional>
#include <thread>

#include "es/json_util.h"

namespace cesync::es {
namespace {

constexpr std::string_view kNdjson = "application/x-ndjson";

void bump(EsStats* stats, EsStats::Counter EsStats::*counter, std::uint64_t n = 1) {
  if (stats != nullptr) {
    (stats->*counter) += n;
  }
}

}  // namespace

struct BulkWriter::BatchState {
  const BulkEncoder* batch = nullptr;
  BulkWriteResult result;
  std::vector<std::size_t> pending;  // items still to be sent, in order
  std::size_t chunk_items = 0;       // items per request (lowered by 413 answers)
  Backoff backoff;
  Clock::TimePoint due{};
  std::optional<Error> fatal;
  bool split_this_round = false;
  bool retry_this_round = false;

  BatchState(const BulkEncoder* b, const BackoffPolicy& policy, std::uint64_t seed)
      : batch(b), backoff(policy, seed) {}
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

void BulkWriter::applyResponse(BatchState& state, std::span<const std::size_t> items,
                               Result<HttpResponse>& response) {
  auto& out = state.result.items;
  auto retryAll = [&](const std::string& reason) {
    bump(stats_, &EsStats::bulk_requests_rejected);
    bump(stats_, &EsStats::bulk_items_retried, items.size());
    for (std::size_t i : items) {
      out[i] = ItemResult{ItemOutcome::kRetry, 0, {}, reason};
    }
    state.result.last_retry_reason = reason;
    state.retry_this_round = true;
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
        state.split_this_round = true;
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
        state.retry_this_round = true;
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
    BatchState& s = states.emplace_back(b, options_.backoff, options_.seed + seeds_used_++);
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

  struct Chunk {
    BatchState* state;
    std::vector<std::size_t> items;
    std::string body;  // empty when the batch's whole buffer is sent as is
  };
  for (;;) {
    const auto now = clock_.now();
    std::vector<Chunk> round;
    std::optional<Clock::TimePoint> next_due;
    for (BatchState& s : states) {
      if (s.fatal || s.pending.empty()) {
        continue;
      }
      if (s.due > now) {
        next_due = next_due ? std::min(*next_due, s.due) : s.due;
        continue;
      }
      for (std::size_t at = 0; at < s.pending.size(); at += s.chunk_items) {
        if (round.size() >= options_.max_in_flight) {
          break;
        }
        const std::size_t end = std::min(s.pending.size(), at + s.chunk_items);
        Chunk chunk{&s,
                    {s.pending.begin() + static_cast<std::ptrdiff_t>(at),
                     s.pending.begin() + static_cast<std::ptrdiff_t>(end)},
                    {}};
        if (chunk.items.size() != s.batch->items()) {
          for (std::size_t i : chunk.items) {
            chunk.body.append(s.batch->item(i));
          }
        }
        round.push_back(std::move(chunk));
      }
      if (round.size() >= options_.max_in_flight) {
        break;
      }
    }
    if (round.empty()) {
      if (!next_due) {
        break;
      }
      options_.sleep(std::chrono::ceil<std::chrono::milliseconds>(*next_due - now));
      continue;
    }

    std::vector<HttpRequest> requests;
    requests.reserve(round.size());
    for (const Chunk& c : round) {
      requests.push_back(
          HttpRequest{.method = HttpMethod::kPost,
                      .path = path_,
                      .body = c.body.empty() ? c.state->batch->body() : std::string_view(c.body),
                      .content_type = kNdjson});
    }
    bump(stats_, &EsStats::bulk_requests, requests.size());
    auto responses = transport_.sendAll(requests);

    std::vector<BatchState*> touched;
    for (std::size_t r = 0; r < round.size(); ++r) {
      BatchState& s = *round[r].state;
      if (std::find(touched.begin(), touched.end(), &s) == touched.end()) {
        touched.push_back(&s);
        ++s.result.attempts;
        s.split_this_round = false;
        s.retry_this_round = false;
      }
      applyResponse(s, round[r].items, responses[r]);
    }
    const auto after = clock_.now();
    for (BatchState* s : touched) {
      // Items sent this round that are now final leave the pending list; items of the batch
      // not sent this round (in-flight cap) stay pending untouched.
      std::vector<std::size_t> still;
      for (std::size_t i : s->pending) {
        if (!isFinal(s->result.items[i].outcome)) {
          still.push_back(i);
        }
      }
      s->pending = std::move(still);
      if (s->fatal || s->pending.empty() || s->split_this_round || !s->retry_this_round) {
        continue;
      }
      if (auto delay = s->backoff.next()) {
        bump(stats_, &EsStats::bulk_request_retries);
        s->due = after + *delay;
      } else {
        bump(stats_, &EsStats::bulk_items_gave_up, s->pending.size());
        s->pending.clear();
      }
    }
  }

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
