#include "es/server_info.h"

#include <charconv>

#include "es/json_util.h"

namespace cesync::es {
namespace {

Status parseVersion(std::string_view text, ServerInfo& info) {
  info.version = std::string(text);
  int* parts[] = {&info.major, &info.minor, &info.patch};
  const char* p = text.data();
  const char* end = text.data() + text.size();
  for (std::size_t i = 0; i < 3; ++i) {
    const auto res = std::from_chars(p, end, *parts[i]);
    if (res.ec != std::errc()) {
      if (i == 0) {
        return fail(ErrorCode::kProtocol,
                    "unreadable search engine version '" + std::string(text) + "'");
      }
      break;
    }
    p = res.ptr;
    if (p == end || *p != '.') {
      break;
    }
    ++p;
  }
  return {};
}

// The first nodes.<id>.version string of a _nodes answer.
Result<std::string> firstNodeVersion(std::string_view body) {
  PaddedJson json(body, 0);
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  simdjson::ondemand::object nodes;
  if (parser.iterate(json.view()).get(doc) != simdjson::SUCCESS ||
      doc["nodes"].get_object().get(nodes) != simdjson::SUCCESS) {
    return fail(ErrorCode::kProtocol,
                "node info has no nodes: '" + std::string(body.substr(0, 200)) + "'");
  }
  for (auto node : nodes) {
    simdjson::ondemand::object fields;
    if (node.value().get_object().get(fields) != simdjson::SUCCESS) {
      break;
    }
    std::string_view version;
    if (fields["version"].get_string().get(version) == simdjson::SUCCESS) {
      return std::string(version);
    }
  }
  return fail(ErrorCode::kProtocol,
              "node info has no version: '" + std::string(body.substr(0, 200)) + "'");
}

bool rootSaysOpenSearch(std::string_view root_body) {
  if (root_body.empty()) {
    return false;
  }
  PaddedJson json(root_body, 0);
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  std::string_view distribution;
  return parser.iterate(json.view()).get(doc) == simdjson::SUCCESS &&
         doc["version"]["distribution"].get_string().get(distribution) == simdjson::SUCCESS &&
         distribution == "opensearch";
}

}  // namespace

std::string_view flavourName(Flavour flavour) {
  switch (flavour) {
    case Flavour::kElasticsearch:
      return "elasticsearch";
    case Flavour::kOpenSearch:
      return "opensearch";
  }
  return "unknown";
}

const char* ServerInfo::tiebreaker() const {
  return flavour == Flavour::kElasticsearch ? "_shard_doc" : "_id";
}

PitDialect ServerInfo::pitDialect() const {
  switch (flavour) {
    case Flavour::kElasticsearch:
      return (major > 7 || (major == 7 && minor >= 10)) ? PitDialect::kElasticsearch
                                                        : PitDialect::kNone;
    case Flavour::kOpenSearch:
      return (major > 2 || (major == 2 && minor >= 4)) ? PitDialect::kOpenSearch
                                                       : PitDialect::kNone;
  }
  return PitDialect::kNone;
}

Result<ServerInfo> parseServerInfo(std::string_view nodes_body, std::string_view elastic_product,
                                   std::string_view root_body) {
  CESYNC_ASSIGN_OR_RETURN(version, firstNodeVersion(nodes_body));
  ServerInfo info;
  CESYNC_TRY(parseVersion(version, info));
  // The header is authoritative (Elasticsearch >= 7.14), then OpenSearch's own root answer;
  // without either, the version ranges of the two products do not overlap.
  const bool es_header = elastic_product == "Elasticsearch";
  const bool os_root = !es_header && rootSaysOpenSearch(root_body);
  const bool es_version = info.major >= 5 && info.major <= 7;
  const bool os_version = info.major >= 1 && info.major <= 3;
  if (es_header || (!os_root && es_version)) {
    info.flavour = Flavour::kElasticsearch;
  } else if (os_root || os_version) {
    info.flavour = Flavour::kOpenSearch;
  } else {
    return fail(ErrorCode::kProtocol,
                "cannot tell the search engine's flavour from version " + info.version);
  }
  return info;
}

Result<ServerInfo> detectServer(HttpTransport& transport) {
  CESYNC_ASSIGN_OR_RETURN(nodes,
                          transport.send({.method = HttpMethod::kGet,
                                          .path = "/_nodes/_local?filter_path=nodes.*.version",
                                          .idempotent = true}));
  if (nodes.status != 200) {
    return fail(httpError(nodes.status, nodes.body, "GET /_nodes/_local"));
  }
  std::string root_body;
  if (nodes.elastic_product.empty()) {
    CESYNC_ASSIGN_OR_RETURN(
        root, transport.send({.method = HttpMethod::kGet, .path = "/", .idempotent = true}));
    if (root.status == 200) {
      root_body = std::move(root.body);
    }
  }
  return parseServerInfo(nodes.body, nodes.elastic_product, root_body);
}

}  // namespace cesync::es
