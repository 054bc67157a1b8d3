#include "util/base64.h"

#include <array>
#include <cstdint>

namespace cesync::util {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::uint8_t kInvalid = 0xFF;

constexpr std::array<std::uint8_t, 256> makeDecodeTable() {
  std::array<std::uint8_t, 256> t{};
  for (auto& v : t) {
    v = kInvalid;
  }
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::uint8_t>(i);
  }
  return t;
}
constexpr std::array<std::uint8_t, 256> kDecode = makeDecodeTable();

std::uint32_t byteAt(std::string_view s, std::size_t i) {
  return static_cast<unsigned char>(s[i]);
}

}  // namespace

void appendBase64(std::string& out, std::string_view bytes) {
  out.reserve(out.size() + (bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v =
        (byteAt(bytes, i) << 16U) | (byteAt(bytes, i + 1) << 8U) | byteAt(bytes, i + 2);
    out.push_back(kAlphabet[(v >> 18U) & 0x3FU]);
    out.push_back(kAlphabet[(v >> 12U) & 0x3FU]);
    out.push_back(kAlphabet[(v >> 6U) & 0x3FU]);
    out.push_back(kAlphabet[v & 0x3FU]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const std::uint32_t v = byteAt(bytes, i) << 16U;
    out.push_back(kAlphabet[(v >> 18U) & 0x3FU]);
    out.push_back(kAlphabet[(v >> 12U) & 0x3FU]);
    out.append("==");
  } else if (rest == 2) {
    const std::uint32_t v = (byteAt(bytes, i) << 16U) | (byteAt(bytes, i + 1) << 8U);
    out.push_back(kAlphabet[(v >> 18U) & 0x3FU]);
    out.push_back(kAlphabet[(v >> 12U) & 0x3FU]);
    out.push_back(kAlphabet[(v >> 6U) & 0x3FU]);
    out.push_back('=');
  }
}

std::string base64Encode(std::string_view bytes) {
  std::string out;
  appendBase64(out, bytes);
  return out;
}

Result<std::string> base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return fail(ErrorCode::kInvalidArgument,
                "base64 text length " + std::to_string(text.size()) + " is not a multiple of 4");
  }
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    std::size_t pad = 0;
    if (last) {
      pad = text[i + 3] == '=' ? (text[i + 2] == '=' ? 2 : 1) : 0;
    }
    std::uint32_t v = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      std::uint8_t d = 0;
      if (k < 4 - pad) {
        d = kDecode[static_cast<unsigned char>(text[i + k])];
        if (d == kInvalid) {
          return fail(ErrorCode::kInvalidArgument,
                      "invalid base64 character at offset " + std::to_string(i + k));
        }
      }
      v = (v << 6U) | d;
    }
    if ((pad == 1 && (v & 0xFFU) != 0) || (pad == 2 && (v & 0xFFFFU) != 0)) {
      return fail(ErrorCode::kInvalidArgument, "base64 padding bits are not zero");
    }
    out.push_back(static_cast<char>((v >> 16U) & 0xFFU));
    if (pad < 2) {
      out.push_back(static_cast<char>((v >> 8U) & 0xFFU));
    }
    if (pad < 1) {
      out.push_back(static_cast<char>(v & 0xFFU));
    }
  }
  return out;
}

}  // namespace cesync::util
