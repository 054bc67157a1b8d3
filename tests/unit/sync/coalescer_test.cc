#include "sync/to_search/coalescer.h"

#include <gtest/gtest.h>

namespace cesync::sync {
namespace {

using changelog::ChangeKind;
using changelog::ChangelogEntry;

cql::Bytes b(const std::string& s) {
  return {s.begin(), s.end()};
}

ChangelogEntry entry(ChangeKind kind, const std::string& pk, const std::string& ck,
                     std::int64_t write_time, std::int64_t id_micros, bool atomic = true) {
  ChangelogEntry e;
  e.kind = kind;
  e.pk = {b(pk)};
  if (!ck.empty()) {
    e.ck = {b(ck)};
  }
  e.write_time = write_time;
  e.id_micros = id_micros;
  e.atomic = atomic;
  return e;
}

TEST(CoalescerTest, ManyChangesToARowBecomeOneRead) {
  Coalescer c;
  c.add(entry(ChangeKind::kUpsert, "p", "1", 100, 10));
  c.add(entry(ChangeKind::kUpsert, "p", "1", 300, 30));
  c.add(entry(ChangeKind::kRowDelete, "p", "1", 200, 20));
  c.add(entry(ChangeKind::kUpsert, "p", "2", 50, 5));
  const auto work = c.drain();
  ASSERT_EQ(work.size(), 2U);
  EXPECT_EQ(work[0].scope, KeyWork::Scope::kRow);
  EXPECT_EQ(work[0].ck, std::vector<cql::Bytes>{b("1")});
  EXPECT_EQ(work[0].write_time, 300) << "the newest write time";
  EXPECT_EQ(work[0].oldest_entry_micros, 10) << "the oldest entry";
  EXPECT_EQ(work[0].entries, 3U);
  EXPECT_FALSE(work[0].newest_is_delete) << "the upsert at 300 is newest";
  EXPECT_EQ(work[1].ck, std::vector<cql::Bytes>{b("2")});
  EXPECT_EQ(c.pendingKeys(), 0U) << "drained";
}

TEST(CoalescerTest, APartitionChangeAbsorbsItsRowsBeforeAndAfter) {
  Coalescer c;
  c.add(entry(ChangeKind::kUpsert, "p", "1", 100, 10));
  c.add(entry(ChangeKind::kUpsert, "other", "1", 100, 11));
  c.add(entry(ChangeKind::kPartitionDelete, "p", "", 200, 20));
  c.add(entry(ChangeKind::kUpsert, "p", "9", 300, 30, false));
  const auto work = c.drain();
  ASSERT_EQ(work.size(), 2U);
  EXPECT_EQ(work[0].scope, KeyWork::Scope::kPartition);
  EXPECT_EQ(work[0].pk, std::vector<cql::Bytes>{b("p")});
  EXPECT_EQ(work[0].entries, 3U);
  EXPECT_EQ(work[0].write_time, 300);
  EXPECT_EQ(work[0].oldest_entry_micros, 10);
  EXPECT_TRUE(work[0].ahead_of_change);
  EXPECT_FALSE(work[0].newest_is_delete);
  EXPECT_EQ(work[1].pk, std::vector<cql::Bytes>{b("other")});
}

// A partition's work keeps, apart, the times that touch every row (partition deletes, static
// changes) and those of each row it absorbed; a range delete versions no row it finds.
TEST(CoalescerTest, APartitionsWorkKeepsEachRowsOwnTime) {
  Coalescer c;
  c.add(entry(ChangeKind::kUpsert, "p", "1", 100, 10));
  c.add(entry(ChangeKind::kUpsert, "p", "1", 150, 11));
  c.add(entry(ChangeKind::kStaticUpsert, "p", "", 120, 12));
  c.add(entry(ChangeKind::kRowDelete, "p", "2", 400, 13));
  auto slice = entry(ChangeKind::kRangeDelete, "p", "", 500, 14);
  slice.range_start = {b("5")};
  c.add(slice);
  const auto work = c.drain();
  ASSERT_EQ(work.size(), 1U);
  EXPECT_EQ(work[0].write_time, 500) << "deletes of documents not found";
  EXPECT_EQ(work[0].partition_time, 120) << "the static change alone touches every row";
  ASSERT_EQ(work[0].row_times.size(), 2U);
  EXPECT_EQ(work[0].row_times.at(clusteringKeyOf({b("1")})), 150);
  EXPECT_EQ(work[0].row_times.at(clusteringKeyOf({b("2")})), 400);
  EXPECT_NE(clusteringKeyOf({b("1"), b("2")}), clusteringKeyOf({b("12")}));
}

TEST(CoalescerTest, NewestDeleteIsRemembered) {
  Coalescer c;
  c.add(entry(ChangeKind::kUpsert, "p", "1", 100, 10));
  c.add(entry(ChangeKind::kRowDelete, "p", "1", 200, 20));
  c.add(entry(ChangeKind::kUpsert, "q", "1", 100, 10));
  c.add(entry(ChangeKind::kPartitionDelete, "q", "", 50, 5));
  const auto work = c.drain();
  ASSERT_EQ(work.size(), 2U);
  EXPECT_EQ(work[0].pk, std::vector<cql::Bytes>{b("q")});
  EXPECT_FALSE(work[0].newest_is_delete) << "q's upsert at 100 is newer than its delete at 50";
  EXPECT_TRUE(work[1].newest_is_delete) << "p's delete at 200 is newest";
}

TEST(CoalescerTest, KeysThatShareAPrefixStayApart) {
  Coalescer c;
  c.add(entry(ChangeKind::kUpsert, "p", "1", 1, 1));
  c.add(entry(ChangeKind::kUpsert, "pp", "1", 1, 1));
  c.add(entry(ChangeKind::kStaticUpsert, "p", "", 2, 2));
  const auto work = c.drain();
  ASSERT_EQ(work.size(), 2U);
  EXPECT_EQ(work[0].scope, KeyWork::Scope::kPartition);
  EXPECT_EQ(work[0].entries, 2U);
  EXPECT_EQ(work[1].pk, std::vector<cql::Bytes>{b("pp")}) << "'pp' is not in partition 'p'";
}

TEST(CoalescerTest, SlicesMergeOnlyWithEqualBounds) {
  Coalescer c;
  auto slice = [](const std::string& from, bool inclusive, std::int64_t t) {
    ChangelogEntry e = entry(ChangeKind::kRangeDelete, "p", "", t, t);
    e.range_start = {b(from)};
    e.range_start_inclusive = inclusive;
    return e;
  };
  c.add(slice("5", true, 1));
  c.add(slice("5", true, 2));
  c.add(slice("5", false, 3));
  c.add(entry(ChangeKind::kUpsert, "p", "5", 4, 4));
  const auto work = c.drain();
  ASSERT_EQ(work.size(), 3U);
  int slices = 0;
  for (const auto& w : work) {
    if (w.scope == KeyWork::Scope::kSlice) {
      ++slices;
      EXPECT_EQ(w.slice_start, std::vector<cql::Bytes>{b("5")});
      EXPECT_TRUE(w.slice_end.empty());
      if (w.slice_start_inclusive) {
        EXPECT_EQ(w.entries, 2U);
        EXPECT_EQ(w.write_time, 2);
      }
    }
  }
  EXPECT_EQ(slices, 2);
}

TEST(CoalescerTest, CompositeKeysDoNotCollideAcrossSplits) {
  Coalescer c;
  ChangelogEntry a = entry(ChangeKind::kUpsert, "", "", 1, 1);
  a.pk = {b("ab"), b("c")};
  ChangelogEntry d = entry(ChangeKind::kUpsert, "", "", 1, 1);
  d.pk = {b("a"), b("bc")};
  c.add(a);
  c.add(d);
  EXPECT_EQ(c.drain().size(), 2U);
}

}  // namespace
}  // namespace cesync::sync
