// The transport's TLS and authentication options against an in-process HTTPS peer.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <csignal>
#include <filesystem>
#include <string>

#include "es/curl_transport.h"
#include "tls_peer.h"
#include "util/base64.h"

namespace cesync::es {
namespace {

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // The peer writes to sockets the client may already have closed (a refused handshake).
    std::signal(SIGPIPE, SIG_IGN);
    char tmpl[] = "/tmp/cesync-tls-XXXXXX";
    dir_ = mkdtemp(tmpl);
    server_ = testing::TestIdentity::make(dir_, "server", "localhost", "127.0.0.1");
    other_ = testing::TestIdentity::make(dir_, "other", "other.example", "10.9.8.7");
    client_ = testing::TestIdentity::make(dir_, "client", "cesync-client", "127.0.0.1");
  }

  static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }

  Result<HttpResponse> get(const testing::TlsPeer& peer, TransportOptions options,
                           const std::string& host = "127.0.0.1") {
    options.base_url = "https://" + host + ":" + std::to_string(peer.port());
    options.connect_timeout = std::chrono::milliseconds(5000);
    options.request_timeout = std::chrono::milliseconds(5000);
    auto transport = CurlTransport::create(options, &stats_);
    if (!transport) {
      return tl::unexpected(transport.error());
    }
    return (*transport)->send({.method = HttpMethod::kGet, .path = "/"});
  }

  static inline std::string dir_;
  static inline testing::TestIdentity server_;
  static inline testing::TestIdentity other_;
  static inline testing::TestIdentity client_;
  EsStats stats_;
};

TEST_F(TlsTest, TrustedCertificateIsAccepted) {
  testing::TlsPeer peer(server_, "");
  TransportOptions options;
  options.tls.ca_file = server_.cert_file;
  auto response = get(peer, options);
  ASSERT_TRUE(response) << response.error().toString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "none");
}

TEST_F(TlsTest, UntrustedCertificateIsRefusedByDefault) {
  testing::TlsPeer peer(server_, "");
  TransportOptions options;
  options.tls.ca_file = other_.cert_file;  // trusts someone else
  auto response = get(peer, options);
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::kAuth) << response.error().toString();
  EXPECT_FALSE(isTransient(response.error().code));
}

TEST_F(TlsTest, VerificationCanBeSwitchedOffExplicitly) {
  testing::TlsPeer peer(server_, "");
  TransportOptions options;
  options.tls.verify_peer = false;
  options.tls.verify_host = false;
  auto response = get(peer, options);
  ASSERT_TRUE(response) << response.error().toString();
  EXPECT_EQ(response->status, 200);
}

TEST_F(TlsTest, HostNameMustMatchUnlessHostCheckIsOff) {
  testing::TlsPeer peer(other_, "");  // certificate names other.example and 10.9.8.7
  TransportOptions options;
  options.tls.ca_file = other_.cert_file;
  auto refused = get(peer, options);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kAuth) << refused.error().toString();
  options.tls.verify_host = false;
  auto accepted = get(peer, options);
  ASSERT_TRUE(accepted) << accepted.error().toString();
  EXPECT_EQ(accepted->status, 200);
}

TEST_F(TlsTest, UntrustedCertificateSaysSo) {
  testing::TlsPeer peer(server_, "");
  TransportOptions options;
  options.tls.ca_file = other_.cert_file;
  auto response = get(peer, options);
  ASSERT_FALSE(response);
  EXPECT_NE(response.error().message.find(kUntrustedServerCertificate), std::string::npos)
      << response.error().message;
  EXPECT_NE(response.error().message.find("the CA in " + other_.cert_file), std::string::npos)
      << response.error().message;
}

TEST_F(TlsTest, ServerNameIsWhatTheCertificateIsCheckedAgainst) {
  testing::TlsPeer peer(other_, "");  // certificate names other.example and 10.9.8.7
  TransportOptions options;
  options.tls.ca_file = other_.cert_file;
  options.tls.server_name = "other.example";
  auto accepted = get(peer, options);
  ASSERT_TRUE(accepted) << accepted.error().toString();
  EXPECT_EQ(accepted->status, 200);

  testing::TlsPeer right(server_, "");  // names localhost: not the name asked for
  options.tls.ca_file = server_.cert_file;
  options.tls.server_name = "wrong.example";
  auto refused = get(right, options);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kAuth) << refused.error().toString();
  EXPECT_NE(refused.error().message.find(kUntrustedServerCertificate), std::string::npos)
      << refused.error().message;
  // Messages keep the configured URL.
  EXPECT_NE(refused.error().message.find("https://127.0.0.1:"), std::string::npos)
      << refused.error().message;
}

TEST_F(TlsTest, ClientCertificateForMutualTls) {
  testing::TlsPeer peer(server_, client_.cert_file);
  TransportOptions options;
  options.tls.ca_file = server_.cert_file;
  auto without = get(peer, options);
  EXPECT_FALSE(without) << "the peer requires a client certificate";
  options.tls.client_cert = client_.cert_file;
  options.tls.client_key = client_.key_file;
  auto with = get(peer, options);
  ASSERT_TRUE(with) << with.error().toString();
  EXPECT_EQ(with->status, 200);
}

TEST_F(TlsTest, BasicAuthAndApiKeyHeaders) {
  testing::TlsPeer peer(server_, "");
  TransportOptions options;
  options.tls.ca_file = server_.cert_file;
  options.auth = AuthKind::kBasic;
  options.username = "elastic";
  options.password = "s3cret:x";
  auto basic = get(peer, options);
  ASSERT_TRUE(basic) << basic.error().toString();
  EXPECT_EQ(basic->body, "Basic " + util::base64Encode("elastic:s3cret:x"));
  options.auth = AuthKind::kApiKey;
  options.api_key = "key-id:key-secret";
  auto api_key = get(peer, options);
  ASSERT_TRUE(api_key) << api_key.error().toString();
  EXPECT_EQ(api_key->body, "ApiKey " + util::base64Encode("key-id:key-secret"));
}

}  // namespace
}  // namespace cesync::es
