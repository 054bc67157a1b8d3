#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "es/http_transport.h"

namespace cesync::es {

/// Which search engine answers.
enum class Flavour : std::uint8_t { kElasticsearch, kOpenSearch };

/// "elasticsearch" or "opensearch".
[[nodiscard]] std::string_view flavourName(Flavour flavour);

/// How point-in-time searches are spelled.
enum class PitDialect : std::uint8_t {
  kNone,           // no point-in-time API (Elasticsearch < 7.10, OpenSearch < 2.4): use scroll
  kElasticsearch,  // POST /{index}/_pit -> "id"; DELETE /_pit {"id"}
  kOpenSearch,     // POST /{index}/_search/point_in_time -> "pit_id"; DELETE .. {"pit_id":[..]}
};

/// The engine's flavour and version.
struct ServerInfo {
  Flavour flavour = Flavour::kOpenSearch;
  int major = 0;
  int minor = 0;
  int patch = 0;
  std::string version;

  [[nodiscard]] PitDialect pitDialect() const;
  /// The field that completes an order of a point-in-time search: Elasticsearch cannot sort on
  /// `_id` but has `_shard_doc`; OpenSearch has no `_shard_doc` but sorts on `_id`.
  [[nodiscard]] const char* tiebreaker() const;
};

/// Works out flavour and version from what the node says about itself:
/// - `nodes_body`: the answer to GET /_nodes/_local?filter_path=nodes.*.version,
///   nodes.*.build_flavor (every node version has it);
/// - `elastic_product`: the X-elastic-product header of that answer (Elasticsearch >= 7.14);
/// - `root_body`: the answer to GET / when it was needed (may be empty): OpenSearch names its
///   distribution there.
/// Without the header or a distribution, a major version of 5..7 means Elasticsearch and 1..3
/// OpenSearch. Pure.
[[nodiscard]] Result<ServerInfo> parseServerInfo(std::string_view nodes_body,
                                                 std::string_view elastic_product,
                                                 std::string_view root_body);

/// Asks the node (one or two requests) and parses the answers. Elasticsearch builds without the
/// root endpoint answer GET / with 405, which is why the node info comes first.
[[nodiscard]] Result<ServerInfo> detectServer(HttpTransport& transport);

}  // namespace cesync::es
