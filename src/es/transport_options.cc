#include "es/transport_options.h"

#include "util/base64.h"

namespace cesync::es {

Status validateOptions(const TransportOptions& options) {
  const std::string& url = options.base_url;
  const bool https = url.rfind("https://", 0) == 0;
  if (!https && url.rfind("http://", 0) != 0) {
    return fail(ErrorCode::kConfig, "search url '" + url + "' must start with http:// or https://");
  }
  if (url.size() <= (https ? 8U : 7U)) {
    return fail(ErrorCode::kConfig, "search url '" + url + "' has no host");
  }
  if (url.back() == '/') {
    return fail(ErrorCode::kConfig, "search url '" + url + "' must not end with '/'");
  }
  if (options.max_connections == 0) {
    return fail(ErrorCode::kConfig, "search max_connections must be at least 1");
  }
  if (options.connect_timeout.count() <= 0 || options.request_timeout.count() <= 0) {
    return fail(ErrorCode::kConfig, "search timeouts must be positive");
  }
  if (options.gzip_level < 1 || options.gzip_level > 9) {
    return fail(ErrorCode::kConfig, "search gzip_level must be between 1 and 9");
  }
  switch (options.auth) {
    case AuthKind::kNone:
      break;
    case AuthKind::kBasic:
      if (options.username.empty()) {
        return fail(ErrorCode::kConfig, "search basic auth needs a username");
      }
      break;
    case AuthKind::kApiKey:
      if (options.api_key.empty()) {
        return fail(ErrorCode::kConfig, "search api_key auth needs an api_key");
      }
      break;
  }
  if (!options.tls.client_key.empty() && options.tls.client_cert.empty()) {
    return fail(ErrorCode::kConfig, "search tls client_key is set without client_cert");
  }
  const bool tls_files = !options.tls.ca_file.empty() || !options.tls.ca_path.empty() ||
                         !options.tls.client_cert.empty();
  if (tls_files && !https) {
    return fail(ErrorCode::kConfig,
                "search tls settings are given but url '" + url + "' is not https://");
  }
  return {};
}

std::vector<std::string> staticHeaders(const TransportOptions& options) {
  std::vector<std::string> headers;
  headers.emplace_back("Expect:");
  switch (options.auth) {
    case AuthKind::kNone:
    case AuthKind::kBasic:  // sent by curl from CURLOPT_USERNAME/PASSWORD
      break;
    case AuthKind::kApiKey: {
      std::string value = options.api_key;
      if (value.find(':') != std::string::npos) {
        value = util::base64Encode(value);
      }
      headers.push_back("Authorization: ApiKey " + value);
      break;
    }
  }
  return headers;
}

}  // namespace cesync::es
