#include "sync/endpoints.h"

#include <charconv>

namespace cesync::sync {

Result<cql::Consistency> parseConsistency(std::string_view name) {
  using C = cql::Consistency;
  for (const C c : {C::kAny, C::kOne, C::kTwo, C::kThree, C::kQuorum, C::kAll, C::kLocalQuorum,
                    C::kEachQuorum, C::kLocalOne}) {
    if (cql::consistencyName(c) == name) {
      return c;
    }
  }
  return fail(ErrorCode::kConfig, "unknown consistency '" + std::string(name) + "'");
}

Result<cql::SessionConfig> cassandraSessionConfig(const config::Config& config) {
  const auto& c = config.cassandra;
  cql::SessionConfig s;
  s.contact_points.clear();
  for (const auto& point : c.contact_points) {
    // host, host:port, [v6]:port; the session takes one port for all contact points.
    const auto colon = point.rfind(':');
    if (colon != std::string::npos && point.find(':') == colon) {
      std::uint16_t port = 0;
      const auto* begin = point.data() + colon + 1;
      const auto* end = point.data() + point.size();
      auto [ptr, ec] = std::from_chars(begin, end, port);
      if (ec != std::errc() || ptr != end) {
        return fail(ErrorCode::kConfig, "cassandra.contact_points: bad port in '" + point + "'");
      }
      s.port = port;
      s.contact_points.push_back(point.substr(0, colon));
    } else {
      s.contact_points.push_back(point);
    }
  }
  s.username = c.username;
  s.password = c.password;
  s.tls.enabled = c.tls.enabled;
  s.tls.ca_file = c.tls.ca_file;
  s.tls.cert_file = c.tls.cert_file;
  s.tls.key_file = c.tls.key_file;
  s.tls.verify_peer = c.tls.verify;
  s.tls.verify_hostname = c.tls.verify;
  s.tls.server_name = c.tls.server_name;
  CESYNC_ASSIGN_OR_RETURN(consistency, parseConsistency(c.consistency));
  s.consistency = consistency;
  s.request_timeout = c.request_timeout;
  return s;
}

es::ClientOptions searchClientOptions(const config::Config& config) {
  const auto& c = config.search;
  es::ClientOptions o;
  o.transport.base_url = c.urls.empty() ? std::string() : c.urls.front();
  while (!o.transport.base_url.empty() && o.transport.base_url.back() == '/') {
    o.transport.base_url.pop_back();
  }
  o.transport.request_timeout = c.request_timeout;
  o.transport.max_connections = c.bulk_max_in_flight + 1;
  o.transport.gzip_requests = c.gzip;
  if (!c.api_key.empty()) {
    o.transport.auth = es::AuthKind::kApiKey;
    o.transport.api_key = c.api_key;
  } else if (!c.username.empty()) {
    o.transport.auth = es::AuthKind::kBasic;
    o.transport.username = c.username;
    o.transport.password = c.password;
  }
  o.transport.tls.ca_file = c.tls.ca_file;
  o.transport.tls.client_cert = c.tls.cert_file;
  o.transport.tls.client_key = c.tls.key_file;
  o.transport.tls.verify_peer = c.tls.verify;
  o.transport.tls.verify_host = c.tls.verify;
  o.transport.tls.server_name = c.tls.server_name;
  o.bulk.max_in_flight = c.bulk_max_in_flight;
  return o;
}

Result<std::unique_ptr<cql::Session>> connectCassandra(const config::Config& config) {
  CESYNC_ASSIGN_OR_RETURN(session_config, cassandraSessionConfig(config));
  auto session = cql::Session::connect(session_config);
  if (!session) {
    const std::string& message = session.error().message;
    std::string what = "cannot connect to Cassandra (cassandra.contact_points): ";
    if (message.find(cql::kUntrustedCertificate) != std::string::npos) {
      what =
          "Cassandra's TLS certificate is not trusted (cassandra.tls.ca_file must name the CA "
          "that signed it; cassandra.tls.server_name, a name it carries): ";
    } else if (session.error().code == ErrorCode::kAuth) {
      what = "Cassandra refused the login (cassandra.username, cassandra.password): ";
    } else if (message.find("TLS") != std::string::npos) {
      what =
          "cannot connect to Cassandra over TLS (cassandra.contact_points, cassandra.tls.ca_file, "
          "cassandra.tls.cert_file, cassandra.tls.key_file): ";
    }
    return fail(session.error().code, what + message);
  }
  return std::move(*session);
}

Result<std::unique_ptr<es::EsClient>> connectSearch(es::ClientOptions options, const Clock& clock,
                                                    es::EsStats* shared_stats) {
  auto search = es::EsClient::connect(std::move(options), clock, shared_stats);
  if (!search) {
    const std::string& message = search.error().message;
    std::string what = "cannot reach the search engine (search.urls): ";
    if (message.find(es::kUntrustedServerCertificate) != std::string::npos) {
      what =
          "the search engine's TLS certificate is not trusted (search.tls.ca_file must name the "
          "CA that signed it; search.tls.server_name, a name it carries): ";
    } else if (search.error().code == ErrorCode::kAuth &&
               message.find("HTTP 40") == std::string::npos) {
      what =
          "TLS with the search engine failed (search.tls.ca_file, search.tls.cert_file, "
          "search.tls.key_file): ";
    } else if (search.error().code == ErrorCode::kAuth) {
      what =
          "the search engine refused the credentials (search.username, search.password, "
          "search.api_key): ";
    }
    return fail(search.error().code, what + message);
  }
  return std::move(*search);
}

}  // namespace cesync::sync
