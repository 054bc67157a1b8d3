// The CQL client against the real local node: every type, paging, batches, timestamps,
// UNPREPARED recovery, v4/v5 with and without lz4, and the official Python driver as the oracle.
#include "cql/session.h"

#include <gtest/gtest.h>

#include <optional>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <sstream>
#include <thread>

#include "cql/token_map.h"
#include "support/servers.h"
#include "util/murmur3.h"

namespace cesync::cql {
namespace {

SessionConfig localConfig() {
  const auto endpoint = cesync::testing::cassandraEndpoint();
  SessionConfig c;
  c.contact_points = {endpoint.host};
  c.port = endpoint.port;
  c.consistency = Consistency::kOne;
  return c;
}

std::unique_ptr<Session> connectOrFail(SessionConfig config) {
  auto s = Session::connect(std::move(config));
  EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().toString());
  return s ? std::move(*s) : nullptr;
}

class CqlSessionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    keyspace_ = cesync::testing::uniqueName("cql_it");
    auto s = connectOrFail(localConfig());
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->execute("CREATE KEYSPACE " + keyspace_ +
                           " WITH replication = {'class': 'SimpleStrategy', "
                           "'replication_factor': 1}"));
    ASSERT_TRUE(s->waitForSchemaAgreement(std::chrono::seconds{30}));
  }
  static void TearDownTestSuite() {
    if (auto s = Session::connect(localConfig())) {
      (void)(*s)->execute("DROP KEYSPACE IF EXISTS " + keyspace_);
    }
  }
  static std::string table(const std::string& name) { return keyspace_ + "." + name; }
  static std::string keyspace_;
};
std::string CqlSessionTest::keyspace_;

Value referenceValue(const std::string& column) {
  InetAddress lo6;
  InetAddress::parse("::1", lo6);
  const UuidBytes tu{0xe4, 0xc0, 0x0b, 0x02, 0x5a, 0x3c, 0x11, 0xef,
                     0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01};
  const UuidBytes u{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                    0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
  // 123456789012345678901234567890 as two's complement big-endian.
  const Bytes big{0x01, 0x8e, 0xe9, 0x0f, 0xf6, 0xc3, 0x73, 0xe0, 0xee, 0x4e, 0x3f, 0x0a, 0xd2};
  // -12345.678 = -12345678e-3; -12345678 = 0xFF439EB2.
  const Decimal dec{Bytes{0xff, 0x43, 0x9e, 0xb2}, 3};
  if (column == "a")
    return Value::ascii("ascii text");
  if (column == "bi")
    return Value::bigint(-1234567890123);
  if (column == "bl")
    return Value::blob(Bytes{0x00, 0xff, 0x10});
  if (column == "bo")
    return Value::boolean(true);
  if (column == "d")
    return Value::doublePrecision(3.141592653589793);
  if (column == "dec")
    return Value::decimal(dec);
  if (column == "dur")
    return Value::duration(Duration{1, 2, 3000000004});
  if (column == "f")
    return Value::floating(1.5F);
  if (column == "i")
    return Value::integer(-42);
  if (column == "ine")
    return Value::inet(lo6);
  if (column == "si")
    return Value::smallint(-300);
  if (column == "t")
    return Value::text("h\xc3\xa9llo");
  if (column == "ti")
    return Value::tinyint(-7);
  if (column == "tim")
    return Value::time(45296000000789);
  if (column == "ts")
    return Value::timestamp(1700000000123);
  if (column == "tu")
    return Value::timeuuid(tu);
  if (column == "u")
    return Value::uuid(u);
  if (column == "vi")
    return Value::varint(big);
  if (column == "da")
    return Value::date(19000);
  if (column == "l")
    return Value::list({Value::integer(1), Value::integer(2), Value::integer(3)});
  if (column == "s")
    return Value::set({Value::text("x"), Value::text("y")});
  if (column == "m") {
    return Value::map(
        {{Value::text("k1"), Value::integer(1)}, {Value::text("k2"), Value::integer(2)}});
  }
  if (column == "tup")
    return Value::tuple({Value::integer(7), Value::text("seven")});
  if (column == "ud")
    return Value::udt({"street", "num"}, {Value::text("main"), Value::integer(12)});
  if (column == "nest") {
    return Value::list(
        {Value::map({{Value::text("a"), Value::list({Value::integer(1), Value::integer(2)})}}),
         Value::map({{Value::text("b"), Value::list({})}})});
  }
  if (column == "vec") {
    return Value::vector({Value::floating(0.5F), Value::floating(-1.25F), Value::floating(3.0F)});
  }
  if (column == "vect")
    return Value::vector({Value::text("p"), Value::text("qr")});
  return Value::null();
}

const std::vector<std::string> kColumns{
    "a",  "bi", "bl", "bo", "d",  "dec", "dur", "f", "i",   "ine", "si",   "t",   "ti",  "tim",
    "ts", "tu", "u",  "vi", "da", "l",   "s",   "m", "tup", "ud",  "nest", "vec", "vect"};

std::string runCommand(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    return out;
  }
  char buf[4096];
  while (fgets(buf, sizeof buf, pipe) != nullptr) {
    out += buf;
  }
  const int status = pclose(pipe);
  EXPECT_EQ(status, 0) << command << "\n" << out;
  return out;
}

TEST_F(CqlSessionTest, EveryTypeRoundTripsAndMatchesThePythonDriver) {
  auto s = connectOrFail(localConfig());
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->execute("CREATE TYPE " + keyspace_ + ".addr (street text, num int)"));
  const std::string t = table("all_types");
  ASSERT_TRUE(s->execute(
      "CREATE TABLE " + t +
      " (id int PRIMARY KEY, a ascii, bi bigint, bl blob, bo boolean, d double, dec decimal, "
      "dur duration, f float, i int, ine inet, si smallint, t text, ti tinyint, tim time, "
      "ts timestamp, tu timeuuid, u uuid, vi varint, da date, l list<int>, s set<text>, "
      "m map<text, int>, tup tuple<int, text>, ud frozen<addr>, "
      "nest list<frozen<map<text, frozen<list<int>>>>>, vec vector<float, 3>, "
      "vect vector<text, 2>)"));
  ASSERT_TRUE(s->waitForSchemaAgreement(std::chrono::seconds{30}));

  std::string insert = "INSERT INTO " + t + " (id";
  std::string marks = "?";
  for (const auto& c : kColumns) {
    insert += ", " + c;
    marks += ", ?";
  }
  insert += ") VALUES (" + marks + ")";
  auto prepared = s->prepare(insert);
  ASSERT_TRUE(prepared.has_value()) << prepared.error().toString();
  std::vector<Value> values{Value::integer(1)};
  for (const auto& c : kColumns) {
    values.push_back(referenceValue(c));
  }
  auto written = s->execute(Statement::of(*prepared, values));
  ASSERT_TRUE(written.has_value()) << written.error().toString();

  // The official driver writes the same logical row as id 2.
  const auto endpoint = cesync::testing::cassandraEndpoint();
  const std::string script = std::string(CESYNC_CQL_TEST_DIR) + "/py_driver_rows.py";
  const std::string args =
      endpoint.host + " " + std::to_string(endpoint.port) + " " + keyspace_ + " all_types";
  runCommand("python3 " + script + " write " + args + " 2");

  auto rows = s->execute("SELECT * FROM " + t);
  ASSERT_TRUE(rows.has_value()) << rows.error().toString();
  ASSERT_EQ(rows->rows.size(), 2U);
  std::map<std::int32_t, std::string> ours;
  for (const auto row : rows->rows) {
    const auto id = *row.get<std::int32_t>(*rows->rows.columnIndex("id"));
    std::string line = std::to_string(id);
    for (const auto& c : kColumns) {
      auto v = row.value(c);
      ASSERT_TRUE(v.has_value()) << c << ": " << v.error().toString();
      line += "|" + c + "=" + v->toString();
      EXPECT_EQ(v->toString(), referenceValue(c).toString()) << "row " << id << " column " << c;
    }
    ours[id] = line;
  }
  // What the Python driver reads back, rendered the same way, must be identical.
  std::istringstream theirs(runCommand("python3 " + script + " read " + args));
  std::string line;
  std::size_t seen = 0;
  while (std::getline(theirs, line)) {
    const auto id = std::stoi(line.substr(0, line.find('|')));
    EXPECT_EQ(line, ours[id]);
    ++seen;
  }
  EXPECT_EQ(seen, 2U);
}

TEST_F(CqlSessionTest, PagesOverFiftyThousandRows) {
  auto s = connectOrFail(localConfig());
  ASSERT_TRUE(s);
  const std::string t = table("paged");
  ASSERT_TRUE(s->execute("CREATE TABLE " + t + " (p int, c int, v text, PRIMARY KEY (p, c))"));
  ASSERT_TRUE(s->waitForSchemaAgreement(std::chrono::seconds{30}));
  auto insert = s->prepare("INSERT INTO " + t + " (p, c, v) VALUES (?, ?, ?)");
  ASSERT_TRUE(insert.has_value());
  constexpr int kRows = 50000;
  constexpr int kWindow = 256;
  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;
  int failures = 0;
  for (int i = 0; i < kRows; ++i) {
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return in_flight < kWindow; });
      ++in_flight;
    }
    s->executeAsync(Statement::of(*insert, {Value::integer(i % 100), Value::integer(i),
                                            Value::text("row " + std::to_string(i))}),
                    [&](Result<ResultSet> r) {
                      std::lock_guard lock(mu);
                      --in_flight;
                      failures += r ? 0 : 1;
                      cv.notify_all();
                    });
  }
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return in_flight == 0; });
  }
  ASSERT_EQ(failures, 0);

  Statement scan = Statement::of("SELECT c FROM " + t);
  scan.page_size = 5000;
  auto pager = s->pages(scan);
  std::int64_t count = 0;
  std::int64_t sum = 0;
  int pages = 0;
  for (;;) {
    auto page = pager.next();
    ASSERT_TRUE(page.has_value()) << page.error().toString();
    if (!page->has_value()) {
      break;
    }
    ++pages;
    EXPECT_LE((*page)->rows.size(), 5000U);
    for (const auto row : (*page)->rows) {
      sum += *row.get<std::int32_t>(0);
      ++count;
    }
  }
  EXPECT_EQ(count, kRows);
  EXPECT_EQ(sum, std::int64_t{kRows} * (kRows - 1) / 2);
  EXPECT_GE(pages, 10);
}

TEST_F(CqlSessionTest, DefaultTimestampBecomesTheWriteTime) {
  auto s = connectOrFail(localConfig());
  ASSERT_TRUE(s);
  const std::string t = table("stamped");
  ASSERT_TRUE(s->execute("CREATE TABLE " + t + " (k int PRIMARY KEY, v text)"));
  ASSERT_TRUE(s->waitForSchemaAgreement(std::chrono::seconds{30}));
  Statement w = Statement::of("INSERT INTO " + t + " (k, v) VALUES (?, ?)",
                              {Value::integer(1), Value::text("new")});
  w.timestamp = 1'700'000'000'000'000;
  ASSERT_TRUE(s->execute(w));
  // An older write loses, whatever order it arrives in: last write wins on the client's clock.
  Statement old = Statement::of("INSERT INTO " + t + " (k, v) VALUES (?, ?)",
                                {Value::integer(1), Value::text("old")});
  old.timestamp = 1'600'000'000'000'000;
  ASSERT_TRUE(s->execute(old));
  auto r = s->execute("SELECT v, WRITETIME(v) FROM " + t + " WHERE k = 1");
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->rows.size(), 1U);
  EXPECT_EQ(*r->rows[0].get<std::string>(0), "new");
  EXPECT_EQ(*r->rows[0].get<std::int64_t>(1), 1'700'000'000'000'000);
}

TEST_F(CqlSessionTest, LoggedAndUnloggedBatches) {
  auto s = connectOrFail(localConfig());
  ASSERT_TRUE(s);
  const std::string t = table("batched");
  ASSERT_TRUE(s->execute("CREATE TABLE " + t + " (k int, c int, v int, PRIMARY KEY (k, c))"));
  ASSERT_TRUE(s->waitForSchemaAgreement(std::chrono::seconds{30}));
  auto insert = s->prepare("INSERT INTO " + t + " (k, c, v) VALUES (?, ?, ?)");
  ASSERT_TRUE(insert.has_value());
  for (const auto type : {BatchType::kLogged, BatchType::kUnlogged}) {
    Batch b;
    b.type = type;
    const int k = type == BatchType::kLogged ? 1 : 2;
    b.statements.push_back(
        Statement::of(*insert, {Value::integer(k), Value::integer(1), Value::integer(10)}));
    b.statements.push_back(
        Statement::of("INSERT INTO " + t + " (k, c, v) VALUES (?, ?, ?)",
                      {Value::integer(k), Value::integer(2), Value::integer(20)}));
    b.timestamp = 42;
    const auto r = s->execute(b);
    ASSERT_TRUE(r.has_value()) << r.error().toString();
    auto rows =
        s->execute("SELECT v, WRITETIME(v) FROM " + t + " WHERE k = ?", {Value::integer(k)});
    ASSERT_TRUE(rows.has_value());
    ASSERT_EQ(rows->rows.size(), 2U);
    EXPECT_EQ(*rows->rows[1].get<std::int32_t>(0), 20);
    EXPECT_EQ(*rows->rows[0].get<std::int64_t>(1), 42);
  }
}

TEST_F(CqlSessionTest, CountersAndCounterBatches) {
  auto s = connectOrFail(localConfig());
  ASSERT_TRUE(s);
  const std::string t = table("counted");
  ASSERT_TRUE(s->execute("CREATE TABLE " + t + " (k int PRIMARY KEY, n counter)"));
  ASSERT_TRUE(s->waitForSchemaAgreement(std::chrono::seconds{30}));
  auto add = s->prepare("UPDATE " + t + " SET n = n + ? WHERE k = ?");
  ASSERT_TRUE(add.has_value());
  ASSERT_TRUE(s->execute(Statement::of(*add, {Value::counter(5), Value::integer(1)})));
  Batch b;
  b.type = BatchType::kCounter;
  b.statements.push_back(Statement::of(*add, {Value::bigint(-2), Value::integer(1)}));
  b.statements.push_back(Statement::of(*add, {Value::bigint(10), Value::integer(2)}));
  ASSERT_TRUE(s->execute(b));
  auto r = s->execute("SELECT k, n FROM " + t);
  ASSERT_TRUE(r.has_value());
  std::map<std::int32_t, std::int64_t> got;
  for (const auto row : r->rows) {
    got[*row.get<std::int32_t>(0)] = *row.get<std::int64_t>(1);
    EXPECT_EQ(row.value(1)->kind(), TypeKind::kCounter);
  }
  EXPECT_EQ(got, (std::map<std::int32_t, std::int64_t>{{1, 3}, {2, 10}}));
}

TEST_F(CqlSessionTest, ReprepareTransparentlyAfterTheTableIsAltered) {
  auto s = connectOrFail(localConfig());
  ASSERT_TRUE(s);
  const std::string t = table("altered");
  ASSERT_TRUE(s->execute("CREATE TABLE " + t + " (k int PRIMARY KEY, a int)"));
  ASSERT_TRUE(s->waitForSchemaAgreement(std::chrono::seconds{30}));
  ASSERT_TRUE(s->execute("INSERT INTO " + t + " (k, a) VALUES (1, 5)"));
  auto select = s->prepare("SELECT * FROM " + t + " WHERE k = ?");
  ASSERT_TRUE(select.has_value());
  auto before = s->execute(Statement::of(*select, {Value::integer(1)}));
  ASSERT_TRUE(before.has_value());
  EXPECT_EQ(before->rows.columnCount(), 2U);

  ASSERT_TRUE(s->execute("ALTER TABLE " + t + " ADD b text"));
  ASSERT_TRUE(s->waitForSchemaAgreement(std::chrono::seconds{30}));
  ASSERT_TRUE(s->execute("UPDATE " + t + " SET b = 'new' WHERE k = 1"));
  // Cassandra drops its prepared statements for an altered table: the next EXECUTE is answered
  // with UNPREPARED, which the session must absorb by preparing again.
  auto after = s->execute(Statement::of(*select, {Value::integer(1)}));
  ASSERT_TRUE(after.has_value()) << after.error().toString();
  ASSERT_EQ(after->rows.size(), 1U);
  EXPECT_EQ(after->rows.columnCount(), 3U);
  EXPECT_EQ(after->rows[0].value("b")->toString(), "\"new\"");
  EXPECT_GE(s->stats().reprepares, 1U) << "the recovery went through UNPREPARED";
}

TEST_F(CqlSessionTest, ClientTokensMatchTheServer) {
  auto s = connectOrFail(localConfig());
  ASSERT_TRUE(s);
  const std::string t = table("tokens");
  ASSERT_TRUE(s->execute("CREATE TABLE " + t + " (k text PRIMARY KEY)"));
  ASSERT_TRUE(s->waitForSchemaAgreement(std::chrono::seconds{30}));
  // (An empty partition key is not allowed.)
  const std::vector<std::string> keys{"a", "hello", "\xc3\xa9t\xc3\xa9", std::string(37, 'z')};
  for (const auto& key : keys) {
    ASSERT_TRUE(s->execute("INSERT INTO " + t + " (k) VALUES (?)", {Value::text(key)}));
    auto r = s->execute("SELECT token(k) FROM " + t + " WHERE k = ?", {Value::text(key)});
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->rows.size(), 1U);
    EXPECT_EQ(*r->rows[0].get<std::int64_t>(0), util::murmur3Token(asBytes(key))) << key;
  }
  // A composite partition key routes by [short len][bytes][0] per component.
  const std::string c = table("tokens2");
  ASSERT_TRUE(s->execute("CREATE TABLE " + c + " (a int, b text, PRIMARY KEY ((a, b)))"));
  ASSERT_TRUE(s->waitForSchemaAgreement(std::chrono::seconds{30}));
  ASSERT_TRUE(s->execute("INSERT INTO " + c + " (a, b) VALUES (?, ?)",
                         {Value::integer(7), Value::text("x")}));
  auto r = s->execute("SELECT token(a, b) FROM " + c);
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->rows.size(), 1U);
  const Bytes key = TokenMap::routingKey({Bytes{0, 0, 0, 7}, Bytes{'x'}});
  EXPECT_EQ(*r->rows[0].get<std::int64_t>(0), util::murmur3Token(key));
  const auto hosts = s->hosts();
  ASSERT_FALSE(hosts.empty());
  EXPECT_FALSE(hosts[0].tokens.empty()) << "token map built from system.local";
}

TEST_F(CqlSessionTest, PerRequestTimeoutLeavesTheConnectionUsable) {
  SessionConfig c = localConfig();
  c.connections_per_host = 1;
  c.max_retries = 0;
  auto s = connectOrFail(c);
  ASSERT_TRUE(s);
  const std::string t = table("slow");
  ASSERT_TRUE(s->execute("CREATE TABLE " + t + " (p int, c int, v blob, PRIMARY KEY (p, c))"));
  ASSERT_TRUE(s->waitForSchemaAgreement(std::chrono::seconds{30}));
  auto insert = s->prepare("INSERT INTO " + t + " (p, c, v) VALUES (?, ?, ?)");
  ASSERT_TRUE(insert.has_value());
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE(s->execute(Statement::of(
        *insert, {Value::integer(i % 10), Value::integer(i), Value::blob(Bytes(8192, 1))})));
  }
  // A 16 MB whole-table read with a 1 ms deadline: the caller gets kTimeout... (deadlines are
  // checked every 50 ms, and a warm node can answer within one tick, so a few tries are allowed).
  Statement scan = Statement::of("SELECT * FROM " + t);
  scan.page_size = 0;
  scan.timeout = std::chrono::milliseconds{1};
  std::optional<Error> timed_out;
  for (int attempt = 0; attempt < 10 && !timed_out; ++attempt) {
    const auto late = s->execute(scan);
    if (!late) {
      ASSERT_EQ(late.error().code, ErrorCode::kTimeout) << late.error().toString();
      timed_out = late.error();
    }
  }
  ASSERT_TRUE(timed_out) << "the 1 ms scan answered in time in 10 tries";
  // ...and the late answer, when it comes, is dropped without disturbing the next requests on
  // the same connection.
  for (int i = 0; i < 20; ++i) {
    auto r = s->execute("SELECT c FROM " + t + " WHERE p = ? AND c = ?",
                        {Value::integer(3), Value::integer(13)});
    ASSERT_TRUE(r.has_value()) << r.error().toString();
    ASSERT_EQ(r->rows.size(), 1U);
    EXPECT_EQ(*r->rows[0].get<std::int32_t>(0), 13);
  }
  EXPECT_GE(s->stats().timeouts, 1U);
}

TEST_F(CqlSessionTest, HeartbeatsKeepIdleConnectionsOpen) {
  SessionConfig c = localConfig();
  c.heartbeat_interval = std::chrono::milliseconds{100};
  auto s = connectOrFail(c);
  ASSERT_TRUE(s);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{20};
  while (s->stats().heartbeats < 6 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  const auto stats = s->stats();
  EXPECT_GE(stats.heartbeats, 6U);
  EXPECT_EQ(stats.open_connections, c.connections_per_host);
  auto r = s->execute("SELECT release_version FROM system.local");
  ASSERT_TRUE(r.has_value()) << r.error().toString();
}

TEST_F(CqlSessionTest, SchemaChangeEventsArrive) {
  auto s = connectOrFail(localConfig());
  ASSERT_TRUE(s);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Event> events;
  s->onEvent([&](const Event& e) {
    std::lock_guard lock(mu);
    events.push_back(e);
    cv.notify_all();
  });
  const std::string name = "evented";
  auto created = s->execute("CREATE TABLE " + table(name) + " (k int PRIMARY KEY)");
  ASSERT_TRUE(created.has_value());
  ASSERT_TRUE(created->schema_change.has_value());
  EXPECT_EQ(created->schema_change->change, "CREATED");
  std::unique_lock lock(mu);
  const bool seen = cv.wait_for(lock, std::chrono::seconds{20}, [&] {
    for (const auto& e : events) {
      if (e.type == "SCHEMA_CHANGE" && e.schema.name == name && e.schema.keyspace == keyspace_) {
        return true;
      }
    }
    return false;
  });
  EXPECT_TRUE(seen) << "no SCHEMA_CHANGE event for " << name;
}

struct Variant {
  ProtocolVersion version;
  bool lz4;
};

class CqlProtocolTest : public CqlSessionTest, public ::testing::WithParamInterface<Variant> {};

TEST_P(CqlProtocolTest, LargeAndSmallResultsOverEveryFraming) {
  SessionConfig c = localConfig();
  c.max_protocol_version = GetParam().version;
  c.compression = GetParam().lz4;
  auto s = connectOrFail(c);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->protocolVersion(), GetParam().version);
  const std::string t = table("framing_" + std::to_string(static_cast<int>(GetParam().version)) +
                              (GetParam().lz4 ? "_lz4" : ""));
  ASSERT_TRUE(s->execute("CREATE TABLE IF NOT EXISTS " + t + " (k int PRIMARY KEY, v blob)"));
  ASSERT_TRUE(s->waitForSchemaAgreement(std::chrono::seconds{30}));
  // 300 KB spans several v5 frames in both directions; the pattern compresses well.
  Bytes big(300 * 1024);
  for (std::size_t i = 0; i < big.size(); ++i) {
    big[i] = static_cast<std::uint8_t>((i * 7) % 251);
  }
  ASSERT_TRUE(s->execute("INSERT INTO " + t + " (k, v) VALUES (?, ?)",
                         {Value::integer(1), Value::blob(big)}));
  ASSERT_TRUE(s->execute("INSERT INTO " + t + " (k, v) VALUES (?, ?)",
                         {Value::integer(2), Value::blob(Bytes{1, 2, 3})}));
  auto r = s->execute("SELECT k, v FROM " + t);
  ASSERT_TRUE(r.has_value()) << r.error().toString();
  ASSERT_EQ(r->rows.size(), 2U);
  for (const auto row : r->rows) {
    const auto k = *row.get<std::int32_t>(0);
    EXPECT_EQ(*row.get<Bytes>(1), k == 1 ? big : Bytes({1, 2, 3}));
  }
}

INSTANTIATE_TEST_SUITE_P(Framings, CqlProtocolTest,
                         ::testing::Values(Variant{ProtocolVersion::kV4, false},
                                           Variant{ProtocolVersion::kV4, true},
                                           Variant{ProtocolVersion::kV5, false},
                                           Variant{ProtocolVersion::kV5, true}),
                         [](const auto& param_info) {
                           return std::string("V") +
                                  std::to_string(static_cast<int>(param_info.param.version)) +
                                  (param_info.param.lz4 ? "Lz4" : "Plain");
                         });

TEST(CqlRoutingTest, RemoteDatacentersServeWhenTheLocalOneHasNoNodes) {
  auto local = connectOrFail(localConfig());
  ASSERT_TRUE(local);
  const auto hosts = local->hosts();
  ASSERT_FALSE(hosts.empty());
  EXPECT_FALSE(hosts[0].datacenter.empty());
  SessionConfig c = localConfig();
  c.local_datacenter = "no-such-dc";
  auto remote = connectOrFail(c);
  ASSERT_TRUE(remote);
  auto r = remote->execute("SELECT data_center FROM system.local");
  ASSERT_TRUE(r.has_value()) << r.error().toString();
  EXPECT_EQ(*r->rows[0].get<std::string>(0), hosts[0].datacenter);
}

TEST(CqlErrorTest, ConfigurationMistakesAreErrorsNotExceptions) {
  SessionConfig c = localConfig();
  c.contact_points = {"127.0.0.1:notaport"};
  const auto bad_port = Session::connect(c);
  ASSERT_FALSE(bad_port.has_value());
  EXPECT_EQ(bad_port.error().code, ErrorCode::kConfig);
  c.contact_points = {"127.0.0.1:1"};  // nothing listens there
  c.connect_timeout = std::chrono::milliseconds{2000};
  const auto refused = Session::connect(c);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kIo) << refused.error().toString();
  c.contact_points = {};
  EXPECT_FALSE(Session::connect(c).has_value());
}

TEST(CqlErrorTest, ServerErrorsAreValuesWithTheServerMessage) {
  auto s = connectOrFail(localConfig());
  ASSERT_TRUE(s);
  const auto bad = s->execute("SELEC nonsense");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kRejected);
  EXPECT_NE(bad.error().message.find("Syntax_error"), std::string::npos) << bad.error().message;
  const auto missing = s->execute("SELECT * FROM no_such_keyspace.no_table");
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message.find("Invalid"), std::string::npos) << missing.error().message;
}

}  // namespace
}  // namespace cesync::cql
