// The transport and flavour detection against the real engines.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "es_fixture.h"

namespace cesync::es {
namespace {

using testing::EsTest;

TEST_P(EsTest, DetectsFlavourAndVersion) {
  if (GetParam().flavour == "opensearch") {
    EXPECT_EQ(server_.flavour, Flavour::kOpenSearch);
    EXPECT_EQ(server_.major, 2);
    EXPECT_EQ(server_.pitDialect(), PitDialect::kOpenSearch);
  } else {
    EXPECT_EQ(server_.flavour, Flavour::kElasticsearch);
    EXPECT_EQ(server_.major, 8);
    EXPECT_EQ(server_.pitDialect(), PitDialect::kElasticsearch);
  }
  EXPECT_FALSE(server_.version.empty());
}

TEST_P(EsTest, KeepAliveReusesConnections) {
  for (int i = 0; i < 50; ++i) {
    auto response = transport_->send({.method = HttpMethod::kGet, .path = "/_cluster/health"});
    ASSERT_TRUE(response) << response.error().toString();
    ASSERT_EQ(response->status, 200);
  }
  // Detection made one or two requests too; all of them should have shared one connection.
  EXPECT_GE(stats_.http_requests.load(), 51U);
  EXPECT_LE(stats_.connections_opened.load(), 2U);
}

TEST_P(EsTest, SeveralRequestsInFlightComeBackInOrder) {
  ASSERT_TRUE(admin_->create(index_, testing::kDocsIndex));
  std::vector<std::string> bodies;
  for (int i = 0; i < 12; ++i) {
    bodies.push_back(R"({"id":")" + std::to_string(i) + R"(","n":)" + std::to_string(i) + "}");
  }
  std::vector<HttpRequest> requests;
  for (int i = 0; i < 12; ++i) {
    requests.push_back({.method = HttpMethod::kPut,
                        .path = "/" + index_ + "/_doc/" + std::to_string(i),
                        .body = bodies[static_cast<std::size_t>(i)]});
  }
  auto responses = transport_->sendAll(requests);
  ASSERT_EQ(responses.size(), 12U);
  for (std::size_t i = 0; i < responses.size(); ++i) {
    ASSERT_TRUE(responses[i]) << responses[i].error().toString();
    EXPECT_EQ(responses[i]->status, 201) << responses[i]->body;
    EXPECT_NE(responses[i]->body.find("\"_id\":\"" + std::to_string(i) + "\""), std::string::npos)
        << "answer " << i << " belongs to request " << i << ": " << responses[i]->body;
  }
  EXPECT_LE(stats_.connections_opened.load(), 4U) << "bounded by max_connections";
  ASSERT_TRUE(admin_->refresh(index_));
  auto count = admin_->count(index_);
  ASSERT_TRUE(count);
  EXPECT_EQ(*count, 12U);
}

// A source that sends one slow request, then a stream of quick ones on the other connections,
// and records the order in which answers arrive.
class SlowAndQuick final : public RequestSource {
 public:
  std::optional<HttpRequest> next(std::size_t& tag) override {
    if (sent_ == kTotal) {
      return std::nullopt;
    }
    tag = sent_++;
    if (tag == 0) {
      // Waits for nodes that never come: answers (408, timed_out) after two seconds.
      return HttpRequest{.method = HttpMethod::kGet,
                         .path = "/_cluster/health?wait_for_nodes=9&timeout=2s"};
    }
    return HttpRequest{.method = HttpMethod::kGet, .path = "/_cluster/health"};
  }
  void complete(std::size_t tag, Result<HttpResponse> response) override {
    EXPECT_TRUE(response) << response.error().toString();
    order.push_back(tag);
    statuses.push_back(response ? response->status : 0);
  }
  bool waitForWork() override { return false; }
  std::chrono::milliseconds nextReadyIn() override { return std::chrono::milliseconds(1000); }

  static constexpr std::size_t kTotal = 40;
  std::vector<std::size_t> order;
  std::vector<int> statuses;

 private:
  std::size_t sent_ = 0;
};

TEST_P(EsTest, ASlowRequestDoesNotHoldUpTheOthers) {
  SlowAndQuick source;
  transport_->run(source);
  ASSERT_EQ(source.order.size(), SlowAndQuick::kTotal);
  EXPECT_EQ(source.order.back(), 0U) << "the 39 quick requests finished on the other "
                                        "connections while the slow one waited";
  EXPECT_EQ(source.statuses.back(), 408);
  EXPECT_LE(stats_.connections_opened.load(), 4U);
}

TEST_P(EsTest, SlowAnswersTimeOut) {
  const auto started = std::chrono::steady_clock::now();
  auto response = transport_->send({.method = HttpMethod::kGet,
                                    .path = "/_cluster/health?wait_for_nodes=9&timeout=5s",
                                    .timeout = std::chrono::milliseconds(300)});
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(response) << "the engine waits 5s, the request only 300ms";
  EXPECT_EQ(response.error().code, ErrorCode::kTimeout) << response.error().toString();
  EXPECT_TRUE(isTransient(response.error().code));
  EXPECT_LT(took, std::chrono::seconds(3));
  // The transport is still usable afterwards.
  auto next = transport_->send({.method = HttpMethod::kGet, .path = "/_cluster/health"});
  ASSERT_TRUE(next) << next.error().toString();
  EXPECT_EQ(next->status, 200);
}

TEST_P(EsTest, GzipRequestBodiesAreAccepted) {
  ASSERT_TRUE(admin_->create(index_, testing::kDocsIndex));
  EsStats gz_stats;
  auto gz = testing::connect(GetParam().url, &gz_stats, 2, /*gzip=*/true);
  ASSERT_NE(gz, nullptr);
  std::string ndjson;
  for (int i = 0; i < 500; ++i) {
    ndjson += R"({"index":{"_index":")" + index_ + R"(","_id":")" + std::to_string(i) + "\"}}\n" +
              R"({"id":")" + std::to_string(i) +
              R"(","text":"the same words compress well, the same words compress well"})" + "\n";
  }
  auto response = gz->send({.method = HttpMethod::kPost,
                            .path = "/_bulk?refresh=true",
                            .body = ndjson,
                            .content_type = "application/x-ndjson"});
  ASSERT_TRUE(response) << response.error().toString();
  ASSERT_EQ(response->status, 200) << response->body.substr(0, 300);
  EXPECT_EQ(response->body.find("\"errors\":true"), std::string::npos);
  EXPECT_EQ(gz_stats.bytes_sent.load(), ndjson.size());
  EXPECT_LT(gz_stats.bytes_sent_wire.load() * 5, ndjson.size()) << "the body went compressed";
  auto count = admin_->count(index_);
  ASSERT_TRUE(count);
  EXPECT_EQ(*count, 500U);
}

TEST_P(EsTest, ErrorsMapToCodes) {
  auto missing = admin_->getMapping(index_ + "_missing");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("index_not_found_exception"), std::string::npos)
      << missing.error().message;
}

INSTANTIATE_TEST_SUITE_P(Flavours, EsTest, ::testing::ValuesIn(cesync::testing::searchEndpoints()),
                         testing::flavourName);

}  // namespace
}  // namespace cesync::es
