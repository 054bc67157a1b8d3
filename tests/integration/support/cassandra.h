#pragma once

#include <memory>
#include <string>

#include "cql/session.h"

namespace cesync::testing {

/// A cesync CQL session to the local node (CESYNC_CASSANDRA), at consistency ONE; nullptr and a
/// gtest failure when it cannot connect.
std::unique_ptr<cql::Session> connectLocalCassandra();

/// Runs a statement that must succeed (a gtest failure names it otherwise).
void runCql(cql::Session& session, const std::string& statement,
            std::vector<cql::Value> values = {});

}  // namespace cesync::testing
