"""The history checker, first cut (Cassandra -> search only): random seeded histories written by
several clients whose clocks differ (USING TIMESTAMP now + an offset of up to 2 s), then every
record checked against the official driver's view (cesync_daemon.expected_documents), each
difference printed with its key and the operations that touched it.

Opt-in until the histories it finds converge: CESYNC_HISTORY_SEEDS="1 2 3" runs those seeds;
CESYNC_HISTORY_OPS (default 300) sets the operations per seed. The seed is printed first and
re-runs the same history (the timestamps are offsets from the run's start)."""
import os
import random
import time

import pytest

from cesync_daemon import index_table_diff, wait_until

SEEDS = [int(s) for s in os.environ.get("CESYNC_HISTORY_SEEDS", "").split()]
OPS = int(os.environ.get("CESYNC_HISTORY_OPS", "300"))

TABLES = {
    "plain": "CREATE TABLE {ks}.plain (k int PRIMARY KEY, a int, b text, tags set<text>)",
    "wide": "CREATE TABLE {ks}.wide (p int, c int, v text, n int, st text static, PRIMARY KEY (p, c))",
}


def operations(rng, ks):
    """(table, key for the history, CQL) with {ts} and {ttl} placeholders filled by the writer."""
    k, p, c = rng.randrange(8), rng.randrange(4), rng.randrange(6)
    word = f"w{rng.randrange(1000)}"
    ttl = f" AND TTL {rng.randint(2, 5)}" if rng.random() < 0.2 else ""
    plain = [
        f"INSERT INTO {ks}.plain (k, a, b) VALUES ({k}, {rng.randrange(100)}, '{word}') USING TIMESTAMP {{ts}}{ttl}",
        f"UPDATE {ks}.plain USING TIMESTAMP {{ts}}{ttl} SET a = {rng.randrange(100)} WHERE k = {k}",
        f"UPDATE {ks}.plain USING TIMESTAMP {{ts}}{ttl} SET tags = tags + {{'{word}'}} WHERE k = {k}",
        f"UPDATE {ks}.plain USING TIMESTAMP {{ts}} SET tags = tags - {{'{word}'}} WHERE k = {k}",
        f"DELETE b FROM {ks}.plain USING TIMESTAMP {{ts}} WHERE k = {k}",
        f"DELETE FROM {ks}.plain USING TIMESTAMP {{ts}} WHERE k = {k}",
    ]
    wide = [
        f"INSERT INTO {ks}.wide (p, c, v) VALUES ({p}, {c}, '{word}') USING TIMESTAMP {{ts}}{ttl}",
        f"UPDATE {ks}.wide USING TIMESTAMP {{ts}}{ttl} SET n = {rng.randrange(100)} WHERE p = {p} AND c = {c}",
        f"UPDATE {ks}.wide USING TIMESTAMP {{ts}}{ttl} SET st = '{word}' WHERE p = {p}",
        f"DELETE v FROM {ks}.wide USING TIMESTAMP {{ts}} WHERE p = {p} AND c = {c}",
        f"DELETE FROM {ks}.wide USING TIMESTAMP {{ts}} WHERE p = {p} AND c = {c}",
        f"DELETE FROM {ks}.wide USING TIMESTAMP {{ts}} WHERE p = {p} AND c > {c}",
        f"DELETE FROM {ks}.wide USING TIMESTAMP {{ts}} WHERE p = {p}",
    ]
    if rng.random() < 0.5:
        return "plain", f"'{k}'", rng.choice(plain)  # as a difference names its document id
    return "wide", f"'[{p},", rng.choice(wide)


@pytest.mark.skipif(not SEEDS, reason="set CESYNC_HISTORY_SEEDS to run the history checker")
@pytest.mark.parametrize("seed", SEEDS)
def test_random_histories_converge(cassandra_session, search, keyspace, cesync, seed):
    print(f"history checker: seed {seed}, {OPS} operations")
    rng = random.Random(seed)
    s = cassandra_session
    ks = keyspace("history")
    for ddl in TABLES.values():
        s.execute(ddl.format(ks=ks))
    daemon = cesync([f"{ks}.{t}" for t in TABLES])
    daemon.setup()
    daemon.start()
    offsets = [rng.randint(-2_000_000, 2_000_000) for _ in range(3)]  # the writers' clocks
    history = {}
    start = int(time.time() * 1_000_000)
    expires = 0.0
    for i in range(OPS):
        table, key, cql = operations(rng, ks)
        writer = rng.randrange(len(offsets))
        ts = int(time.time() * 1_000_000) + offsets[writer]
        s.execute(cql.replace("{ts}", str(ts)))
        shown = cql.replace("{ts}", "T")
        history.setdefault((table, key), []).append(f"  #{i} writer {writer} at +{(ts - start) / 1e6:.3f}s: {shown}")
        if "TTL" in cql:
            expires = time.time() + 6
    # Quiet: every TTL written has run out (waiting for Cassandra's own state, not for the sync).
    wait_until(lambda: "" if time.time() > expires else "TTLs still running", 30, "the TTLs")
    for table in TABLES:
        try:
            wait_until(lambda: index_table_diff(s, search, ks, table, f"{ks}_{table}", limit=50), 60,
                       f"index of {table} to equal the table", check=daemon.assert_running, interval=0.5)
        except AssertionError as e:
            lines = [f"seed {seed}: {e}", "histories of the keys of this table:"]
            for (t, key), ops in sorted(history.items()):
                if t == table and key in str(e):
                    lines += [f" {t} {key}:"] + ops
            raise AssertionError("\n".join(lines)) from None
    daemon.stop()
