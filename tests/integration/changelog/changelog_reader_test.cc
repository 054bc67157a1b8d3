// The change-log reader against the real node with the trigger installed: writes to a tracked
// table come back as entries, late entries are found by the sweep, a restart from the safe
// position misses nothing, and a small budget spreads a backlog over several polls.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <thread>

#include "changelog/changelog_reader.h"
#include "changelog/changelog_schema.h"
#include "support/cassandra.h"
#include "support/servers.h"

namespace cesync::changelog {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class ChangelogReaderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    session_ = testing::connectLocalCassandra().release();
    ASSERT_NE(session_, nullptr);
    ChangelogSchema schema;
    schema.replication = "{'class': 'SimpleStrategy', 'replication_factor': 1}";
    for (const auto& statement : changelogDdl(schema)) {
      run(statement);
    }
    run("CREATE KEYSPACE IF NOT EXISTS it_changelog WITH replication = "
        "{'class': 'SimpleStrategy', 'replication_factor': 1}");
    ASSERT_TRUE(session_->waitForSchemaAgreement(seconds(30)));
  }

  static void TearDownTestSuite() {
    if (session_ != nullptr) {
      session_->stop();
      delete session_;
      session_ = nullptr;
    }
  }

  static void run(const std::string& cql, std::vector<cql::Value> values = {}) {
    testing::runCql(*session_, cql, std::move(values));
  }

  // A tracked table of its own for each test.
  std::string trackedTable() {
    const std::string name =
        testing::uniqueName(::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::string lowered;
    for (char c : name) {
      lowered += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    table_ = lowered.substr(0, 48);
    run("CREATE TABLE it_changelog." + table_ + " (p text, c int, v text, PRIMARY KEY (p, c))");
    run("CREATE TRIGGER cesync ON it_changelog." + table_ +
        " USING 'cesync.trigger.ChangeLogTrigger'");
    EXPECT_TRUE(session_->waitForSchemaAgreement(seconds(30)));
    return "it_changelog." + table_;
  }

  static ReaderOptions options() {
    ReaderOptions o;
    o.confidence_window = milliseconds(5000);
    o.sweep_interval = milliseconds(300);
    o.settle_time = milliseconds(1000);
    o.consistency = cql::Consistency::kOne;
    return o;
  }

  // Polls until `want` entries of this test's table arrived (or a deadline passed); fails on a
  // duplicate.
  std::vector<ChangelogEntry> collect(ChangelogReader& reader, std::size_t want,
                                      seconds deadline = seconds(30), bool* saw_behind = nullptr) {
    std::vector<ChangelogEntry> mine;
    std::map<cql::UuidBytes, int> ids;
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (mine.size() < want && std::chrono::steady_clock::now() < until) {
      auto entries = reader.poll();
      EXPECT_TRUE(entries) << entries.error().toString();
      if (!entries) {
        break;
      }
      if (saw_behind != nullptr && reader.behind()) {
        *saw_behind = true;
      }
      for (auto& e : *entries) {
        if (e.keyspace == "it_changelog" && e.table == table_) {
          EXPECT_EQ(++ids[e.id], 1) << "entry returned twice";
          mine.push_back(std::move(e));
        }
      }
      if (entries->empty()) {
        std::this_thread::sleep_for(milliseconds(50));  // poll interval, not a wait for a result
      }
    }
    return mine;
  }

  static cql::Session* session_;
  std::string table_;
  SystemClock clock_;
};

cql::Session* ChangelogReaderTest::session_ = nullptr;

std::string text(const cql::Bytes& b) {
  return {b.begin(), b.end()};
}

std::int32_t int32(const cql::Bytes& b) {
  EXPECT_EQ(b.size(), 4U);
  return static_cast<std::int32_t>((std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) |
                                   (std::uint32_t{b[2]} << 8) | b[3]);
}

TEST_F(ChangelogReaderTest, WritesComeBackAsEntries) {
  const std::string t = trackedTable();
  ChangelogReader reader(*session_, options(), clock_);
  for (int i = 0; i < 10; ++i) {
    run("INSERT INTO " + t + " (p, c, v) VALUES (?, ?, 'x') USING TIMESTAMP ?",
        {cql::Value::text("o'b ✓"), cql::Value::integer(i), cql::Value::bigint(1000 + i)});
  }
  run("DELETE FROM " + t + " USING TIMESTAMP 5000 WHERE p = 'o''b ✓' AND c = 3");
  run("DELETE FROM " + t + " USING TIMESTAMP 6000 WHERE p = 'gone'");
  run("DELETE FROM " + t + " USING TIMESTAMP 7000 WHERE p = 'o''b ✓' AND c >= 7");

  const auto entries = collect(reader, 13);
  ASSERT_EQ(entries.size(), 13U);
  std::map<ChangeKind, int> kinds;
  for (const auto& e : entries) {
    ++kinds[e.kind];
    ASSERT_EQ(e.pk.size(), 1U);
    if (e.kind == ChangeKind::kUpsert) {
      EXPECT_EQ(text(e.pk[0]), "o'b ✓");
      ASSERT_EQ(e.ck.size(), 1U);
      EXPECT_EQ(e.write_time, 1000 + int32(e.ck[0]));
      EXPECT_TRUE(e.atomic);
    } else if (e.kind == ChangeKind::kRowDelete) {
      EXPECT_EQ(int32(e.ck[0]), 3);
      EXPECT_EQ(e.write_time, 5000);
    } else if (e.kind == ChangeKind::kPartitionDelete) {
      EXPECT_EQ(text(e.pk[0]), "gone");
      EXPECT_EQ(e.write_time, 6000);
    } else if (e.kind == ChangeKind::kRangeDelete) {
      ASSERT_EQ(e.range_start.size(), 1U);
      EXPECT_EQ(int32(e.range_start[0]), 7);
      EXPECT_TRUE(e.range_start_inclusive);
      EXPECT_TRUE(e.range_end.empty()) << "unbounded above";
    }
  }
  EXPECT_EQ(kinds[ChangeKind::kUpsert], 10);
  EXPECT_EQ(kinds[ChangeKind::kRowDelete], 1);
  EXPECT_EQ(kinds[ChangeKind::kPartitionDelete], 1);
  EXPECT_EQ(kinds[ChangeKind::kRangeDelete], 1);
  // Nothing more comes for the same writes, however often the window is re-read.
  EXPECT_TRUE(collect(reader, 1, seconds(2)).empty());
}

TEST_F(ChangelogReaderTest, LateEntriesAreFoundByTheSweep) {
  trackedTable();
  ChangelogReader reader(*session_, options(), clock_);
  // The forward reads pass "now" first...
  ASSERT_TRUE(collect(reader, 1, seconds(1)).empty());
  // ...then an entry appears stamped 3 s in the past (a coordinator whose clock lags, or a slow
  // batch): behind every forward cursor, inside the confidence window.
  const std::int64_t late = clock_.wallMicros() - 3'000'000;
  cql::UuidBytes id = ChangelogReader::minTimeuuid(late);
  std::mt19937_64 rng(std::random_device{}());
  for (std::size_t i = 8; i < 16; ++i) {
    id[i] = static_cast<std::uint8_t>(rng());
  }
  const std::int64_t bucket_ms = late / 1000 / 60'000 * 60'000;
  run("INSERT INTO cesync.changelog (bucket, shard, id, keyspace_name, table_name, kind, pk, ck,"
      " write_time, atomic) VALUES (?, 0, ?, 'it_changelog', ?, 'upsert', [0x6c617465], "
      "[0x00000001],"
      " 42, true)",
      {cql::Value::timestamp(bucket_ms), cql::Value::timeuuid(id), cql::Value::text(table_)});
  const auto entries = collect(reader, 1);
  ASSERT_EQ(entries.size(), 1U);
  EXPECT_EQ(entries[0].id, id);
  EXPECT_EQ(text(entries[0].pk[0]), "late");
  EXPECT_EQ(entries[0].write_time, 42);
}

TEST_F(ChangelogReaderTest, RestartFromTheSafePositionMissesNothing) {
  const std::string t = trackedTable();
  std::int64_t safe = 0;
  {
    ChangelogReader first(*session_, options(), clock_);
    for (int i = 0; i < 5; ++i) {
      run("INSERT INTO " + t + " (p, c) VALUES ('a', ?)", {cql::Value::integer(i)});
    }
    ASSERT_EQ(collect(first, 5).size(), 5U);
    safe = first.safePosition();
    EXPECT_LE(safe, clock_.wallMicros() - 5'000'000 + 1'000'000)
        << "the safe position trails by the confidence window";
  }
  // Written while no reader runs.
  for (int i = 5; i < 12; ++i) {
    run("INSERT INTO " + t + " (p, c) VALUES ('a', ?)", {cql::Value::integer(i)});
  }
  ChangelogReader second(*session_, options(), clock_);
  second.resume(safe);
  const auto entries = collect(second, 12);
  std::set<std::int32_t> seen;
  for (const auto& e : entries) {
    seen.insert(int32(e.ck[0]));
  }
  for (int i = 5; i < 12; ++i) {
    EXPECT_TRUE(seen.contains(i)) << "missed row " << i;
  }
}

TEST_F(ChangelogReaderTest, ABacklogIsReadInBoundedPolls) {
  const std::string t = trackedTable();
  const std::int64_t start = clock_.wallMicros();
  for (int i = 0; i < 64; ++i) {
    run("INSERT INTO " + t + " (p, c) VALUES (?, 0)", {cql::Value::text("p" + std::to_string(i))});
  }
  ReaderOptions o = options();
  o.max_entries_per_poll = 8;  // one entry per shard and poll
  o.sweep_interval = milliseconds(60'000);
  ChangelogReader reader(*session_, o, clock_);
  reader.resume(start - 1'000'000);
  bool behind = false;
  const auto entries = collect(reader, 64, seconds(60), &behind);
  EXPECT_EQ(entries.size(), 64U);
  EXPECT_TRUE(behind) << "the budget cut at least one poll short";
}

// A poll that fails half-way (one shard's read fails after others were read, as when a node
// shuts down mid-poll) returns nothing; the next poll must return what it had read. The log is
// a private one, so that no other reader meets the entry that makes the read fail.
TEST_F(ChangelogReaderTest, EntriesReadByAFailedPollAreReturnedByTheNext) {
  trackedTable();  // only for its unique name
  ChangelogSchema schema;
  schema.keyspace = "it_changelog_fault";
  schema.table = table_;
  schema.replication = "{'class': 'SimpleStrategy', 'replication_factor': 1}";
  for (const auto& statement : changelogDdl(schema)) {
    run(statement);
  }
  ASSERT_TRUE(session_->waitForSchemaAgreement(seconds(30)));
  const std::string log = schema.keyspace + "." + schema.table;
  ReaderOptions o = options();
  o.keyspace = schema.keyspace;
  o.table = schema.table;
  ChangelogReader reader(*session_, o, clock_);
  ASSERT_TRUE(collect(reader, 1, seconds(1)).empty());

  // One entry in every shard, then one that cannot be parsed in the last shard, after them.
  std::mt19937_64 rng(std::random_device{}());
  auto entryId = [&](std::int64_t micros) {
    cql::UuidBytes id = ChangelogReader::minTimeuuid(micros);
    for (std::size_t i = 8; i < 16; ++i) {
      id[i] = static_cast<std::uint8_t>(rng());
    }
    return id;
  };
  const std::int64_t now = clock_.wallMicros();
  const std::int64_t bucket_ms = now / 1000 / 60'000 * 60'000;
  const std::string insert = "INSERT INTO " + log +
                             " (bucket, shard, id, keyspace_name, table_name, kind, pk, ck,"
                             " write_time, atomic) VALUES (?, ?, ?, 'it_changelog', ?, ?, "
                             "[0x6b], [0x00000001], 42, true)";
  for (std::int32_t shard = 0; shard < o.shards; ++shard) {
    run(insert, {cql::Value::timestamp(bucket_ms), cql::Value::integer(shard),
                 cql::Value::timeuuid(entryId(now + shard)), cql::Value::text(table_),
                 cql::Value::text("upsert")});
  }
  const cql::UuidBytes bad = entryId(now + 1000);
  run(insert,
      {cql::Value::timestamp(bucket_ms), cql::Value::integer(o.shards - 1),
       cql::Value::timeuuid(bad), cql::Value::text(table_), cql::Value::text("no such kind")});

  auto failed = reader.poll();
  ASSERT_FALSE(failed) << "a poll meeting the unreadable entry fails";
  run("DELETE FROM " + log + " WHERE bucket = ? AND shard = ? AND id = ?",
      {cql::Value::timestamp(bucket_ms), cql::Value::integer(o.shards - 1),
       cql::Value::timeuuid(bad)});
  EXPECT_EQ(collect(reader, static_cast<std::size_t>(o.shards), seconds(10)).size(),
            static_cast<std::size_t>(o.shards))
      << "entries read by the failed poll are lost";
  run("DROP TABLE " + log);
}

}  // namespace
}  // namespace cesync::changelog
