package cesync.trigger;

import java.nio.ByteBuffer;
import java.util.List;

import org.apache.cassandra.db.ClusteringPrefix;
import org.apache.cassandra.db.DecoratedKey;
import org.apache.cassandra.db.marshal.CompositeType;
import org.apache.cassandra.dht.Murmur3Partitioner;
import org.apache.cassandra.schema.ColumnMetadata;
import org.apache.cassandra.schema.TableMetadata;

/** Encodes primary keys the way the daemon binds them back: one serialized CQL value per column. */
final class Keys {
  private Keys() {}

  /** The partition key's column values, each in its column type's CQL serialization. */
  static ByteBuffer[] partitionKeyParts(TableMetadata table, ByteBuffer key) {
    if (table.partitionKeyColumns().size() == 1) return new ByteBuffer[] {key.duplicate()};
    return ((CompositeType) table.partitionKeyType).split(key.duplicate());
  }

  /** The clustering (or bound) prefix's values, each in its column type's CQL serialization. */
  static ByteBuffer[] clusteringParts(ClusteringPrefix<?> prefix) {
    ByteBuffer[] parts = new ByteBuffer[prefix.size()];
    for (int i = 0; i < parts.length; i++) {
      ByteBuffer b = prefix.bufferAt(i);
      if (b == null) throw new IllegalStateException("clustering value " + i + " is null");
      parts[i] = b.duplicate();
    }
    return parts;
  }

  /**
   * Serializes {@code parts} as a CQL {@code frozen<list<blob>>}: a big-endian int32 count, then
   * each element as an int32 length and its bytes.
   */
  static ByteBuffer frozenList(ByteBuffer[] parts) {
    int size = 4;
    for (ByteBuffer p : parts) size += 4 + p.remaining();
    ByteBuffer out = ByteBuffer.allocate(size);
    out.putInt(parts.length);
    for (ByteBuffer p : parts) {
      out.putInt(p.remaining());
      out.put(p.duplicate());
    }
    out.flip();
    return out;
  }

  /**
   * The Murmur3 token of the serialized partition key (the single column's value, or the
   * composite encoding of all of them), as Cassandra's Murmur3Partitioner computes it, whatever
   * the cluster's partitioner is.
   */
  static long murmur3Token(TableMetadata table, DecoratedKey key) {
    if (table.partitioner instanceof Murmur3Partitioner) {
      return ((Murmur3Partitioner.LongToken) key.getToken()).token;
    }
    return Murmur3Partitioner.instance.getToken(key.getKey()).token;
  }

  /** {@code a = 1 AND b = 'x'}: equality on each named column, in CQL literal syntax. */
  static void appendEquals(StringBuilder sb, List<ColumnMetadata> columns, ByteBuffer[] parts) {
    for (int i = 0; i < parts.length; i++) {
      if (sb.length() > 0) sb.append(" AND ");
      ColumnMetadata c = columns.get(i);
      sb.append(c.name.toCQLString()).append(" = ").append(c.type.toCQLString(parts[i].duplicate()));
    }
  }

  /** {@code (a, b) >= (1, 'x')}: a multi-column slice restriction; nothing for an empty bound. */
  static void appendBound(StringBuilder sb, List<ColumnMetadata> columns, ByteBuffer[] parts,
                          String op) {
    if (parts.length == 0) return;
    if (sb.length() > 0) sb.append(" AND ");
    sb.append('(');
    for (int i = 0; i < parts.length; i++) {
      if (i > 0) sb.append(", ");
      sb.append(columns.get(i).name.toCQLString());
    }
    sb.append(") ").append(op).append(" (");
    for (int i = 0; i < parts.length; i++) {
      if (i > 0) sb.append(", ");
      sb.append(columns.get(i).type.toCQLString(parts[i].duplicate()));
    }
    sb.append(')');
  }
}
