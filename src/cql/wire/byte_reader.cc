#include "cql/wire/byte_reader.h"

#include <string>

namespace cesync::cql {

Status ByteReader::need(std::size_t n, std::string_view what) const {
  if (remaining() < n) [[unlikely]] {
    return fail(ErrorCode::kTruncated, "truncated message: " + std::string(what) + " needs " +
                                           std::to_string(n) + " bytes at offset " +
                                           std::to_string(pos_) + ", " +
                                           std::to_string(remaining()) + " left");
  }
  return {};
}

Result<std::uint8_t> ByteReader::readByte() {
  CESYNC_TRY(need(1, "[byte]"));
  return bytes_[pos_++];
}

Result<std::uint16_t> ByteReader::readShort() {
  CESYNC_TRY(need(2, "[short]"));
  const auto v = static_cast<std::uint16_t>((bytes_[pos_] << 8) | bytes_[pos_ + 1]);
  pos_ += 2;
  return v;
}

Result<std::int32_t> ByteReader::readInt() {
  CESYNC_TRY(need(4, "[int]"));
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    v = (v << 8) | bytes_[pos_++];
  }
  return static_cast<std::int32_t>(v);
}

Result<std::int64_t> ByteReader::readLong() {
  CESYNC_TRY(need(8, "[long]"));
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v = (v << 8) | bytes_[pos_++];
  }
  return static_cast<std::int64_t>(v);
}

Result<std::string_view> ByteReader::readString() {
  CESYNC_ASSIGN_OR_RETURN(n, readShort());
  CESYNC_ASSIGN_OR_RETURN(raw, readRaw(n));
  return asChars(raw);
}

Result<std::string_view> ByteReader::readLongString() {
  CESYNC_ASSIGN_OR_RETURN(n, readInt());
  if (n < 0) {
    return fail(ErrorCode::kProtocol, "negative [long string] length " + std::to_string(n));
  }
  CESYNC_ASSIGN_OR_RETURN(raw, readRaw(static_cast<std::size_t>(n)));
  return asChars(raw);
}

Result<UuidBytes> ByteReader::readUuid() {
  CESYNC_ASSIGN_OR_RETURN(raw, readRaw(16));
  UuidBytes out{};
  std::copy(raw.begin(), raw.end(), out.begin());
  return out;
}

Result<std::vector<std::string>> ByteReader::readStringList() {
  CESYNC_ASSIGN_OR_RETURN(n, readShort());
  std::vector<std::string> out;
  out.reserve(std::min<std::size_t>(n, remaining() / 2));
  for (std::uint16_t i = 0; i < n; ++i) {
    CESYNC_ASSIGN_OR_RETURN(s, readString());
    out.emplace_back(s);
  }
  return out;
}

Result<std::optional<ByteView>> ByteReader::readBytes() {
  CESYNC_ASSIGN_OR_RETURN(n, readInt());
  if (n < 0) {
    return std::optional<ByteView>{};
  }
  CESYNC_ASSIGN_OR_RETURN(raw, readRaw(static_cast<std::size_t>(n)));
  return std::optional<ByteView>{raw};
}

Result<ByteView> ByteReader::readShortBytes() {
  CESYNC_ASSIGN_OR_RETURN(n, readShort());
  return readRaw(n);
}

Result<ByteView> ByteReader::readInetAddr() {
  CESYNC_ASSIGN_OR_RETURN(n, readByte());
  if (n != 4 && n != 16) {
    return fail(ErrorCode::kProtocol, "inet address of " + std::to_string(n) + " bytes");
  }
  return readRaw(n);
}

Result<std::pair<ByteView, std::int32_t>> ByteReader::readInet() {
  CESYNC_ASSIGN_OR_RETURN(addr, readInetAddr());
  CESYNC_ASSIGN_OR_RETURN(port, readInt());
  return std::make_pair(addr, port);
}

Result<std::map<std::string, std::string>> ByteReader::readStringMap() {
  CESYNC_ASSIGN_OR_RETURN(n, readShort());
  std::map<std::string, std::string> out;
  for (std::uint16_t i = 0; i < n; ++i) {
    CESYNC_ASSIGN_OR_RETURN(k, readString());
    CESYNC_ASSIGN_OR_RETURN(v, readString());
    out.emplace(k, v);
  }
  return out;
}

Result<std::map<std::string, std::vector<std::string>>> ByteReader::readStringMultimap() {
  CESYNC_ASSIGN_OR_RETURN(n, readShort());
  std::map<std::string, std::vector<std::string>> out;
  for (std::uint16_t i = 0; i < n; ++i) {
    CESYNC_ASSIGN_OR_RETURN(k, readString());
    CESYNC_ASSIGN_OR_RETURN(v, readStringList());
    out.emplace(k, std::move(v));
  }
  return out;
}

Result<std::map<std::string, Bytes>> ByteReader::readBytesMap() {
  CESYNC_ASSIGN_OR_RETURN(n, readShort());
  std::map<std::string, Bytes> out;
  for (std::uint16_t i = 0; i < n; ++i) {
    CESYNC_ASSIGN_OR_RETURN(k, readString());
    CESYNC_ASSIGN_OR_RETURN(v, readBytes());
    out.emplace(k, v ? Bytes(v->begin(), v->end()) : Bytes{});
  }
  return out;
}

Result<std::uint64_t> ByteReader::readUnsignedVint() {
  CESYNC_ASSIGN_OR_RETURN(first, readByte());
  // The count of leading one bits is the number of extra bytes.
  int extra = 0;
  while (extra < 8 && (first & (0x80U >> extra)) != 0) {
    ++extra;
  }
  CESYNC_TRY(need(static_cast<std::size_t>(extra), "[vint]"));
  std::uint64_t v = extra == 8 ? 0 : (first & (0xFFU >> (extra + 1)));
  for (int i = 0; i < extra; ++i) {
    v = (v << 8) | bytes_[pos_++];
  }
  return v;
}

Result<std::int64_t> ByteReader::readVint() {
  CESYNC_ASSIGN_OR_RETURN(u, readUnsignedVint());
  return static_cast<std::int64_t>(u >> 1) ^ -static_cast<std::int64_t>(u & 1U);
}

Result<ByteView> ByteReader::readRaw(std::size_t n) {
  CESYNC_TRY(need(n, "value"));
  const ByteView out = bytes_.subspan(pos_, n);
  pos_ += n;
  return out;
}

Status ByteReader::skip(std::size_t n) {
  CESYNC_TRY(need(n, "skip"));
  pos_ += n;
  return {};
}

}  // namespace cesync::cql
