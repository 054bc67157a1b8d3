#pragma once

#include <string_view>

namespace cesync::sync {

/// Whether two JSON texts hold the same value: objects compare as sets of members, arrays in
/// order, numbers by value (an integer equals the same value written as a float), strings by
/// their unescaped text. Text that is not JSON equals nothing. Documents are compared so, with
/// their rows' and with each other (a document's `_source` as the engine returns it).
[[nodiscard]] bool sameJson(std::string_view a, std::string_view b);

}  // namespace cesync::sync
