"""Fixtures for the change-log trigger's integration tests, run against the real local node with
the official Python driver.

The session builds the trigger from trigger/ and installs it into the local node
(scripts/cluster install-trigger), creates the change-log table from schema/changelog.cql, and
gives each test its own tables in a keyspace that lives for the session only.
"""
import os
import re
import uuid

import pytest
from cassandra.cluster import Cluster

from changelog_support import (TRIGGER_CLASS, ChangeLog, TableUnderTest, install_trigger,
                               render_ddl)


@pytest.fixture(scope="session")
def session():
    host, _, port = os.environ.get("CESYNC_CASSANDRA", "127.0.0.1:9042").rpartition(":")
    cluster = Cluster([host or "127.0.0.1"], port=int(port or 9042), protocol_version=5)
    s = cluster.connect()
    yield s
    cluster.shutdown()


@pytest.fixture(scope="session")
def installed_trigger():
    """The current trigger code, loaded by the node for this session."""
    install_trigger()


@pytest.fixture(scope="session")
def changelog(session, installed_trigger):
    for stmt in render_ddl():
        session.execute(stmt)
    return ChangeLog(session)


@pytest.fixture(scope="session")
def keyspace(session):
    name = "trigger_it_" + uuid.uuid4().hex[:10]
    session.execute(f"CREATE KEYSPACE {name} WITH replication = "
                    "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    yield name
    session.execute(f"DROP KEYSPACE IF EXISTS {name}")


@pytest.fixture
def make_table(session, changelog, keyspace, request):
    """make_table(columns_and_key, tracked=True) -> TableUnderTest named after the test."""
    counter = [0]

    def make(definition, tracked=True, name=None):
        counter[0] += 1
        table_name = name or re.sub(r"\W", "_", f"{request.node.name[5:40]}_{counter[0]}").lower()
        t = TableUnderTest(session, changelog, keyspace, table_name)
        session.execute(f"CREATE TABLE {t.fq} ({definition})")
        if tracked:
            session.execute(f"CREATE TRIGGER cesync ON {t.fq} USING '{TRIGGER_CLASS}'")
        return t

    return make
