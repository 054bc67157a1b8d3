#pragma once

#include <simdjson.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace cesync::es {

/// A JSON text ready for simdjson On-Demand: a view of the caller's bytes when the memory behind
/// them has SIMDJSON_PADDING spare bytes (`capacity` says how many bytes are addressable), else a
/// padded copy.
class PaddedJson {
 public:
  PaddedJson(std::string_view text, std::size_t capacity);
  [[nodiscard]] simdjson::padded_string_view view() const { return view_; }

 private:
  std::optional<simdjson::padded_string> copy_;
  simdjson::padded_string_view view_;
};

/// The `error.type` and `error.reason` of an engine's error response, as "type: reason", or the
/// start of the body when it is not one.
[[nodiscard]] std::string errorSummary(std::string_view body);

/// Maps an HTTP status outside 2xx to an Error naming `what` failed, with the engine's reason.
[[nodiscard]] Error httpError(int status, std::string_view body, std::string_view what);

}  // namespace cesync::es
