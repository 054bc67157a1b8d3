#pragma once

#include <cstddef>

#include "common/result.h"
#include "cql/wire/bytes.h"

namespace cesync::cql {

/// Appends the LZ4 block compression of `input` to `out`; returns the compressed size.
std::size_t lz4CompressBlock(ByteView input, Bytes& out);

/// Decompresses an LZ4 block that must expand to exactly `uncompressed_size` bytes, appending them
/// to `out`. Corrupt input is a kProtocol error, never a crash.
[[nodiscard]] Status lz4DecompressBlock(ByteView input, std::size_t uncompressed_size, Bytes& out);

/// v4 envelope body compression (spec v4 section 5): a big-endian [int] uncompressed length, then
/// the LZ4 block.
[[nodiscard]] Bytes lz4CompressV4Body(ByteView body);
[[nodiscard]] Result<Bytes> lz4DecompressV4Body(ByteView body, std::size_t max_size);

}  // namespace cesync::cql
