#!/usr/bin/env python3
"""Peak memory and time of `cesync verify` as the table grows.

For each size, a table of that many ~600-byte rows (10 rows per partition, mixed types) is loaded
with the official Python driver, copied into its index by `cesync run --once`, and then verified:
once as it is (in sync) and once after 1% of its documents were deleted (differences found and read
again). Peak RSS is the process's own (wait4 in a small parent), so nothing else counts.

    bench/verify/verify_memory.py --cesync build/src/cli/cesync [--sizes 10000,100000]

Needs the local cluster (scripts/cluster up); the keyspace and indices it makes are dropped at the
end. BENCHMARKS.md has the figures."""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

import requests
from cassandra.cluster import Cluster
from cassandra.concurrent import execute_concurrent_with_args

KEYSPACE = "bench_verify"


# Runs a command and prints its exit code and rusage. Measured from this small child, not from
# the harness: Linux carries a process's peak RSS across exec, so a child forked straight from the
# harness (which holds the generated rows) would report the harness's size.
_WAIT4 = ("import json,os,subprocess,sys,time\n"
          "t=time.monotonic()\n"
          "p=subprocess.Popen(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL)\n"
          "_,s,u=os.wait4(p.pid,0)\n"
          "print(json.dumps([os.waitstatus_to_exitcode(s),time.monotonic()-t,u.ru_utime+u.ru_stime,u.ru_maxrss]))\n")


def measure(argv):
    """(exit code, wall seconds, CPU seconds, peak RSS in MiB) of one process."""
    out = subprocess.run([sys.executable, "-c", _WAIT4, *argv], capture_output=True, text=True, check=True)
    code, wall, cpu, rss_kib = json.loads(out.stdout)
    return code, wall, cpu, rss_kib / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cesync", default="build/src/cli/cesync")
    parser.add_argument("--sizes", default="10000,100000", help="rows per table, comma-separated")
    parser.add_argument("--cassandra", default=os.environ.get("CESYNC_CASSANDRA", "127.0.0.1:9042"))
    parser.add_argument("--search", default=os.environ.get("CESYNC_OPENSEARCH", "http://127.0.0.1:9200"))
    parser.add_argument("--keep", action="store_true", help="keep the keyspace, indices and configs")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    host, port = args.cassandra.rsplit(":", 1)
    cluster = Cluster([host], port=int(port), protocol_version=5)
    session_timeout = 60
    session = cluster.connect()
    session.default_timeout = session_timeout
    session.execute(f"DROP KEYSPACE IF EXISTS {KEYSPACE}", timeout=120)
    session.execute(f"CREATE KEYSPACE {KEYSPACE} WITH replication = "
                    "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    work = tempfile.mkdtemp(prefix="cesync-verify-bench-")
    results = []
    try:
        for rows in sizes:
            table = f"t{rows}"
            session.execute(f"CREATE TABLE {KEYSPACE}.{table} (k int, c int, name text, n bigint, "
                            "score double, active boolean, tags set<text>, note text, PRIMARY KEY (k, c))")
            ins = session.prepare(f"INSERT INTO {KEYSPACE}.{table} (k, c, name, n, score, active, tags, note) "
                                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            data = ((i // 10, i % 10, f"name-{i}", i * 7, i / 3.0, i % 2 == 0, {f"t{i % 5}", f"u{i % 7}"},
                     "x" * (300 + i % 200)) for i in range(rows))
            execute_concurrent_with_args(session, ins, data, concurrency=128, raise_on_first_error=True)
            config = os.path.join(work, f"{table}.yaml")
            with open(config, "w") as f:
                f.write(f"cassandra:\n  contact_points: [\"{args.cassandra}\"]\n  consistency: ONE\n"
                        f"search:\n  urls: [\"{args.search}\"]\n"
                        f"changelog:\n  replication: \"{{'class': 'SimpleStrategy', 'replication_factor': 1}}\"\n"
                        f"state:\n  path: {os.path.join(work, table + '.db')}\n"
                        f"admin:\n  listen: \"\"\n"
                        f"tables:\n  - table: {KEYSPACE}.{table}\n")
            for cmd in (["setup"], ["run", "--once"]):
                subprocess.run([args.cesync, *cmd, "--config", config], check=True, capture_output=True)
            index = f"{KEYSPACE}_{table}"
            clean = measure([args.cesync, "verify", "--config", config])
            # 1% of the documents deleted: each a difference to read again.
            rng = random.Random(rows)
            gone = rng.sample(range(rows), rows // 100)
            for i in gone:
                doc = json.dumps([i // 10, i % 10], separators=(",", ":"))
                requests.delete(f"{args.search}/{index}/_doc/{requests.utils.quote(doc, safe='')}", timeout=30)
            dirty = measure([args.cesync, "verify", "--config", config, "--recheck-after", "1"])
            results.append((rows, clean, dirty, len(gone)))
            print(f"{rows} rows: in sync: exit {clean[0]}, {clean[1]:.1f} s, {clean[2]:.1f} s CPU, "
                  f"{clean[3]:.1f} MiB; {len(gone)} missing: exit {dirty[0]}, {dirty[1]:.1f} s, "
                  f"{dirty[2]:.1f} s CPU, {dirty[3]:.1f} MiB", flush=True)
            if not args.keep:
                requests.delete(f"{args.search}/{index}", timeout=60)
    finally:
        if args.keep:
            print(f"kept: keyspace {KEYSPACE}, configs in {work}")
        else:
            session.execute(f"DROP KEYSPACE IF EXISTS {KEYSPACE}", timeout=120)
        cluster.shutdown()
    print("\n| rows | verify, in sync: wall / CPU / peak RSS | 1% deleted: wall / CPU / peak RSS |")
    print("|---:|---|---|")
    for rows, clean, dirty, _ in results:
        print(f"| {rows:,} | {clean[1]:.1f} s / {clean[2]:.1f} s / {clean[3]:.1f} MiB "
              f"| {dirty[1]:.1f} s / {dirty[2]:.1f} s / {dirty[3]:.1f} MiB |")
    bad = [r for r in results if r[1][0] != 0 or r[2][0] != 1]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
