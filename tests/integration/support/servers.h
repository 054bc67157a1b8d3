#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cesync::testing {

/// Where the local cluster listens. Read from the environment that scripts/cluster env prints
/// (CESYNC_CASSANDRA=host:port, CESYNC_OPENSEARCH=url, CESYNC_ELASTICSEARCH=url), with the
/// cluster script's defaults when unset.
struct CassandraEndpoint {
  std::string host;
  std::uint16_t port;
};

CassandraEndpoint cassandraEndpoint();

/// A search engine under test: a name for test output and its base URL.
struct SearchEndpoint {
  std::string flavour;
  std::string url;
};

/// OpenSearch always; Elasticsearch unless CESYNC_ELASTICSEARCH is set to an empty string.
std::vector<SearchEndpoint> searchEndpoints();

/// A name unique to this process, for keyspaces and indices that tests create.
std::string uniqueName(const std::string& prefix);

}  // namespace cesync::testing
