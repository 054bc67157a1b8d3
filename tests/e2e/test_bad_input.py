"""Bad input (issue #11): every kind of bad configuration, schema, document and row gives a clear
error or a dead letter, never a crash, a hang or a silent loss.

- A configuration that is not valid YAML, has an unknown key or a value of the wrong type: every
  command exits 2 and names the file, line, column and key (`tables[N].key` inside a table).
- A table missing from Cassandra, an index missing or impossible to create, a timestamp_column that
  is missing or not a `timestamp`: `setup` and `run` exit 2 naming the table, and `setup` changes
  nothing (no trigger, no index) for a configuration `run` would refuse.
- Rows the index refuses (a strict object mapping) and rows too large for the engine's request
  limit: dead letters with the key and the engine's reason, counted, while every other row syncs
  and the daemon keeps streaming. A row larger than search.bulk_max_bytes is sent alone, whole.
- Documents edited on the search side that cannot become a row (text in an int column, an array
  in a text column, a number out of range, a document too large for a Cassandra mutation): dead
  letters on the way back, counted, while the other documents reach the table.

Each daemon test also checks that the daemon is still running at the end. Waits poll with
deadlines. Keyspaces and indices are named abuse_<case>_<hex>."""
import datetime
import json
import os
import re
import subprocess
import time
import uuid

import pytest
import requests

from cesync_daemon import Search, wait_index_equals_table, wait_until

SYNC_TIMEOUT = 90
SMALL_BODY_URL = os.environ.get("CESYNC_SEARCH_SMALL_BODY", "http://127.0.0.1:9244")
TO_CASSANDRA = "to_cassandra: {poll_interval: 250ms}"


@pytest.fixture
def abuse_keyspace(cassandra_session, search):
    """make(name) creates the keyspace abuse_<name>_<hex8>; afterwards it is dropped and the
    indices named after it deleted."""
    made = []

    def make(name):
        ks = f"abuse_{name}_{uuid.uuid4().hex[:8]}"
        cassandra_session.execute(
            f"CREATE KEYSPACE {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}",
            timeout=60)
        made.append(ks)
        return ks

    yield make
    for ks in made:
        cassandra_session.execute(f"DROP KEYSPACE IF EXISTS {ks}", timeout=60)
        search.delete_indices(ks)


def cli(cesync_bin, *args, timeout=120):
    out = subprocess.run([cesync_bin, *args], capture_output=True, text=True, timeout=timeout)
    return out.returncode, out.stdout, out.stderr


def assert_refused(cesync_bin, cfg, expected, commands=("config check", "setup", "run --once", "status")):
    """Each command exits 2 (not a crash: a signal would be negative) and prints every expected
    text on stderr."""
    for command in commands:
        rc, out, err = cli(cesync_bin, *command.split(), "--config", str(cfg))
        assert rc == 2, f"cesync {command} exited {rc} on a bad config:\n{out}\n{err}"
        for text in expected:
            assert text in err, f"cesync {command}: {text!r} not in the error:\n{err}"
        assert "terminate called" not in err and "Aborted" not in err, err


# ---------------------------------------------------------------------------------------------
# 1. Configuration files


MALFORMED = {
    # what -> (file text, the error's first line)
    "unclosed flow sequence": ("cassandra:\n  consistency: ONE\n  contact_points: [a, b\nsearch: {}\n"
                               "tables:\n  - table: a.b\n", ":4:7: not valid YAML: end of sequence flow not found"),
    "tab indentation": ("tables:\n  - table: a.b\n\t- table: c.d\n", ":3:1: not valid YAML: illegal tab"),
    "unclosed flow mapping": ("log: {level: info\ntables:\n  - table: a.b\n",
                              ":2:7: not valid YAML: end of map flow not found"),
    "a list at the top": ("- table: a.b\n", ":1:1: expected a mapping of settings at the top level"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_yaml_is_refused_with_its_place(cesync_bin, tmp_path, case):
    text, first = MALFORMED[case]
    cfg = tmp_path / "cesync.yaml"
    cfg.write_text(text)
    assert_refused(cesync_bin, cfg, [f"{cfg}{first}"])


def test_empty_file_is_refused(cesync_bin, tmp_path):
    cfg = tmp_path / "cesync.yaml"
    cfg.write_text("")
    assert_refused(cesync_bin, cfg, [f"{cfg}: the file is empty; at least `tables:` is needed"])


def test_unknown_keys_are_named_with_a_suggestion(cesync_bin, tmp_path):
    cfg = tmp_path / "cesync.yaml"
    cfg.write_text("search:\n  bulk_max_byte: 1MiB\nsync: {max_lagg: 5s}\nserch: {}\ntables:\n"
                   "  - table: a.b\n  - table: a.c\n    directoin: both\n    tiemstamp_column: ts\n")
    assert_refused(cesync_bin, cfg, [
        f"{cfg}:2:3: key 'search.bulk_max_byte': unknown key (did you mean 'search.bulk_max_bytes'?)",
        f"{cfg}:3:8: key 'sync.max_lagg': unknown key (did you mean 'sync.max_lag'?)",
        f"{cfg}:4:1: key 'serch': unknown key",
        f"{cfg}:8:5: key 'tables[1].directoin': unknown key (did you mean 'tables[1].direction'?)",
        f"{cfg}:9:5: key 'tables[1].tiemstamp_column': unknown key (did you mean 'tables[1].timestamp_column'?)",
    ])


WRONG_TYPES = """\
cassandra:
  max_in_flight: lots
  tls: yes please
search:
  bulk_max_bytes: 5 potatoes
  tls: {verify: maybe}
sync: {max_lag: 10 years}
log: {level: loud}
admin: {listen: [a, b]}
state: {path: {a: 1}}
tables:
  - table: a.b
    direction: sideways
  - {table: nodot, canary_key: {a: 1}, max_lag: soon}
  - just text
"""


def test_wrong_types_are_all_named_at_once(cesync_bin, tmp_path):
    cfg = tmp_path / "cesync.yaml"
    cfg.write_text(WRONG_TYPES)
    assert_refused(cesync_bin, cfg, [f"{cfg}:{where}: key '{key}': {text}" for where, key, text in [
        ("2:18", "cassandra.max_in_flight", "expected a whole number >= 0, got 'lots'"),
        ("3:8", "cassandra.tls", "expected a mapping of settings"),
        ("5:19", "search.bulk_max_bytes", "expected a size such as 1048576, 512KiB, 5MiB or 1GiB, got '5 potatoes'"),
        ("6:17", "search.tls.verify", "expected true or false, got 'maybe'"),
        ("7:17", "sync.max_lag", "expected a duration such as 500ms, 10s, 5m, 2h or 7d, got '10 years'"),
        ("8:14", "log.level", "expected one of trace, debug, info, warn, error, got 'loud'"),
        ("9:17", "admin.listen", "expected a single value (text), got a list"),
        ("10:15", "state.path", "expected text, got a mapping"),
        ("13:16", "tables[0].direction", "expected one of to_search, to_cassandra, both, got 'sideways'"),
        ("14:13", "tables[1].table", "expected keyspace.table (letters, digits and _), got 'nodot'"),
        ("14:32", "tables[1].canary_key", "expected list of text, got a mapping"),
        ("14:49", "tables[1].max_lag", "expected a duration such as 500ms, 10s, 5m, 2h or 7d, got 'soon'"),
        ("15:5", "tables[2]", "expected a mapping with at least `table: keyspace.table`"),
    ]])


def test_repeated_keys_are_refused(cesync_bin, tmp_path):
    """YAML keys must be unique; yaml-cpp keeps both copies and one would win silently."""
    cfg = tmp_path / "cesync.yaml"
    cfg.write_text("search: {urls: ['http://127.0.0.1:9200']}\ntables:\n  - table: a.b\n    index: x\n"
                   "    index: y\nsearch: {urls: ['http://127.0.0.1:9201']}\n")
    assert_refused(cesync_bin, cfg, [
        f"{cfg}:5:5: key 'tables[0].index': is given twice (first on line 4); keep one",
        f"{cfg}:6:1: key 'search': is given twice (first on line 1); keep one"])


def test_system_keyspaces_are_refused(cesync_bin, tmp_path):
    """A table of Cassandra's own keyspaces: setup would install a trigger there."""
    cfg = tmp_path / "cesync.yaml"
    cfg.write_text("tables:\n  - table: system_auth.roles\n  - table: system.local\n")
    assert_refused(cesync_bin, cfg, [
        f"{cfg}:2:12: key 'tables[0].table': system_auth is one of Cassandra's own keyspaces; only "
        "application tables can be synced",
        f"{cfg}:3:12: key 'tables[1].table': system is one of Cassandra's own keyspaces"])


def test_tables_not_a_list_and_a_table_twice(cesync_bin, tmp_path):
    cfg = tmp_path / "cesync.yaml"
    cfg.write_text("tables: {table: a.b}\n")
    assert_refused(cesync_bin, cfg, [f"{cfg}:1:9: key 'tables': expected a list of tables"])
    cfg.write_text("tables:\n  - table: a.b\n  - table: a.b\n  - {table: a.c, direction: to_cassandra}\n")
    assert_refused(cesync_bin, cfg, [
        f"{cfg}:3:12: key 'tables[1].table': a.b is listed twice",
        f"{cfg}:3:5: key 'tables[1].index': index a_b is used twice",
        f"{cfg}:4:5: key 'tables[2].timestamp_column': is required when direction is to_cassandra"])


# ---------------------------------------------------------------------------------------------
# 2. Tables and indices that are not there, timestamp columns that cannot order edits


def base_config(tmp_path, tables, search_url=None, extra=""):
    search_url = search_url or os.environ.get("CESYNC_OPENSEARCH", "http://127.0.0.1:9200")
    cfg = tmp_path / "cesync.yaml"
    lines = [f"cassandra: {{contact_points: ['{os.environ.get('CESYNC_CASSANDRA', '127.0.0.1:9042')}'], "
             "consistency: ONE}",
             f"search: {{urls: ['{search_url}']}}",
             "changelog: {replication: \"{'class': 'SimpleStrategy', 'replication_factor': 1}\"}",
             f"state: {{path: '{tmp_path / 'state.db'}'}}", "admin: {listen: ''}"]
    if extra:
        lines.append(extra)
    lines.append("tables:")
    for name, opts in tables:
        lines.append(f"  - table: {name}")
        lines += [f"    {k}: {v}" for k, v in opts.items()]
    cfg.write_text("\n".join(lines) + "\n")
    return cfg


def triggers_on(session, ks):
    return [r.trigger_name for r in session.execute(
        "SELECT trigger_name FROM system_schema.triggers WHERE keyspace_name = %s", (ks,))]


def test_table_missing_in_cassandra(cesync_bin, tmp_path, cassandra_session, search, abuse_keyspace):
    ks = abuse_keyspace("notable")
    cassandra_session.execute(f"CREATE TABLE {ks}.present (k int PRIMARY KEY, v text)")
    for name in (f"{ks}.absent", f"abuse_nokeyspace_{uuid.uuid4().hex[:8]}.t"):
        # The good table first: setup must not half-apply the configuration.
        cfg = base_config(tmp_path, [(f"{ks}.present", {}), (name, {})])
        assert_refused(cesync_bin, cfg, [f"tables: {name} (line 8): table {name} does not exist"],
                       commands=("setup", "run --once", "snapshot"))
        assert triggers_on(cassandra_session, ks) == [], "setup installed a trigger for a config it refused"
        assert not search.exists(f"{ks}_present"), "setup created an index for a config it refused"


def test_index_missing_or_impossible(cesync_bin, tmp_path, cassandra_session, search, abuse_keyspace):
    ks = abuse_keyspace("noindex")
    cassandra_session.execute(f"CREATE TABLE {ks}.t (k int PRIMARY KEY, v text, updated timestamp)")
    # A to_cassandra table whose index was never made: run refuses and says what to do.
    index = f"{ks}_elsewhere"
    cfg = base_config(tmp_path, [(f"{ks}.t", {"direction": "to_cassandra", "timestamp_column": "updated",
                                              "index": index})])
    assert_refused(cesync_bin, cfg, [f"tables: {ks}.t (line 7): index {index} does not exist; run "
                                     "`cesync setup --config FILE` first"], commands=("run --once",))
    assert not search.exists(index)
    # An index name the engine refuses: setup exits 2 with the engine's reason.
    cfg = base_config(tmp_path, [(f"{ks}.t", {"direction": "to_cassandra", "timestamp_column": "updated",
                                              "index": f'"{ks}#bad"'})])
    assert_refused(cesync_bin, cfg, [f"creating index {ks}#bad", "HTTP 400", "invalid_index_name_exception",
                                     "must not contain '#'"], commands=("setup",))


TIMESTAMP_CASES = {
    # what -> (timestamp_column, the error)
    "missing column": ("nope", "timestamp_column: {t} has no column 'nope'"),
    "a date column": ("d", "timestamp_column: {t}.d is not of type timestamp"),
    "a bigint column": ("n", "timestamp_column: {t}.n is not of type timestamp"),
    "a text column": ("v", "timestamp_column: {t}.v is not of type timestamp"),
}


@pytest.mark.parametrize("direction", ["both", "to_cassandra"])
@pytest.mark.parametrize("case", sorted(TIMESTAMP_CASES))
def test_unusable_timestamp_column(cesync_bin, tmp_path, cassandra_session, search, abuse_keyspace, case,
                                   direction):
    ks = abuse_keyspace("tscol")
    cassandra_session.execute(f"CREATE TABLE {ks}.t (k int PRIMARY KEY, v text, d date, n bigint)")
    column, error = TIMESTAMP_CASES[case]
    cfg = base_config(tmp_path, [(f"{ks}.t", {"direction": direction, "timestamp_column": column})])
    assert_refused(cesync_bin, cfg, [f"tables: {ks}.t (line 7): " + error.format(t=f"{ks}.t")],
                   commands=("setup", "run --once"))
    # setup refused before changing anything.
    assert triggers_on(cassandra_session, ks) == []
    assert not search.exists(f"{ks}_t")


# ---------------------------------------------------------------------------------------------
# 3. Rows the index refuses; rows too large


def metric(daemon, name, table):
    m = re.search(r"admin: \{listen: '([^']+)'\}", open(daemon.config).read())
    text = requests.get(f"http://{m.group(1)}/metrics", timeout=10).text
    found = re.search(rf'^{name}\{{table="{re.escape(table)}"\}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def test_strict_mapping_rejects_some_rows(cassandra_session, search, abuse_keyspace, cesync):
    """An index made by hand whose `attrs` object is strict: rows with another key in attrs are
    refused by the engine (strict_dynamic_mapping_exception); the others sync."""
    s = cassandra_session
    ks = abuse_keyspace("strict")
    s.execute(f"CREATE TABLE {ks}.t (k text PRIMARY KEY, v text, attrs map<text, text>)")
    index = f"{ks}_t"
    table = f"{ks}.t"
    search.create_index(index, {
        "settings": {"number_of_shards": 1, "number_of_replicas": 0},
        "mappings": {"properties": {
            "cesync_id": {"type": "keyword"}, "cesync_token": {"type": "long"}, "k": {"type": "keyword"},
            "v": {"type": "text"},
            "attrs": {"type": "object", "dynamic": "strict", "properties": {"color": {"type": "keyword"}}}}}})
    daemon = cesync([table])
    out = daemon.setup()
    assert f"index {index}: exists, left as it is" in out.stdout
    daemon.start()
    bad = set()
    for i in range(40):
        attrs = {"color": f"c{i}"}
        if i % 8 == 5:
            attrs["size"] = "XL"
            bad.add(f"r{i}")
        s.execute(f"INSERT INTO {table} (k, v, attrs) VALUES (%s, %s, %s)", (f"r{i}", f"row {i}", attrs))
    wait_index_equals_table(s, search, ks, "t", index, SYNC_TIMEOUT, daemon, exclude=bad)
    assert not set(search.documents(index)) & bad

    def letters():
        st = daemon.table_status(table)
        keys = {d["key"] for d in st["dead_letters"]}
        return "" if keys == bad else f"dead letters: {st['dead_letters']}"

    wait_until(letters, SYNC_TIMEOUT, "a dead letter per refused row", check=daemon.assert_running)
    st = daemon.table_status(table)
    assert st["counts"]["dead_letters"] >= len(bad), st
    for letter in st["dead_letters"]:
        assert "strict_dynamic_mapping_exception" in letter["reason"] and "size" in letter["reason"], letter
        assert letter["at"], letter
    assert metric(daemon, "cesync_dead_letters_total", table) >= len(bad)
    # A refused row, fixed, syncs; the stream was never stuck behind the refusals.
    s.execute(f"UPDATE {table} SET attrs = {{'color': 'fixed'}} WHERE k = 'r5'")
    bad.discard("r5")
    wait_index_equals_table(s, search, ks, "t", index, SYNC_TIMEOUT, daemon, exclude=bad)
    daemon.assert_running()
    daemon.stop()


def test_row_larger_than_bulk_max_bytes_is_sent_alone(cassandra_session, search, abuse_keyspace, cesync):
    """search.bulk_max_bytes is 64 KiB; a row of 2.5 MB lands whole, between small rows."""
    s = cassandra_session
    ks = abuse_keyspace("bigrow")
    s.execute(f"CREATE TABLE {ks}.t (k int PRIMARY KEY, v text, b blob)")
    table = f"{ks}.t"
    daemon = cesync([table])
    text = open(daemon.config).read()
    with open(daemon.config, "w") as f:
        f.write(text.replace(f"search: {{urls: ['{search.url}']}}",
                             f"search: {{urls: ['{search.url}'], bulk_max_bytes: 64KiB}}"))
    assert "bulk_max_bytes: 64KiB" in open(daemon.config).read()
    daemon.setup()
    daemon.start()
    big = "x" * 2_500_000
    for i in range(30):
        if i == 15:
            s.execute(f"INSERT INTO {table} (k, v, b) VALUES (%s, %s, %s)", (i, big, os.urandom(300_000)))
        else:
            s.execute(f"INSERT INTO {table} (k, v) VALUES (%s, %s)", (i, f"small {i}"))
    wait_index_equals_table(s, search, ks, "t", f"{ks}_t", SYNC_TIMEOUT, daemon)
    st = daemon.table_status(table)
    assert st["counts"]["dead_letters"] == 0 and st["dead_letters"] == [], st
    daemon.stop()


def test_row_beyond_the_engine_request_limit_is_dead_lettered(cassandra_session, search, abuse_keyspace,
                                                              cesync):
    """Through an engine whose requests may carry at most 1 MiB (search-tls's plain port, nginx's
    client_max_body_size, as http.max_content_length does): the engine answers 413; the batch is
    split until the large row is alone, that row is dead-lettered and every other row lands."""
    try:
        requests.get(SMALL_BODY_URL + "/_cluster/health", timeout=5).raise_for_status()
    except requests.RequestException as e:
        pytest.skip(f"no size-limited search endpoint at {SMALL_BODY_URL} (scripts/cluster up search-tls): {e}")
    s = cassandra_session
    ks = abuse_keyspace("toolarge")
    s.execute(f"CREATE TABLE {ks}.t (k int PRIMARY KEY, v text)")
    table = f"{ks}.t"
    index = f"{ks}_t"
    limited = Search(SMALL_BODY_URL, "opensearch")
    daemon = cesync([table], engine=limited)
    daemon.setup()
    daemon.start()
    huge = "y" * 1_500_000
    for i in range(40):
        s.execute(f"INSERT INTO {table} (k, v) VALUES (%s, %s)", (i, huge if i == 17 else f"small {i}"))
    wait_index_equals_table(s, search, ks, "t", index, SYNC_TIMEOUT, daemon, exclude=["17"])

    def letter():
        st = daemon.table_status(table)
        return "" if {d["key"] for d in st["dead_letters"]} == {"17"} else f"dead letters: {st['dead_letters']}"

    wait_until(letter, SYNC_TIMEOUT, "the dead letter of the row too large", check=daemon.assert_running)
    st = daemon.table_status(table)
    (dl,) = st["dead_letters"]
    assert "exceeds the engine's request limit" in dl["reason"], dl
    assert metric(daemon, "cesync_dead_letters_total", table) >= 1
    assert search.get(index, "17") is None
    # The stream goes on: later writes land, and the row made smaller syncs.
    s.execute(f"UPDATE {table} SET v = 'smaller now' WHERE k = 17")
    s.execute(f"INSERT INTO {table} (k, v) VALUES (100, 'after')")
    wait_index_equals_table(s, search, ks, "t", index, SYNC_TIMEOUT, daemon)
    daemon.stop()


# ---------------------------------------------------------------------------------------------
# 4. Documents edited on the search side that cannot become rows


def iso(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def put_doc(search, index, doc_id, source):
    r = search.http.put(f"{search.url}/{index}/_doc/{requests.utils.quote(doc_id, safe='')}",
                        data=json.dumps(source), headers={"Content-Type": "application/json"}, timeout=60)
    assert r.status_code in (200, 201), f"PUT {index}/{doc_id}: {r.status_code} {r.text[:500]}"


def test_search_side_documents_of_wrong_types_are_dead_lettered(cassandra_session, search, abuse_keyspace,
                                                                cesync):
    """A `both` table whose index maps `n` (an int column) as a keyword, as a sloppy hand-made
    mapping would: the engine accepts text and out-of-range numbers there, and arrays anywhere.
    cesync dead-letters each such document with the column and the reason; the good documents and
    the Cassandra writes still sync."""
    s = cassandra_session
    ks = abuse_keyspace("wrongtype")
    s.execute(f"CREATE TABLE {ks}.t (id text PRIMARY KEY, n int, name text, updated timestamp)")
    table = f"{ks}.t"
    index = f"{ks}_t"
    daemon = cesync([(table, {"direction": "both", "timestamp_column": "updated"})], extra=TO_CASSANDRA)
    out = daemon.command("mapping", "--table", table)
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    body["mappings"]["properties"]["n"] = {"type": "keyword"}
    search.create_index(index, body)
    daemon.setup()
    daemon.start()
    t0 = int(time.time() * 1000)
    bad = {
        "text-in-int": ({"id": "text-in-int", "n": "abc", "name": "text", "updated": iso(t0 + 1)}, "column n"),
        "too-big-int": ({"id": "too-big-int", "n": 3_000_000_000, "name": "big", "updated": iso(t0 + 2)},
                        "column n"),
        "array-in-text": ({"id": "array-in-text", "n": 1, "name": ["a", "b"], "updated": iso(t0 + 3)},
                          "column name"),
        "bad-timestamp": ({"id": "bad-timestamp", "n": 1, "name": "ts", "updated": [t0, t0]}, "updated"),
    }
    good = {f"g{i}": {"id": f"g{i}", "n": i, "name": f"good {i}", "updated": iso(t0 + 10 + i)} for i in range(8)}
    for doc_id, (doc, _) in bad.items():
        put_doc(search, index, doc_id, doc)
    for doc_id, doc in good.items():
        put_doc(search, index, doc_id, doc)
    # A write on the Cassandra side at the same time must still reach the index.
    s.execute(f"INSERT INTO {table} (id, n, name, updated) VALUES ('from-cassandra', 7, 'c', %s)",
              (datetime.datetime.fromtimestamp((t0 + 50) / 1000, tz=datetime.timezone.utc),))

    def rows_arrived():
        rows = {r.id: r for r in s.execute(f"SELECT id, n, name FROM {table}")}
        missing = [i for i in good if i not in rows or rows[i].n != good[i]["n"] or rows[i].name != good[i]["name"]]
        leaked = [i for i in bad if i in rows]
        return f"missing {missing}, bad rows written {leaked}" if missing or leaked else ""

    wait_until(rows_arrived, SYNC_TIMEOUT, "the good documents in the table", check=daemon.assert_running)

    def letters():
        tc = daemon.table_status(table)["to_cassandra"]
        got = {d.get("id", d.get("key")) for d in tc["dead_letters"]}
        return "" if set(bad) <= got else f"dead letters so far: {tc['dead_letters']}"

    wait_until(letters, SYNC_TIMEOUT, "a dead letter per bad document", check=daemon.assert_running)
    tc = daemon.table_status(table)["to_cassandra"]
    got = {d.get("id", d.get("key")): d for d in tc["dead_letters"]}
    assert set(got) == set(bad), tc
    for doc_id, (_, named) in bad.items():
        assert named in got[doc_id]["reason"], got[doc_id]
    assert tc["counts"]["dead_letters"] == len(bad), tc
    assert metric(daemon, "cesync_search_dead_letters_total", table) == len(bad)
    doc = search.get(index, "from-cassandra")
    assert doc is not None and doc["_source"]["name"] == "c", doc
    daemon.assert_running()
    daemon.stop()


def test_search_side_document_too_large_for_cassandra(cassandra_session, search, abuse_keyspace, cesync):
    """A document with 5 MB of text: Cassandra refuses a request larger than its
    native_transport_max_message_size (and a mutation over half its commit-log segment), 4 MiB in
    the test cluster. It is dead-lettered; the other documents still come back."""
    s = cassandra_session
    ks = abuse_keyspace("hugedoc")
    s.execute(f"CREATE TABLE {ks}.t (id text PRIMARY KEY, body text, updated timestamp)")
    table = f"{ks}.t"
    index = f"{ks}_t"
    daemon = cesync([(table, {"direction": "both", "timestamp_column": "updated"})], extra=TO_CASSANDRA)
    daemon.setup()
    daemon.start()
    t0 = int(time.time() * 1000)
    put_doc(search, index, "huge", {"id": "huge", "body": "z" * 5_000_000, "updated": iso(t0)})
    for i in range(5):
        put_doc(search, index, f"g{i}", {"id": f"g{i}", "body": f"good {i}", "updated": iso(t0 + 1 + i)})

    def rows_arrived():
        ids = {r.id for r in s.execute(f"SELECT id FROM {table}")}
        want = {f"g{i}" for i in range(5)}
        return "" if want <= ids else f"rows so far: {sorted(ids)}"

    wait_until(rows_arrived, SYNC_TIMEOUT, "the good documents in the table", check=daemon.assert_running)

    def letter():
        tc = daemon.table_status(table)["to_cassandra"]
        got = {d.get("id", d.get("key")) for d in tc["dead_letters"]}
        return "" if "huge" in got else f"dead letters: {tc['dead_letters']}; counts {tc['counts']}"

    wait_until(letter, SYNC_TIMEOUT, "the dead letter of the document too large", check=daemon.assert_running)
    tc = daemon.table_status(table)["to_cassandra"]
    (huge,) = [d for d in tc["dead_letters"] if d.get("id", d.get("key")) == "huge"]
    assert "exceeds" in huge["reason"] or "too large" in huge["reason"], huge
    assert tc["counts"]["dead_letters"] == 1 and tc["counts"]["written"] >= 5, tc
    assert metric(daemon, "cesync_search_dead_letters_total", table) == 1
    assert s.execute(f"SELECT id FROM {table} WHERE id = 'huge'").one() is None
    # Later edits still come back.
    put_doc(search, index, "later", {"id": "later", "body": "after the huge one", "updated": iso(t0 + 100)})
    wait_until(lambda: "" if s.execute(f"SELECT id FROM {table} WHERE id = 'later'").one() else "not yet",
               SYNC_TIMEOUT, "a later document", check=daemon.assert_running)
    daemon.stop()

