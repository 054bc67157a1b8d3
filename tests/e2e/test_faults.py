"""The fault suite (issue #11): a write workload on both sides (rows written to Cassandra, documents
edited in the index of a two-way table, rows of a plain to_search table) runs while the suite

  - SIGKILLs the daemon at random points (KILLS times, seeded) and restarts it at once;
  - kills it once more and leaves it down for LEFT_BEHIND_SECONDS, longer than the confidence
    window and than half of `changelog.ttl` (the daemon must warn: `changelog_behind`);
  - stops the search engine, then Cassandra, for OUTAGE_SECONDS each (the spare servers);
  - points a second daemon at `opensearch-small-queue` (one write thread, a write queue of one)
    and loads it until it answers 429;

then checks record by record that both sides equal what the workload wrote (0 missing, 0 stale,
0 extra), that `cesync verify` agrees, and that the daemons' own counters agree with the workload.
The figures are printed at the end (docs/RELIABILITY.md records a run's).

The expected state is computed by the test itself from the writes that succeeded: every write
carries a distinct millisecond timestamp (`USING TIMESTAMP` in Cassandra, the `updated` field in
the index), so the newest write of each record is its truth on both sides. A writer pauses while
its own side is down, so no write's outcome is in doubt; a write that fails anyway is kept as
"maybe applied" and either outcome is accepted for it.

CESYNC_FAULTS_SEED=N repeats a run's random choices (kill times, writes)."""
import datetime
import json
import os
import random
import threading
import time
import uuid

import requests
from cassandra.cluster import Cluster
from cassandra.concurrent import execute_concurrent_with_args

from cesync_daemon import (Daemon, Search, expected_documents, free_port, index_table_diff, same, timestamp_text,
                           wait_until)
from spares import SPARE_CASSANDRA, SPARE_SEARCH, Outage, spare_session

SEED = int(os.environ.get("CESYNC_FAULTS_SEED") or random.SystemRandom().randrange(1 << 31))
KILLS = 12                 # SIGKILLs at random points, each followed by an immediate restart
RUN_BEFORE_KILL = (0.3, 4.0)  # seconds a daemon runs before its SIGKILL (uniform)
LEFT_BEHIND_SECONDS = 22   # one more kill, then down this long while the writes go on
CONFIDENCE_WINDOW = "5s"
CHANGELOG_TTL = "40s"      # the daemon's idea of the log's lifetime: 22 s + 5 s behind is over half
OUTAGE_SECONDS = 20        # each side down this long, counted from its stop
QUEUE_LOAD_SECONDS = 45    # the small-queue daemon's load phase
START_TIMEOUT = 90         # a daemon streams (/readyz 200) within this long of its start
SYNC_TIMEOUT = 150         # both sides equal the expected records within this long of the end
KEYS = 150                 # records of the two-way table
PARTITIONS = 60            # partitions of the plain table (clustering 0..4 each)
SOFT_DELETE = "cesync_deleted"
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)

BOTH_DDL = "CREATE TABLE {ks}.both_t (k int PRIMARY KEY, v text, n int, tags set<text>, updated timestamp)"
PLAIN_DDL = "CREATE TABLE {ks}.plain_t (k int, c int, v text, n int, tags set<text>, PRIMARY KEY (k, c))"


# ---------------------------------------------------------------------------------------------
# Clocks and the expected state


class Stamps:
    """Distinct millisecond timestamps near now, for every write of the run: the newest write of a
    record is always unambiguous."""

    def __init__(self):
        self.lock = threading.Lock()
        self.last = 0

    def next(self):
        with self.lock:
            self.last = max(self.last + 1, time.time_ns() // 1_000_000)
            return self.last


def ms_of(value):
    """Milliseconds of a timestamp as a document holds it (ISO text or epoch ms) or the driver
    returns it (a naive UTC datetime)."""
    if value is None or isinstance(value, int):
        return value
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return (value - EPOCH) // datetime.timedelta(milliseconds=1)


def record(v, n, tags, updated_ms):
    """One record of the two-way table in the form both sides are compared in."""
    return {"v": v, "n": n, "tags": sorted(tags) if tags else None, "updated": updated_ms}


class Journal:
    """Every write to the two-way table: per key, (order µs, record or None for a delete, sure,
    side). `sure` is False for a write that failed: it may or may not have been applied."""

    def __init__(self):
        self.lock = threading.Lock()
        self.writes = {}

    def add(self, k, order, rec, sure, side):
        with self.lock:
            self.writes.setdefault(k, []).append((order, rec, sure, side))

    def newest_sure(self, k):
        with self.lock:
            sure = [w for w in self.writes.get(k, []) if w[2]]
        return max(sure, key=lambda w: w[0]) if sure else None

    def acceptable(self, k, seeded):
        """The states key k may end in: the newest sure write's (or the seeded row's), and those of
        newer writes whose outcome is unknown."""
        with self.lock:
            writes = sorted(self.writes.get(k, []), key=lambda w: w[0])
        base = seeded.get(k)
        sure = [w for w in writes if w[2]]
        if sure:
            base = sure[-1]
        states = [base[1] if base else None]
        floor = base[0] if base else -1
        states += [w[1] for w in writes if not w[2] and w[0] > floor]
        return states


def both_sides(session, search, ks, index):
    """{k: record} of the two-way table's rows, and of its documents (soft-deleted ones included,
    marked with SOFT_DELETE)."""
    rows = {r.k: record(r.v, r.n, r.tags, ms_of(r.updated))
            for r in session.execute(f"SELECT k, v, n, tags, updated FROM {ks}.both_t")}
    docs = {}
    for doc_id, d in search.documents(index).items():
        s = d["source"]
        rec = record(s.get("v"), s.get("n"), s.get("tags"), ms_of(s.get("updated")))
        if s.get(SOFT_DELETE) is True:
            rec[SOFT_DELETE] = True
        docs[int(doc_id)] = rec
    return rows, docs


def compare_both(journal, seeded, rows, docs):
    """Record by record: {"missing": [...], "extra": [...], "stale": [...]} (each a list of
    descriptions), and the number of records checked."""
    found = {"missing": [], "extra": [], "stale": []}
    keys = set(range(KEYS)) | set(rows) | set(docs)
    for k in sorted(keys):
        states = journal.acceptable(k, seeded)
        for side, have in (("table", rows.get(k)), ("index", docs.get(k))):
            if any(same(have, want) for want in states):
                continue
            if have is None:
                found["missing"].append(f"{side} k={k}: absent, expected one of {states}")
            elif all(want is None for want in states):
                found["extra"].append(f"{side} k={k}: {have}, expected no record")
            else:
                found["stale"].append(f"{side} k={k}: {have}, expected one of {states}")
    return found, len(keys)


def describe_diff(found, limit=6):
    if not any(found.values()):
        return ""
    lines = [", ".join(f"{len(v)} {k}" for k, v in found.items())]
    for kind, items in found.items():
        lines += [f"  {kind} {x}" for x in items[:limit]]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The writers


class Gate:
    """Lets `n` writer threads run, or holds them between two writes: pause() returns once every
    one of them is held, so no write of theirs is in flight."""

    def __init__(self, n):
        self.n = n
        self.cond = threading.Condition()
        self.closed = False
        self.held = 0

    def pause(self, timeout=30):
        with self.cond:
            self.closed = True
            assert self.cond.wait_for(lambda: self.held == self.n, timeout), "a writer did not pause"

    def resume(self):
        with self.cond:
            self.closed = False
            self.cond.notify_all()

    def wait(self, done):
        with self.cond:
            if not self.closed:
                return
            self.held += 1
            self.cond.notify_all()
            while self.closed and not done.is_set():
                self.cond.wait(0.1)
            self.held -= 1


class Workload:
    """The writes of one keyspace: `cassandra_threads` threads writing rows of both tables, one
    thread editing documents of the two-way table in its index (one thread, so the index's own
    order of edits is their timestamps' order). Rates are per second, in all."""

    def __init__(self, name, session, search, ks, rng, cass_rate, index_rate, cassandra_threads=2):
        self.name = name
        self.session = session
        self.search = search
        self.ks = ks
        self.index = f"{ks}_both_t"
        self.stamps = Stamps()
        self.journal = Journal()
        self.seeded = {}
        self.done = threading.Event()
        self.cass_gate = Gate(cassandra_threads)
        self.index_gate = Gate(1)
        self.lock = threading.Lock()
        self.counts = {"cassandra ok": 0, "cassandra failed": 0, "index ok": 0, "index failed": 0,
                       "index 429": 0, "both_t cassandra ok": 0, "plain_t ok": 0}
        self.errors = []
        self.cass_rate = cass_rate
        self.index_rate = index_rate
        self.threads = [threading.Thread(target=self._cassandra, args=(random.Random(rng.random()),
                                                                       cass_rate / cassandra_threads),
                                         daemon=True, name=f"{name}-cql{i}") for i in range(cassandra_threads)]
        self.threads.append(threading.Thread(target=self._index, args=(random.Random(rng.random()),),
                                             daemon=True, name=f"{name}-index"))
        self.both_insert = session.prepare(
            f"INSERT INTO {ks}.both_t (k, v, n, tags, updated) VALUES (?, ?, ?, ?, ?) USING TIMESTAMP ?")
        self.both_delete = session.prepare(f"DELETE FROM {ks}.both_t USING TIMESTAMP ? WHERE k = ?")
        self.p_insert = session.prepare(f"INSERT INTO {ks}.plain_t (k, c, v, n, tags) VALUES (?, ?, ?, ?, ?)")
        self.p_insert_ttl = session.prepare(
            f"INSERT INTO {ks}.plain_t (k, c, v, n) VALUES (?, ?, ?, ?) USING TTL 15")
        self.p_update = session.prepare(f"UPDATE {ks}.plain_t SET v = ?, n = ? WHERE k = ? AND c = ?")
        self.p_tag = session.prepare(f"UPDATE {ks}.plain_t SET tags = tags + ? WHERE k = ? AND c = ?")
        self.p_delete_row = session.prepare(f"DELETE FROM {ks}.plain_t WHERE k = ? AND c = ?")
        self.p_delete_part = session.prepare(f"DELETE FROM {ks}.plain_t WHERE k = ?")

    def seed(self, rng):
        """Rows that exist before the daemon's first start: only its snapshot can copy them."""
        for k in range(0, KEYS, 2):
            ts = self.stamps.next() - 60_000
            rec = record(f"seed{k}", k, {f"s{k % 3}"}, ts)
            self.session.execute(self.both_insert, (k, rec["v"], rec["n"], set(rec["tags"]), ts, ts * 1000))
            self.seeded[k] = (ts * 1000, rec, True)
        for k in range(PARTITIONS):
            for c in range(rng.randrange(1, 5)):
                self.session.execute(self.p_insert, (k, c, f"seed{k}/{c}", k * 10 + c, {"seed"}))

    def _count(self, what, n=1):
        with self.lock:
            self.counts[what] += n

    def _cassandra(self, rng, rate):
        period = 1.0 / rate
        while not self.done.is_set():
            self.cass_gate.wait(self.done)
            if self.done.is_set():
                return
            t = time.monotonic()
            if rng.random() < 0.5:
                self._both_write(rng)
            else:
                self._plain_write(rng)
            self.done.wait(max(0.0, period - (time.monotonic() - t)))

    def _both_write(self, rng):
        k = rng.randrange(KEYS)
        ts = self.stamps.next()
        order = ts * 1000 + rng.randrange(1000)
        if rng.random() < 0.12:
            rec, stmt, args = None, self.both_delete, (order, k)
        else:
            rec = record(f"c{ts}", ts % 100_000, {f"c{ts % 5}", "cass"}, ts)
            stmt, args = self.both_insert, (k, rec["v"], rec["n"], set(rec["tags"]), ts, order)
        try:
            self.session.execute(stmt, args)
            self.journal.add(k, order, rec, True, "cassandra")
            self._count("cassandra ok")
            self._count("both_t cassandra ok")
        except Exception as e:  # noqa: BLE001 - any driver error leaves the write in doubt
            self.journal.add(k, order, rec, False, "cassandra")
            self._count("cassandra failed")
            self.errors.append(f"cassandra: {type(e).__name__}: {str(e)[:200]}")

    def _plain_write(self, rng):
        k, c, op, seq = rng.randrange(PARTITIONS), rng.randrange(5), rng.random(), self.stamps.next()
        if op < 0.35:
            stmt, args = self.p_insert, (k, c, f"i{seq}", seq % 1000, {f"t{seq % 7}"})
        elif op < 0.40:
            stmt, args = self.p_insert_ttl, (k, c, f"ttl{seq}", seq % 1000)
        elif op < 0.65:
            stmt, args = self.p_update, (f"u{seq}", -(seq % 1000), k, c)
        elif op < 0.80:
            stmt, args = self.p_tag, ({f"a{seq % 5}"}, k, c)
        elif op < 0.95:
            stmt, args = self.p_delete_row, (k, c)
        else:
            stmt, args = self.p_delete_part, (k,)
        try:
            self.session.execute(stmt, args)
            self._count("cassandra ok")
            self._count("plain_t ok")
        except Exception as e:  # noqa: BLE001 - the table is the truth for this table anyway
            self._count("cassandra failed")
            self.errors.append(f"cassandra: {type(e).__name__}: {str(e)[:200]}")

    def _index(self, rng):
        period = 1.0 / self.index_rate
        http = requests.Session()
        while not self.done.is_set():
            self.index_gate.wait(self.done)
            if self.done.is_set():
                return
            t = time.monotonic()
            k = rng.randrange(KEYS)
            ts = self.stamps.next()
            deleting = rng.random() < 0.1
            rec = None if deleting else record(f"i{ts}", -(ts % 100_000), {f"i{ts % 3}", "index"}, ts)
            source = {"k": k, "v": f"i{ts}", "n": -(ts % 100_000), "tags": sorted({f"i{ts % 3}", "index"}),
                      # both forms docs/TYPES.md accepts for a timestamp
                      "updated": timestamp_text(ts) if rng.random() < 0.5 else ts}
            if deleting:
                source[SOFT_DELETE] = True
            self._put(http, k, ts, rec, source)
            self.done.wait(max(0.0, period - (time.monotonic() - t)))

    def _put(self, http, k, ts, rec, source):
        """PUT one document; a 429 (the small queue) is not applied and is tried again."""
        for attempt in range(40):
            try:
                r = http.put(f"{self.search.url}/{self.index}/_doc/{k}", data=json.dumps(source),
                             headers={"Content-Type": "application/json"}, timeout=10)
            except requests.RequestException as e:
                self.journal.add(k, ts * 1000, rec, False, "index")
                self._count("index failed")
                self.errors.append(f"index: {type(e).__name__}: {str(e)[:200]}")
                return
            if r.status_code in (200, 201):
                self.journal.add(k, ts * 1000, rec, True, "index")
                self._count("index ok")
                return
            if r.status_code == 429:
                self._count("index 429")
                time.sleep(0.05 * (attempt + 1))
                continue
            break
        if r.status_code >= 500:  # 4xx and 429: not applied
            self.journal.add(k, ts * 1000, rec, False, "index")
        self._count("index failed")
        self.errors.append(f"index: {r.status_code} {r.text[:200]}")

    def start(self):
        for t in self.threads:
            t.start()

    def stop(self):
        self.done.set()
        self.cass_gate.resume()
        self.index_gate.resume()
        for t in self.threads:
            t.join(60)
        assert not any(t.is_alive() for t in self.threads), f"{self.name}: a writer did not stop"


# ---------------------------------------------------------------------------------------------
# Daemons and what they report


def write_fault_config(path, cassandra, search_url, ks, admin_port, state, ttl=True, search_opts=""):
    log = {"replication": "\"{'class': 'SimpleStrategy', 'replication_factor': 1}\"",
           "poll_interval": "100ms", "confidence_window": CONFIDENCE_WINDOW}
    if ttl:
        log["ttl"] = CHANGELOG_TTL
    path.write_text("\n".join([
        f"cassandra: {{contact_points: ['{cassandra}'], consistency: ONE}}",
        f"search: {{urls: ['{search_url}']{search_opts}}}",
        "changelog: {" + ", ".join(f"{k}: {v}" for k, v in log.items()) + "}",
        f"state: {{path: '{state}'}}",
        f"admin: {{listen: '127.0.0.1:{admin_port}'}}",
        "to_cassandra: {poll_interval: 250ms}",
        "log: {level: info}",
        "tables:",
        f"  - table: {ks}.both_t",
        "    direction: both",
        "    timestamp_column: updated",
        f"  - table: {ks}.plain_t",
    ]) + "\n")
    return path


def metrics(admin):
    """{"name{labels}": value} of /metrics, or {} when it does not answer."""
    try:
        r = requests.get(admin + "/metrics", timeout=5)
    except requests.RequestException:
        return {}
    out = {}
    for line in r.text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def readyz(admin):
    try:
        r = requests.get(admin + "/readyz", timeout=5)
        return r.status_code, r.text
    except requests.RequestException as e:
        return None, str(e)


def wait_ready(daemon, admin, what, timeout=START_TIMEOUT):
    wait_until(lambda: None if readyz(admin)[0] == 200 else readyz(admin)[1], timeout,
               f"/readyz 200 ({what})", check=daemon.assert_running, interval=0.2)


class Fleet:
    """One daemon configuration and every process started for it: the metrics each process
    reported last before it ended (its counters start at zero)."""

    def __init__(self, name, daemon, admin):
        self.name = name
        self.daemon = daemon
        self.admin = admin
        self.runs = []  # the last /metrics of every process, in order
        self.last = {}

    def start(self):
        self.daemon.start()

    def sample(self):
        m = metrics(self.admin)
        if m:
            self.last = m
        return m

    def end_run(self, how):
        m = self.sample()
        if how == "kill":
            self.daemon.kill()
        else:
            self.daemon.stop()
        self.runs.append(m)



def status_counts(daemon, table):
    tables = {t["table"]: t for t in daemon.status()["tables"]}
    return tables[table]


# ---------------------------------------------------------------------------------------------
# The suite


def make_keyspace(session, ks):
    session.execute(f"CREATE KEYSPACE {ks} WITH replication = "
                    "{'class': 'SimpleStrategy', 'replication_factor': 1}", timeout=60)
    session.execute(BOTH_DDL.format(ks=ks), timeout=60)
    session.execute(PLAIN_DDL.format(ks=ks), timeout=60)


def setup_daemon(cesync_bin, workdir, cassandra, search_url, ks, search_opts=""):
    """`cesync setup` (with the default TTL, so the log table is made as in production), then the
    Daemon whose config says the shorter CHANGELOG_TTL."""
    workdir.mkdir()
    port = free_port()
    state = workdir / "state.db"
    setup_cfg = write_fault_config(workdir / "setup.yaml", cassandra, search_url, ks, port, state, False, search_opts)
    Daemon(cesync_bin, setup_cfg, workdir).setup()
    cfg = write_fault_config(workdir / "cesync.yaml", cassandra, search_url, ks, port, state, True, search_opts)
    return Daemon(cesync_bin, cfg, workdir), f"http://127.0.0.1:{port}"


def verify(daemon, table):
    """`cesync verify --json` of one table: (exit status, its table entry, the output)."""
    out = daemon.command("verify", "--json", "--table", table, "--examples", str(KEYS * 5), timeout=240)
    text = f"{out.stdout.strip()}\n{out.stderr.strip()[-2000:]}"
    assert out.returncode in (0, 1), f"cesync verify --table {table} failed ({out.returncode}):\n{text}"
    entries = {t["table"]: t for t in json.loads(out.stdout)["tables"]}
    return out.returncode, entries[table], text


def queue_phase(fleet, work, figures, errors):
    """The small-queue daemon under load: bursts of rows until its bulk writes were answered 429,
    at least QUEUE_LOAD_SECONDS. Runs in its own thread beside the main scenario."""
    try:
        fleet.start()
        wait_ready(fleet.daemon, fleet.admin, "the small-queue daemon")
        work.start()
        session = work.session
        burst = session.prepare(f"INSERT INTO {work.ks}.plain_t (k, c, v, n, tags) VALUES (?, ?, ?, ?, ?)")
        started = time.monotonic()
        bursts = 0
        while time.monotonic() - started < QUEUE_LOAD_SECONDS or (
                fleet.sample().get("cesync_search_bulk_items_rejected_429_total", 0) == 0
                and time.monotonic() - started < 3 * QUEUE_LOAD_SECONDS):
            fleet.daemon.assert_running()
            base = bursts * 1000
            rows = [(PARTITIONS + (base + i) % 400, (base + i) // 400 % 5, "x" * 300 + str(i), i, {"burst"})
                    for i in range(600)]
            results = execute_concurrent_with_args(session, burst, rows, concurrency=32, raise_on_first_error=False)
            work._count("plain_t ok", sum(1 for ok, _ in results if ok))
            bursts += 1
            time.sleep(1.0)  # pacing between bursts
        figures["queue bursts"] = bursts
        work.stop()
    except BaseException as e:  # noqa: BLE001 - handed to the main thread
        errors.append(e)
        work.done.set()


def test_faults(spares, tmp_path, cesync_bin):
    rng = random.Random(SEED)
    print(f"\nfault suite: seed {SEED} (CESYNC_FAULTS_SEED={SEED} repeats it)")
    t_begin = time.monotonic()
    faults = {"daemon SIGKILL": 0, "daemon left behind": 0, "search engine outage": 0,
              "cassandra outage": 0, "search 429 (bulk items)": 0}
    figures = {}
    items = []  # (session, search, keyspace) to drop when the test passes (kept for diagnosis otherwise)
    state = {"passed": False}
    tag = uuid.uuid4().hex[:8]

    # Main scenario: the spare servers.
    spare = Search(SPARE_SEARCH, "opensearch")
    cl_a, s_a = spare_session()
    ks_a = f"faults_{tag}"
    items.append((s_a, spare, ks_a))
    make_keyspace(s_a, ks_a)
    work_a = Workload("spare", s_a, spare, ks_a, rng, cass_rate=30, index_rate=8)
    work_a.seed(rng)
    daemon_a, admin_a = setup_daemon(cesync_bin, tmp_path / "spare", SPARE_CASSANDRA, SPARE_SEARCH, ks_a)
    fleet_a = Fleet("spare", daemon_a, admin_a)

    # Beside it: the main Cassandra and the small-queue OpenSearch.
    queue_search = Search(os.environ.get("CESYNC_OPENSEARCH_SMALL_QUEUE", "http://127.0.0.1:9202"), "opensearch")
    main_cassandra = os.environ.get("CESYNC_CASSANDRA", "127.0.0.1:9042")
    host, _, port = main_cassandra.rpartition(":")
    cl_b = Cluster([host], port=int(port), protocol_version=5)
    s_b = cl_b.connect()
    ks_b = f"faults_q_{tag}"
    items.append((s_b, queue_search, ks_b))
    make_keyspace(s_b, ks_b)
    work_b = Workload("queue", s_b, queue_search, ks_b, rng, cass_rate=20, index_rate=5)
    work_b.seed(rng)
    # Many small bulk requests in flight: the small queue rejects more of them.
    daemon_b, admin_b = setup_daemon(cesync_bin, tmp_path / "queue", main_cassandra, queue_search.url, ks_b,
                                     search_opts=", bulk_max_in_flight: 8, bulk_max_bytes: 32KiB")
    fleet_b = Fleet("queue", daemon_b, admin_b)

    queue_errors = []
    queue_thread = threading.Thread(target=queue_phase, args=(fleet_b, work_b, figures, queue_errors), daemon=True)
    timeline = []
    checked = {}
    diffs = {}

    def mark(what):
        timeline.append(f"+{time.monotonic() - t_begin:6.1f}s {what}")
        print(timeline[-1], flush=True)

    try:
        mark("start")
        queue_thread.start()
        fleet_a.start()
        wait_ready(daemon_a, admin_a, "first start")
        mark("streaming; writers start")
        work_a.start()

        # 1. SIGKILLs at random points, each followed by an immediate restart.
        for i in range(KILLS):
            time.sleep(rng.uniform(*RUN_BEFORE_KILL))  # the random point of the kill
            daemon_a.assert_running()
            fleet_a.end_run("kill")
            faults["daemon SIGKILL"] += 1
            fleet_a.start()
        wait_ready(daemon_a, admin_a, "after the kills")
        assert fleet_a.runs[0].get("cesync_changelog_behind_warnings_total", 0) == 0, \
            "the first daemon, never behind, warned that it was"
        mark(f"{KILLS} SIGKILLs done")

        # 2. Left behind: down longer than the confidence window and half of changelog.ttl.
        time.sleep(rng.uniform(*RUN_BEFORE_KILL))
        fleet_a.end_run("kill")
        faults["daemon SIGKILL"] += 1
        time.sleep(LEFT_BEHIND_SECONDS)  # the fault itself: the daemon stays down while writes go on
        faults["daemon left behind"] += 1
        fleet_a.start()
        wait_until(lambda: None if fleet_a.sample().get("cesync_changelog_behind_warnings_total", 0) >= 1
                   else f"retention ratio {fleet_a.sample().get('cesync_changelog_retention_used_ratio')}",
                   30, "the changelog_behind warning after the daemon was left behind",
                   check=daemon_a.assert_running)
        figures["retention ratio at restart"] = fleet_a.last.get("cesync_changelog_retention_used_ratio")
        assert "changelog.ttl" in daemon_a.logs[-1].read_text(), daemon_a.tail()
        wait_ready(daemon_a, admin_a, "caught up after being left behind")
        mark(f"left behind {LEFT_BEHIND_SECONDS}s: warned, caught up")

        # 3. The search engine down (the index writer pauses; Cassandra writes go on).
        before = fleet_a.sample()
        work_a.index_gate.pause()
        with Outage("opensearch-spare") as out:
            t_stop = time.monotonic()
            out.stop()
            faults["search engine outage"] += 1
            mark("opensearch-spare stopped")
            while time.monotonic() < t_stop + OUTAGE_SECONDS:
                daemon_a.assert_running()
                time.sleep(0.5)
            during = fleet_a.sample()
            out.start()
        work_a.index_gate.resume()
        mark("opensearch-spare back")
        assert during.get('cesync_side_down_total{side="search"}', 0) > before.get(
            'cesync_side_down_total{side="search"}', 0), "the probe never saw the search engine down"
        wait_ready(daemon_a, admin_a, "after the search engine outage")
        after = fleet_a.sample()
        figures["search outage: stream cycles failed"] = (after.get("cesync_stream_failures_total", 0)
                                                          - before.get("cesync_stream_failures_total", 0))
        figures["search outage: bulk requests retried"] = (after.get("cesync_search_bulk_retries_total", 0)
                                                           - before.get("cesync_search_bulk_retries_total", 0))
        assert figures["search outage: stream cycles failed"] + figures["search outage: bulk requests retried"] > 0, \
            "no retry was counted while the search engine was down"

        # 4. Cassandra down (the Cassandra writers pause; index edits go on).
        before = fleet_a.sample()
        work_a.cass_gate.pause()
        with Outage("cassandra-spare") as out:
            t_stop = time.monotonic()
            out.stop()
            faults["cassandra outage"] += 1
            mark("cassandra-spare stopped")
            while time.monotonic() < t_stop + OUTAGE_SECONDS:
                daemon_a.assert_running()
                time.sleep(0.5)
            during = fleet_a.sample()
            out.start()
        mark("cassandra-spare back")
        def driver_back():
            try:
                return None if s_a.execute("SELECT release_version FROM system.local").one() else "no answer"
            except Exception as e:  # noqa: BLE001 - the driver has not reconnected yet
                return f"{type(e).__name__}: {e}"

        wait_until(driver_back, 60, "the driver to reach cassandra-spare again", interval=0.5)
        work_a.cass_gate.resume()
        assert during.get('cesync_side_down_total{side="cassandra"}', 0) > before.get(
            'cesync_side_down_total{side="cassandra"}', 0), "the probe never saw Cassandra down"
        wait_ready(daemon_a, admin_a, "after the Cassandra outage")
        after = fleet_a.sample()
        figures["cassandra outage: stream cycles failed"] = (after.get("cesync_stream_failures_total", 0)
                                                             - before.get("cesync_stream_failures_total", 0))
        figures["cassandra outage: index reads failed"] = sum(
            v - before.get(k, 0) for k, v in after.items() if k.startswith("cesync_search_poll_failures_total"))
        assert figures["cassandra outage: stream cycles failed"] + figures["cassandra outage: index reads failed"] > 0, \
            "no retry was counted while Cassandra was down"

        # A few more seconds of writes with everything up, then the end of the workload.
        time.sleep(3)
        work_a.stop()
        mark("writers stopped")
        queue_thread.join(4 * QUEUE_LOAD_SECONDS)
        assert not queue_thread.is_alive(), "the small-queue phase did not end"
        if queue_errors:
            raise queue_errors[0]
        mark("small-queue phase done")

        # 5. Record by record: both sides of every table equal what was written.
        for name, work, daemon in (("spare", work_a, daemon_a), ("queue", work_b, daemon_b)):
            def both_diff(work=work):
                rows, docs = both_sides(work.session, work.search, work.ks, work.index)
                return describe_diff(compare_both(work.journal, work.seeded, rows, docs)[0])

            def plain_diff(work=work):
                return index_table_diff(work.session, work.search, work.ks, "plain_t", f"{work.ks}_plain_t")

            wait_until(both_diff, SYNC_TIMEOUT, f"{name}: the two-way table and its index to equal the writes",
                       check=daemon.assert_running, interval=1)
            wait_until(plain_diff, SYNC_TIMEOUT, f"{name}: the plain table's index to equal the table",
                       check=daemon.assert_running, interval=1)
            rows, docs = both_sides(work.session, work.search, work.ks, work.index)
            found, n = compare_both(work.journal, work.seeded, rows, docs)
            checked[f"{work.name} both_t"] = n
            checked[f"{work.name} plain_t"] = len(expected_documents(work.session, work.ks, "plain_t"))
            diffs[f"{work.name} both_t"] = {k: len(v) for k, v in found.items()}
            assert not plain_diff()
            diffs[f"{work.name} plain_t"] = {"missing": 0, "extra": 0, "stale": 0}
        mark("both sides equal the writes, record by record")

        # 6. The daemons' own counters.
        for fleet, work in ((fleet_a, work_a), (fleet_b, work_b)):
            m = fleet.sample()
            ks = work.ks
            for key, value in m.items():
                if "dead_letters_total" in key:
                    assert value == 0, f"{fleet.name}: {key} = {value}"
            both = status_counts(fleet.daemon, f"{ks}.both_t")
            plain = status_counts(fleet.daemon, f"{ks}.plain_t")
            figures[f"{fleet.name} status both_t"] = both
            figures[f"{fleet.name} status plain_t"] = plain
            for st in (both, plain):
                assert st["counts"]["dead_letters"] == 0, st
            assert both["to_cassandra"]["counts"]["dead_letters"] == 0, both
            # Every confirmed write is a change-log entry the daemon read (the counts survive
            # restarts; replays after a kill only add).
            assert both["counts"]["entries"] >= work.counts["both_t cassandra ok"], (both, work.counts)
            assert plain["counts"]["entries"] >= work.counts["plain_t ok"], (plain, work.counts)
            # Every record that ends as an index edit was written to Cassandra by the daemon (at
            # least once: the counts survive restarts, and replays only add).
            newest = [work.journal.newest_sure(k) for k in range(KEYS)]
            from_index = sum(1 for w in newest if w and w[3] == "index" and w[1] is not None)
            back = both["to_cassandra"]["counts"]
            figures[f"{fleet.name} records ending as an index edit"] = from_index
            assert back["written"] >= from_index, (back, from_index)
            assert m.get("cesync_ready") == 1, f"{fleet.name} not ready at the end"
            assert m.get("cesync_changelog_retention_used_ratio", 1) < 0.5, m.get(
                "cesync_changelog_retention_used_ratio")
        rejected = fleet_b.sample().get("cesync_search_bulk_items_rejected_429_total", 0)
        retried = fleet_b.last.get("cesync_search_bulk_items_retried_total", 0)
        faults["search 429 (bulk items)"] = int(rejected)
        figures["queue 429: bulk items rejected / retried"] = f"{int(rejected)} / {int(retried)}"
        assert rejected > 0, "the small-queue engine never answered 429"
        assert retried >= rejected, f"{rejected} items rejected with 429 but only {retried} retried"

        # 7. A second opinion: cesync verify (read-only): every table in sync. On the two-way
        # tables the documents whose newest version is a search-side edit keep the application's
        # form (a timestamp in epoch milliseconds, no cesync fields); verify compares them by the
        # values they would write back.
        fleet_a.end_run("term")
        fleet_b.end_run("term")
        for fleet, work in ((fleet_a, work_a), (fleet_b, work_b)):
            for table in ("plain_t", "both_t"):
                rc, entry, text = verify(fleet.daemon, f"{work.ks}.{table}")
                assert rc == 0 and entry["in_sync"], f"cesync verify ({fleet.name} {table}) exit {rc}:\n{text}"
            figures[f"{fleet.name} verify"] = f"plain_t and both_t in sync ({entry['rows']} rows in both_t)"
        mark("cesync verify agrees")
        state["passed"] = True
    finally:
        work_a.done.set()
        work_b.done.set()
        work_a.cass_gate.resume()
        work_a.index_gate.resume()
        for daemon in (daemon_a, daemon_b):
            daemon.close()
        wall = time.monotonic() - t_begin
        print("\n===== fault suite figures" + ("" if state["passed"] else " (FAILED)"))
        print(f"seed {SEED}; wall time {wall:.0f} s")
        print("faults injected: " + ", ".join(f"{k} {v}" for k, v in faults.items()))
        print(f"writes: spare {work_a.counts}; queue {work_b.counts}")
        if work_a.errors or work_b.errors:
            print("write errors (first 5): " + "; ".join((work_a.errors + work_b.errors)[:5]))
        print(f"records checked: {sum(checked.values())} {checked}")
        print(f"differences: {diffs}")
        for k, v in figures.items():
            print(f"{k}: {v}")
        print("\n".join(timeline))
        if not state["passed"]:
            for d in (daemon_a, daemon_b):
                print(d.tail(120))
        if state["passed"]:
            for session, search, ks in items:
                session.execute(f"DROP KEYSPACE IF EXISTS {ks}", timeout=120)
                search.delete_indices(ks)
        cl_a.shutdown()
        cl_b.shutdown()
