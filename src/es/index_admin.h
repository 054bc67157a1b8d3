#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "es/http_transport.h"

namespace cesync::es {

/// Index management on one cluster: create, exists, mappings, refresh, count, delete.
/// Errors: kNotFound for a missing index, kRejected for an invalid request (with the engine's
/// reason), kUnavailable for 429/5xx, transport errors as they come.
class IndexAdmin {
 public:
  /// `transport` must outlive the admin.
  explicit IndexAdmin(HttpTransport& transport) : transport_(transport) {}

  /// Creates `index`; `body` is the create-index JSON ({"settings":..., "mappings":...}) or
  /// empty for the defaults. An index that already exists is kRejected
  /// (resource_already_exists_exception).
  [[nodiscard]] Status create(std::string_view index, std::string_view body);
  /// True when the index (or alias) exists.
  [[nodiscard]] Result<bool> exists(std::string_view index);
  /// The GET /{index}/_mapping answer, as JSON.
  [[nodiscard]] Result<std::string> getMapping(std::string_view index);
  /// Makes everything written so far visible to search.
  [[nodiscard]] Status refresh(std::string_view index);
  /// Documents in `index` matching `query_json` (the JSON of "query"; empty: all).
  [[nodiscard]] Result<std::uint64_t> count(std::string_view index,
                                            std::string_view query_json = {});
  /// Deletes `index`; an index that is already gone is not an error.
  [[nodiscard]] Status remove(std::string_view index);
  /// Applies dynamic index settings (e.g. {"index":{"refresh_interval":"-1"}}).
  [[nodiscard]] Status putSettings(std::string_view index, std::string_view settings_json);

 private:
  HttpTransport& transport_;
};

/// Percent-encodes one URL path segment (an index name, a document id).
[[nodiscard]] std::string encodePathSegment(std::string_view segment);

}  // namespace cesync::es
