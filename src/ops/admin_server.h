#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"

namespace httplib {
class Server;
}

namespace cesync::ops {

/// Whether the daemon should receive traffic, and if not, why (one line per reason).
struct Readiness {
  bool ready = true;
  std::vector<std::string> reasons;
};

/// What the admin endpoints show; each is called on the admin server's thread, so it must be
/// safe to call concurrently with the pipelines.
struct AdminHandlers {
  std::function<std::string()> metrics;      // Prometheus text exposition
  std::function<Readiness()> readiness;      // /readyz
  std::function<std::string()> status_json;  // /status
};

/// The admin HTTP server: /metrics, /healthz (the process answers), /readyz (200 or 503 with the
/// reasons), /status (JSON). Binds to loopback by default; it serves no secrets.
class AdminServer {
 public:
  explicit AdminServer(AdminHandlers handlers);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  /// Binds `listen` ("host:port"; port 0 picks a free one) and serves on a background thread.
  Status start(const std::string& listen);
  /// Stops serving and waits for the thread. Safe to call twice.
  void stop();
  /// The bound port (after start()).
  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  AdminHandlers handlers_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::uint16_t port_ = 0;
};

}  // namespace cesync::ops
