// Proves the local Cassandra node is real: a native-protocol v4 OPTIONS / STARTUP / QUERY exchange
// in raw bytes over a plain socket, with no driver in between.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "support/servers.h"

namespace cesync {
namespace {

constexpr std::uint8_t kVersion4 = 0x04;
constexpr std::uint8_t kOpStartup = 0x01;
constexpr std::uint8_t kOpReady = 0x02;
constexpr std::uint8_t kOpOptions = 0x05;
constexpr std::uint8_t kOpSupported = 0x06;
constexpr std::uint8_t kOpQuery = 0x07;
constexpr std::uint8_t kOpResult = 0x08;

struct Frame {
  std::uint8_t version = 0;
  std::uint8_t opcode = 0;
  std::int16_t stream = 0;
  std::vector<std::uint8_t> body;
};

class RawCql {
 public:
  RawCql() {
    const auto endpoint = testing::cassandraEndpoint();
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const std::string port = std::to_string(endpoint.port);
    if (getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &res) != 0) {
      return;
    }
    fd_ = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    timeval tv{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd_, res->ai_addr, res->ai_addrlen) != 0) {
      close(fd_);
      fd_ = -1;
    }
    freeaddrinfo(res);
  }
  ~RawCql() {
    if (fd_ >= 0) {
      close(fd_);
    }
  }
  RawCql(const RawCql&) = delete;
  RawCql& operator=(const RawCql&) = delete;

  [[nodiscard]] bool connected() const { return fd_ >= 0; }

  bool send(std::uint8_t opcode, std::int16_t stream, const std::vector<std::uint8_t>& body) {
    std::vector<std::uint8_t> out{kVersion4, 0, static_cast<std::uint8_t>(stream >> 8),
                                  static_cast<std::uint8_t>(stream & 0xff), opcode};
    const auto len = static_cast<std::uint32_t>(body.size());
    for (int shift = 24; shift >= 0; shift -= 8) {
      out.push_back(static_cast<std::uint8_t>(len >> shift));
    }
    out.insert(out.end(), body.begin(), body.end());
    return ::send(fd_, out.data(), out.size(), 0) == static_cast<ssize_t>(out.size());
  }

  bool receive(Frame& frame) {
    std::uint8_t header[9];
    if (!readExactly(header, sizeof header)) {
      return false;
    }
    frame.version = header[0];
    frame.stream = static_cast<std::int16_t>((header[2] << 8) | header[3]);
    frame.opcode = header[4];
    const std::uint32_t len = (std::uint32_t{header[5]} << 24) | (std::uint32_t{header[6]} << 16) |
                              (std::uint32_t{header[7]} << 8) | header[8];
    frame.body.resize(len);
    return readExactly(frame.body.data(), len);
  }

 private:
  bool readExactly(std::uint8_t* p, std::size_t n) {
    while (n > 0) {
      const ssize_t got = recv(fd_, p, n, 0);
      if (got <= 0) {
        return false;
      }
      p += got;
      n -= static_cast<std::size_t>(got);
    }
    return true;
  }
  int fd_ = -1;
};

class Reader {
 public:
  explicit Reader(const std::vector<std::uint8_t>& b) : b_(b) {}
  std::uint16_t u16() {
    const auto v = static_cast<std::uint16_t>((b_.at(pos_) << 8) | b_.at(pos_ + 1));
    pos_ += 2;
    return v;
  }
  std::int32_t i32() {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      v = (v << 8) | b_.at(pos_++);
    }
    return static_cast<std::int32_t>(v);
  }
  std::string str() {
    const std::uint16_t n = u16();
    std::string s(b_.begin() + static_cast<std::ptrdiff_t>(pos_),
                  b_.begin() + static_cast<std::ptrdiff_t>(pos_ + n));
    pos_ += n;
    return s;
  }
  std::string bytes() {
    const std::int32_t n = i32();
    if (n < 0) {
      return {};
    }
    std::string s(b_.begin() + static_cast<std::ptrdiff_t>(pos_),
                  b_.begin() + static_cast<std::ptrdiff_t>(pos_ + static_cast<std::size_t>(n)));
    pos_ += static_cast<std::size_t>(n);
    return s;
  }

 private:
  const std::vector<std::uint8_t>& b_;
  std::size_t pos_ = 0;
};

void putString(std::vector<std::uint8_t>& out, const std::string& s, bool long_string = false) {
  const auto n = static_cast<std::uint32_t>(s.size());
  if (long_string) {
    out.push_back(static_cast<std::uint8_t>(n >> 24));
    out.push_back(static_cast<std::uint8_t>(n >> 16));
  }
  out.push_back(static_cast<std::uint8_t>(n >> 8));
  out.push_back(static_cast<std::uint8_t>(n));
  out.insert(out.end(), s.begin(), s.end());
}

TEST(CqlHandshakeTest, OptionsStartupAndQueryRoundTrip) {
  RawCql cql;
  ASSERT_TRUE(cql.connected()) << "no Cassandra at " << testing::cassandraEndpoint().host << ":"
                               << testing::cassandraEndpoint().port << " (scripts/cluster up)";

  ASSERT_TRUE(cql.send(kOpOptions, 1, {}));
  Frame supported;
  ASSERT_TRUE(cql.receive(supported));
  EXPECT_EQ(supported.version, 0x84) << "response direction bit + v4";
  EXPECT_EQ(supported.stream, 1);
  ASSERT_EQ(supported.opcode, kOpSupported);
  std::map<std::string, std::vector<std::string>> options;
  Reader r(supported.body);
  const std::uint16_t keys = r.u16();
  for (std::uint16_t i = 0; i < keys; ++i) {
    const std::string key = r.str();
    const std::uint16_t values = r.u16();
    for (std::uint16_t j = 0; j < values; ++j) {
      options[key].push_back(r.str());
    }
  }
  ASSERT_TRUE(options.count("CQL_VERSION"));
  ASSERT_TRUE(options.count("PROTOCOL_VERSIONS"));
  const auto& versions = options["PROTOCOL_VERSIONS"];
  EXPECT_NE(std::find(versions.begin(), versions.end(), "5/v5"), versions.end())
      << "Cassandra 5.0 speaks protocol v5";
  const auto& compression = options["COMPRESSION"];
  EXPECT_NE(std::find(compression.begin(), compression.end(), "lz4"), compression.end());

  std::vector<std::uint8_t> startup{0, 1};  // [string map] with one entry
  putString(startup, "CQL_VERSION");
  putString(startup, "3.0.0");
  ASSERT_TRUE(cql.send(kOpStartup, 2, startup));
  Frame ready;
  ASSERT_TRUE(cql.receive(ready));
  ASSERT_EQ(ready.opcode, kOpReady) << "AllowAllAuthenticator answers READY";

  std::vector<std::uint8_t> query;
  putString(query, "SELECT release_version FROM system.local", true);
  query.insert(query.end(), {0x00, 0x01, 0x00});  // consistency ONE, no flags
  ASSERT_TRUE(cql.send(kOpQuery, 3, query));
  Frame result;
  ASSERT_TRUE(cql.receive(result));
  ASSERT_EQ(result.opcode, kOpResult);
  Reader rr(result.body);
  ASSERT_EQ(rr.i32(), 2) << "Rows result";
  const std::int32_t flags = rr.i32();
  ASSERT_EQ(rr.i32(), 1) << "one column";
  if ((flags & 0x01) != 0) {  // global table spec
    EXPECT_EQ(rr.str(), "system");
    EXPECT_EQ(rr.str(), "local");
  }
  EXPECT_EQ(rr.str(), "release_version");
  EXPECT_EQ(rr.u16(), 0x000D) << "varchar";
  ASSERT_EQ(rr.i32(), 1) << "one row";
  const std::string release = rr.bytes();
  EXPECT_EQ(release.rfind("5.0.", 0), 0u) << "release_version " << release;
}

}  // namespace
}  // namespace cesync
