"""One test per kind of write: the exact change-log entries the trigger produces for it."""
import time

from cassandra.query import BatchStatement, BatchType, SimpleStatement

from changelog_support import entry, expected_shard, now_micros, uuid_millis, wait_for

TS = 1_700_000_000_000_000  # explicit write timestamps (µs) make write_time exact


def i32(n):
    return n.to_bytes(4, "big", signed=True)


def i64(n):
    return n.to_bytes(8, "big", signed=True)


def txt(s):
    return s.encode("utf-8")


KV = "p int, c int, v text, w int, PRIMARY KEY ((p), c)"


def test_insert(make_table):
    t = make_table(KV)
    t.execute(f"INSERT INTO {{t}} (p, c, v) VALUES (1, 2, 'x') USING TIMESTAMP {TS}")
    assert t.wait_entries(1) == [entry("upsert", [i32(1)], [i32(2)], ts=TS)]


def test_insert_entry_location_and_metadata(make_table, session):
    t = make_table(KV)
    before = time.time() * 1000
    t.execute(f"INSERT INTO {{t}} (p, c, v) VALUES (7, 2, 'x') USING TIMESTAMP {TS}")
    after = time.time() * 1000
    (row,) = wait_for(lambda: t.entries(), "one entry")
    table_id = session.execute(
        "SELECT id FROM system_schema.tables WHERE keyspace_name = %s AND table_name = %s",
        (t.keyspace, t.name)).one().id
    assert row.table_id == table_id
    assert row.shard == expected_shard([i32(7)])
    # The id's time and the bucket are the coordinator's arrival time, not the write timestamp.
    assert before - 5 <= uuid_millis(row.id) <= after + 5
    bucket_ms = int(row.bucket.timestamp() * 1000)
    assert bucket_ms % 60_000 == 0 and bucket_ms <= uuid_millis(row.id) < bucket_ms + 60_000
    assert row.key_text == "p = 7 AND c = 2"
    # The log row itself expires with the configured TTL.
    ttl = session.execute(
        "SELECT TTL(kind) FROM cesync.changelog WHERE bucket = %s AND shard = %s AND id = %s",
        (row.bucket, row.shard, row.id)).one()[0]
    assert 604_000 < ttl <= 604_800


def test_update_some_columns(make_table):
    t = make_table(KV)
    t.execute(f"UPDATE {{t}} USING TIMESTAMP {TS} SET w = 5 WHERE p = 1 AND c = 2")
    t.execute(f"UPDATE {{t}} USING TIMESTAMP {TS + 1} SET v = 'y', w = 6 WHERE p = 1 AND c = 3")
    assert t.wait_entries(2) == [
        entry("upsert", [i32(1)], [i32(2)], ts=TS),
        entry("upsert", [i32(1)], [i32(3)], ts=TS + 1),
    ]


def test_update_many_rows_with_in_gives_one_entry_per_row(make_table):
    t = make_table(KV)
    t.execute(f"UPDATE {{t}} USING TIMESTAMP {TS} SET w = 1 WHERE p = 4 AND c IN (3, 1, 2)")
    assert t.wait_entries(3) == [entry("upsert", [i32(4)], [i32(c)], ts=TS) for c in (1, 2, 3)]


def test_set_null_and_column_delete(make_table):
    t = make_table(KV)
    t.execute(f"UPDATE {{t}} USING TIMESTAMP {TS} SET v = null WHERE p = 1 AND c = 1")
    t.execute(f"DELETE w FROM {{t}} USING TIMESTAMP {TS + 1} WHERE p = 1 AND c = 2")
    t.execute(f"INSERT INTO {{t}} (p, c, v) VALUES (1, 3, null) USING TIMESTAMP {TS + 2}")
    assert t.wait_entries(3) == [
        entry("upsert", [i32(1)], [i32(1)], ts=TS),
        entry("upsert", [i32(1)], [i32(2)], ts=TS + 1),
        entry("upsert", [i32(1)], [i32(3)], ts=TS + 2),
    ]


def test_empty_strings_and_blobs(make_table):
    t = make_table("p text, c text, b blob, v text, PRIMARY KEY ((p), c)")
    t.execute(f"INSERT INTO {{t}} (p, c, b, v) VALUES ('k', '', 0x, '') USING TIMESTAMP {TS}")
    t.execute(f"UPDATE {{t}} USING TIMESTAMP {TS + 1} SET b = 0x, v = '' WHERE p = 'k' AND c = 'x'")
    assert t.wait_entries(2) == [
        entry("upsert", [b"k"], [b""], ts=TS),
        entry("upsert", [b"k"], [b"x"], ts=TS + 1),
    ]


def test_collections(make_table, session, keyspace):
    session.execute(f"CREATE TYPE IF NOT EXISTS {keyspace}.point (x int, y int)")
    t = make_table("p int, c int, s set<text>, l list<int>, m map<text, int>, "
                   "f frozen<list<int>>, u point, PRIMARY KEY ((p), c)")
    statements = [
        "UPDATE {t} USING TIMESTAMP %d SET s = s + {'a', 'b'} WHERE p = 1 AND c = 1",  # add
        "UPDATE {t} USING TIMESTAMP %d SET s = s - {'a'} WHERE p = 1 AND c = 1",  # remove
        "UPDATE {t} USING TIMESTAMP %d SET l = [1, 2] WHERE p = 1 AND c = 1",  # overwrite
        "UPDATE {t} USING TIMESTAMP %d SET l = l + [3] WHERE p = 1 AND c = 1",  # append
        "UPDATE {t} USING TIMESTAMP %d SET m['k'] = 1 WHERE p = 1 AND c = 1",  # put
        "DELETE m['k'] FROM {t} USING TIMESTAMP %d WHERE p = 1 AND c = 1",  # element delete
        "UPDATE {t} USING TIMESTAMP %d SET m = {} WHERE p = 1 AND c = 1",  # clear
        "UPDATE {t} USING TIMESTAMP %d SET f = [9] WHERE p = 1 AND c = 1",  # frozen
        "UPDATE {t} USING TIMESTAMP %d SET u.x = 3 WHERE p = 1 AND c = 1",  # UDT field
        "UPDATE {t} USING TIMESTAMP %d SET u = null WHERE p = 1 AND c = 1",  # UDT delete
    ]
    for i, cql in enumerate(statements):
        t.execute(cql % (TS + i))
    # Cassandra records an overwrite of a non-frozen collection or UDT as a tombstone at
    # timestamp - 1 plus the new cells at timestamp; clearing (SET m = {}) or nulling (SET u = null)
    # leaves only the tombstone, so write_time is one less for those two.
    expected_ts = [TS + i for i in range(len(statements))]
    expected_ts[6] -= 1
    expected_ts[9] -= 1
    assert t.wait_entries(len(statements)) == [
        entry("upsert", [i32(1)], [i32(1)], ts=ts) for ts in expected_ts]


def test_counters_are_logged_ahead_of_the_write(make_table):
    t = make_table("p int, c int, n counter, PRIMARY KEY ((p), c)")
    before = now_micros()
    t.execute("UPDATE {t} SET n = n + 5 WHERE p = 1 AND c = 1")
    t.execute("UPDATE {t} SET n = n - 2 WHERE p = 1 AND c = 1")
    after = now_micros()
    got = t.wait_entries(2)
    assert [(e["kind"], e["pk"], e["ck"], e["ttl"], e["atomic"]) for e in got] == \
        [("upsert", [i32(1)], [i32(1)], None, False)] * 2
    assert all(before <= e["write_time"] <= after for e in got)
    assert t.execute("SELECT n FROM {t} WHERE p = 1 AND c = 1").one().n == 3


def test_counter_batch(make_table):
    t = make_table("p int, c int, n counter, PRIMARY KEY ((p), c)")
    t.execute("BEGIN COUNTER BATCH "
              "UPDATE {t} SET n = n + 1 WHERE p = 1 AND c = 1; "
              "UPDATE {t} SET n = n + 1 WHERE p = 2 AND c = 1; "
              "APPLY BATCH")
    got = t.wait_entries(2)
    assert sorted((e["pk"], e["atomic"]) for e in got) == [([i32(1)], False), ([i32(2)], False)]


def test_static_columns(make_table):
    t = make_table("p int, c int, s text static, v text, PRIMARY KEY ((p), c)")
    t.execute(f"UPDATE {{t}} USING TIMESTAMP {TS} SET s = 'a' WHERE p = 1")
    t.execute(f"INSERT INTO {{t}} (p, c, s, v) VALUES (1, 2, 'b', 'x') USING TIMESTAMP {TS + 1}")
    t.execute(f"DELETE s FROM {{t}} USING TIMESTAMP {TS + 2} WHERE p = 1")
    assert t.wait_entries(4) == [
        entry("static_upsert", [i32(1)], ts=TS),
        entry("static_upsert", [i32(1)], ts=TS + 1),
        entry("upsert", [i32(1)], [i32(2)], ts=TS + 1),
        entry("static_upsert", [i32(1)], ts=TS + 2),
    ]


def test_row_delete(make_table):
    t = make_table(KV)
    t.execute(f"DELETE FROM {{t}} USING TIMESTAMP {TS} WHERE p = 1 AND c = 2")
    t.execute(f"DELETE FROM {{t}} USING TIMESTAMP {TS + 1} WHERE p = 1 AND c IN (3, 4)")
    assert t.wait_entries(3) == [
        entry("row_delete", [i32(1)], [i32(2)], ts=TS),
        entry("row_delete", [i32(1)], [i32(3)], ts=TS + 1),
        entry("row_delete", [i32(1)], [i32(4)], ts=TS + 1),
    ]


def test_partition_delete(make_table):
    t = make_table(KV)
    t.execute(f"DELETE FROM {{t}} USING TIMESTAMP {TS} WHERE p = 1")
    t.execute(f"DELETE FROM {{t}} USING TIMESTAMP {TS + 1} WHERE p IN (2, 3)")
    got = t.wait_entries(3)
    assert got[0] == entry("partition_delete", [i32(1)], ts=TS)
    assert sorted(got[1:], key=lambda e: e["pk"]) == [
        entry("partition_delete", [i32(2)], ts=TS + 1),
        entry("partition_delete", [i32(3)], ts=TS + 1),
    ]


def test_delete_in_table_without_clustering_is_a_partition_delete(make_table):
    t = make_table("p int PRIMARY KEY, v text")
    t.execute(f"INSERT INTO {{t}} (p, v) VALUES (1, 'x') USING TIMESTAMP {TS}")
    t.execute(f"DELETE FROM {{t}} USING TIMESTAMP {TS + 1} WHERE p = 1")
    assert t.wait_entries(2) == [
        entry("upsert", [i32(1)], [], ts=TS),
        entry("partition_delete", [i32(1)], ts=TS + 1),
    ]


def test_range_delete(make_table):
    t = make_table("p int, a int, b text, v int, PRIMARY KEY ((p), a, b)")
    t.execute(f"DELETE FROM {{t}} USING TIMESTAMP {TS} WHERE p = 1 AND a > 5")
    t.execute(f"DELETE FROM {{t}} USING TIMESTAMP {TS + 1} WHERE p = 1 AND a >= 2 AND a < 4")
    t.execute(f"DELETE FROM {{t}} USING TIMESTAMP {TS + 2} WHERE p = 1 AND a = 3")
    t.execute(f"DELETE FROM {{t}} USING TIMESTAMP {TS + 3} WHERE p = 1 AND a = 3 AND b <= 'm'")
    got = t.wait_entries(4)
    assert got == [
        entry("range_delete", [i32(1)], ts=TS, start=[i32(5)], start_incl=False, end=[],
              end_incl=True),
        entry("range_delete", [i32(1)], ts=TS + 1, start=[i32(2)], start_incl=True,
              end=[i32(4)], end_incl=False),
        entry("range_delete", [i32(1)], ts=TS + 2, start=[i32(3)], start_incl=True,
              end=[i32(3)], end_incl=True),
        entry("range_delete", [i32(1)], ts=TS + 3, start=[i32(3)], start_incl=True,
              end=[i32(3), txt("m")], end_incl=True),
    ]
    texts = [r.key_text for r in t.entries()]
    assert texts == ["p = 1 AND (a) > (5)",
                     "p = 1 AND (a) >= (2) AND (a) < (4)",
                     "p = 1 AND (a) >= (3) AND (a) <= (3)",
                     "p = 1 AND (a) >= (3) AND (a, b) <= (3, 'm')"]


def test_logged_batch_over_tables_and_partitions(make_table):
    t = make_table(KV)
    other = make_table(KV, tracked=False)
    t.execute(f"BEGIN BATCH USING TIMESTAMP {TS} "
              f"INSERT INTO {t.fq} (p, c, v) VALUES (1, 1, 'a'); "
              f"INSERT INTO {t.fq} (p, c, v) VALUES (1, 2, 'b'); "
              f"DELETE FROM {t.fq} WHERE p = 2 AND c = 1; "
              f"INSERT INTO {other.fq} (p, c, v) VALUES (1, 1, 'a'); "
              "APPLY BATCH")
    got = t.wait_entries(3)
    assert sorted(got, key=lambda e: (e["pk"], e["ck"])) == [
        entry("upsert", [i32(1)], [i32(1)], ts=TS),
        entry("upsert", [i32(1)], [i32(2)], ts=TS),
        entry("row_delete", [i32(2)], [i32(1)], ts=TS),
    ]
    assert other.entries() == []


def test_unlogged_batch(make_table, session):
    t = make_table(KV)
    batch = BatchStatement(batch_type=BatchType.UNLOGGED)
    batch.add(SimpleStatement(f"INSERT INTO {t.fq} (p, c, v) VALUES (1, 1, 'a') USING TIMESTAMP {TS}"))
    batch.add(SimpleStatement(f"UPDATE {t.fq} USING TIMESTAMP {TS + 1} SET v = 'b' WHERE p = 2 AND c = 2"))
    session.execute(batch)
    got = t.wait_entries(2)
    assert sorted(got, key=lambda e: e["pk"]) == [
        entry("upsert", [i32(1)], [i32(1)], ts=TS),
        entry("upsert", [i32(2)], [i32(2)], ts=TS + 1),
    ]


def test_lightweight_transactions_are_logged_ahead(make_table):
    t = make_table(KV)
    before = now_micros()
    assert t.execute("INSERT INTO {t} (p, c, v) VALUES (1, 1, 'a') IF NOT EXISTS").one().applied
    assert not t.execute("INSERT INTO {t} (p, c, v) VALUES (1, 1, 'z') IF NOT EXISTS").one().applied
    assert not t.execute("UPDATE {t} SET v = 'z' WHERE p = 1 AND c = 1 IF v = 'nope'").one().applied
    assert t.execute("UPDATE {t} SET v = 'b' WHERE p = 1 AND c = 1 IF v = 'a'").one().applied
    assert t.execute("DELETE FROM {t} WHERE p = 1 AND c = 1 IF EXISTS").one().applied
    after = now_micros()
    got = t.wait_entries(3)
    # Conditions that did not apply wrote nothing and logged nothing.
    assert [(e["kind"], e["pk"], e["ck"], e["atomic"]) for e in got] == [
        ("upsert", [i32(1)], [i32(1)], False),
        ("upsert", [i32(1)], [i32(1)], False),
        ("row_delete", [i32(1)], [i32(1)], False),
    ]
    assert all(before <= e["write_time"] <= after for e in got)
    assert t.execute("SELECT * FROM {t} WHERE p = 1 AND c = 1").one() is None


def test_conditional_batch(make_table):
    t = make_table(KV)
    res = t.execute("BEGIN BATCH "
                    "INSERT INTO {t} (p, c, v) VALUES (1, 1, 'a') IF NOT EXISTS; "
                    "INSERT INTO {t} (p, c, v) VALUES (1, 2, 'b'); "
                    "APPLY BATCH").one()
    assert res.applied
    got = t.wait_entries(2)
    assert [(e["kind"], e["ck"], e["atomic"]) for e in got] == [
        ("upsert", [i32(1)], False), ("upsert", [i32(2)], False)]


def test_ttl(make_table):
    t = make_table(KV)
    t.execute(f"INSERT INTO {{t}} (p, c, v) VALUES (1, 1, 'a') USING TTL 3600 AND TIMESTAMP {TS}")
    t.execute(f"UPDATE {{t}} USING TTL 120 AND TIMESTAMP {TS + 1} SET w = 1 WHERE p = 1 AND c = 2")
    t.execute(f"INSERT INTO {{t}} (p, c, v) VALUES (1, 3, 'a') USING TIMESTAMP {TS + 2}")
    assert t.wait_entries(3) == [
        entry("upsert", [i32(1)], [i32(1)], ts=TS, ttl=3600),
        entry("upsert", [i32(1)], [i32(2)], ts=TS + 1, ttl=120),
        entry("upsert", [i32(1)], [i32(3)], ts=TS + 2),
    ]


def test_timestamp_in_the_past_lands_in_the_current_bucket(make_table):
    t = make_table(KV)
    past = 978_307_200_000_000  # 2001-01-01
    t.execute(f"INSERT INTO {{t}} (p, c, v) VALUES (1, 1, 'old') USING TIMESTAMP {past}")
    (row,) = wait_for(lambda: t.entries(), "one entry")
    assert row.write_time == past
    now_ms = time.time() * 1000
    bucket_ms = row.bucket.timestamp() * 1000
    assert now_ms - 120_000 <= bucket_ms <= now_ms


def test_untracked_table_gets_no_entries(make_table):
    untracked = make_table(KV, tracked=False)
    marker = make_table(KV)
    untracked.execute(f"INSERT INTO {{t}} (p, c, v) VALUES (1, 1, 'a') USING TIMESTAMP {TS}")
    untracked.execute("DELETE FROM {t} WHERE p = 1")
    # The marker write comes later; once its entry is readable, the earlier ones would be too.
    marker.execute(f"INSERT INTO {{t}} (p, c, v) VALUES (1, 1, 'a') USING TIMESTAMP {TS}")
    marker.wait_entries(1)
    assert untracked.entries() == []


def test_dropped_trigger_stops_logging(make_table):
    t = make_table(KV)
    t.execute(f"INSERT INTO {{t}} (p, c, v) VALUES (1, 1, 'a') USING TIMESTAMP {TS}")
    t.wait_entries(1)
    t.execute("DROP TRIGGER cesync ON {t}")
    t.execute(f"INSERT INTO {{t}} (p, c, v) VALUES (1, 2, 'a') USING TIMESTAMP {TS}")
    t.execute(f"CREATE TRIGGER cesync ON {{t}} USING 'cesync.trigger.ChangeLogTrigger'")
    t.execute(f"INSERT INTO {{t}} (p, c, v) VALUES (1, 3, 'a') USING TIMESTAMP {TS}")
    got = t.wait_entries(2)
    assert [e["ck"] for e in got] == [[i32(1)], [i32(3)]]


def test_writes_to_the_log_keyspace_are_not_logged(session, changelog):
    name = "trigger_it_self_" + str(int(time.time() * 1000))
    session.execute(f"CREATE TABLE cesync.{name} (p int PRIMARY KEY, v text)")
    try:
        session.execute(f"CREATE TRIGGER cesync ON cesync.{name} "
                        "USING 'cesync.trigger.ChangeLogTrigger'")
        since = int(time.time() * 1000) - 1000
        session.execute(f"INSERT INTO cesync.{name} (p, v) VALUES (1, 'a')")
        assert session.execute(f"SELECT v FROM cesync.{name} WHERE p = 1").one().v == "a"
        assert changelog.rows("cesync", name, since) == []
    finally:
        session.execute(f"DROP TABLE IF EXISTS cesync.{name}")


def test_truncate_is_not_logged(make_table):
    # TRUNCATE does not pass through triggers: documented as not captured (verify finds it).
    t = make_table(KV)
    t.execute(f"INSERT INTO {{t}} (p, c, v) VALUES (1, 1, 'a') USING TIMESTAMP {TS}")
    t.execute("TRUNCATE {t}")
    t.execute(f"INSERT INTO {{t}} (p, c, v) VALUES (2, 1, 'a') USING TIMESTAMP {TS}")
    got = t.wait_entries(2)
    assert [e["pk"] for e in got] == [[i32(1)], [i32(2)]]


def test_mixed_batch_on_one_partition(make_table):
    # One partition update holding every kind: its entries share one log partition and come in
    # the documented order (partition delete, range deletes, static row, rows).
    t = make_table("p int, a int, b int, s int static, v int, PRIMARY KEY ((p), a, b)")
    t.execute("BEGIN UNLOGGED BATCH "
              f"INSERT INTO {{t}} (p, a, b, v) VALUES (1, 9, 9, 1) USING TIMESTAMP {TS + 5}; "
              f"DELETE FROM {{t}} USING TIMESTAMP {TS + 1} WHERE p = 1 AND a = 2 AND b > 3; "
              f"UPDATE {{t}} USING TIMESTAMP {TS + 2} SET s = 1 WHERE p = 1; "
              f"DELETE FROM {{t}} USING TIMESTAMP {TS + 3} WHERE p = 1 AND a = 1 AND b = 1; "
              f"DELETE FROM {{t}} USING TIMESTAMP {TS} WHERE p = 1; "
              "APPLY BATCH")
    assert t.wait_entries(5) == [
        entry("partition_delete", [i32(1)], ts=TS),
        entry("range_delete", [i32(1)], ts=TS + 1, start=[i32(2), i32(3)], start_incl=False,
              end=[i32(2)], end_incl=True),
        entry("static_upsert", [i32(1)], ts=TS + 2),
        entry("row_delete", [i32(1)], [i32(1), i32(1)], ts=TS + 3),
        entry("upsert", [i32(1)], [i32(9), i32(9)], ts=TS + 5),
    ]
    rows = t.entries()
    assert len({(r.bucket, r.shard) for r in rows}) == 1
