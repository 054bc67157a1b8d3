"""Acceptance tests of the Cassandra -> search direction: `cesync setup` then `cesync run` against the
real servers, checked with the official drivers. The oracle (cesync_daemon.expected_documents)
computes each row's document from what cassandra-driver reads, by docs/TYPES.md; every test ends
with the index equal to the table, ids and sources exactly.

No fixed sleeps wait for the sync: every wait polls with a deadline and, on timeout, reports the
last difference."""
import datetime
import decimal
import json
import random
import threading
import time

import pytest
from cassandra.query import BatchStatement, SimpleStatement

from cesync_daemon import (assert_index_equals_table, expected_documents, index_table_diff,
                           same, wait_index_equals_table, wait_until)

SYNC_TIMEOUT = 60
EPOCH = datetime.datetime(1970, 1, 1)


def create_tables(session, ks, *ddl):
    for statement in ddl:
        session.execute(statement.format(ks=ks), timeout=60)


# ---------------------------------------------------------------------------------------------
# 1. Snapshot, then every kind of write through the change log


ITEMS = ("CREATE TABLE {ks}.items (id text PRIMARY KEY, name text, qty int, price decimal,"
         " tags set<text>, notes list<text>, attrs map<text, int>, at timestamp)")
EVENTS = ("CREATE TABLE {ks}.events (tenant text, day int, seq int, sub text, body text, n bigint,"
          " tname text static, PRIMARY KEY ((tenant, day), seq, sub))")

ODD_KEYS = ["o'b ✓", 'say "hi"', "back\\slash", "tab\there", "日本語", "emoji 🎉", "new\nline", "a/b?c=d&e#f%20"]


def test_snapshot_then_stream_every_kind_of_write(cassandra_session, search, keyspace, cesync):
    s = cassandra_session
    ks = keyspace("stream")
    create_tables(s, ks, ITEMS, EVENTS)
    items, events = f"{ks}_items", f"{ks}_events"

    # Rows written before setup have no change-log entries: only the snapshot can find them.
    # (Unprepared: see test_statements_prepared_before_setup_are_logged.)
    ins_item = f"INSERT INTO {ks}.items (id, name, qty, price, tags, notes, attrs, at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
    ins_event = f"INSERT INTO {ks}.events (tenant, day, seq, sub, body, n) VALUES (%s, %s, %s, %s, %s, %s)"
    for i in range(60):
        s.execute(ins_item, (f"pre-{i}", f"item {i}", i, decimal.Decimal(f"{i}.{i % 10}0"), {f"t{i % 3}", "all"},
                             [f"n{i}"], {"a": i}, EPOCH + datetime.timedelta(milliseconds=1_700_000_000_000 + i)))
    for key in ODD_KEYS:
        s.execute(ins_item, (key, f"odd {key}", 1, decimal.Decimal("0.5"), None, None, None, None))
    for tenant in ("acme", "o'b ✓"):
        for seq in range(10):
            s.execute(ins_event, (tenant, 1, seq, f"s{seq % 2}", f"body {seq}", seq * 1000))

    daemon = cesync([f"{ks}.items", f"{ks}.events"])
    daemon.setup()
    daemon.start()

    def synced(what):
        for table, index in (("items", items), ("events", events)):
            try:
                wait_index_equals_table(s, search, ks, table, index, SYNC_TIMEOUT, daemon)
            except AssertionError as e:
                raise AssertionError(f"after {what}: {e}") from None

    s.execute(f"UPDATE {ks}.events SET tname = 'Acme' WHERE tenant = 'acme' AND day = 1")
    synced("the snapshot")
    ins_item = s.prepare(ins_item.replace("%s", "?"))
    ins_event = s.prepare(ins_event.replace("%s", "?"))

    # Inserts, through the change log.
    for i in range(20):
        s.execute(ins_item, (f"new-{i}", f"new {i}", i, decimal.Decimal("1.10"), {"x"}, ["a", "b"], {"k": i},
                             datetime.datetime(2024, 2, 29, 12, 0, 0, 7000)))
    s.execute(ins_event, ("acme", 2, 1, "a", "streamed", 1))
    synced("inserts")

    # Partial updates, a column set to null, a row made by UPDATE whose only cell is then nulled
    # (the row disappears: its document must go).
    s.execute(f"UPDATE {ks}.items SET qty = 999 WHERE id = 'pre-1'")
    s.execute(f"UPDATE {ks}.items SET name = 'renamed', price = 3.000 WHERE id = 'pre-2'")
    s.execute(f"UPDATE {ks}.items SET name = null WHERE id = 'pre-3'")
    s.execute(f"DELETE qty, at FROM {ks}.items WHERE id = 'pre-4'")
    s.execute(f"UPDATE {ks}.items SET name = 'update-made' WHERE id = 'upd-only'")
    s.execute(f"UPDATE {ks}.events SET body = 'changed' WHERE tenant = 'acme' AND day = 1 AND seq = 3 AND sub = 's1'")
    synced("partial updates")
    s.execute(f"UPDATE {ks}.items SET name = null WHERE id = 'upd-only'")
    assert s.execute(f"SELECT * FROM {ks}.items WHERE id = 'upd-only'").one() is None
    synced("nulling the only cell of an UPDATE-made row")

    # Collection updates.
    s.execute(f"UPDATE {ks}.items SET notes = notes + ['appended'] WHERE id = 'pre-5'")
    s.execute(f"UPDATE {ks}.items SET notes = ['prepended'] + notes WHERE id = 'pre-5'")
    s.execute(f"UPDATE {ks}.items SET tags = tags + {{'added'}} WHERE id = 'pre-6'")
    s.execute(f"UPDATE {ks}.items SET tags = tags - {{'all'}} WHERE id = 'pre-7'")
    s.execute(f"UPDATE {ks}.items SET attrs['b'] = 2 WHERE id = 'pre-8'")
    s.execute(f"DELETE attrs['a'] FROM {ks}.items WHERE id = 'pre-9'")
    s.execute(f"UPDATE {ks}.items SET tags = tags - {{'all', 't1'}} WHERE id = 'pre-10'")  # the set becomes empty: null
    s.execute(f"UPDATE {ks}.items SET notes[0] = 'replaced' WHERE id = 'pre-11'")
    synced("collection updates")

    # A static column: every row of the partition carries it.
    s.execute(f"UPDATE {ks}.events SET tname = 'Acme Corp' WHERE tenant = 'acme' AND day = 1")
    s.execute(f"UPDATE {ks}.events SET tname = 'OB' WHERE tenant = %s AND day = 1", ("o'b ✓",))
    synced("static column updates")

    # Lightweight transactions (their log entries are written ahead of the change).
    s.execute(f"INSERT INTO {ks}.items (id, name) VALUES ('lwt', 'first') IF NOT EXISTS")
    s.execute(f"UPDATE {ks}.items SET qty = 5 WHERE id = 'lwt' IF name = 'first'")
    s.execute(f"UPDATE {ks}.items SET name = 'never' WHERE id = 'lwt' IF name = 'other'")  # not applied
    s.execute(f"UPDATE {ks}.items SET name = 'cas' WHERE id = 'pre-13' IF EXISTS")
    synced("lightweight transactions")


    # Deletes: a row, a partition, a clustering range (and a single clustering prefix).
    s.execute(f"DELETE FROM {ks}.items WHERE id = 'pre-12'")
    s.execute(f"DELETE FROM {ks}.items WHERE id = %s", (ODD_KEYS[0],))
    s.execute(f"DELETE FROM {ks}.events WHERE tenant = 'acme' AND day = 2")
    s.execute(f"DELETE FROM {ks}.events WHERE tenant = %s AND day = 1 AND seq > 2 AND seq <= 6", ("o'b ✓",))
    s.execute(f"DELETE FROM {ks}.events WHERE tenant = 'acme' AND day = 1 AND seq = 8")
    s.execute(f"DELETE FROM {ks}.events WHERE tenant = 'acme' AND day = 1 AND seq = 9 AND sub = 's1'")
    synced("deletes")
    assert search.get(events, '["acme",1,8,"s0"]') is None
    assert search.get(events, '["o\'b ✓",1,4,"s0"]') is None
    assert search.get(events, '["o\'b ✓",1,7,"s1"]') is not None

    # Writes in a batch, and a partition deleted and rewritten in one batch.
    batch = BatchStatement()
    batch.add(SimpleStatement(f"DELETE FROM {ks}.events WHERE tenant = 'acme' AND day = 1"))
    batch.add(SimpleStatement(f"INSERT INTO {ks}.events (tenant, day, seq, sub, body) VALUES ('acme', 1, 100, 'z', 'reborn')"))
    batch.add(SimpleStatement(f"INSERT INTO {ks}.items (id, name) VALUES ('batched', 'in a batch')"))
    s.execute(batch)
    synced("a batch deleting and rewriting a partition")

    # Writes USING TIMESTAMP in the past. Older than the row: the table does not change and
    # neither may the document. On a new key: the row appears, versioned by its write time.
    before = {k: search.get(items, k) for k in ("pre-20", "pre-21")}
    # (Only scalars: a collection written in the past would still add its new elements.)
    s.execute(f"UPDATE {ks}.items USING TIMESTAMP 1000 SET name = 'stale', qty = -1, price = 0, at = 0"
              " WHERE id = 'pre-20'")
    s.execute(f"DELETE FROM {ks}.items USING TIMESTAMP 1000 WHERE id = 'pre-21'")
    s.execute(f"INSERT INTO {ks}.items (id, name) VALUES ('from-the-past', 'old but new') USING TIMESTAMP 2000")
    s.execute(f"INSERT INTO {ks}.items (id, name) VALUES ('marker', 'after the old writes')")
    wait_until(lambda: "" if search.get(items, "marker") else "no document 'marker' yet", SYNC_TIMEOUT,
               "the write after the old-timestamp writes", check=daemon.assert_running)
    synced("writes USING TIMESTAMP in the past")
    for k, doc in before.items():
        now = search.get(items, k)
        assert now is not None and same(now["_source"], doc["_source"]), (k, doc, now)
        assert now["_version"] == doc["_version"], (k, doc["_version"], now["_version"])
    assert search.get(items, "from-the-past")["_version"] == 2000

    daemon.stop()
    assert_index_equals_table(s, search, ks, "items", items)
    assert_index_equals_table(s, search, ks, "events", events)


def test_partition_with_only_static_values(cassandra_session, search, keyspace, cesync):
    """A partition holding only static values reads (SELECT *) as one row with null clustering
    columns, which cesync indexes as the document ["solo",1,null,null]. When the partition gets a
    row, that row replaces it in the table, so the document must go; and it comes back when the
    partition's last row is deleted."""
    s = cassandra_session
    ks = keyspace("static")
    create_tables(s, ks, EVENTS)
    daemon = cesync([f"{ks}.events"])
    daemon.setup()
    daemon.start()
    index = f"{ks}_events"

    def synced(what):
        try:
            wait_index_equals_table(s, search, ks, "events", index, 30, daemon)
        except AssertionError as e:
            raise AssertionError(f"after {what}: {e}") from None

    s.execute(f"UPDATE {ks}.events SET tname = 'static only' WHERE tenant = 'solo' AND day = 1")
    synced("a static-only partition")
    s.execute(f"INSERT INTO {ks}.events (tenant, day, seq, sub, body) VALUES ('solo', 1, 1, 'a', 'first row')")
    synced("the first row of a static-only partition")
    s.execute(f"DELETE FROM {ks}.events WHERE tenant = 'solo' AND day = 1 AND seq = 1 AND sub = 'a'")
    synced("deleting the only row of a partition with static values")
    daemon.stop()


def test_expired_rows_leave_the_index(cassandra_session, search, keyspace, cesync):
    """A TTL ends a row (or a cell) with no write to log; docs/CHANGELOG.md: the reader re-reads
    at write_time + ttl."""
    s = cassandra_session
    ks = keyspace("ttl")
    create_tables(s, ks, "CREATE TABLE {ks}.sessions (id text PRIMARY KEY, user text, hits int)")
    s.execute(f"INSERT INTO {ks}.sessions (id, user, hits) VALUES ('keep', 'ann', 1)")
    s.execute(f"INSERT INTO {ks}.sessions (id, user, hits) VALUES ('cell', 'bob', 2)")
    daemon = cesync([f"{ks}.sessions"])
    daemon.setup()
    daemon.start()
    index = f"{ks}_sessions"
    wait_index_equals_table(s, search, ks, "sessions", index, SYNC_TIMEOUT, daemon)
    s.execute(f"INSERT INTO {ks}.sessions (id, user, hits) VALUES ('ttl', 'cy', 3) USING TTL 3")
    s.execute(f"UPDATE {ks}.sessions USING TTL 3 SET user = 'expiring' WHERE id = 'cell'")
    wait_until(lambda: "" if search.get(index, "ttl") else "no document 'ttl' yet", SYNC_TIMEOUT,
               "the row written with a TTL", check=daemon.assert_running)
    wait_until(lambda: "" if s.execute(f"SELECT id FROM {ks}.sessions WHERE id = 'ttl'").one() is None
               else "row 'ttl' not expired yet", 30, "the TTL to pass")
    wait_index_equals_table(s, search, ks, "sessions", index, 20, daemon)
    daemon.stop()


# ---------------------------------------------------------------------------------------------
# 2. Every CQL type as docs/TYPES.md says


ALLTYPES = (
    "CREATE TABLE {ks}.alltypes (k int PRIMARY KEY, a ascii, bi bigint, bl blob, bo boolean, d date,"
    " de decimal, db double, du duration, f float, i inet, n int, si smallint, tx text, t time,"
    " ts timestamp, tu timeuuid, ti tinyint, u uuid, vc varchar, vi varint,"
    " l list<int>, fl frozen<list<int>>, s set<text>, m map<text, int>, mk map<int, boolean>,"
    " md map<double, int>, mt map<frozen<tuple<int, text>>, text>, mts map<timestamp, text>,"
    " tp tuple<int, text, boolean>, ud frozen<address>, vec vector<float, 3>, lts list<timestamp>, ld list<double>)")

ROW_TYPICAL = (
    "(k, a, bi, bl, bo, d, de, db, du, f, i, n, si, tx, t, ts, tu, ti, u, vc, vi, l, fl, s, m, mk, md, mt, mts,"
    " tp, ud, vec, lts) VALUES ({k}, 'hello', 9223372036854775807, 0xcafe00, true, '2024-01-01', 123.45, 1e300,"
    " 1mo2d3ns, 0.1, '192.168.0.1', -7, -32768, 'café ✓ \"q\" \\ ok', '23:59:59.999999999',"
    " '2023-11-14T22:13:20.123Z', 50554d6e-29bb-11e5-b345-feff819cdc9f, -128,"
    " 123e4567-e89b-12d3-a456-426614174000, 'o''b', 1180591620717411303424, [1, 2, 2], [3], {{'b', 'a', 'é'}},"
    " {{'x': 1, 'é': 2}}, {{7: false, -1: true}}, {{0.5: 1, 100: 2, 1e-5: 3}}, {{(1, 'a'): 'x'}},"
    " {{'2024-01-01T00:00:00Z': 'new year'}}, (1, 'x', null), {{street: 'Main', zip: null}}, [0.5, -1.25, 0.1],"
    " ['1970-01-01T00:00:00.001Z'])")
EXPECT_TYPICAL = {
    "a": "hello", "bi": 9223372036854775807, "bl": "yv4A", "bo": True, "d": "2024-01-01", "de": "123.45",
    "db": 1e300, "du": {"months": 1, "days": 2, "nanoseconds": 3}, "f": 0.1, "i": "192.168.0.1", "n": -7,
    "si": -32768, "tx": 'café ✓ "q" \\ ok', "t": "23:59:59.999999999", "ts": "2023-11-14T22:13:20.123Z",
    "tu": "50554d6e-29bb-11e5-b345-feff819cdc9f", "ti": -128, "u": "123e4567-e89b-12d3-a456-426614174000",
    "vc": "o'b", "vi": "1180591620717411303424", "l": [1, 2, 2], "fl": [3], "s": ["a", "b", "é"],
    "m": {"x": 1, "é": 2}, "mk": {"7": False, "-1": True}, "md": {"0.5": 1, "100": 2, "1e-05": 3},
    "mt": {'[1,"a"]': "x"}, "mts": {"2024-01-01T00:00:00.000Z": "new year"}, "tp": [1, "x", None],
    "ud": {"street": "Main", "zip": None, "tags": None}, "vec": [0.5, -1.25, 0.1],
    "lts": ["1970-01-01T00:00:00.001Z"],
}

ROW_EDGES = (
    "(k, bi, bl, d, de, db, f, i, n, tx, t, ts, vi, l, fl, s, m, tp, ud, vec, lts, ld) VALUES ({k},"
    " -9223372036854775808, 0x, '-0001-12-31', 1.10, NaN, Infinity, '2001:0db8:0000:0000:0000:0000:0000:0001',"
    " 0, '', '00:00:00', '1969-12-31T23:59:59.999Z', -1180591620717411303424, [], [], {{}}, {{}},"
    " (null, null, null), {{street: '日本', zip: 12345, tags: {{'z', 'y'}}}}, [0, 0, 0],"
    " ['1900-02-28T12:00:00Z'], [NaN, 1.5, -Infinity])")
EXPECT_EDGES = {
    "bi": -9223372036854775808, "bl": "", "d": "-0001-12-31", "de": "1.10", "db": None, "f": None,
    "i": "2001:db8::1", "n": 0, "tx": "", "t": "00:00:00.000000000", "ts": "1969-12-31T23:59:59.999Z",
    "vi": "-1180591620717411303424", "l": None, "fl": [], "s": None, "m": None, "tp": [None, None, None],
    "ud": {"street": "日本", "zip": 12345, "tags": ["y", "z"]}, "vec": [0, 0, 0],
    "lts": ["1900-02-28T12:00:00.000Z"], "ld": [None, 1.5, None],
}

ROW_MORE = (
    "(k, de, db, f, i, vi) VALUES ({k}, 4.5E+4, -Infinity, -0.0, '2001:db8:0:0:1:0:0:1', 0)")
EXPECT_MORE = {"de": "45000", "db": None, "f": 0, "i": "2001:db8::1:0:0:1", "vi": "0"}

ROW_MORE2 = "(k, de, db, f, i) VALUES ({k}, -0.00012, 5e-324, 3.4028235e38, '::')"
EXPECT_MORE2 = {"de": "-0.00012", "db": 5e-324, "f": 3.4028235e38, "i": "::"}

ALL_COLUMNS = ["k", "a", "bi", "bl", "bo", "d", "de", "db", "du", "f", "i", "n", "si", "tx", "t", "ts", "tu", "ti",
               "u", "vc", "vi", "l", "fl", "s", "m", "mk", "md", "mt", "mts", "tp", "ud", "vec", "lts", "ld"]

FAR = "CREATE TABLE {ks}.far (k int PRIMARY KEY, ts timestamp, d date)"
COUNTS = "CREATE TABLE {ks}.counts (k text PRIMARY KEY, hits counter, misses counter)"


def _full(k, values):
    doc = {c: None for c in ALL_COLUMNS}
    doc.update(values)
    doc["k"] = k
    return doc


@pytest.mark.parametrize("engine", ["opensearch", "elasticsearch"])
def test_every_cql_type_as_docs_types_says(engine, request, cassandra_session, search, keyspace, cesync):
    s = cassandra_session
    search = search if engine == "opensearch" else request.getfixturevalue("elasticsearch")
    ks = keyspace(f"types_{engine[:2]}")
    create_tables(s, ks, "CREATE TYPE {ks}.address (street text, zip int, tags frozen<set<text>>)", ALLTYPES, FAR,
                  COUNTS)
    rows = [(ROW_TYPICAL, EXPECT_TYPICAL), (ROW_EDGES, EXPECT_EDGES), (ROW_MORE, EXPECT_MORE),
            (ROW_MORE2, EXPECT_MORE2), ("(k) VALUES ({k})", {})]
    expected = {}

    def write(offset):
        # Each row twice: keys 1.. before the daemon (the snapshot reads them), keys 101.. after
        # (the change log brings them).
        for n, (values, doc) in enumerate(rows, start=1):
            s.execute(f"INSERT INTO {ks}.alltypes " + values.format(k=n + offset))
            expected[str(n + offset)] = _full(n + offset, doc)
        s.execute(f"INSERT INTO {ks}.far (k, ts, d) VALUES ({1 + offset}, 253402300800000, 2150416545)")
        s.execute(f"INSERT INTO {ks}.far (k, ts, d) VALUES ({2 + offset}, -62167219200001, 2143111695)")
        s.execute(f"UPDATE {ks}.counts SET hits = hits + 5, misses = misses - 3 WHERE k = 'c{offset}'")
        s.execute(f"UPDATE {ks}.counts SET hits = hits + 9223372036854775800 WHERE k = 'big{offset}'")

    far_expected = {}
    for offset in (0, 100):
        far_expected[str(1 + offset)] = {"k": 1 + offset, "ts": "+10000-01-01T00:00:00.000Z", "d": "+10000-01-01"}
        far_expected[str(2 + offset)] = {"k": 2 + offset, "ts": "-0001-12-31T23:59:59.999Z", "d": "-10000-01-01"}
    if engine == "elasticsearch":
        # Elasticsearch 8 refuses dates outside the years 0000-9999 (docs/TYPES.md): those rows
        # are dead-lettered with the engine's reason, while every other row syncs.
        far_expected = {}
    counts_expected = {}
    for offset in (0, 100):
        counts_expected[f"c{offset}"] = {"k": f"c{offset}", "hits": 5, "misses": -3}
        counts_expected[f"big{offset}"] = {"k": f"big{offset}", "hits": 9223372036854775800, "misses": None}

    write(0)
    # The oracle agrees with the hand-written documents (it checks the other tests' expectations).
    oracle = expected_documents(s, ks, "alltypes")
    for doc_id in ("1", "2", "3", "4", "5"):
        got = {k: v for k, v in oracle[doc_id].items() if not k.startswith("cesync_")}
        assert same(got, expected[doc_id]), f"oracle: row {doc_id}: {got} != {expected[doc_id]}"

    daemon = cesync([f"{ks}.alltypes", f"{ks}.far", f"{ks}.counts"], engine=search)
    daemon.setup()
    daemon.start()
    write(100)

    def tokens(table, key_type):
        q = s.prepare(f"SELECT token(k) FROM {ks}.{table} WHERE k = ?")
        return lambda k: s.execute(q, (key_type(k),)).one()[0]

    def diff(table, want, token_of):
        docs = {i: d["source"] for i, d in search.documents(f"{ks}_{table}").items()}
        problems = []
        for doc_id, doc in want.items():
            full = dict(doc, cesync_id=doc_id, cesync_token=token_of(doc_id))
            if doc_id not in docs:
                problems.append(f"{table} {doc_id}: missing")
            elif not same(docs[doc_id], full):
                fields = sorted(f for f in set(full) | set(docs[doc_id])
                                if not same(full.get(f, "<absent>"), docs[doc_id].get(f, "<absent>")))
                problems.append(f"{table} {doc_id}: " + "; ".join(
                    f"{f}: expected {full.get(f, '<absent>')!r}, index has {docs[doc_id].get(f, '<absent>')!r}"
                    for f in fields))
        problems += [f"{table} {i}: unexpected document" for i in set(docs) - set(want)]
        return "\n".join(problems)

    def all_diff():
        return "\n".join(filter(None, [diff("alltypes", expected, tokens("alltypes", int)),
                                       diff("far", far_expected, tokens("far", int)),
                                       diff("counts", counts_expected, tokens("counts", str))]))

    wait_until(all_diff, SYNC_TIMEOUT, "documents of every type", check=daemon.assert_running)
    if engine == "elasticsearch":
        def far_letters():
            letters = daemon.table_status(f"{ks}.far")["dead_letters"]
            keys = {d["key"] for d in letters if "failed to parse" in d["reason"]}
            return None if keys == {"1", "2", "101", "102"} else f"dead letters: {letters}"
        wait_until(far_letters, SYNC_TIMEOUT, "dead letters of the far dates", check=daemon.assert_running)
    assert_index_equals_table(s, search, ks, "alltypes", f"{ks}_alltypes")
    assert_index_equals_table(s, search, ks, "counts", f"{ks}_counts")

    # A counter changed after its document exists is re-read too.
    s.execute(f"UPDATE {ks}.counts SET hits = hits + 1 WHERE k = 'c100'")
    counts_expected["c100"]["hits"] = 6
    wait_until(lambda: diff("counts", counts_expected, tokens("counts", str)), SYNC_TIMEOUT,
               "the counter increment", check=daemon.assert_running)
    daemon.stop()


# ---------------------------------------------------------------------------------------------
# 3. SIGKILL during a stream of writes: nothing is lost


KV = "CREATE TABLE {ks}.kv (k int, c int, v text, n int, s set<int>, PRIMARY KEY (k, c))"


def test_sigkill_mid_stream_loses_nothing(cassandra_session, search, keyspace, cesync):
    s = cassandra_session
    ks = keyspace("kill")
    create_tables(s, ks, KV)
    ins = f"INSERT INTO {ks}.kv (k, c, v, n, s) VALUES (%s, %s, %s, %s, %s)"
    for k in range(20):
        for c in range(10):
            s.execute(ins, (k, c, f"pre {k}/{c}", k * c, {c}))
    # A short confidence window and settle time, so that the checkpoint moves during the test and
    # the later kills land after progress was saved.
    daemon = cesync([f"{ks}.kv"], changelog={"confidence_window": "3s", "sweep_interval": "500ms"},
                    extra="sync: {settle: 2s}")
    daemon.setup()
    started = datetime.datetime.now(datetime.timezone.utc)
    daemon.start()

    ins = s.prepare(ins.replace("%s", "?"))

    upd = s.prepare(f"UPDATE {ks}.kv SET n = ?, v = ? WHERE k = ? AND c = ?")
    add = s.prepare(f"UPDATE {ks}.kv SET s = s + ? WHERE k = ? AND c = ?")
    nul = s.prepare(f"UPDATE {ks}.kv SET v = null WHERE k = ? AND c = ?")
    delrow = s.prepare(f"DELETE FROM {ks}.kv WHERE k = ? AND c = ?")
    delpart = s.prepare(f"DELETE FROM {ks}.kv WHERE k = ?")
    delrange = s.prepare(f"DELETE FROM {ks}.kv WHERE k = ? AND c >= ? AND c < ?")
    total = 3000
    done = []
    errors = []
    stop = threading.Event()

    def writer():
        rnd = random.Random(7)
        futures = []
        try:
            for i in range(total):
                if stop.is_set():
                    break
                k, c = rnd.randrange(60), rnd.randrange(30)
                r = rnd.random()
                if r < 0.45:
                    stmt, args = ins, (k, c, f"v{i}", i, {i % 7})
                elif r < 0.65:
                    stmt, args = upd, (i, f"u{i}", k, c)
                elif r < 0.75:
                    stmt, args = add, ({i}, k, c)
                elif r < 0.82:
                    stmt, args = nul, (k, c)
                elif r < 0.94:
                    stmt, args = delrow, (k, c)
                elif r < 0.97:
                    lo = rnd.randrange(25)
                    stmt, args = delrange, (k, lo, lo + rnd.randrange(1, 6))
                else:
                    stmt, args = delpart, (k,)
                futures.append(s.execute_async(stmt, args))
                if len(futures) >= 16:
                    for f in futures:
                        f.result()
                    futures.clear()
                    time.sleep(0.06)  # pacing: a steady stream of about 200 writes a second
                done.append(i)
            for f in futures:
                f.result()
        except Exception as e:  # reported by the test thread
            errors.append(e)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        kills = 0
        checkpoints = []
        for fraction in (0.25, 0.5, 0.75):
            wait_until(lambda: "" if len(done) >= total * fraction or not thread.is_alive()
                       else f"{len(done)} writes so far", 120, f"{fraction:.0%} of the writes",
                       check=daemon.assert_running, interval=0.05)
            # Kill only once this run has indexed a write made after it started (so it has
            # streamed, and with a 3 s window, saved progress that the restart resumes from).
            marker = 1000 + kills
            s.execute(ins, (marker, 0, "marker", kills, None))
            wait_until(lambda: "" if search.get(f"{ks}_kv", f"[{marker},0]") else f"no marker {marker} yet",
                       30, f"marker {marker}", check=daemon.assert_running, interval=0.1)
            daemon.kill()
            kills += 1
            checkpoints.append(daemon.table_status(f"{ks}.kv")["checkpoint"])  # read while no daemon runs
            daemon.start()
        thread.join(180)
        assert not thread.is_alive(), "the writer did not finish"
        assert not errors, f"writes failed: {errors[:3]}"
        assert len(done) == total and kills == 3
        # The last restart resumed from progress saved during the stream, not from the start.
        last = datetime.datetime.fromisoformat(checkpoints[-1].replace("Z", "+00:00"))
        assert last > started, (started, checkpoints)
        wait_index_equals_table(s, search, ks, "kv", f"{ks}_kv", 90, daemon)
        daemon.stop()
        assert_index_equals_table(s, search, ks, "kv", f"{ks}_kv")
    finally:
        stop.set()
        thread.join(60)


# ---------------------------------------------------------------------------------------------
# 4. Documents the index rejects are dead-lettered; the rest syncs


def test_rejected_documents_are_dead_lettered(cassandra_session, search, opensearch, keyspace, cesync):
    s = cassandra_session
    ks = keyspace("dead")
    create_tables(s, ks, "CREATE TABLE {ks}.orders (id text PRIMARY KEY, code text, note text)")
    index = f"{ks}_orders"
    # An index made by hand where `code` (text in the table) is an integer: setup leaves it as is.
    opensearch.indices.create(index=index, body={
        "settings": {"number_of_shards": 1, "number_of_replicas": 0},
        "mappings": {"properties": {"code": {"type": "integer"}, "cesync_id": {"type": "keyword"},
                                    "cesync_token": {"type": "long"}}}})
    s.execute(f"INSERT INTO {ks}.orders (id, code, note) VALUES ('pre-bad', 'abc', 'before setup')")
    s.execute(f"INSERT INTO {ks}.orders (id, code, note) VALUES ('pre-good', '1', 'before setup')")
    daemon = cesync([f"{ks}.orders"])
    out = daemon.setup()
    assert f"index {index}: exists, left as it is" in out.stdout
    daemon.start()
    bad = {"pre-bad"}
    for i in range(30):
        if i % 10 == 3:
            code = f"x{i}"
            bad.add(f"o{i}")
        else:
            code = str(i)
        s.execute(f"INSERT INTO {ks}.orders (id, code, note) VALUES (%s, %s, %s)", (f"o{i}", code, f"note {i}"))

    wait_index_equals_table(s, search, ks, "orders", index, SYNC_TIMEOUT, daemon, exclude=bad)
    ids = set(search.documents(index))
    assert not ids & bad, f"rejected rows were indexed: {ids & bad}"
    # Stopped, the daemon has saved everything it did (and `cesync status` reads the state file
    # alone: see test_status_while_the_daemon_runs).
    daemon.stop()

    st = daemon.table_status(f"{ks}.orders")
    # A row rejected twice (the snapshot and the change log both met it) may count twice.
    assert st["counts"]["dead_letters"] >= len(bad), st
    assert {d["key"] for d in st["dead_letters"]} == bad, st["dead_letters"]
    for letter in st["dead_letters"]:
        assert letter["at"], letter
        assert "integer" in letter["reason"] and "code" in letter["reason"], letter
    # The log brought 30 writes, 3 of them rejected; the snapshot may have indexed some first.
    assert st["counts"]["indexed"] + st["counts"]["already_newer"] >= 30 - 3, st
    assert st["snapshot"] == {"state": "done", "ranges": st["snapshot"]["ranges"],
                              "ranges_done": st["snapshot"]["ranges"], "rows": st["snapshot"]["rows"]}, st
    letters_before = st["counts"]["dead_letters"]

    # Through the change log only: an id longer than the engines' 512-byte limit
    # (docs/TYPES.md: rejected and dead-lettered) beside ordinary updates, which must land;
    # and a dead-lettered row, fixed, syncs like any other change.
    daemon.start()
    long_id = "L" * 600
    s.execute(f"INSERT INTO {ks}.orders (id, code, note) VALUES (%s, '5', 'long id')", (long_id,))
    for i in (1, 2, 4, 5):
        s.execute(f"UPDATE {ks}.orders SET note = 'changed with the long id' WHERE id = 'o{i}'")
    s.execute(f"UPDATE {ks}.orders SET code = '13' WHERE id = 'o13'")
    bad.add(long_id)
    bad.discard("o13")
    wait_index_equals_table(s, search, ks, "orders", index, SYNC_TIMEOUT, daemon, exclude=bad)
    daemon.stop()
    st = daemon.table_status(f"{ks}.orders")
    new_letters = st["dead_letters"][:st["counts"]["dead_letters"] - letters_before]
    # A restart reads the log again from its checkpoint, so rows rejected before may be
    # dead-lettered again; nothing else may be.
    new_keys = {d["key"] for d in new_letters}
    assert long_id in new_keys and new_keys <= bad | {"o13"}, \
        [(d["key"][:40], d["reason"][:200]) for d in new_letters]
    assert all("512" in d["reason"] for d in new_letters if d["key"] == long_id), new_letters


# ---------------------------------------------------------------------------------------------
# `cesync status` beside a running daemon


def test_status_while_the_daemon_runs(cassandra_session, search, keyspace, cesync):
    """An operator runs `cesync status` while `cesync run` works: every call must answer."""
    s = cassandra_session
    ks = keyspace("status")
    create_tables(s, ks, "CREATE TABLE {ks}.t (k int, c int, v text, PRIMARY KEY (k, c))")
    daemon = cesync([f"{ks}.t"])
    daemon.setup()
    daemon.start()
    ins = s.prepare(f"INSERT INTO {ks}.t (k, c, v) VALUES (?, ?, ?)")
    stop = threading.Event()

    def writer():
        i = 0
        while not stop.is_set():
            s.execute(ins, (i % 50, i, f"v{i}"))
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    failures = []
    try:
        for _ in range(25):
            out = daemon.command("status", "--json", timeout=60)
            if out.returncode != 0:
                failures.append(f"exit {out.returncode}: {out.stderr.strip()}")
            else:
                st = json.loads(out.stdout)["tables"][0]
                assert st["table"] == f"{ks}.t", st
            daemon.assert_running()
    finally:
        stop.set()
        thread.join(60)
    assert not failures, f"{len(failures)} of 25 `cesync status --json` calls failed; first: {failures[0]}"
    wait_index_equals_table(s, search, ks, "t", f"{ks}_t", SYNC_TIMEOUT, daemon)
    daemon.stop()


# ---------------------------------------------------------------------------------------------
# Writes through statements an application prepared before `cesync setup`


def test_statements_prepared_before_setup_are_logged(cassandra_session, search, keyspace, cesync):
    """An application keeps the statements it prepared at its start. Cassandra 5.0 keeps each
    prepared statement's table metadata, triggers included, from the time it was prepared, and
    CREATE TRIGGER does not evict it (preparing the same text again returns the cached statement):
    writes through such statements are applied without the trigger, so without log entries."""
    s = cassandra_session
    ks = keyspace("prep")
    create_tables(s, ks, "CREATE TABLE {ks}.acct (id int PRIMARY KEY, balance int)")
    app_insert = s.prepare(f"INSERT INTO {ks}.acct (id, balance) VALUES (?, ?)")
    s.execute(app_insert, (1, 100))
    daemon = cesync([f"{ks}.acct"])
    daemon.setup()
    daemon.start()
    wait_index_equals_table(s, search, ks, "acct", f"{ks}_acct", SYNC_TIMEOUT, daemon)
    s.execute(app_insert, (2, 200))  # the application's statement, prepared before setup
    s.execute(f"INSERT INTO {ks}.acct (id, balance) VALUES (3, 300)")  # a statement the log sees
    wait_until(lambda: "" if search.get(f"{ks}_acct", "3") else "no document 3 yet", SYNC_TIMEOUT,
               "the unprepared insert", check=daemon.assert_running)
    wait_index_equals_table(s, search, ks, "acct", f"{ks}_acct", 15, daemon)
    daemon.stop()


# ---------------------------------------------------------------------------------------------
# 5. run --once catches up and exits; status shows the snapshot and the checkpoint


def test_run_once_catches_up_and_status_reports_it(cassandra_session, search, keyspace, cesync):
    s = cassandra_session
    ks = keyspace("once")
    create_tables(s, ks, "CREATE TABLE {ks}.notes (owner text, at timeuuid, body text, PRIMARY KEY (owner, at))")
    ins = f"INSERT INTO {ks}.notes (owner, at, body) VALUES (%s, now(), %s)"
    for i in range(120):
        s.execute(ins, (f"user{i % 12}", f"before setup {i}"))
    daemon = cesync([f"{ks}.notes"])
    daemon.setup()
    ins = s.prepare(ins.replace("%s", "?"))
    # Logged writes between setup and the first run: the snapshot or the log brings them.
    for i in range(30):
        s.execute(ins, (f"user{i % 5}", f"after setup {i}"))
    s.execute(f"DELETE FROM {ks}.notes WHERE owner = 'user11'")
    snapshot_rows = s.execute(f"SELECT count(*) FROM {ks}.notes").one()[0]
    assert snapshot_rows == 140

    started = time.monotonic()
    rc = daemon.run_once()
    took = time.monotonic() - started
    assert rc == 0, f"cesync run --once exited with {rc}:\n{daemon.tail()}"
    assert_index_equals_table(s, search, ks, "notes", f"{ks}_notes")

    st = daemon.table_status(f"{ks}.notes")
    assert st["index"] == f"{ks}_notes" and st["direction"] == "to_search", st
    assert st["snapshot"]["state"] == "done", st
    assert st["snapshot"]["ranges"] >= 1 and st["snapshot"]["ranges_done"] == st["snapshot"]["ranges"], st
    assert st["snapshot"]["rows"] == snapshot_rows, st
    assert st["checkpoint"], st
    checkpoint = datetime.datetime.fromisoformat(st["checkpoint"].replace("Z", "+00:00"))
    assert abs((datetime.datetime.now(datetime.timezone.utc) - checkpoint).total_seconds()) < 600, st
    assert isinstance(st["lag_seconds"], (int, float)) and not isinstance(st["lag_seconds"], bool), st
    assert {"indexed", "deleted", "already_newer", "dead_letters"} <= set(st["counts"]), st
    assert st["counts"]["dead_letters"] == 0 and st["dead_letters"] == [], st

    # Another --once after more writes: only the change log (no second snapshot) brings them.
    s.execute(ins, ("late", "after the first run"))
    s.execute(f"DELETE FROM {ks}.notes WHERE owner = 'user0'")
    rc = daemon.run_once()
    assert rc == 0, f"the second cesync run --once exited with {rc}:\n{daemon.tail()}"
    assert_index_equals_table(s, search, ks, "notes", f"{ks}_notes")
    st2 = daemon.table_status(f"{ks}.notes")
    assert st2["snapshot"]["rows"] == st["snapshot"]["rows"], (st, st2)
    assert st2["checkpoint"] >= st["checkpoint"], (st, st2)
    print(f"first run --once took {took:.1f}s")


# ---------------------------------------------------------------------------------------------
# Smoke test on each engine


@pytest.mark.parametrize("engine", ["opensearch", "elasticsearch"])
def test_smoke_on_each_engine(engine, request, cassandra_session, search, keyspace, cesync):
    s = cassandra_session
    target = search if engine == "opensearch" else request.getfixturevalue("elasticsearch")
    ks = keyspace(f"smoke_{engine[:2]}")
    create_tables(s, ks, "CREATE TABLE {ks}.t (p text, c int, v text, tags set<text>, m map<text, int>,"
                  " vec vector<float, 3>, PRIMARY KEY (p, c))")
    s.execute(f"INSERT INTO {ks}.t (p, c, v, tags) VALUES ('o''b ✓', 1, 'snapshot', {{'a'}})")
    daemon = cesync([f"{ks}.t"], engine=target)
    daemon.setup()
    daemon.start()
    wait_index_equals_table(s, target, ks, "t", f"{ks}_t", SYNC_TIMEOUT, daemon)
    s.execute(f"INSERT INTO {ks}.t (p, c, v, m, vec) VALUES ('o''b ✓', 2, 'streamed', {{'k': 1}}, [0.5, 0, -1])")
    s.execute(f"INSERT INTO {ks}.t (p, c, v) VALUES ('x', 1, 'gone soon')")
    s.execute(f"UPDATE {ks}.t SET v = null, tags = tags + {{'b'}} WHERE p = 'o''b ✓' AND c = 1")
    s.execute(f"DELETE FROM {ks}.t WHERE p = 'x'")
    wait_index_equals_table(s, target, ks, "t", f"{ks}_t", SYNC_TIMEOUT, daemon)
    daemon.stop()
