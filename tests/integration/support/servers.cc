#include "support/servers.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>

namespace cesync::testing {
namespace {

std::string envOr(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr ? std::string(value) : std::string(fallback);
}

}  // namespace

CassandraEndpoint cassandraEndpoint() {
  const std::string hostport = envOr("CESYNC_CASSANDRA", "127.0.0.1:9042");
  const auto colon = hostport.rfind(':');
  if (colon == std::string::npos) {
    return {hostport, 9042};
  }
  return {hostport.substr(0, colon),
          static_cast<std::uint16_t>(std::stoi(hostport.substr(colon + 1)))};
}

std::vector<SearchEndpoint> searchEndpoints() {
  std::vector<SearchEndpoint> out{
      {"opensearch", envOr("CESYNC_OPENSEARCH", "http://127.0.0.1:9200")}};
  const std::string es = envOr("CESYNC_ELASTICSEARCH", "http://127.0.0.1:9201");
  if (!es.empty()) {
    out.push_back({"elasticsearch", es});
  }
  return out;
}

std::string uniqueName(const std::string& prefix) {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return prefix + "_" + std::to_string(getpid()) + "_" +
         std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now).count() %
                        100000000);
}

}  // namespace cesync::testing
