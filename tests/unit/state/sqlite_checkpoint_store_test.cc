#include "state/sqlite_checkpoint_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <thread>

namespace cesync::state {
namespace {

class SqliteCheckpointStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("cesync-state-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "state.db").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<SqliteCheckpointStore> open() {
    auto store = SqliteCheckpointStore::open(path_);
    EXPECT_TRUE(store) << store.error().message;
    return std::move(*store);
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(SqliteCheckpointStoreTest, MissingCursorIsEmpty) {
  auto store = open();
  auto v = store->get("shop.product/changelog", "shard-0");
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->has_value());
}

TEST_F(SqliteCheckpointStoreTest, CommitAdvancesManyCursorsAndSurvivesReopen) {
  {
    auto store = open();
    ASSERT_TRUE(store->commit({.cursors = {{"t/changelog", "shard-0", "a", 1},
                                           {"t/changelog", "shard-1", "b", 1},
                                           {"u/changelog", "shard-0", "x", 1}},
                               .dead_letters = {}}));
    ASSERT_TRUE(
        store->commit({.cursors = {{"t/changelog", "shard-0", "c", 2}}, .dead_letters = {}}));
  }
  auto store = open();
  EXPECT_EQ(**store->get("t/changelog", "shard-0"), "c");
  auto cursors = store->list("t/changelog");
  ASSERT_TRUE(cursors);
  ASSERT_EQ(cursors->size(), 2u);
  EXPECT_EQ((*cursors)[0].name, "shard-0");
  EXPECT_EQ((*cursors)[0].value, "c");
  EXPECT_EQ((*cursors)[0].updated_at_micros, 2);
  EXPECT_EQ((*cursors)[1].value, "b");
  ASSERT_TRUE(store->clearScope("t/changelog"));
  EXPECT_TRUE(store->list("t/changelog")->empty());
  EXPECT_EQ(**store->get("u/changelog", "shard-0"), "x");
}

TEST_F(SqliteCheckpointStoreTest, DeadLettersAreCountedWithTheirCursor) {
  auto store = open();
  ASSERT_TRUE(store->commit(
      {.cursors = {{"t/to_search", "shard-0", "p1", 10}},
       .dead_letters = {{"t/to_search", "[\"k1\",1]", "mapper_parsing_exception: bad date", 10},
                        {"t/to_search", "k2", "illegal_argument_exception", 11}}}));
  EXPECT_EQ(*store->deadLetterCount("t/to_search"), 2u);
  EXPECT_EQ(*store->deadLetterCount("other"), 0u);
  auto letters = store->deadLetters("t/to_search", 1);
  ASSERT_TRUE(letters);
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ((*letters)[0].key, "k2") << "newest first";
  EXPECT_EQ((*letters)[0].reason, "illegal_argument_exception");
}

TEST_F(SqliteCheckpointStoreTest, ARecordRefusedAgainForTheSameReasonIsKeptOnce) {
  auto store = open();
  // A replay after a restart refuses the same record for the same reason again.
  for (int replay = 0; replay < 3; ++replay) {
    ASSERT_TRUE(store->commit(
        {.cursors = {}, .dead_letters = {{"t/to_cassandra", "d1", "column n: not an int", 10}}}));
  }
  ASSERT_TRUE(store->commit({.cursors = {},
                             .dead_letters = {{"t/to_cassandra", "d1", "column id: missing", 11},
                                              {"t/to_search", "d1", "column n: not an int", 12}}}));
  EXPECT_EQ(*store->deadLetterCount("t/to_cassandra"), 2u) << "another reason is another letter";
  EXPECT_EQ(*store->deadLetterCount("t/to_search"), 1u);
}

TEST_F(SqliteCheckpointStoreTest, ATimerQueueIsListedUpToATimeAndErasedOnCommit) {
  auto store = open();
  ASSERT_TRUE(store->commit({.cursors = {{"t/expiry", "0000000300|k3", "c", 1},
                                         {"t/expiry", "0000000100|k1", "a", 1},
                                         {"t/expiry", "0000000200|k2", "b", 1},
                                         {"u/expiry", "0000000050|x", "x", 1}},
                             .dead_letters = {}}));
  auto due = store->listUpTo("t/expiry", "0000000200|~", 10);
  ASSERT_TRUE(due);
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].value, "a");
  EXPECT_EQ((*due)[1].value, "b");
  EXPECT_EQ(store->listUpTo("t/expiry", "0000000300|~", 1)->size(), 1u) << "at most the limit";
  ASSERT_TRUE(store->commit({.cursors = {},
                             .dead_letters = {},
                             .erase = {{"t/expiry", "0000000100|k1"}, {"t/expiry", "nothing"}}}));
  due = store->listUpTo("t/expiry", "0000000300|~", 10);
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].value, "b");
}

TEST_F(SqliteCheckpointStoreTest, CommittedStateSurvivesSigkill) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto store = SqliteCheckpointStore::open(path_);
    if (!store ||
        !(*store)->commit({.cursors = {{"t", "c", "committed", 1}}, .dead_letters = {}})) {
      _exit(2);
    }
    // Die without closing the database or running any destructor.
    raise(SIGKILL);
    _exit(3);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  auto store = open();
  EXPECT_EQ(**store->get("t", "c"), "committed");
}

TEST_F(SqliteCheckpointStoreTest, ConcurrentCommitsAllLand) {
  auto store = open();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&store, t] {
      for (int i = 0; i < 50; ++i) {
        ASSERT_TRUE(store->commit(
            {.cursors = {{"scope", "thread-" + std::to_string(t), std::to_string(i), i}},
             .dead_letters = {}}));
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  auto cursors = store->list("scope");
  ASSERT_TRUE(cursors);
  ASSERT_EQ(cursors->size(), 4u);
  for (const auto& c : *cursors) {
    EXPECT_EQ(c.value, "49");
  }
}

TEST_F(SqliteCheckpointStoreTest, UnopenablePathIsAClearError) {
  auto store = SqliteCheckpointStore::open((dir_ / "missing-dir" / "state.db").string());
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, ErrorCode::kConfig);
  EXPECT_NE(store.error().message.find("cannot open state file"), std::string::npos);
}

TEST_F(SqliteCheckpointStoreTest, NewerSchemaIsRefused) {
  { open(); }
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = SqliteCheckpointStore::open(path_);
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().message.find("schema version 99"), std::string::npos);
}

}  // namespace
}  // namespace cesync::state
