#include "cql/connection.h"

// GCC 12 pairs the class-specific operator new/delete of asio's coroutine frames
// (awaitable_frame_base) wrongly and warns about a mismatch that is not there.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <asio/experimental/as_tuple.hpp>

#include "cql/message/request.h"
#include "cql/message/server_error.h"

// Coroutine forms of CESYNC_TRY / CESYNC_ASSIGN_OR_RETURN.
#define CQL_CO_TRY(expr)                                                 \
  do {                                                                   \
    auto cql_co_try_result_ = (expr);                                    \
    if (!cql_co_try_result_) {                                           \
      co_return ::tl::unexpected(std::move(cql_co_try_result_).error()); \
    }                                                                    \
  } while (false)

namespace cesync::cql {
namespace {

using asio::awaitable;
constexpr auto kNoThrow = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::chrono::milliseconds kSweepInterval{50};
constexpr std::size_t kReadChunk = std::size_t{64} * 1024;

// Marks a handshake failure that means "this node does not speak the offered version".
constexpr std::string_view kVersionRefused = "protocol version refused";

Error ioError(const std::string& endpoint, const std::string& what, const asio::error_code& ec) {
  return makeError(ErrorCode::kIo, endpoint + ": " + what + ": " + ec.message());
}

bool isIpAddress(const std::string& host) {
  asio::error_code ec;
  (void)asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

Connection::Connection(asio::io_context& io, asio::ssl::context& tls, ConnectionConfig config)
    : io_(io),
      config_(std::move(config)),
      stream_(io, tls),
      sweep_timer_(io),
      read_buf_(kReadChunk) {}

Connection::~Connection() = default;

std::string Connection::endpoint() const {
  return config_.host + ":" + std::to_string(config_.port);
}

void Connection::open(asio::io_context& io, asio::ssl::context& tls, ConnectionConfig config,
                      OpenHandler done) {
  asio::co_spawn(
      io,
      [&io, &tls, config = std::move(config), done = std::move(done)]() -> awaitable<void> {
        ProtocolVersion version = config.max_version;
        for (;;) {
          auto conn = std::make_shared<Connection>(io, tls, config);
          const Status st = co_await conn->handshake(version);
          if (st) {
            conn->open_ = true;
            conn->last_read_ = std::chrono::steady_clock::now();
            asio::co_spawn(io, conn->readLoop(), asio::detached);
            conn->scheduleSweep();
            done(conn);
            co_return;
          }
          asio::error_code ignored;
          conn->stream_.next_layer().close(ignored);
          if (version == ProtocolVersion::kV5 &&
              st.error().message.find(kVersionRefused) != std::string::npos) {
            version = ProtocolVersion::kV4;
            continue;
          }
          done(tl::unexpected(st.error()));
          co_return;
        }
      },
      asio::detached);
}

awaitable<Status> Connection::handshake(ProtocolVersion version) {
  version_ = version;
  const std::string where = endpoint();
  asio::ip::tcp::resolver resolver(io_);
  auto [rec, endpoints] =
      co_await resolver.async_resolve(config_.host, std::to_string(config_.port), kNoThrow);
  if (rec) {
    co_return tl::unexpected(ioError(where, "resolve", rec));
  }
  // The connect deadline closes the socket, which completes the pending operation with an error.
  asio::steady_timer deadline(io_);
  deadline.expires_after(config_.connect_timeout);
  bool timed_out = false;
  deadline.async_wait([this, &timed_out](const asio::error_code& ec) {
    if (!ec) {
      timed_out = true;
      asio::error_code ignored;
      stream_.next_layer().close(ignored);
    }
  });
  auto [cec, ep] = co_await asio::async_connect(stream_.next_layer(), endpoints, kNoThrow);
  if (cec) {
    deadline.cancel();
    co_return tl::unexpected(timed_out
                                 ? makeError(ErrorCode::kTimeout, where + ": connect timed out")
                                 : ioError(where, "connect", cec));
  }
  (void)ep;
  stream_.next_layer().set_option(asio::ip::tcp::no_delay(true));
  if (config_.tls.enabled) {
    const std::string& name =
        config_.tls.server_name.empty() ? config_.host : config_.tls.server_name;
    if (!isIpAddress(name)) {
      // SSL_set_tlsext_host_name is a macro with a C cast; call what it expands to.
      SSL_ctrl(stream_.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(name.c_str()));
    }
    stream_.set_verify_mode(config_.tls.verify_peer ? asio::ssl::verify_peer
                                                    : asio::ssl::verify_none);
    if (config_.tls.verify_peer && config_.tls.verify_hostname) {
      // OpenSSL's own check (not a verify callback), so a mismatch has its verify result.
      X509_VERIFY_PARAM* param = SSL_get0_param(stream_.native_handle());
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      if (isIpAddress(name)) {
        X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
      } else {
        X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
      }
    }
    auto [hec] = co_await stream_.async_handshake(asio::ssl::stream_base::client, kNoThrow);
    if (hec) {
      deadline.cancel();
      const long verified = SSL_get_verify_result(stream_.native_handle());
      if (config_.tls.verify_peer && verified != X509_V_OK) {
        // A certificate we do not trust will not become trusted by trying again.
        const std::string why = X509_verify_cert_error_string(verified);
        co_return fail(ErrorCode::kAuth,
                       where + ": " + kUntrustedCertificate + " (" + why + "; checked against " +
                           (config_.tls.verify_hostname ? "the name " + name + " and " : "") +
                           (config_.tls.ca_file.empty() ? std::string("the system's CAs")
                                                        : "the CA in " + config_.tls.ca_file) +
                           ")");
      }
      co_return tl::unexpected(
          makeError(ErrorCode::kIo, where + ": TLS handshake failed: " + hec.message()));
    }
  }

  // OPTIONS tells whether lz4 is on offer; a node that refuses the version says so here.
  auto supported = co_await roundTrip(Opcode::kOptions, {});
  if (!supported) {
    deadline.cancel();
    co_return tl::unexpected(supported.error());
  }
  if (supported->opcode() == Opcode::kError ||
      supported->header.protocolVersion() != static_cast<std::uint8_t>(version)) {
    deadline.cancel();
    co_return fail(ErrorCode::kProtocol, where + ": " + std::string(kVersionRefused) + " (v" +
                                             std::to_string(static_cast<int>(version)) + ")");
  }
  bool lz4 = false;
  if (config_.compression) {
    if (auto options = decodeSupported(supported->body)) {
      for (const auto& c : (*options)["COMPRESSION"]) {
        lz4 = lz4 || c == "lz4";
      }
    }
  }
  std::map<std::string, std::string> startup{{"CQL_VERSION", "3.0.0"}, {"DRIVER_NAME", "cesync"}};
  if (lz4) {
    startup["COMPRESSION"] = "lz4";
  }
  auto answer = co_await roundTrip(Opcode::kStartup, encodeStartup(startup));
  deadline.cancel();
  if (!answer) {
    co_return tl::unexpected(answer.error());
  }
  if (answer->opcode() == Opcode::kError) {
    const auto err = decodeServerError(version, answer->body);
    if (err && err->code == ServerErrorCode::kProtocolError) {
      co_return fail(ErrorCode::kProtocol,
                     where + ": " + std::string(kVersionRefused) + ": " + err->message);
    }
    co_return tl::unexpected(err ? err->toError()
                                 : makeError(ErrorCode::kProtocol, where + ": bad ERROR"));
  }
  // From here on the negotiated framing and compression apply (v5 section 2.3.1).
  compressed_ = lz4;
  if (version == ProtocolVersion::kV5) {
    framed_ = true;
    segments_in_.emplace(lz4);
    segments_out_.emplace(lz4);
  } else {
    envelopes_in_.setV4Compression(lz4);
  }
  if (answer->opcode() == Opcode::kAuthenticate) {
    if (config_.username.empty()) {
      co_return fail(ErrorCode::kAuth, where +
                                           ": the node requires authentication and no "
                                           "username is configured");
    }
    std::string token;
    token.push_back('\0');
    token += config_.username;
    token.push_back('\0');
    token += config_.password;
    auto auth = co_await roundTrip(Opcode::kAuthResponse, encodeAuthResponse(asBytes(token)));
    if (!auth) {
      co_return tl::unexpected(auth.error());
    }
    if (auth->opcode() == Opcode::kError) {
      const auto err = decodeServerError(version, auth->body);
      co_return fail(ErrorCode::kAuth, where + ": authentication failed: " +
                                           (err ? err->message : std::string("bad ERROR")));
    }
    if (auth->opcode() != Opcode::kAuthSuccess) {
      co_return fail(
          ErrorCode::kAuth,
          where + ": unexpected " + std::string(opcodeName(auth->opcode())) + " during SASL PLAIN");
    }
  } else if (answer->opcode() != Opcode::kReady) {
    co_return fail(ErrorCode::kProtocol,
                   where + ": STARTUP answered with " + std::string(opcodeName(answer->opcode())));
  }
  if (!config_.keyspace.empty()) {
    QueryParameters params;
    params.consistency = Consistency::kOne;
    auto body = encodeQuery(version, "USE \"" + config_.keyspace + "\"", params);
    if (!body) {
      co_return tl::unexpected(body.error());
    }
    auto use = co_await roundTrip(Opcode::kQuery, *body);
    if (!use) {
      co_return tl::unexpected(use.error());
    }
    if (use->opcode() == Opcode::kError) {
      const auto err = decodeServerError(version, use->body);
      co_return tl::unexpected(err ? err->toError()
                                   : makeError(ErrorCode::kProtocol, where + ": bad ERROR"));
    }
  }
  pending_.resize(config_.max_streams);
  free_streams_.reserve(config_.max_streams);
  for (std::size_t i = config_.max_streams; i > 0; --i) {
    free_streams_.push_back(static_cast<std::int16_t>(i - 1));
  }
  co_return Status{};
}

awaitable<Result<Envelope>> Connection::roundTrip(Opcode op, const Bytes& body) {
  write_pending_.clear();
  encodeRequest(0, op, body);
  if (framed_) {
    segments_out_->flush(write_pending_);
  }
  const Bytes out = std::move(write_pending_);
  write_pending_.clear();
  CQL_CO_TRY(co_await writeRaw(out));
  co_return co_await readEnvelope();
}

awaitable<Status> Connection::writeRaw(const Bytes& bytes) {
  asio::error_code ec;
  if (config_.tls.enabled) {  // NOLINT(bugprone-branch-clone): same call, other stream type
    std::tie(ec, std::ignore) = co_await asio::async_write(stream_, asio::buffer(bytes), kNoThrow);
  } else {
    std::tie(ec, std::ignore) =
        co_await asio::async_write(stream_.next_layer(), asio::buffer(bytes), kNoThrow);
  }
  if (ec) {
    co_return tl::unexpected(ioError(endpoint(), "write", ec));
  }
  co_return Status{};
}

awaitable<Result<Envelope>> Connection::readEnvelope() {
  for (;;) {
    if (ready_pos_ < ready_.size()) {
      Envelope env = std::move(ready_[ready_pos_++]);
      if (ready_pos_ == ready_.size()) {
        ready_.clear();
        ready_pos_ = 0;
      }
      co_return env;
    }
    asio::error_code ec;
    std::size_t n = 0;
    if (config_.tls.enabled) {  // NOLINT(bugprone-branch-clone): same call, other stream type
      std::tie(ec, n) = co_await stream_.async_read_some(asio::buffer(read_buf_), kNoThrow);
    } else {
      std::tie(ec, n) =
          co_await stream_.next_layer().async_read_some(asio::buffer(read_buf_), kNoThrow);
    }
    if (ec) {
      co_return tl::unexpected(ioError(endpoint(), "read", ec));
    }
    last_read_ = std::chrono::steady_clock::now();
    const ByteView got(read_buf_.data(), n);
    if (framed_) {
      std::vector<Segment> segments;
      CQL_CO_TRY(segments_in_->feed(got, segments));
      for (const auto& s : segments) {
        CQL_CO_TRY(envelopes_in_.feed(s.payload, ready_));
      }
    } else {
      CQL_CO_TRY(envelopes_in_.feed(got, ready_));
    }
  }
}

awaitable<void> Connection::readLoop() {
  auto self = shared_from_this();
  while (open_) {
    auto env = co_await readEnvelope();
    if (!env) {
      close(env.error());
      co_return;
    }
    dispatch(std::move(*env));
  }
}

void Connection::encodeRequest(std::int16_t stream, Opcode op, const Bytes& body) {
  const auto v = static_cast<std::uint8_t>(version_);
  if (framed_) {
    Bytes env;
    env.reserve(kEnvelopeHeaderSize + body.size());
    encodeEnvelope(v, 0, stream, op, body, false, env);
    segments_out_->addEnvelope(env, write_pending_);
    return;
  }
  // v4 compresses every body after STARTUP when lz4 was agreed.
  const bool compress = compressed_ && op != Opcode::kStartup && op != Opcode::kOptions;
  encodeEnvelope(v, 0, stream, op, body, compress, write_pending_);
}

void Connection::send(Opcode op, const Bytes& body, Callback callback,
                      std::chrono::milliseconds timeout) {
  if (!open_) {
    asio::post(io_, [cb = std::move(callback), where = endpoint()] {
      cb(fail(ErrorCode::kIo, where + ": connection closed"));
    });
    return;
  }
  if (free_streams_.empty()) {
    asio::post(io_, [cb = std::move(callback), where = endpoint()] {
      cb(fail(ErrorCode::kUnavailable, where + ": all stream ids in use"));
    });
    return;
  }
  const std::int16_t stream = free_streams_.back();
  free_streams_.pop_back();
  auto& slot = pending_[static_cast<std::size_t>(stream)];
  slot.callback = std::move(callback);
  slot.deadline =
      std::chrono::steady_clock::now() + (timeout.count() > 0 ? timeout : config_.request_timeout);
  slot.used = true;
  ++in_flight_;
  encodeRequest(stream, op, body);
  startWriting();
}

void Connection::startWriting() {
  if (writing_ || !open_) {
    return;
  }
  if (framed_) {
    segments_out_->flush(write_pending_);
  }
  if (write_pending_.empty()) {
    return;
  }
  writing_ = true;
  std::swap(write_active_, write_pending_);
  write_pending_.clear();
  auto done = [self = shared_from_this()](const asio::error_code& ec, std::size_t) {
    self->writing_ = false;
    self->write_active_.clear();
    if (ec) {
      self->close(ioError(self->endpoint(), "write", ec));
      return;
    }
    self->startWriting();
  };
  if (config_.tls.enabled) {  // NOLINT(bugprone-branch-clone): same call, other stream type
    asio::async_write(stream_, asio::buffer(write_active_), std::move(done));
  } else {
    asio::async_write(stream_.next_layer(), asio::buffer(write_active_), std::move(done));
  }
}

void Connection::dispatch(Envelope env) {
  const std::int16_t stream = env.header.stream;
  if (stream < 0) {
    if (env.opcode() == Opcode::kEvent && on_event_) {
      const auto prefix = skipBodyPrefix(env.header.flags, env.body);
      if (prefix) {
        if (auto event = decodeEvent(ByteView(env.body).subspan(prefix->offset))) {
          on_event_(*event);
        }
      }
    }
    return;
  }
  const auto index = static_cast<std::size_t>(stream);
  if (index >= pending_.size() || !pending_[index].used) {
    // A response to a stream we do not own: the peer is confused; the stream cannot be trusted.
    close(makeError(ErrorCode::kProtocol,
                    endpoint() + ": response on unused stream " + std::to_string(stream)));
    return;
  }
  Callback cb = std::move(pending_[index].callback);
  pending_[index] = Pending{};
  free_streams_.push_back(stream);
  --in_flight_;
  if (cb) {
    cb(std::move(env));
  }
}

void Connection::scheduleSweep() {
  sweep_timer_.expires_after(kSweepInterval);
  sweep_timer_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
    if (!ec && self->open_) {
      self->sweep();
      self->scheduleSweep();
    }
  });
}

void Connection::sweep() {
  const auto now = std::chrono::steady_clock::now();
  std::size_t orphans = 0;
  for (std::size_t i = 0; i < pending_.size(); ++i) {
    auto& slot = pending_[i];
    // A timed-out stream stays reserved (callback gone) until its late answer arrives, so a
    // reused id can never receive the previous request's response.
    if (slot.used && slot.callback && slot.deadline < now) {
      Callback cb = std::move(slot.callback);
      slot.callback = nullptr;
      cb(fail(ErrorCode::kTimeout, endpoint() + ": no answer within the request timeout"));
    }
    orphans += slot.used && !slot.callback ? 1U : 0U;
    if (!open_) {
      return;  // a callback closed the connection
    }
  }
  // A node that leaves half the stream ids unanswered is not coming back: start afresh.
  if (orphans > pending_.size() / 2) {
    close(makeError(ErrorCode::kTimeout,
                    endpoint() + ": " + std::to_string(orphans) + " requests never answered"));
    return;
  }
  if (!heartbeat_in_flight_ && now - last_read_ > config_.heartbeat_interval) {
    heartbeat_in_flight_ = true;
    ++heartbeats_sent_;
    std::weak_ptr<Connection> weak = shared_from_this();
    send(Opcode::kOptions, {}, [weak](Result<Envelope> r) {
      auto self = weak.lock();
      if (!self) {
        return;
      }
      self->heartbeat_in_flight_ = false;
      if (!r) {
        self->close(makeError(ErrorCode::kIo,
                              self->endpoint() + ": heartbeat failed: " + r.error().message));
      }
    });
  }
}

void Connection::close(const Error& why) {
  if (!open_) {
    return;
  }
  open_ = false;
  asio::error_code ignored;
  sweep_timer_.cancel();
  stream_.next_layer().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  stream_.next_layer().close(ignored);
  std::vector<Callback> failed;
  for (auto& slot : pending_) {
    if (slot.used && slot.callback) {
      failed.push_back(std::move(slot.callback));
    }
    slot = Pending{};
  }
  in_flight_ = 0;
  for (auto& cb : failed) {
    cb(tl::unexpected(why));
  }
  if (on_close_) {
    on_close_(why);
  }
}

}  // namespace cesync::cql
