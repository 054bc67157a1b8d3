#!/usr/bin/env python3
"""What Cassandra spends per row on the selectors cesync's reads use (BENCHMARKS.md).

Loads ROWS rows of the sync benchmark's table (bench.scan), then scans it in full with the
official driver four ways, twice each: SELECT *, the columns with token(), and those plus
writetime() of every non-collection column or maxwritetime() of every column (what cesync's
snapshot and row re-reads select). For each scan it prints the wall time and the CPU seconds the
Cassandra process used (from /proc), per row. Drops the table at the end.

    python3 bench/sync/scan_cost.py [ROWS]      # default 50000; the local cluster must run
"""
import os
import sys
import time

from cassandra.query import SimpleStatement

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sync_bench as b  # noqa: E402 - the benchmark's table, loader and CPU readers

CONTACT = os.environ.get("CESYNC_CASSANDRA", "127.0.0.1:9042")


def main():
    rows_wanted = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    cluster, session = b.cluster_session(CONTACT)
    session.execute(f"CREATE KEYSPACE IF NOT EXISTS {b.KS} WITH replication = "
                    "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    session.execute(f"DROP TABLE IF EXISTS {b.KS}.scan", timeout=60)
    b.create_table(session, "scan")
    b.load_rows(CONTACT, "scan", "s", rows_wanted)
    cols = b.INSERT_COLUMNS
    plain = [c for c in cols[1:] if c not in ("tags", "attrs")]
    table = f"{b.KS}.scan"
    queries = {
        "SELECT *": f"SELECT * FROM {table}",
        "columns + token()": f"SELECT {', '.join(cols)}, token(id) FROM {table}",
        "columns + token() + writetime()": f"SELECT {', '.join(cols)}, token(id), "
        + ", ".join(f"writetime({c})" for c in plain) + f" FROM {table}",
        "columns + token() + maxwritetime()": f"SELECT {', '.join(cols)}, token(id), "
        + ", ".join(f"maxwritetime({c})" for c in cols[1:]) + f" FROM {table}",
    }
    try:
        for _ in range(2):
            for name, query in queries.items():
                before = b.server_cpu()
                t0 = time.monotonic()
                rows = sum(1 for _ in session.execute(SimpleStatement(query, fetch_size=1000),
                                                      timeout=300))
                wall = time.monotonic() - t0
                used = b.cpu_since(before).get("cassandra", 0.0)
                print(f"{name:38s} {rows:,} rows  {wall:5.1f} s  Cassandra CPU {used:5.2f} s "
                      f"= {used / rows * 1e6:.0f} µs/row", flush=True)
    finally:
        session.execute(f"DROP TABLE IF EXISTS {table}", timeout=60)
        cluster.shutdown()


if __name__ == "__main__":
    main()
