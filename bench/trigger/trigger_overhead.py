#!/usr/bin/env python3
"""Write overhead of the cesync change-log trigger.

Runs the same write workload (prepared single-row INSERTs, many in flight) against two tables of
identical schema on the same node, one without and one with the trigger, in alternating timed
rounds, and reports writes/s, p50 and p99 latency for each and the ratios.

    python3 bench/trigger/trigger_overhead.py [--seconds 8] [--rounds 2] [--concurrency 64]

Needs a node with the trigger jar installed (scripts/cluster install-trigger). The log table is
created from schema/changelog.cql if it is missing.
"""
import argparse
import os
import sys
import threading
import time
import uuid

from cassandra.cluster import Cluster

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TRIGGER_CLASS = "cesync.trigger.ChangeLogTrigger"
KEYSPACE = "cesync_bench"


def render_changelog_ddl(keyspace="cesync", table="changelog"):
    with open(os.path.join(ROOT, "schema", "changelog.cql"), encoding="utf-8") as f:
        text = f.read()
    values = {
        "keyspace": keyspace,
        "table": table,
        "replication": "{'class': 'SimpleStrategy', 'replication_factor': 1}",
        "ttl_seconds": "604800",
        "window_hours": "6",
    }
    for k, v in values.items():
        text = text.replace("{{%s}}" % k, v)
    text = "\n".join(line.split("--")[0] for line in text.splitlines())
    return [s.strip() for s in text.split(";") if s.strip()]


class Phase:
    """Keeps `concurrency` writes in flight until the deadline; records each latency."""

    def __init__(self, session, stmt, concurrency, seconds, tag):
        self.session, self.stmt, self.tag = session, stmt, tag
        self.concurrency = concurrency
        self.seconds = seconds
        self.latencies = []
        self.errors = 0
        self.seq = 0
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.inflight = 0

    def run(self):
        self.start = time.perf_counter()
        self.deadline = self.start + self.seconds
        with self.lock:
            self.inflight = self.concurrency
        for _ in range(self.concurrency):
            self._submit()
        self.done.wait()
        self.elapsed = time.perf_counter() - self.start
        return self

    def _submit(self):
        if time.perf_counter() >= self.deadline:
            with self.lock:
                self.inflight -= 1
                if self.inflight == 0:
                    self.done.set()
            return
        with self.lock:
            self.seq += 1
            n = self.seq
        args = (f"{self.tag}-{n % 50000}", n, f"name {n}", n * 0.5, {"a", "b"})
        t0 = time.perf_counter_ns()
        fut = self.session.execute_async(self.stmt, args)
        fut.add_callbacks(self._ok, self._err, callback_args=(t0,), errback_args=(t0,))

    def _ok(self, _rows, t0):
        self.latencies.append(time.perf_counter_ns() - t0)
        self._submit()

    def _err(self, exc, t0):
        self.errors += 1
        if self.errors == 1:
            print(f"first error: {exc!r}", file=sys.stderr)
        self._submit()


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * len(sorted_values))) - 1))
    return sorted_values[k]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default=os.environ.get("CESYNC_CASSANDRA", "127.0.0.1:9042"))
    ap.add_argument("--seconds", type=float, default=8.0, help="length of one timed phase")
    ap.add_argument("--rounds", type=int, default=2, help="plain/tracked phase pairs")
    ap.add_argument("--concurrency", type=int, default=64, help="writes in flight")
    ap.add_argument("--warmup", type=float, default=3.0, help="seconds of untimed writes per table")
    a = ap.parse_args()

    host, _, port = a.host.rpartition(":")
    cluster = Cluster([host or a.host], port=int(port or 9042), protocol_version=5)
    session = cluster.connect()
    for stmt in render_changelog_ddl():
        session.execute(stmt)
    session.execute(f"CREATE KEYSPACE IF NOT EXISTS {KEYSPACE} WITH replication = "
                    "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    for t in ("plain", "tracked"):
        session.execute(f"CREATE TABLE IF NOT EXISTS {KEYSPACE}.{t} (id text, seq int, name text, "
                        "score double, tags set<text>, PRIMARY KEY ((id), seq))")
    session.execute(f"CREATE TRIGGER IF NOT EXISTS cesync ON {KEYSPACE}.tracked USING '{TRIGGER_CLASS}'")
    stmts = {
        t: session.prepare(f"INSERT INTO {KEYSPACE}.{t} (id, seq, name, score, tags) VALUES (?, ?, ?, ?, ?)")
        for t in ("plain", "tracked")
    }
    run_tag = uuid.uuid4().hex[:8]
    for t in ("plain", "tracked"):
        Phase(session, stmts[t], a.concurrency, a.warmup, f"w{run_tag}").run()

    results = {"plain": [], "tracked": []}
    for r in range(a.rounds):
        order = ("plain", "tracked") if r % 2 == 0 else ("tracked", "plain")
        for t in order:
            p = Phase(session, stmts[t], a.concurrency, a.seconds, f"{run_tag}{r}").run()
            results[t].append(p)
            print(f"round {r + 1} {t:8s} {len(p.latencies) / p.elapsed:9.0f} writes/s "
                  f"errors {p.errors}", file=sys.stderr)

    summary = {}
    for t, phases in results.items():
        lat = sorted(x for p in phases for x in p.latencies)
        elapsed = sum(p.elapsed for p in phases)
        summary[t] = {
            "writes": len(lat),
            "errors": sum(p.errors for p in phases),
            "rate": len(lat) / elapsed,
            "p50": percentile(lat, 50) / 1e6,
            "p99": percentile(lat, 99) / 1e6,
        }
    cluster.shutdown()

    print(f"| table | writes | errors | writes/s | p50 ms | p99 ms |")
    print(f"|---|---|---|---|---|---|")
    for t in ("plain", "tracked"):
        s = summary[t]
        print(f"| {t} | {s['writes']} | {s['errors']} | {s['rate']:.0f} | {s['p50']:.2f} | {s['p99']:.2f} |")
    tput = summary["plain"]["rate"] / summary["tracked"]["rate"]
    p99 = summary["tracked"]["p99"] / summary["plain"]["p99"]
    print(f"\nthroughput ratio (plain / tracked): {tput:.2f}x")
    print(f"p99 latency ratio (tracked / plain): {p99:.2f}x")
    return 0 if summary["plain"]["errors"] + summary["tracked"]["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
