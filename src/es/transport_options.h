#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "common/result.h"

namespace cesync::es {

/// How requests authenticate.
enum class AuthKind : std::uint8_t {
  kNone,
  kBasic,   // username + password
  kApiKey,  // "Authorization: ApiKey <base64(id:key)>"
};

/// TLS settings; verification is on unless switched off explicitly.
struct TlsOptions {
  std::string ca_file;      // PEM bundle of trusted CAs; empty: the system store
  std::string ca_path;      // directory of hashed CA certificates
  std::string client_cert;  // PEM client certificate, for mutual TLS
  std::string client_key;   // its PEM private key (requires client_cert)
  std::string client_key_password;
  bool verify_peer = true;  // check the server certificate chain
  bool verify_host = true;  // check the certificate names the host
  std::string server_name;  // name to send (SNI) and check; empty: the URL's host
};

/// The start of the message of a request refused because the server's certificate is not
/// trusted (an ErrorCode::kAuth error), so that callers can name the settings to fix.
inline constexpr const char* kUntrustedServerCertificate =
    "the server's TLS certificate is not trusted";

/// Everything the HTTP transport needs to reach one cluster.
struct TransportOptions {
  /// "http://host:9200" or "https://host:9200"; no trailing path.
  std::string base_url = "http://127.0.0.1:9200";
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds request_timeout{60'000};
  /// Concurrent requests (and so connections) to the cluster; connections are kept alive and
  /// reused across requests.
  std::size_t max_connections = 4;
  /// gzip request bodies of at least gzip_min_bytes (Content-Encoding: gzip).
  bool gzip_requests = false;
  std::size_t gzip_min_bytes = 1024;
  int gzip_level = 1;
  /// Ask for gzip-compressed responses.
  bool accept_gzip = false;
  /// Responses above this are an error, so a runaway answer cannot exhaust memory.
  std::size_t max_response_bytes = std::size_t{256} << 20U;

  AuthKind auth = AuthKind::kNone;
  std::string username;
  std::string password;
  /// The encoded API key (base64 of "id:key", as Elasticsearch returns it in `encoded`), or
  /// "id:key" which is encoded here.
  std::string api_key;

  TlsOptions tls;
  /// An HTTP proxy URL; empty: connect directly (proxy variables in the environment are ignored).
  std::string proxy;
  std::string user_agent = "cesync";
};

/// Checks options for mistakes an operator can fix; the message names the setting.
[[nodiscard]] Status validateOptions(const TransportOptions& options);

/// The request headers the options imply besides Content-Type/Content-Encoding: authorization
/// for API keys and the removal of curl's "Expect: 100-continue" (one round trip per request).
[[nodiscard]] std::vector<std::string> staticHeaders(const TransportOptions& options);

}  // namespace cesync::es
