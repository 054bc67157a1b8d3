#include "cql/frame/envelope.h"

#include <string>

#include "cql/frame/lz4_codec.h"

namespace cesync::cql {

void encodeEnvelope(std::uint8_t version, std::uint8_t flags, std::int16_t stream, Opcode op,
                    ByteView body, bool compress, Bytes& out) {
  Bytes compressed;
  if (compress && !body.empty()) {
    compressed = lz4CompressV4Body(body);
    body = compressed;
    flags = static_cast<std::uint8_t>(flags | kFlagCompression);
  }
  const auto s = static_cast<std::uint16_t>(stream);
  const auto len = static_cast<std::uint32_t>(body.size());
  const std::uint8_t header[kEnvelopeHeaderSize] = {version,
                                                    flags,
                                                    static_cast<std::uint8_t>(s >> 8),
                                                    static_cast<std::uint8_t>(s),
                                                    static_cast<std::uint8_t>(op),
                                                    static_cast<std::uint8_t>(len >> 24),
                                                    static_cast<std::uint8_t>(len >> 16),
                                                    static_cast<std::uint8_t>(len >> 8),
                                                    static_cast<std::uint8_t>(len)};
  out.insert(out.end(), header, header + kEnvelopeHeaderSize);
  out.insert(out.end(), body.begin(), body.end());
}

Result<EnvelopeHeader> decodeEnvelopeHeader(ByteView header, std::uint32_t max_body) {
  if (header.size() < kEnvelopeHeaderSize) {
    return fail(ErrorCode::kTruncated,
                "envelope header needs 9 bytes, got " + std::to_string(header.size()));
  }
  EnvelopeHeader h;
  h.version = header[0];
  h.flags = header[1];
  h.stream = static_cast<std::int16_t>(static_cast<std::uint16_t>((header[2] << 8) | header[3]));
  h.opcode = header[4];
  h.length = (std::uint32_t{header[5]} << 24) | (std::uint32_t{header[6]} << 16) |
             (std::uint32_t{header[7]} << 8) | header[8];
  const std::uint8_t v = h.protocolVersion();
  if (v < 3 || v > 6) {
    return fail(ErrorCode::kProtocol,
                "not a CQL envelope: version byte " + std::to_string(h.version));
  }
  if (h.opcode > static_cast<std::uint8_t>(Opcode::kAuthSuccess) || h.opcode == 0x04) {
    return fail(ErrorCode::kProtocol, "unknown opcode " + std::to_string(h.opcode));
  }
  if (h.length > max_body) {
    return fail(ErrorCode::kProtocol, "envelope body of " + std::to_string(h.length) +
                                          " bytes exceeds the limit of " +
                                          std::to_string(max_body));
  }
  return h;
}

Status EnvelopeDecoder::feed(ByteView bytes, std::vector<Envelope>& out) {
  if (start_ == buffer_.size()) {
    buffer_.clear();
    start_ = 0;
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
  while (buffer_.size() - start_ >= kEnvelopeHeaderSize) {
    const ByteView avail(buffer_.data() + start_, buffer_.size() - start_);
    CESYNC_ASSIGN_OR_RETURN(header, decodeEnvelopeHeader(avail, max_body_));
    if (avail.size() - kEnvelopeHeaderSize < header.length) {
      break;
    }
    const ByteView body = avail.subspan(kEnvelopeHeaderSize, header.length);
    Envelope env;
    env.header = header;
    if ((header.flags & kFlagCompression) != 0 && v4_lz4_ && header.protocolVersion() < 5) {
      CESYNC_ASSIGN_OR_RETURN(plain, lz4DecompressV4Body(body, max_body_));
      env.body = std::move(plain);
      env.header.flags = static_cast<std::uint8_t>(env.header.flags & ~kFlagCompression);
      env.header.length = static_cast<std::uint32_t>(env.body.size());
    } else {
      env.body.assign(body.begin(), body.end());
    }
    out.push_back(std::move(env));
    start_ += kEnvelopeHeaderSize + header.length;
  }
  // Compact once the consumed prefix dominates, so the buffer does not grow without bound.
  if (start_ > 0 && start_ >= buffer_.size() / 2) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(start_));
    start_ = 0;
  }
  return {};
}

}  // namespace cesync::cql
