#include "util/json_writer.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>

namespace cesync::util {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD in UTF-8
constexpr std::string_view kHex = "0123456789abcdef";

// Bytes that can be copied verbatim: printable ASCII other than '"' and '\'.
constexpr std::array<bool, 256> makePlainTable() {
  std::array<bool, 256> t{};
  for (std::size_t c = 0x20; c < 0x80; ++c) {
    t[c] = c != '"' && c != '\\';
  }
  return t;
}
constexpr std::array<bool, 256> kPlain = makePlainTable();

// Length of the valid UTF-8 sequence starting at s[i] (2..4), or 0 when it is not valid
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
std::size_t utf8SequenceLength(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  const std::size_t left = s.size() - i;
  auto cont = [&](std::size_t k) {
    return k < left && (static_cast<unsigned char>(s[i + k]) & 0xC0U) == 0x80U;
  };
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    return cont(1) ? 2 : 0;
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (!cont(1) || !cont(2)) {
      return 0;
    }
    const auto b1 = static_cast<unsigned char>(s[i + 1]);
    if ((b0 == 0xE0 && b1 < 0xA0) || (b0 == 0xED && b1 > 0x9F)) {
      return 0;
    }
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) {
      return 0;
    }
    const auto b1 = static_cast<unsigned char>(s[i + 1]);
    if ((b0 == 0xF0 && b1 < 0x90) || (b0 == 0xF4 && b1 > 0x8F)) {
      return 0;
    }
    return 4;
  }
  return 0;
}

}  // namespace

void appendJsonEscaped(std::string& out, std::string_view text) {
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    // Copy the longest run of plain bytes in one append; most text is plain.
    std::size_t run = i;
    while (run < n && kPlain[static_cast<unsigned char>(text[run])]) {
      ++run;
    }
    if (run > i) {
      out.append(text.data() + i, run - i);
      i = run;
      if (i == n) {
        break;
      }
    }
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const std::size_t len = utf8SequenceLength(text, i);
      if (len == 0) {
        out.append(kReplacement);
        ++i;
      } else {
        out.append(text.data() + i, len);
        i += len;
      }
      continue;
    }
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      default:
        out.append("\\u00");
        out.push_back(kHex[c >> 4U]);
        out.push_back(kHex[c & 0x0FU]);
        break;
    }
    ++i;
  }
}

void JsonWriter::key(std::string_view name) {
  separate();
  out_.push_back('"');
  appendJsonEscaped(out_, name);
  out_.append("\":");
  need_comma_ = false;
}

void JsonWriter::value(std::string_view text) {
  separate();
  out_.push_back('"');
  appendJsonEscaped(out_, text);
  out_.push_back('"');
}

void JsonWriter::value(bool b) {
  separate();
  out_.append(b ? "true" : "false");
}

void JsonWriter::value(std::int64_t n) {
  separate();
  std::array<char, 24> buf{};
  const auto res = std::to_chars(buf.data(), buf.data() + buf.size(), n);
  out_.append(buf.data(), res.ptr);
}

void JsonWriter::value(std::uint64_t n) {
  separate();
  std::array<char, 24> buf{};
  const auto res = std::to_chars(buf.data(), buf.data() + buf.size(), n);
  out_.append(buf.data(), res.ptr);
}

void JsonWriter::value(double d) {
  separate();
  if (!std::isfinite(d)) {
    out_.append("null");
    return;
  }
  std::array<char, 32> buf{};
  const auto res = std::to_chars(buf.data(), buf.data() + buf.size(), d);
  out_.append(buf.data(), res.ptr);
}

void JsonWriter::null() {
  separate();
  out_.append("null");
}

void JsonWriter::rawValue(std::string_view json) {
  separate();
  out_.append(json);
}

}  // namespace cesync::util
