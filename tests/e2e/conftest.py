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
