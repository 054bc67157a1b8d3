#pragma once

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "cql/connection_config.h"
#include "cql/frame/envelope.h"
#include "cql/frame/segment.h"
#include "cql/message/result.h"

namespace cesync::cql {

/// One native-protocol connection to one node: TLS, the STARTUP/AUTHENTICATE handshake with
/// version negotiation, and many requests in flight told apart by stream id, each with its own
/// deadline. Responses and events are dispatched to callbacks on the io_context's thread.
///
/// Threading: every method must be called on the thread running the io_context (post to it from
/// elsewhere); callbacks run on that thread and must not block.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Callback = std::function<void(Result<Envelope>)>;
  using EventHandler = std::function<void(const Event&)>;
  using CloseHandler = std::function<void(const Error&)>;
  using OpenHandler = std::function<void(Result<std::shared_ptr<Connection>>)>;

  /// Connects, negotiates and authenticates; `done` gets the ready connection or why not.
  static void open(asio::io_context& io, asio::ssl::context& tls, ConnectionConfig config,
                   OpenHandler done);

  Connection(asio::io_context& io, asio::ssl::context& tls, ConnectionConfig config);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Sends a request; `callback` gets the response envelope (ERROR included), or kTimeout after
  /// `timeout` (the connection's request_timeout when zero), or kIo when the connection closes,
  /// or kUnavailable at once when every stream id is in use.
  void send(Opcode op, const Bytes& body, Callback callback,
            std::chrono::milliseconds timeout = std::chrono::milliseconds{0});

  /// Closes the socket and fails every request in flight with `why`. Idempotent.
  void close(const Error& why);

  void setEventHandler(EventHandler h) { on_event_ = std::move(h); }
  void setCloseHandler(CloseHandler h) { on_close_ = std::move(h); }

  [[nodiscard]] bool isOpen() const { return open_; }
  [[nodiscard]] std::size_t inFlight() const { return in_flight_; }
  /// Heartbeats (OPTIONS on an idle connection) sent so far.
  [[nodiscard]] std::uint64_t heartbeatsSent() const { return heartbeats_sent_; }
  [[nodiscard]] ProtocolVersion version() const { return version_; }
  [[nodiscard]] const ConnectionConfig& config() const { return config_; }
  [[nodiscard]] std::string endpoint() const;

 private:
  struct Pending {
    Callback callback;
    std::chrono::steady_clock::time_point deadline;
    bool used = false;
  };

  asio::awaitable<Status> handshake(ProtocolVersion version);
  asio::awaitable<Result<Envelope>> readEnvelope();
  asio::awaitable<Status> writeRaw(const Bytes& bytes);
  asio::awaitable<Result<Envelope>> roundTrip(Opcode op, const Bytes& body);
  asio::awaitable<void> readLoop();
  void startWriting();
  void dispatch(Envelope env);
  void sweep();
  void scheduleSweep();
  void encodeRequest(std::int16_t stream, Opcode op, const Bytes& body);

  asio::io_context& io_;
  ConnectionConfig config_;
  asio::ssl::stream<asio::ip::tcp::socket> stream_;
  asio::steady_timer sweep_timer_;
  ProtocolVersion version_ = ProtocolVersion::kV5;
  bool framed_ = false;      // v5 frames in use (after STARTUP)
  bool compressed_ = false;  // lz4 negotiated
  bool open_ = false;
  bool writing_ = false;
  bool heartbeat_in_flight_ = false;
  std::optional<SegmentDecoder> segments_in_;
  std::optional<SegmentEncoder> segments_out_;
  EnvelopeDecoder envelopes_in_;
  std::vector<Envelope> ready_;  // decoded, not yet consumed
  std::size_t ready_pos_ = 0;
  std::vector<std::uint8_t> read_buf_;
  Bytes write_pending_;
  Bytes write_active_;
  std::vector<Pending> pending_;
  std::vector<std::int16_t> free_streams_;
  std::size_t in_flight_ = 0;
  std::uint64_t heartbeats_sent_ = 0;
  std::chrono::steady_clock::time_point last_read_;
  EventHandler on_event_;
  CloseHandler on_close_;
};

}  // namespace cesync::cql
