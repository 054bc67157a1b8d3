// A node that goes away and comes back: the session must try it again often enough to serve
// requests within seconds of its return. The node is the local one behind a relay on a port of
// its own; "down", the relay closes every connection and accepts new ones only to close them at
// once (as a stopped node refuses them), counting the attempts.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "cql/session.h"
#include "support/servers.h"

namespace cesync::cql {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Forwards every connection to host:port while up; while down, closes what it holds and refuses
// (accepts and closes) new connections, keeping the time of each attempt.
class Relay {
 public:
  Relay(std::string host, std::uint16_t port) : host_(std::move(host)), port_(port) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int yes = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    ::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    ::listen(listener_, 64);
    socklen_t len = sizeof(a);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
    listen_port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { acceptLoop(); });
  }

  ~Relay() {
    stopping_ = true;
    setDown(true);
    ::shutdown(listener_, SHUT_RDWR);
    acceptor_.join();
    ::close(listener_);
    for (auto& t : pumps_) {
      t.join();
    }
  }

  [[nodiscard]] std::uint16_t port() const { return listen_port_; }

  void setDown(bool down) {
    down_ = down;
    if (down) {
      const std::lock_guard lock(mu_);
      for (const int fd : open_) {
        ::shutdown(fd, SHUT_RDWR);
      }
    }
  }

  std::vector<Clock::time_point> refusedAttempts() {
    const std::lock_guard lock(mu_);
    return refused_;
  }

 private:
  void acceptLoop() {
    while (!stopping_) {
      pollfd p{listener_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) {
        continue;
      }
      const int client = ::accept(listener_, nullptr, nullptr);
      if (client < 0) {
        continue;
      }
      if (down_) {
        const std::lock_guard lock(mu_);
        refused_.push_back(Clock::now());
        ::close(client);
        continue;
      }
      const int server = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(port_);
      ::inet_pton(AF_INET, host_.c_str(), &a.sin_addr);
      if (::connect(server, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
        ::close(server);
        ::close(client);
        continue;
      }
      const std::lock_guard lock(mu_);
      open_.push_back(client);
      open_.push_back(server);
      pumps_.emplace_back([this, client, server] { pump(client, server); });
    }
  }

  // Copies both ways until either side closes, then closes both.
  void pump(int a, int b) {
    char buf[65536];
    pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    bool open = true;
    while (open && !stopping_) {
      if (::poll(p, 2, 100) < 0) {
        break;
      }
      for (int i = 0; i < 2 && open; ++i) {
        if ((p[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
          continue;
        }
        const ssize_t n = ::read(p[i].fd, buf, sizeof(buf));
        if (n <= 0) {
          open = false;
          break;
        }
        const int to = p[1 - i].fd;
        for (ssize_t done = 0; done < n;) {
          const ssize_t w = ::write(to, buf + done, static_cast<std::size_t>(n - done));
          if (w <= 0) {
            open = false;
            break;
          }
          done += w;
        }
      }
    }
    const std::lock_guard lock(mu_);
    std::erase(open_, a);
    std::erase(open_, b);
    ::close(a);
    ::close(b);
  }

  std::string host_;
  std::uint16_t port_;
  int listener_ = -1;
  std::uint16_t listen_port_ = 0;
  std::atomic<bool> down_{false};
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<int> open_;
  std::vector<std::thread> pumps_;
  std::vector<Clock::time_point> refused_;
};

bool answers(Session& s) {
  return s.execute("SELECT release_version FROM system.local").has_value();
}

TEST(CqlReconnect, ANodeBackAfterAnOutageIsUsedAgainWithinSeconds) {
  const auto endpoint = cesync::testing::cassandraEndpoint();
  Relay relay(endpoint.host, endpoint.port);
  SessionConfig config;
  config.contact_points = {"127.0.0.1:" + std::to_string(relay.port())};
  config.consistency = Consistency::kOne;
  config.discover_peers = false;
  config.request_timeout = milliseconds(5000);
  auto connected = Session::connect(config);
  ASSERT_TRUE(connected) << connected.error().toString();
  Session& session = **connected;
  ASSERT_TRUE(answers(session));

  // Down for 20 s: long enough for an unbounded backoff to grow far past a few seconds.
  relay.setDown(true);
  const auto down_at = Clock::now();
  while (Clock::now() - down_at < std::chrono::seconds(20)) {
    EXPECT_FALSE(answers(session) && Clock::now() - down_at > std::chrono::seconds(1))
        << "the session answered through a relay that is down";
    std::this_thread::sleep_for(milliseconds(250));
  }
  // The node was tried all along, never more than a few seconds apart.
  auto attempts = relay.refusedAttempts();
  attempts.insert(attempts.begin(), down_at);
  attempts.push_back(Clock::now());
  milliseconds longest{0};
  for (std::size_t i = 1; i < attempts.size(); ++i) {
    longest =
        std::max(longest, std::chrono::duration_cast<milliseconds>(attempts[i] - attempts[i - 1]));
  }
  EXPECT_LE(longest, milliseconds(3500)) << "longest gap between connection attempts while down ("
                                         << attempts.size() - 2 << " attempts in 20 s)";

  relay.setDown(false);
  const auto up_at = Clock::now();
  while (!answers(session) && Clock::now() - up_at < std::chrono::seconds(30)) {
    std::this_thread::sleep_for(milliseconds(100));
  }
  const auto back_after = std::chrono::duration_cast<milliseconds>(Clock::now() - up_at);
  EXPECT_LE(back_after, milliseconds(4000))
      << "requests served again " << back_after.count() << " ms after the node came back";
  session.stop();
}

}  // namespace
}  // namespace cesync::cql
