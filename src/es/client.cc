#include "es/client.h"

namespace cesync::es {

Result<std::unique_ptr<EsClient>> EsClient::connect(ClientOptions options, const Clock& clock) {
  // The counters live on the heap from the start: the transport keeps a pointer to them.
  auto stats = std::make_unique<EsStats>();
  CESYNC_ASSIGN_OR_RETURN(transport, CurlTransport::create(options.transport, stats.get()));
  CESYNC_ASSIGN_OR_RETURN(server, detectServer(*transport));
  return std::unique_ptr<EsClient>(new EsClient(std::move(stats), std::move(transport),
                                                std::move(server), clock, std::move(options.bulk)));
}

EsClient::EsClient(std::unique_ptr<EsStats> stats, std::unique_ptr<CurlTransport> transport,
                   ServerInfo server, const Clock& clock, BulkWriterOptions bulk)
    : stats_holder_(std::move(stats)),
      stats_(*stats_holder_),
      transport_(std::move(transport)),
      server_(std::move(server)),
      admin_(*transport_),
      writer_(*transport_, clock, std::move(bulk), &stats_) {}

}  // namespace cesync::es
