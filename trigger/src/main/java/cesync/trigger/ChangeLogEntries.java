package cesync.trigger;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

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
import org.apache.cassandra.schema.TableId;
import org.apache.cassandra.schema.TableMetadata;
import org.apache.cassandra.utils.FBUtilities;
import org.apache.cassandra.utils.TimeUUID;

import cesync.trigger.LogTable.Column;

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

  /** Per tracked table: the serialized names and id every entry repeats. */
  private static final class Names {
    final String keyspace;
    final String table;
    final ByteBuffer keyspaceName;
    final ByteBuffer tableName;
    final ByteBuffer tableId;

    Names(TableMetadata t) {
      keyspace = t.keyspace;
      table = t.name;
      keyspaceName = ByteBuffer.wrap(t.keyspace.getBytes(StandardCharsets.UTF_8));
      tableName = ByteBuffer.wrap(t.name.getBytes(StandardCharsets.UTF_8));
      tableId = uuidBytes(t.id.asUUID());
    }
  }

  private static final ConcurrentHashMap<TableId, Names> NAMES = new ConcurrentHashMap<>();

  private final Settings settings;
  private final TableMetadata table;
  private final LogTable log;
  private final PartitionUpdate.Builder partition;
  private final Names names;
  private final ByteBuffer[] pkParts;
  private final ByteBuffer pk;
  private final ByteBuffer atomic;
  private final TimeUUID firstId;
  private final long arrivalMicros;
  private final long nowInSec;
  private final int entryTtl;
  private int count;

  private ChangeLogEntries(Settings settings, LogTable log, PartitionUpdate update,
                           boolean atomic) {
    this.settings = settings;
    this.log = log;
    this.table = update.metadata();
    this.atomic = (atomic ? TRUE : FALSE).duplicate();
    Names n = NAMES.get(table.id);
    if (n == null || !n.table.equals(table.name) || !n.keyspace.equals(table.keyspace)) {
      n = new Names(table);
      NAMES.put(table.id, n);
    }
    names = n;
    pkParts = Keys.partitionKeyParts(table, update.partitionKey().getKey());
    pk = Keys.frozenList(pkParts);

    // The log partition: the coordinator's arrival time floored to the bucket width (never the
    // write's own timestamp, which may be far in the past), and the key's token modulo shards.
    // The arrival time is the first entry's id, so that id always falls inside its bucket.
    firstId = TimeUUID.Generator.nextTimeUUID();
    arrivalMicros = firstId.unixMicros();
    nowInSec = FBUtilities.nowInSeconds();
    // Internal writes do not get a table's default TTL applied, so apply it here when unset.
    entryTtl = settings.ttlSeconds > 0 ? settings.ttlSeconds
                                       : log.metadata.params.defaultTimeToLive;
    long bucketMicros = settings.bucketMillis * 1000L;
    long bucket = Math.floorDiv(arrivalMicros, bucketMicros) * settings.bucketMillis;
    int shard = (int) Math.floorMod(Keys.murmur3Token(table, update.partitionKey()),
                                    (long) settings.shards);
    partition = log.partition(bucket, shard, Math.max(1, update.rowCount()));
  }

  /**
   * The log mutation for {@code update}, or null when it changes nothing (an empty update).
   *
   * @param atomic whether the entries travel in the same batch as the update (false when they are
   *     written ahead of it: counters and lightweight transactions)
   */
  static Mutation build(Settings settings, TableMetadata logTable, PartitionUpdate update,
                        boolean atomic) {
    ChangeLogEntries e = new ChangeLogEntries(settings, LogTable.of(logTable), update, atomic);
    e.collect(update);
    return e.count == 0 ? null : new Mutation(e.partition.build());
  }

  private void collect(PartitionUpdate update) {
    DeletionTime partitionDeletion = update.partitionLevelDeletion();
    if (!partitionDeletion.isLive()) {
      ByteBuffer[] v = entry(Kind.PARTITION_DELETE, partitionDeletion.markedForDeleteAt(), NO_TTL);
      if (settings.keyText) v[Column.KEY_TEXT.ordinal()] = text(keyText(null));
      add(v);
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
    ByteBuffer[] v = entry(kind, ts, ttl);
    if (kind == Kind.STATIC_UPSERT) {
      if (settings.keyText) v[Column.KEY_TEXT.ordinal()] = text(keyText(null));
    } else {
      ByteBuffer[] ck = Keys.clusteringParts(row.clustering());
      v[Column.CK.ordinal()] = Keys.frozenList(ck);
      if (settings.keyText) v[Column.KEY_TEXT.ordinal()] = text(keyText(ck));
    }
    add(v);
  }

  private void rangeEntry(RangeTombstone rt) {
    ClusteringBound<?> start = rt.deletedSlice().start();
    ClusteringBound<?> end = rt.deletedSlice().end();
    ByteBuffer[] startParts = Keys.clusteringParts(start);
    ByteBuffer[] endParts = Keys.clusteringParts(end);
    ByteBuffer[] v = entry(Kind.RANGE_DELETE, rt.deletionTime().markedForDeleteAt(), NO_TTL);
    v[Column.RANGE_START.ordinal()] = Keys.frozenList(startParts);
    v[Column.RANGE_START_INCLUSIVE.ordinal()] = (start.isInclusive() ? TRUE : FALSE).duplicate();
    v[Column.RANGE_END.ordinal()] = Keys.frozenList(endParts);
    v[Column.RANGE_END_INCLUSIVE.ordinal()] = (end.isInclusive() ? TRUE : FALSE).duplicate();
    if (settings.keyText) {
      StringBuilder sb = new StringBuilder(keyText(null));
      Keys.appendBound(sb, table.clusteringColumns(), startParts, start.isInclusive() ? ">=" : ">");
      Keys.appendBound(sb, table.clusteringColumns(), endParts, end.isInclusive() ? "<=" : "<");
      v[Column.KEY_TEXT.ordinal()] = text(sb.toString());
    }
    add(v);
  }

  /** The values every entry has; the caller fills in the kind-specific ones. */
  private ByteBuffer[] entry(Kind kind, long writeTime, int ttl) {
    ByteBuffer[] v = new ByteBuffer[LogTable.COLUMN_COUNT];
    v[Column.KEYSPACE_NAME.ordinal()] = names.keyspaceName.duplicate();
    v[Column.TABLE_NAME.ordinal()] = names.tableName.duplicate();
    v[Column.TABLE_ID.ordinal()] = names.tableId.duplicate();
    v[Column.KIND.ordinal()] = kind.bytes.duplicate();
    v[Column.PK.ordinal()] = pk.duplicate();
    v[Column.WRITE_TIME.ordinal()] = LogTable.longBytes(writeTime);
    v[Column.ATOMIC.ordinal()] = atomic.duplicate();
    if (ttl != NO_TTL) v[Column.TTL.ordinal()] = LogTable.intBytes(ttl);
    return v;
  }

  private void add(ByteBuffer[] values) {
    // Each entry has its own timeuuid, from the coordinator's clock; the generator makes them
    // unique and increasing on this node.
    TimeUUID id = count++ == 0 ? firstId : TimeUUID.Generator.nextTimeUUID();
    partition.add(log.row(id.toBytes(), values, arrivalMicros, entryTtl, nowInSec));
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

  private static ByteBuffer uuidBytes(UUID u) {
    return ByteBuffer.allocate(16).putLong(0, u.getMostSignificantBits())
        .putLong(8, u.getLeastSignificantBits());
  }
}
