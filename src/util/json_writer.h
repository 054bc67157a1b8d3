#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cesync::util {

/// Appends `text` to `out` as the body of a JSON string (without the surrounding quotes): `"`,
/// `\` and control characters are escaped, valid UTF-8 is copied as is, and every byte that is
/// not part of a valid UTF-8 sequence becomes U+FFFD, so the output is always valid JSON.
void appendJsonEscaped(std::string& out, std::string_view text);

/// Writes compact JSON straight into a caller's buffer, with no intermediate tree. Commas are
/// placed automatically; the caller is responsible for balancing begin/end calls and for calling
/// key() exactly once before each value inside an object.
///
///   std::string buf;
///   JsonWriter w(buf);
///   w.beginObject(); w.key("n"); w.value(42); w.endObject();   // buf == {"n":42}
///
/// Numbers use std::to_chars (shortest round-trip form for doubles); NaN and infinities, which
/// JSON cannot express, are written as null.
class JsonWriter {
 public:
  /// Appends to `out`; the writer keeps a reference, so `out` must outlive it.
  explicit JsonWriter(std::string& out) : out_(out) {}

  void beginObject() {
    separate();
    out_.push_back('{');
    need_comma_ = false;
  }
  void endObject() {
    out_.push_back('}');
    need_comma_ = true;
  }
  void beginArray() {
    separate();
    out_.push_back('[');
    need_comma_ = false;
  }
  void endArray() {
    out_.push_back(']');
    need_comma_ = true;
  }
  /// An object member's name; the next call writes its value.
  void key(std::string_view name);

  void value(std::string_view text);
  void value(const char* text) { value(std::string_view(text)); }
  void value(const std::string& text) { value(std::string_view(text)); }
  void value(bool b);
  void value(std::int64_t n);
  void value(std::uint64_t n);
  void value(std::int32_t n) { value(static_cast<std::int64_t>(n)); }
  void value(std::uint32_t n) { value(static_cast<std::uint64_t>(n)); }
  void value(double d);
  void null();
  /// Appends already-serialised JSON (an object, array or scalar) as the next value. The caller
  /// guarantees it is valid JSON.
  void rawValue(std::string_view json);

  /// The buffer written to.
  [[nodiscard]] std::string& buffer() { return out_; }

 private:
  void separate() {
    if (need_comma_) {
      out_.push_back(',');
    }
    need_comma_ = true;
  }

  std::string& out_;
  bool need_comma_ = false;
};

}  // namespace cesync::util
