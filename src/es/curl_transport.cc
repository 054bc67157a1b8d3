#include "es/curl_transport.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <mutex>

#include "es/gzip.h"

namespace cesync::es {
namespace {

constexpr std::string_view kProductHeader = "x-elastic-product:";
constexpr int kPollMs = 1000;

Status globalInit() {
  static std::once_flag once;
  static CURLcode rc = CURLE_OK;
  std::call_once(once, [] { rc = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (rc != CURLE_OK) {
    return fail(ErrorCode::kInternal, std::string("curl_global_init: ") + curl_easy_strerror(rc));
  }
  return {};
}

// Failures to trust the server's certificate: no retry will change them.
bool untrustedCertificate(CURLcode code) {
  return code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_ISSUER_ERROR ||
         code == CURLE_SSL_CRL_BADFILE;
}

ErrorCode errorCodeFor(CURLcode code) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return ErrorCode::kTimeout;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_LOGIN_DENIED:
      return ErrorCode::kAuth;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return ErrorCode::kConfig;
    default:
      return ErrorCode::kIo;
  }
}

bool startsWithNoCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) {
    return false;
  }
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) {
      return false;
    }
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == ' ')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

struct CurlTransport::Transfer {
  std::size_t index = 0;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string compressed;
  HttpResponse response;
  std::size_t max_bytes = 0;
  bool too_large = false;
  std::size_t body_bytes = 0;
  std::size_t wire_bytes = 0;
  std::array<char, CURL_ERROR_SIZE> error{};
  std::string url;          // as configured, for messages
  std::string request_url;  // with tls.server_name as its host, when set
  std::string content_type_header;
  Result<HttpResponse> result = fail(ErrorCode::kInternal, "request not run");

  static std::size_t onBody(char* data, std::size_t size, std::size_t n, void* self) {
    auto* t = static_cast<Transfer*>(self);
    const std::size_t bytes = size * n;
    if (t->response.body.size() + bytes > t->max_bytes) {
      t->too_large = true;
      return 0;
    }
    t->response.body.append(data, bytes);
    return bytes;
  }

  static std::size_t onHeader(char* data, std::size_t size, std::size_t n, void* self) {
    auto* t = static_cast<Transfer*>(self);
    const std::size_t bytes = size * n;
    const std::string_view line(data, bytes);
    if (startsWithNoCase(line, kProductHeader)) {
      t->response.elastic_product = std::string(trim(line.substr(kProductHeader.size())));
    }
    return bytes;
  }
};

std::string_view httpMethodName(HttpMethod method) {
  switch (method) {
    case HttpMethod::kGet:
      return "GET";
    case HttpMethod::kHead:
      return "HEAD";
    case HttpMethod::kPost:
      return "POST";
    case HttpMethod::kPut:
      return "PUT";
    case HttpMethod::kDelete:
      return "DELETE";
  }
  return "GET";
}

Result<std::unique_ptr<CurlTransport>> CurlTransport::create(TransportOptions options,
                                                             EsStats* stats) {
  CESYNC_TRY(validateOptions(options));
  CESYNC_TRY(globalInit());
  CURLM* multi = curl_multi_init();
  if (multi == nullptr) {
    return fail(ErrorCode::kInternal, "curl_multi_init failed");
  }
  const auto cap = static_cast<long>(options.max_connections);
  curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, cap);
  curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, cap);
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, cap);
  return std::unique_ptr<CurlTransport>(new CurlTransport(std::move(options), stats, multi));
}

CurlTransport::CurlTransport(TransportOptions options, EsStats* stats, CURLM* multi)
    : options_(std::move(options)),
      stats_(stats),
      multi_(multi),
      static_headers_(staticHeaders(options_)),
      request_base_url_(options_.base_url) {
  const std::string& name = options_.tls.server_name;
  if (name.empty()) {
    return;
  }
  // curl checks the certificate against the URL's host: put server_name there and connect to
  // the configured host and port (CURLOPT_CONNECT_TO), which also sends server_name as SNI.
  const std::string& url = options_.base_url;
  const std::size_t host_at = url.find("://") + 3;
  const std::string authority = url.substr(host_at);  // base_url has no path
  const std::size_t colon = authority.rfind(':');
  const bool has_port =
      colon != std::string::npos && authority.find(']', colon) == std::string::npos;
  const std::string host = has_port ? authority.substr(0, colon) : authority;
  const std::string port =
      has_port ? authority.substr(colon + 1) : (url.rfind("https://", 0) == 0 ? "443" : "80");
  request_base_url_ = url.substr(0, host_at) + name + ":" + port;
  connect_to_ = curl_slist_append(nullptr, (name + ":" + port + ":" + host + ":" + port).c_str());
}

CurlTransport::~CurlTransport() {
  for (CURL* easy : idle_) {
    curl_easy_cleanup(easy);
  }
  curl_multi_cleanup(multi_);
  curl_slist_free_all(connect_to_);
}

CURL* CurlTransport::acquireEasy() {
  if (!idle_.empty()) {
    CURL* easy = idle_.back();
    idle_.pop_back();
    curl_easy_reset(easy);
    return easy;
  }
  return curl_easy_init();
}

void CurlTransport::releaseEasy(CURL* easy) {
  if (idle_.size() < options_.max_connections) {
    idle_.push_back(easy);
  } else {
    curl_easy_cleanup(easy);
  }
}

Status CurlTransport::start(Transfer& t, const HttpRequest& request) {
  t.easy = acquireEasy();
  if (t.easy == nullptr) {
    return fail(ErrorCode::kInternal, "curl_easy_init failed");
  }
  CURL* e = t.easy;
  t.max_bytes = options_.max_response_bytes;
  t.url = options_.base_url + request.path;
  if (connect_to_ != nullptr) {
    t.request_url = request_base_url_ + request.path;
    curl_easy_setopt(e, CURLOPT_URL, t.request_url.c_str());
    curl_easy_setopt(e, CURLOPT_CONNECT_TO, connect_to_);
  } else {
    curl_easy_setopt(e, CURLOPT_URL, t.url.c_str());
  }
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  // HTTP/1.1 on purpose: one request per connection at a time is what max_connections counts,
  // and the engines' HTTP layers are built for it.
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout.count()));
  const auto timeout = request.timeout.count() > 0 ? request.timeout : options_.request_timeout;
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.error.data());
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Transfer::onBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Transfer::onHeader);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
  curl_easy_setopt(e, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(e, CURLOPT_PROXY, options_.proxy.c_str());
  if (options_.accept_gzip) {
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "gzip");
  }
  switch (options_.auth) {
    case AuthKind::kNone:
    case AuthKind::kApiKey:
      break;
    case AuthKind::kBasic:
      curl_easy_setopt(e, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
      curl_easy_setopt(e, CURLOPT_USERNAME, options_.username.c_str());
      curl_easy_setopt(e, CURLOPT_PASSWORD, options_.password.c_str());
      break;
  }
  const TlsOptions& tls = options_.tls;
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, tls.verify_peer ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, tls.verify_host ? 2L : 0L);
  if (!tls.ca_file.empty()) {
    curl_easy_setopt(e, CURLOPT_CAINFO, tls.ca_file.c_str());
  }
  if (!tls.ca_path.empty()) {
    curl_easy_setopt(e, CURLOPT_CAPATH, tls.ca_path.c_str());
  }
  if (!tls.client_cert.empty()) {
    curl_easy_setopt(e, CURLOPT_SSLCERT, tls.client_cert.c_str());
  }
  if (!tls.client_key.empty()) {
    curl_easy_setopt(e, CURLOPT_SSLKEY, tls.client_key.c_str());
  }
  if (!tls.client_key_password.empty()) {
    curl_easy_setopt(e, CURLOPT_KEYPASSWD, tls.client_key_password.c_str());
  }

  for (const std::string& h : static_headers_) {
    t.headers = curl_slist_append(t.headers, h.c_str());
  }
  std::string_view body = request.body;
  t.body_bytes = body.size();
  const bool has_body =
      !body.empty() || request.method == HttpMethod::kPost || request.method == HttpMethod::kPut;
  if (has_body) {
    t.content_type_header = "Content-Type: " + std::string(request.content_type);
    t.headers = curl_slist_append(t.headers, t.content_type_header.c_str());
    if (options_.gzip_requests && body.size() >= options_.gzip_min_bytes) {
      CESYNC_TRY(gzipCompress(body, options_.gzip_level, t.compressed));
      body = t.compressed;
      t.headers = curl_slist_append(t.headers, "Content-Encoding: gzip");
    }
    t.wire_bytes = body.size();
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    // Never a null pointer: curl would then read the body from stdin.
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.empty() ? "" : body.data());
  }
  switch (request.method) {
    case HttpMethod::kGet:
      if (has_body) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "GET");
      }
      break;
    case HttpMethod::kHead:
      curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
      break;
    case HttpMethod::kPost:
      break;
    case HttpMethod::kPut:
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PUT");
      break;
    case HttpMethod::kDelete:
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE");
      break;
  }
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers);
  if (curl_multi_add_handle(multi_, e) != CURLM_OK) {
    return fail(ErrorCode::kInternal, "curl_multi_add_handle failed");
  }
  return {};
}

void CurlTransport::finish(Transfer& t, int curl_code) {
  const auto code = static_cast<CURLcode>(curl_code);
  long connects = 0;
  curl_easy_getinfo(t.easy, CURLINFO_NUM_CONNECTS, &connects);
  long status = 0;
  curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
  curl_multi_remove_handle(multi_, t.easy);
  releaseEasy(t.easy);
  t.easy = nullptr;
  curl_slist_free_all(t.headers);
  t.headers = nullptr;
  t.compressed = std::string();
  if (stats_ != nullptr) {
    stats_->connections_opened += static_cast<std::uint64_t>(connects);
    stats_->bytes_sent += t.body_bytes;
    stats_->bytes_sent_wire += t.wire_bytes;
  }
  if (t.too_large) {
    if (stats_ != nullptr) {
      ++stats_->http_errors;
    }
    t.result = fail(ErrorCode::kProtocol, "response from " + t.url + " is larger than " +
                                              std::to_string(t.max_bytes) + " bytes");
    return;
  }
  if (code != CURLE_OK) {
    if (stats_ != nullptr) {
      ++stats_->http_errors;
    }
    const std::string detail =
        t.error[0] != '\0' ? std::string(t.error.data()) : std::string(curl_easy_strerror(code));
    if (untrustedCertificate(static_cast<CURLcode>(code)) && options_.tls.verify_peer) {
      const std::string name =
          options_.tls.server_name.empty() ? std::string() : " as " + options_.tls.server_name;
      t.result = fail(ErrorCode::kAuth,
                      t.url + ": " + kUntrustedServerCertificate + name + " (" + detail +
                          "; checked against " +
                          (options_.tls.ca_file.empty() ? std::string("the system's CAs")
                                                        : "the CA in " + options_.tls.ca_file) +
                          ")");
      return;
    }
    t.result = fail(errorCodeFor(code), t.url + ": " + detail);
    return;
  }
  if (stats_ != nullptr) {
    ++stats_->http_requests;
    stats_->bytes_received += t.response.body.size();
  }
  t.response.status = static_cast<int>(status);
  // Leave simdjson's padding behind the bytes so that parsers need no copy.
  t.response.body.reserve(t.response.body.size() + simdjson::SIMDJSON_PADDING);
  t.result = std::move(t.response);
}

Result<HttpResponse> CurlTransport::send(const HttpRequest& request) {
  auto results = sendAll(std::span<const HttpRequest>(&request, 1));
  return std::move(results.front());
}

namespace {

// sendAll() as a source: every request at once, answers stored in order.
class VectorSource final : public RequestSource {
 public:
  explicit VectorSource(std::span<const HttpRequest> requests) : requests_(requests) {
    results_.reserve(requests.size());
    for (std::size_t i = 0; i < requests.size(); ++i) {
      results_.emplace_back(fail(ErrorCode::kInternal, "request not run"));
    }
  }
  std::optional<HttpRequest> next(std::size_t& tag) override {
    if (next_ == requests_.size()) {
      return std::nullopt;
    }
    tag = next_;
    return requests_[next_++];
  }
  void complete(std::size_t tag, Result<HttpResponse> response) override {
    results_[tag] = std::move(response);
  }
  bool waitForWork() override { return false; }
  std::chrono::milliseconds nextReadyIn() override { return std::chrono::milliseconds(kPollMs); }
  std::vector<Result<HttpResponse>> take() { return std::move(results_); }

 private:
  std::span<const HttpRequest> requests_;
  std::size_t next_ = 0;
  std::vector<Result<HttpResponse>> results_;
};

}  // namespace

std::vector<Result<HttpResponse>> CurlTransport::sendAll(std::span<const HttpRequest> requests) {
  VectorSource source(requests);
  run(source);
  return source.take();
}

void CurlTransport::run(RequestSource& source) {
  std::vector<std::unique_ptr<Transfer>> active;
  for (;;) {
    while (active.size() < options_.max_connections) {
      std::size_t tag = 0;
      std::optional<HttpRequest> request = source.next(tag);
      if (!request) {
        break;
      }
      auto t = std::make_unique<Transfer>();
      t->index = tag;
      if (auto started = start(*t, *request); !started) {
        if (t->easy != nullptr) {
          releaseEasy(t->easy);
        }
        curl_slist_free_all(t->headers);
        source.complete(tag, tl::unexpected(started.error()));
        continue;
      }
      active.push_back(std::move(t));
    }
    if (active.empty()) {
      if (!source.waitForWork()) {
        return;
      }
      continue;
    }
    int running = 0;
    if (curl_multi_perform(multi_, &running) != CURLM_OK) {
      // The multi handle is broken: fail what is in flight rather than spin.
      for (auto& t : active) {
        curl_multi_remove_handle(multi_, t->easy);
        releaseEasy(t->easy);
        curl_slist_free_all(t->headers);
        source.complete(t->index, fail(ErrorCode::kInternal, "curl multi handle failed"));
      }
      active.clear();
      continue;
    }
    bool completed = false;
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
      if (msg->msg != CURLMSG_DONE) {
        continue;
      }
      void* priv = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
      auto* t = static_cast<Transfer*>(priv);
      finish(*t, static_cast<int>(msg->data.result));
      auto it = std::find_if(active.begin(), active.end(),
                             [t](const std::unique_ptr<Transfer>& a) { return a.get() == t; });
      std::unique_ptr<Transfer> done = std::move(*it);
      active.erase(it);
      source.complete(done->index, std::move(done->result));
      completed = true;
    }
    if (!completed && !active.empty()) {
      // With every slot taken only an answer can make progress, and poll wakes up for it; asking
      // the source then would turn a ready-but-waiting request into a busy loop.
      const auto wait = active.size() >= options_.max_connections
                            ? std::int64_t{kPollMs}
                            : std::clamp<std::int64_t>(source.nextReadyIn().count(), 0, kPollMs);
      curl_multi_poll(multi_, nullptr, 0, static_cast<int>(wait), nullptr);
    }
  }
}

}  // namespace cesync::es
