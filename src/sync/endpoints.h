#pragma once

#include <memory>

#include "common/clock.h"
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

/// Connects to Cassandra as the configuration says. Errors name the settings to look at:
/// cassandra.username/password when the login is refused, else cassandra.contact_points.
Result<std::unique_ptr<cql::Session>> connectCassandra(const config::Config& config);

/// Connects a search client with `options` (from searchClientOptions()). Errors name the
/// settings to look at: search.username/password/api_key when refused, else search.urls.
Result<std::unique_ptr<es::EsClient>> connectSearch(es::ClientOptions options, const Clock& clock,
                                                    es::EsStats* shared_stats = nullptr);

/// Parses "LOCAL_QUORUM" etc.
Result<cql::Consistency> parseConsistency(std::string_view name);

}  // namespace cesync::sync
