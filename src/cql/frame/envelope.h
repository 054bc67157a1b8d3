#pragma once

#include <cstdint>
#include <vector>

#include "common/result.h"
#include "cql/protocol.h"
#include "cql/wire/bytes.h"

namespace cesync::cql {

/// The 9-byte envelope header (v4 "frame", v5 "envelope").
struct EnvelopeHeader {
  std::uint8_t version = 0;  // with the response bit 0x80
  std::uint8_t flags = 0;
  std::int16_t stream = 0;
  std::uint8_t opcode = 0;
  std::uint32_t length = 0;

  [[nodiscard]] bool isResponse() const { return (version & 0x80U) != 0; }
  [[nodiscard]] std::uint8_t protocolVersion() const {
    return static_cast<std::uint8_t>(version & 0x7FU);
  }
};

/// One decoded envelope: the header and its (decompressed) body.
struct Envelope {
  EnvelopeHeader header;
  Bytes body;

  [[nodiscard]] Opcode opcode() const { return static_cast<Opcode>(header.opcode); }
};

/// Appends a request envelope to `out`. With `compress` (v4 with lz4 negotiated) the body is LZ4
/// compressed and the compression flag set; v5 never compresses envelopes (its frames do).
void encodeEnvelope(std::uint8_t version, std::uint8_t flags, std::int16_t stream, Opcode op,
                    ByteView body, bool compress, Bytes& out);

/// Parses a 9-byte header. Versions outside 3..6 and lengths above `max_body` are kProtocol
/// errors: the stream is garbage or not CQL.
[[nodiscard]] Result<EnvelopeHeader> decodeEnvelopeHeader(
    ByteView header, std::uint32_t max_body = kMaxEnvelopeBody);

/// Incremental envelope decoder: feed bytes as they arrive, get whole envelopes out. Keeps the
/// partial tail between calls. After an error the stream is unusable (the connection must close).
class EnvelopeDecoder {
 public:
  explicit EnvelopeDecoder(std::uint32_t max_body = kMaxEnvelopeBody) : max_body_(max_body) {}

  /// Turns on v4 body decompression (lz4) for envelopes carrying the compression flag.
  void setV4Compression(bool on) { v4_lz4_ = on; }

  /// Appends every envelope completed by `bytes` to `out`.
  [[nodiscard]] Status feed(ByteView bytes, std::vector<Envelope>& out);

  /// Bytes held back waiting for the rest of an envelope.
  [[nodiscard]] std::size_t buffered() const { return buffer_.size() - start_; }

 private:
  std::uint32_t max_body_;
  bool v4_lz4_ = false;
  Bytes buffer_;
  std::size_t start_ = 0;
};

}  // namespace cesync::cql
