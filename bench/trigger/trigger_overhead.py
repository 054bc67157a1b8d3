#!/usr/bin/env python3
"""Write overhead of the cesync change-log trigger.

Runs the same write workload (prepared single-row INSERTs, many in flight) against two tables of
identical schema on the same node, one without and one with the trigger, in short alternating
timed phases (so both see the same background load), and reports writes/s, p50 and p99 latency
for each, the overall ratios, and the median of the per-round throughput ratios.

    python3 bench/trigger/trigger_overhead.py [--seconds 2] [--rounds 10] [--concurrency 64]

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


def process_cpu_seconds(pid):
    """user + system CPU time of a local process (the Cassandra node), or None if unknown."""
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return None


def default_server_pid():
    path = os.path.join(ROOT, ".cluster", "cassandra", "pid")
    try:
        with open(path, encoding="ascii") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * len(sorted_values))) - 1))
    return sorted_values[k]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default=os.environ.get("CESYNC_CASSANDRA", "127.0.0.1:9042"))
    ap.add_argument("--seconds", type=float, default=2.0, help="length of one timed phase")
    ap.add_argument("--rounds", type=int, default=10, help="plain/tracked phase pairs")
    ap.add_argument("--concurrency", type=int, default=64, help="writes in flight")
    ap.add_argument("--warmup", type=float, default=3.0, help="seconds of untimed writes per table")
    ap.add_argument("--server-pid", type=int, default=default_server_pid(),
                    help="pid of the local Cassandra node, to report its CPU time per write")
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
    round_ratios = []
    for r in range(a.rounds):
        order = ("plain", "tracked") if r % 2 == 0 else ("tracked", "plain")
        rates = {}
        for t in order:
            cpu0 = process_cpu_seconds(a.server_pid)
            p = Phase(session, stmts[t], a.concurrency, a.seconds, f"{run_tag}{r}").run()
            cpu1 = process_cpu_seconds(a.server_pid)
            p.server_cpu = None if cpu0 is None or cpu1 is None else cpu1 - cpu0
            results[t].append(p)
            rates[t] = len(p.latencies) / p.elapsed
        round_ratios.append(rates["plain"] / rates["tracked"])
        print(f"round {r + 1:2d}: plain {rates['plain']:7.0f} writes/s, tracked "
              f"{rates['tracked']:7.0f} writes/s, ratio {round_ratios[-1]:.2f}", file=sys.stderr)

    summary = {}
    for t, phases in results.items():
        lat = sorted(x for p in phases for x in p.latencies)
        elapsed = sum(p.elapsed for p in phases)
        cpu = [p.server_cpu for p in phases]
        summary[t] = {
            "cpu_us": None if None in cpu else sum(cpu) / len(lat) * 1e6,
            "writes": len(lat),
            "errors": sum(p.errors for p in phases),
            "rate": len(lat) / elapsed,
            "p50": percentile(lat, 50) / 1e6,
            "p99": percentile(lat, 99) / 1e6,
        }
    cluster.shutdown()

    print("| table | writes | errors | writes/s | p50 ms | p99 ms | server CPU µs/write |")
    print("|---|---|---|---|---|---|---|")
    for t in ("plain", "tracked"):
        s = summary[t]
        cpu = "n/a" if s["cpu_us"] is None else f"{s['cpu_us']:.0f}"
        print(f"| {t} | {s['writes']} | {s['errors']} | {s['rate']:.0f} | {s['p50']:.2f} | "
              f"{s['p99']:.2f} | {cpu} |")
    tput = summary["plain"]["rate"] / summary["tracked"]["rate"]
    p99 = summary["tracked"]["p99"] / summary["plain"]["p99"]
    median = sorted(round_ratios)[len(round_ratios) // 2] if len(round_ratios) % 2 else \
        sum(sorted(round_ratios)[len(round_ratios) // 2 - 1:len(round_ratios) // 2 + 1]) / 2
    print(f"\nthroughput ratio (plain / tracked): {tput:.2f}x overall, "
          f"{median:.2f}x median of {len(round_ratios)} rounds")
    print(f"p99 latency ratio (tracked / plain): {p99:.2f}x")
    if summary["plain"]["cpu_us"] and summary["tracked"]["cpu_us"]:
        print(f"server CPU per write ratio (tracked / plain): "
              f"{summary['tracked']['cpu_us'] / summary['plain']['cpu_us']:.2f}x")
    return 0 if summary["plain"]["errors"] + summary["tracked"]["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
