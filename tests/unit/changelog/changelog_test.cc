#include <gtest/gtest.h>

#include "changelog/changelog_entry.h"
#include "changelog/changelog_reader.h"
#include "changelog/changelog_schema.h"

namespace cesync::changelog {
namespace {

TEST(TimeuuidTest, TimeOfAKnownTimeuuid) {
  // 50554d6e-29bb-11e5-b345-feff819cdc9f: 2015-07-15 14:16:32.398 (the CQL docs' example),
  // with 100 ns ticks 0x1e529bb50554d6e.
  const cql::UuidBytes id{0x50, 0x55, 0x4d, 0x6e, 0x29, 0xbb, 0x11, 0xe5,
                          0xb3, 0x45, 0xfe, 0xff, 0x81, 0x9c, 0xdc, 0x9f};
  EXPECT_EQ(timeuuidMicros(id), (0x1e529bb50554d6eLL - 0x01B21DD213814000LL) / 10);
}

TEST(TimeuuidTest, MinTimeuuidRoundTripsItsTime) {
  for (const std::int64_t micros : {0LL, 1'700'000'000'123'456LL, 1LL}) {
    const auto u = ChangelogReader::minTimeuuid(micros);
    EXPECT_EQ(timeuuidMicros(u), micros);
    EXPECT_EQ(u[6] >> 4, 1) << "version 1";
    EXPECT_EQ(u[8], 0x80);
  }
}

TEST(ChangeKindTest, NamesRoundTrip) {
  for (const auto kind : {ChangeKind::kUpsert, ChangeKind::kStaticUpsert, ChangeKind::kRowDelete,
                          ChangeKind::kPartitionDelete, ChangeKind::kRangeDelete}) {
    EXPECT_EQ(*parseChangeKind(changeKindName(kind)), kind);
  }
  auto unknown = parseChangeKind("truncate");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kProtocol);
}

TEST(ChangelogSchemaTest, PlaceholdersAreFilledAndCommentsDropped) {
  ChangelogSchema schema;
  schema.keyspace = "cdc";
  schema.table = "log";
  schema.replication = "{'class': 'SimpleStrategy', 'replication_factor': 1}";
  schema.ttl_seconds = 3600;
  schema.window_hours = 1;
  const auto statements = changelogDdl(schema);
  ASSERT_EQ(statements.size(), 2U);
  EXPECT_EQ(statements[0].rfind("CREATE KEYSPACE IF NOT EXISTS cdc", 0), 0U) << statements[0];
  EXPECT_NE(statements[0].find("'replication_factor': 1"), std::string::npos);
  EXPECT_EQ(statements[1].rfind("CREATE TABLE IF NOT EXISTS cdc.log", 0), 0U);
  EXPECT_NE(statements[1].find("default_time_to_live = 3600"), std::string::npos);
  EXPECT_NE(statements[1].find("'compaction_window_size': 1"), std::string::npos);
  for (const auto& s : statements) {
    EXPECT_EQ(s.find("{{"), std::string::npos) << s;
    EXPECT_EQ(s.find("--"), std::string::npos) << s;
  }
}

}  // namespace
}  // namespace cesync::changelog
