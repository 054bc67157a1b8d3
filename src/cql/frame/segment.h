#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/result.h"
#include "cql/wire/bytes.h"

namespace cesync::cql {

/// Largest payload of one v5 frame ("segment"): 2^17 - 1 bytes.
inline constexpr std::size_t kMaxSegmentPayload = (std::size_t{1} << 17) - 1;

/// One decoded v5 frame: its (decompressed) payload and whether it holds only whole envelopes.
struct Segment {
  Bytes payload;
  bool self_contained = true;
};

/// Appends one v5 frame (spec v5 section 2) carrying `payload` (at most kMaxSegmentPayload bytes).
/// Uncompressed: 6-byte little-endian header (17-bit length, self-contained bit, CRC24), payload,
/// CRC32 trailer. With `compress`: 8-byte header (compressed and uncompressed lengths,
/// self-contained bit, CRC24), LZ4 payload, CRC32 of the compressed payload; a payload LZ4 cannot
/// shrink is sent as is with uncompressed length 0.
void encodeSegment(ByteView payload, bool self_contained, bool compress, Bytes& out);

/// Groups encoded envelopes into v5 frames: small envelopes share self-contained frames; an
/// envelope larger than one frame is split over consecutive non-self-contained frames of its own.
class SegmentEncoder {
 public:
  explicit SegmentEncoder(bool compress) : compress_(compress) {}

  /// Queues one whole encoded envelope; frames complete along the way go to `out`.
  void addEnvelope(ByteView envelope, Bytes& out);
  /// Emits the pending self-contained frame, if any.
  void flush(Bytes& out);

 private:
  bool compress_;
  Bytes pending_;
};

/// Incremental v5 frame decoder: feed raw bytes, get frame payloads out. Header CRC24 and payload
/// CRC32 mismatches, bad lengths and corrupt LZ4 data are errors (the connection must close).
class SegmentDecoder {
 public:
  explicit SegmentDecoder(bool compressed) : compressed_(compressed) {}

  [[nodiscard]] Status feed(ByteView bytes, std::vector<Segment>& out);
  [[nodiscard]] std::size_t buffered() const { return buffer_.size() - start_; }

 private:
  bool compressed_;
  Bytes buffer_;
  std::size_t start_ = 0;
};

}  // namespace cesync::cql
