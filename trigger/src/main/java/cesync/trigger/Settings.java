package cesync.trigger;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Locale;
import java.util.Properties;

import org.apache.cassandra.db.ConsistencyLevel;

/**
 * The trigger's settings: built-in defaults from {@code cesync-trigger.properties} inside the jar,
 * overridden by a file of the same name in the node's triggers directory, overridden by JVM
 * system properties. Invalid values are errors: the trigger then fails to load and every write to
 * a tracked table fails, rather than being logged somewhere unexpected.
 */
final class Settings {
  static final String FILE = "cesync-trigger.properties";
  static final String PREFIX = "cesync.changelog.";

  final String keyspace;
  final String table;
  final long bucketMillis;
  final int shards;
  final int ttlSeconds;
  final ConsistencyLevel aheadWriteConsistency;
  final boolean keyText;

  private Settings(Properties p) {
    keyspace = text(p, "keyspace");
    table = text(p, "table");
    bucketMillis = range(p, "bucket_seconds", 1, 86_400) * 1000L;
    shards = (int) range(p, "shards", 1, 4096);
    ttlSeconds = (int) range(p, "ttl_seconds", 0, 20 * 365 * 86_400L);
    String cl = text(p, "ahead_write_consistency").toUpperCase(Locale.ROOT);
    try {
      aheadWriteConsistency = ConsistencyLevel.valueOf(cl);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(PREFIX + "ahead_write_consistency: unknown level " + cl, e);
    }
    if (aheadWriteConsistency.isSerialConsistency()) {
      throw new IllegalArgumentException(PREFIX + "ahead_write_consistency: " + cl
          + " is a serial level; use a write level such as LOCAL_QUORUM");
    }
    String kt = text(p, "key_text");
    if (!kt.equals("true") && !kt.equals("false")) {
      throw new IllegalArgumentException(PREFIX + "key_text: expected true or false, got " + kt);
    }
    keyText = kt.equals("true");
  }

  /** Loads defaults, then the triggers-directory file (if any), then system properties. */
  static Settings load() {
    Properties p = new Properties();
    try (InputStream in = Settings.class.getResourceAsStream("/" + FILE)) {
      if (in == null) throw new IllegalStateException(FILE + " is missing from the trigger jar");
      p.load(in);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read the built-in " + FILE, e);
    }
    String dir = System.getProperty("cassandra.triggers_dir");
    if (dir != null) {
      Path file = Paths.get(dir, FILE);
      if (Files.isRegularFile(file)) {
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
          p.load(in);
        } catch (IOException e) {
          throw new IllegalStateException("cannot read " + file, e);
        }
      }
    }
    for (String name : System.getProperties().stringPropertyNames()) {
      if (name.startsWith(PREFIX)) p.setProperty(name, System.getProperty(name));
    }
    return new Settings(p);
  }

  private static String text(Properties p, String key) {
    String v = p.getProperty(PREFIX + key);
    if (v == null || v.trim().isEmpty()) throw new IllegalArgumentException(PREFIX + key + " is not set");
    return v.trim();
  }

  private static long range(Properties p, String key, long min, long max) {
    String v = text(p, key);
    long n;
    try {
      n = Long.parseLong(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(PREFIX + key + ": not a whole number: " + v, e);
    }
    if (n < min || n > max) {
      throw new IllegalArgumentException(PREFIX + key + ": " + n + " is outside [" + min + ", " + max + "]");
    }
    return n;
  }

  @Override
  public String toString() {
    return "keyspace=" + keyspace + " table=" + table + " bucket_seconds=" + bucketMillis / 1000
        + " shards=" + shards + " ttl_seconds=" + ttlSeconds + " ahead_write_consistency="
        + aheadWriteConsistency + " key_text=" + keyText;
  }
}
