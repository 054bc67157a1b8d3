// The snapshot on real servers: a table of a few thousand rows copied into its index by token
// ranges, checked from the outside (ids formatted by hand, sources and versions read back over
// plain HTTP); a snapshot stopped midway and resumed without re-reading finished ranges; a
// rejected document dead-lettered while the rest are indexed; an empty table; a rerun after a
// reset, where documents newer in the index are left alone.
#include "sync/to_search/snapshot.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "state/sqlite_checkpoint_store.h"
#include "support/http.h"
#include "support/servers.h"
#include "sync/setup.h"
#include "sync_fixture.h"

namespace cesync::sync {
namespace {

constexpr std::int64_t kBaseTime = 1'700'000'000'000'000;  // µs; the rows' write times

TEST(TokenRing, RangesCoverTheRingContiguously) {
  for (std::size_t n : {1U, 2U, 3U, 7U, 64U, 1000U}) {
    const auto ranges = splitTokenRing(n);
    ASSERT_EQ(ranges.size(), n);
    EXPECT_EQ(ranges.front().start, std::numeric_limits<std::int64_t>::min());
    EXPECT_EQ(ranges.back().end, std::numeric_limits<std::int64_t>::max());
    for (std::size_t i = 0; i < n; ++i) {
      EXPECT_LT(ranges[i].start, ranges[i].end);
      if (i > 0) {
        EXPECT_EQ(ranges[i].start, ranges[i - 1].end);
      }
    }
  }
  const auto halves = splitTokenRing(2);
  EXPECT_EQ(halves[0].end, 0);  // (MIN, 0] and (0, MAX]: 2^63 and 2^63 - 1 tokens
}

class SnapshotTest : public SyncFixture {
 protected:
  void SetUp() override {
    SyncFixture::SetUp();
    table_ = testing::uniqueName("snap_" + GetParam().flavour);
    dir_ = std::filesystem::temp_directory_path() / table_;
    store_ = openStore(dir_);
    ASSERT_NE(store_, nullptr);
  }
  void TearDown() override {
    testing::http("DELETE", GetParam().url + "/" + table_);
    std::filesystem::remove_all(dir_);
  }

  void createTable(const std::string& columns) {
    run("CREATE TABLE it_sync." + table_ + " (" + columns + ")");
    ASSERT_TRUE(session_->waitForSchemaAgreement(std::chrono::seconds(30)));
    auto schema = loadTableSchema(*session_, "it_sync", table_);
    ASSERT_TRUE(schema);
    schema_ = *schema;
  }

  void createIndex(const std::string& body) {
    const auto created = testing::http("PUT", GetParam().url + "/" + table_, body);
    ASSERT_EQ(created.status, 200) << created.body;
  }

  // Runs many statements, a bounded number in flight.
  void runAll(const std::vector<std::string>& statements) {
    std::mutex mutex;
    std::condition_variable cv;
    std::size_t in_flight = 0;
    std::vector<std::string> errors;
    for (const auto& s : statements) {
      std::unique_lock lock(mutex);
      cv.wait(lock, [&] { return in_flight < 64; });
      ++in_flight;
      lock.unlock();
      session_->executeAsync(cql::Statement::of(s), [&, s](Result<cql::ResultSet> r) {
        std::lock_guard guard(mutex);
        if (!r) {
          errors.push_back(s + ": " + r.error().toString());
        }
        --in_flight;
        cv.notify_all();
      });
    }
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return in_flight == 0; });
    EXPECT_TRUE(errors.empty()) << errors.front();
  }

  SnapshotOptions options() const {
    SnapshotOptions o;
    o.index = table_;
    o.search.transport.base_url = GetParam().url;
    o.consistency = cql::Consistency::kOne;
    o.ranges = 16;
    o.parallelism = 3;
    o.page_size = 100;
    return o;
  }

  Result<SnapshotReport> snapshot(
      const SnapshotOptions& o, const std::atomic<bool>* stop = nullptr,
      const std::function<void(const SnapshotProgress&)>& progress = {}) {
    return runSnapshot(*session_, *store_, schema_, o, clock_, stop, progress);
  }

  std::string qualified() const { return "it_sync." + table_; }

  // Every document of the index: id -> the hit (parsed), after a refresh.
  simdjson::dom::element searchAll() {
    testing::http("POST", GetParam().url + "/" + table_ + "/_refresh");
    search_body_ =
        testing::http("GET", GetParam().url + "/" + table_ + "/_search?size=10000&version=true")
            .body;
    auto doc = parser_.parse(search_body_);
    EXPECT_FALSE(doc.error()) << search_body_;
    return doc.value();
  }

  std::size_t indexCount() {
    testing::http("POST", GetParam().url + "/" + table_ + "/_refresh");
    const auto r = testing::http("GET", GetParam().url + "/" + table_ + "/_count");
    simdjson::dom::parser parser;
    auto doc = parser.parse(r.body);
    if (doc.error() || doc["count"].error()) {
      return 0;
    }
    return static_cast<std::size_t>(std::uint64_t(doc["count"]));
  }

  std::string table_;
  TableSchema schema_;
  std::filesystem::path dir_;
  std::unique_ptr<state::SqliteCheckpointStore> store_;
  simdjson::dom::parser parser_;
  std::string search_body_;
};

// The rich table: composite partition key, clustering, several types, collections and nulls.
// 150 partitions x 20 rows; every row written with a known timestamp.
class RichTable {
 public:
  static constexpr int kPartitions = 150;
  static constexpr int kRows = 20;

  static std::string columns() {
    return "p int, q text, c int, v text, n bigint, f double, ok boolean, ts timestamp, "
           "tags set<text>, l list<int>, m map<text, int>, PRIMARY KEY ((p, q), c)";
  }
  static std::string q(int p) { return p % 3 == 0 ? "o'x" : "k" + std::to_string(p % 3); }
  static bool keyOnly(int p, int c) { return p % 10 == 0 && c == kRows - 1; }
  static bool updatedLater(int p, int c) { return p % 25 == 0 && c == 5; }
  static std::int64_t writeTime(int p, int c) {
    if (keyOnly(p, c)) {
      return 0;  // no non-key cell: no write time to read
    }
    return kBaseTime + p * 100 + c + (updatedLater(p, c) ? 1'000'000 : 0);
  }

  static std::vector<std::string> inserts(const std::string& table) {
    std::vector<std::string> out;
    for (int p = 0; p < kPartitions; ++p) {
      std::string qq = q(p);
      std::string escaped;
      for (char ch : qq) {
        escaped += ch == '\'' ? "''" : std::string(1, ch);
      }
      for (int c = 0; c < kRows; ++c) {
        const std::string key = std::to_string(p) + ", '" + escaped + "', " + std::to_string(c);
        if (keyOnly(p, c)) {
          out.push_back("INSERT INTO " + table + " (p, q, c) VALUES (" + key +
                        ") USING TIMESTAMP " + std::to_string(kBaseTime + p * 100 + c));
          continue;
        }
        const int i = p * kRows + c;
        std::string cols = "p, q, c, f, ok, l, m";
        std::string vals = key + ", " + std::to_string(c) + ".5, " +
                           (c % 2 == 0 ? "true" : "false") + ", [" + std::to_string(c) + ", " +
                           std::to_string(c + 1) + "], {'x': " + std::to_string(c) + "}";
        if (i % 7 != 0) {
          cols += ", v";
          vals += ", 'v-" + std::to_string(p) + "-" + std::to_string(c) + "'";
        }
        if (i % 13 != 0) {
          cols += ", n";
          vals += ", " + std::to_string(p * 1000 + c);
        }
        if (i % 11 != 0) {
          cols += ", tags";
          vals += ", {'a', 't" + std::to_string(c % 5) + "'}";
        }
        if (c % 2 == 0) {
          cols += ", ts";
          vals += ", '2024-01-02T03:04:05.678Z'";
        }
        out.push_back("INSERT INTO " + table + " (" + cols + ") VALUES (" + vals +
                      ") USING TIMESTAMP " + std::to_string(kBaseTime + p * 100 + c));
        if (updatedLater(p, c)) {
          out.push_back("UPDATE " + table + " USING TIMESTAMP " +
                        std::to_string(kBaseTime + p * 100 + c + 1'000'000) +
                        " SET n = " + std::to_string(-p) + " WHERE p = " + std::to_string(p) +
                        " AND q = '" + escaped + "' AND c = " + std::to_string(c));
        }
      }
    }
    return out;
  }

  // id -> "fields|version", formatted by hand from the rows written.
  static std::map<std::string, std::string> expected() {
    std::map<std::string, std::string> out;
    for (int p = 0; p < kPartitions; ++p) {
      for (int c = 0; c < kRows; ++c) {
        std::string qq = q(p);
        const std::string id =
            "[" + std::to_string(p) + ",\"" + qq + "\"," + std::to_string(c) + "]";
        std::string fields;
        if (keyOnly(p, c)) {
          fields = "v=null n=null f=null ok=null ts=null tags=null l=null m=null";
        } else {
          const int i = p * kRows + c;
          fields = "v=" + (i % 7 != 0 ? "v-" + std::to_string(p) + "-" + std::to_string(c)
                                      : std::string("null"));
          fields += " n=" + (updatedLater(p, c) ? std::to_string(-p)
                             : i % 13 != 0      ? std::to_string(p * 1000 + c)
                                                : std::string("null"));
          fields += " f=" + std::to_string(c) + ".5";
          fields += std::string(" ok=") + (c % 2 == 0 ? "true" : "false");
          fields += " ts=" + std::string(c % 2 == 0 ? "2024-01-02T03:04:05.678Z" : "null");
          fields += " tags=" + (i % 11 != 0 ? "a,t" + std::to_string(c % 5) : std::string("null"));
          fields += " l=" + std::to_string(c) + "," + std::to_string(c + 1);
          fields += " m=x:" + std::to_string(c);
        }
        out[id] = fields + "|" + std::to_string(writeTime(p, c));
      }
    }
    return out;
  }
};

std::string text(simdjson::dom::element e) {
  switch (e.type()) {
    case simdjson::dom::element_type::NULL_VALUE:
      return "null";
    case simdjson::dom::element_type::STRING:
      return std::string(std::string_view(e));
    case simdjson::dom::element_type::BOOL:
      return bool(e) ? "true" : "false";
    case simdjson::dom::element_type::INT64:
      return std::to_string(std::int64_t(e));
    case simdjson::dom::element_type::UINT64:
      return std::to_string(std::uint64_t(e));
    case simdjson::dom::element_type::DOUBLE: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.1f", double(e));
      return buf;
    }
    case simdjson::dom::element_type::ARRAY: {
      std::string out;
      for (auto item : e.get_array()) {
        out += (out.empty() ? "" : ",") + text(item);
      }
      return out;
    }
    case simdjson::dom::element_type::OBJECT: {
      std::string out;
      for (auto field : e.get_object()) {
        out += (out.empty() ? "" : ",") + std::string(field.key) + ":" + text(field.value);
      }
      return out;
    }
  }
  return "?";
}

// The index as "fields|version" per id, in the form RichTable::expected() uses; checks the
// token and id fields on the way.
std::map<std::string, std::string> richContents(simdjson::dom::element result,
                                                const std::map<std::string, std::int64_t>& tokens) {
  std::map<std::string, std::string> out;
  for (auto hit : result["hits"]["hits"].get_array()) {
    const std::string id{std::string_view(hit["_id"])};
    const auto source = hit["_source"];
    std::string fields;
    for (const char* name : {"v", "n", "f", "ok", "ts", "tags", "l", "m"}) {
      fields += std::string(fields.empty() ? "" : " ") + name + "=" + text(source[name]);
    }
    EXPECT_EQ(std::string_view(source["cesync_id"]), id);
    const std::string partition = id.substr(0, id.rfind(','));
    EXPECT_EQ(std::int64_t(source["cesync_token"]), tokens.at(partition)) << id;
    out[id] = fields + "|" + std::to_string(std::int64_t(hit["_version"]));
  }
  return out;
}

TEST_P(SnapshotTest, EveryRowIsIndexedWithItsWriteTimeAsVersion) {
  createTable(RichTable::columns());
  runAll(RichTable::inserts(qualified()));
  createIndex(indexBody(schema_, client_->server()));

  std::vector<SnapshotProgress> seen;
  auto report = snapshot(options(), nullptr, [&](const SnapshotProgress& p) { seen.push_back(p); });
  ASSERT_TRUE(report) << report.error().toString();
  const std::uint64_t total = RichTable::kPartitions * RichTable::kRows;
  EXPECT_EQ(report->rows, total);
  EXPECT_EQ(report->indexed, total);
  EXPECT_EQ(report->already_newer, 0U);
  EXPECT_EQ(report->dead_letters, 0U);
  EXPECT_EQ(report->ranges, 16U);
  EXPECT_EQ(report->ranges_resumed, 0U);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().ranges_done, 16U);
  EXPECT_EQ(seen.back().rows, total);

  // Partition tokens as Cassandra computes them, keyed by the id's partition prefix.
  std::map<std::string, std::int64_t> tokens;
  auto rows = session_->execute("SELECT DISTINCT p, q, token(p, q) FROM " + qualified());
  ASSERT_TRUE(rows);
  for (const auto row : rows->rows) {
    tokens["[" + std::to_string(*row.get<std::int32_t>(0)) + ",\"" + *row.get<std::string>(1) +
           "\""] = *row.get<std::int64_t>(2);
  }
  ASSERT_EQ(tokens.size(), static_cast<std::size_t>(RichTable::kPartitions));

  EXPECT_EQ(richContents(searchAll(), tokens), RichTable::expected());

  // One document read back by id, as a client would.
  const std::string id = R"([25,"k1",5])";
  const auto got =
      testing::http("GET", GetParam().url + "/" + table_ + "/_doc/" + testing::urlEncode(id));
  ASSERT_EQ(got.status, 200) << got.body;
  simdjson::dom::parser parser;
  const auto doc = parser.parse(got.body);
  ASSERT_FALSE(doc.error());
  EXPECT_EQ(std::int64_t(doc["_version"]), kBaseTime + 25 * 100 + 5 + 1'000'000);
  EXPECT_EQ(std::int64_t(doc["_source"]["n"]), -25);

  auto status = snapshotStatus(*store_, qualified());
  ASSERT_TRUE(status);
  EXPECT_EQ(status->state, SnapshotState::kDone);
  EXPECT_EQ(status->ranges, 16U);
  EXPECT_EQ(status->ranges_done, 16U);
  EXPECT_EQ(status->rows, total);
  EXPECT_GT(status->started_micros, 0);
  EXPECT_GE(status->finished_micros, status->started_micros);
}

TEST_P(SnapshotTest, AStoppedSnapshotResumesWithoutRereadingFinishedRanges) {
  createTable(RichTable::columns());
  runAll(RichTable::inserts(qualified()));
  createIndex(indexBody(schema_, client_->server()));
  const std::uint64_t total = RichTable::kPartitions * RichTable::kRows;

  SnapshotOptions o = options();
  o.page_size = 40;
  o.parallelism = 2;
  std::atomic<bool> stop{false};
  auto first = snapshot(o, &stop, [&](const SnapshotProgress& p) {
    if (p.ranges_done >= 4) {
      stop = true;
    }
  });
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().code, ErrorCode::kCancelled) << first.error().toString();
  auto stopped = snapshotStatus(*store_, qualified());
  ASSERT_TRUE(stopped);
  EXPECT_EQ(stopped->state, SnapshotState::kRunning);
  EXPECT_GE(stopped->ranges_done, 4U);
  EXPECT_LT(stopped->ranges_done, 16U);
  EXPECT_LT(stopped->rows, total);

  // What the second run must read: the ranges not done, each from its saved token (inclusive:
  // the partition a page ended in is read again) or from its start.
  auto cursors = store_->list(snapshotScope(schema_));
  ASSERT_TRUE(cursors);
  std::map<std::size_t, std::string> saved;
  for (const auto& c : *cursors) {
    if (c.name.starts_with("range-")) {
      saved[std::stoul(c.name.substr(6))] = c.value;
    }
  }
  std::vector<std::int64_t> tokens;
  auto rows = session_->execute("SELECT token(p, q) FROM " + qualified());
  ASSERT_TRUE(rows);
  for (const auto row : rows->rows) {
    tokens.push_back(*row.get<std::int64_t>(0));
  }
  ASSERT_EQ(tokens.size(), total);
  const auto ranges = splitTokenRing(16);
  std::uint64_t to_read = 0;
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    const auto it = saved.find(i);
    if (it != saved.end() && it->second == "done") {
      continue;
    }
    for (const std::int64_t t : tokens) {
      const bool after_start =
          it == saved.end() ? t > ranges[i].start : t >= std::stoll(it->second);
      to_read += after_start && t <= ranges[i].end ? 1U : 0U;
    }
  }
  ASSERT_LT(to_read, total);

  auto second = snapshot(o);
  ASSERT_TRUE(second) << second.error().toString();
  EXPECT_EQ(second->ranges_resumed, saved.size());
  EXPECT_EQ(second->rows, to_read);
  EXPECT_EQ(second->dead_letters, 0U);
  EXPECT_EQ(indexCount(), total);

  auto done = snapshotStatus(*store_, qualified());
  ASSERT_TRUE(done);
  EXPECT_EQ(done->state, SnapshotState::kDone);
  EXPECT_EQ(done->ranges_done, 16U);
  EXPECT_EQ(done->rows, stopped->rows + second->rows);
}

TEST_P(SnapshotTest, AResumeReadsOnlyWhatSavedProgressLeaves) {
  createTable("p int, c int, v text, PRIMARY KEY (p, c)");
  std::vector<std::string> inserts;
  for (int p = 0; p < 300; ++p) {
    for (int c = 0; c < 5; ++c) {
      inserts.push_back("INSERT INTO " + qualified() + " (p, c, v) VALUES (" + std::to_string(p) +
                        ", " + std::to_string(c) + ", 'x')");
    }
  }
  runAll(inserts);
  std::map<int, std::int64_t> tokens;  // partition -> token
  auto rows = session_->execute("SELECT DISTINCT p, token(p) FROM " + qualified());
  ASSERT_TRUE(rows);
  for (const auto row : rows->rows) {
    tokens[*row.get<std::int32_t>(0)] = *row.get<std::int64_t>(1);
  }
  ASSERT_EQ(tokens.size(), 300U);

  // Saved progress as a stopped run leaves it: range 0 done, range 1 stopped in the partition
  // of its middle token, the others not begun.
  const auto ranges = splitTokenRing(16);
  std::vector<std::int64_t> in_range1;
  for (const auto& [p, t] : tokens) {
    if (t > ranges[1].start && t <= ranges[1].end) {
      in_range1.push_back(t);
    }
  }
  ASSERT_GE(in_range1.size(), 3U);
  std::sort(in_range1.begin(), in_range1.end());
  const std::int64_t resume_at = in_range1[in_range1.size() / 2];
  const std::string scope = snapshotScope(schema_);
  ASSERT_TRUE(store_->commit({.cursors = {{scope, "ranges", "16", 1},
                                          {scope, "started", "1", 1},
                                          {scope, "rows", "0", 1},
                                          {scope, "range-00000", "done", 1},
                                          {scope, "range-00001", std::to_string(resume_at), 1}},
                              .dead_letters = {}}));
  auto before = snapshotStatus(*store_, qualified());
  ASSERT_TRUE(before);
  EXPECT_EQ(before->state, SnapshotState::kRunning);
  EXPECT_EQ(before->ranges_done, 1U);

  // Exactly the rows of range 1 from the saved token on (inclusive), and of ranges 2..15.
  std::set<std::string> want;
  for (const auto& [p, t] : tokens) {
    if (t > ranges[1].end || (t > ranges[1].start && t >= resume_at)) {
      for (int c = 0; c < 5; ++c) {
        want.insert("[" + std::to_string(p) + "," + std::to_string(c) + "]");
      }
    }
  }
  SnapshotOptions o = options();
  o.ranges = 4;  // ignored: a resumed snapshot keeps its ranges
  o.page_size = 7;
  auto report = snapshot(o);
  ASSERT_TRUE(report) << report.error().toString();
  EXPECT_EQ(report->ranges, 16U);
  EXPECT_EQ(report->ranges_resumed, 2U);
  EXPECT_EQ(report->rows, want.size());
  std::set<std::string> have;
  for (auto hit : searchAll()["hits"]["hits"].get_array()) {
    have.insert(std::string(std::string_view(hit["_id"])));
  }
  EXPECT_EQ(have, want);
  auto after = snapshotStatus(*store_, qualified());
  ASSERT_TRUE(after);
  EXPECT_EQ(after->state, SnapshotState::kDone);
  EXPECT_EQ(after->ranges_done, 16U);
  EXPECT_EQ(after->started_micros, 1);
}

TEST_P(SnapshotTest, AnUnreachableIndexIsRetriedUntilStopped) {
  createTable("k int PRIMARY KEY, v text");
  run("INSERT INTO " + qualified() + " (k, v) VALUES (1, 'a')");
  SnapshotOptions o = options();
  o.search.transport.base_url = "http://127.0.0.1:1";  // nothing listens there
  o.search.request_retry.max_retries = 0;
  o.retry.initial = std::chrono::milliseconds(10);
  o.retry.max = std::chrono::milliseconds(100);
  std::atomic<bool> stop{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    stop = true;
  });
  const auto started = std::chrono::steady_clock::now();
  auto report = snapshot(o, &stop);
  stopper.join();
  // A transient fault does not end the snapshot: only the stop does, promptly.
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, ErrorCode::kCancelled) << report.error().toString();
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(1500));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(5000));
  auto status = snapshotStatus(*store_, qualified());
  ASSERT_TRUE(status);
  EXPECT_EQ(status->state, SnapshotState::kRunning);
  EXPECT_EQ(status->ranges_done, 0U);

  // The same snapshot, run again with the engine reachable, completes.
  auto resumed = snapshot(options());
  ASSERT_TRUE(resumed) << resumed.error().toString();
  EXPECT_EQ(resumed->rows, 1U);
  EXPECT_EQ(resumed->indexed, 1U);
}

TEST_P(SnapshotTest, ARejectedDocumentIsDeadLetteredWhileTheRestAreIndexed) {
  createTable("a int, b int, v text, PRIMARY KEY (a, b)");
  // `v` mapped as a number: the engine refuses rows whose v is not one.
  createIndex(R"({"settings":{"number_of_shards":1,"number_of_replicas":0},)"
              R"("mappings":{"properties":{"v":{"type":"integer"}}}})");
  std::vector<std::string> inserts;
  for (int a = 0; a < 20; ++a) {
    for (int b = 0; b < 10; ++b) {
      const bool bad = (a == 3 && b == 7) || (a == 12 && b == 0);
      inserts.push_back("INSERT INTO " + qualified() + " (a, b, v) VALUES (" + std::to_string(a) +
                        ", " + std::to_string(b) + ", '" +
                        (bad ? std::string("not a number") : std::to_string(a * 10 + b)) + "')");
    }
  }
  runAll(inserts);

  auto report = snapshot(options());
  ASSERT_TRUE(report) << report.error().toString();
  EXPECT_EQ(report->rows, 200U);
  EXPECT_EQ(report->indexed, 198U);
  EXPECT_EQ(report->dead_letters, 2U);
  EXPECT_EQ(indexCount(), 198U);

  auto letters = store_->deadLetters(qualified() + "/to_search", 10);
  ASSERT_TRUE(letters);
  ASSERT_EQ(letters->size(), 2U);
  std::map<std::string, std::string> by_key;
  for (const auto& l : *letters) {
    by_key[l.key] = l.reason;
  }
  for (const char* key : {"[3,7]", "[12,0]"}) {
    ASSERT_TRUE(by_key.contains(key)) << key;
    // OpenSearch says mapper_parsing_exception, Elasticsearch 8 document_parsing_exception.
    EXPECT_NE(by_key[key].find("failed to parse field [v]"), std::string::npos) << by_key[key];
  }
  const auto good =
      testing::http("GET", GetParam().url + "/" + table_ + "/_doc/" + testing::urlEncode("[3,6]"));
  EXPECT_EQ(good.status, 200) << good.body;
  auto status = snapshotStatus(*store_, qualified());
  ASSERT_TRUE(status);
  EXPECT_EQ(status->state, SnapshotState::kDone);
}

TEST_P(SnapshotTest, AnEmptyTableCompletes) {
  createTable("k text PRIMARY KEY, v int");
  auto before = snapshotStatus(*store_, qualified());
  ASSERT_TRUE(before);
  EXPECT_EQ(before->state, SnapshotState::kNone);

  SnapshotOptions o = options();
  o.ranges = 0;  // the default
  auto report = snapshot(o);
  ASSERT_TRUE(report) << report.error().toString();
  EXPECT_EQ(report->rows, 0U);
  EXPECT_EQ(report->ranges, kDefaultSnapshotRanges);
  auto status = snapshotStatus(*store_, qualified());
  ASSERT_TRUE(status);
  EXPECT_EQ(status->state, SnapshotState::kDone);
  EXPECT_EQ(status->ranges_done, kDefaultSnapshotRanges);
  EXPECT_EQ(status->rows, 0U);
  EXPECT_GT(status->finished_micros, 0);
}

TEST_P(SnapshotTest, ARerunAfterAResetLeavesNewerDocumentsAlone) {
  createTable("k int PRIMARY KEY, v text");
  std::vector<std::string> inserts;
  for (int k = 0; k < 500; ++k) {
    inserts.push_back("INSERT INTO " + qualified() + " (k, v) VALUES (" + std::to_string(k) +
                      ", 'v" + std::to_string(k) + "') USING TIMESTAMP " +
                      std::to_string(kBaseTime + k));
  }
  runAll(inserts);
  createIndex(indexBody(schema_, client_->server()));
  auto first = snapshot(options());
  ASSERT_TRUE(first) << first.error().toString();
  EXPECT_EQ(first->indexed, 500U);

  // Done means done: a second run reads nothing.
  auto again = snapshot(options());
  ASSERT_TRUE(again) << again.error().toString();
  EXPECT_EQ(again->rows, 0U);
  EXPECT_EQ(again->ranges_resumed, 16U);

  // Three documents became newer in the index (as if the stream had written them since).
  for (const int k : {3, 250, 499}) {
    const auto put = testing::http(
        "PUT",
        GetParam().url + "/" + table_ + "/_doc/" + std::to_string(k) +
            "?version_type=external&version=" + std::to_string(kBaseTime + 10'000'000),
        R"({"k":)" + std::to_string(k) + R"(,"v":"newer"})");
    ASSERT_EQ(put.status, 200) << put.body;
  }

  ASSERT_TRUE(resetSnapshot(*store_, qualified()));
  auto reset = snapshotStatus(*store_, qualified());
  ASSERT_TRUE(reset);
  EXPECT_EQ(reset->state, SnapshotState::kNone);

  auto rerun = snapshot(options());
  ASSERT_TRUE(rerun) << rerun.error().toString();
  EXPECT_EQ(rerun->rows, 500U);
  EXPECT_EQ(rerun->indexed, 497U);  // the same version again is accepted
  EXPECT_EQ(rerun->already_newer, 3U);
  EXPECT_EQ(rerun->dead_letters, 0U);
  EXPECT_EQ(rerun->ranges_resumed, 0U);
  const auto kept = testing::http("GET", GetParam().url + "/" + table_ + "/_doc/250");
  EXPECT_NE(kept.body.find(R"("v":"newer")"), std::string::npos) << kept.body;
  const auto other = testing::http("GET", GetParam().url + "/" + table_ + "/_doc/251");
  EXPECT_NE(other.body.find(R"("_version":)" + std::to_string(kBaseTime + 251)), std::string::npos)
      << other.body;
  auto status = snapshotStatus(*store_, qualified());
  ASSERT_TRUE(status);
  EXPECT_EQ(status->state, SnapshotState::kDone);
}

INSTANTIATE_TEST_SUITE_P(Flavours, SnapshotTest, ::testing::ValuesIn(testing::searchEndpoints()),
                         [](const auto& param_info) { return param_info.param.flavour; });

}  // namespace
}  // namespace cesync::sync
