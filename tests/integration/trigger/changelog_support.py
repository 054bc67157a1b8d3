"""Helpers for the change-log trigger's integration tests: rendering the log DDL, reading the
log, expected entries, and binding serialized key parts the way the daemon will.

(A uniquely named module rather than conftest.py, so that other suites' conftests cannot shadow
it when pytest runs every suite in one session.)"""
import os
import subprocess
import time

import pytest
from cassandra.murmur3 import murmur3
from cassandra.query import BoundStatement

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
TRIGGER_CLASS = "cesync.trigger.ChangeLogTrigger"
LOG_KEYSPACE = "cesync"
LOG_TABLE = "changelog"
BUCKET_MS = 60_000
SHARDS = 8
TTL_SECONDS = 604_800
UUID_EPOCH_OFFSET = 0x01B21DD213814000  # 100 ns ticks from 1582-10-15 to 1970-01-01
ENTRY_FIELDS = ("kind", "pk", "ck", "range_start", "range_start_inclusive", "range_end",
                "range_end_inclusive", "write_time", "ttl", "atomic")


def render_ddl(keyspace=LOG_KEYSPACE, table=LOG_TABLE, ttl_seconds=TTL_SECONDS):
    """The statements of schema/changelog.cql for a one-node test cluster."""
    with open(os.path.join(ROOT, "schema", "changelog.cql"), encoding="utf-8") as f:
        text = f.read()
    values = {
        "keyspace": keyspace,
        "table": table,
        "replication": "{'class': 'SimpleStrategy', 'replication_factor': 1}",
        "ttl_seconds": str(ttl_seconds),
        "window_hours": "6",
    }
    for k, v in values.items():
        text = text.replace("{{%s}}" % k, v)
    assert "{{" not in text, "schema/changelog.cql has a placeholder the tests do not fill"
    text = "\n".join(line.split("--")[0] for line in text.splitlines())
    return [s.strip() for s in text.split(";") if s.strip()]


def uuid_millis(u):
    return (u.time - UUID_EPOCH_OFFSET) / 10_000


def now_micros():
    return time.time_ns() // 1000


def composite(parts):
    """Cassandra's serialized form of a multi-column partition key."""
    if len(parts) == 1:
        return parts[0]
    out = b""
    for p in parts:
        out += len(p).to_bytes(2, "big") + p + b"\x00"
    return out


def expected_shard(pk_parts, shards=SHARDS):
    return murmur3(composite(pk_parts)) % shards  # Python's % floors, like Math.floorMod


def wait_for(predicate, what, timeout=15.0, interval=0.05):
    """Polls until predicate() returns something truthy; fails with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class ChangeLog:
    """Reads the entries the trigger wrote for one table since the test began."""

    def __init__(self, session, keyspace=LOG_KEYSPACE, table=LOG_TABLE, bucket_ms=BUCKET_MS,
                 shards=SHARDS):
        self.session = session
        self.bucket_ms = bucket_ms
        self.shards = shards
        self.select = session.prepare(
            f"SELECT * FROM {keyspace}.{table} WHERE bucket = ? AND shard = ?")

    def rows(self, keyspace, table, since_ms):
        """Every entry for keyspace.table in buckets from since_ms to now, in id order."""
        first = since_ms // self.bucket_ms * self.bucket_ms
        last = (int(time.time() * 1000) + 1000) // self.bucket_ms * self.bucket_ms
        found = []
        for bucket in range(first, last + 1, self.bucket_ms):
            for shard in range(self.shards):
                for r in self.session.execute(self.select, (bucket, shard)):
                    if r.keyspace_name == keyspace and r.table_name == table:
                        found.append(r)
        found.sort(key=lambda r: r.id.time)
        return found


class TableUnderTest:
    """One test's table: created in the session keyspace, tracked or not."""

    def __init__(self, session, changelog, keyspace, name):
        self.session, self.changelog = session, changelog
        self.keyspace, self.name = keyspace, name
        self.fq = f"{keyspace}.{name}"
        self.since_ms = int(time.time() * 1000) - 1000

    def execute(self, cql, params=None):
        return self.session.execute(cql.replace("{t}", self.fq), params)

    def entries(self):
        return self.changelog.rows(self.keyspace, self.name, self.since_ms)

    def wait_entries(self, count, timeout=15.0):
        """Waits until at least `count` entries exist, then returns all of them, simplified."""
        rows = wait_for(lambda: (lambda r: r if len(r) >= count else None)(self.entries()),
                        f"{count} change-log entries for {self.fq}", timeout)
        return [simplify(r) for r in rows]


def simplify(row):
    d = {k: getattr(row, k) for k in ENTRY_FIELDS}
    for k in ("pk", "ck", "range_start", "range_end"):
        if d[k] is not None:
            d[k] = list(d[k])
    return d


def entry(kind, pk, ck=None, ts=None, ttl=None, atomic=True, start=None, start_incl=None,
          end=None, end_incl=None):
    return {"kind": kind, "pk": pk, "ck": ck, "range_start": start,
            "range_start_inclusive": start_incl, "range_end": end, "range_end_inclusive": end_incl,
            "write_time": ts, "ttl": ttl, "atomic": atomic}


def bind_raw(session, cql, blobs):
    """Executes a prepared statement with already-serialized values, as the daemon will."""
    prepared = session.prepare(cql)
    bound = BoundStatement(prepared)
    bound.values = list(blobs)
    return session.execute(bound)


def install_trigger():
    """Builds trigger/, installs it into the local node and reloads the node's triggers."""
    subprocess.run([os.path.join(ROOT, "scripts", "cluster"), "install-trigger", "cassandra"],
                   check=True, cwd=ROOT, stdout=subprocess.DEVNULL)


def triggers_dir():
    """The local node's triggers directory (where an operator's settings file goes)."""
    state = os.environ.get("CESYNC_CLUSTER_DIR", os.path.join(ROOT, ".cluster"))
    return os.path.join(state, "cassandra", "triggers")
