// Prepared point reads per second with N requests in flight against a live node.
//   cql_point_reads [host:port] [in_flight] [seconds] [v4|v5] [lz4]
// Creates cesync_bench.kv with 10,000 rows if absent, then reads random keys for the duration.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <string>

#include "cql/session.h"

using namespace cesync::cql;

int main(int argc, char** argv) {
  const std::string hostport = argc > 1 ? argv[1] : "127.0.0.1:9042";
  const int window = argc > 2 ? std::atoi(argv[2]) : 128;
  const double seconds = argc > 3 ? std::atof(argv[3]) : 10.0;
  const bool v4 = argc > 4 && std::string(argv[4]) == "v4";
  const bool lz4 = argc > 5 && std::string(argv[5]) == "lz4";
  constexpr int kKeys = 10000;

  SessionConfig config;
  config.contact_points = {hostport};
  config.consistency = Consistency::kOne;
  config.max_protocol_version = v4 ? ProtocolVersion::kV4 : ProtocolVersion::kV5;
  config.compression = lz4;
  auto session = Session::connect(config);
  if (!session) {
    std::fprintf(stderr, "connect: %s\n", session.error().toString().c_str());
    return 1;
  }
  auto& s = **session;
  (void)s.execute(
      "CREATE KEYSPACE IF NOT EXISTS cesync_bench WITH replication = {'class': "
      "'SimpleStrategy', 'replication_factor': 1}");
  (void)s.execute("CREATE TABLE IF NOT EXISTS cesync_bench.kv (k int PRIMARY KEY, v text)");
  (void)s.waitForSchemaAgreement(std::chrono::seconds{30});
  auto count = s.execute("SELECT count(*) FROM cesync_bench.kv");
  if (!count || *count->rows[0].get<std::int64_t>(0) < kKeys) {
    auto insert = s.prepare("INSERT INTO cesync_bench.kv (k, v) VALUES (?, ?)");
    for (int k = 0; insert && k < kKeys; ++k) {
      (void)s.execute(Statement::of(
          *insert, {Value::integer(k), Value::text("value-" + std::to_string(k) + "-payload")}));
    }
  }
  auto select = s.prepare("SELECT v FROM cesync_bench.kv WHERE k = ?");
  if (!select) {
    std::fprintf(stderr, "prepare: %s\n", select.error().toString().c_str());
    return 1;
  }

  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;
  std::int64_t done = 0;
  std::int64_t errors = 0;
  std::mt19937 rng(1);
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return in_flight < window; });
      ++in_flight;
    }
    Statement st = Statement::of(*select, {Value::integer(static_cast<int>(rng() % kKeys))});
    st.idempotent = true;
    s.executeAsync(std::move(st), [&](cesync::Result<ResultSet> r) {
      std::lock_guard lock(mu);
      --in_flight;
      ++done;
      errors += (r && r->rows.size() == 1) ? 0 : 1;
      cv.notify_one();
    });
  }
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return in_flight == 0; });
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("cesync cql: %lld reads in %.1f s = %.0f reads/s, in flight %d, errors %lld (%s%s)\n",
              static_cast<long long>(done), elapsed, static_cast<double>(done) / elapsed, window,
              static_cast<long long>(errors), v4 ? "v4" : "v5", lz4 ? "+lz4" : "");
  return errors == 0 ? 0 : 2;
}
