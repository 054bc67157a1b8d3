#include "ops/admin_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <chrono>

namespace cesync::ops {

AdminServer::AdminServer(AdminHandlers handlers)
    : handlers_(std::move(handlers)), server_(std::make_unique<httplib::Server>()) {}

AdminServer::~AdminServer() {
  stop();
}

Status AdminServer::start(const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return fail(ErrorCode::kConfig, "admin.listen: expected host:port, got '" + listen + "'");
  }
  const std::string host = listen.substr(0, colon);
  int port = 0;
  try {
    port = std::stoi(listen.substr(colon + 1));
  } catch (const std::exception&) {
    return fail(ErrorCode::kConfig, "admin.listen: bad port in '" + listen + "'");
  }

  // httplib's default sets SO_REUSEPORT, which would let a second daemon share the port
  // silently; SO_REUSEADDR alone still allows a quick restart.
  server_->set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  server_->Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    const Readiness r = handlers_.readiness ? handlers_.readiness() : Readiness{};
    std::string body = r.ready ? "ready\n" : "not ready\n";
    for (const auto& reason : r.reasons) {
      body += reason + "\n";
    }
    res.status = r.ready ? 200 : 503;
    res.set_content(body, "text/plain");
  });
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(handlers_.metrics ? handlers_.metrics() : std::string(),
                    "text/plain; version=0.0.4");
  });
  server_->Get("/status", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(handlers_.status_json ? handlers_.status_json() : std::string("{}"),
                    "application/json");
  });

  const int bound =
      port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    return fail(ErrorCode::kConfig, "admin.listen: cannot listen on " + listen +
                                        " (in use, or not an address of this machine)");
  }
  port_ = static_cast<std::uint16_t>(bound);
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // Return once requests are served, so that stop() right after start() cannot race the loop.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!server_->is_running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return {};
}

void AdminServer::stop() {
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

}  // namespace cesync::ops
