// Bulk ingest throughput and client CPU: cesync's search client (encoder + BulkWriter over the
// curl multi transport) next to the same NDJSON bodies posted to _bulk by the curl command-line
// tool with the same concurrency, which is the limit the engine sets. Each run writes into a
// fresh index and checks that every document arrived.
//
//   es_bulk_bench [--url http://127.0.0.1:9200] [--docs 200000] [--batch-bytes 5242880]
//                 [--in-flight 4] [--rounds 3] [--gzip]
// Each sender runs `rounds` times, alternating which goes first; the median run is reported.
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "common/clock.h"
#include "es/bulk_writer.h"
#include "es/curl_transport.h"
#include "es/gzip.h"
#include "es/index_admin.h"
#include "es/server_info.h"

extern char** environ;

namespace cesync::es {
namespace {

struct Args {
  std::string url = "http://127.0.0.1:9200";
  std::size_t docs = 200'000;
  std::size_t batch_bytes = std::size_t{5} << 20U;
  std::size_t in_flight = 4;
  bool gzip = false;
  std::size_t rounds = 3;
};

double cpuSeconds(int who) {
  rusage u{};
  getrusage(who, &u);
  auto secs = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

constexpr std::string_view kIndexBody =
    R"({"settings":{"number_of_shards":1,"number_of_replicas":0,"refresh_interval":"-1"},)"
    R"("mappings":{"properties":{"id":{"type":"keyword"},"timestamp":{"type":"long"},)"
    R"("name":{"type":"keyword"},"score":{"type":"double"},"body":{"type":"text"}}}})";

// Documents shaped like a table row: a key, a write time, a few scalars and some text.
std::vector<BulkEncoder> encode(const std::string& index, const Args& args) {
  std::vector<BulkEncoder> batches(1);
  batches.back().reserve(args.batch_bytes + 4096);
  for (std::size_t i = 0; i < args.docs; ++i) {
    if (batches.back().bytes() >= args.batch_bytes) {
      batches.emplace_back().reserve(args.batch_bytes + 4096);
    }
    const std::string id = "row-" + std::to_string(i);
    const auto version = static_cast<std::int64_t>(1'700'000'000'000'000 + i);
    batches.back().indexWith({.index = index, .id = id, .version = version},
                             [&](util::JsonWriter& w) {
                               w.beginObject();
                               w.key("id");
                               w.value(id);
                               w.key("timestamp");
                               w.value(version);
                               w.key("name");
                               w.value("customer \xC3\xA9 " + std::to_string(i % 1000));
                               w.key("score");
                               w.value(static_cast<double>(i) * 0.25);
                               w.key("body");
                               w.value(
                                   "a short description of the row with \"quotes\" and some "
                                   "ordinary words, as a text column would hold");
                               w.endObject();
                             });
  }
  return batches;
}

Status prepare(IndexAdmin& admin, const std::string& index) {
  CESYNC_TRY(admin.remove(index));
  return admin.create(index, kIndexBody);
}

Status verify(IndexAdmin& admin, const std::string& index, std::size_t docs) {
  CESYNC_TRY(admin.refresh(index));
  CESYNC_ASSIGN_OR_RETURN(count, admin.count(index));
  if (count != docs) {
    return fail(ErrorCode::kInternal,
                index + " holds " + std::to_string(count) + " of " + std::to_string(docs));
  }
  return admin.remove(index);
}

struct Run {
  double wall = 0;
  double cpu = 0;
};

// Posts every batch file with the curl tool, at most `in_flight` processes at once.
Result<Run> runCurl(const Args& args, const std::vector<std::string>& files) {
  const double cpu0 = cpuSeconds(RUSAGE_CHILDREN);
  const double t0 = now();
  std::size_t next = 0;
  std::size_t running = 0;
  const std::string url = args.url + "/_bulk";
  while (next < files.size() || running > 0) {
    while (next < files.size() && running < args.in_flight) {
      const std::string data = "@" + files[next];
      std::vector<std::string> argv_s = {
          "curl", "-sS",    "-o", "/dev/null",
          "-X",   "POST",   "-H", "Content-Type: application/x-ndjson",
          "-H",   "Expect:"};
      if (args.gzip) {
        argv_s.insert(argv_s.end(), {"-H", "Content-Encoding: gzip"});
      }
      argv_s.insert(argv_s.end(), {"--data-binary", data, url});
      std::vector<char*> argv;
      for (auto& s : argv_s) {
        argv.push_back(s.data());
      }
      argv.push_back(nullptr);
      pid_t pid = 0;
      if (posix_spawnp(&pid, "curl", nullptr, nullptr, argv.data(), environ) != 0) {
        return fail(ErrorCode::kIo, "cannot run curl");
      }
      ++running;
      ++next;
    }
    int status = 0;
    if (wait(&status) > 0) {
      --running;
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        return fail(ErrorCode::kIo, "curl failed");
      }
    }
  }
  return Run{now() - t0, cpuSeconds(RUSAGE_CHILDREN) - cpu0};
}

int run(const Args& args) {
  EsStats stats;
  TransportOptions options;
  options.base_url = args.url;
  options.max_connections = args.in_flight;
  options.gzip_requests = args.gzip;
  options.request_timeout = std::chrono::milliseconds(300'000);
  auto transport = CurlTransport::create(options, &stats);
  if (!transport) {
    std::cerr << transport.error().toString() << "\n";
    return 1;
  }
  auto info = detectServer(**transport);
  if (!info) {
    std::cerr << info.error().toString() << "\n";
    return 1;
  }
  IndexAdmin admin(**transport);
  const std::string index = "bench_bulk";

  // Encoding alone: the cost of building the NDJSON on the client.
  const double enc_cpu0 = cpuSeconds(RUSAGE_SELF);
  const double enc_t0 = now();
  std::vector<BulkEncoder> batches = encode(index, args);
  const double enc_wall = now() - enc_t0;
  const double enc_cpu = cpuSeconds(RUSAGE_SELF) - enc_cpu0;
  std::size_t bytes = 0;
  for (const auto& b : batches) {
    bytes += b.bytes();
  }

  // The limit: the same bodies from files, posted by curl processes.
  std::vector<std::string> files;
  for (std::size_t i = 0; i < batches.size(); ++i) {
    files.push_back("/tmp/es_bulk_bench_" + std::to_string(getpid()) + "_" + std::to_string(i) +
                    ".ndjson");
    std::string packed;
    std::string_view body = batches[i].body();
    if (args.gzip) {
      if (!gzipCompress(body, 1, packed)) {
        return 1;
      }
      body = packed;
    }
    std::ofstream(files.back(), std::ios::binary)
        .write(body.data(), static_cast<std::streamsize>(body.size()));
  }
  SystemClock clock;
  BulkWriterOptions writer_options;
  writer_options.max_in_flight = args.in_flight;
  BulkWriter writer(**transport, clock, writer_options, &stats);
  std::vector<const BulkEncoder*> pointers;
  for (const auto& b : batches) {
    pointers.push_back(&b);
  }
  auto curlOnce = [&]() -> Result<Run> {
    CESYNC_TRY(prepare(admin, index));
    CESYNC_ASSIGN_OR_RETURN(r, runCurl(args, files));
    CESYNC_TRY(verify(admin, index, args.docs));
    return r;
  };
  auto clientOnce = [&]() -> Result<Run> {
    CESYNC_TRY(prepare(admin, index));
    const double cpu0 = cpuSeconds(RUSAGE_SELF);
    const double t0 = now();
    auto results = writer.writeAll(pointers);
    const Run r{now() - t0, cpuSeconds(RUSAGE_SELF) - cpu0};
    std::size_t acknowledged = 0;
    for (auto& one : results) {
      CESYNC_TRY(one);
      acknowledged += one->ok + one->already_newer;
    }
    if (acknowledged != args.docs) {
      return fail(ErrorCode::kInternal, "only " + std::to_string(acknowledged) + " acknowledged");
    }
    CESYNC_TRY(verify(admin, index, args.docs));
    return r;
  };
  // Alternate which sender goes first, so that warm-up and background load fall on both.
  std::vector<Run> curl_runs;
  std::vector<Run> client_runs;
  for (std::size_t round = 0; round < args.rounds; ++round) {
    for (int k = 0; k < 2; ++k) {
      const bool curl_turn = (round + static_cast<std::size_t>(k)) % 2 == 0;
      auto r = curl_turn ? curlOnce() : clientOnce();
      if (!r) {
        std::cerr << (curl_turn ? "curl run: " : "client run: ") << r.error().toString() << "\n";
        return 1;
      }
      (curl_turn ? curl_runs : client_runs).push_back(*r);
    }
  }
  for (const auto& f : files) {
    std::remove(f.c_str());
  }
  auto median = [](std::vector<Run> runs) {
    std::sort(runs.begin(), runs.end(), [](const Run& a, const Run& b) { return a.wall < b.wall; });
    return runs[runs.size() / 2];
  };
  const Run curl_median = median(curl_runs);
  const Run ours = median(client_runs);
  const Run* curl_run = &curl_median;

  const double docs = static_cast<double>(args.docs);
  std::printf(
      "engine: %s %s, docs: %zu, NDJSON: %.1f MiB in %zu requests, in flight: %zu%s, median "
      "of %zu runs\n",
      std::string(flavourName(info->flavour)).c_str(), info->version.c_str(), args.docs,
      static_cast<double>(bytes) / 1048576.0, batches.size(), args.in_flight,
      args.gzip ? ", gzip" : "", args.rounds);
  std::printf("| sender | docs/s | wall s | client CPU s | CPU µs/doc |\n");
  std::printf("|---|---:|---:|---:|---:|\n");
  std::printf("| curl `_bulk` (limit) | %.0f | %.2f | %.2f | %.2f |\n", docs / curl_run->wall,
              curl_run->wall, curl_run->cpu, curl_run->cpu / docs * 1e6);
  std::printf("| cesync BulkWriter | %.0f | %.2f | %.2f | %.2f |\n", docs / ours.wall, ours.wall,
              ours.cpu, ours.cpu / docs * 1e6);
  std::printf("| cesync encoder alone | %.0f | %.2f | %.2f | %.2f |\n", docs / enc_wall, enc_wall,
              enc_cpu, enc_cpu / docs * 1e6);
  std::printf("connections opened: %llu, bulk requests: %llu, retried: %llu\n",
              static_cast<unsigned long long>(stats.connections_opened.load()),
              static_cast<unsigned long long>(stats.bulk_requests.load()),
              static_cast<unsigned long long>(stats.bulk_request_retries.load()));
  return 0;
}

}  // namespace
}  // namespace cesync::es

int main(int argc, char** argv) {
  cesync::es::Args args;
  if (const char* url = std::getenv("CESYNC_OPENSEARCH")) {
    args.url = url;
  }
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--url") {
      args.url = value();
    } else if (a == "--docs") {
      args.docs = std::stoul(value());
    } else if (a == "--batch-bytes") {
      args.batch_bytes = std::stoul(value());
    } else if (a == "--in-flight") {
      args.in_flight = std::stoul(value());
    } else if (a == "--rounds") {
      args.rounds = std::max<std::size_t>(1, std::stoul(value()));
    } else if (a == "--gzip") {
      args.gzip = true;
    } else {
      std::cerr << "usage: es_bulk_bench [--url URL] [--docs N] [--batch-bytes N] "
                   "[--in-flight N] [--rounds N] [--gzip]\n";
      return 2;
    }
  }
  return cesync::es::run(args);
}
