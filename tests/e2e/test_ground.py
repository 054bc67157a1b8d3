"""The ground the end-to-end tests stand on: the official drivers reach the real servers, and the
cesync binary answers --version and --help."""
import subprocess
import uuid


def test_cassandra_driver_reaches_the_node(cassandra_session):
    row = cassandra_session.execute("SELECT release_version FROM system.local").one()
    assert row.release_version.startswith("5.0.")


def test_cassandra_write_and_read(cassandra_session):
    ks = "e2e_ground"
    cassandra_session.execute(
        f"CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
    )
    cassandra_session.execute(f"CREATE TABLE IF NOT EXISTS {ks}.kv (k text PRIMARY KEY, v int)")
    key = f"k-{uuid.uuid4()}"
    cassandra_session.execute(f"INSERT INTO {ks}.kv (k, v) VALUES (%s, %s)", (key, 7))
    assert cassandra_session.execute(f"SELECT v FROM {ks}.kv WHERE k = %s", (key,)).one().v == 7


def test_opensearch_index_and_get(opensearch):
    index = f"e2e-ground-{uuid.uuid4().hex[:8]}"
    opensearch.indices.create(index=index, body={"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    try:
        opensearch.index(index=index, id="a", body={"x": 1}, refresh=True)
        assert opensearch.get(index=index, id="a")["_source"] == {"x": 1}
    finally:
        opensearch.indices.delete(index=index)


def test_cesync_version_and_help(cesync_bin):
    version = subprocess.run([cesync_bin, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("cesync ")
    helptext = subprocess.run([cesync_bin, "--help"], capture_output=True, text=True, check=True)
    assert "Cassandra" in helptext.stdout
