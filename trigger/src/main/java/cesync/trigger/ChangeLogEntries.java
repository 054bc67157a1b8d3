package cesync.trigger;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.UUID;

import org.apache.cassandra.db.ClusteringBound;
import org.apache.cassandra.db.DeletionTime;
import org.apache.cassandra.db.LivenessInfo;
import org.apache.cassandra.db.Mutation;
import org.apache.cassandra.db.RangeTombstone;
import org.apache.cassandra.db.partitions.PartitionUpdate;
import org.apache.cassandra.db.rows.Cell;
import org.apache.cassandra.db.rows.ColumnData;
import org.apache.cassandra.db.rows.ComplexColumnData;
import org.apache.cassandra.db.rows.Row;
import org.apache.cassandra.schema.TableMetadata;
import org.apache.cassandra.utils.TimeUUID;

/**
 * Turns one partition update of a tracked table into the change-log entries that name what it
 * changed, all in one log partition (bucket, shard), as a single mutation.
 *
 * <p>One entry per changed row, one for a static-row change, one per range tombstone and one for
 * a partition deletion. Entries carry keys only, never column values.
 */
final class ChangeLogEntries {
  private static final ByteBuffer TRUE = ByteBuffer.wrap(new byte[] {1});
  private static final ByteBuffer FALSE = ByteBuffer.wrap(new byte[] {0});
  private static final int NO_TTL = Integer.MAX_VALUE;

  private final Settings settings;
  private final TableMetadata table;
  private final PartitionUpdate.SimpleBuilder log;
  private final ByteBuffer keyspaceName;
  private final ByteBuffer tableName;
  private final ByteBuffer tableId;
  private final ByteBuffer[] pkParts;
  private final ByteBuffer pk;
  private final ByteBuffer atomic;
  private final TimeUUID firstId;
  private int count;

  private ChangeLogEntries(Settings settings, TableMetadata logTable, PartitionUpdate update,
                           boolean atomic) {
    this.settings = settings;
    this.table = update.metadata();
    this.atomic = (atomic ? TRUE : FALSE).duplicate();
    keyspaceName = ByteBuffer.wrap(table.keyspace.getBytes(StandardCharsets.UTF_8));
    tableName = ByteBuffer.wrap(table.name.getBytes(StandardCharsets.UTF_8));
    tableId = uuidBytes(table.id.asUUID());
    pkParts = Keys.partitionKeyParts(table, update.partitionKey().getKey());
    pk = Keys.frozenList(pkParts);

    // The log partition: the coordinator's arrival time floored to the bucket width (never the
    // write's own timestamp, which may be far in the past), and the key's token modulo shards.
    // The arrival time is the first entry's id, so that id always falls inside its bucket.
    firstId = TimeUUID.Generator.nextTimeUUID();
    long arrivalMicros = firstId.unixMicros();
    long bucketMicros = settings.bucketMillis * 1000L;
    long bucket = Math.floorDiv(arrivalMicros, bucketMicros) * settings.bucketMillis;
    int shard = (int) Math.floorMod(Keys.murmur3Token(table, update.partitionKey()),
                                    (long) settings.shards);
    log = PartitionUpdate.simpleBuilder(logTable, longBytes(bucket), intBytes(shard))
        .timestamp(arrivalMicros);
    if (settings.ttlSeconds > 0) log.ttl(settings.ttlSeconds);
  }

  /**
   * The log mutation for {@code update}, or null when it changes nothing (an empty update).
   *
   * @param atomic whether the entries travel in the same batch as the update (false when they are
   *     written ahead of it: counters and lightweight transactions)
   */
  static Mutation build(Settings settings, TableMetadata logTable, PartitionUpdate update,
                        boolean atomic) {
    ChangeLogEntries e = new ChangeLogEntries(settings, logTable, update, atomic);
    e.collect(update);
    return e.count == 0 ? null : e.log.buildAsMutation();
  }

  private void collect(PartitionUpdate update) {
    DeletionTime partitionDeletion = update.partitionLevelDeletion();
    if (!partitionDeletion.isLive()) {
      Row.SimpleBuilder r = entry(Kind.PARTITION_DELETE, partitionDeletion.markedForDeleteAt(), NO_TTL);
      if (settings.keyText) r.add("key_text", text(keyText(null)));
    }

    if (update.deletionInfo().hasRanges()) {
      Iterator<RangeTombstone> it = update.deletionInfo().rangeIterator(false);
      while (it.hasNext()) rangeEntry(it.next());
    }

    Row staticRow = update.staticRow();
    if (staticRow != null && !staticRow.isEmpty()) rowEntry(staticRow, Kind.STATIC_UPSERT);

    for (Row row : update) rowEntry(row, null);
  }

  private void rowEntry(Row row, Kind forced) {
    long ts = Long.MIN_VALUE;
    int ttl = NO_TTL;
    LivenessInfo liveness = row.primaryKeyLivenessInfo();
    boolean hasData = !liveness.isEmpty();
    if (hasData) {
      ts = liveness.timestamp();
      if (liveness.isExpiring()) ttl = liveness.ttl();
    }
    for (ColumnData cd : row.columnData()) {
      hasData = true;
      ts = Math.max(ts, cd.maxTimestamp());
      if (cd instanceof Cell) {
        ttl = minTtl(ttl, (Cell<?>) cd);
      } else {
        for (Cell<?> cell : (ComplexColumnData) cd) ttl = minTtl(ttl, cell);
      }
    }
    Row.Deletion deletion = row.deletion();
    if (!deletion.isLive()) ts = Math.max(ts, deletion.time().markedForDeleteAt());
    if (!hasData && deletion.isLive()) return;

    Kind kind = forced != null ? forced : hasData ? Kind.UPSERT : Kind.ROW_DELETE;
    Row.SimpleBuilder r = entry(kind, ts, ttl);
    if (kind == Kind.STATIC_UPSERT) {
      if (settings.keyText) r.add("key_text", text(keyText(null)));
      return;
    }
    ByteBuffer[] ck = Keys.clusteringParts(row.clustering());
    r.add("ck", Keys.frozenList(ck));
    if (settings.keyText) r.add("key_text", text(keyText(ck)));
  }

  private void rangeEntry(RangeTombstone rt) {
    ClusteringBound<?> start = rt.deletedSlice().start();
    ClusteringBound<?> end = rt.deletedSlice().end();
    ByteBuffer[] startParts = Keys.clusteringParts(start);
    ByteBuffer[] endParts = Keys.clusteringParts(end);
    Row.SimpleBuilder r = entry(Kind.RANGE_DELETE, rt.deletionTime().markedForDeleteAt(), NO_TTL);
    r.add("range_start", Keys.frozenList(startParts));
    r.add("range_start_inclusive", (start.isInclusive() ? TRUE : FALSE).duplicate());
    r.add("range_end", Keys.frozenList(endParts));
    r.add("range_end_inclusive", (end.isInclusive() ? TRUE : FALSE).duplicate());
    if (settings.keyText) {
      StringBuilder sb = new StringBuilder(keyText(null));
      Keys.appendBound(sb, table.clusteringColumns(), startParts, start.isInclusive() ? ">=" : ">");
      Keys.appendBound(sb, table.clusteringColumns(), endParts, end.isInclusive() ? "<=" : "<");
      r.add("key_text", text(sb.toString()));
    }
  }

  private Row.SimpleBuilder entry(Kind kind, long writeTime, int ttl) {
    // Each entry has its own timeuuid, from the coordinator's clock; the generator makes them
    // unique and increasing on this node.
    TimeUUID id = count++ == 0 ? firstId : TimeUUID.Generator.nextTimeUUID();
    Row.SimpleBuilder r = log.row(id.toBytes())
        .add("keyspace_name", keyspaceName.duplicate())
        .add("table_name", tableName.duplicate())
        .add("table_id", tableId.duplicate())
        .add("kind", text(kind.cql))
        .add("pk", pk.duplicate())
        .add("write_time", longBytes(writeTime))
        .add("atomic", atomic.duplicate());
    if (ttl != NO_TTL) r.add("ttl", intBytes(ttl));
    return r;
  }

  private String keyText(ByteBuffer[] ck) {
    StringBuilder sb = new StringBuilder();
    Keys.appendEquals(sb, table.partitionKeyColumns(), pkParts);
    if (ck != null) Keys.appendEquals(sb, table.clusteringColumns(), ck);
    return sb.toString();
  }

  private static int minTtl(int ttl, Cell<?> cell) {
    return cell.isExpiring() ? Math.min(ttl, cell.ttl()) : ttl;
  }

  private static ByteBuffer text(String s) {
    return ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
  }

  private static ByteBuffer longBytes(long v) {
    return ByteBuffer.allocate(8).putLong(0, v);
  }

  private static ByteBuffer intBytes(int v) {
    return ByteBuffer.allocate(4).putInt(0, v);
  }

  private static ByteBuffer uuidBytes(UUID u) {
    return ByteBuffer.allocate(16).putLong(0, u.getMostSignificantBits())
        .putLong(8, u.getLeastSignificantBits());
  }
}
