#pragma once

#include <tl/expected.hpp>

#include "common/error.h"

namespace cesync {

/// The value of a fallible operation on the data path: a T, or an Error. Errors are values here;
/// exceptions are kept to startup and configuration.
template <typename T>
using Result = tl::expected<T, Error>;

/// A Result with no value: success, or an Error.
using Status = tl::expected<void, Error>;

/// Wraps an Error for returning from a function that returns Result<T> or Status.
inline tl::unexpected<Error> fail(ErrorCode code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message)});
}

inline tl::unexpected<Error> fail(Error error) {
  return tl::unexpected<Error>(std::move(error));
}

}  // namespace cesync

/// Evaluates `expr` (a Result or Status); on error returns the error from the enclosing function.
#define CESYNC_TRY(expr)                                              \
  do {                                                                \
    auto cesync_try_result_ = (expr);                                 \
    if (!cesync_try_result_) {                                        \
      return ::tl::unexpected(std::move(cesync_try_result_).error()); \
    }                                                                 \
  } while (false)

/// Declares `var` from the value of a Result, or returns its error from the enclosing function.
#define CESYNC_ASSIGN_OR_RETURN(var, expr)                     \
  auto var##_result_ = (expr);                                 \
  if (!var##_result_) {                                        \
    return ::tl::unexpected(std::move(var##_result_).error()); \
  }                                                            \
  auto var = std::move(var##_result_).value()
