// The stream of every tracked table, with its checkpoint, on real servers: the first start saves
// a position before anything else, entries of other tables are skipped, the checkpoint never
// passes work that is not written for good (writes in flight included), a restart from the
// saved checkpoint changes nothing that was already written, and writes sent while the next
// rows are read land in order.
#include "sync/to_search/change_stream.h"

#include <gtest/gtest.h>

#include <atomic>
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

  // A stream whose writes go out from a thread of their own (as the daemon runs it), or, with
  // `overlapped` false, within each cycle.
  std::unique_ptr<ChangeStream> makeStream(bool overlapped = true) {
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
    if (overlapped && !writer_) {
      es::ClientOptions writer_options;
      writer_options.transport.base_url = GetParam().url;
      // While `refuse_writes_` is set, the writer gives up every item before sending it, as a
      // stopping daemon does: the items stay unacknowledged.
      writer_options.bulk.interrupt = [this] {
        return refuse_writes_.load() ? es::BulkInterrupt::kGiveUp : es::BulkInterrupt::kNone;
      };
      auto writer = es::EsClient::connect(writer_options, clock_);
      EXPECT_TRUE(writer) << writer.error().toString();
      writer_ = writer ? std::move(*writer) : nullptr;
    }
    return std::make_unique<ChangeStream>(*session_, *client_, *store_, reader, std::move(tables),
                                          milliseconds(0), clock_,
                                          overlapped ? writer_.get() : nullptr);
  }

  std::string document(int k) {
    return testing::http("GET", GetParam().url + "/" + table_ + "/_doc/" + std::to_string(k)).body;
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
  std::atomic<bool> refuse_writes_{false};
  std::unique_ptr<es::EsClient> writer_;
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

TEST_P(ChangeStreamTest, WithoutAWriterEachCycleWritesBeforeItReturns) {
  auto stream = makeStream(/*overlapped=*/false);
  ASSERT_TRUE(stream->start());
  run("INSERT INTO it_sync." + table_ + " (k, v, n) VALUES (1, 'v', 1)");
  catchUp(*stream);
  EXPECT_EQ(indexCount(), 1U);
  EXPECT_NE(document(1).find(R"("v":"v")"), std::string::npos);
}

TEST_P(ChangeStreamTest, WritesInFlightHoldTheCheckpointUntilTheIndexAcknowledgesThem) {
  auto stream = makeStream();
  ASSERT_TRUE(stream->start());
  refuse_writes_ = true;
  run("INSERT INTO it_sync." + table_ + " (k, v, n) VALUES (1, 'v', 1)");
  const std::int64_t after = clock_.wallMicros();
  // Each cycle sends the row and lands the last cycle's refused write: the cycles fail, the
  // reader's sweeps pass the entry (window 0.3 s), and the checkpoint must stay behind it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
  std::size_t failed = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!stream->cycle()) {
      ++failed;
    }
    ASSERT_TRUE(stream->saveCheckpoint(true));
    EXPECT_LE(savedPosition(), after);
    EXPECT_TRUE(stream->hasOutstanding());
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_GT(failed, 0U);
  EXPECT_EQ(indexCount(), 0U);
  // The writes go through once the index takes them; then the checkpoint moves on.
  refuse_writes_ = false;
  // The write in flight may have been given up before the switch: its work is staged again.
  if (auto landed = stream->drain(); !landed) {
    EXPECT_EQ(landed.error().code, ErrorCode::kUnavailable) << landed.error().toString();
  }
  catchUp(*stream);
  ASSERT_TRUE(stream->drain());
  ASSERT_TRUE(stream->saveCheckpoint(true));
  EXPECT_GT(savedPosition(), after);
  EXPECT_EQ(indexCount(), 1U);
}

TEST_P(ChangeStreamTest, OverlappedCyclesWriteEveryKeysNewestRow) {
  auto stream = makeStream();
  ASSERT_TRUE(stream->start());
  // Ten keys rewritten in every round, one cycle per round: a round's rows are read while the
  // writes of the round before are in flight, often of the same keys.
  constexpr int kRounds = 25;
  for (int round = 0; round < kRounds; ++round) {
    for (int k = 0; k < 10; ++k) {
      run("INSERT INTO it_sync." + table_ + " (k, v, n) VALUES (" + std::to_string(k) + ", 'r" +
          std::to_string(round) + "', " + std::to_string(round) + ")");
    }
    auto cycle = stream->cycle();
    ASSERT_TRUE(cycle) << cycle.error().toString();
  }
  catchUp(*stream);
  EXPECT_EQ(indexCount(), 10U);
  for (int k = 0; k < 10; ++k) {
    const std::string doc = document(k);
    EXPECT_NE(doc.find(R"("n":)" + std::to_string(kRounds - 1)), std::string::npos) << doc;
    // The document's version is the row's write time, not an earlier round's.
    auto rows = session_->execute("SELECT writetime(v) FROM it_sync." + table_ +
                                  " WHERE k = " + std::to_string(k));
    ASSERT_TRUE(rows);
    std::int64_t written = 0;
    for (const auto row : rows->rows) {
      written = row.get<std::int64_t>(0).value_or(0);
    }
    EXPECT_NE(doc.find(R"("_version":)" + std::to_string(written)), std::string::npos) << doc;
  }
}

INSTANTIATE_TEST_SUITE_P(Flavours, ChangeStreamTest,
                         ::testing::ValuesIn(testing::searchEndpoints()),
                         [](const auto& param_info) { return param_info.param.flavour; });

}  // namespace
}  // namespace cesync::sync
