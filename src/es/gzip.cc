#include "es/gzip.h"

#include <zlib.h>

#include <array>
#include <limits>

namespace cesync::es {
namespace {

constexpr int kGzipWindowBits = 15 + 16;  // 32 KiB window, gzip header and trailer
constexpr int kMemLevel = 8;

}  // namespace

Status gzipCompress(std::string_view data, int level, std::string& out) {
  if (data.size() > std::numeric_limits<uInt>::max()) {
    return fail(ErrorCode::kInvalidArgument, "gzip input above 4 GiB");
  }
  z_stream zs{};
  if (deflateInit2(&zs, level, Z_DEFLATED, kGzipWindowBits, kMemLevel, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return fail(ErrorCode::kInternal, "gzip: deflateInit2 failed");
  }
  const uLong bound = deflateBound(&zs, static_cast<uLong>(data.size()));
  out.resize(bound);
  // zlib's API takes non-const input pointers but does not write through them.
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(bound);
  const int rc = deflate(&zs, Z_FINISH);
  const uLong produced = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) {
    return fail(ErrorCode::kInternal, "gzip: deflate did not finish (" + std::to_string(rc) + ")");
  }
  out.resize(produced);
  return {};
}

Result<std::string> gzipDecompress(std::string_view data, std::size_t max_bytes) {
  if (data.size() > std::numeric_limits<uInt>::max()) {
    return fail(ErrorCode::kInvalidArgument, "gzip input above 4 GiB");
  }
  z_stream zs{};
  if (inflateInit2(&zs, kGzipWindowBits) != Z_OK) {
    return fail(ErrorCode::kInternal, "gzip: inflateInit2 failed");
  }
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  std::string out;
  std::array<char, 16384> chunk{};
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(chunk.data());
    zs.avail_out = static_cast<uInt>(chunk.size());
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      return fail(ErrorCode::kProtocol, "gzip: corrupt data (" + std::to_string(rc) + ")");
    }
    out.append(chunk.data(), chunk.size() - zs.avail_out);
    if (out.size() > max_bytes) {
      inflateEnd(&zs);
      return fail(ErrorCode::kInvalidArgument, "gzip: output above the limit");
    }
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      return fail(ErrorCode::kTruncated, "gzip: data ends early");
    }
  }
  inflateEnd(&zs);
  return out;
}

}  // namespace cesync::es
