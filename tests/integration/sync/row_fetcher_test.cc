// RowFetcher against the real node: rows, missing rows, partitions and slices re-read by their
// serialized keys, with tokens and write times, many row reads in flight, and rows of a table
// keyed by one column read in lists of keys.
#include "sync/to_search/row_fetcher.h"

#include <gtest/gtest.h>

#include <limits>

#include "cql/types/value_codec.h"
#include "support/cassandra.h"
#include "support/servers.h"
#include "sync_fixture.h"

namespace cesync::sync {
namespace {

using cql::CqlType;
using cql::TypeKind;
using cql::Value;

cql::Bytes ser(TypeKind kind, const Value& v) {
  return serialized(kind, v);
}
cql::Bytes i32(std::int32_t v) {
  return ser(TypeKind::kInt, Value::integer(v));
}
cql::Bytes txt(const std::string& v) {
  return ser(TypeKind::kVarchar, Value::text(v));
}

class RowFetcherTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    session_ = testing::connectLocalCassandra().release();
    ASSERT_NE(session_, nullptr);
    table_ = testing::uniqueName("fetch");
    run("CREATE KEYSPACE IF NOT EXISTS it_sync WITH replication = "
        "{'class': 'SimpleStrategy', 'replication_factor': 1}");
    run("CREATE TABLE it_sync." + table_ +
        " (a int, b text, c int, d text, v text, s set<int>, st int static,"
        " PRIMARY KEY ((a, b), c, d))");
    ASSERT_TRUE(session_->waitForSchemaAgreement(std::chrono::seconds(30)));
    for (int c = 1; c <= 3; ++c) {
      run("INSERT INTO it_sync." + table_ +
              " (a, b, c, d, v, st) VALUES (1, 'o''b ✓', ?, 'y', 'hello', 7) USING TIMESTAMP 1000",
          {Value::integer(c)});
    }
    run("UPDATE it_sync." + table_ +
        " USING TIMESTAMP 2000 SET s = s + {9} WHERE a = 1 AND b = 'o''b ✓' AND c = 2 AND d = 'y'");
    for (int i = 0; i < 200; ++i) {
      run("INSERT INTO it_sync." + table_ + " (a, b, c, d, v) VALUES (?, 'many', 0, '', 'x')",
          {Value::integer(100 + i)});
    }
  }
  static void TearDownTestSuite() {
    session_->stop();
    delete session_;
  }
  static void run(const std::string& cql, std::vector<Value> values = {}) {
    testing::runCql(*session_, cql, std::move(values));
  }

  RowFetcher fetcher(std::size_t in_flight = 16) {
    auto schema = loadTableSchema(*session_, "it_sync", table_);
    EXPECT_TRUE(schema) << schema.error().toString();
    return RowFetcher(*session_, *schema, cql::Consistency::kOne, in_flight);
  }

  static KeyWork row(std::int32_t c, const std::string& d) {
    KeyWork w;
    w.scope = KeyWork::Scope::kRow;
    w.pk = {i32(1), txt("o'b ✓")};
    w.ck = {i32(c), txt(d)};
    return w;
  }

  static cql::Session* session_;
  static std::string table_;
};

cql::Session* RowFetcherTest::session_ = nullptr;
std::string RowFetcherTest::table_;

TEST_F(RowFetcherTest, RowsPartitionsAndSlices) {
  RowFetcher f = fetcher();
  KeyWork partition;
  partition.scope = KeyWork::Scope::kPartition;
  partition.pk = {i32(1), txt("o'b ✓")};
  KeyWork from_two = partition;  // c >= 2
  from_two.scope = KeyWork::Scope::kSlice;
  from_two.slice_start = {i32(2)};
  from_two.slice_start_inclusive = true;
  KeyWork between = partition;  // (c, d) > (2, 'y') AND c < 5
  between.scope = KeyWork::Scope::kSlice;
  between.slice_start = {i32(2), txt("y")};
  between.slice_end = {i32(5)};

  auto fetched = f.fetch({row(2, "y"), row(2, "nope"), partition, from_two, between});
  ASSERT_TRUE(fetched) << fetched.error().toString();
  ASSERT_EQ(fetched->size(), 5U);

  ASSERT_EQ((*fetched)[0].rowCount(), 1U);
  const cql::Rows& page = (*fetched)[0].pages[0];
  const auto r = page[0];
  EXPECT_EQ(*r.get<std::string>(static_cast<std::size_t>(f.schema().columnIndex("v"))), "hello");
  EXPECT_EQ(*r.get<std::int32_t>(static_cast<std::size_t>(f.schema().columnIndex("st"))), 7);
  EXPECT_EQ(f.rowWriteTime(r), 2000) << "the set was updated at 2000";
  auto token = session_->execute("SELECT token(a, b) FROM it_sync." + table_ +
                                 " WHERE a = 1 AND b = 'o''b ✓' LIMIT 1");
  ASSERT_TRUE(token);
  EXPECT_EQ(*r.get<std::int64_t>(f.tokenColumn()), *token->rows[0].get<std::int64_t>(0));

  EXPECT_EQ((*fetched)[1].rowCount(), 0U) << "a row that does not exist";
  EXPECT_EQ((*fetched)[2].rowCount(), 3U) << "the whole partition";
  EXPECT_EQ((*fetched)[3].rowCount(), 2U) << "c >= 2";
  EXPECT_EQ((*fetched)[4].rowCount(), 1U) << "(c, d) > (2, 'y') and c < 5";
}

TEST_F(RowFetcherTest, ManyRowReadsInFlight) {
  RowFetcher f = fetcher(8);
  std::vector<KeyWork> work;
  for (int i = 0; i < 200; ++i) {
    KeyWork w;
    w.scope = KeyWork::Scope::kRow;
    w.pk = {i32(100 + i), txt("many")};
    w.ck = {i32(0), txt("")};
    work.push_back(w);
  }
  auto fetched = f.fetch(work);
  ASSERT_TRUE(fetched) << fetched.error().toString();
  for (std::size_t i = 0; i < work.size(); ++i) {
    ASSERT_EQ((*fetched)[i].rowCount(), 1U) << i;
    EXPECT_EQ(*(*fetched)[i].pages[0][0].get<std::int32_t>(0), static_cast<std::int32_t>(100 + i));
  }
}

TEST_F(RowFetcherTest, RowsKeyedByOneColumnAreReadInListsOfKeys) {
  const std::string table = testing::uniqueName("fetch_keys");
  run("CREATE TABLE it_sync." + table + " (id text PRIMARY KEY, v int, w text)");
  ASSERT_TRUE(session_->waitForSchemaAgreement(std::chrono::seconds(30)));
  for (int i = 0; i < 57; ++i) {
    run("INSERT INTO it_sync." + table + " (id, v) VALUES (?, ?) USING TIMESTAMP ?",
        {Value::text("k" + std::to_string(i)), Value::integer(i), Value::bigint(5000 + i)});
  }
  auto schema = loadTableSchema(*session_, "it_sync", table);
  ASSERT_TRUE(schema) << schema.error().toString();
  RowFetcher f(*session_, *schema, cql::Consistency::kOne, 4, 7);

  // 57 rows, 3 keys without a row, and one key twice.
  std::vector<KeyWork> work;
  for (int i = 0; i < 60; ++i) {
    KeyWork w;
    w.scope = KeyWork::Scope::kRow;
    w.pk = {txt("k" + std::to_string(i))};
    work.push_back(w);
  }
  work.push_back(work[5]);
  const std::uint64_t requests = session_->stats().requests;
  auto fetched = f.fetch(work);
  ASSERT_TRUE(fetched) << fetched.error().toString();
  EXPECT_EQ(session_->stats().requests - requests, 9U) << "61 keys, 7 a request, one node";
  ASSERT_TRUE(session_->ownerOf(0).has_value()) << "requests are routed by token";
  EXPECT_EQ(session_->ownerOf(std::numeric_limits<std::int64_t>::min()), session_->ownerOf(0));

  ASSERT_EQ(fetched->size(), work.size());
  for (std::size_t i = 0; i < work.size(); ++i) {
    const int key = i == 60 ? 5 : static_cast<int>(i);
    if (key >= 57) {
      EXPECT_EQ((*fetched)[i].rowCount(), 0U) << "k" << key << " has no row";
      continue;
    }
    ASSERT_EQ((*fetched)[i].rowCount(), 1U) << "k" << key;
    const auto r = (*fetched)[i].pages[0][0];
    EXPECT_EQ(*r.get<std::string>(0), "k" + std::to_string(key));
    EXPECT_EQ(*r.get<std::int32_t>(1), key);
    EXPECT_EQ(f.rowWriteTime(r), 5000 + key);
    auto token = session_->execute("SELECT token(id) FROM it_sync." + table + " WHERE id = ?",
                                   {Value::text("k" + std::to_string(key))});
    ASSERT_TRUE(token);
    EXPECT_EQ(*r.get<std::int64_t>(f.tokenColumn()), *token->rows[0].get<std::int64_t>(0));
  }

  KeyWork keyless;  // a key of no parts: an error, as for a single read, never a read
  keyless.scope = KeyWork::Scope::kRow;
  auto refused = f.fetch({work[0], keyless});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kProtocol);
  run("DROP TABLE it_sync." + table);
}

TEST_F(RowFetcherTest, AKeyThatDoesNotFitTheTableIsAnError) {
  RowFetcher f = fetcher();
  KeyWork w;
  w.pk = {i32(1)};  // the table's partition key has two parts
  auto fetched = f.fetch({w});
  ASSERT_FALSE(fetched);
  EXPECT_EQ(fetched.error().code, ErrorCode::kProtocol);
}

}  // namespace
}  // namespace cesync::sync
