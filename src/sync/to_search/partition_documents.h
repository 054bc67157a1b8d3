#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "es/client.h"
#include "sync/table_schema.h"

namespace cesync::sync {

/// Which documents belong to one partition: those whose `cesync_token` is the partition's token
/// and whose id is the partition's (a table whose primary key is the partition key) or starts
/// with the partition's key parts (a table with clustering columns). Ids are the exact JSON
/// docs/TYPES.md defines, so a prefix match is a key match; the token only narrows the search.
struct PartitionSelector {
  std::int64_t token = 0;
  std::string exact_id;   // set when a partition is one row
  std::string id_prefix;  // set when rows are told apart by clustering columns
};

/// The document id (docs/TYPES.md) of the row whose serialized key parts are `pk` and `ck`,
/// without reading it: what a deleted row's document is called.
Result<std::string> documentIdOfKey(const TableSchema& schema, const std::vector<cql::Bytes>& pk,
                                    const std::vector<cql::Bytes>& ck);

/// The selector of the partition whose serialized key parts are `pk`.
Result<PartitionSelector> partitionSelector(const TableSchema& schema,
                                            const std::vector<cql::Bytes>& pk);

/// The ids of the documents in `index` that belong to the partition. Refreshes the index first,
/// so that documents written moments ago are found too (deleting a partition must not leave a
/// document that was not yet searchable). With `unstamped`, documents without a `cesync_token`
/// whose id is the partition's are found too: in a table synced both ways, those created on the
/// search side and not yet written back to the index from Cassandra.
Result<std::vector<std::string>> partitionDocumentIds(es::EsClient& client,
                                                      const std::string& index,
                                                      const PartitionSelector& selector,
                                                      bool unstamped = false);

}  // namespace cesync::sync
