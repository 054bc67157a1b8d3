#pragma once

namespace cesync::sync {

/// Fields cesync adds to every document besides the table's columns (docs/TYPES.md).
/// The partition token, so that verify can walk both sides in token order.
inline constexpr const char* kTokenField = "cesync_token";
/// The document id again, as a keyword: Elasticsearch 8 cannot sort on `_id`.
inline constexpr const char* kIdField = "cesync_id";

}  // namespace cesync::sync
