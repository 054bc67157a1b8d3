#pragma once

#include "common/result.h"
#include "config/config.h"
#include "cql/session.h"
#include "es/client.h"

namespace cesync::sync {

/// The CQL session settings the configuration implies. kConfig for a contact point whose port is
/// not a number.
Result<cql::SessionConfig> cassandraSessionConfig(const config::Config& config);

/// The search client settings the configuration implies (the first URL; more URLs are for
/// failover, not yet used).
es::ClientOptions searchClientOptions(const config::Config& config);

/// Parses "LOCAL_QUORUM" etc.
Result<cql::Consistency> parseConsistency(std::string_view name);

}  // namespace cesync::sync
