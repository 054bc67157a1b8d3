"""Settings and failure semantics: a write whose entry cannot be added fails, visibly, and is not
applied; settings from the triggers directory take effect on reload."""
import os

import pytest
from cassandra import InvalidRequest, Unavailable
from cassandra.cluster import NoHostAvailable
from cassandra.protocol import ServerError

from changelog_support import (ChangeLog, expected_shard, install_trigger, render_ddl,
                      triggers_dir, wait_for)

KV = "p int, c int, v text, PRIMARY KEY ((p), c)"


@pytest.fixture
def settings_file(changelog):
    """Writes cesync-trigger.properties into the node's triggers directory and reloads; always
    removes it and reloads again afterwards."""
    path = os.path.join(triggers_dir(), "cesync-trigger.properties")
    if not os.path.isdir(triggers_dir()):
        pytest.skip("no local node triggers directory to write settings into")

    def write(text):
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        install_trigger()

    yield write
    if os.path.exists(path):
        os.remove(path)
    install_trigger()


def test_missing_log_table_fails_the_write(make_table, session, changelog):
    t = make_table(KV)
    plain = make_table(KV, tracked=False)
    session.execute("DROP TABLE cesync.changelog")
    try:
        with pytest.raises(InvalidRequest) as err:
            t.execute("INSERT INTO {t} (p, c, v) VALUES (1, 1, 'lost?')")
        assert "cesync" in str(err.value) and "changelog" in str(err.value)
        with pytest.raises(InvalidRequest):
            t.execute("INSERT INTO {t} (p, c, v) VALUES (1, 2, 'x') IF NOT EXISTS")
        with pytest.raises(InvalidRequest):
            session.execute(f"BEGIN BATCH INSERT INTO {plain.fq} (p, c, v) VALUES (1, 1, 'x'); "
                            f"INSERT INTO {t.fq} (p, c, v) VALUES (1, 3, 'x'); APPLY BATCH")
        # Nothing of the refused writes was applied, not even the untracked half of the batch.
        assert t.execute("SELECT * FROM {t} WHERE p = 1").all() == []
        assert plain.execute("SELECT * FROM {t} WHERE p = 1").all() == []
        # Untracked tables are unaffected.
        plain.execute("INSERT INTO {t} (p, c, v) VALUES (2, 1, 'ok')")
        assert plain.execute("SELECT v FROM {t} WHERE p = 2 AND c = 1").one().v == "ok"
    finally:
        for stmt in render_ddl():
            session.execute(stmt)
    log = ChangeLog(session)
    t.changelog = log
    t.execute("INSERT INTO {t} (p, c, v) VALUES (1, 4, 'logged')")
    assert [e["ck"] for e in t.wait_entries(1)] == [[(4).to_bytes(4, "big")]]


def test_invalid_settings_fail_tracked_writes(make_table, settings_file):
    t = make_table(KV)
    plain = make_table(KV, tracked=False)
    settings_file("cesync.changelog.shards=0\n")
    # The trigger cannot load; the node answers with a server error (which the driver reports
    # after trying every host).
    with pytest.raises((ServerError, NoHostAvailable)) as err:
        t.execute("INSERT INTO {t} (p, c, v) VALUES (1, 1, 'x')")
    assert "Exception while executing trigger" in str(err.value)
    assert t.execute("SELECT * FROM {t} WHERE p = 1").all() == []
    plain.execute("INSERT INTO {t} (p, c, v) VALUES (1, 1, 'x')")


@pytest.fixture
def alt_log(session):
    """A second log table, cesync_alt.log2, with a 1-hour default TTL; dropped afterwards."""
    session.execute("DROP KEYSPACE IF EXISTS cesync_alt")
    for stmt in render_ddl(keyspace="cesync_alt", table="log2", ttl_seconds=3600):
        session.execute(stmt)
    yield
    session.execute("DROP KEYSPACE IF EXISTS cesync_alt")


def test_settings_file_in_triggers_directory(make_table, session, alt_log, settings_file):
    alt = ChangeLog(session, keyspace="cesync_alt", table="log2", bucket_ms=10_000, shards=3)
    settings = [
        "cesync.changelog.keyspace=cesync_alt",
        "cesync.changelog.table=log2",
        "cesync.changelog.bucket_seconds=10",
        "cesync.changelog.shards=3",
        "cesync.changelog.key_text=false",
    ]

    def ttl_of(row):
        return session.execute("SELECT TTL(kind) FROM cesync_alt.log2 WHERE bucket = %s AND "
                               "shard = %s AND id = %s", (row.bucket, row.shard, row.id)).one()[0]

    t = make_table(KV)
    settings_file("\n".join(settings + ["cesync.changelog.ttl_seconds=1800"]) + "\n")
    t.execute("INSERT INTO {t} (p, c, v) VALUES (5, 1, 'x')")
    (row,) = wait_for(lambda: alt.rows(t.keyspace, t.name, t.since_ms), "entry in cesync_alt.log2")
    assert row.kind == "upsert" and row.key_text is None
    assert row.shard == expected_shard([(5).to_bytes(4, "big")], shards=3)
    assert int(row.bucket.timestamp() * 1000) % 10_000 == 0
    assert 1700 < ttl_of(row) <= 1800  # the setting, not the table's default
    assert t.entries() == []  # nothing in the default log

    # ttl_seconds=0: the log table's default_time_to_live applies.
    t2 = make_table(KV)
    settings_file("\n".join(settings + ["cesync.changelog.ttl_seconds=0"]) + "\n")
    t2.execute("INSERT INTO {t} (p, c, v) VALUES (5, 1, 'x')")
    (row,) = wait_for(lambda: alt.rows(t2.keyspace, t2.name, t2.since_ms), "entry in log2")
    assert 3500 < ttl_of(row) <= 3600


@pytest.fixture
def rf3_log(session):
    """A log table whose keyspace wants 3 replicas, on a one-node cluster; dropped afterwards."""
    session.execute("DROP KEYSPACE IF EXISTS cesync_rf3")
    for stmt in render_ddl(keyspace="cesync_rf3", table="changelog"):
        session.execute(stmt.replace("'replication_factor': 1", "'replication_factor': 3"))
    yield
    session.execute("DROP KEYSPACE IF EXISTS cesync_rf3")


def test_failed_ahead_write_fails_the_lwt_or_counter_write(make_table, rf3_log, settings_file):
    t = make_table(KV)
    counters = make_table("p int, c int, n counter, PRIMARY KEY ((p), c)")
    # LOCAL_QUORUM of 3 replicas needs 2 nodes; this cluster has 1.
    settings_file("cesync.changelog.keyspace=cesync_rf3\n")
    with pytest.raises((Unavailable, NoHostAvailable)) as err:
        t.execute("INSERT INTO {t} (p, c, v) VALUES (1, 1, 'x') IF NOT EXISTS")
    assert "LOCAL_QUORUM" in str(err.value)
    with pytest.raises((Unavailable, NoHostAvailable)):
        counters.execute("UPDATE {t} SET n = n + 1 WHERE p = 1 AND c = 1")
    assert t.execute("SELECT * FROM {t} WHERE p = 1").all() == []
    assert counters.execute("SELECT * FROM {t} WHERE p = 1").all() == []
    # Ordinary writes carry their entries in the batch at the write's own consistency (ONE).
    t.execute("INSERT INTO {t} (p, c, v) VALUES (2, 1, 'x')")
    log = ChangeLog(t.session, keyspace="cesync_rf3")
    rows = wait_for(lambda: log.rows(t.keyspace, t.name, t.since_ms), "entry in cesync_rf3")
    assert [(r.kind, r.atomic) for r in rows] == [("upsert", True)]
