package cesync.trigger;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** What an entry says happened to the key it names. Stored as its {@link #cql} text. */
enum Kind {
  /** A row was written, or some of its columns changed or were deleted; the row may still exist. */
  UPSERT("upsert"),
  /** Static columns of the partition changed; every row of the partition may read differently. */
  STATIC_UPSERT("static_upsert"),
  /** A whole row was deleted and nothing in the same write brought data back to it. */
  ROW_DELETE("row_delete"),
  /** The whole partition was deleted. */
  PARTITION_DELETE("partition_delete"),
  /** The rows of a clustering range of the partition were deleted. */
  RANGE_DELETE("range_delete");

  final String cql;
  final ByteBuffer bytes;

  Kind(String cql) {
    this.cql = cql;
    this.bytes = ByteBuffer.wrap(cql.getBytes(StandardCharsets.UTF_8));
  }
}
