#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "changelog/changelog_schema.h"
#include "common/clock.h"
#include "cql/session.h"
#include "cql/types/value_codec.h"
#include "es/client.h"
#include "state/sqlite_checkpoint_store.h"
#include "support/cassandra.h"
#include "support/servers.h"

namespace cesync::sync {

/// The serialized form of a scalar value, as the change log holds key parts.
inline cql::Bytes serialized(cql::TypeKind kind, const cql::Value& v) {
  cql::Bytes out;
  EXPECT_TRUE(cql::encodeValue(*cql::CqlType::scalar(kind), v, out));
  return out;
}

/// A suite run once per search engine: a CQL session to the local node with the `it_sync`
/// keyspace for the whole suite, and a search client for the engine under test.
class SyncFixture : public ::testing::TestWithParam<testing::SearchEndpoint> {
 protected:
  static void SetUpTestSuite() {
    session_ = testing::connectLocalCassandra().release();
    ASSERT_NE(session_, nullptr);
    run("CREATE KEYSPACE IF NOT EXISTS it_sync WITH replication = "
        "{'class': 'SimpleStrategy', 'replication_factor': 1}");
  }
  static void TearDownTestSuite() {
    if (session_ != nullptr) {
      session_->stop();
      delete session_;
      session_ = nullptr;
    }
  }
  static void run(const std::string& cql) { testing::runCql(*session_, cql); }

  /// The trigger's change-log table, for suites that write through the trigger.
  static void createChangelog() {
    changelog::ChangelogSchema log;
    log.replication = "{'class': 'SimpleStrategy', 'replication_factor': 1}";
    for (const auto& statement : changelog::changelogDdl(log)) {
      run(statement);
    }
  }

  /// A fresh state file in a folder of its own, named after the test's table; `dir` is removed
  /// by the caller.
  static std::unique_ptr<state::SqliteCheckpointStore> openStore(const std::filesystem::path& dir) {
    std::filesystem::create_directories(dir);
    auto store = state::SqliteCheckpointStore::open((dir / "state.db").string());
    EXPECT_TRUE(store) << store.error().toString();
    return store ? std::move(*store) : nullptr;
  }

  void SetUp() override {
    es::ClientOptions options;
    options.transport.base_url = GetParam().url;
    auto client = es::EsClient::connect(options, clock_);
    ASSERT_TRUE(client) << client.error().toString();
    client_ = std::move(*client);
  }

  static inline cql::Session* session_ = nullptr;
  SystemClock clock_;
  std::unique_ptr<es::EsClient> client_;
};

}  // namespace cesync::sync
