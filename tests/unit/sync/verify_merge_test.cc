#include "sync/verify/verify_merge.h"

#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <vector>

namespace cesync::sync {
namespace {

// Entries handed out in the order given.
class VectorStream final : public EntryStream {
 public:
  explicit VectorStream(std::vector<VerifyEntry> entries)
      : entries_(entries.begin(), entries.end()) {}

  Result<std::optional<VerifyEntry>> next() override {
    if (entries_.empty()) {
      return std::optional<VerifyEntry>();
    }
    VerifyEntry e = std::move(entries_.front());
    entries_.pop_front();
    ++handed_out_;
    return std::optional<VerifyEntry>(std::move(e));
  }

  std::size_t handed_out_ = 0;

 private:
  std::deque<VerifyEntry> entries_;
};

VerifyEntry entry(std::int64_t token, std::string id, std::int64_t version, std::string source) {
  return {token, std::move(id), version, std::move(source)};
}

struct Merged {
  MergeCounts counts;
  std::vector<Difference> differences;
  std::size_t groups = 0;
};

Merged merge(std::vector<VerifyEntry> rows, std::vector<VerifyEntry> docs,
             MergeOptions options = {}) {
  VectorStream r(std::move(rows));
  VectorStream d(std::move(docs));
  Merged out;
  auto merged = mergeStreams(
      r, d, options,
      [&](std::vector<Difference>& group) -> Status {
        ++out.groups;
        for (auto& x : group) {
          out.differences.push_back(std::move(x));
        }
        return {};
      },
      out.counts);
  EXPECT_TRUE(merged.has_value()) << merged.error().toString();
  return out;
}

TEST(SameJson, ObjectsAreSetsArraysAreOrdered) {
  EXPECT_TRUE(sameJson(R"({"a":1,"b":[1,2]})", R"({ "b" : [1, 2], "a" : 1 })"));
  EXPECT_FALSE(sameJson(R"({"b":[1,2]})", R"({"b":[2,1]})"));
  EXPECT_FALSE(sameJson(R"({"a":1})", R"({"a":1,"b":null})"));
  EXPECT_FALSE(sameJson(R"({"a":1,"b":null})", R"({"a":1})"));
}

TEST(SameJson, NumbersByValueStringsUnescaped) {
  EXPECT_TRUE(sameJson("1", "1.0"));
  EXPECT_TRUE(sameJson("0.1", "1e-1"));
  EXPECT_FALSE(sameJson("1", "\"1\""));
  EXPECT_TRUE(sameJson(R"("caf\u00e9")", "\"café\""));
  EXPECT_TRUE(sameJson("9223372036854775807", "9223372036854775807"));
  EXPECT_FALSE(sameJson("9223372036854775807", "9223372036854775806"));
  EXPECT_TRUE(sameJson("18446744073709551615", "18446744073709551615"));
  EXPECT_FALSE(sameJson("true", "1"));
  EXPECT_TRUE(sameJson("null", "null"));
  EXPECT_FALSE(sameJson("{", "{"));
}

TEST(CompareGroup, MatchedMissingExtraStale) {
  std::vector<Difference> out;
  compareGroup({entry(5, "a", 10, R"({"x":1})"), entry(5, "b", 10, R"({"x":2})"),
                entry(5, "c", 10, R"({"x":3})"), entry(5, "d", 10, R"({"x":4})")},
               {entry(5, "d", 9, R"({"x":4})"), entry(5, "c", 11, R"({"x":30})"),
                entry(5, "a", 10, R"({"x":1})"), entry(5, "e", 3, "{}")},
               {}, out);
  ASSERT_EQ(out.size(), 4U);
  EXPECT_EQ(out[0].kind, DifferenceKind::kMissing);
  EXPECT_EQ(out[0].id, "b");
  EXPECT_EQ(out[0].row_version, 10);
  EXPECT_EQ(out[1].kind, DifferenceKind::kStale);
  EXPECT_EQ(out[1].id, "c");
  EXPECT_EQ(out[1].reason, "content");
  EXPECT_EQ(out[1].document_version, 11);
  EXPECT_EQ(out[2].kind, DifferenceKind::kStale);
  EXPECT_EQ(out[2].id, "d");
  EXPECT_EQ(out[2].reason, "version");
  EXPECT_EQ(out[2].document_version, 9);
  EXPECT_EQ(out[2].row_version, 10);
  EXPECT_EQ(out[3].kind, DifferenceKind::kExtra);
  EXPECT_EQ(out[3].id, "e");
  EXPECT_EQ(out[3].document_version, 3);
}

TEST(CompareGroup, WithoutVersionsOnlyContentCounts) {
  std::vector<Difference> out;
  compareGroup({entry(1, "a", 100, R"({"x":1})"), entry(1, "b", 100, R"({"x":1})")},
               {entry(1, "a", 2, R"({"x":1})"), entry(1, "b", 2, R"({"x":9})")},
               MergeOptions{.compare_versions = false, .same_content = {}}, out);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].id, "b");
  EXPECT_EQ(out[0].reason, "content");
}

TEST(CompareGroup, ContentIsComparedAsTheOptionsSay) {
  // Tables synced both ways compare a document by what it would write back, not by its text.
  std::vector<std::pair<std::string, std::string>> asked;
  MergeOptions options{.compare_versions = false,
                       .same_content = [&](std::string_view row, std::string_view doc) {
                         asked.emplace_back(row, doc);
                         return doc == R"({"t":1700000000000})";
                       }};
  std::vector<Difference> out;
  compareGroup({entry(1, "a", 5, R"({"t":"2023-11-14T22:13:20.000Z"})"),
                entry(1, "b", 5, R"({"t":"2023-11-14T22:13:20.000Z"})")},
               {entry(1, "a", 7, R"({"t":1700000000000})"), entry(1, "b", 7, R"({"t":1})")},
               options, out);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].id, "b");
  ASSERT_EQ(asked.size(), 2U);
  EXPECT_EQ(asked[0].first, R"({"t":"2023-11-14T22:13:20.000Z"})");
  EXPECT_EQ(asked[0].second, R"({"t":1700000000000})");
}

TEST(MergeStreams, InSyncStreamsHaveNoDifferences) {
  auto m = merge({entry(-9, "a", 1, "{}"), entry(3, "b", 1, "{}"), entry(3, "c", 1, "{}")},
                 {entry(-9, "a", 1, "{}"), entry(3, "c", 1, "{}"), entry(3, "b", 1, "{}")});
  EXPECT_EQ(m.counts.rows, 3U);
  EXPECT_EQ(m.counts.documents, 3U);
  EXPECT_TRUE(m.differences.empty());
  EXPECT_EQ(m.groups, 0U);
}

TEST(MergeStreams, InterleavedTokensOnOneSideOnly) {
  auto m = merge({entry(1, "r1", 5, "{}"), entry(4, "r4", 5, "{}"), entry(9, "r9", 5, "{}")},
                 {entry(2, "d2", 5, "{}"), entry(4, "r4", 5, "{}"), entry(10, "d10", 5, "{}"),
                  entry(11, "d11", 5, "{}")});
  EXPECT_EQ(m.counts.rows, 3U);
  EXPECT_EQ(m.counts.documents, 4U);
  ASSERT_EQ(m.differences.size(), 5U);
  const std::vector<std::pair<DifferenceKind, std::string>> expected = {
      {DifferenceKind::kMissing, "r1"},
      {DifferenceKind::kExtra, "d2"},
      {DifferenceKind::kMissing, "r9"},
      {DifferenceKind::kExtra, "d10"},
      {DifferenceKind::kExtra, "d11"}};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(m.differences[i].kind, expected[i].first) << i;
    EXPECT_EQ(m.differences[i].id, expected[i].second) << i;
  }
  EXPECT_EQ(m.groups, 5U);
}

TEST(MergeStreams, SameIdUnderAnotherTokenIsMissingAndExtra) {
  // A document carrying the wrong token is not found in its row's group.
  auto m = merge({entry(1, "a", 5, "{}")}, {entry(2, "a", 5, "{}")});
  ASSERT_EQ(m.differences.size(), 2U);
  EXPECT_EQ(m.differences[0].kind, DifferenceKind::kMissing);
  EXPECT_EQ(m.differences[1].kind, DifferenceKind::kExtra);
}

TEST(MergeStreams, EmptySides) {
  EXPECT_TRUE(merge({}, {}).differences.empty());
  EXPECT_EQ(merge({entry(1, "a", 1, "{}")}, {}).differences.size(), 1U);
  EXPECT_EQ(merge({}, {entry(1, "a", 1, "{}")}).differences.size(), 1U);
}

TEST(MergeStreams, ReadsOneEntryAheadPerSide) {
  // Memory: when a token's differences are reported, each side has read at most one entry of
  // the next token.
  VectorStream rows({entry(1, "a", 1, "{}"), entry(2, "b", 1, "{}"), entry(3, "c", 1, "{}"),
                     entry(4, "d", 1, "{}")});
  VectorStream docs({entry(2, "b", 1, "{}"), entry(3, "c", 1, "{}"), entry(4, "d", 1, "{}")});
  std::size_t rows_read_at_first = 0;
  std::size_t docs_read_at_first = 0;
  MergeCounts counts;
  auto merged = mergeStreams(
      rows, docs, {},
      [&](std::vector<Difference>&) -> Status {
        rows_read_at_first = rows.handed_out_;
        docs_read_at_first = docs.handed_out_;
        return {};
      },
      counts);
  ASSERT_TRUE(merged.has_value());
  EXPECT_EQ(rows_read_at_first, 2U);  // "a" and the look-ahead "b"
  EXPECT_EQ(docs_read_at_first, 1U);  // the look-ahead "b"
  EXPECT_EQ(counts.rows, 4U);
  EXPECT_EQ(counts.documents, 3U);
  EXPECT_EQ(counts.last_token, 4);
}

TEST(MergeStreams, OutOfOrderIsAnError) {
  VectorStream rows({entry(5, "a", 1, "{}"), entry(4, "b", 1, "{}")});
  VectorStream docs({});
  MergeCounts counts;
  auto merged = mergeStreams(
      rows, docs, {}, [](std::vector<Difference>&) { return Status{}; }, counts);
  ASSERT_FALSE(merged.has_value());
  EXPECT_EQ(merged.error().code, ErrorCode::kInternal);
}

TEST(MergeStreams, AFailingSinkEndsTheMerge) {
  VectorStream rows({entry(1, "a", 1, "{}"), entry(2, "b", 1, "{}")});
  VectorStream docs({});
  int calls = 0;
  MergeCounts counts;
  auto merged = mergeStreams(
      rows, docs, {},
      [&](std::vector<Difference>&) -> Status {
        ++calls;
        return fail(ErrorCode::kUnavailable, "down");
      },
      counts);
  ASSERT_FALSE(merged.has_value());
  EXPECT_EQ(calls, 1);
}

TEST(MergeStreams, AFailedMergeSaysWhichTokensAreDone) {
  // Token 1 matches, token 2's differences are refused: the merge can be taken up after 1.
  VectorStream rows({entry(1, "a", 1, "{}"), entry(2, "b", 1, "{}"), entry(3, "c", 1, "{}")});
  VectorStream docs({entry(1, "a", 1, "{}")});
  MergeCounts counts;
  auto merged = mergeStreams(
      rows, docs, {},
      [&](std::vector<Difference>&) -> Status { return fail(ErrorCode::kUnavailable, "down"); },
      counts);
  ASSERT_FALSE(merged.has_value());
  EXPECT_EQ(counts.last_token, 1);
  EXPECT_EQ(counts.rows, 1U);
  EXPECT_EQ(counts.documents, 1U);
}

}  // namespace
}  // namespace cesync::sync
