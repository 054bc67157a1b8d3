#pragma once

#include <string>

namespace cesync::testing {

/// A plain HTTP exchange for tests that check a search engine from the outside (libcurl, no
/// cesync code in between).
struct HttpReply {
  long status = 0;  // 0: no answer
  std::string body;
};

/// `s` percent-encoded for a URL path segment (document ids in JSON form need it).
std::string urlEncode(const std::string& s);

HttpReply http(const std::string& method, const std::string& url, const std::string& body = {},
               const std::string& content_type = "application/json");

}  // namespace cesync::testing
