#include "cql/frame/lz4_codec.h"

#include <lz4.h>

#include <string>

#include "cql/wire/byte_reader.h"
#include "cql/wire/byte_writer.h"

namespace cesync::cql {

std::size_t lz4CompressBlock(ByteView input, Bytes& out) {
  const std::size_t at = out.size();
  const int bound = LZ4_compressBound(static_cast<int>(input.size()));
  out.resize(at + static_cast<std::size_t>(bound));
  const int n = LZ4_compress_default(reinterpret_cast<const char*>(input.data()),
                                     reinterpret_cast<char*>(out.data() + at),
                                     static_cast<int>(input.size()), bound);
  out.resize(at + static_cast<std::size_t>(n > 0 ? n : 0));
  return static_cast<std::size_t>(n > 0 ? n : 0);
}

Status lz4DecompressBlock(ByteView input, std::size_t uncompressed_size, Bytes& out) {
  const std::size_t at = out.size();
  out.resize(at + uncompressed_size);
  const int n = LZ4_decompress_safe(
      reinterpret_cast<const char*>(input.data()), reinterpret_cast<char*>(out.data() + at),
      static_cast<int>(input.size()), static_cast<int>(uncompressed_size));
  if (n < 0 || static_cast<std::size_t>(n) != uncompressed_size) {
    out.resize(at);
    return fail(ErrorCode::kProtocol, "corrupt lz4 block (" + std::to_string(input.size()) +
                                          " bytes, expected to expand to " +
                                          std::to_string(uncompressed_size) + ")");
  }
  return {};
}

Bytes lz4CompressV4Body(ByteView body) {
  Bytes out;
  ByteWriter w(out);
  w.writeInt(static_cast<std::int32_t>(body.size()));
  lz4CompressBlock(body, out);
  return out;
}

Result<Bytes> lz4DecompressV4Body(ByteView body, std::size_t max_size) {
  ByteReader r(body);
  CESYNC_ASSIGN_OR_RETURN(size, r.readInt());
  if (size < 0 || static_cast<std::size_t>(size) > max_size) {
    return fail(ErrorCode::kProtocol,
                "compressed body claims " + std::to_string(size) + " uncompressed bytes");
  }
  Bytes out;
  if (size == 0) {
    return out;
  }
  CESYNC_TRY(lz4DecompressBlock(r.rest(), static_cast<std::size_t>(size), out));
  return out;
}

}  // namespace cesync::cql
