"""Histories Cassandra allows that once left the index different from the table for good: several
TTLs on one row, TTL rows copied by the snapshot, and writers whose clocks differ, so that a
partition-wide re-read must not give a row the version of another row's change (docs/ARCHITECTURE.md,
"Versions"). Each test writes the history with the official driver, then polls until the index
equals the table, ids and sources exactly (cesync_daemon.expected_documents is the oracle).

No fixed sleeps: every wait polls with a deadline."""
import time

from cassandra.query import BatchStatement, SimpleStatement

from cesync_daemon import wait_index_equals_table, wait_until

SYNC_TIMEOUT = 60


def now_micros():
    return int(time.time() * 1_000_000)


def row_of(session, query):
    return session.execute(query).one()


def wait_row(session, query, want, what, timeout=60):
    """Polls Cassandra until `want(row)` holds (row is None when gone)."""
    wait_until(lambda: "" if want(row_of(session, query)) else f"not yet: {row_of(session, query)}",
               timeout, what)


def wait_field(search, index, doc_id, field, value, what, daemon):
    """Polls until document `doc_id` has `field` equal to `value`."""
    wait_until(lambda: "" if (search.get(index, doc_id) or {}).get("_source", {}).get(field) == value
               else f"document {doc_id} without {field} = {value!r} yet", SYNC_TIMEOUT, what,
               check=daemon.assert_running)


def one_table_daemon(session, cesync, ks, ddl):
    """Creates {ks}.t from `ddl` and starts a daemon on it: (daemon, index)."""
    session.execute(ddl.format(ks=ks))
    daemon = cesync([f"{ks}.t"])
    daemon.setup()
    daemon.start()
    return daemon, f"{ks}_t"


def test_every_ttl_of_a_row_reaches_the_index(cassandra_session, search, keyspace, cesync):
    """A batch sets two TTLs on one row (and two writes in one poll do the same on another row):
    when the short one runs out the document loses that cell, when the long one does the document
    goes. Only the earliest expiry of a key used to be followed."""
    s = cassandra_session
    ks = keyspace("ttls")
    daemon, index = one_table_daemon(s, cesync, ks, "CREATE TABLE {ks}.t (k int PRIMARY KEY, a int, b text)")
    wait_index_equals_table(s, search, ks, "t", index, SYNC_TIMEOUT, daemon)

    batch = BatchStatement()
    batch.add(SimpleStatement(f"INSERT INTO {ks}.t (k, a) VALUES (1, 1) USING TTL 9"))
    batch.add(SimpleStatement(f"UPDATE {ks}.t USING TTL 3 SET b = 'x' WHERE k = 1"))
    s.execute(batch)
    s.execute(f"INSERT INTO {ks}.t (k, a) VALUES (2, 2) USING TTL 9")
    s.execute(f"UPDATE {ks}.t USING TTL 3 SET b = 'y' WHERE k = 2")
    s.execute(f"INSERT INTO {ks}.t (k, a, b) VALUES (3, 3, 'kept')")
    wait_field(search, index, "1", "b", "x", "the batch", daemon)

    wait_row(s, f"SELECT b FROM {ks}.t WHERE k = 1", lambda r: r is not None and r.b is None,
             "cell b of row 1 to expire")
    wait_index_equals_table(s, search, ks, "t", index, 20, daemon)  # b gone, a kept
    wait_row(s, f"SELECT k FROM {ks}.t WHERE k = 1", lambda r: r is None, "row 1 to expire")
    wait_row(s, f"SELECT k FROM {ks}.t WHERE k = 2", lambda r: r is None, "row 2 to expire")
    wait_index_equals_table(s, search, ks, "t", index, 20, daemon)  # rows 1 and 2 gone
    assert search.get(index, "1") is None and search.get(index, "3") is not None
    daemon.stop()


def test_ttl_rows_copied_by_the_snapshot_expire(cassandra_session, search, keyspace, cesync):
    """Rows and cells with a TTL that exist before the first run have no change-log entry; the
    snapshot that copies them must also follow their expiry."""
    s = cassandra_session
    ks = keyspace("snapttl")
    s.execute(f"CREATE TABLE {ks}.t (k int PRIMARY KEY, a int, b text, tags set<text>)")
    s.execute(f"CREATE TABLE {ks}.c (p int, c int, v text, PRIMARY KEY (p, c))")
    for k in range(5):
        s.execute(f"INSERT INTO {ks}.t (k, a, b) VALUES ({k}, {k}, 'row') USING TTL 6")
    s.execute(f"INSERT INTO {ks}.t (k, a) VALUES (10, 10)")
    s.execute(f"UPDATE {ks}.t USING TTL 4 SET b = 'cell' WHERE k = 10")
    s.execute(f"UPDATE {ks}.t USING TTL 4 SET tags = tags + {{'short'}} WHERE k = 10")
    s.execute(f"UPDATE {ks}.t SET tags = tags + {{'long'}} WHERE k = 10")
    for c in range(3):
        s.execute(f"INSERT INTO {ks}.c (p, c, v) VALUES (1, {c}, 'x') USING TTL {4 + c}")
    s.execute(f"INSERT INTO {ks}.c (p, c, v) VALUES (1, 9, 'kept')")
    daemon = cesync([f"{ks}.t", f"{ks}.c"])
    daemon.setup()
    daemon.start()
    wait_until(lambda: "" if search.get(f"{ks}_t", "0") else "row 0 not copied yet", SYNC_TIMEOUT,
               "the snapshot", check=daemon.assert_running)
    wait_row(s, f"SELECT k FROM {ks}.t WHERE k = 4", lambda r: r is None, "the rows to expire")
    wait_row(s, f"SELECT p FROM {ks}.c WHERE p = 1 AND c = 2", lambda r: r is None,
             "the clustered rows to expire")
    wait_index_equals_table(s, search, ks, "t", f"{ks}_t", 20, daemon)
    wait_index_equals_table(s, search, ks, "c", f"{ks}_c", 20, daemon)
    assert s.execute(f"SELECT tags FROM {ks}.t WHERE k = 10").one().tags == {"long"}
    daemon.stop()


def test_a_partition_read_keeps_each_rows_own_version(cassandra_session, search, keyspace, cesync):
    """Two application servers with clocks a few seconds apart: row (1,1) written at T1, a range
    delete of other rows of its partition at T5, then an update of (1,1) at T3 < T5. Cassandra
    holds the update; the index used to refuse it, having given (1,1) the range delete's T5.
    The same with static columns (every change re-reads the partition), where a row delete of
    (1,2) at T5 is the other row's change."""
    s = cassandra_session
    ks = keyspace("versions")
    s.execute(f"CREATE TABLE {ks}.t (p int, c int, v text, PRIMARY KEY (p, c))")
    s.execute(f"CREATE TABLE {ks}.st (p int, c int, v text, s text static, PRIMARY KEY (p, c))")
    s.execute(f"CREATE TABLE {ks}.marker (k int PRIMARY KEY, n int)")
    daemon = cesync([f"{ks}.t", f"{ks}.st", f"{ks}.marker"])
    daemon.setup()
    daemon.start()
    wait_index_equals_table(s, search, ks, "t", f"{ks}_t", SYNC_TIMEOUT, daemon)

    t0 = now_micros()
    t1, t3, t5 = t0 - 10_000_000, t0 - 6_000_000, t0 - 2_000_000
    s.execute(f"INSERT INTO {ks}.t (p, c, v) VALUES (1, 1, 'a') USING TIMESTAMP {t1}")
    s.execute(f"INSERT INTO {ks}.t (p, c, v) VALUES (1, 20, 'z') USING TIMESTAMP {t1}")
    s.execute(f"INSERT INTO {ks}.st (p, c, v, s) VALUES (1, 1, 'a', 'st') USING TIMESTAMP {t1}")
    s.execute(f"INSERT INTO {ks}.st (p, c, v) VALUES (1, 2, 'b') USING TIMESTAMP {t1}")
    wait_index_equals_table(s, search, ks, "t", f"{ks}_t", SYNC_TIMEOUT, daemon)
    wait_index_equals_table(s, search, ks, "st", f"{ks}_st", SYNC_TIMEOUT, daemon)

    s.execute(f"DELETE FROM {ks}.t USING TIMESTAMP {t5} WHERE p = 1 AND c > 10")
    s.execute(f"DELETE FROM {ks}.st USING TIMESTAMP {t5} WHERE p = 1 AND c = 2")
    # Written after the deletes and read with them or later: once it is indexed, so are they.
    s.execute(f"INSERT INTO {ks}.marker (k, n) VALUES (1, 1)")
    wait_until(lambda: "" if search.get(f"{ks}_marker", "1") else "marker not indexed yet",
               SYNC_TIMEOUT, "the deletes", check=daemon.assert_running)
    wait_index_equals_table(s, search, ks, "t", f"{ks}_t", SYNC_TIMEOUT, daemon)
    wait_index_equals_table(s, search, ks, "st", f"{ks}_st", SYNC_TIMEOUT, daemon)

    s.execute(f"UPDATE {ks}.t USING TIMESTAMP {t3} SET v = 'late' WHERE p = 1 AND c = 1")
    s.execute(f"UPDATE {ks}.st USING TIMESTAMP {t3} SET v = 'late' WHERE p = 1 AND c = 1")
    assert row_of(s, f"SELECT v FROM {ks}.t WHERE p = 1 AND c = 1").v == "late"
    wait_index_equals_table(s, search, ks, "t", f"{ks}_t", SYNC_TIMEOUT, daemon)
    wait_index_equals_table(s, search, ks, "st", f"{ks}_st", SYNC_TIMEOUT, daemon)
    daemon.stop()


def test_an_expiry_read_keeps_the_rows_own_version(cassandra_session, search, keyspace, cesync):
    """A cell's TTL runs out and the row is read again; a writer whose clock is a second behind
    then updates another cell, at a time after the row's own write but before the expiry. The
    expiry's re-read used to version the document at its due time, refusing that update."""
    s = cassandra_session
    ks = keyspace("expiryversion")
    daemon, index = one_table_daemon(s, cesync, ks, "CREATE TABLE {ks}.t (k int PRIMARY KEY, v text, w text)")
    t0 = now_micros()
    s.execute(f"INSERT INTO {ks}.t (k, v) VALUES (1, 'a') USING TIMESTAMP {t0}")
    s.execute(f"UPDATE {ks}.t USING TIMESTAMP {t0} AND TTL 2 SET w = 'x' WHERE k = 1")
    wait_field(search, index, "1", "w", "x", "the writes", daemon)
    wait_row(s, f"SELECT w FROM {ks}.t WHERE k = 1", lambda r: r is not None and r.w is None,
             "cell w to expire")
    wait_index_equals_table(s, search, ks, "t", index, 20, daemon)  # the expiry read: w gone
    s.execute(f"UPDATE {ks}.t USING TIMESTAMP {t0 + 1_000_000} SET v = 'behind' WHERE k = 1")
    assert row_of(s, f"SELECT v FROM {ks}.t WHERE k = 1").v == "behind"
    wait_index_equals_table(s, search, ks, "t", index, SYNC_TIMEOUT, daemon)
    daemon.stop()
