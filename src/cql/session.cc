#include "cql/session.h"

#include <algorithm>
#include <asio.hpp>
#include <asio/ssl.hpp>
#include <atomic>
#include <charconv>
#include <future>
#include <map>
#include <thread>

#include "common/backoff.h"
#include "cql/connection.h"
#include "cql/message/server_error.h"
#include "cql/retry_policy.h"
#include "cql/token_map.h"
#include "cql/types/value_codec.h"
#include "util/murmur3.h"

namespace cesync::cql {

namespace {

constexpr std::chrono::milliseconds kMaintenanceInterval{1000};
constexpr std::chrono::milliseconds kSchemaPollInterval{200};

// "host" or "host:port" (an IPv6 address without brackets is a host).
Result<std::pair<std::string, std::uint16_t>> splitHostPort(const std::string& s,
                                                            std::uint16_t port) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos || s.find(':') != colon) {
    return std::make_pair(s, port);
  }
  std::uint16_t parsed = 0;
  const char* begin = s.data() + colon + 1;
  const char* end = s.data() + s.size();
  const auto res = std::from_chars(begin, end, parsed);
  if (res.ec != std::errc{} || res.ptr != end || parsed == 0) {
    return fail(ErrorCode::kConfig, "bad port in contact point '" + s + "'");
  }
  return std::make_pair(s.substr(0, colon), parsed);
}

std::vector<std::string> textSet(const Row& row, std::size_t col) {
  std::vector<std::string> out;
  auto v = row.value(col);
  if (v && !v->isNull()) {
    for (const auto& e : v->elements()) {
      out.push_back(e.asString());
    }
  }
  return out;
}

std::string textOr(const Row& row, std::optional<std::size_t> col) {
  if (!col || row.isNull(*col)) {
    return {};
  }
  auto v = row.value(*col);
  if (!v || v->isNull()) {
    return {};
  }
  switch (v->kind()) {
    case TypeKind::kInet:
      return v->asInet().toString();
    case TypeKind::kUuid:
    case TypeKind::kTimeuuid:
      return v->toString();
    case TypeKind::kAscii:
    case TypeKind::kVarchar:
      return v->asString();
    case TypeKind::kCustom:
    case TypeKind::kBigint:
    case TypeKind::kBlob:
    case TypeKind::kBoolean:
    case TypeKind::kCounter:
    case TypeKind::kDecimal:
    case TypeKind::kDouble:
    case TypeKind::kFloat:
    case TypeKind::kInt:
    case TypeKind::kTimestamp:
    case TypeKind::kVarint:
    case TypeKind::kDate:
    case TypeKind::kTime:
    case TypeKind::kSmallint:
    case TypeKind::kTinyint:
    case TypeKind::kDuration:
    case TypeKind::kList:
    case TypeKind::kMap:
    case TypeKind::kSet:
    case TypeKind::kUdt:
    case TypeKind::kTuple:
    case TypeKind::kVector:
      return v->toString();
  }
  return {};
}

}  // namespace

struct HostPool {
  HostInfo info;
  std::vector<std::shared_ptr<Connection>> conns;
  std::size_t connecting = 0;
  std::unique_ptr<Backoff> backoff;
  std::chrono::steady_clock::time_point next_attempt{};
};

/// What one request carries through its attempts.
struct Request {
  Statement statement;
  std::optional<Batch> batch;
  std::shared_ptr<Connection> pinned;  // control-connection queries
  std::function<void(Result<ResultSet>)> done;
  std::vector<std::size_t> plan;
  std::size_t plan_pos = 0;
  int attempt = 0;
  std::shared_ptr<Connection> conn;
};

class SessionImpl : public std::enable_shared_from_this<SessionImpl> {
 public:
  explicit SessionImpl(SessionConfig cfg)
      : config(std::move(cfg)),
        work(asio::make_work_guard(io)),
        tls(asio::ssl::context::tls_client),
        maintenance(io) {}

  SessionConfig config;
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  asio::ssl::context tls;
  asio::steady_timer maintenance;
  std::thread thread;
  std::atomic<bool> stopped{false};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> retries{0};
  std::atomic<std::uint64_t> reprepares{0};
  std::atomic<std::uint64_t> timeouts{0};
  std::mutex stop_mu;

  // I/O-thread state.
  std::vector<HostPool> pools;
  TokenMap token_map;
  std::shared_ptr<Connection> control;
  std::size_t round_robin = 0;
  std::function<void(const Event&)> event_handler;
  ProtocolVersion version = ProtocolVersion::kV5;
  std::string local_dc;  // requests stay in this datacenter while it has nodes up
  std::shared_ptr<std::promise<void>> pools_ready;  // set while connect() waits for the pools

  // Any thread.
  std::mutex prepared_mu;
  std::map<std::string, PreparedPtr> prepared;
  mutable std::mutex hosts_mu;
  std::vector<HostInfo> hosts_snapshot;
  std::shared_ptr<const TokenMap> token_map_snapshot;  // null when not routing by token

  ConnectionConfig connectionConfig(const std::string& host, std::uint16_t port) const {
    ConnectionConfig c;
    c.host = host;
    c.port = port;
    c.max_version = config.max_protocol_version;
    c.compression = config.compression;
    c.username = config.username;
    c.password = config.password;
    c.tls = config.tls;
    c.connect_timeout = config.connect_timeout;
    c.request_timeout = config.request_timeout;
    c.heartbeat_interval = config.heartbeat_interval;
    c.keyspace = config.keyspace;
    return c;
  }

  // Runs `fn` on the I/O thread and waits for the value it hands to its promise.
  template <typename T, typename Fn>
  T onIoThread(Fn fn) {
    auto promise = std::make_shared<std::promise<T>>();
    auto future = promise->get_future();
    asio::post(io, [promise, fn = std::move(fn)]() mutable { fn(std::move(promise)); });
    return future.get();
  }

  // --- pools -------------------------------------------------------------------------------

  std::size_t addHost(HostInfo info) {
    for (std::size_t i = 0; i < pools.size(); ++i) {
      if (pools[i].info.address == info.address && pools[i].info.port == info.port) {
        pools[i].info.tokens = std::move(info.tokens);
        pools[i].info.datacenter = std::move(info.datacenter);
        pools[i].info.rack = std::move(info.rack);
        return i;
      }
    }
    HostPool pool;
    pool.info = std::move(info);
    BackoffPolicy policy;
    policy.max = std::max(config.reconnect_max_delay, std::chrono::milliseconds{1});
    policy.initial = std::min(std::chrono::milliseconds{200}, policy.max);
    policy.max_retries = std::nullopt;
    pool.backoff = std::make_unique<Backoff>(policy);
    pools.push_back(std::move(pool));
    return pools.size() - 1;
  }

  void fillPools() {
    const auto now = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < pools.size(); ++i) {
      auto& pool = pools[i];
      std::erase_if(pool.conns, [](const auto& c) { return !c->isOpen(); });
      if (pool.next_attempt > now) {
        continue;
      }
      while (pool.conns.size() + pool.connecting < config.connections_per_host) {
        ++pool.connecting;
        openPoolConnection(i);
      }
    }
  }

  void openPoolConnection(std::size_t index) {
    auto self = shared_from_this();
    const auto& info = pools[index].info;
    Connection::open(io, tls, connectionConfig(info.address, info.port),
                     [self, index](Result<std::shared_ptr<Connection>> r) {
                       auto& pool = self->pools[index];
                       --pool.connecting;
                       if (self->stopped) {
                         if (r) {
                           (*r)->close(makeError(ErrorCode::kCancelled, "session stopped"));
                         }
                         return;
                       }
                       if (!r) {
                         pool.info.up = false;
                         pool.next_attempt =
                             std::chrono::steady_clock::now() + *pool.backoff->next();
                         self->publishHosts();
                         self->checkPoolsReady();
                         return;
                       }
                       pool.backoff->reset();
                       pool.info.up = true;
                       self->version = (*r)->version();
                       pool.conns.push_back(*r);
                       self->publishHosts();
                       self->checkPoolsReady();
                     });
  }

  // Fulfils pools_ready once no pool has a connection attempt under way.
  void checkPoolsReady() {
    if (!pools_ready) {
      return;
    }
    for (const auto& p : pools) {
      if (p.connecting > 0) {
        return;
      }
    }
    pools_ready->set_value();
    pools_ready.reset();
  }

  void scheduleMaintenance() {
    maintenance.expires_after(kMaintenanceInterval);
    maintenance.async_wait([self = shared_from_this()](const asio::error_code& ec) {
      if (ec || self->stopped) {
        return;
      }
      self->fillPools();
      if (!self->control || !self->control->isOpen()) {
        self->reconnectControl();
      }
      self->scheduleMaintenance();
    });
  }

  void publishHosts() {
    std::vector<HostInfo> snapshot;
    for (const auto& p : pools) {
      snapshot.push_back(p.info);
    }
    std::lock_guard lock(hosts_mu);
    hosts_snapshot = std::move(snapshot);
  }

  std::shared_ptr<Connection> leastBusy(std::size_t host) {
    std::shared_ptr<Connection> best;
    for (const auto& c : pools[host].conns) {
      if (c->isOpen() && (!best || c->inFlight() < best->inFlight())) {
        best = c;
      }
    }
    return best;
  }

  // --- control connection and topology ------------------------------------------------------

  void setupControl(std::shared_ptr<Connection> conn) {
    control = std::move(conn);
    version = control->version();
    std::weak_ptr<SessionImpl> weak = shared_from_this();
    control->setEventHandler([weak](const Event& e) {
      if (auto self = weak.lock()) {
        self->handleEvent(e);
      }
    });
    control->send(Opcode::kRegister,
                  encodeRegister({"TOPOLOGY_CHANGE", "STATUS_CHANGE", "SCHEMA_CHANGE"}),
                  [](const Result<Envelope>&) {});
  }

  void reconnectControl() {
    for (std::size_t i = 0; i < pools.size(); ++i) {
      if (!pools[i].info.up) {
        continue;
      }
      auto self = shared_from_this();
      const auto& info = pools[i].info;
      control.reset();
      Connection::open(io, tls, connectionConfig(info.address, info.port),
                       [self](Result<std::shared_ptr<Connection>> r) {
                         if (r && !self->stopped) {
                           self->setupControl(*r);
                           self->refreshTopology([](const Status&) {});
                         }
                       });
      return;
    }
  }

  void handleEvent(const Event& e) {
    if (event_handler) {
      event_handler(e);
    }
    if (e.type == "TOPOLOGY_CHANGE" || e.type == "STATUS_CHANGE") {
      if (e.change == "UP") {
        for (auto& p : pools) {
          if (p.info.address == e.address) {
            p.next_attempt = {};
          }
        }
      }
      refreshTopology([](const Status&) {});
    }
  }

  void controlQuery(const std::string& cql, std::function<void(Result<ResultSet>)> done) {
    auto req = std::make_shared<Request>();
    req->statement = Statement::of(cql);
    req->statement.consistency = Consistency::kOne;
    req->statement.page_size = 0;
    req->statement.idempotent = true;
    req->pinned = control;
    req->done = std::move(done);
    start(req);
  }

  void refreshTopology(std::function<void(Status)> done) {
    if (!control || !control->isOpen()) {
      done(fail(ErrorCode::kIo, "no control connection"));
      return;
    }
    auto self = shared_from_this();
    controlQuery("SELECT rpc_address, data_center, rack, tokens, partitioner FROM system.local",
                 [self, done = std::move(done)](Result<ResultSet> local) mutable {
                   if (!local) {
                     done(tl::unexpected(local.error()));
                     return;
                   }
                   std::vector<HostInfo> found;
                   const auto& rows = local->rows;
                   const std::string control_host = self->control->config().host;
                   const std::uint16_t control_port = self->control->config().port;
                   for (const auto row : rows) {
                     HostInfo h;
                     // The control node is reached by the address we dialled, whatever it
                     // announces.
                     h.address = control_host;
                     h.port = control_port;
                     h.datacenter = textOr(row, rows.columnIndex("data_center"));
                     h.rack = textOr(row, rows.columnIndex("rack"));
                     h.tokens = textSet(row, *rows.columnIndex("tokens"));
                     if (self->local_dc.empty()) {
                       // Without a configured datacenter, the contact point's is the local one.
                       self->local_dc = h.datacenter;
                     }
                     const std::string partitioner = textOr(row, rows.columnIndex("partitioner"));
                     if (partitioner.find("Murmur3Partitioner") == std::string::npos) {
                       self->config.token_aware = false;
                     }
                     found.push_back(std::move(h));
                   }
                   if (!self->config.discover_peers) {
                     self->applyTopology(std::move(found));
                     done(Status{});
                     return;
                   }
                   self->controlQuery(
                       "SELECT peer, native_address, native_port, data_center, rack, tokens FROM "
                       "system.peers_v2",
                       [self, found = std::move(found),
                        done = std::move(done)](Result<ResultSet> peers) mutable {
                         if (peers) {
                           const auto& prow = peers->rows;
                           for (const auto row : prow) {
                             HostInfo h;
                             h.address = textOr(row, prow.columnIndex("native_address"));
                             if (h.address.empty() || h.address == "0.0.0.0") {
                               h.address = textOr(row, prow.columnIndex("peer"));
                             }
                             const auto port = prow.columnIndex("native_port");
                             h.port =
                                 port && !row.isNull(*port)
                                     ? static_cast<std::uint16_t>(*row.get<std::int32_t>(*port))
                                     : self->config.port;
                             h.datacenter = textOr(row, prow.columnIndex("data_center"));
                             h.rack = textOr(row, prow.columnIndex("rack"));
                             h.tokens = textSet(row, *prow.columnIndex("tokens"));
                             found.push_back(std::move(h));
                           }
                         }
                         self->applyTopology(std::move(found));
                         done(Status{});
                       });
                 });
  }

  void applyTopology(std::vector<HostInfo> found) {
    TokenMap map;
    for (auto& h : found) {
      auto tokens = h.tokens;
      const std::size_t index = addHost(std::move(h));
      map.addHost(index, tokens);
    }
    map.build();
    token_map = std::move(map);
    {
      std::lock_guard lock(hosts_mu);
      token_map_snapshot = config.token_aware && !token_map.empty()
                               ? std::make_shared<const TokenMap>(token_map)
                               : nullptr;
    }
    publishHosts();
    fillPools();
  }

  // --- requests --------------------------------------------------------------------------------

  std::vector<std::size_t> queryPlan(const Request& req) {
    std::vector<std::size_t> plan;
    if (pools.empty()) {
      return plan;
    }
    std::optional<std::size_t> owner;
    const auto& st = req.statement;
    if (config.token_aware && !req.batch && st.routing_token && !token_map.empty()) {
      owner = token_map.ownerOf(*st.routing_token);
    } else if (config.token_aware && !req.batch && st.prepared &&
               !st.prepared->pk_indexes_.empty() && !token_map.empty()) {
      std::vector<Bytes> parts;
      for (const auto idx : st.prepared->pk_indexes_) {
        if (idx >= st.values.size() || st.values[idx].isNull() || st.values[idx].isUnset()) {
          parts.clear();
          break;
        }
        Bytes b;
        if (!encodeValue(*st.prepared->bind_types_[idx], st.values[idx], b)) {
          parts.clear();
          break;
        }
        parts.push_back(std::move(b));
      }
      if (!parts.empty()) {
        owner = token_map.ownerOf(util::murmur3Token(TokenMap::routingKey(parts)));
      }
    }
    const auto local = [this](std::size_t h) {
      return local_dc.empty() || pools[h].info.datacenter == local_dc;
    };
    // pools.size() stands for "no owner first".
    std::size_t first = pools.size();
    if (owner && *owner < pools.size() && local(*owner)) {
      first = *owner;
      plan.push_back(first);
    }
    // Local-datacenter nodes round robin, then the others as a last resort.
    const std::size_t start_at = round_robin++;
    for (const bool want_local : {true, false}) {
      for (std::size_t i = 0; i < pools.size(); ++i) {
        const std::size_t h = (start_at + i) % pools.size();
        if (local(h) == want_local && h != first) {
          plan.push_back(h);
        }
      }
    }
    return plan;
  }

  void start(const std::shared_ptr<Request>& req) {
    if (stopped) {
      req->done(fail(ErrorCode::kCancelled, "session stopped"));
      return;
    }
    if (!req->pinned) {
      req->plan = queryPlan(*req);
    }
    ++requests;
    attempt(req);
  }

  std::shared_ptr<Connection> pickConnection(const std::shared_ptr<Request>& req) {
    if (req->pinned) {
      return req->pinned->isOpen() ? req->pinned : nullptr;
    }
    while (req->plan_pos < req->plan.size()) {
      if (auto c = leastBusy(req->plan[req->plan_pos])) {
        return c;
      }
      ++req->plan_pos;
    }
    return nullptr;
  }

  QueryParameters parameters(const Statement& st, const PreparedStatement* p) const {
    QueryParameters params;
    params.consistency = st.consistency.value_or(config.consistency);
    params.values = st.values;
    params.value_types = p != nullptr ? &p->bind_types_ : nullptr;
    params.page_size = st.page_size;
    params.paging_state = st.paging_state;
    params.serial_consistency = st.serial_consistency;
    params.default_timestamp = st.timestamp;
    return params;
  }

  Result<std::pair<Opcode, Bytes>> encode(const Request& req, ProtocolVersion v) const {
    if (req.batch) {
      const Batch& b = *req.batch;
      std::vector<BatchStatement> entries;
      entries.reserve(b.statements.size());
      for (const auto& s : b.statements) {
        BatchStatement e;
        e.values = s.values;
        if (s.prepared) {
          std::lock_guard lock(s.prepared->mu_);
          e.prepared_id = s.prepared->id_;
          e.value_types = &s.prepared->bind_types_;
        } else {
          e.query = s.query;
        }
        entries.push_back(std::move(e));
      }
      QueryParameters params;
      params.consistency = b.consistency.value_or(config.consistency);
      params.serial_consistency = b.serial_consistency;
      params.default_timestamp = b.timestamp;
      CESYNC_ASSIGN_OR_RETURN(body, encodeBatch(v, b.type, entries, params));
      return std::make_pair(Opcode::kBatch, std::move(body));
    }
    const Statement& st = req.statement;
    if (st.prepared) {
      Bytes id;
      Bytes mid;
      {
        std::lock_guard lock(st.prepared->mu_);
        id = st.prepared->id_;
        mid = st.prepared->result_metadata_id_;
      }
      CESYNC_ASSIGN_OR_RETURN(body, encodeExecute(v, id, mid, parameters(st, st.prepared.get())));
      return std::make_pair(Opcode::kExecute, std::move(body));
    }
    CESYNC_ASSIGN_OR_RETURN(body, encodeQuery(v, st.query, parameters(st, nullptr)));
    return std::make_pair(Opcode::kQuery, std::move(body));
  }

  bool idempotent(const Request& req) const {
    return req.batch ? req.batch->idempotent : req.statement.idempotent;
  }

  void attempt(const std::shared_ptr<Request>& req) {
    auto conn = pickConnection(req);
    if (!conn) {
      req->done(fail(ErrorCode::kUnavailable, "no node available for the request"));
      return;
    }
    req->conn = conn;
    auto encoded = encode(*req, conn->version());
    if (!encoded) {
      req->done(tl::unexpected(encoded.error()));
      return;
    }
    auto self = shared_from_this();
    conn->send(
        encoded->first, encoded->second,
        [self, req](Result<Envelope> r) { self->onResponse(req, std::move(r)); },
        req->statement.timeout);
  }

  void retry(const std::shared_ptr<Request>& req, RetryDecision decision, const Error& error,
             const ServerError* server) {
    switch (decision) {
      case RetryDecision::kReturn:
        req->done(tl::unexpected(error));
        return;
      case RetryDecision::kRetrySameHost:
        ++retries;
        ++req->attempt;
        attempt(req);
        return;
      case RetryDecision::kRetryNextHost:
        ++retries;
        ++req->attempt;
        if (!req->pinned) {
          ++req->plan_pos;
          if (req->plan_pos >= req->plan.size()) {
            // Every node of the plan was tried: the last error is the answer.
            req->done(tl::unexpected(error));
            return;
          }
        }
        attempt(req);
        return;
      case RetryDecision::kReprepare:
        ++reprepares;
        ++req->attempt;
        reprepare(req, server != nullptr ? server->unprepared_id : Bytes{});
        return;
    }
  }

  void reprepare(const std::shared_ptr<Request>& req, const Bytes& unprepared_id) {
    PreparedPtr target = req->statement.prepared;
    if (req->batch) {
      target.reset();
      for (const auto& s : req->batch->statements) {
        if (s.prepared) {
          std::lock_guard lock(s.prepared->mu_);
          if (s.prepared->id_ == unprepared_id) {
            target = s.prepared;
            break;
          }
        }
      }
    }
    if (!target) {
      req->done(fail(ErrorCode::kRejected, "node lost a prepared statement this batch lacks"));
      return;
    }
    auto self = shared_from_this();
    req->conn->send(Opcode::kPrepare,
                    encodePrepare(req->conn->version(), target->query_, target->keyspace_),
                    [self, req, target](Result<Envelope> r) {
                      auto updated = self->preparedFrom(std::move(r), req->conn->version());
                      if (!updated) {
                        req->done(tl::unexpected(updated.error()));
                        return;
                      }
                      {
                        std::lock_guard lock(target->mu_);
                        target->id_ = updated->id;
                        target->result_metadata_id_ = updated->result_metadata_id;
                      }
                      self->attempt(req);
                    });
  }

  Result<PreparedResult> preparedFrom(Result<Envelope> r, ProtocolVersion v) {
    if (!r) {
      return tl::unexpected(r.error());
    }
    CESYNC_ASSIGN_OR_RETURN(prefix, skipBodyPrefix(r->header.flags, r->body));
    if (r->opcode() == Opcode::kError) {
      CESYNC_ASSIGN_OR_RETURN(err, decodeServerError(v, ByteView(r->body).subspan(prefix.offset)));
      return tl::unexpected(err.toError());
    }
    auto body = std::make_shared<const Bytes>(std::move(r->body));
    CESYNC_ASSIGN_OR_RETURN(msg, decodeResult(v, body, prefix.offset));
    if (auto* p = std::get_if<PreparedResult>(&msg)) {
      return std::move(*p);
    }
    return fail(ErrorCode::kProtocol, "PREPARE did not answer with a prepared result");
  }

  void onResponse(const std::shared_ptr<Request>& req, Result<Envelope> r) {
    const bool idem = idempotent(*req);
    if (!r) {
      if (r.error().code == ErrorCode::kTimeout) {
        ++timeouts;
      }
      retry(req, decideOnClientError(r.error().code, idem, req->attempt, config.max_retries),
            r.error(), nullptr);
      return;
    }
    const ProtocolVersion v = req->conn->version();
    auto prefix = skipBodyPrefix(r->header.flags, r->body);
    if (!prefix) {
      req->done(tl::unexpected(prefix.error()));
      return;
    }
    if (r->opcode() == Opcode::kError) {
      auto err = decodeServerError(v, ByteView(r->body).subspan(prefix->offset));
      if (!err) {
        req->done(tl::unexpected(err.error()));
        return;
      }
      if (err->code == ServerErrorCode::kUnprepared && !req->statement.prepared && !req->batch) {
        req->done(tl::unexpected(err->toError()));
        return;
      }
      retry(req, decideOnServerError(*err, idem, req->attempt, config.max_retries), err->toError(),
            &*err);
      return;
    }
    if (r->opcode() != Opcode::kResult) {
      req->done(fail(ErrorCode::kProtocol,
                     "unexpected " + std::string(opcodeName(r->opcode())) + " response"));
      return;
    }
    auto body = std::make_shared<const Bytes>(std::move(r->body));
    auto msg = decodeResult(v, body, prefix->offset);
    if (!msg) {
      req->done(tl::unexpected(msg.error()));
      return;
    }
    ResultSet rs;
    rs.warnings = std::move(prefix->warnings);
    if (auto* rows = std::get_if<RowsResult>(&*msg)) {
      rs.rows = std::move(rows->rows);
      rs.paging_state = std::move(rows->paging_state);
      if (rows->new_metadata_id && req->statement.prepared) {
        std::lock_guard lock(req->statement.prepared->mu_);
        req->statement.prepared->result_metadata_id_ = *rows->new_metadata_id;
      }
    } else if (auto* sc = std::get_if<SchemaChange>(&*msg)) {
      rs.schema_change = std::move(*sc);
    }
    req->done(std::move(rs));
  }

  void stopAll() {
    stopped = true;
    maintenance.cancel();
    const Error why = makeError(ErrorCode::kCancelled, "session stopped");
    if (control) {
      control->close(why);
    }
    for (auto& p : pools) {
      for (auto& c : p.conns) {
        c->close(why);
      }
      p.conns.clear();
    }
  }
};

Session::Session(std::shared_ptr<SessionImpl> impl) : impl_(std::move(impl)) {}

Session::~Session() {
  stop();
}

Result<std::unique_ptr<Session>> Session::connect(SessionConfig config) {
  if (config.contact_points.empty()) {
    return fail(ErrorCode::kConfig, "no contact points");
  }
  auto impl = std::make_shared<SessionImpl>(std::move(config));
  auto& cfg = impl->config;
  impl->local_dc = cfg.local_datacenter;
  if (cfg.tls.enabled) {
    asio::error_code ec;
    if (!cfg.tls.ca_file.empty()) {
      impl->tls.load_verify_file(cfg.tls.ca_file, ec);
      if (ec) {
        return fail(ErrorCode::kConfig, "TLS CA file " + cfg.tls.ca_file + ": " + ec.message());
      }
    } else {
      impl->tls.set_default_verify_paths(ec);
    }
    if (!cfg.tls.cert_file.empty()) {
      impl->tls.use_certificate_chain_file(cfg.tls.cert_file, ec);
      if (ec) {
        return fail(ErrorCode::kConfig,
                    "TLS certificate " + cfg.tls.cert_file + ": " + ec.message());
      }
      impl->tls.use_private_key_file(cfg.tls.key_file, asio::ssl::context::pem, ec);
      if (ec) {
        return fail(ErrorCode::kConfig, "TLS key " + cfg.tls.key_file + ": " + ec.message());
      }
    }
  }
  std::vector<std::pair<std::string, std::uint16_t>> addresses;
  for (const auto& cp : cfg.contact_points) {
    CESYNC_ASSIGN_OR_RETURN(address, splitHostPort(cp, cfg.port));
    addresses.push_back(std::move(address));
  }
  // The thread holds a plain pointer: the Session owns the implementation and joins the thread
  // before letting go of it.
  SessionImpl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->io.run(); });

  // Control connection: the first contact point that accepts.
  Error last = makeError(ErrorCode::kUnavailable, "no contact point reachable");
  std::shared_ptr<Connection> control;
  for (const auto& [host, port] : addresses) {
    auto conn = impl->onIoThread<Result<std::shared_ptr<Connection>>>([impl, host = host,
                                                                       port = port](auto promise) {
      Connection::open(
          impl->io, impl->tls, impl->connectionConfig(host, port),
          [promise](Result<std::shared_ptr<Connection>> r) { promise->set_value(std::move(r)); });
    });
    if (conn) {
      control = *conn;
      break;
    }
    last = conn.error();
  }
  if (!control) {
    asio::post(impl->io, [impl] { impl->work.reset(); });
    impl->thread.join();
    return tl::unexpected(last);
  }
  const Status topo = impl->onIoThread<Status>([impl, control](auto promise) {
    impl->setupControl(control);
    impl->refreshTopology([promise](Status st) { promise->set_value(std::move(st)); });
  });
  if (!topo) {
    // Without topology the contact point alone serves.
    impl->onIoThread<int>([impl, control](auto promise) {
      HostInfo h;
      h.address = control->config().host;
      h.port = control->config().port;
      impl->applyTopology({h});
      promise->set_value(0);
    });
  }
  // Wait (bounded) until the first connection attempt of every pool has finished, so the first
  // request has somewhere to go.
  auto ready = impl->onIoThread<std::shared_ptr<std::promise<void>>>([impl](auto promise) {
    impl->pools_ready = std::make_shared<std::promise<void>>();
    promise->set_value(impl->pools_ready);
    impl->checkPoolsReady();
  });
  (void)ready->get_future().wait_for(cfg.connect_timeout);
  asio::post(impl->io, [impl] { impl->scheduleMaintenance(); });
  return std::unique_ptr<Session>(new Session(std::move(impl)));
}

Result<PreparedPtr> Session::prepare(const std::string& query) {
  if (impl_->stopped) {
    return fail(ErrorCode::kCancelled, "session stopped");
  }
  {
    std::lock_guard lock(impl_->prepared_mu);
    if (auto it = impl_->prepared.find(query); it != impl_->prepared.end()) {
      return it->second;
    }
  }
  auto impl = impl_;
  auto result = impl->onIoThread<Result<PreparedResult>>([impl, query](auto promise) {
    auto req = std::make_shared<Request>();
    req->plan = impl->queryPlan(*req);
    auto conn = impl->pickConnection(req);
    if (!conn) {
      promise->set_value(fail(ErrorCode::kUnavailable, "no node available to prepare on"));
      return;
    }
    conn->send(Opcode::kPrepare, encodePrepare(conn->version(), query, ""),
               [impl, conn, promise](Result<Envelope> r) {
                 promise->set_value(impl->preparedFrom(std::move(r), conn->version()));
               });
  });
  if (!result) {
    return tl::unexpected(result.error());
  }
  auto p = std::make_shared<PreparedStatement>();
  p->query_ = query;
  p->bind_columns_ = result->bind_columns;
  for (const auto& c : *p->bind_columns_) {
    p->bind_types_.push_back(c.type);
  }
  p->result_columns_ = result->result.columns;
  p->pk_indexes_ = result->pk_indexes;
  p->id_ = std::move(result->id);
  p->result_metadata_id_ = std::move(result->result_metadata_id);
  std::lock_guard lock(impl_->prepared_mu);
  return impl_->prepared.emplace(query, std::move(p)).first->second;
}

void Session::executeAsync(Statement statement, std::function<void(Result<ResultSet>)> done) {
  auto impl = impl_;
  if (impl->stopped) {
    // The I/O thread is gone or going: nobody else would ever answer.
    done(fail(ErrorCode::kCancelled, "session stopped"));
    return;
  }
  auto req = std::make_shared<Request>();
  req->statement = std::move(statement);
  req->done = std::move(done);
  asio::post(impl->io, [impl, req] { impl->start(req); });
}

Result<ResultSet> Session::execute(const Statement& statement) {
  {
    std::lock_guard lock(impl_->stop_mu);
    if (impl_->stopped) {
      return fail(ErrorCode::kCancelled, "session stopped");
    }
  }
  auto promise = std::make_shared<std::promise<Result<ResultSet>>>();
  auto future = promise->get_future();
  executeAsync(statement, [promise](Result<ResultSet> r) { promise->set_value(std::move(r)); });
  return future.get();
}

Result<ResultSet> Session::execute(const std::string& query, std::vector<Value> values) {
  return execute(Statement::of(query, std::move(values)));
}

Result<ResultSet> Session::execute(const Batch& batch) {
  auto impl = impl_;
  if (impl->stopped) {
    return fail(ErrorCode::kCancelled, "session stopped");
  }
  auto req = std::make_shared<Request>();
  req->batch = batch;
  req->statement.idempotent = batch.idempotent;
  auto promise = std::make_shared<std::promise<Result<ResultSet>>>();
  auto future = promise->get_future();
  req->done = [promise](Result<ResultSet> r) { promise->set_value(std::move(r)); };
  asio::post(impl->io, [impl, req] { impl->start(req); });
  return future.get();
}

Pager Session::pages(Statement statement) {
  return Pager(*this, std::move(statement));
}

Result<std::optional<ResultSet>> Pager::next() {
  if (done_) {
    return std::optional<ResultSet>{};
  }
  CESYNC_ASSIGN_OR_RETURN(page, session_->execute(statement_));
  statement_.paging_state = page.paging_state;
  done_ = !page.paging_state.has_value();
  return std::optional<ResultSet>{std::move(page)};
}

Status Session::waitForSchemaAgreement(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto impl = impl_;
  for (;;) {
    if (impl->stopped) {
      return fail(ErrorCode::kCancelled, "session stopped");
    }
    auto versions = impl->onIoThread<Result<std::vector<std::string>>>([impl](auto promise) {
      impl->controlQuery("SELECT schema_version FROM system.local",
                         [impl, promise](Result<ResultSet> local) {
                           if (!local) {
                             promise->set_value(tl::unexpected(local.error()));
                             return;
                           }
                           std::vector<std::string> out;
                           for (const auto row : local->rows) {
                             out.push_back(textOr(row, 0));
                           }
                           impl->controlQuery("SELECT schema_version FROM system.peers_v2",
                                              [promise, out](Result<ResultSet> peers) mutable {
                                                if (peers) {
                                                  for (const auto row : peers->rows) {
                                                    out.push_back(textOr(row, 0));
                                                  }
                                                }
                                                promise->set_value(std::move(out));
                                              });
                         });
    });
    if (versions) {
      bool agreed = true;
      for (const auto& v : *versions) {
        agreed = agreed && v == versions->front();
      }
      if (agreed) {
        return {};
      }
    }
    if (std::chrono::steady_clock::now() + kSchemaPollInterval > deadline) {
      return fail(ErrorCode::kTimeout,
                  "nodes did not agree on the schema within " + std::to_string(timeout.count()) +
                      " ms" + (versions ? std::string() : ": " + versions.error().message));
    }
    std::this_thread::sleep_for(kSchemaPollInterval);
  }
}

void Session::onEvent(std::function<void(const Event&)> handler) {
  auto impl = impl_;
  asio::post(impl->io, [impl, handler = std::move(handler)]() mutable {
    impl->event_handler = std::move(handler);
  });
}

ProtocolVersion Session::protocolVersion() const {
  return impl_->version;
}

std::vector<HostInfo> Session::hosts() const {
  std::lock_guard lock(impl_->hosts_mu);
  return impl_->hosts_snapshot;
}

std::optional<std::size_t> Session::ownerOf(std::int64_t token) const {
  std::lock_guard lock(impl_->hosts_mu);
  if (!impl_->token_map_snapshot) {
    return std::nullopt;
  }
  return impl_->token_map_snapshot->ownerOf(token);
}

std::size_t Session::openConnections() const {
  auto impl = impl_;
  if (impl->stopped) {
    return 0;
  }
  return impl->onIoThread<std::size_t>([impl](auto promise) {
    std::size_t n = 0;
    for (const auto& p : impl->pools) {
      for (const auto& c : p.conns) {
        n += c->isOpen() ? 1U : 0U;
      }
    }
    promise->set_value(n);
  });
}

SessionStats Session::stats() const {
  auto impl = impl_;
  if (impl->stopped) {
    return {};
  }
  SessionStats out = impl->onIoThread<SessionStats>([impl](auto promise) {
    SessionStats s;
    for (const auto& p : impl->pools) {
      for (const auto& c : p.conns) {
        s.heartbeats += c->heartbeatsSent();
        s.open_connections += c->isOpen() ? 1U : 0U;
      }
    }
    if (impl->control) {
      s.heartbeats += impl->control->heartbeatsSent();
    }
    promise->set_value(s);
  });
  out.requests = impl->requests;
  out.retries = impl->retries;
  out.reprepares = impl->reprepares;
  out.timeouts = impl->timeouts;
  return out;
}

void Session::stop() {
  if (!impl_) {
    return;
  }
  {
    std::lock_guard lock(impl_->stop_mu);
    if (impl_->stopped) {
      return;
    }
    impl_->stopped = true;
  }
  auto impl = impl_;
  asio::post(impl->io, [impl] {
    impl->stopAll();
    impl->work.reset();
    // Connections that are still winding down (reads being cancelled) need no more service.
    impl->io.stop();
  });
  if (impl->thread.joinable()) {
    impl->thread.join();
  }
}

}  // namespace cesync::cql
