#include "cql/frame/segment.h"

#include <string>

#include "cql/frame/lz4_codec.h"
#include "util/crc.h"

namespace cesync::cql {
namespace {

constexpr std::size_t kHeaderSize = 6;
constexpr std::size_t kCompressedHeaderSize = 8;
constexpr std::size_t kTrailerSize = 4;

void putLittleEndian(Bytes& out, std::uint64_t v, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
}

std::uint64_t getLittleEndian(const std::uint8_t* p, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = n; i > 0; --i) {
    v = (v << 8) | p[i - 1];
  }
  return v;
}

void putHeader(Bytes& out, std::uint64_t bits, std::size_t n) {
  const std::size_t at = out.size();
  putLittleEndian(out, bits, n);
  const std::uint32_t crc = util::crc24(ByteView(out.data() + at, n));
  putLittleEndian(out, crc, 3);
}

void putTrailer(Bytes& out, ByteView payload) {
  putLittleEndian(out, util::cqlFrameCrc32(payload), kTrailerSize);
}

}  // namespace

void encodeSegment(ByteView payload, bool self_contained, bool compress, Bytes& out) {
  const std::uint64_t sc = self_contained ? 1 : 0;
  if (!compress) {
    putHeader(out, payload.size() | (sc << 17), 3);
    out.insert(out.end(), payload.begin(), payload.end());
    putTrailer(out, payload);
    return;
  }
  Bytes compressed;
  compressed.reserve(payload.size());
  const std::size_t n = lz4CompressBlock(payload, compressed);
  if (n == 0 || n >= payload.size()) {
    // Not worth it (or not possible): ship raw, uncompressed length 0 says so.
    putHeader(out, payload.size() | (sc << 34), 5);
    out.insert(out.end(), payload.begin(), payload.end());
    putTrailer(out, payload);
    return;
  }
  putHeader(out, n | (std::uint64_t{payload.size()} << 17) | (sc << 34), 5);
  out.insert(out.end(), compressed.begin(), compressed.end());
  putTrailer(out, compressed);
}

void SegmentEncoder::addEnvelope(ByteView envelope, Bytes& out) {
  if (envelope.size() > kMaxSegmentPayload) {
    flush(out);
    while (!envelope.empty()) {
      const std::size_t n = std::min(envelope.size(), kMaxSegmentPayload);
      encodeSegment(envelope.first(n), false, compress_, out);
      envelope = envelope.subspan(n);
    }
    return;
  }
  if (pending_.size() + envelope.size() > kMaxSegmentPayload) {
    flush(out);
  }
  pending_.insert(pending_.end(), envelope.begin(), envelope.end());
}

void SegmentEncoder::flush(Bytes& out) {
  if (pending_.empty()) {
    return;
  }
  encodeSegment(pending_, true, compress_, out);
  pending_.clear();
}

Status SegmentDecoder::feed(ByteView bytes, std::vector<Segment>& out) {
  if (start_ == buffer_.size()) {
    buffer_.clear();
    start_ = 0;
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
  const std::size_t header_size = compressed_ ? kCompressedHeaderSize : kHeaderSize;
  const std::size_t bits_size = header_size - 3;
  while (buffer_.size() - start_ >= header_size) {
    const std::uint8_t* p = buffer_.data() + start_;
    const std::uint64_t bits = getLittleEndian(p, bits_size);
    const auto crc = static_cast<std::uint32_t>(getLittleEndian(p + bits_size, 3));
    if (util::crc24(ByteView(p, bits_size)) != crc) {
      return fail(ErrorCode::kProtocol, "v5 frame header CRC24 mismatch");
    }
    const std::size_t length = bits & 0x1FFFFU;
    std::size_t uncompressed = 0;
    bool self_contained = false;
    if (compressed_) {
      uncompressed = (bits >> 17) & 0x1FFFFU;
      self_contained = ((bits >> 34) & 1U) != 0;
    } else {
      self_contained = ((bits >> 17) & 1U) != 0;
    }
    const std::size_t total = header_size + length + kTrailerSize;
    if (buffer_.size() - start_ < total) {
      break;
    }
    const ByteView payload(p + header_size, length);
    const auto trailer = static_cast<std::uint32_t>(getLittleEndian(p + header_size + length, 4));
    if (util::cqlFrameCrc32(payload) != trailer) {
      return fail(ErrorCode::kProtocol, "v5 frame payload CRC32 mismatch");
    }
    Segment seg;
    seg.self_contained = self_contained;
    if (compressed_ && uncompressed != 0) {
      CESYNC_TRY(lz4DecompressBlock(payload, uncompressed, seg.payload));
    } else {
      seg.payload.assign(payload.begin(), payload.end());
    }
    out.push_back(std::move(seg));
    start_ += total;
  }
  if (start_ > 0 && start_ >= buffer_.size() / 2) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(start_));
    start_ = 0;
  }
  return {};
}

}  // namespace cesync::cql
