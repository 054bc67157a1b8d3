package cesync.trigger;

import java.util.Collection;
import java.util.Collections;

import org.apache.cassandra.db.Mutation;
import org.apache.cassandra.db.partitions.Partition;
import org.apache.cassandra.db.partitions.PartitionUpdate;
import org.apache.cassandra.exceptions.InvalidRequestException;
import org.apache.cassandra.schema.Schema;
import org.apache.cassandra.schema.TableMetadata;
import org.apache.cassandra.service.StorageProxy;
import org.apache.cassandra.transport.Dispatcher;
import org.apache.cassandra.triggers.ITrigger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cesync change-log trigger. Attach it to a table to track it:
 *
 * <pre>CREATE TRIGGER cesync ON ks.t USING 'cesync.trigger.ChangeLogTrigger';</pre>
 *
 * <p>For every partition update of a tracked table it writes key-only entries into the change-log
 * table. Normally the entries are returned to Cassandra, which applies them in the same logged
 * batch as the write. Counter writes and lightweight transactions cannot carry mutations for
 * another table, so for those the entries are written, synchronously, ahead of the change and
 * marked {@code atomic = false}. If the entries cannot be built or written, this throws and the
 * write fails: a change is never applied without its entry.
 */
public final class ChangeLogTrigger implements ITrigger {
  private static final Logger logger = LoggerFactory.getLogger(ChangeLogTrigger.class);
  // TriggerExecutor.execute is the 4th frame from the top; a small first batch keeps the walk cheap.
  private static final StackWalker WALKER = StackWalker.getInstance(Collections.emptySet(), 6);
  private static final String EXECUTOR = "org.apache.cassandra.triggers.TriggerExecutor";
  private static final String SINGLE_PARTITION_EXECUTE =
      "(Lorg/apache/cassandra/db/partitions/PartitionUpdate;)";

  private final Settings settings;

  /** Reads the settings; a bad setting fails the load, and with it every tracked write. */
  public ChangeLogTrigger() {
    settings = Settings.load();
    logger.info("cesync change-log trigger loaded: {}", settings);
  }

  @Override
  public Collection<Mutation> augment(Partition partition) {
    PartitionUpdate update = (PartitionUpdate) partition;
    TableMetadata table = update.metadata();
    if (table.keyspace.equals(settings.keyspace)) return Collections.emptyList();

    TableMetadata logTable = Schema.instance.getTableMetadata(settings.keyspace, settings.table);
    if (logTable == null) {
      throw new InvalidRequestException(String.format(
          "cesync: change-log table %s.%s does not exist, so this write to the tracked table %s.%s"
              + " cannot be logged and is refused (create the log table, or drop the trigger)",
          settings.keyspace, settings.table, table.keyspace, table.name));
    }

    boolean ahead = table.isCounter() || isLightweightTransaction();
    Mutation entries = ChangeLogEntries.build(settings, logTable, update, !ahead);
    if (entries == null) return Collections.emptyList();
    if (!ahead) return Collections.singletonList(entries);

    // Written before the change is applied, at a write consistency; any failure propagates and
    // fails the client's write.
    StorageProxy.mutate(Collections.singletonList(entries), settings.aheadWriteConsistency,
                        Dispatcher.RequestTime.forImmediateExecution());
    return Collections.emptyList();
  }

  /**
   * Whether Cassandra asked for this augmentation through its single-partition entry point, which
   * it uses for lightweight transactions (Paxos) only, and which rejects mutations for any other
   * table or partition.
   */
  private static boolean isLightweightTransaction() {
    return WALKER.walk(frames -> frames.limit(8)
        .filter(f -> f.getClassName().equals(EXECUTOR) && f.getMethodName().equals("execute"))
        .findFirst()
        .map(f -> f.getDescriptor().startsWith(SINGLE_PARTITION_EXECUTE))
        .orElse(false));
  }
}
