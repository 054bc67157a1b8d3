"""`cesync verify --repair` on a 100,000-row table whose index was corrupted behind cesync's back
(documents deleted, strays added with and without a token, documents overwritten with old content
by plain writes and by external versions, rows rewritten while the daemon was stopped): verify
finds exactly those, the repair fixes them through the daemon's versioned write path, a second
verify is clean, and the index equals the table by the independent oracle. Also: a repair while
the daemon streams never overwrites a newer write, and a table synced both ways takes Cassandra as
the reference for existence."""
import json
import random
import subprocess
import threading
import time

import requests
from cassandra.concurrent import execute_concurrent_with_args

from cesync_daemon import Search, assert_index_equals_table, load_table, wait_index_equals_table
from http_proxy import ForwardingProxy

PARTITIONS = 10_000
ROWS_PER_PARTITION = 10
SMALL_PARTITIONS = 1_000  # the 10,000-row table, for the memory comparison


def doc_id(k, c):
    return json.dumps([k, c], separators=(",", ":"))


def quote(i):
    return requests.utils.quote(i, safe="")


def measured(daemon, *args, timeout=300):
    """Runs `cesync ARGS --config F`: (exit code, stdout, stderr)."""
    out = subprocess.run([daemon.binary, *args, "--config", daemon.config], capture_output=True, text=True,
                         timeout=timeout)
    return out.returncode, out.stdout, out.stderr


def peak_rss_kib(daemon, *args):
    """(exit code, peak RSS in KiB) of `cesync ARGS --config F`, from wait4 in a child Python, so
    that no other process of the test counts."""
    code = ("import os,subprocess,sys,json\n"
            "p=subprocess.Popen(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL)\n"
            "_,status,ru=os.wait4(p.pid,0)\n"
            "print(json.dumps([os.waitstatus_to_exitcode(status),ru.ru_maxrss]))\n")
    out = subprocess.run(["python3", "-c", code, daemon.binary, *args, "--config", daemon.config],
                         capture_output=True, text=True, timeout=300, check=True)
    rc, rss = json.loads(out.stdout)
    return rc, rss


def verify(daemon, *args):
    rc, out, err = measured(daemon, "verify", "--json", "--examples", "1000", "--recheck-after", "0.5", *args)
    assert rc in (0, 1), f"cesync verify failed ({rc}):\n{out}\n{err}"
    return rc, json.loads(out)


def ids(table, kind):
    return {e["id"] for e in table["examples"][kind]}


def load(session, ks, table, partitions):
    session.execute(f"CREATE TABLE {ks}.{table} (k int, c int, name text, n bigint, score double, "
                    f"active boolean, tags set<text>, note text, PRIMARY KEY (k, c))")
    ins = session.prepare(f"INSERT INTO {ks}.{table} (k, c, name, n, score, active, tags, note) "
                          f"VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
    rows = ((k, c, f"name-{k}-{c}", k * 1000 + c, k / 7.0, (k + c) % 2 == 0, {f"t{k % 5}", f"u{c}"},
             "x" * (200 + (k * c) % 300))
            for k in range(partitions) for c in range(ROWS_PER_PARTITION))
    execute_concurrent_with_args(session, ins, rows, concurrency=128, raise_on_first_error=True)


def test_verify_and_repair_a_100k_row_table(cesync, keyspace, search, cassandra_session):
    s = cassandra_session
    ks = keyspace("repair")
    load(s, ks, "big", PARTITIONS)
    load(s, ks, "small", SMALL_PARTITIONS)
    index = f"{ks}_big"
    daemon = cesync([f"{ks}.big", f"{ks}.small"])
    daemon.setup()
    assert daemon.run_once(timeout=600) == 0, daemon.tail()

    # Memory stays flat as the table grows: 10k and 100k rows, each with its index.
    rc_small, rss_small = peak_rss_kib(daemon, "verify", "--table", f"{ks}.small")
    rc_big, rss_big = peak_rss_kib(daemon, "verify", "--table", f"{ks}.big")
    print(f"verify peak RSS: {rss_small} KiB at {SMALL_PARTITIONS * ROWS_PER_PARTITION} rows, "
          f"{rss_big} KiB at {PARTITIONS * ROWS_PER_PARTITION} rows")
    assert (rc_small, rc_big) == (0, 0)
    assert rss_big <= rss_small + 16 * 1024, (rss_small, rss_big)

    rng = random.Random(20261124)
    keys = [(k, c) for k in range(PARTITIONS) for c in range(ROWS_PER_PARTITION)]
    picked = rng.sample(keys, 120)
    deleted = {doc_id(*kc) for kc in picked[:40]}
    overwritten = {doc_id(*kc) for kc in picked[40:70]}     # plain PUT: a higher internal version
    same_version = {doc_id(*kc) for kc in picked[70:90]}    # external_gte at its own version
    moved = {doc_id(*kc) for kc in picked[90:100]}          # another partition's token
    rewritten = picked[100:110]                             # rows rewritten, daemon stopped
    token = search.get(index, doc_id(0, 0))["_source"]["cesync_token"]

    for i in deleted:
        search._req("DELETE", f"/{index}/_doc/{quote(i)}")
    for i in overwritten | same_version | moved:
        doc = search.get(index, i)
        source = doc["_source"]
        source["name"] = "old"
        if i in moved:
            source["cesync_token"] = token
        if i in same_version:
            search._req("PUT", f"/{index}/_doc/{quote(i)}", source, version=doc["_version"],
                        version_type="external_gte")
        else:
            search._req("PUT", f"/{index}/_doc/{quote(i)}", source)
    strays_keyed = {doc_id(PARTITIONS + n, 0) for n in range(15)}  # keys of rows that do not exist
    for i in strays_keyed:
        k, c = json.loads(i)
        search._req("PUT", f"/{index}/_doc/{quote(i)}",
                    {"k": k, "c": c, "name": "stray", "cesync_token": token, "cesync_id": i})
    strays_plain = {f"stray-{n}" for n in range(10)}  # ids that name no key, no token
    for i in strays_plain:
        search._req("PUT", f"/{index}/_doc/{i}", {"name": "not a row"})
    versions_before = {}
    for k, c in rewritten:
        versions_before[doc_id(k, c)] = search.get(index, doc_id(k, c))["_version"]
        s.execute(f"UPDATE {ks}.big USING TIMESTAMP %s SET note = 'rewritten' WHERE k = %s AND c = %s",
                  (versions_before[doc_id(k, c)] + 1000, k, c))
    rewritten_ids = set(versions_before)
    search.refresh(index)

    rc, report = verify(daemon, "--table", f"{ks}.big")
    [t] = report["tables"]
    assert rc == 1 and report["in_sync"] is False
    assert ids(t, "missing") == deleted
    assert ids(t, "extra") == strays_keyed | strays_plain
    assert ids(t, "stale") == overwritten | same_version | moved | rewritten_ids
    assert (t["missing"], t["extra"], t["stale"]) == (40, 25, 70)
    assert t["rows"] == len(keys)
    assert "repair" not in t

    rc, report = verify(daemon, "--table", f"{ks}.big", "--repair")
    [t] = report["tables"]
    assert rc == 0, report
    assert report["clean"] is True and report["in_sync"] is False
    assert (t["missing"], t["extra"], t["stale"]) == (40, 25, 70)
    assert t["repair"] == {"indexed": 40 + 70, "deleted": 25, "skipped": 0, "dead_letters": 0}

    rc, report = verify(daemon, "--table", f"{ks}.big")
    [t] = report["tables"]
    assert rc == 0 and report["in_sync"] is True, report
    assert (t["rows"], t["documents"]) == (len(keys), len(keys))
    # The oracle agrees, and the rewritten rows' documents carry their new write time.
    assert_index_equals_table(s, search, ks, "big", index)
    for i, before in versions_before.items():
        assert search.get(index, i)["_version"] == before + 1000
    # The stream still writes over a repaired document: its version is the row's write time (or
    # one above an overwrite's), never beyond the next write.
    k, c = json.loads(sorted(overwritten)[0])
    s.execute(f"UPDATE {ks}.big SET name = 'after repair' WHERE k = %s AND c = %s", (k, c))
    assert daemon.run_once() == 0, daemon.tail()
    assert search.get(index, doc_id(k, c))["_source"]["name"] == "after repair"


def test_repair_while_the_daemon_streams_never_overwrites_a_newer_write(cesync, keyspace, search,
                                                                         cassandra_session):
    s = cassandra_session
    ks = keyspace("repairlive")
    index = load_table(s, ks, "kv", "k int PRIMARY KEY, v int, note text", ["k", "v", "note"],
                       [(k, 0, "start") for k in range(2000)])
    daemon = cesync([f"{ks}.kv"])
    daemon.setup()
    daemon.start()
    wait_index_equals_table(s, search, ks, "kv", index, timeout=120, daemon=daemon)

    # Corrupt some documents, then repair while a writer keeps changing every tenth row.
    for k in range(0, 2000, 50):
        search._req("DELETE", f"/{index}/_doc/{k}")
    for k in range(25, 2000, 50):
        doc = search.get(index, str(k))["_source"]
        doc["note"] = "old"
        search._req("PUT", f"/{index}/_doc/{k}", doc)
    stop = threading.Event()
    written = []

    def writer():
        update = s.prepare(f"UPDATE {ks}.kv SET v = ?, note = 'live' WHERE k = ?")
        n = 0
        while not stop.is_set() and n < 20_000:
            n += 1
            k = (n * 10) % 2000
            s.execute(update, (n, k))
            written.append(k)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        rc, report = verify(daemon, "--repair")
    finally:
        stop.set()
        thread.join(timeout=60)
    assert written, "the writer wrote nothing"
    [t] = report["tables"]
    assert rc in (0, 1), report
    assert t["repair"]["dead_letters"] == 0
    # Whatever the repair and the stream did in between, the index ends equal to the table.
    wait_index_equals_table(s, search, ks, "kv", index, timeout=120, daemon=daemon)
    daemon.stop()
    rc, report = verify(daemon)
    assert rc == 0 and report["in_sync"] is True, report


def test_repair_of_a_table_synced_both_ways(cesync, keyspace, search, cassandra_session):
    s = cassandra_session
    ks = keyspace("repairboth")
    index = load_table(s, ks, "item", "id int PRIMARY KEY, name text, updated timestamp",
                       ["id", "name", "updated"], [(i, f"n{i}") for i in range(300)],
                       values="?, ?, toTimestamp(now())")
    daemon = cesync([(f"{ks}.item", {"direction": "both", "timestamp_column": "updated"})])
    daemon.setup()
    assert daemon.run_once() == 0, daemon.tail()

    for i in (3, 4, 5):
        search._req("DELETE", f"/{index}/_doc/{i}")
    for i in (10, 11):
        doc = search.get(index, str(i))["_source"]
        doc["name"] = "edited behind cesync's back"  # same timestamp: not an edit to take back
        search._req("PUT", f"/{index}/_doc/{i}", doc)
    # A document with no row, last edited long ago: Cassandra decides it does not exist.
    search._req("PUT", f"/{index}/_doc/9001", {"id": 9001, "name": "gone", "updated": "2020-01-01T00:00:00.000Z"})
    # One edited on the search side after the verify began (its timestamp is later): an edit on
    # its way to Cassandra, left alone.
    future = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + 3600))
    search._req("PUT", f"/{index}/_doc/9002", {"id": 9002, "name": "new", "updated": future})
    search.refresh(index)

    rc, report = verify(daemon, "--repair")
    [t] = report["tables"]
    assert (t["missing"], t["stale"], t["extra"]) == (3, 2, 2), report
    assert ids(t, "extra") == {"9001", "9002"}
    assert t["repair"] == {"indexed": 5, "deleted": 1, "skipped": 1, "dead_letters": 0}
    assert rc == 1 and report["clean"] is False  # one difference left on purpose
    assert search.get(index, "9001") is None
    assert search.get(index, "9002")["_source"]["name"] == "new"
    assert_index_equals_table(s, search, ks, "item", index, exclude=["9002"])


class FlakyProxy(ForwardingProxy):
    """Forwards HTTP requests to the search engine. Once armed, from the `after`-th `_search`
    request on it answers 503 to everything for `outage` seconds: longer than the client's own
    retries last, so that verify's own retry has to take over."""

    def __init__(self, target, after, outage):
        self.after, self.outage = after, outage
        self.armed = False
        self.searches = 0
        self.failed = 0
        self.down_until = None
        self.lock = threading.Lock()
        super().__init__(target, on_request=self.answer)

    def answer(self, handler):
        with self.lock:
            now = time.monotonic()
            if self.armed and "_search" in handler.path:
                self.searches += 1
                if self.down_until is None and self.searches >= self.after:
                    self.down_until = now + self.outage
            if self.down_until is not None and now < self.down_until:
                self.failed += 1
                return 503
            return None


def test_verify_rides_out_a_search_outage(cesync, keyspace, search, cassandra_session):
    s = cassandra_session
    ks = keyspace("verifyflaky")
    index = load_table(s, ks, "kv", "k int PRIMARY KEY, v text", ["k", "v"],
                       [(k, f"v{k}") for k in range(20_000)])
    proxy = FlakyProxy(search.url, after=8, outage=6.0)
    try:
        daemon = cesync([f"{ks}.kv"], engine=Search(proxy.url, "opensearch"))
        daemon.setup()
        assert daemon.run_once() == 0, daemon.tail()
        deleted = {str(k) for k in range(0, 20_000, 997)}
        for i in deleted:
            search._req("DELETE", f"/{index}/_doc/{i}")
        search.refresh(index)

        # 503 to everything for 6 s from the 8th search on, while verify reads at 5,000 rows/s
        # (4 s for the table): the ranges cut off are taken up again after their last token.
        proxy.armed = True
        rc, out, err = measured(daemon, "verify", "--json", "--examples", "100", "--rate", "5000",
                                "--recheck-after", "0.2")
        assert proxy.failed > 0, "the outage never happened"
        assert rc == 1, f"{rc}\n{out}\n{err}"
        [t] = json.loads(out)["tables"]
        assert ids(t, "missing") == deleted
        assert (t["rows"], t["documents"], t["missing"], t["extra"], t["stale"]) == (
            20_000, 20_000 - len(deleted), len(deleted), 0, 0)
        assert "comparing token range" in err and "retrying in" in err, err
    finally:
        proxy.close()
