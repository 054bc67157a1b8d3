// Micro-benchmarks of the pure codecs on the bulk path: encoding items into NDJSON and
// classifying a bulk answer item by item.
#include <benchmark/benchmark.h>

#include <string>

#include "es/bulk_encoder.h"
#include "es/bulk_response.h"

namespace cesync::es {
namespace {

void encodeRow(BulkEncoder& enc, std::int64_t i) {
  const std::string id = "row-" + std::to_string(i);
  enc.indexWith({.index = "bench", .id = id, .version = 1'700'000'000'000'000 + i},
                [&](util::JsonWriter& w) {
                  w.beginObject();
                  w.key("id");
                  w.value(id);
                  w.key("timestamp");
                  w.value(i);
                  w.key("name");
                  w.value("customer \xC3\xA9 with \"quotes\"");
                  w.key("score");
                  w.value(static_cast<double>(i) * 0.25);
                  w.key("body");
                  w.value("a short description of the row, as a text column would hold");
                  w.endObject();
                });
}

void BM_EncodeRows(benchmark::State& state) {
  BulkEncoder enc;
  enc.reserve(8U << 20U);
  std::int64_t i = 0;
  for (auto _ : state) {
    if (enc.bytes() > (6U << 20U)) {
      enc.clear();
    }
    encodeRow(enc, i++);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EncodeRows);

std::string bulkAnswer(std::size_t items, bool mixed) {
  std::string out =
      R"({"took":30,"errors":)" + std::string(mixed ? "true" : "false") + R"(,"items":[)";
  for (std::size_t i = 0; i < items; ++i) {
    if (i != 0) {
      out += ',';
    }
    if (mixed && i % 10 == 3) {
      out +=
          R"({"index":{"_index":"bench","_id":"row-)" + std::to_string(i) +
          R"(","status":409,"error":{"type":"version_conflict_engine_exception","reason":"[row]: version conflict, current version [10] is higher than the one provided [9]","index_uuid":"abc","shard":"0","index":"bench"}}})";
    } else {
      out +=
          R"({"index":{"_index":"bench","_id":"row-)" + std::to_string(i) +
          R"(","_version":1700000000000000,"result":"created","_shards":{"total":1,"successful":1,"failed":0},"_seq_no":)" +
          std::to_string(i) + R"(,"_primary_term":1,"status":201}})";
    }
  }
  return out + "]}";
}

void BM_ParseBulkAnswer(benchmark::State& state) {
  const auto items = static_cast<std::size_t>(state.range(0));
  std::string body = bulkAnswer(items, state.range(1) != 0);
  body.reserve(body.size() + 64);
  for (auto _ : state) {
    auto parsed = parseBulkResponse(body, items, body.capacity());
    benchmark::DoNotOptimize(parsed);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body.size()));
}
BENCHMARK(BM_ParseBulkAnswer)->Args({20'000, 0})->Args({20'000, 1});

}  // namespace
}  // namespace cesync::es

BENCHMARK_MAIN();
