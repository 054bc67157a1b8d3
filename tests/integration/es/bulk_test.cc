// Bulk writes with external versions against the real engines.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>
#include <vector>

#include "es/bulk_writer.h"
#include "es_fixture.h"

namespace cesync::es {
namespace {

constexpr std::int64_t kBaseVersion = 1'700'000'000'000'000;  // µs write times

class BulkTest : public testing::EsTest {
 protected:
  BulkWriter writer(std::string refresh = "") {
    BulkWriterOptions options;
    options.refresh = std::move(refresh);
    options.max_in_flight = 4;
    return BulkWriter(*transport_, clock_, options, &stats_);
  }

  void addDoc(BulkEncoder& enc, int i, std::int64_t version, std::string_view value,
              std::string_view routing = {}) {
    const std::string id = "doc-" + std::to_string(i);
    enc.indexWith({.index = index_, .id = id, .version = version, .routing = routing},
                  [&](util::JsonWriter& w) {
                    w.beginObject();
                    w.key("id");
                    w.value(id);
                    w.key("timestamp");
                    w.value(version);
                    w.key("value");
                    w.value(value);
                    w.key("n");
                    w.value(static_cast<std::int64_t>(i));
                    w.endObject();
                  });
  }

  // GET /index/_doc/id: the stored _version and value, or version -1 when missing.
  std::pair<std::int64_t, std::string> stored(const std::string& id,
                                              const std::string& routing = "") {
    std::string path = "/" + index_ + "/_doc/" + encodePathSegment(id);
    if (!routing.empty()) {
      path += "?routing=" + routing;
    }
    auto response = transport_->send({.method = HttpMethod::kGet, .path = path});
    EXPECT_TRUE(response);
    if (!response || response->status != 200) {
      return {-1, ""};
    }
    simdjson::ondemand::parser parser;
    simdjson::padded_string json(response->body);
    auto doc = parser.iterate(json);
    const std::int64_t version = doc["_version"].get_int64().value();
    const std::string value(doc["_source"]["value"].get_string().value());
    return {version, value};
  }
};

TEST_P(BulkTest, HundredThousandDocsWithExternalVersions) {
  ASSERT_TRUE(admin_->create(index_, testing::kDocsIndex));
  constexpr int kDocs = 100'000;
  constexpr std::size_t kBatchBytes = 4U << 20U;
  const BatchLimits limits{.max_bytes = kBatchBytes, .max_items = 50'000};
  std::vector<BulkEncoder> batches(1);
  for (int i = 0; i < kDocs; ++i) {
    if (batches.back().full(limits)) {
      batches.emplace_back();
    }
    addDoc(batches.back(), i, kBaseVersion + i, "v1");
  }
  ASSERT_GT(batches.size(), 2U) << "cut by bytes into several requests";
  std::vector<const BulkEncoder*> pointers;
  for (const auto& b : batches) {
    EXPECT_LT(b.bytes(), kBatchBytes + 512) << "a batch ends at the first item past the cap";
    pointers.push_back(&b);
  }
  auto w = writer();
  auto results = w.writeAll(pointers);
  std::size_t ok = 0;
  for (auto& r : results) {
    ASSERT_TRUE(r) << r.error().toString();
    EXPECT_EQ(r->unacknowledged, 0U) << r->last_retry_reason;
    EXPECT_EQ(r->dead_letter, 0U);
    ok += r->ok;
  }
  EXPECT_EQ(ok, static_cast<std::size_t>(kDocs));
  EXPECT_EQ(stats_.bulk_items_ok.load(), static_cast<std::uint64_t>(kDocs));
  ASSERT_TRUE(admin_->refresh(index_));
  auto count = admin_->count(index_);
  ASSERT_TRUE(count);
  EXPECT_EQ(*count, static_cast<std::uint64_t>(kDocs));
  for (int i : {0, 12'345, kDocs - 1}) {
    const auto [version, value] = stored("doc-" + std::to_string(i));
    EXPECT_EQ(version, kBaseVersion + i) << "the external version is the document's version";
    EXPECT_EQ(value, "v1");
  }
}

TEST_P(BulkTest, StaleVersionsAreAlreadyNewer) {
  ASSERT_TRUE(admin_->create(index_, testing::kDocsIndex));
  constexpr int kDocs = 1000;
  BulkEncoder fresh;
  for (int i = 0; i < kDocs; ++i) {
    addDoc(fresh, i, kBaseVersion + 10, "new");
  }
  auto w = writer("true");
  auto first = w.write(fresh);
  ASSERT_TRUE(first) << first.error().toString();
  ASSERT_EQ(first->ok, static_cast<std::size_t>(kDocs));

  // A replay from the past: every item is older than what the index holds.
  BulkEncoder stale;
  for (int i = 0; i < kDocs; ++i) {
    addDoc(stale, i, kBaseVersion + 10 - 1 - i, "old");
  }
  auto replay = w.write(stale);
  ASSERT_TRUE(replay) << replay.error().toString();
  EXPECT_EQ(replay->already_newer, static_cast<std::size_t>(kDocs));
  EXPECT_EQ(replay->ok, 0U);
  EXPECT_EQ(replay->finalPrefix(), static_cast<std::size_t>(kDocs))
      << "already newer counts as acknowledged";
  EXPECT_EQ(replay->attempts, 1U) << "conflicts are never retried";
  EXPECT_EQ(replay->items[7].status, 409);
  auto old_count = admin_->count(index_, R"({"term":{"value":"old"}})");
  ASSERT_TRUE(old_count);
  EXPECT_EQ(*old_count, 0U) << "nothing older overwrote anything";

  // The same version again is accepted (external_gte), a newer one replaces.
  BulkEncoder same_and_newer;
  addDoc(same_and_newer, 1, kBaseVersion + 10, "new");
  addDoc(same_and_newer, 2, kBaseVersion + 11, "newer");
  auto next = w.write(same_and_newer);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->ok, 2U);
  EXPECT_EQ(stored("doc-2"), (std::pair<std::int64_t, std::string>{kBaseVersion + 11, "newer"}));
  EXPECT_EQ(stored("doc-3"), (std::pair<std::int64_t, std::string>{kBaseVersion + 10, "new"}));
}

TEST_P(BulkTest, VersionedDeletes) {
  ASSERT_TRUE(admin_->create(index_, testing::kDocsIndex));
  BulkEncoder seed;
  addDoc(seed, 1, kBaseVersion + 5, "v");
  addDoc(seed, 2, kBaseVersion + 5, "v");
  auto w = writer("true");
  ASSERT_EQ(w.write(seed)->ok, 2U);

  BulkEncoder deletes;
  deletes.remove({.index = index_, .id = "doc-1", .version = kBaseVersion + 4});  // older
  deletes.remove({.index = index_, .id = "doc-2", .version = kBaseVersion + 6});  // newer
  deletes.remove({.index = index_, .id = "never-was", .version = kBaseVersion});  // missing
  auto result = w.write(deletes);
  ASSERT_TRUE(result) << result.error().toString();
  EXPECT_EQ(result->items[0].outcome, ItemOutcome::kAlreadyNewer);
  EXPECT_EQ(result->items[1].outcome, ItemOutcome::kOk);
  EXPECT_EQ(result->items[2].outcome, ItemOutcome::kOk) << "deleting nothing is done";
  EXPECT_EQ(stored("doc-1").first, kBaseVersion + 5) << "an old delete kept the newer doc";
  EXPECT_EQ(stored("doc-2").first, -1);

  // The delete's version is remembered (tombstone): an older index of doc-2 stays deleted.
  BulkEncoder late;
  addDoc(late, 2, kBaseVersion + 5, "late");
  auto late_result = w.write(late);
  ASSERT_TRUE(late_result);
  EXPECT_EQ(late_result->items[0].outcome, ItemOutcome::kAlreadyNewer);
  EXPECT_EQ(stored("doc-2").first, -1);
}

TEST_P(BulkTest, MappingErrorsAreDeadLetteredWithoutBlockingTheRest) {
  ASSERT_TRUE(admin_->create(index_, testing::kDocsIndex));
  BulkEncoder batch;
  addDoc(batch, 1, kBaseVersion, "a");
  batch.index({.index = index_, .id = "bad", .version = kBaseVersion},
              R"({"id":"bad","n":"not a number"})");
  addDoc(batch, 3, kBaseVersion, "c", "route-7");
  auto w = writer("true");
  auto result = w.write(batch);
  ASSERT_TRUE(result) << result.error().toString();
  EXPECT_EQ(result->items[0].outcome, ItemOutcome::kOk);
  EXPECT_EQ(result->items[1].outcome, ItemOutcome::kDeadLetter);
  EXPECT_EQ(result->items[1].status, 400);
  EXPECT_NE(result->items[1].reason.find("failed to parse field [n]"), std::string::npos)
      << result->items[1].reason;
  EXPECT_EQ(result->items[2].outcome, ItemOutcome::kOk);
  EXPECT_EQ(result->attempts, 1U);
  EXPECT_EQ(stats_.bulk_items_dead_letter.load(), 1U);
  EXPECT_EQ(stored("doc-3", "route-7").second, "c") << "routed document found with its routing";
  auto count = admin_->count(index_);
  ASSERT_TRUE(count);
  EXPECT_EQ(*count, 2U);
}

TEST_P(BulkTest, GzipBulkWithUnicodeAndLargeDocuments) {
  ASSERT_TRUE(admin_->create(index_, testing::kDocsIndex));
  EsStats gz_stats;
  auto gz = testing::connect(GetParam().url, &gz_stats, 2, /*gzip=*/true);
  ASSERT_NE(gz, nullptr);
  BulkEncoder batch;
  const std::string big(2U << 20U, 'x');
  const std::string unicode = "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80 \"q\"\n\t\\";
  batch.indexWith({.index = index_, .id = "k\xC3\xA9y \"1\"", .version = 1},
                  [&](util::JsonWriter& w) {
                    w.beginObject();
                    w.key("value");
                    w.value(unicode);
                    w.key("text");
                    w.value(big);
                    w.endObject();
                  });
  BulkWriterOptions options;
  options.refresh = "true";
  BulkWriter w(*gz, clock_, options, &gz_stats);
  auto result = w.write(batch);
  ASSERT_TRUE(result) << result.error().toString();
  ASSERT_EQ(result->ok, 1U) << result->items[0].reason;
  EXPECT_LT(gz_stats.bytes_sent_wire.load() * 100, gz_stats.bytes_sent.load());
  EXPECT_EQ(stored("k\xC3\xA9y \"1\"").second, unicode);
}

INSTANTIATE_TEST_SUITE_P(Flavours, BulkTest,
                         ::testing::ValuesIn(cesync::testing::searchEndpoints()),
                         testing::flavourName);

}  // namespace
}  // namespace cesync::es
