#include "sync/side_probe.h"

#include <fmt/format.h>

namespace cesync::sync {

SideProbe::SideProbe(cql::Session& session, std::unique_ptr<es::EsClient> search,
                     ops::Events& events, const Clock& clock, Options options)
    : session_(session),
      search_client_(std::move(search)),
      events_(events),
      clock_(clock),
      options_(options) {
  const std::int64_t now = clock_.wallMicros();
  cassandra_.state.since_micros = now;
  search_.state.since_micros = now;
  events_.set(ops::Event::kSideUp, {cassandra_.name}, 1);
  events_.set(ops::Event::kSideUp, {search_.name}, 1);
}

SideProbe::~SideProbe() {
  stop();
}

void SideProbe::start() {
  thread_ = std::thread([this] { loop(); });
}

void SideProbe::stop() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

SideState SideProbe::cassandra() const {
  const std::lock_guard lock(mutex_);
  return cassandra_.state;
}

SideState SideProbe::search() const {
  const std::lock_guard lock(mutex_);
  return search_.state;
}

void SideProbe::loop() {
  while (true) {
    const Status cassandra = probeCassandra();
    const Status search = probeSearch();
    std::unique_lock lock(mutex_);
    record(cassandra_, cassandra);
    record(search_, search);
    if (wake_.wait_for(lock, options_.interval, [this] { return stopping_; })) {
      return;
    }
  }
}

void SideProbe::record(Side& side, const Status& answer) {
  const std::int64_t now = clock_.wallMicros();
  if (answer) {
    side.failures = 0;
    if (!side.state.up) {
      events_.log(ops::Event::kSideBack, {side.name},
                  fmt::format("{} is reachable again after {:.1f} s", side.title,
                              static_cast<double>(now - side.state.since_micros) / 1e6));
      side.state = {true, {}, now};
      events_.set(ops::Event::kSideUp, {side.name}, 1);
      comebacks_.fetch_add(1);
    }
    return;
  }
  if (side.state.up) {
    if (++side.failures < options_.failures_to_down) {
      return;
    }
    side.state = {false, answer.error().message, now};
    events_.set(ops::Event::kSideUp, {side.name}, 0);
    events_.log(ops::Event::kSideDown, {side.name},
                fmt::format("{} is unreachable: {} (the daemon keeps retrying)", side.title,
                            answer.error().message));
  } else {
    side.state.error = answer.error().message;
  }
}

Status SideProbe::probeCassandra() {
  cql::Statement probe = cql::Statement::of("SELECT release_version FROM system.local");
  probe.timeout = options_.timeout;
  return session_.execute(probe).map([](const cql::ResultSet&) {});
}

Status SideProbe::probeSearch() {
  es::HttpRequest request;
  request.path = "/_cluster/health?timeout=1s";
  request.timeout = options_.timeout;
  CESYNC_ASSIGN_OR_RETURN(response, search_client_->transport().send(request));
  // Any answer but an overloaded or failing node is a reachable engine; a 401/403 is a
  // configuration problem the pipelines report themselves.
  if (response.status >= 500) {
    return fail(ErrorCode::kUnavailable, fmt::format("answered HTTP {}", response.status));
  }
  return {};
}

}  // namespace cesync::sync
