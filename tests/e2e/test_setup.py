"""`cesync setup` and `cesync mapping` against the real servers, checked with the official drivers."""
import datetime
import json
import os
import subprocess
import time
import uuid

import pytest


def run(cesync_bin, *args):
    return subprocess.run([cesync_bin, *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def product_table(cassandra_session):
    ks = f"e2e_setup_{uuid.uuid4().hex[:8]}"
    cassandra_session.execute(
        f"CREATE KEYSPACE {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}")
    cassandra_session.execute(
        f"CREATE TABLE {ks}.product (id text PRIMARY KEY, name text, price decimal, tags set<text>,"
        " attrs map<text, int>, at timestamp)")
    yield ks
    cassandra_session.execute(f"DROP KEYSPACE IF EXISTS {ks}")


def write_config(tmp_path, ks, tables_yaml):
    cassandra = os.environ.get("CESYNC_CASSANDRA", "127.0.0.1:9042")
    search = os.environ.get("CESYNC_OPENSEARCH", "http://127.0.0.1:9200")
    cfg = tmp_path / "cesync.yaml"
    cfg.write_text(
        f"cassandra: {{contact_points: ['{cassandra}'], consistency: ONE}}\n"
        f"search: {{urls: ['{search}']}}\n"
        "changelog: {replication: \"{'class': 'SimpleStrategy', 'replication_factor': 1}\"}\n"
        f"state: {{path: '{tmp_path / 'state.db'}'}}\n"
        f"tables:\n{tables_yaml}")
    return cfg


def changelog_entries(session, ks, table):
    now = datetime.datetime.now(datetime.timezone.utc)
    minute = now.replace(second=0, microsecond=0)
    rows = []
    for bucket in (minute - datetime.timedelta(minutes=1), minute):
        for shard in range(8):
            rows += [r for r in session.execute(
                "SELECT keyspace_name, table_name, kind FROM cesync.changelog WHERE bucket = %s AND shard = %s",
                (bucket, shard)) if r.keyspace_name == ks and r.table_name == table]
    return rows


def test_setup_creates_log_trigger_and_index(cesync_bin, tmp_path, cassandra_session, opensearch, product_table):
    ks = product_table
    index = f"{ks}_product"
    cfg = write_config(tmp_path, ks, f"  - table: {ks}.product\n")
    try:
        out = run(cesync_bin, "setup", "--config", str(cfg))
        assert out.returncode == 0, out.stderr
        assert f"table {ks}.product: trigger installed" in out.stdout
        assert f"index {index}: created" in out.stdout

        triggers = list(cassandra_session.execute(
            "SELECT trigger_name, options FROM system_schema.triggers WHERE keyspace_name = %s AND table_name = 'product'",
            (ks,)))
        assert [t.trigger_name for t in triggers] == ["cesync"]
        assert triggers[0].options["class"] == "cesync.trigger.ChangeLogTrigger"

        props = opensearch.indices.get_mapping(index=index)[index]["mappings"]["properties"]
        assert props["id"]["type"] == "keyword"
        assert props["name"]["type"] == "text"
        assert props["price"]["type"] == "keyword"
        assert props["at"]["type"] == "date"
        assert props["attrs"]["type"] == "flat_object"
        assert props["cesync_token"]["type"] == "long"

        # The installed trigger logs writes to the table.
        cassandra_session.execute(f"INSERT INTO {ks}.product (id, name) VALUES ('p1', 'chair')")
        deadline = time.monotonic() + 30
        while not changelog_entries(cassandra_session, ks, "product") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [e.kind for e in changelog_entries(cassandra_session, ks, "product")] == ["upsert"]

        again = run(cesync_bin, "setup", "--config", str(cfg))
        assert again.returncode == 0, again.stderr
        assert f"index {index}: exists, left as it is" in again.stdout
    finally:
        opensearch.indices.delete(index=index, ignore_unavailable=True)


def test_setup_names_a_missing_table(cesync_bin, tmp_path, product_table):
    ks = product_table
    cfg = write_config(tmp_path, ks, f"  - table: {ks}.product\n  - table: {ks}.nope\n")
    out = run(cesync_bin, "setup", "--config", str(cfg))
    assert out.returncode == 2
    assert f"tables: {ks}.nope (line 7): table {ks}.nope does not exist" in out.stderr


def test_mapping_prints_the_derived_mapping(cesync_bin, tmp_path, product_table):
    ks = product_table
    cfg = write_config(tmp_path, ks, f"  - table: {ks}.product\n")
    out = run(cesync_bin, "mapping", "--config", str(cfg), "--table", f"{ks}.product")
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert body["mappings"]["properties"]["tags"]["type"] == "text"
    assert body["mappings"]["properties"]["cesync_token"] == {"type": "long"}


def test_unreachable_search_engine_is_a_clear_error(cesync_bin, tmp_path, product_table):
    cfg = tmp_path / "cesync.yaml"
    cassandra = os.environ.get("CESYNC_CASSANDRA", "127.0.0.1:9042")
    cfg.write_text(f"cassandra: {{contact_points: ['{cassandra}']}}\n"
                   "search: {urls: ['http://127.0.0.1:1']}\n"
                   f"tables:\n  - table: {product_table}.product\n")
    out = run(cesync_bin, "setup", "--config", str(cfg))
    assert out.returncode == 2
    assert "cannot reach the search engine (search.urls)" in out.stderr
