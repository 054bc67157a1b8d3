#include "es/client.h"

namespace cesync::es {

Result<std::unique_ptr<EsClient>> EsClient::connect(ClientOptions options, const Clock& clock,
                                                    EsStats* shared_stats) {
  // The counters live on the heap from the start: the transport keeps a pointer to them.
  auto own = shared_stats != nullptr ? nullptr : std::make_unique<EsStats>();
  EsStats& stats = shared_stats != nullptr ? *shared_stats : *own;
  CESYNC_ASSIGN_OR_RETURN(transport, CurlTransport::create(options.transport, &stats));
  std::unique_ptr<EsClient> client(
      new EsClient(std::move(own), stats, std::move(transport), std::move(options), clock));
  CESYNC_ASSIGN_OR_RETURN(server, detectServer(client->retrying_));
  client->server_ = std::move(server);
  return client;
}

EsClient::EsClient(std::unique_ptr<EsStats> own_stats, EsStats& stats,
                   std::unique_ptr<CurlTransport> transport, ClientOptions options,
                   const Clock& clock)
    : stats_holder_(std::move(own_stats)),
      stats_(stats),
      transport_(std::move(transport)),
      retrying_(*transport_, options.request_retry, &stats_),
      admin_(retrying_),
      writer_(*transport_, clock, std::move(options.bulk), &stats_) {}

}  // namespace cesync::es
