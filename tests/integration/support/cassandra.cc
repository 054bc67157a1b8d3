#include "support/cassandra.h"

#include <gtest/gtest.h>

#include "support/servers.h"

namespace cesync::testing {

std::unique_ptr<cql::Session> connectLocalCassandra() {
  const auto endpoint = cassandraEndpoint();
  cql::SessionConfig config;
  config.contact_points = {endpoint.host};
  config.port = endpoint.port;
  config.consistency = cql::Consistency::kOne;
  auto session = cql::Session::connect(config);
  EXPECT_TRUE(session) << session.error().toString();
  return session ? std::move(*session) : nullptr;
}

void runCql(cql::Session& session, const std::string& statement, std::vector<cql::Value> values) {
  auto r = session.execute(statement, std::move(values));
  EXPECT_TRUE(r) << statement << ": " << r.error().toString();
}

}  // namespace cesync::testing
