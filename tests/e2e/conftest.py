"""Shared fixtures for end-to-end tests: the official Python drivers, pointed at the local cluster
that ./test.sh (scripts/cluster up) started. They are the independent oracle for what cesync does."""
import os

import pytest
from cassandra.cluster import Cluster
from opensearchpy import OpenSearch


def _hostport(value, default_port):
    host, _, port = value.rpartition(":")
    return (host or value), int(port or default_port)


@pytest.fixture(scope="session")
def cassandra_session():
    host, port = _hostport(os.environ.get("CESYNC_CASSANDRA", "127.0.0.1:9042"), 9042)
    cluster = Cluster([host], port=port, protocol_version=5)
    session = cluster.connect()
    yield session
    cluster.shutdown()


@pytest.fixture(scope="session")
def opensearch():
    client = OpenSearch([os.environ.get("CESYNC_OPENSEARCH", "http://127.0.0.1:9200")], timeout=30)
    yield client
    client.close()


@pytest.fixture(scope="session")
def cesync_bin():
    path = os.environ.get("CESYNC_BIN", os.path.join(os.path.dirname(__file__), "../../build/src/cli/cesync"))
    assert os.access(path, os.X_OK), f"cesync binary not built at {path}"
    return path


# ---------------------------------------------------------------------------------------------
# Fixtures for the `cesync run` tests (tests/e2e/test_to_search.py); helpers in cesync_daemon.py.

import uuid  # noqa: E402

import requests  # noqa: E402

from cesync_daemon import Daemon, Search, write_config  # noqa: E402


@pytest.fixture(scope="session")
def search():
    """The default search engine of the end-to-end tests: OpenSearch."""
    return Search(os.environ.get("CESYNC_OPENSEARCH", "http://127.0.0.1:9200"), "opensearch")


@pytest.fixture(scope="session")
def elasticsearch():
    url = os.environ.get("CESYNC_ELASTICSEARCH", "http://127.0.0.1:9201")
    try:
        requests.get(url + "/_cluster/health", timeout=5)
    except requests.RequestException:
        pytest.skip(f"no Elasticsearch at {url}")
    return Search(url, "elasticsearch")


@pytest.fixture
def keyspace(cassandra_session, search):
    """make(name) creates the keyspace e2e_<name>_<uuid8>; after the test it is dropped and the
    indices named after it are deleted from every engine the test used."""
    made = []

    def make(name):
        ks = f"e2e_{name}_{uuid.uuid4().hex[:8]}"
        cassandra_session.execute(
            f"CREATE KEYSPACE {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}")
        made.append(ks)
        return ks

    yield make
    engines = [search, Search(os.environ.get("CESYNC_ELASTICSEARCH", "http://127.0.0.1:9201"), "elasticsearch")]
    for ks in made:
        cassandra_session.execute(f"DROP KEYSPACE IF EXISTS {ks}", timeout=60)
        for engine in engines:
            try:
                engine.delete_indices(ks)
            except requests.RequestException:
                pass  # that engine is not running: nothing to clean


@pytest.fixture
def cesync(cesync_bin, tmp_path, search):
    """make(tables, engine=search, extra="", changelog=None) writes a config (state under tmp_path) and returns a
    Daemon for it. Daemons still running at the end get SIGTERM; their output is printed (pytest
    shows it for failed tests)."""
    daemons = []

    def make(tables, engine=None, extra="", changelog=None):
        n = len(daemons) + 1
        workdir = tmp_path / f"cesync{n}"
        workdir.mkdir()
        cfg = write_config(workdir / "cesync.yaml", workdir / "state.db", tables,
                           (engine or search).url, extra, changelog)
        daemon = Daemon(cesync_bin, cfg, workdir)
        daemons.append(daemon)
        return daemon

    yield make
    for daemon in daemons:
        daemon.close()
        print(f"----- cesync output ({daemon.config})")
        for path in daemon.logs:
            lines = path.read_text(errors="replace").splitlines() if path.exists() else []
            print(f"===== {path} ({len(lines)} lines; last 150)")
            print("\n".join(lines[-150:]))


@pytest.fixture(scope="session")
def spares():
    """Brings cassandra-spare and opensearch-spare up unless they already run (spares.py); at the
    end of the session stops those it started. The outage and fault suites share them."""
    from spares import spares_down, spares_up

    started = spares_up()
    yield
    spares_down(started)
