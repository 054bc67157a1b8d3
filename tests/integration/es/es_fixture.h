#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <ostream>
#include <string>

#include "common/clock.h"
#include "es/curl_transport.h"
#include "es/index_admin.h"
#include "es/server_info.h"
#include "support/servers.h"

namespace cesync::testing {

/// Test names and failure messages show the flavour, not the endpoint's bytes.
inline void PrintTo(const SearchEndpoint& endpoint, std::ostream* os) {
  *os << endpoint.flavour << " at " << endpoint.url;
}

}  // namespace cesync::testing

namespace cesync::es::testing {

/// A transport to `url`, failing the test when it cannot be built.
inline std::unique_ptr<CurlTransport> connect(const std::string& url, EsStats* stats,
                                              std::size_t max_connections = 4, bool gzip = false) {
  TransportOptions options;
  options.base_url = url;
  options.max_connections = max_connections;
  options.gzip_requests = gzip;
  auto transport = CurlTransport::create(options, stats);
  EXPECT_TRUE(transport) << transport.error().toString();
  return transport ? std::move(*transport) : nullptr;
}

/// Per-flavour fixture: a transport, the detected server, an admin, and a fresh index name
/// that is deleted afterwards.
class EsTest : public ::testing::TestWithParam<cesync::testing::SearchEndpoint> {
 protected:
  void SetUp() override {
    transport_ = connect(GetParam().url, &stats_);
    ASSERT_NE(transport_, nullptr);
    auto info = detectServer(*transport_);
    ASSERT_TRUE(info) << GetParam().flavour << " at " << GetParam().url
                      << " (scripts/cluster up): " << info.error().toString();
    server_ = *info;
    admin_ = std::make_unique<IndexAdmin>(*transport_);
    index_ = cesync::testing::uniqueName("es_" + GetParam().flavour);
  }

  void TearDown() override {
    if (admin_) {
      EXPECT_TRUE(admin_->remove(index_));
    }
  }

  EsStats stats_;
  std::unique_ptr<CurlTransport> transport_;
  ServerInfo server_;
  std::unique_ptr<IndexAdmin> admin_;
  std::string index_;
  SystemClock clock_;
};

/// One shard, no replicas (single-node cluster), and the fields the tests use.
inline constexpr std::string_view kDocsIndex = R"({
  "settings": {"number_of_shards": 1, "number_of_replicas": 0},
  "mappings": {"properties": {
    "id": {"type": "keyword"},
    "timestamp": {"type": "long"},
    "value": {"type": "keyword"},
    "n": {"type": "long"},
    "text": {"type": "text"}
  }}
})";

inline std::string flavourName(const ::testing::TestParamInfo<cesync::testing::SearchEndpoint>& p) {
  return p.param.flavour;
}

}  // namespace cesync::es::testing
