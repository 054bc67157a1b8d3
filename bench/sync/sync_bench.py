#!/usr/bin/env python3
"""End-to-end benchmark of cesync against the local cluster (BENCHMARKS.md, "Sync benchmark").

Run through bench/run, which starts the cluster if needed and passes the binary. In one run:

  snapshot  A table of --rows rows (mixed types, ~1 KB each) loaded with the Python driver, then
            copied by `cesync snapshot`, and by a plain Python sync (cassandra-driver paged scan +
            opensearch-py helpers.bulk), into fresh indices. Also a 10,000-row table, so that the
            daemon's CPU time and peak RSS can be compared across sizes.
  stream    --stream-rows rows written while the daemon is stopped, then `cesync run --once`
            drains that backlog (change log -> re-read -> _bulk); the same documents, exported as
            NDJSON beforehand, are posted to a fresh index with _bulk (the limit).
  fresh     The daemon runs; a writer process writes new rows at fixed rates (--rates); the time
            from each write until the document is found by _search (polling) gives p50/p99.
            Then the same writes go straight to an index with _bulk: the engine's own floor.
  edits     A to_cassandra table: --edit-docs documents are bulk-written to its index; the time
            until all of them are rows in Cassandra.

Every cesync process runs under /usr/bin/time -v (CPU seconds, peak RSS). Results are printed as
a Markdown table and written as JSON (--out). The keyspace `bench` and the indices `bench_*` are
dropped at the start and (unless --keep) at the end.
"""
import argparse
import concurrent.futures
import datetime
import decimal
import json
import multiprocessing
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import requests

KS = "bench"
COLUMNS = """
    id text PRIMARY KEY,
    name text,
    category text,
    price decimal,
    qty int,
    views bigint,
    score double,
    active boolean,
    created timestamp,
    owner uuid,
    tags set<text>,
    attrs map<text, int>,
    body text"""
INSERT_COLUMNS = ["id", "name", "category", "price", "qty", "views", "score", "active", "created",
                  "owner", "tags", "attrs", "body"]
WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november "
         "oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu cassandra "
         "search index replica token partition cluster shard document stream snapshot").split()
CATEGORIES = ["books", "garden", "tools", "music", "games", "kitchen", "sports", "toys"]


def now_text():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def loadavg():
    return "%.2f %.2f %.2f" % os.getloadavg()


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def server_pids():
    """{"cassandra": pid, "opensearch": pid} of the local cluster (scripts/cluster status)."""
    out = subprocess.run([os.path.join(ROOT, "scripts", "cluster"), "status"], capture_output=True,
                         text=True).stdout
    pids = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 4 and f[0] in ("cassandra", "opensearch") and f[2] == "pid":
            pids[f[0]] = int(f[3])
    return pids


def server_cpu():
    """CPU seconds each server process has used so far."""
    tick = os.sysconf("SC_CLK_TCK")
    used = {}
    for name, pid in server_pids().items():
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            used[name] = (int(fields[11]) + int(fields[12])) / tick
        except OSError:
            pass
    return used


def cpu_since(before):
    after = server_cpu()
    return {k: round(after[k] - before[k], 2) for k in after if k in before}


def pin_servers(on):
    """--pin: Cassandra on CPU 0, the search engine on CPU 1, this harness (and every process it
    starts: cesync, the writers, the raw _bulk poster) on CPU 0; off restores every CPU."""
    every = f"0-{os.cpu_count() - 1}"
    for name, pid in server_pids().items():
        cpus = ("0" if name == "cassandra" else "1") if on else every
        subprocess.run(["taskset", "-a", "-p", "-c", cpus, str(pid)], check=True,
                       stdout=subprocess.DEVNULL)
    os.sched_setaffinity(0, {0} if on else set(range(os.cpu_count())))


def log(*parts):
    print(f"[{time.strftime('%H:%M:%S')}] " + " ".join(str(p) for p in parts), file=sys.stderr,
          flush=True)


# ---------------------------------------------------------------------------------------------
# Rows: deterministic, ~1 KB, mixed types


class RowMaker:
    def __init__(self, seed=7):
        rnd = random.Random(seed)
        self.bodies = [" ".join(rnd.choice(WORDS) for _ in range(110))[:760] for _ in range(512)]
        self.names = [" ".join(rnd.choice(WORDS) for _ in range(4)) for _ in range(256)]
        self.base = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)

    def row(self, key, i):
        return (key, self.names[i % 256], CATEGORIES[i % 8],
                decimal.Decimal(i % 100000) / 100, i % 1000, i * 37, (i % 997) / 7.0, i % 3 == 0,
                self.base + datetime.timedelta(seconds=i), uuid.UUID(int=(i * 2654435761) % (1 << 128)),
                {WORDS[i % len(WORDS)], WORDS[(i // 7) % len(WORDS)], "t%d" % (i % 100)},
                {"a": i % 10, "b": i % 100, "c": i % 1000},
                self.bodies[i % 512] + " #%d" % i)

    def document(self, key, i, updated_ms):
        """The row as a document a search-side writer would index (for the edits phase)."""
        r = self.row(key, i)
        doc = dict(zip(INSERT_COLUMNS, r))
        doc["price"] = str(doc["price"])
        doc["created"] = doc["created"].strftime("%Y-%m-%dT%H:%M:%S.000Z")
        doc["owner"] = str(doc["owner"])
        doc["tags"] = sorted(doc["tags"])
        doc["updated"] = (datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
                          + datetime.timedelta(milliseconds=updated_ms)).strftime(
                              "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        return doc


def cluster_session(contact, row_factory=None):
    from cassandra.cluster import Cluster, ExecutionProfile, EXEC_PROFILE_DEFAULT
    from cassandra.policies import RoundRobinPolicy
    from cassandra.query import named_tuple_factory
    host, _, port = contact.partition(":")
    profile = ExecutionProfile(load_balancing_policy=RoundRobinPolicy(), request_timeout=60,
                               row_factory=row_factory or named_tuple_factory)
    cluster = Cluster([host], port=int(port or 9042), protocol_version=5,
                      execution_profiles={EXEC_PROFILE_DEFAULT: profile})
    return cluster, cluster.connect()


def _load_part(args):
    contact, table, prefix, start, stop, concurrency = args
    from cassandra.concurrent import execute_concurrent_with_args
    cluster, session = cluster_session(contact)
    try:
        stmt = session.prepare(f"INSERT INTO {KS}.{table} ({', '.join(INSERT_COLUMNS)}) "
                               f"VALUES ({', '.join('?' * len(INSERT_COLUMNS))})")
        maker = RowMaker()
        chunk = 5000
        for lo in range(start, stop, chunk):
            rows = [maker.row(f"{prefix}{i:09d}", i) for i in range(lo, min(stop, lo + chunk))]
            for ok, res in execute_concurrent_with_args(session, stmt, rows, concurrency=concurrency,
                                                        raise_on_first_error=False):
                if not ok:
                    raise RuntimeError(f"insert failed: {res}")
    finally:
        cluster.shutdown()
    return stop - start


def load_rows(contact, table, prefix, count, processes=2, concurrency=96):
    """Writes `count` rows with the official driver (prepared INSERTs, execute_concurrent) from
    `processes` processes; returns writes/s."""
    t0 = time.perf_counter()
    step = (count + processes - 1) // processes
    parts = [(contact, table, prefix, lo, min(count, lo + step), concurrency)
             for lo in range(0, count, step)]
    with multiprocessing.get_context("spawn").Pool(len(parts)) as pool:
        done = sum(pool.map(_load_part, parts))
    assert done == count
    return count / (time.perf_counter() - t0)


# ---------------------------------------------------------------------------------------------
# The search engine through HTTP


class Engine:
    def __init__(self, url):
        self.url = url.rstrip("/")
        self.http = requests.Session()

    def req(self, method, path, body=None, ok=(200, 201), raw=None, **params):
        data = raw if raw is not None else (None if body is None else json.dumps(body))
        ctype = "application/x-ndjson" if raw is not None else "application/json"
        r = self.http.request(method, self.url + path, params=params or None, data=data,
                              headers={"Content-Type": ctype}, timeout=120)
        if r.status_code not in ok:
            raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:500]}")
        return r.json() if r.content else None

    def version(self):
        info = self.req("GET", "/")
        return info["version"].get("distribution", "elasticsearch"), info["version"]["number"]

    def drop_prefix(self, prefix):
        listing = self.req("GET", f"/_cat/indices/{prefix}*", ok=(200, 404), format="json") or []
        for entry in listing:
            if isinstance(entry, dict) and entry.get("index", "").startswith(prefix):
                self.req("DELETE", "/" + entry["index"], ok=(200, 404))

    def count(self, index, refresh=True):
        if refresh:
            self.req("POST", f"/{index}/_refresh")
        return self.req("GET", f"/{index}/_count")["count"]

    def clone_empty(self, source, target, settings=None):
        """Creates `target` with the mapping of `source` (and its shard counts)."""
        mapping = self.req("GET", f"/{source}/_mapping")[source]["mappings"]
        s = self.req("GET", f"/{source}/_settings")[source]["settings"]["index"]
        body = {"settings": {"number_of_shards": s["number_of_shards"],
                             "number_of_replicas": s["number_of_replicas"], **(settings or {})},
                "mappings": mapping}
        self.req("PUT", f"/{target}", body)

    def scan(self, index, page=5000):
        """Every hit (with _version) of the index, sorted on cesync_id."""
        self.req("POST", f"/{index}/_refresh")
        after = None
        while True:
            body = {"size": page, "query": {"match_all": {}}, "version": True,
                    "sort": [{"cesync_id": "asc"}]}
            if after is not None:
                body["search_after"] = after
            hits = self.req("POST", f"/{index}/_search", body)["hits"]["hits"]
            yield from hits
            if len(hits) < page:
                return
            after = hits[-1]["sort"]


# ---------------------------------------------------------------------------------------------
# cesync processes


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cesync:
    """One configuration of the daemon (its own state file), every process under time -v."""

    settings = {}  # section -> {key: value}: more settings for every configuration (--set)

    def __init__(self, binary, workdir, name, tables, contact, search_url):
        self.binary, self.workdir, self.name = binary, workdir, name
        self.port = free_port()
        self.config = os.path.join(workdir, f"{name}.yaml")
        sections = {
            "cassandra": {"contact_points": f"['{contact}']", "consistency": "ONE"},
            "search": {"urls": f"['{search_url}']"},
            "changelog": {"replication": "\"{'class': 'SimpleStrategy', 'replication_factor': 1}\""},
            "state": {"path": f"'{os.path.join(workdir, name + '.db')}'"},
            "admin": {"listen": f"'127.0.0.1:{self.port}'"},
            "log": {"level": "info"},
        }
        for section, values in Cesync.settings.items():
            sections.setdefault(section, {}).update(values)
        lines = [f"{section}: {{" + ", ".join(f"{k}: {v}" for k, v in values.items()) + "}"
                 for section, values in sections.items()] + ["tables:"]
        for table, opts in tables:
            lines.append(f"  - table: {KS}.{table}")
            lines += [f"    {k}: {v}" for k, v in opts.items()]
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = None
        self.runs = 0

    def _argv(self, args, tag):
        self.runs += 1
        timing = os.path.join(self.workdir, f"{self.name}-{self.runs:02d}-{tag}.time")
        logfile = os.path.join(self.workdir, f"{self.name}-{self.runs:02d}-{tag}.log")
        return (["/usr/bin/time", "-v", "-o", timing, self.binary, *args, "--config", self.config],
                timing, logfile)

    def command(self, *args, timeout=3600):
        """Runs to completion; returns (wall seconds, usage dict)."""
        argv, timing, logfile = self._argv(args, args[0])
        t0 = time.perf_counter()
        with open(logfile, "wb") as out:
            rc = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, timeout=timeout).returncode
        wall = time.perf_counter() - t0
        if rc != 0:
            raise RuntimeError(f"cesync {' '.join(args)} exited {rc}; see {logfile}:\n"
                               + open(logfile, errors="replace").read()[-3000:])
        return wall, parse_time(timing)

    def start(self):
        argv, self.timing, self.logfile = self._argv(["run"], "run")
        self.out = open(self.logfile, "wb")
        self.proc = subprocess.Popen(argv, stdout=self.out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while True:
            self.check()
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/readyz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"cesync run not ready after 120 s; see {self.logfile}")
            time.sleep(0.2)

    def check(self):
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"cesync run exited with {self.proc.returncode}; see {self.logfile}")

    def stop(self):
        """SIGTERM to time(1)'s child (the daemon); returns the usage of the run."""
        self.check()
        children = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True,
                                  text=True).stdout.split()
        for pid in children:
            os.kill(int(pid), signal.SIGTERM)
        rc = self.proc.wait(90)
        self.out.close()
        self.proc = None
        if rc != 0:
            raise RuntimeError(f"cesync run exited {rc} after SIGTERM; see {self.logfile}")
        return parse_time(self.timing)


def parse_time(path):
    text = open(path).read()

    def field(name):
        m = re.search(re.escape(name) + r":\s*(\S+)", text)
        return m.group(1) if m else "0"
    return {"cpu_s": float(field("User time (seconds)")) + float(field("System time (seconds)")),
            "rss_mb": int(field("Maximum resident set size (kbytes)")) / 1024.0}


def wait_for(fn, timeout, what, interval=0.25, check=None):
    deadline = time.monotonic() + timeout
    while True:
        if check is not None:
            check()
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


# ---------------------------------------------------------------------------------------------
# The Python sync: what a user would write with the official drivers


def _json_value(v):
    if isinstance(v, (datetime.datetime, datetime.date)):
        return v.isoformat()
    if isinstance(v, (uuid.UUID, decimal.Decimal)):
        return str(v)
    if hasattr(v, "items"):
        return {str(k): _json_value(x) for k, x in v.items()}
    if isinstance(v, (str, bytes, int, float, bool)) or v is None:
        return v
    return [_json_value(x) for x in v]  # list, set, SortedSet, tuple


def python_sync(contact, search_url, table, index, seconds):
    """cassandra-driver paged scan + opensearch-py helpers.bulk, one process; stops after
    `seconds`. Returns (rows acknowledged, wall seconds, CPU seconds of this process)."""
    from cassandra.query import SimpleStatement, dict_factory
    from opensearchpy import OpenSearch, helpers
    cluster, session = cluster_session(contact, dict_factory)
    client = OpenSearch([search_url], timeout=120)
    deadline = time.perf_counter() + seconds
    cpu0 = time.process_time()
    t0 = time.perf_counter()

    def actions():
        for row in session.execute(SimpleStatement(f"SELECT * FROM {KS}.{table}", fetch_size=1000)):
            if time.perf_counter() > deadline:
                return
            yield {"_index": index, "_id": row["id"],
                   "_source": {k: _json_value(v) for k, v in row.items()}}

    ok = 0
    for good, item in helpers.streaming_bulk(client, actions(), chunk_size=1000,
                                             max_chunk_bytes=5 * 1024 * 1024, raise_on_error=True):
        ok += 1 if good else 0
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    cluster.shutdown()
    return ok, wall, cpu


# ---------------------------------------------------------------------------------------------
# Freshness: a paced writer process and a poller


def _paced_writer(contact, table, prefix, rate, seconds, queue, start_at, direct=None):
    """Writes `rate` rows a second into Cassandra, or, with `direct` = (search URL, index), the
    same rows as documents straight into the index with _bulk (the engine's own floor)."""
    maker = RowMaker()
    if direct is None:
        cluster, session = cluster_session(contact)
        stmt = session.prepare(f"INSERT INTO {KS}.{table} ({', '.join(INSERT_COLUMNS)}) "
                               f"VALUES ({', '.join('?' * len(INSERT_COLUMNS))})")
    else:
        url, index = direct
        pool = concurrent.futures.ThreadPoolExecutor(4)
        local = threading.local()
        outstanding = []

        def post(lines):
            if not hasattr(local, "http"):
                local.http = requests.Session()
            r = local.http.post(f"{url}/_bulk", data="".join(lines),
                                headers={"Content-Type": "application/x-ndjson"}, timeout=60)
            if r.status_code != 200 or r.json().get("errors"):
                raise RuntimeError(f"_bulk: {r.status_code} {r.text[:300]}")
        lines = []
        last_flush = [0.0]

        def flush(every_s=0.0):
            # At most one request per `every_s`: what came due since the last one.
            if lines and time.monotonic() - last_flush[0] >= every_s:
                outstanding.append(pool.submit(post, list(lines)))
                lines.clear()
                last_flush[0] = time.monotonic()
    total = int(rate * seconds)
    # One write in `every` is timed; about 100 a second.
    every = max(1, int(rate // 100))
    inflight = threading.Semaphore(256)
    errors = [0]

    def done(_res):
        inflight.release()

    def failed(_exc):
        errors[0] += 1
        inflight.release()

    while time.monotonic() < start_at:
        time.sleep(0.001)
    t0 = time.monotonic()
    batch = []
    for i in range(total):
        due = t0 + i / rate
        now = time.monotonic()
        if due > now:
            if batch:
                queue.put(batch)
                batch = []
            if direct is not None:
                flush(0.02)  # a request every 20 ms
            time.sleep(due - now)
        key = f"{prefix}{i:09d}"
        sent = time.monotonic()
        if direct is None:
            inflight.acquire()
            fut = session.execute_async(stmt, maker.row(key, i))
            fut.add_callbacks(done, failed)
        else:
            doc = maker.document(key, i, 0)
            del doc["updated"]
            lines.append(json.dumps({"index": {"_index": index, "_id": key}}) + "\n")
            lines.append(json.dumps(doc, default=str) + "\n")
        if i % every == 0:
            batch.append((key, sent))
    if direct is None:
        for _ in range(256):
            inflight.acquire()
    else:
        flush()
        for f in outstanding:
            try:
                f.result()
            except Exception:  # noqa: BLE001 - counted, the phase reports it
                errors[0] += 1
        pool.shutdown()
    wall = time.monotonic() - t0
    if batch:
        queue.put(batch)
    queue.put(("done", total / wall, errors[0]))
    if direct is None:
        cluster.shutdown()


def freshness(engine, contact, table, index, rate, seconds, daemon, direct=False):
    """p50/p99 seconds from sending a write to finding its document with _search. With `direct`,
    the writes go straight to the index (no cesync): the engine's own floor."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    start_at = time.monotonic() + 3.0
    proc = ctx.Process(target=_paced_writer,
                       args=(contact, table, f"f{rate}-", rate, seconds, queue, start_at,
                             (engine.url, index) if direct else None))
    proc.start()
    pending = {}
    latencies = []
    achieved = None
    errors = 0
    deadline = start_at + seconds + 60
    while achieved is None or pending:
        if daemon is not None:
            daemon.check()
        while True:
            try:
                item = queue.get_nowait()
            except Exception:
                break
            if isinstance(item, tuple) and item and item[0] == "done":
                achieved, errors = item[1], item[2]
            else:
                pending.update(item)
        if pending:
            ids = list(pending)[:1000]
            hits = engine.req("POST", f"/{index}/_search",
                              {"size": len(ids), "_source": False,
                               "query": {"ids": {"values": ids}}})["hits"]["hits"]
            seen = time.monotonic()
            for h in hits:
                sent = pending.pop(h["_id"], None)
                if sent is not None:
                    latencies.append(seen - sent)
        if time.monotonic() > deadline:
            raise RuntimeError(f"freshness at {rate}/s: {len(pending)} documents never searchable")
        time.sleep(0.02)
    proc.join(30)
    latencies.sort()

    def pct(p):
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))]
    return {"rate": rate, "achieved": achieved, "samples": len(latencies), "errors": errors,
            "p50": pct(0.50), "p99": pct(0.99), "max": latencies[-1]}


# ---------------------------------------------------------------------------------------------
# The phases


def drop_all(session, engine):
    session.execute(f"DROP KEYSPACE IF EXISTS {KS}", timeout=120)
    engine.drop_prefix("bench_")


def create_table(session, name, extra=""):
    session.execute(f"CREATE TABLE {KS}.{name} ({COLUMNS}{extra})", timeout=60)


def phase_snapshot(a, env, results):
    session, engine = env["session"], env["engine"]
    sizes = sorted({min(10000, a.rows), a.rows})
    for n in sizes:
        table = f"items_{n}"
        create_table(session, table)
        log(f"snapshot: loading {n:,} rows into {KS}.{table} (no trigger yet)")
        rate = load_rows(a.cassandra, table, "k", n)
        log(f"snapshot: loaded at {rate:,.0f} writes/s")
        index = f"bench_{table}"
        d = Cesync(a.bin, env["work"], f"snap{n}", [(table, {"index": index})], a.cassandra,
                   a.search)
        d.command("setup")
        engine.req("PUT", f"/{index}/_settings", {"index": {"refresh_interval": "1s"}})
        load = loadavg()
        log(f"snapshot: cesync snapshot of {n:,} rows (load {load})")
        wall, usage = d.command("snapshot")
        got = engine.count(index)
        assert got == n, f"cesync snapshot indexed {got} of {n} rows"
        results["snapshot"].append({"rows": n, "tool": "cesync", "wall": wall, "rows_s": n / wall,
                                    "load": load, **usage})
        log(f"snapshot: cesync {n / wall:,.0f} rows/s, {usage}")
        if n == a.rows:
            py_index = f"bench_py_{n}"
            engine.clone_empty(index, py_index, {"refresh_interval": "1s"})
            load = loadavg()
            log(f"snapshot: Python sync of {n:,} rows, at most {a.py_seconds} s (load {load})")
            ok, pwall, pcpu = python_sync(a.cassandra, a.search, table, py_index, a.py_seconds)
            got = engine.count(py_index)
            assert got == ok, f"the Python sync acknowledged {ok} rows, the index holds {got}"
            results["snapshot"].append({"rows": n, "tool": "python", "done": ok, "wall": pwall,
                                        "rows_s": ok / pwall, "load": load, "cpu_s": pcpu,
                                        "rss_mb": None})
            log(f"snapshot: Python {ok / pwall:,.0f} rows/s ({ok:,} rows in {pwall:.1f} s)")
            engine.req("DELETE", f"/{py_index}")
        # Free the disk and the engine's heap for the next phases.
        engine.req("DELETE", f"/{index}")
        session.execute(f"DROP TABLE {KS}.{table}", timeout=120)


def export_ndjson(engine, index, target, path):
    """The index's documents as _bulk index actions (external_gte, their versions) for
    `target`, cut into bodies of at most 5 MiB (cesync's default request size)."""
    bodies, body, size, docs = [], [], 0, 0
    for h in engine.scan(index):
        action = json.dumps({"index": {"_index": target, "_id": h["_id"], "version": h["_version"],
                                       "version_type": "external_gte"}}, separators=(",", ":"))
        source = json.dumps(h["_source"], separators=(",", ":"), ensure_ascii=False)
        line = (action + "\n" + source + "\n").encode()
        if size + len(line) > 5 * 1024 * 1024 and body:
            bodies.append(b"".join(body))
            body, size = [], 0
        body.append(line)
        size += len(line)
        docs += 1
    if body:
        bodies.append(b"".join(body))
    with open(path, "wb") as f:
        for b in bodies:
            f.write(b)
    return bodies, docs


def post_bulk(engine, bodies, in_flight=4):
    """Posts the bodies, `in_flight` at once (cesync's default); every item must succeed."""
    def one(body):
        with requests.Session() as s:
            r = s.post(engine.url + "/_bulk", data=body,
                       headers={"Content-Type": "application/x-ndjson"}, timeout=300)
            r.raise_for_status()
            answer = r.json()
            if answer.get("errors"):
                bad = [i for i in answer["items"] if list(i.values())[0].get("status", 500) >= 300]
                raise RuntimeError(f"_bulk: {len(bad)} items failed: {bad[:2]}")
            return len(answer["items"])
    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(in_flight) as pool:
        n = sum(pool.map(one, bodies))
    return n, time.perf_counter() - t0


def wait_quiet(server, busy=0.1, timeout=300):
    """Waits until `server` uses under `busy` of a core over a second; returns the seconds."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        before = server_cpu()
        time.sleep(1)
        if cpu_since(before).get(server, 0.0) < busy:
            break
    return time.monotonic() - t0


def phase_stream(a, env, results):
    session, engine = env["session"], env["engine"]
    n = a.stream_rows
    create_table(session, "stream")
    d = Cesync(a.bin, env["work"], "stream", [("stream", {"index": "bench_stream"})], a.cassandra,
               a.search)
    env["stream_daemon"] = d
    d.command("setup")
    engine.req("PUT", "/bench_stream/_settings", {"index": {"refresh_interval": "1s"}})
    d.command("run", "--once")  # the (empty) snapshot, and the stream's first checkpoint
    log(f"stream: writing {n:,} rows with the daemon stopped")
    rate = load_rows(a.cassandra, "stream", "s", n)
    log(f"stream: loaded at {rate:,.0f} writes/s")
    waited = wait_quiet("cassandra") if a.quiet_drain else None
    if waited is not None:
        log(f"stream: Cassandra quiet after {waited:.1f} s (flushes and compactions of the load)")
    load = loadavg()
    cpu = server_cpu()
    wall, usage = d.command("run", "--once")
    servers = cpu_since(cpu)
    got = engine.count("bench_stream")
    assert got == n, f"cesync run --once indexed {got} of {n} rows"
    results["stream"] = {"rows": n, "wall": wall, "rows_s": n / wall, "load": load,
                         "loader_writes_s": rate, "server_cpu_s": servers, "quiet_wait_s": waited,
                         **usage}
    log(f"stream: cesync drained {n:,} changes at {n / wall:,.0f}/s, {usage} (load {load})")
    ndjson = os.path.join(env["work"], "stream.ndjson")
    bodies, docs = export_ndjson(engine, "bench_stream", "bench_raw", ndjson)
    assert docs == n
    raw = []
    for attempt in range(a.raw_rounds):
        engine.drop_prefix("bench_raw")
        engine.clone_empty("bench_stream", "bench_raw", {"refresh_interval": "1s"})
        load = loadavg()
        cpu = server_cpu()
        items, rwall = post_bulk(engine, bodies)
        servers = cpu_since(cpu)
        assert items == n and engine.count("bench_raw") == n
        raw.append({"wall": rwall, "docs_s": n / rwall, "load": load, "server_cpu_s": servers})
        log(f"stream: raw _bulk {n / rwall:,.0f} docs/s (load {load})")
    engine.drop_prefix("bench_raw")
    os.unlink(ndjson)
    raw.sort(key=lambda r: r["docs_s"])
    results["raw_bulk"] = {"docs": n, "bytes": sum(len(b) for b in bodies),
                           "requests": len(bodies), "runs": raw, "median": raw[len(raw) // 2]}


def phase_fresh(a, env, results):
    session, engine = env["session"], env["engine"]
    d = env.get("stream_daemon")
    if d is None:
        create_table(session, "stream")
        d = Cesync(a.bin, env["work"], "stream", [("stream", {"index": "bench_stream"})],
                   a.cassandra, a.search)
        d.command("setup")
        engine.req("PUT", "/bench_stream/_settings", {"index": {"refresh_interval": "1s"}})
    refresh = engine.req("GET", "/bench_stream/_settings")["bench_stream"]["settings"]["index"].get(
        "refresh_interval", "1s (default)")
    d.start()
    try:
        for rate in a.rates:
            load = loadavg()
            log(f"fresh: {rate}/s for {a.fresh_seconds} s (load {load})")
            r = freshness(engine, a.cassandra, "stream", "bench_stream", rate, a.fresh_seconds, d)
            r.update(load=load, refresh=refresh)
            results["fresh"].append(r)
            log(f"fresh: achieved {r['achieved']:,.0f}/s, p50 {r['p50']:.3f} s, p99 {r['p99']:.3f} s")
    finally:
        usage = d.stop()
    results["fresh_daemon"] = usage
    # The floor: the same writes sent straight to an index of the same mapping and refresh.
    engine.clone_empty("bench_stream", "bench_direct", {"refresh_interval": "1s"})
    for rate in a.rates:
        load = loadavg()
        log(f"fresh (straight to the index): {rate}/s for {a.fresh_seconds} s (load {load})")
        r = freshness(engine, a.cassandra, "stream", "bench_direct", rate, a.fresh_seconds, None,
                      direct=True)
        r.update(load=load, refresh=refresh)
        results["fresh_direct"].append(r)
        log(f"fresh (straight): achieved {r['achieved']:,.0f}/s, p50 {r['p50']:.3f} s, "
            f"p99 {r['p99']:.3f} s")


def phase_edits(a, env, results):
    session, engine = env["session"], env["engine"]
    n = a.edit_docs
    create_table(session, "edits", ",\n    updated timestamp")
    d = Cesync(a.bin, env["work"], "edits",
               [("edits", {"index": "bench_edits", "direction": "to_cassandra",
                           "timestamp_column": "updated"})], a.cassandra, a.search)
    d.command("setup")
    maker = RowMaker()
    base_ms = int(time.time() * 1000)
    lines = []
    for i in range(n):
        key = f"e{i:09d}"
        lines.append(json.dumps({"index": {"_index": "bench_edits", "_id": key}}))
        lines.append(json.dumps(maker.document(key, i, base_ms + i // 100)))
    bodies, body, size = [], [], 0
    for j in range(0, len(lines), 2):
        pair = (lines[j] + "\n" + lines[j + 1] + "\n").encode()
        if size + len(pair) > 5 * 1024 * 1024 and body:
            bodies.append(b"".join(body))
            body, size = [], 0
        body.append(pair)
        size += len(pair)
    bodies.append(b"".join(body))
    d.start()
    try:
        load = loadavg()
        log(f"edits: {n:,} documents written to bench_edits (load {load})")
        t0 = time.perf_counter()
        post_bulk(engine, bodies)
        t_indexed = time.perf_counter() - t0
        count = session.prepare(f"SELECT count(*) FROM {KS}.edits")

        def all_in():
            return session.execute(count, timeout=60).one()[0] >= n
        wait_for(all_in, 600, f"{n} rows in {KS}.edits", interval=0.5, check=d.check)
        wall = time.perf_counter() - t0
    finally:
        usage = d.stop()
    results["edits"] = {"docs": n, "wall": wall, "docs_s": n / wall, "bulk_s": t_indexed,
                        "load": load, **usage}
    log(f"edits: {n:,} documents in Cassandra after {wall:.1f} s ({n / wall:,.0f}/s)")


# ---------------------------------------------------------------------------------------------
# Report


def machine(env, a):
    mem = "?"
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = "%.1f GiB" % (int(line.split()[1]) / 1024 / 1024)
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    flavour, version = env["engine"].version()
    cass = env["session"].execute("SELECT release_version FROM system.local").one()[0]
    ver = subprocess.run([a.bin, "--version"], capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    import cassandra
    import opensearchpy
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory": mem, "cassandra": cass,
            "search": f"{flavour} {version}", "cesync": f"{ver} ({commit})",
            "python": sys.version.split()[0], "cassandra_driver": cassandra.__version__,
            "opensearch_py": ".".join(map(str, opensearchpy.VERSION)), "started": now_text(),
            "load_start": loadavg()}


def report(res):
    m = res["machine"]
    out = [f"machine: {m['nproc']} cores ({m['cpu']}), {m['memory']}; load at start {m['load_start']}",
           f"versions: Cassandra {m['cassandra']}, {m['search']}, {m['cesync']}, Python {m['python']}, "
           f"cassandra-driver {m['cassandra_driver']}, opensearch-py {m['opensearch_py']}",
           f"command: {res['command']}", "",
           "| measure | value | target | met | load avg |", "|---|---|---|---|---|"]

    def row(what, value, target="", met="", load=""):
        out.append(f"| {what} | {value} | {target} | {met} | {load} |")
    snaps = res["snapshot"]
    py = [s for s in snaps if s["tool"] == "python"]
    for s in snaps:
        if s["tool"] == "cesync":
            row(f"snapshot, cesync, {s['rows']:,} rows", f"{s['rows_s']:,.0f} rows/s ({s['wall']:.1f} s)",
                load=s["load"])
    for s in py:
        row(f"snapshot, Python sync, {s['rows']:,} rows table ({s['done']:,} copied)",
            f"{s['rows_s']:,.0f} rows/s ({s['wall']:.1f} s)", load=s["load"])
        ce = [c for c in snaps if c["tool"] == "cesync" and c["rows"] == s["rows"]][0]
        ratio = ce["rows_s"] / s["rows_s"]
        row("snapshot, cesync / Python", f"{ratio:.1f}x", ">= 5x", "yes" if ratio >= 5 else "no")
    if "stream" in res:
        st, raw = res["stream"], res["raw_bulk"]["median"]
        quiet = st.get("quiet_wait_s")
        row(f"streaming, cesync drains a backlog of {st['rows']:,} changes"
            + (f" (started once Cassandra was quiet, {quiet:.1f} s after the load)"
               if quiet is not None else ""),
            f"{st['rows_s']:,.0f} changes/s ({st['wall']:.1f} s)", load=st["load"])
        row(f"streaming, raw `_bulk` of the same {st['rows']:,} documents (median of "
            f"{len(res['raw_bulk']['runs'])})", f"{raw['docs_s']:,.0f} docs/s ({raw['wall']:.1f} s)",
            load=raw["load"])
        ratio = st["rows_s"] / raw["docs_s"]
        row("streaming, cesync / raw `_bulk`", f"{ratio:.2f}x", ">= 0.8x", "yes" if ratio >= 0.8 else "no")

        def per_item(cpu, n):
            return ", ".join(f"{k} {v:.1f} s ({v / n * 1e6:.0f} µs each)" for k, v in sorted(cpu.items()))
        if st.get("server_cpu_s"):
            row("streaming: server CPU during the drain", per_item(st["server_cpu_s"], st["rows"]))
        if raw.get("server_cpu_s"):
            row("streaming: server CPU during the raw `_bulk`", per_item(raw["server_cpu_s"], st["rows"]))
    for f in res["fresh"]:
        target = ""
        met = ""
        refresh_s = parse_duration(f["refresh"])
        if refresh_s is not None:
            target = f"p99 <= {refresh_s + 0.5:.1f} s"
            met = "yes" if f["p99"] <= refresh_s + 0.5 else "no"
        row(f"freshness at {f['rate']:,} writes/s (achieved {f['achieved']:,.0f}/s, "
            f"{f['samples']:,} samples, refresh {f['refresh']})",
            f"p50 {f['p50']:.2f} s, p99 {f['p99']:.2f} s, max {f['max']:.2f} s",
            target if f["rate"] >= 2000 else "", met if f["rate"] >= 2000 else "", f["load"])
    for f in res.get("fresh_direct", []):
        row(f"freshness floor: the same {f['rate']:,} writes/s sent straight to the index with "
            f"_bulk (achieved {f['achieved']:,.0f}/s, {f['samples']:,} samples)",
            f"p50 {f['p50']:.2f} s, p99 {f['p99']:.2f} s, max {f['max']:.2f} s", load=f["load"])
    if "edits" in res:
        e = res["edits"]
        row(f"search -> Cassandra, {e['docs']:,} documents", f"{e['docs_s']:,.0f} docs/s ({e['wall']:.1f} s)",
            load=e["load"])
    out += ["", "| cesync process | rows | wall s | CPU s | peak RSS MiB |", "|---|---:|---:|---:|---:|"]
    for s in snaps:
        if s["tool"] == "cesync":
            out.append(f"| snapshot | {s['rows']:,} | {s['wall']:.1f} | {s['cpu_s']:.2f} | {s['rss_mb']:.0f} |")
    if "stream" in res:
        st = res["stream"]
        out.append(f"| run --once (backlog) | {st['rows']:,} | {st['wall']:.1f} | {st['cpu_s']:.2f} | "
                   f"{st['rss_mb']:.0f} |")
    if "fresh_daemon" in res:
        fd = res["fresh_daemon"]
        n = sum(int(f["achieved"] * res["args"]["fresh_seconds"]) for f in res["fresh"])
        out.append(f"| run (freshness phases) | ~{n:,} | | {fd['cpu_s']:.2f} | {fd['rss_mb']:.0f} |")
    if "edits" in res:
        e = res["edits"]
        out.append(f"| run (search -> Cassandra) | {e['docs']:,} | {e['wall']:.1f} | {e['cpu_s']:.2f} | "
                   f"{e['rss_mb']:.0f} |")
    out.append(f"\nload average at the end: {res['load_end']}; finished {res['finished']}")
    return "\n".join(out)


def parse_duration(text):
    m = re.match(r"^(\d+(?:\.\d+)?)(ms|s)\b", str(text))
    if not m:
        return None
    return float(m.group(1)) / (1000 if m.group(2) == "ms" else 1)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", required=True, help="the cesync binary")
    p.add_argument("--rows", type=int, default=1_000_000, help="rows of the snapshot table")
    p.add_argument("--stream-rows", type=int, help="backlog written for the streaming phase "
                   "(default: min(rows, 100000))")
    p.add_argument("--edit-docs", type=int, help="documents of the edits phase (default: "
                   "min(rows, 20000))")
    p.add_argument("--rates", default="500,2000", help="write rates of the freshness phase")
    p.add_argument("--fresh-seconds", type=float, default=30, help="seconds per rate")
    p.add_argument("--py-seconds", type=float, default=120,
                   help="longest the Python sync runs; its rows/s is over what it copied")
    p.add_argument("--raw-rounds", type=int, default=3, help="raw _bulk runs (the median counts)")
    p.add_argument("--phases", default="snapshot,stream,fresh,edits")
    p.add_argument("--changelog", action="append", default=[], metavar="KEY=VALUE",
                   help="a changelog.* setting of the daemon (docs/CONFIG.md), e.g. "
                   "sweep_interval=10s; repeatable (default: the daemon's defaults)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="any setting of the daemon (docs/CONFIG.md), e.g. snapshot.parallelism=8 "
                   "or sync.fetch_in_flight=256; repeatable")
    p.add_argument("--quiet-drain", action="store_true",
                   help="start the backlog drain only once Cassandra has finished flushing and "
                   "compacting what the load wrote, as it has in a backlog of any age")
    p.add_argument("--cassandra", default=os.environ.get("CESYNC_CASSANDRA", "127.0.0.1:9042"))
    p.add_argument("--search", default=os.environ.get("CESYNC_OPENSEARCH", "http://127.0.0.1:9200"))
    p.add_argument("--out", default="bench-results.json", help="JSON results")
    p.add_argument("--keep", action="store_true", help="keep the keyspace, indices and work folder")
    p.add_argument("--pin", action="store_true",
                   help="give each server a core of its own for the run (Cassandra and this "
                   "harness with cesync on CPU 0, the search engine on CPU 1), as on separate hosts")
    a = p.parse_args()
    a.stream_rows = a.stream_rows or min(a.rows, 100_000)
    a.edit_docs = a.edit_docs or min(a.rows, 20_000)
    a.rates = [int(r) for r in a.rates.split(",") if r]
    phases = a.phases.split(",")
    for kv in [f"changelog.{c}" for c in a.changelog] + a.set:
        key, _, value = kv.partition("=")
        section, _, name = key.partition(".")
        if not name or not value:
            p.error(f"--set {kv}: expected SECTION.KEY=VALUE")
        Cesync.settings.setdefault(section, {})[name] = value

    engine = Engine(a.search)
    cluster, session = cluster_session(a.cassandra)
    work = tempfile.mkdtemp(prefix="cesync-bench-")
    env = {"session": session, "engine": engine, "work": work}
    results = {"args": vars(a), "command": "bench/run " + " ".join(sys.argv[3:]), "snapshot": [],
               "fresh": [], "fresh_direct": []}
    results["machine"] = machine(env, a)
    log("machine:", results["machine"])
    drop_all(session, engine)
    session.execute(f"CREATE KEYSPACE {KS} WITH replication = "
                    "{'class': 'SimpleStrategy', 'replication_factor': 1}", timeout=60)
    if a.pin:
        pin_servers(True)
    try:
        for name in phases:
            {"snapshot": phase_snapshot, "stream": phase_stream, "fresh": phase_fresh,
             "edits": phase_edits}[name](a, env, results)
    finally:
        if a.pin:
            pin_servers(False)
        results["load_end"] = loadavg()
        results["finished"] = now_text()
        d = env.get("stream_daemon")
        if d is not None and d.proc is not None:
            d.proc.kill()
        if not a.keep:
            drop_all(session, engine)
            shutil.rmtree(work, ignore_errors=True)
        else:
            log("kept the work folder", work)
        cluster.shutdown()
    with open(a.out, "w") as f:
        json.dump(results, f, indent=2, default=str)
    print(report(results))


if __name__ == "__main__":
    main()
