// Decoding a page of rows: the RESULT body parse (metadata + cell offsets), then typed access to
// every cell, and the generic Value tree for comparison.
#include <benchmark/benchmark.h>

#include <memory>

#include "cql/message/result.h"
#include "cql/wire/byte_writer.h"

namespace cesync::cql {
namespace {

// A Rows body for (id int, n bigint, name text, score double, u uuid, tags list<text>).
std::shared_ptr<const Bytes> makeRowsBody(int rows) {
  Bytes out;
  ByteWriter w(out);
  w.writeInt(2);
  w.writeInt(1);  // global table spec
  w.writeInt(6);
  w.writeString("ks");
  w.writeString("t");
  const std::pair<const char*, std::uint16_t> cols[] = {
      {"id", 0x09}, {"n", 0x02}, {"name", 0x0D}, {"score", 0x07}, {"u", 0x0C}};
  for (const auto& [name, id] : cols) {
    w.writeString(name);
    w.writeShort(id);
  }
  w.writeString("tags");
  w.writeShort(0x20);
  w.writeShort(0x0D);
  w.writeInt(rows);
  for (int i = 0; i < rows; ++i) {
    w.writeInt(4);
    w.writeInt(i);
    w.writeInt(8);
    w.writeLong(std::int64_t{i} * 1000);
    const std::string name = "name-" + std::to_string(i);
    w.writeBytes(asBytes(name));
    w.writeInt(8);
    w.writeLong(0x400921FB54442D18);
    w.writeInt(16);
    w.writeLong(i);
    w.writeLong(-i);
    const std::size_t at = w.reserveInt();
    w.writeInt(2);
    w.writeBytes(asBytes("alpha"));
    w.writeBytes(asBytes("beta"));
    w.patchInt(at, static_cast<std::int32_t>(w.size() - at - 4));
  }
  return std::make_shared<const Bytes>(std::move(out));
}

void BM_DecodeRowsTyped(benchmark::State& state) {
  const auto body = makeRowsBody(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto result = decodeResult(ProtocolVersion::kV5, body, 0);
    const auto& rows = std::get<RowsResult>(*result).rows;
    std::int64_t sum = 0;
    for (const auto row : rows) {
      sum += *row.get<std::int32_t>(0);
      sum += *row.get<std::int64_t>(1);
      sum += static_cast<std::int64_t>(row.get<std::string_view>(2)->size());
      sum += static_cast<std::int64_t>(*row.get<double>(3));
      sum += row.get<UuidBytes>(4)->at(15);
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body->size()));
}
BENCHMARK(BM_DecodeRowsTyped)->Arg(100)->Arg(5000);

void BM_DecodeRowsValueTree(benchmark::State& state) {
  const auto body = makeRowsBody(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto result = decodeResult(ProtocolVersion::kV5, body, 0);
    const auto& rows = std::get<RowsResult>(*result).rows;
    std::size_t n = 0;
    for (const auto row : rows) {
      for (std::size_t c = 0; c < rows.columnCount(); ++c) {
        auto v = row.value(c);
        n += v->isNull() ? 0U : 1U;
      }
    }
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body->size()));
}
BENCHMARK(BM_DecodeRowsValueTree)->Arg(100)->Arg(5000);

}  // namespace
}  // namespace cesync::cql
