#pragma once

#include <deque>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "es/http_transport.h"

namespace cesync::es::testing {

// A scripted transport: each request is answered by the next function in the script, which sees
// the request body.
class ScriptedTransport final : public HttpTransport {
 public:
  using Answer = std::function<Result<HttpResponse>(std::string_view body)>;

  void then(Answer answer) { script_.push_back(std::move(answer)); }

  Result<HttpResponse> send(const HttpRequest& request) override {
    bodies.emplace_back(request.body);
    methods.push_back(request.method);
    paths.push_back(request.path);
    if (script_.empty()) {
      return fail(ErrorCode::kInternal, "script ran out");
    }
    auto answer = std::move(script_.front());
    script_.pop_front();
    return answer(request.body);
  }

  std::vector<Result<HttpResponse>> sendAll(std::span<const HttpRequest> requests) override {
    ++rounds;
    std::vector<Result<HttpResponse>> out;
    for (const HttpRequest& r : requests) {
      out.push_back(send(r));
    }
    return out;
  }

  // Takes every request the source has ready (one "round" of concurrent requests), then answers
  // them in order.
  void run(RequestSource& source) override {
    for (;;) {
      std::vector<std::pair<std::size_t, HttpRequest>> ready;
      std::size_t tag = 0;
      while (auto request = source.next(tag)) {
        ready.emplace_back(tag, std::move(*request));
      }
      if (ready.empty()) {
        if (!source.waitForWork()) {
          return;
        }
        continue;
      }
      ++rounds;
      for (auto& [t, request] : ready) {
        source.complete(t, send(request));
      }
    }
  }

  std::vector<std::string> bodies;
  std::vector<std::string> paths;
  std::vector<HttpMethod> methods;
  int rounds = 0;

 private:
  std::deque<Answer> script_;
};

inline HttpResponse reply(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace cesync::es::testing
