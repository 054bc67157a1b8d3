// Fuzz target for everything that parses bytes from the network: v4 envelopes (with lz4), v5
// frames (plain and lz4), result bodies with their type metadata and every cell's value, errors,
// events. Any input must yield values or error values: no crash, no out-of-bounds access.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "cql/frame/envelope.h"
#include "cql/frame/segment.h"
#include "cql/message/result.h"
#include "cql/message/server_error.h"
#include "cql/types/value_codec.h"

namespace {

void decodeBody(const cesync::cql::Envelope& env) {
  using namespace cesync::cql;
  const auto version =
      env.header.protocolVersion() == 5 ? ProtocolVersion::kV5 : ProtocolVersion::kV4;
  auto prefix = skipBodyPrefix(env.header.flags, env.body);
  if (!prefix) {
    return;
  }
  const ByteView rest = ByteView(env.body).subspan(prefix->offset);
  (void)decodeServerError(version, rest);
  (void)decodeEvent(rest);
  (void)decodeSupported(rest);
  auto body = std::make_shared<const Bytes>(env.body);
  auto result = decodeResult(version, body, prefix->offset);
  if (!result) {
    return;
  }
  if (const auto* rows = std::get_if<RowsResult>(&*result)) {
    for (std::size_t r = 0; r < rows->rows.size(); ++r) {
      for (std::size_t c = 0; c < rows->rows.columnCount(); ++c) {
        if (auto v = rows->rows[r].value(c)) {
          (void)v->toString();
        }
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cesync::cql;
  const ByteView input(data, size);
  // The body on its own, as a RESULT of either version.
  {
    Envelope env;
    env.header.version = 0x84;
    env.body.assign(input.begin(), input.end());
    decodeBody(env);
    env.header.version = 0x85;
    decodeBody(env);
  }
  // As a v4 stream with lz4 bodies, split in two to exercise reassembly.
  {
    EnvelopeDecoder decoder(1 << 20);
    decoder.setV4Compression(true);
    std::vector<Envelope> out;
    const std::size_t half = size / 2;
    if (decoder.feed(input.first(half), out) && decoder.feed(input.subspan(half), out)) {
      for (const auto& e : out) {
        decodeBody(e);
      }
    }
  }
  // As v5 frames, plain and lz4, whose payloads carry envelopes.
  for (const bool compressed : {false, true}) {
    SegmentDecoder frames(compressed);
    std::vector<Segment> segments;
    if (!frames.feed(input, segments)) {
      continue;
    }
    EnvelopeDecoder envelopes(1 << 20);
    std::vector<Envelope> out;
    for (const auto& s : segments) {
      if (!envelopes.feed(s.payload, out)) {
        break;
      }
    }
    for (const auto& e : out) {
      decodeBody(e);
    }
  }
  return 0;
}
