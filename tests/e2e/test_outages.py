"""Outage acceptance tests (issue #8): the search engine, then Cassandra, is stopped for about 30 s
in the middle of a stream of writes. The daemon must stay up the whole time, /healthz must keep
answering 200 and /metrics must keep answering, /readyz must answer 503 (naming the side that is
gone) and 200 again once it is back, the side's `cesync_side_up` gauge must read 0 then 1, and in
the end the index must equal the table: nothing lost.

The servers stopped here are the spare ones of scripts/cluster (cassandra-spare, opensearch-spare),
brought up by the session fixture `spares` (conftest.py, spares.py) and stopped at the session's
end, so the suites that share the main servers are never disturbed. Waits poll with deadlines; the only fixed wait is holding the outage itself."""
import random
import re
import threading
import time
import uuid

import requests

from cesync_daemon import Daemon, Search, free_port, wait_index_equals_table, wait_until
from spares import SPARE_CASSANDRA, SPARE_SEARCH, Outage
from spares import spare_session as cassandra_session

OUTAGE_SECONDS = 30       # how long a side stays down, counted from the stop
NOT_READY_TIMEOUT = 20    # /readyz answers 503 naming the side within this long of its stop
READY_AGAIN_TIMEOUT = 20  # /readyz answers 200 within this long of the side being back
START_TIMEOUT = 90        # the daemon streams (/readyz 200) within this long of its start
SYNC_TIMEOUT = 120        # the index equals the table within this long of the writer's end
WRITES_PER_SECOND = 36
WRITER_THREADS = 3
KEYS = 300


# ---------------------------------------------------------------------------------------------
# The daemon and what it serves


def write_outage_config(workdir, admin_port, extra=()):
    """The config write_config (cesync_daemon.py) makes, for the spare servers; `extra`: more
    top-level lines."""
    path = workdir / "cesync.yaml"
    path.write_text("\n".join([
        f"cassandra: {{contact_points: ['{SPARE_CASSANDRA}'], consistency: ONE}}",
        f"search: {{urls: ['{SPARE_SEARCH}']}}",
        "changelog: {replication: \"{'class': 'SimpleStrategy', 'replication_factor': 1}\", "
        "poll_interval: 100ms}",
        f"state: {{path: '{workdir / 'state.db'}'}}",
        f"admin: {{listen: '127.0.0.1:{admin_port}'}}",
        "log: {level: debug}",
        *extra,
        "tables:",
        f"  - table: {workdir.name}.t",
    ]) + "\n")
    return path


def side_up(metrics_text, side):
    m = re.search(rf'^cesync_side_up\{{side="{side}"\}} (\S+)$', metrics_text, re.M)
    return float(m.group(1)) if m else None


class AdminWatch(threading.Thread):
    """Polls /healthz, /readyz and /metrics every few hundred milliseconds and keeps every answer
    (monotonic time, what came back), so the test can ask what was seen since a moment."""

    def __init__(self, url, side):
        super().__init__(daemon=True)
        self.url = url
        self.side = side
        self.samples = []  # (t, healthz status, readyz status, readyz body, metrics status, side_up)
        self.lock = threading.Lock()
        self.done = threading.Event()

    def _get(self, path):
        try:
            r = requests.get(self.url + path, timeout=5)
            return r.status_code, r.text
        except requests.RequestException as e:
            return None, f"{type(e).__name__}: {e}"

    def run(self):
        while not self.done.is_set():
            healthz, _ = self._get("/healthz")
            readyz, body = self._get("/readyz")
            metrics, text = self._get("/metrics")
            up = side_up(text, self.side) if metrics == 200 else None
            with self.lock:
                self.samples.append((time.monotonic(), healthz, readyz, body, metrics, up))
            self.done.wait(0.3)

    def since(self, t):
        with self.lock:
            return [s for s in self.samples if s[0] >= t]

    def last(self):
        with self.lock:
            return self.samples[-1] if self.samples else None

    def first_since(self, t, predicate):
        for s in self.since(t):
            if predicate(s):
                return s
        return None

    def stop(self):
        self.done.set()
        self.join(10)


# ---------------------------------------------------------------------------------------------
# The writer


class Writer:
    """Inserts, partial updates, collection updates and deletes on random keys, about
    WRITES_PER_SECOND a second from WRITER_THREADS threads (so that some writes are always in
    flight when a node stops). A write that fails (the node is down) is counted and left out: the
    expected state is whatever the table holds afterwards."""

    def __init__(self, session, ks):
        self.session = session
        self.insert = session.prepare(f"INSERT INTO {ks}.t (k, v, n, tags) VALUES (?, ?, ?, ?)")
        self.update = session.prepare(f"UPDATE {ks}.t SET v = ?, n = ? WHERE k = ?")
        self.add_tag = session.prepare(f"UPDATE {ks}.t SET tags = tags + ? WHERE k = ?")
        self.delete = session.prepare(f"DELETE FROM {ks}.t WHERE k = ?")
        self.done = threading.Event()
        self.lock = threading.Lock()
        self.ok = []       # monotonic times of writes that succeeded
        self.failed = []   # (monotonic time, error) of writes that failed
        self.journal = []  # (wall time, seq, key, operation, error or None), for diagnosis
        self.seq = 0
        self.threads = [threading.Thread(target=self.run, args=(random.Random(8 + i),), daemon=True)
                        for i in range(WRITER_THREADS)]

    def one(self, rng, seq):
        k, op = rng.randrange(KEYS), rng.random()
        if op < 0.45:
            self.session.execute(self.insert, (k, f"v{seq}", seq, {f"t{seq % 7}"}))
        elif op < 0.7:
            self.session.execute(self.update, (f"u{seq}", -seq, k))
        elif op < 0.85:
            self.session.execute(self.add_tag, ({f"a{seq % 5}"}, k))
        else:
            self.session.execute(self.delete, (k,))
        return k, op

    def run(self, rng):
        period = WRITER_THREADS / WRITES_PER_SECOND
        while not self.done.is_set():
            t = time.monotonic()
            with self.lock:
                self.seq += 1
                seq = self.seq
            try:
                k, op = self.one(rng, seq)
                with self.lock:
                    self.ok.append(t)
                    self.journal.append((time.time(), seq, k, op, None))
            except Exception as e:  # noqa: BLE001 - any driver error is a failed write
                with self.lock:
                    self.failed.append((t, f"{type(e).__name__}: {e}"))
                    self.journal.append((time.time(), seq, -1, -1.0, f"{type(e).__name__}: {e}"[:300]))
            self.done.wait(max(0.0, period - (time.monotonic() - t)))

    def counts(self, start=0.0, end=float("inf")):
        with self.lock:
            return (sum(1 for t in self.ok if start <= t < end),
                    sum(1 for t, _ in self.failed if start <= t < end))

    def start(self):
        for t in self.threads:
            t.start()

    def is_alive(self):
        return any(t.is_alive() for t in self.threads)

    def stop(self):
        self.done.set()
        for t in self.threads:
            t.join(60)
        assert not self.is_alive(), "the writer did not stop"


# ---------------------------------------------------------------------------------------------
# The scenario


def index_count(search, index):
    try:
        r = requests.get(f"{search.url}/{index}/_count", timeout=10)
        return r.json().get("count", 0) if r.status_code == 200 else 0
    except requests.RequestException:
        return 0


def describe(samples, limit=12):
    return "\n".join(f"  +{s[0] - samples[0][0]:.1f}s healthz {s[1]} readyz {s[2]} "
                     f"({s[3].strip()[:200]!r}) metrics {s[4]} side_up {s[5]}"
                     for s in samples[-limit:]) if samples else "  (no answers)"


def changes(samples):
    """The samples whose /healthz, /readyz or /metrics status or side_up differ from the one before."""
    out = []
    for x in samples:
        if not out or (x[1], x[2], x[4], x[5]) != (out[-1][1], out[-1][2], out[-1][4], out[-1][5]):
            out.append(x)
    return out


def outage(tmp_path, cesync_bin, component, side, reason):
    """One outage of `component` ("cassandra-spare" or "opensearch-spare"); `side` is the label of
    its cesync_side_up gauge and `reason` a pattern the /readyz body must match meanwhile.
    Returns the timings seen."""
    search = Search(SPARE_SEARCH, "opensearch")
    ks = f"e2e_outage_{side}_{uuid.uuid4().hex[:8]}"
    index = f"{ks}_t"
    workdir = tmp_path / ks
    workdir.mkdir()
    c, s = cassandra_session()
    s.execute(f"CREATE KEYSPACE {ks} WITH replication = "
              "{'class': 'SimpleStrategy', 'replication_factor': 1}", timeout=60)
    s.execute(f"CREATE TABLE {ks}.t (k int PRIMARY KEY, v text, n int, tags set<text>)", timeout=60)
    for k in range(0, KEYS, 3):  # rows only the snapshot can see
        s.execute(f"INSERT INTO {ks}.t (k, v, n) VALUES ({k}, 'pre{k}', {k})")

    admin = f"http://127.0.0.1:{free_port()}"
    daemon = Daemon(cesync_bin, write_outage_config(workdir, admin.rsplit(":", 1)[1]), workdir)
    writer = watch = None
    timings = {}
    passed = False
    try:
        daemon.setup()
        daemon.start()
        watch = AdminWatch(admin, side)
        watch.start()
        writer = Writer(s, ks)
        writer.start()

        t0 = time.monotonic()
        wait_until(lambda: None if (watch.last() or (0, 0, None))[2] == 200
                   else describe(watch.since(t0), 3), START_TIMEOUT, "/readyz 200 once streaming",
                   check=daemon.assert_running)
        # Mid-stream: a few seconds of writes, and documents the stream (not the snapshot) wrote.
        wait_until(lambda: None if writer.counts()[0] >= 5 * WRITES_PER_SECOND and
                   index_count(search, index) > KEYS // 3 + 20
                   else f"{writer.counts()} writes, {index_count(search, index)} documents", START_TIMEOUT,
                   "the stream to index the first writes", check=daemon.assert_running)
        side_before = watch.last()[5]

        with Outage(component) as out:
            t_stop = time.monotonic()
            out.stop()
            t_down = time.monotonic()
            timings["stop_took"] = t_down - t_stop
            # Hold the outage for OUTAGE_SECONDS from the stop, watching the daemon meanwhile:
            # /readyz must answer 503 with a reason that names the side as unreachable.
            not_ready = None
            while time.monotonic() < t_stop + OUTAGE_SECONDS or not_ready is None:
                daemon.assert_running()
                not_ready = not_ready or watch.first_since(
                    t_stop, lambda x: x[2] == 503 and re.search(reason, x[3], re.I))
                if not_ready is None and time.monotonic() > t_stop + NOT_READY_TIMEOUT:
                    raise AssertionError(
                        f"/readyz did not answer 503 naming the {side} side unreachable within "
                        f"{NOT_READY_TIMEOUT}s of stopping {component}:\n{describe(changes(watch.since(t_stop)))}")
                time.sleep(0.25)
            timings["not_ready_after"] = watch.first_since(t_stop, lambda x: x[2] == 503)[0] - t_stop
            timings["side_named_after"] = not_ready[0] - t_stop
            during = watch.since(t_down)
            ok, failed = writer.counts(t_stop, time.monotonic())
            timings["writes_during_outage"] = (ok, failed)
            out.start()
            t_up = time.monotonic()
            timings["outage"] = t_up - t_stop

        def ready_again():
            s_ = watch.last()
            return None if s_ and s_[0] > t_up and s_[2] == 200 else describe(watch.since(t_up), 3)

        wait_until(ready_again, READY_AGAIN_TIMEOUT, f"/readyz 200 after {component} came back",
                   check=daemon.assert_running)
        timings["ready_again_after"] = watch.first_since(t_up, lambda x: x[2] == 200)[0] - t_up
        # A few seconds of writes after the outage too.
        t_ready = time.monotonic()
        wait_until(lambda: None if writer.counts(t_ready)[0] >= 3 * WRITES_PER_SECOND
                   else f"{writer.counts(t_ready)} writes", 60, "writes after the outage", check=daemon.assert_running)
        writer.stop()
        timings["writes"] = writer.counts()

        # Nothing lost: the index equals what the table holds now (read by a fresh session).
        c2, s2 = cassandra_session()
        try:
            wait_index_equals_table(s2, search, ks, "t", index, SYNC_TIMEOUT, daemon)
        finally:
            c2.shutdown()
        # What happened during the outage.
        gauge = f'cesync_side_up{{side="{side}"}}'
        assert side_before == 1, f"{gauge} is {side_before} before the outage"
        assert any(x[5] == 0 for x in during), f"{gauge} never read 0 during the outage:\n{describe(during)}"
        side_after = watch.last()[5]
        assert side_after == 1, f"{gauge} is {side_after} after the outage"
        bad_metrics = [x for x in during if x[4] != 200]
        assert not bad_metrics, f"/metrics did not answer during the outage:\n{describe(bad_metrics)}"
        answered = watch.first_since(0, lambda x: x[1] == 200)
        bad_health = [x for x in watch.since(answered[0]) if x[1] != 200]
        assert not bad_health, f"/healthz did not answer 200 throughout:\n{describe(bad_health)}"

        m = requests.get(admin + "/metrics", timeout=10).text
        dead = re.search(rf'^cesync_dead_letters_total\{{table="{ks}.t"\}} (\S+)$', m, re.M)
        assert dead is None or float(dead.group(1)) == 0, f"dead letters: {dead.group(0)}"
        watch.stop()
        daemon.stop()
        passed = True
        return timings
    finally:
        print(f"\n{component} outage: " + ", ".join(
            f"{k} {v:.1f}s" if isinstance(v, float) else f"{k} {v}" for k, v in timings.items()))
        if watch is not None and "outage" in timings:
            print(f"/readyz and /metrics around the outage (changes only):\n{describe(changes(watch.since(t_stop - 2)), 100)}")
        if writer is not None:
            writer.done.set()
            for t in writer.threads:
                t.join(30)
            with open(workdir / "writes.log", "w") as f:
                for wall, seq, k, op, err in writer.journal:
                    f.write(f"{wall:.3f} seq {seq} k {k} op {op:.2f} {err or 'ok'}\n")
        if watch is not None:
            watch.stop()
        daemon.close()
        print(daemon.tail(150))
        if passed:  # otherwise the keyspace and index stay on the spare servers, for diagnosis
            s.execute(f"DROP KEYSPACE IF EXISTS {ks}", timeout=60)
            search.delete_index(index)
        c.shutdown()


def test_search_engine_outage_mid_stream(spares, tmp_path, cesync_bin):
    timings = outage(tmp_path, cesync_bin, "opensearch-spare", "search", r"search engine[^\n]*unreachable")
    ok, failed = timings["writes_during_outage"]
    assert ok > 0 and failed == 0, f"Cassandra writes during the search outage: {ok} ok, {failed} failed"


def test_cassandra_outage_mid_stream(spares, tmp_path, cesync_bin):
    timings = outage(tmp_path, cesync_bin, "cassandra-spare", "cassandra", r"cassandra[^\n]*unreachable")
    ok, failed = timings["writes_during_outage"]
    assert failed > 0, f"no write failed while Cassandra was down ({ok} succeeded): was it down?"


def test_sigterm_during_a_search_outage_exits_within_its_bound(spares, tmp_path, cesync_bin):
    """A stop while the search engine is down cannot drain: the daemon still exits 0 within
    sync.shutdown_timeout, and the changes it could not write are written after a restart."""
    search = Search(SPARE_SEARCH, "opensearch")
    ks = f"e2e_outage_term_{uuid.uuid4().hex[:8]}"
    workdir = tmp_path / ks
    workdir.mkdir()
    c, s = cassandra_session()
    try:
        s.execute(f"CREATE KEYSPACE {ks} WITH replication = "
                  "{'class': 'SimpleStrategy', 'replication_factor': 1}", timeout=60)
        s.execute(f"CREATE TABLE {ks}.t (k int PRIMARY KEY, v text, n int, tags set<text>)", timeout=60)
        admin = f"http://127.0.0.1:{free_port()}"
        config = write_outage_config(workdir, admin.rsplit(":", 1)[1],
                                     extra=["sync: {shutdown_timeout: 10s}"])
        daemon = Daemon(cesync_bin, config, workdir)
        daemon.setup()
        daemon.start()

        def readyz():
            try:
                r = requests.get(admin + "/readyz", timeout=5)
                return r.status_code, r.text
            except requests.RequestException as e:
                return None, str(e)

        wait_until(lambda: None if readyz()[0] == 200 else readyz()[1], START_TIMEOUT,
                   "/readyz 200 once streaming", check=daemon.assert_running)
        with Outage("opensearch-spare") as out:
            out.stop()
            for k in range(50):
                s.execute(f"INSERT INTO {ks}.t (k, v, n) VALUES ({k}, 'during {k}', {k})")
            wait_until(lambda: None if readyz()[0] == 503 and "search engine" in readyz()[1]
                       else readyz()[1], NOT_READY_TIMEOUT, "/readyz 503 for the search engine",
                       check=daemon.assert_running)
            started = time.monotonic()
            daemon.stop(timeout=30)  # asserts exit status 0
            took = time.monotonic() - started
            assert took < 10 + 5, f"the stop took {took:.1f}s, over sync.shutdown_timeout (10s)"
            # It drained: the bulk retries gave up at once instead of running into the bound.
            assert "stopped; checkpoint saved" in daemon.logs[-1].read_text(), daemon.tail()
            out.start()
        daemon.start()
        wait_index_equals_table(s, search, ks, "t", f"{ks}_t", SYNC_TIMEOUT, daemon)
        daemon.stop()
    finally:
        daemon.close()
        c.shutdown()

