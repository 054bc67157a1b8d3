#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "cql/protocol.h"

namespace cesync::cql {

/// TLS settings for client-to-node encryption.
struct TlsConfig {
  bool enabled = false;
  /// PEM file of the CA that signed the nodes' certificates.
  std::string ca_file;
  /// PEM client certificate and key, when the nodes require client authentication.
  std::string cert_file;
  std::string key_file;
  /// Check the node's certificate chain against the CA (off only for tests).
  bool verify_peer = true;
  /// Check that the node's certificate names the host (or IP) we connect to, or server_name.
  bool verify_hostname = true;
  /// The name to send (SNI) and check the certificate against; empty: the host connected to.
  std::string server_name;
};

/// The start of the message of a connection refused because the node's certificate is not
/// trusted (an ErrorCode::kAuth error), so that callers can name the settings to fix.
inline constexpr const char* kUntrustedCertificate = "the node's TLS certificate is not trusted";

/// Settings of one connection to one node.
struct ConnectionConfig {
  std::string host;
  std::uint16_t port = 9042;
  /// Highest protocol version to offer; a node that refuses it is asked again with v4.
  ProtocolVersion max_version = ProtocolVersion::kV5;
  /// LZ4 compression (envelope bodies in v4, frames in v5), when the node supports it.
  bool compression = false;
  /// SASL PLAIN credentials for PasswordAuthenticator; empty user means no authentication.
  std::string username;
  std::string password;
  TlsConfig tls;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{12000};
  /// An idle connection sends OPTIONS this often; one that does not answer is closed.
  std::chrono::milliseconds heartbeat_interval{30000};
  /// Stream ids this connection uses at most (the protocol allows 32768).
  std::uint16_t max_streams = 2048;
  /// Run "USE <keyspace>" after connecting (empty: none).
  std::string keyspace;
};

}  // namespace cesync::cql
