#include "ops/admin_server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>

namespace cesync::ops {
namespace {

TEST(AdminServerTest, ServesEveryEndpoint) {
  std::atomic<bool> ready{true};
  AdminServer server(
      {.metrics = [] { return std::string("cesync_up 1\n"); },
       .readiness =
           [&ready] {
             return ready ? Readiness{} : Readiness{false, {"shop.product: lag 42s > 30s"}};
           },
       .status_json = [] { return std::string(R"({"tables":[]})"); }});
  ASSERT_TRUE(server.start("127.0.0.1:0"));
  ASSERT_GT(server.port(), 0);

  httplib::Client client("127.0.0.1", server.port());
  auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);

  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->body, "cesync_up 1\n");
  EXPECT_EQ(metrics->get_header_value("Content-Type"), "text/plain; version=0.0.4");

  auto status = client.Get("/status");
  ASSERT_TRUE(status);
  EXPECT_EQ(status->body, R"({"tables":[]})");

  auto ok = client.Get("/readyz");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  ready = false;
  auto not_ready = client.Get("/readyz");
  ASSERT_TRUE(not_ready);
  EXPECT_EQ(not_ready->status, 503);
  EXPECT_EQ(not_ready->body, "not ready\nshop.product: lag 42s > 30s\n");

  server.stop();
  server.stop();
  EXPECT_FALSE(client.Get("/healthz"));
}

TEST(AdminServerTest, BadListenAddressesAreConfigErrors) {
  AdminServer a({});
  auto r = a.start("no-port");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kConfig);
  AdminServer b({});
  EXPECT_FALSE(b.start("127.0.0.1:notaport"));
}

TEST(AdminServerTest, PortInUseIsAClearError) {
  AdminServer first({});
  ASSERT_TRUE(first.start("127.0.0.1:0"));
  AdminServer second({});
  auto r = second.start("127.0.0.1:" + std::to_string(first.port()));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("cannot listen"), std::string::npos);
}

}  // namespace
}  // namespace cesync::ops
