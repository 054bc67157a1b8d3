// The stream of every tracked table, with its checkpoint, on real servers: the first start saves
// a position before anything else, entries of other tables are skipped, the checkpoint never
// passes work that is not written for good, and a restart from the saved checkpoint changes
// nothing that was already written.
#include "sync/to_search/change_stream.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "changelog/changelog_schema.h"
#include "state/sqlite_checkpoint_store.h"
#include "support/http.h"
#include "support/servers.h"
#include "sync/setup.h"
#include "sync_fixture.h"

namespace cesync::sync {
namespace {

using std::chrono::milliseconds;

class ChangeStreamTest : public SyncFixture {
 protected:
  static void SetUpTestSuite() {
    SyncFixture::SetUpTestSuite();
    createChangelog();
  }

  void SetUp() override {
    SyncFixture::SetUp();
    table_ = testing::uniqueName("cstream_" + GetParam().flavour);
    other_ = table_ + "_other";
    for (const auto& t : {table_, other_}) {
      run("CREATE TABLE it_sync." + t + " (k int PRIMARY KEY, v text, n int)");
      run("CREATE TRIGGER cesync ON it_sync." + t + " USING '" + kTriggerClass + "'");
    }
    ASSERT_TRUE(session_->waitForSchemaAgreement(std::chrono::seconds(30)));
    auto schema = loadTableSchema(*session_, "it_sync", table_);
    ASSERT_TRUE(schema);
    schema_ = *schema;
    const auto created =
        testing::http("PUT", GetParam().url + "/" + table_, indexBody(schema_, client_->server()));
    ASSERT_EQ(created.status, 200) << created.body;
    dir_ = std::filesystem::temp_directory_path() / table_;
    store_ = openStore(dir_);
    ASSERT_NE(store_, nullptr);
  }
  void TearDown() override {
    testing::http("DELETE", GetParam().url + "/" + table_);
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<ChangeStream> makeStream() {
    changelog::ReaderOptions reader;
    reader.confidence_window = milliseconds(300);
    reader.sweep_interval = milliseconds(100);
    reader.settle_time = milliseconds(200);
    reader.consistency = cql::Consistency::kOne;
    TableSyncOptions options;
    options.index = table_;
    options.consistency = cql::Consistency::kOne;
    options.settle = milliseconds(3000);
    std::vector<StreamTable> tables;
    tables.push_back({schema_, options});
    return std::make_unique<ChangeStream>(*session_, *client_, *store_, reader, std::move(tables),
                                          milliseconds(0), clock_);
  }

  std::int64_t savedPosition() {
    changelog::ReaderOptions reader;
    auto v = StreamCursors::readNumber(*store_, StreamCursors::logScope(reader), "position");
    EXPECT_TRUE(v && *v);
    return v && *v ? **v : 0;
  }

  std::uint64_t indexCount() {
    testing::http("POST", GetParam().url + "/" + table_ + "/_refresh");
    auto n = client_->admin().count(table_);
    return n ? *n : 0;
  }

  // Cycles until the stream has written everything logged before now.
  void catchUp(ChangeStream& stream) {
    const std::int64_t target = clock_.wallMicros();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      auto cycle = stream.cycle();
      ASSERT_TRUE(cycle) << cycle.error().toString();
      ASSERT_TRUE(stream.saveCheckpoint(false));
      if (stream.caughtUpTo(target)) {
        return;
      }
      std::this_thread::sleep_for(milliseconds(50));
    }
    FAIL() << "the stream did not catch up";
  }

  std::string table_;
  std::string other_;
  TableSchema schema_;
  std::filesystem::path dir_;
  std::unique_ptr<state::SqliteCheckpointStore> store_;
};

TEST_P(ChangeStreamTest, TheFirstStartSavesAPositionAndARestartResumesFromTheCheckpoint) {
  const std::int64_t before = clock_.wallMicros();
  auto stream = makeStream();
  auto position = stream->start();
  ASSERT_TRUE(position) << position.error().toString();
  // The position trails the start by the confidence window and is saved at once.
  EXPECT_LE(*position, before);
  EXPECT_GE(*position, before - 1'000'000);
  EXPECT_EQ(savedPosition(), *position);

  for (int k = 0; k < 20; ++k) {
    run("INSERT INTO it_sync." + table_ + " (k, v, n) VALUES (" + std::to_string(k) + ", 'v', 1)");
    run("INSERT INTO it_sync." + other_ + " (k, v) VALUES (" + std::to_string(k) + ", 'x')");
  }
  catchUp(*stream);
  EXPECT_EQ(indexCount(), 20U);
  ASSERT_TRUE(stream->saveCheckpoint(true));
  auto counts = StreamCursors::readCounts(*store_, "it_sync." + table_);
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->entries, 20U);  // the other table's entries are not counted
  EXPECT_EQ(counts->indexed, 20U);
  const std::int64_t checkpoint = savedPosition();
  EXPECT_GT(checkpoint, *position);

  // A restart reads again from the checkpoint: whatever it finds again is already written.
  stream.reset();
  auto restarted = makeStream();
  auto resumed = restarted->start();
  ASSERT_TRUE(resumed);
  EXPECT_EQ(*resumed, checkpoint);
  run("UPDATE it_sync." + table_ + " SET v = 'w' WHERE k = 3");
  catchUp(*restarted);
  EXPECT_EQ(indexCount(), 20U);
  const auto doc = testing::http("GET", GetParam().url + "/" + table_ + "/_doc/3");
  EXPECT_NE(doc.body.find(R"("v":"w")"), std::string::npos) << doc.body;
}

TEST_P(ChangeStreamTest, TheCheckpointWaitsForWorkNotWrittenForGood) {
  auto stream = makeStream();
  ASSERT_TRUE(stream->start());
  run("INSERT INTO it_sync." + table_ + " (k, v, n) VALUES (1, 'v', 1)");
  catchUp(*stream);
  // A column delete leaves the row's newest write time below the change's: the row is read
  // again until it settles (3 s here), and the checkpoint must not pass the change meanwhile.
  const std::int64_t before = clock_.wallMicros();
  run("UPDATE it_sync." + table_ + " SET n = null WHERE k = 1");
  const std::int64_t after = clock_.wallMicros();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  bool seen_outstanding = false;
  std::size_t reads = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    auto cycle = stream->cycle();
    ASSERT_TRUE(cycle);
    reads += cycle->flushed.work;
    ASSERT_TRUE(stream->saveCheckpoint(true));
    if (stream->hasOutstanding()) {
      seen_outstanding = true;
      EXPECT_LE(savedPosition(), after);
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_TRUE(seen_outstanding);
  // The row is read again less and less often (0.2 s, 0.4 s, 0.8 s...), not at every cycle.
  EXPECT_LE(reads, 5U);
  // Once the work settles, the checkpoint moves past the change.
  catchUp(*stream);
  ASSERT_TRUE(stream->saveCheckpoint(true));
  EXPECT_GT(savedPosition(), before);
  const auto doc = testing::http("GET", GetParam().url + "/" + table_ + "/_doc/1");
  EXPECT_NE(doc.body.find(R"("n":null)"), std::string::npos) << doc.body;
}

INSTANTIATE_TEST_SUITE_P(Flavours, ChangeStreamTest,
                         ::testing::ValuesIn(testing::searchEndpoints()),
                         [](const auto& param_info) { return param_info.param.flavour; });

}  // namespace
}  // namespace cesync::sync
