#!/usr/bin/env python3
"""What Cassandra spends per row on the reads cesync makes (BENCHMARKS.md).

Loads ROWS rows of the sync benchmark's table (bench.scan), then, with the official driver:
- scans it in full four ways, twice each: SELECT *, the columns with token(), and those plus
  writetime() of every non-collection column or maxwritetime() of every column (what cesync's
  snapshot and row re-reads select);
- reads a sample of its rows back by key with cesync's selectors, as the stream re-reads them:
  one key a request, and the keys grouped into `WHERE id IN ?` requests of 10 and 50.
For each it prints the wall time and the CPU seconds the Cassandra process used (from /proc), per
row. Drops the table at the end.

    python3 bench/sync/scan_cost.py [ROWS]      # default 50000; the local cluster must run
"""
import os
import random
import sys
import time

from cassandra.concurrent import execute_concurrent_with_args
from cassandra.query import SimpleStatement

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sync_bench as b  # noqa: E402 - the benchmark's table, loader and CPU readers

CONTACT = os.environ.get("CESYNC_CASSANDRA", "127.0.0.1:9042")
POINT_SAMPLE = 20_000  # keys read back by each point-read way
IN_FLIGHT = 64


def measured(name, expected, run):
    before = b.server_cpu()
    t0 = time.monotonic()
    rows = run()
    wall = time.monotonic() - t0
    used = b.cpu_since(before).get("cassandra", 0.0)
    assert rows == expected, f"{name}: {rows} rows, expected {expected}"
    print(f"{name:38s} {rows:,} rows  {wall:5.1f} s  Cassandra CPU {used:5.2f} s "
          f"= {used / rows * 1e6:.0f} µs/row", flush=True)


def scans(session, table, rows_wanted):
    cols = b.INSERT_COLUMNS
    plain = [c for c in cols[1:] if c not in ("tags", "attrs")]
    queries = {
        "SELECT *": f"SELECT * FROM {table}",
        "columns + token()": f"SELECT {', '.join(cols)}, token(id) FROM {table}",
        "columns + token() + writetime()": f"SELECT {', '.join(cols)}, token(id), "
        + ", ".join(f"writetime({c})" for c in plain) + f" FROM {table}",
        "columns + token() + maxwritetime()": f"SELECT {', '.join(cols)}, token(id), "
        + ", ".join(f"maxwritetime({c})" for c in cols[1:]) + f" FROM {table}",
    }
    for _ in range(2):
        for name, query in queries.items():
            measured(name, rows_wanted, lambda q=query: sum(
                1 for _ in session.execute(SimpleStatement(q, fetch_size=1000), timeout=300)))
    return queries["columns + token() + maxwritetime()"]


def points(session, select, rows_wanted):
    keys = [f"s{i:09d}" for i in random.Random(7).sample(range(rows_wanted),
                                                        min(POINT_SAMPLE, rows_wanted))]
    for group in (1, 10, 50):
        if group == 1:
            stmt = session.prepare(select + " WHERE id = ?")
            args = [(k,) for k in keys]
        else:
            stmt = session.prepare(select + " WHERE id IN ?")
            args = [(keys[i:i + group],) for i in range(0, len(keys), group)]

        def run(stmt=stmt, args=args):
            rows = 0
            for ok, res in execute_concurrent_with_args(session, stmt, args, concurrency=IN_FLIGHT,
                                                        raise_on_first_error=True):
                rows += len(list(res))
            return rows
        measured(f"by key, {group} a request", len(keys), run)


def main():
    rows_wanted = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    cluster, session = b.cluster_session(CONTACT)
    session.execute(f"CREATE KEYSPACE IF NOT EXISTS {b.KS} WITH replication = "
                    "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    session.execute(f"DROP TABLE IF EXISTS {b.KS}.scan", timeout=60)
    b.create_table(session, "scan")
    b.load_rows(CONTACT, "scan", "s", rows_wanted)
    table = f"{b.KS}.scan"
    try:
        select = scans(session, table, rows_wanted)
        for _ in range(2):
            points(session, select, rows_wanted)
    finally:
        session.execute(f"DROP TABLE IF EXISTS {table}", timeout=60)
        cluster.shutdown()


if __name__ == "__main__":
    main()
