// Point-in-time and scroll scans against the real engines, with writes going on meanwhile.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "es/bulk_writer.h"
#include "es/search_scanner.h"
#include "es_fixture.h"

namespace cesync::es {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kDocs = 3000;
constexpr std::size_t kPage = 250;

std::string idOf(int i) {
  // Zero-padded so that keyword order equals numeric order.
  std::string s = std::to_string(i);
  return "doc-" + std::string(6 - s.size(), '0') + s;
}

void addDoc(BulkEncoder& enc, const std::string& index, const std::string& id,
            std::int64_t timestamp, std::string_view value) {
  enc.indexWith({.index = index, .id = id, .version = timestamp}, [&](util::JsonWriter& w) {
    w.beginObject();
    w.key("id");
    w.value(id);
    w.key("timestamp");
    w.value(timestamp);
    w.key("value");
    w.value(value);
    w.endObject();
  });
}

struct Seen {
  std::string id;
  std::int64_t timestamp = 0;
  std::string value;
};

Seen decode(const SearchHit& hit) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string json(hit.source);
  auto doc = parser.iterate(json);
  Seen s;
  s.id = std::string(doc["id"].get_string().value());
  s.timestamp = doc["timestamp"].get_int64().value();
  s.value = std::string(doc["value"].get_string().value());
  return s;
}

class SearchScanTest
    : public ::testing::TestWithParam<std::tuple<cesync::testing::SearchEndpoint, ScanMode>> {
 protected:
  void SetUp() override {
    url_ = std::get<0>(GetParam()).url;
    transport_ = testing::connect(url_, &stats_);
    ASSERT_NE(transport_, nullptr);
    auto info = detectServer(*transport_);
    ASSERT_TRUE(info) << info.error().toString();
    server_ = *info;
    admin_ = std::make_unique<IndexAdmin>(*transport_);
    index_ = cesync::testing::uniqueName("scan_" + std::get<0>(GetParam()).flavour);
    ASSERT_TRUE(admin_->create(index_, testing::kDocsIndex));
    // Several docs share each timestamp, so the id really is needed to order them.
    BulkEncoder seed;
    for (int i = 0; i < kDocs; ++i) {
      addDoc(seed, index_, idOf(i), 1000 + i / 4, "original");
    }
    BulkWriterOptions options;
    options.refresh = "true";
    BulkWriter writer(*transport_, clock_, options, &stats_);
    auto written = writer.write(seed);
    ASSERT_TRUE(written);
    ASSERT_EQ(written->ok, static_cast<std::size_t>(kDocs));
  }

  void TearDown() override {
    if (admin_) {
      EXPECT_TRUE(admin_->remove(index_));
    }
  }

  ScanOptions scanOptions() const {
    ScanOptions o;
    o.index = index_;
    o.sort = R"([{"timestamp":"asc"},{"id":"asc"}])";
    o.page_size = kPage;
    o.mode = std::get<1>(GetParam());
    return o;
  }

  std::string url_;
  EsStats stats_;
  std::unique_ptr<CurlTransport> transport_;
  ServerInfo server_;
  std::unique_ptr<IndexAdmin> admin_;
  std::string index_;
  SystemClock clock_;
};

// While the scan pages through, another connection keeps changing the index: it updates
// existing documents, deletes some, adds new ones, and refreshes after every batch. The scan
// must see exactly the documents as they were when it opened, each once, in (timestamp, id)
// order.
TEST_P(SearchScanTest, ConsistentSnapshotWhileWritesContinue) {
  SearchScanner scan(*transport_, server_, scanOptions());
  std::vector<SearchHit> page;
  auto more = scan.next(page);
  ASSERT_TRUE(more) << more.error().toString();
  ASSERT_TRUE(*more);
  EXPECT_EQ(scan.mode(), std::get<1>(GetParam()) == ScanMode::kScroll ? ScanMode::kScroll
                                                                      : ScanMode::kPointInTime);

  std::atomic<int> batches_written{0};
  std::atomic<bool> stop{false};
  std::atomic<bool> writer_failed{false};
  std::string writer_error;  // written by the writer before it sets writer_failed
  std::thread writer_thread([&] {
    EsStats writer_stats;
    auto conn = testing::connect(url_, &writer_stats, 1);
    SystemClock clock;
    BulkWriterOptions options;
    options.refresh = "true";
    BulkWriter writer(*conn, clock, options, &writer_stats);
    for (int round = 0; !stop.load(); ++round) {
      BulkEncoder batch;
      for (int k = 0; k < 50; ++k) {
        const int i = (round * 50 + k) % kDocs;
        addDoc(batch, index_, idOf(i), 5000 + round, "changed");  // newer version
        addDoc(batch, index_, "new-" + std::to_string(round) + "-" + std::to_string(k), 500 + k,
               "new");  // sorts before every original document
      }
      batch.remove({.index = index_, .id = idOf((round * 7 + 3) % kDocs), .version = 9000 + round});
      auto result = writer.write(batch);
      if (!result || result->unacknowledged > 0 || result->dead_letter > 0) {
        writer_error = result ? result->last_retry_reason : result.error().toString();
        writer_failed = true;
        return;
      }
      ++batches_written;
    }
  });

  // Stops and joins the writer on every way out of the test, failed assertions included.
  struct JoinOnExit {
    std::atomic<bool>& stop;
    std::thread& thread;
    ~JoinOnExit() {
      stop = true;
      if (thread.joinable()) {
        thread.join();
      }
    }
  } join_on_exit{stop, writer_thread};

  std::vector<Seen> seen;
  int pages = 1;
  for (const auto& hit : page) {
    seen.push_back(decode(hit));
  }
  while (*more) {
    // Let at least one refreshed write batch land between every two pages.
    const int before = batches_written.load();
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    while (batches_written.load() == before && !writer_failed.load() && Clock::now() < deadline) {
      std::this_thread::yield();
    }
    ASSERT_GT(batches_written.load(), before) << "the writer made no progress";
    more = scan.next(page);
    ASSERT_TRUE(more) << more.error().toString();
    ++pages;
    for (const auto& hit : page) {
      seen.push_back(decode(hit));
    }
  }
  stop = true;
  writer_thread.join();
  ASSERT_FALSE(writer_failed.load()) << writer_error;
  EXPECT_TRUE(scan.close());

  ASSERT_EQ(seen.size(), static_cast<std::size_t>(kDocs)) << "no new, no deleted, no duplicates";
  std::set<std::string> ids;
  for (std::size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].value, "original") << seen[i].id << " was changed after the scan opened";
    ids.insert(seen[i].id);
    EXPECT_EQ(seen[i].id, idOf(static_cast<int>(i))) << "sorted by (timestamp, id)";
  }
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kDocs));
  EXPECT_GE(pages, static_cast<int>(kDocs / kPage));
  EXPECT_GE(batches_written.load(), pages - 1);

  // The writes were real: a fresh look sees them.
  ASSERT_TRUE(admin_->refresh(index_));
  auto changed = admin_->count(index_, R"({"term":{"value":"changed"}})");
  ASSERT_TRUE(changed);
  EXPECT_GT(*changed, 0U);
  auto added = admin_->count(index_, R"({"term":{"value":"new"}})");
  ASSERT_TRUE(added);
  EXPECT_GT(*added, 0U);
}

TEST_P(SearchScanTest, QueryFiltersTheScan) {
  auto options = scanOptions();
  options.query = R"({"range":{"timestamp":{"gte":1500}}})";  // i / 4 >= 500
  SearchScanner scan(*transport_, server_, options);
  std::vector<SearchHit> page;
  std::size_t total = 0;
  std::string first;
  for (bool more = true; more;) {
    auto next = scan.next(page);
    ASSERT_TRUE(next) << next.error().toString();
    more = *next;
    if (first.empty() && !page.empty()) {
      first = page.front().id;
    }
    total += page.size();
  }
  EXPECT_EQ(total, static_cast<std::size_t>(kDocs - 2000));
  EXPECT_EQ(first, idOf(2000));
}

TEST_P(SearchScanTest, ResumesAfterASortPosition) {
  if (std::get<1>(GetParam()) == ScanMode::kScroll) {
    SearchScanner scan(*transport_, server_, [&] {
      auto o = scanOptions();
      o.search_after = "[1000,\"doc-000001\"]";
      return o;
    }());
    std::vector<SearchHit> page;
    auto refused = scan.next(page);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
    return;
  }
  std::string resume_at;
  {
    SearchScanner scan(*transport_, server_, scanOptions());
    std::vector<SearchHit> page;
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(scan.next(page));
    }
    EXPECT_EQ(page.back().id, idOf(3 * kPage - 1));
    resume_at = scan.lastSort();
    ASSERT_TRUE(scan.close());
  }
  auto options = scanOptions();
  options.search_after = resume_at;
  SearchScanner scan(*transport_, server_, options);
  std::vector<SearchHit> page;
  auto more = scan.next(page);
  ASSERT_TRUE(more) << more.error().toString();
  ASSERT_FALSE(page.empty());
  EXPECT_EQ(page.front().id, idOf(3 * kPage)) << "continues right after the last hit seen";
}

TEST_P(SearchScanTest, ClosedContextsAreReleased) {
  SearchScanner scan(*transport_, server_, scanOptions());
  std::vector<SearchHit> page;
  ASSERT_TRUE(scan.next(page));
  ASSERT_TRUE(scan.close());
  auto after = scan.next(page);
  ASSERT_TRUE(after);
  EXPECT_FALSE(*after) << "a closed scan is over";
  EXPECT_TRUE(scan.close()) << "closing twice is harmless";
}

std::string scanName(
    const ::testing::TestParamInfo<std::tuple<cesync::testing::SearchEndpoint, ScanMode>>& p) {
  return std::get<0>(p.param).flavour +
         (std::get<1>(p.param) == ScanMode::kScroll ? "_scroll" : "_pit");
}

INSTANTIATE_TEST_SUITE_P(Flavours, SearchScanTest,
                         ::testing::Combine(::testing::ValuesIn(cesync::testing::searchEndpoints()),
                                            ::testing::Values(ScanMode::kAuto, ScanMode::kScroll)),
                         scanName);

}  // namespace
}  // namespace cesync::es
