#include <gtest/gtest.h>

#include <string>

#include "es/curl_transport.h"
#include "es/gzip.h"
#include "es/index_admin.h"
#include "es/transport_options.h"
#include "util/base64.h"

namespace cesync::es {
namespace {

TEST(TransportOptionsTest, DefaultsAreValidAndVerifyTls) {
  TransportOptions options;
  EXPECT_TRUE(validateOptions(options));
  EXPECT_TRUE(options.tls.verify_peer);
  EXPECT_TRUE(options.tls.verify_host);
}

TEST(TransportOptionsTest, MistakesNameTheSetting) {
  auto check = [](auto mutate, std::string_view needle) {
    TransportOptions options;
    mutate(options);
    auto status = validateOptions(options);
    ASSERT_FALSE(status);
    EXPECT_EQ(status.error().code, ErrorCode::kConfig);
    EXPECT_NE(status.error().message.find(needle), std::string::npos) << status.error().message;
  };
  check([](TransportOptions& o) { o.base_url = "127.0.0.1:9200"; }, "http://");
  check([](TransportOptions& o) { o.base_url = "http://"; }, "no host");
  check([](TransportOptions& o) { o.base_url = "http://h:9200/"; }, "must not end");
  check([](TransportOptions& o) { o.max_connections = 0; }, "max_connections");
  check([](TransportOptions& o) { o.auth = AuthKind::kBasic; }, "username");
  check([](TransportOptions& o) { o.auth = AuthKind::kApiKey; }, "api_key");
  check([](TransportOptions& o) { o.gzip_level = 0; }, "gzip_level");
  check(
      [](TransportOptions& o) {
        o.base_url = "https://h:9200";
        o.tls.client_key = "key.pem";
      },
      "client_cert");
  check([](TransportOptions& o) { o.tls.ca_file = "ca.pem"; }, "not https");
}

TEST(TransportOptionsTest, ApiKeyHeader) {
  TransportOptions options;
  options.auth = AuthKind::kApiKey;
  options.api_key = "id1:secret";
  auto headers = staticHeaders(options);
  ASSERT_EQ(headers.size(), 2U);
  EXPECT_EQ(headers[0], "Expect:");
  EXPECT_EQ(headers[1], "Authorization: ApiKey " + util::base64Encode("id1:secret"));
  options.api_key = "QUJDOmRlZg==";  // already encoded: sent as is
  EXPECT_EQ(staticHeaders(options)[1], "Authorization: ApiKey QUJDOmRlZg==");
  options.auth = AuthKind::kBasic;
  options.username = "u";
  EXPECT_EQ(staticHeaders(options).size(), 1U) << "basic credentials go through curl";
}

TEST(GzipTest, RoundTripAndRatio) {
  std::string ndjson;
  for (int i = 0; i < 2000; ++i) {
    ndjson += R"({"index":{"_index":"docs","_id":")" + std::to_string(i) +
              R"(","version":1,"version_type":"external_gte"}})"
              "\n{\"name\":\"some text\"}\n";
  }
  std::string packed;
  ASSERT_TRUE(gzipCompress(ndjson, 1, packed));
  EXPECT_EQ(static_cast<unsigned char>(packed[0]), 0x1fU) << "gzip magic";
  EXPECT_EQ(static_cast<unsigned char>(packed[1]), 0x8bU);
  EXPECT_LT(packed.size() * 5, ndjson.size());
  auto unpacked = gzipDecompress(packed, ndjson.size());
  ASSERT_TRUE(unpacked) << unpacked.error().toString();
  EXPECT_EQ(*unpacked, ndjson);
  EXPECT_FALSE(gzipDecompress(packed.substr(0, packed.size() / 2), ndjson.size()));
  EXPECT_FALSE(gzipDecompress(packed, ndjson.size() - 1)) << "output cap";
}

TEST(PathTest, EncodesReservedCharacters) {
  EXPECT_EQ(encodePathSegment("logs-2024.01"), "logs-2024.01");
  EXPECT_EQ(encodePathSegment("a b/c?d#e%"), "a%20b%2Fc%3Fd%23e%25");
  EXPECT_EQ(encodePathSegment("k\xC3\xA9y"), "k%C3%A9y");
}

TEST(CurlTransportTest, InvalidOptionsAreRefused) {
  TransportOptions options;
  options.base_url = "ftp://x";
  auto transport = CurlTransport::create(options, nullptr);
  ASSERT_FALSE(transport);
  EXPECT_EQ(transport.error().code, ErrorCode::kConfig);
}

TEST(CurlTransportTest, RefusedConnectionIsAnIoErrorAndCounted) {
  TransportOptions options;
  options.base_url = "http://127.0.0.1:1";  // nothing listens on port 1
  options.connect_timeout = std::chrono::milliseconds(2000);
  EsStats stats;
  auto transport = CurlTransport::create(options, &stats);
  ASSERT_TRUE(transport);
  auto response = (*transport)->send({.method = HttpMethod::kGet, .path = "/"});
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::kIo);
  EXPECT_TRUE(isTransient(response.error().code));
  EXPECT_NE(response.error().message.find("127.0.0.1:1"), std::string::npos)
      << response.error().message;
  EXPECT_EQ(stats.http_errors.load(), 1U);
  EXPECT_EQ(stats.http_requests.load(), 0U);
}

}  // namespace
}  // namespace cesync::es
