// The Cassandra-to-index step end to end on real servers: writes to a tracked table go through
// the trigger's change log, the reader, the coalescer, the fetcher and versioned bulk writes,
// until the index equals the table (checked independently: ids formatted by hand, values read
// back over plain HTTP). A document the index rejects is dead-lettered while the rest sync.
#include "sync/to_search/table_sync.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <filesystem>
#include <map>
#include <thread>

#include "changelog/changelog_reader.h"
#include "changelog/changelog_schema.h"
#include "state/sqlite_checkpoint_store.h"
#include "support/http.h"
#include "support/servers.h"
#include "sync/setup.h"
#include "sync_fixture.h"

namespace cesync::sync {
namespace {

using std::chrono::milliseconds;

// id -> "v|n" ("null" for nulls)
using Contents = std::map<std::string, std::string>;

class TableSyncTest : public SyncFixture {
 protected:
  static void SetUpTestSuite() {
    SyncFixture::SetUpTestSuite();
    createChangelog();
  }

  void SetUp() override {
    SyncFixture::SetUp();
    table_ = testing::uniqueName("tsync_" + GetParam().flavour);
    run("CREATE TABLE it_sync." + table_ +
        " (a int, b text, c int, v text, n int, PRIMARY KEY ((a, b), c))");
    run("CREATE TRIGGER cesync ON it_sync." + table_ + " USING '" + kTriggerClass + "'");
    ASSERT_TRUE(session_->waitForSchemaAgreement(std::chrono::seconds(30)));
    auto schema = loadTableSchema(*session_, "it_sync", table_);
    ASSERT_TRUE(schema);
    schema_ = *schema;
    dir_ = std::filesystem::temp_directory_path() / table_;
    store_ = openStore(dir_);
    ASSERT_NE(store_, nullptr);
    changelog::ReaderOptions reader_options;
    reader_options.confidence_window = milliseconds(5000);
    reader_options.sweep_interval = milliseconds(500);
    reader_options.consistency = cql::Consistency::kOne;
    reader_ = std::make_unique<changelog::ChangelogReader>(*session_, reader_options, clock_);
  }
  void TearDown() override {
    testing::http("DELETE", GetParam().url + "/" + table_);
    std::filesystem::remove_all(dir_);
  }

  void createIndex(const std::string& body) {
    const auto created = testing::http("PUT", GetParam().url + "/" + table_, body);
    ASSERT_EQ(created.status, 200) << created.body;
  }

  TableSync makeSync() {
    TableSyncOptions options;
    options.index = table_;
    options.consistency = cql::Consistency::kOne;
    options.settle = milliseconds(3000);
    return TableSync(*session_, *client_, *store_, schema_, options, clock_);
  }

  // The table as it is, with ids formatted by hand.
  Contents tableContents() {
    Contents out;
    auto rows = session_->execute("SELECT a, b, c, v, n FROM it_sync." + table_);
    EXPECT_TRUE(rows);
    for (const auto row : rows->rows) {
      const std::string id = "[" + std::to_string(*row.get<std::int32_t>(0)) + ",\"" +
                             *row.get<std::string>(1) + "\"," +
                             std::to_string(*row.get<std::int32_t>(2)) + "]";
      out[id] = (row.isNull(3) ? "null" : *row.get<std::string>(3)) + "|" +
                (row.isNull(4) ? "null" : std::to_string(*row.get<std::int32_t>(4)));
    }
    return out;
  }

  // The index as it is, read over plain HTTP.
  Contents indexContents() {
    testing::http("POST", GetParam().url + "/" + table_ + "/_refresh");
    const auto r = testing::http("GET", GetParam().url + "/" + table_ + "/_search?size=1000");
    Contents out;
    simdjson::dom::parser parser;
    auto doc = parser.parse(r.body);
    if (doc.error()) {
      return out;
    }
    for (auto hit : doc["hits"]["hits"].get_array()) {
      const auto source = hit["_source"];
      const auto v = source["v"];
      const auto n = source["n"];
      out[std::string(std::string_view(hit["_id"]))] =
          (v.is_null() ? std::string("null") : std::string(std::string_view(v))) + "|" +
          (n.is_null() ? std::string("null") : std::to_string(std::int64_t(n)));
    }
    return out;
  }

  // Polls the log and flushes until the index equals the table, or the deadline passes.
  void syncUntilEqual(TableSync& sync) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    Contents want = tableContents();
    Contents have;
    while (std::chrono::steady_clock::now() < deadline) {
      auto entries = reader_->poll();
      ASSERT_TRUE(entries) << entries.error().toString();
      for (const auto& e : *entries) {
        if (e.keyspace == "it_sync" && e.table == table_) {
          sync.add(e);
        }
      }
      auto flushed = sync.flush();
      ASSERT_TRUE(flushed) << flushed.error().toString();
      have = indexContents();
      if (have == want && !sync.oldestOutstanding()) {
        return;
      }
      std::this_thread::sleep_for(milliseconds(100));  // poll interval
    }
    EXPECT_EQ(have, want) << "the index did not converge on the table";
  }

  std::string table_;
  TableSchema schema_;
  std::filesystem::path dir_;
  std::unique_ptr<state::SqliteCheckpointStore> store_;
  std::unique_ptr<changelog::ChangelogReader> reader_;
};

TEST_P(TableSyncTest, TheIndexFollowsEveryKindOfWrite) {
  createIndex(indexBody(schema_, client_->server()));
  TableSync sync = makeSync();
  const std::string t = "it_sync." + table_;
  for (int c = 1; c <= 5; ++c) {
    run("INSERT INTO " + t + " (a, b, c, v, n) VALUES (1, 'o''x', " + std::to_string(c) + ", 'v" +
        std::to_string(c) + "', " + std::to_string(c) + ")");
  }
  for (int c = 1; c <= 3; ++c) {
    run("INSERT INTO " + t + " (a, b, c, v) VALUES (2, 'y', " + std::to_string(c) + ", 'w')");
  }
  syncUntilEqual(sync);
  ASSERT_EQ(indexContents().size(), 8U);

  run("UPDATE " + t + " SET v = 'changed' WHERE a = 1 AND b = 'o''x' AND c = 2");
  run("UPDATE " + t + " SET n = null WHERE a = 1 AND b = 'o''x' AND c = 3");
  run("DELETE FROM " + t + " WHERE a = 1 AND b = 'o''x' AND c = 4");
  run("DELETE FROM " + t + " WHERE a = 1 AND b = 'o''x' AND c >= 5");
  run("DELETE FROM " + t + " WHERE a = 2 AND b = 'y'");
  // A write stamped in the past still lands (its log entry is in a current bucket)...
  run("INSERT INTO " + t + " (a, b, c, v) VALUES (3, 'z', 1, 'past') USING TIMESTAMP 1000");
  // ...and one older than the row's data changes nothing, on either side.
  run("UPDATE " + t + " USING TIMESTAMP 1000 SET v = 'stale' WHERE a = 1 AND b = 'o''x' AND c = 1");
  syncUntilEqual(sync);
  const Contents now = indexContents();
  EXPECT_EQ(now.at(R"([1,"o'x",1])"), "v1|1");
  EXPECT_EQ(now.at(R"([1,"o'x",2])"), "changed|2");
  EXPECT_EQ(now.at(R"([1,"o'x",3])"), "v3|null");
  EXPECT_EQ(now.at(R"([3,"z",1])"), "past|null");
  EXPECT_EQ(now.size(), 4U);
}

TEST_P(TableSyncTest, ARejectedDocumentIsDeadLetteredWhileTheRestSync) {
  // An index whose `v` is numeric: the engine refuses rows whose v is not a number.
  createIndex(R"({"settings":{"number_of_shards":1,"number_of_replicas":0},)"
              R"("mappings":{"properties":{"v":{"type":"long"}}}})");
  TableSync sync = makeSync();
  const std::string t = "it_sync." + table_;
  run("INSERT INTO " + t + " (a, b, c, v) VALUES (1, 'a', 1, '12')");
  run("INSERT INTO " + t + " (a, b, c, v) VALUES (1, 'a', 2, 'not a number')");
  run("INSERT INTO " + t + " (a, b, c, v) VALUES (1, 'a', 3, '13')");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline && indexContents().size() < 2) {
    auto entries = reader_->poll();
    ASSERT_TRUE(entries);
    for (const auto& e : *entries) {
      if (e.keyspace == "it_sync" && e.table == table_) {
        sync.add(e);
      }
    }
    ASSERT_TRUE(sync.flush());
    std::this_thread::sleep_for(milliseconds(100));
  }
  const Contents have = indexContents();
  EXPECT_EQ(have.size(), 2U);
  EXPECT_TRUE(have.contains(R"([1,"a",1])"));
  EXPECT_TRUE(have.contains(R"([1,"a",3])"));
  auto letters = store_->deadLetters(sync.scope(), 10);
  ASSERT_TRUE(letters);
  ASSERT_GE(letters->size(), 1U);
  EXPECT_EQ((*letters)[0].key, R"([1,"a",2])");
  // OpenSearch says mapper_parsing_exception, Elasticsearch 8 document_parsing_exception.
  EXPECT_NE((*letters)[0].reason.find("failed to parse field [v]"), std::string::npos)
      << (*letters)[0].reason;
}

// A cell delete leaves no WRITETIME to read: the document it made carries the delete's version,
// above everything the row shows. Writes stamped between the two, by clocks a second apart, are
// still the table's truth, and the index must follow them rather than refuse them as older.
TEST_P(TableSyncTest, AWriteRefusedByACellDeletesVersionIsComparedAndWritten) {
  createIndex(indexBody(schema_, client_->server()));
  TableSync sync = makeSync();
  const std::string t = "it_sync." + table_;
  const std::int64_t t1 = clock_.wallMicros();
  auto at = [&](int seconds) { return std::to_string(t1 + std::int64_t{seconds} * 1'000'000); };
  for (const char* c : {"1", "2"}) {
    run("INSERT INTO " + t + " (a, b, c, v, n) VALUES (1, 'x', " + c +
        ", 'a', 1) USING TIMESTAMP " + at(0));
    run("DELETE n FROM " + t + " USING TIMESTAMP " + at(6) +
        " WHERE a = 1 AND b = 'x' AND c = " + c);
  }
  syncUntilEqual(sync);
  ASSERT_EQ(indexContents().at(R"([1,"x",1])"), "a|null");
  // Row 1: deleted at T5, after its cells and before the cell delete: it is gone.
  run("DELETE FROM " + t + " USING TIMESTAMP " + at(5) + " WHERE a = 1 AND b = 'x' AND c = 1");
  // Row 2: v written at T3: Cassandra holds it.
  run("UPDATE " + t + " USING TIMESTAMP " + at(3) +
      " SET v = 'b' WHERE a = 1 AND b = 'x' AND c = 2");
  syncUntilEqual(sync);
  const Contents now = indexContents();
  EXPECT_FALSE(now.contains(R"([1,"x",1])"));
  EXPECT_EQ(now.at(R"([1,"x",2])"), "b|null");
}

TEST_P(TableSyncTest, ADeleteReadBeforeItArrivesIsReadAgain) {
  createIndex(indexBody(schema_, client_->server()));
  TableSync sync = makeSync();
  const std::string t = "it_sync." + table_;
  run("INSERT INTO " + t + " (a, b, c, v) VALUES (7, 'e', 1, 'x')");
  syncUntilEqual(sync);
  ASSERT_EQ(indexContents().size(), 1U);

  // The entry of a delete, read before the delete reaches the replica read: on a ring a logged
  // batch's mutations travel apart, and a failed one is replayed from the batchlog later.
  const std::int64_t at = clock_.wallMicros();
  auto serialized = [](std::int32_t v) {
    const auto u = static_cast<std::uint32_t>(v);
    return cql::Bytes{static_cast<std::uint8_t>(u >> 24U), static_cast<std::uint8_t>(u >> 16U),
                      static_cast<std::uint8_t>(u >> 8U), static_cast<std::uint8_t>(u)};
  };
  changelog::ChangelogEntry entry;
  entry.id_micros = at;
  entry.keyspace = "it_sync";
  entry.table = table_;
  entry.kind = changelog::ChangeKind::kRowDelete;
  entry.pk = {serialized(7), cql::Bytes{'e'}};
  entry.ck = {serialized(1)};
  entry.write_time = at;
  sync.add(entry);
  auto early = sync.flush();
  ASSERT_TRUE(early) << early.error().toString();
  EXPECT_EQ(indexContents().size(), 1U) << "the row is still there";
  EXPECT_TRUE(sync.oldestOutstanding()) << "the delete waits to be read again";

  // The delete arrives; its own entry is never read here.
  run("DELETE FROM " + t + " USING TIMESTAMP " + std::to_string(at) +
      " WHERE a = 7 AND b = 'e' AND c = 1");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline &&
         (!indexContents().empty() || sync.oldestOutstanding())) {
    auto flushed = sync.flush();
    ASSERT_TRUE(flushed) << flushed.error().toString();
    std::this_thread::sleep_for(milliseconds(100));  // poll interval
  }
  EXPECT_TRUE(indexContents().empty()) << "the deleted row's document is still indexed";
}

INSTANTIATE_TEST_SUITE_P(Flavours, TableSyncTest, ::testing::ValuesIn(testing::searchEndpoints()),
                         [](const auto& param_info) { return param_info.param.flavour; });

}  // namespace
}  // namespace cesync::sync
