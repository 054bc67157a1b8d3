// Authentication (PasswordAuthenticator, SASL PLAIN) and TLS against the secure local node.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "cql/session.h"

namespace cesync::cql {
namespace {

using ::testing::HasSubstr;

std::string envOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : fallback;
}

SessionConfig secureConfig() {
  const std::string hostport = envOr("CESYNC_CASSANDRA_SECURE", "127.0.0.2:9042");
  SessionConfig c;
  c.contact_points = {hostport};
  c.consistency = Consistency::kOne;
  c.connect_timeout = std::chrono::milliseconds{10000};
  return c;
}

std::string tlsDir() {
  return envOr("CESYNC_TLS_DIR", ".cluster/tls");
}

TEST(CqlSecureTest, PasswordAuthenticatorAcceptsTheRightCredentialsOnly) {
  SessionConfig good = secureConfig();
  good.username = "cassandra";
  good.password = "cassandra";
  auto s = Session::connect(good);
  ASSERT_TRUE(s.has_value()) << s.error().toString();
  auto r = (*s)->execute("SELECT release_version FROM system.local");
  ASSERT_TRUE(r.has_value()) << r.error().toString();
  EXPECT_EQ(r->rows[0].get<std::string>(0)->rfind("5.0", 0), 0U);

  SessionConfig wrong = secureConfig();
  wrong.username = "cassandra";
  wrong.password = "not-the-password";
  auto denied = Session::connect(wrong);
  ASSERT_FALSE(denied.has_value());
  EXPECT_EQ(denied.error().code, ErrorCode::kAuth) << denied.error().toString();

  auto anonymous = Session::connect(secureConfig());
  ASSERT_FALSE(anonymous.has_value());
  EXPECT_EQ(anonymous.error().code, ErrorCode::kAuth) << anonymous.error().toString();
}

TEST(CqlSecureTest, TlsWithCaClientCertificateAndHostnameCheck) {
  for (const auto version : {ProtocolVersion::kV4, ProtocolVersion::kV5}) {
    SessionConfig c = secureConfig();
    c.username = "cassandra";
    c.password = "cassandra";
    c.max_protocol_version = version;
    c.compression = version == ProtocolVersion::kV5;
    c.tls.enabled = true;
    c.tls.ca_file = tlsDir() + "/ca.pem";
    c.tls.cert_file = tlsDir() + "/client.pem";
    c.tls.key_file = tlsDir() + "/client-key.pem";
    auto s = Session::connect(c);
    ASSERT_TRUE(s.has_value()) << s.error().toString();
    EXPECT_EQ((*s)->protocolVersion(), version);
    auto r = (*s)->execute("SELECT cluster_name FROM system.local");
    ASSERT_TRUE(r.has_value()) << r.error().toString();
    EXPECT_EQ(r->rows.size(), 1U);
  }
}

TEST(CqlSecureTest, TlsRefusesANodeTheCaDidNotSign) {
  SessionConfig c = secureConfig();
  c.username = "cassandra";
  c.password = "cassandra";
  c.tls.enabled = true;
  // The client certificate is not a CA: nothing the node presents chains to it.
  c.tls.ca_file = tlsDir() + "/client.pem";
  auto s = Session::connect(c);
  ASSERT_FALSE(s.has_value());
  // Not transient: trying again cannot make the certificate trusted.
  EXPECT_EQ(s.error().code, ErrorCode::kAuth) << s.error().toString();
  EXPECT_THAT(s.error().message, HasSubstr(kUntrustedCertificate));
}

TEST(CqlSecureTest, TlsChecksTheServerName) {
  SessionConfig c = secureConfig();
  c.username = "cassandra";
  c.password = "cassandra";
  c.tls.enabled = true;
  c.tls.ca_file = tlsDir() + "/ca.pem";
  c.tls.server_name = "wrong.example";
  auto refused = Session::connect(c);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kAuth) << refused.error().toString();
  EXPECT_THAT(refused.error().message,
              HasSubstr("hostname mismatch; checked against the name wrong.example"));
  // The node's certificate names localhost.
  c.tls.server_name = "localhost";
  auto s = Session::connect(c);
  ASSERT_TRUE(s.has_value()) << s.error().toString();
}

TEST(CqlSecureTest, TlsWithoutVerificationNeedsNoCa) {
  SessionConfig c = secureConfig();
  c.username = "cassandra";
  c.password = "cassandra";
  c.tls.enabled = true;
  c.tls.verify_peer = false;
  c.tls.verify_hostname = false;
  auto s = Session::connect(c);
  ASSERT_TRUE(s.has_value()) << s.error().toString();
}

}  // namespace
}  // namespace cesync::cql
