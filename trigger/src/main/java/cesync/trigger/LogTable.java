package cesync.trigger;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Comparator;

import org.apache.cassandra.cql3.ColumnIdentifier;
import org.apache.cassandra.db.Clustering;
import org.apache.cassandra.db.DecoratedKey;
import org.apache.cassandra.db.LivenessInfo;
import org.apache.cassandra.db.marshal.ByteBufferAccessor;
import org.apache.cassandra.db.marshal.CompositeType;
import org.apache.cassandra.db.partitions.PartitionUpdate;
import org.apache.cassandra.db.rows.BTreeRow;
import org.apache.cassandra.db.rows.BufferCell;
import org.apache.cassandra.db.rows.Row;
import org.apache.cassandra.schema.ColumnMetadata;
import org.apache.cassandra.schema.TableMetadata;

/**
 * The change-log table's columns, resolved once per schema version of the log table, and the
 * low-level construction of its rows (no per-cell name lookups on the write path).
 */
final class LogTable {
  /** The log's regular columns. Order here is only the index into an entry's values. */
  enum Column {
    KEYSPACE_NAME, TABLE_NAME, TABLE_ID, KIND, PK, CK, RANGE_START, RANGE_START_INCLUSIVE,
    RANGE_END, RANGE_END_INCLUSIVE, WRITE_TIME, TTL, ATOMIC, KEY_TEXT;

    final String cql = name().toLowerCase(java.util.Locale.ROOT);
  }

  private static final Column[] COLUMNS = Column.values();
  static final int COLUMN_COUNT = COLUMNS.length;

  final TableMetadata metadata;
  private final ColumnMetadata[] columns = new ColumnMetadata[COLUMNS.length];
  /** Column ordinals in the order Cassandra sorts the columns within a row. */
  private final int[] storageOrder;

  private LogTable(TableMetadata metadata) {
    this.metadata = metadata;
    if (metadata.partitionKeyColumns().size() != 2 || metadata.clusteringColumns().size() != 1) {
      throw new IllegalStateException(describe(metadata)
          + " is not a cesync change-log table (expected PRIMARY KEY ((bucket, shard), id))");
    }
    for (Column c : COLUMNS) {
      ColumnMetadata m = metadata.getColumn(ColumnIdentifier.getInterned(c.cql, true));
      if (m == null || !m.isRegular()) {
        throw new IllegalStateException(describe(metadata) + " has no regular column " + c.cql
            + "; recreate it from the cesync schema");
      }
      columns[c.ordinal()] = m;
    }
    Integer[] order = new Integer[COLUMNS.length];
    for (int i = 0; i < order.length; i++) order[i] = i;
    Arrays.sort(order, Comparator.comparing(i -> columns[i]));
    storageOrder = Arrays.stream(order).mapToInt(Integer::intValue).toArray();
  }

  private static volatile LogTable cached;

  /** The layout for this version of the log table's metadata (rebuilt after a schema change). */
  static LogTable of(TableMetadata metadata) {
    LogTable t = cached;
    if (t == null || t.metadata != metadata) {
      t = new LogTable(metadata);
      cached = t;
    }
    return t;
  }

  /** A builder for one log partition. */
  PartitionUpdate.Builder partition(long bucketMillis, int shard, int expectedRows) {
    ByteBuffer key = CompositeType.build(ByteBufferAccessor.instance, longBytes(bucketMillis),
                                         intBytes(shard));
    DecoratedKey dk = metadata.partitioner.decorateKey(key);
    return new PartitionUpdate.Builder(metadata, dk, metadata.regularAndStaticColumns(),
                                       expectedRows);
  }

  /**
   * One log row: {@code values} indexed by {@link Column#ordinal()}, null for absent columns
   * (never written, so no tombstones). Every cell expires after {@code ttl} seconds (0: never).
   */
  Row row(ByteBuffer id, ByteBuffer[] values, long timestamp, int ttl, long nowInSec) {
    Row.Builder b = BTreeRow.sortedBuilder();
    b.newRow(Clustering.make(id));
    b.addPrimaryKeyLivenessInfo(ttl > 0 ? LivenessInfo.expiring(timestamp, ttl, nowInSec)
                                        : LivenessInfo.create(timestamp, nowInSec));
    for (int i : storageOrder) {
      ByteBuffer v = values[i];
      if (v == null) continue;
      b.addCell(ttl > 0 ? BufferCell.expiring(columns[i], timestamp, ttl, nowInSec, v)
                        : BufferCell.live(columns[i], timestamp, v));
    }
    return b.build();
  }

  static ByteBuffer longBytes(long v) {
    return ByteBuffer.allocate(8).putLong(0, v);
  }

  static ByteBuffer intBytes(int v) {
    return ByteBuffer.allocate(4).putInt(0, v);
  }

  private static String describe(TableMetadata m) {
    return "table " + m.keyspace + "." + m.name;
  }
}
