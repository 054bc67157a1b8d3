#include "cql/wire/byte_writer.h"

namespace cesync::cql {

void ByteWriter::writeShort(std::uint16_t v) {
  out_.push_back(static_cast<std::uint8_t>(v >> 8));
  out_.push_back(static_cast<std::uint8_t>(v));
}

void ByteWriter::writeInt(std::int32_t v) {
  const auto u = static_cast<std::uint32_t>(v);
  for (int shift = 24; shift >= 0; shift -= 8) {
    out_.push_back(static_cast<std::uint8_t>(u >> shift));
  }
}

void ByteWriter::writeLong(std::int64_t v) {
  const auto u = static_cast<std::uint64_t>(v);
  for (int shift = 56; shift >= 0; shift -= 8) {
    out_.push_back(static_cast<std::uint8_t>(u >> shift));
  }
}

void ByteWriter::writeString(std::string_view s) {
  writeShort(static_cast<std::uint16_t>(s.size()));
  writeRaw(asBytes(s));
}

void ByteWriter::writeLongString(std::string_view s) {
  writeInt(static_cast<std::int32_t>(s.size()));
  writeRaw(asBytes(s));
}

void ByteWriter::writeUuid(const UuidBytes& u) {
  writeRaw(u);
}

void ByteWriter::writeStringList(const std::vector<std::string>& list) {
  writeShort(static_cast<std::uint16_t>(list.size()));
  for (const auto& s : list) {
    writeString(s);
  }
}

void ByteWriter::writeBytes(ByteView b) {
  writeInt(static_cast<std::int32_t>(b.size()));
  writeRaw(b);
}

void ByteWriter::writeShortBytes(ByteView b) {
  writeShort(static_cast<std::uint16_t>(b.size()));
  writeRaw(b);
}

void ByteWriter::writeStringMap(const std::map<std::string, std::string>& map) {
  writeShort(static_cast<std::uint16_t>(map.size()));
  for (const auto& [k, v] : map) {
    writeString(k);
    writeString(v);
  }
}

void ByteWriter::writeUnsignedVint(std::uint64_t v) {
  // Number of bytes needed for the value's significant bits.
  int bits = 0;
  for (std::uint64_t t = v; t != 0; t >>= 1) {
    ++bits;
  }
  // With n extra bytes the first byte keeps 7 - n value bits: total 8n + 7 - n = 7n + 7.
  int extra = 0;
  while (extra < 8 && bits > 7 * extra + 7) {
    ++extra;
  }
  if (extra == 8) {
    out_.push_back(0xFF);
    for (int shift = 56; shift >= 0; shift -= 8) {
      out_.push_back(static_cast<std::uint8_t>(v >> shift));
    }
    return;
  }
  const auto mask = static_cast<std::uint8_t>(0xFF00U >> extra);
  out_.push_back(static_cast<std::uint8_t>(mask | static_cast<std::uint8_t>(v >> (8 * extra))));
  for (int i = extra - 1; i >= 0; --i) {
    out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
}

void ByteWriter::writeVint(std::int64_t v) {
  const auto zigzag = (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
  writeUnsignedVint(zigzag);
}

std::size_t ByteWriter::reserveInt() {
  const std::size_t at = out_.size();
  out_.insert(out_.end(), 4, 0);
  return at;
}

void ByteWriter::patchInt(std::size_t at, std::int32_t v) {
  const auto u = static_cast<std::uint32_t>(v);
  for (int i = 0; i < 4; ++i) {
    out_[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(u >> (24 - 8 * i));
  }
}

}  // namespace cesync::cql
