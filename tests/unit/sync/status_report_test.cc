// `cesync status` reads a table's state from the store alone; its JSON is a contract with
// users' scripts, so its exact form is pinned here.
#include "sync/status_report.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "state/sqlite_checkpoint_store.h"

namespace cesync::sync {
namespace {

class StatusReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("status_report_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
             "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db");
    std::filesystem::remove(path_);
    auto store = state::SqliteCheckpointStore::open(path_.string());
    ASSERT_TRUE(store);
    store_ = std::move(*store);
    config::TableConfig table;
    table.keyspace = "shop";
    table.table = "product";
    table.index = "shop_product";
    config_.changelog.keyspace = "cesync";
    config_.changelog.table = "changelog";
    config_.tables.push_back(table);
    clock_.setWallMicros(1'700'000'010'000'000);  // 2023-11-14T22:13:30Z
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove(path_);
    std::filesystem::remove(path_.string() + "-wal");
    std::filesystem::remove(path_.string() + "-shm");
  }

  std::filesystem::path path_;
  std::unique_ptr<state::SqliteCheckpointStore> store_;
  config::Config config_;
  ManualClock clock_;
};

TEST_F(StatusReportTest, ATableNeverRunHasNoCheckpointAndNoLag) {
  auto report = StatusReport::read(config_, *store_, clock_);
  ASSERT_TRUE(report) << report.error().toString();
  EXPECT_EQ(report->json(),
            R"({"now":"2023-11-14T22:13:30.000Z","tables":[{"table":"shop.product",)"
            R"("index":"shop_product","direction":"to_search","snapshot":{"state":"none",)"
            R"("ranges":0,"ranges_done":0,"rows":0},"checkpoint":null,"lag_seconds":null,)"
            R"("counts":{"entries":0,"indexed":0,"deleted":0,"already_newer":0,"echo":0,)"
            R"("dead_letters":0},"dead_letters":[]}]})");
}

TEST_F(StatusReportTest, CheckpointLagCountsAndDeadLettersComeFromTheStore) {
  const std::int64_t at = 1'700'000'000'000'000;  // 2023-11-14T22:13:20Z
  ASSERT_TRUE(store_->commit(
      {.cursors = {{"changelog/cesync.changelog", "position", std::to_string(at), at},
                   {"shop.product/to_search", "applied", std::to_string(at + 7'500'000), at},
                   {"shop.product/to_search", "entries", "12", at},
                   {"shop.product/to_search", "indexed", "10", at},
                   {"shop.product/to_search", "deleted", "1", at},
                   {"shop.product/to_search", "already_newer", "2", at}},
       .dead_letters = {
           {"shop.product/to_search", "p\"1", "mapper_parsing_exception: bad", at + 1000}}}));
  auto report = StatusReport::read(config_, *store_, clock_);
  ASSERT_TRUE(report) << report.error().toString();
  EXPECT_EQ(report->json(),
            R"({"now":"2023-11-14T22:13:30.000Z","tables":[{"table":"shop.product",)"
            R"("index":"shop_product","direction":"to_search","snapshot":{"state":"none",)"
            R"("ranges":0,"ranges_done":0,"rows":0},"checkpoint":"2023-11-14T22:13:20.000Z",)"
            R"("lag_seconds":2.5,"counts":{"entries":12,"indexed":10,"deleted":1,)"
            R"("already_newer":2,"echo":0,"dead_letters":1},"dead_letters":[{"key":"p\"1",)"
            R"("reason":"mapper_parsing_exception: bad","at":"2023-11-14T22:13:20.001Z"}]}]})");
  const std::string text = report->text();
  EXPECT_NE(text.find("lag:         2.5 s"), std::string::npos) << text;
  EXPECT_NE(text.find("12 entries, 10 indexed, 1 deleted, 2 already newer, 1 dead letters"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("dead letter: 2023-11-14T22:13:20.001Z p\"1: mapper_parsing_exception"),
            std::string::npos)
      << text;
}

TEST_F(StatusReportTest, ATableThatTakesDocumentsBackShowsItsWayBack) {
  config_.tables[0].direction = config::Direction::kBoth;
  const std::int64_t at = 1'700'000'000'000'000;
  ASSERT_TRUE(store_->commit(
      {.cursors = {{"shop.product/to_cassandra", "position", "1700000005000", at},
                   {"shop.product/to_cassandra", "read", "9", at},
                   {"shop.product/to_cassandra", "written", "4", at},
                   {"shop.product/to_cassandra", "deleted", "1", at},
                   {"shop.product/to_cassandra", "not_newer", "3", at},
                   {"shop.product/to_cassandra", "echo", "1", at}},
       .dead_letters = {{"shop.product/to_cassandra", "p2", "column price: bad", at}}}));
  auto report = StatusReport::read(config_, *store_, clock_);
  ASSERT_TRUE(report) << report.error().toString();
  const std::string json = report->json();
  EXPECT_NE(json.find(R"("direction":"both")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("to_cassandra":{"checkpoint":"2023-11-14T22:13:25.000Z","counts":)"
                      R"({"read":9,"written":4,"deleted":1,"not_newer":3,"echo":1,"repaired":0,)"
                      R"("dead_letters":1},"dead_letters":[{"key":"p2","reason":)"
                      R"("column price: bad","at":"2023-11-14T22:13:20.000Z"}]})"),
            std::string::npos)
      << json;
  EXPECT_NE(report->text().find("9 read, 4 written, 1 deleted, 3 not newer, 1 echoes"),
            std::string::npos)
      << report->text();
}

}  // namespace
}  // namespace cesync::sync
