#include "es/bulk_encoder.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>

#include "fixture.h"

namespace cesync::es {
namespace {

TEST(BulkEncoderTest, MatchesGoldenFixture) {
  BulkEncoder enc;
  enc.index({.index = "docs", .id = "plain", .version = 1700000000000000},
            R"({"name":"plain","n":1})");
  enc.indexWith({.index = "docs", .id = "q\"uo\\te\n", .version = 1, .routing = "r\x01"},
                [](util::JsonWriter& w) {
                  w.beginObject();
                  w.key("text");
                  w.value("line1\nline2\t\"q\"");
                  w.key("bell");
                  w.value("\x07");
                  w.endObject();
                });
  enc.indexWith({.index = "docs", .id = "[\"caf\xC3\xA9\",42]", .version = -5},
                [](util::JsonWriter& w) {
                  w.beginObject();
                  w.key("s");
                  w.value("\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E \xF0\x9F\x98\x80 caf\xFF");
                  w.endObject();
                });
  enc.remove({.index = "docs",
              .id = "gone",
              .version = std::numeric_limits<std::int64_t>::max(),
              .routing = "shard-7"});
  enc.index({.index = "docs", .id = "raw", .version = 2},
            "{ \"pretty\":   true,\n    \"nested\": {\"a\": [1,\n 2]} }");

  const std::string golden = testing::readFixture("encoder_golden.ndjson");
  ASSERT_FALSE(golden.empty());
  EXPECT_EQ(enc.body(), golden);
  EXPECT_EQ(enc.items(), 5U);
  EXPECT_EQ(enc.bytes(), golden.size());
}

TEST(BulkEncoderTest, EveryLineIsValidJson) {
  BulkEncoder enc;
  enc.index({.index = "i", .id = "\xC3\x28 bad utf8", .version = 3}, R"({"a":"\u00e9"})");
  enc.remove({.index = "i", .id = "x\ty", .version = 4});
  std::string body(enc.body());
  simdjson::dom::parser parser;
  std::size_t lines = 0;
  std::size_t at = 0;
  while (at < body.size()) {
    const std::size_t nl = body.find('\n', at);
    ASSERT_NE(nl, std::string::npos) << "every line ends with a newline";
    const std::string line = body.substr(at, nl - at);
    simdjson::dom::element element;
    ASSERT_EQ(parser.parse(line).get(element), simdjson::SUCCESS) << line;
    EXPECT_TRUE(element.is_object()) << line;
    ++lines;
    at = nl + 1;
  }
  EXPECT_EQ(lines, 3U);
}

TEST(BulkEncoderTest, ItemSlicesAndOps) {
  BulkEncoder enc;
  enc.index({.index = "i", .id = "1", .version = 1}, "{}");
  enc.remove({.index = "i", .id = "2", .version = 2});
  enc.index({.index = "i", .id = "3", .version = 3}, R"({"x":1})");
  ASSERT_EQ(enc.items(), 3U);
  EXPECT_EQ(enc.op(0), BulkOp::kIndex);
  EXPECT_EQ(enc.op(1), BulkOp::kDelete);
  EXPECT_EQ(enc.item(1),
            R"({"delete":{"_index":"i","_id":"2","version":2,"version_type":"external_gte"}})"
            "\n");
  EXPECT_EQ(std::string(enc.item(0)) + std::string(enc.item(1)) + std::string(enc.item(2)),
            enc.body());
  enc.clear();
  EXPECT_TRUE(enc.empty());
  EXPECT_EQ(enc.bytes(), 0U);
}

TEST(BulkEncoderTest, FullByBytesOrItems) {
  const BatchLimits limits{.max_bytes = 300, .max_items = 3};
  BulkEncoder by_items;
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(by_items.full(limits));
    by_items.index({.index = "i", .id = std::to_string(i), .version = 1}, "{}");
  }
  EXPECT_TRUE(by_items.full(limits));
  BulkEncoder by_bytes;
  by_bytes.index({.index = "i", .id = "1", .version = 1}, std::string(150, ' ') + "{}");
  EXPECT_FALSE(by_bytes.full(limits));
  by_bytes.index({.index = "i", .id = "2", .version = 1}, "{}");
  EXPECT_TRUE(by_bytes.full(limits));
  EXPECT_EQ(by_bytes.items(), 2U);
}

TEST(BulkEncoderTest, CompareAndSetAndCreateOnlyReplaceTheVersion) {
  BulkEncoder enc;
  enc.index({.index = "docs", .id = "a", .version = 7, .if_seq_no = 12, .if_primary_term = 3},
            R"({"n":1})");
  enc.index({.index = "docs", .id = "b", .version = 7, .create_only = true}, R"({"n":2})");
  enc.remove({.index = "docs", .id = "c", .version = 7, .if_seq_no = 0, .if_primary_term = 1});
  EXPECT_EQ(
      enc.body(),
      "{\"index\":{\"_index\":\"docs\",\"_id\":\"a\",\"if_seq_no\":12,\"if_primary_term\":3}}\n"
      "{\"n\":1}\n"
      "{\"create\":{\"_index\":\"docs\",\"_id\":\"b\"}}\n"
      "{\"n\":2}\n"
      "{\"delete\":{\"_index\":\"docs\",\"_id\":\"c\",\"if_seq_no\":0,\"if_primary_term\":1}}\n");
  EXPECT_EQ(enc.op(1), BulkOp::kIndex);
}

TEST(BulkEncoderTest, VersionTypes) {
  BulkEncoder internal(VersionType::kInternal);
  internal.index({.index = "i", .id = "1", .version = 99}, "{}");
  EXPECT_EQ(internal.body(), "{\"index\":{\"_index\":\"i\",\"_id\":\"1\"}}\n{}\n");
  BulkEncoder external(VersionType::kExternal);
  external.remove({.index = "i", .id = "1", .version = 99});
  EXPECT_EQ(external.body(),
            "{\"delete\":{\"_index\":\"i\",\"_id\":\"1\",\"version\":99,\"version_type\":"
            "\"external\"}}\n");
}

TEST(BulkEncoderTest, LargeDocumentsAreAccountedInBytes) {
  BulkEncoder enc;
  std::string big(4 << 20, 'a');
  for (std::size_t i = 0; i < big.size(); i += 1000) {
    big[i] = '\n';  // escaped to two bytes each
  }
  enc.indexWith({.index = "big", .id = "1", .version = 1}, [&](util::JsonWriter& w) {
    w.beginObject();
    w.key("blob");
    w.value(big);
    w.endObject();
  });
  const std::string action =
      R"({"index":{"_index":"big","_id":"1","version":1,"version_type":"external_gte"}})";
  const std::size_t escapes = (big.size() + 999) / 1000;
  EXPECT_EQ(enc.bytes(),
            action.size() + 1 + std::string(R"({"blob":""})").size() + big.size() + escapes + 1);
  EXPECT_EQ(enc.body().back(), '\n');
  EXPECT_EQ(std::count(enc.body().begin(), enc.body().end(), '\n'), 2);
}

TEST(SpreadOverTest, CutsLargeWritesIntoOneBatchPerRequestInFlight) {
  const BatchLimits configured{.max_bytes = 5U << 20U, .max_items = 10'000};
  // 2 MiB of items, 4 requests in flight: four batches of about 512 KiB.
  const BatchLimits spread = spreadOver(configured, 2U << 20U, 4, 128U << 10U);
  EXPECT_EQ(spread.max_bytes, 512U << 10U);
  EXPECT_EQ(spread.max_items, configured.max_items);
}

TEST(SpreadOverTest, NeverAboveTheConfiguredLimit) {
  const BatchLimits configured{.max_bytes = 1U << 20U, .max_items = 500};
  const BatchLimits spread = spreadOver(configured, 64U << 20U, 4, 128U << 10U);
  EXPECT_EQ(spread.max_bytes, 1U << 20U);
  EXPECT_EQ(spread.max_items, 500U);
}

TEST(SpreadOverTest, SmallWritesStayOneRequest) {
  const BatchLimits configured{};
  // 200 KiB over 4 requests would be 50 KiB each: below the floor, so cut at 128 KiB only.
  EXPECT_EQ(spreadOver(configured, 200U << 10U, 4, 128U << 10U).max_bytes, 128U << 10U);
  // One request in flight: nothing to spread.
  EXPECT_EQ(spreadOver(configured, 2U << 20U, 1, 128U << 10U).max_bytes, 2U << 20U);
  // A floor above the configured limit does not raise it.
  EXPECT_EQ(
      spreadOver({.max_bytes = 64U << 10U, .max_items = 10}, 1U << 20U, 4, 128U << 10U).max_bytes,
      64U << 10U);
}

TEST(SpreadOverTest, EncodedBatchesComeOutEvenlySized) {
  // The way TableSync uses it: fill batches until full(spread), then start the next.
  const std::string source = R"({"body":")" + std::string(1000, 'x') + R"("})";
  const std::size_t docs = 2000;
  const BatchLimits spread = spreadOver({}, docs * (source.size() + 80), 4, 128U << 10U);
  std::vector<BulkEncoder> batches(1);
  for (std::size_t i = 0; i < docs; ++i) {
    if (batches.back().full(spread)) {
      batches.emplace_back();
    }
    batches.back().index({.index = "i", .id = std::to_string(i), .version = 1}, source);
  }
  ASSERT_EQ(batches.size(), 4U);
  for (const auto& b : batches) {
    EXPECT_GT(b.items(), docs / 5);
  }
}

}  // namespace
}  // namespace cesync::es
