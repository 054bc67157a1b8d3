#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace cesync::util {

/// Appends the standard base64 encoding (RFC 4648 §4, with '=' padding) of `bytes` to `out`.
void appendBase64(std::string& out, std::string_view bytes);

/// The standard base64 encoding of `bytes`.
[[nodiscard]] std::string base64Encode(std::string_view bytes);

/// Decodes standard base64 with padding. Whitespace is not allowed; a wrong length, a character
/// outside the alphabet or non-zero padding bits give kInvalidArgument.
[[nodiscard]] Result<std::string> base64Decode(std::string_view text);

}  // namespace cesync::util
