"""Acceptance tests of the search -> Cassandra direction and of two-way convergence: `cesync setup`
then `cesync run` against the real servers, checked with the official drivers.

Documents are written to the index the way a search-side application would (plain index
requests, the table's timestamp column set to the edit time); rows are written to Cassandra the
way a two-way application would (`USING TIMESTAMP t`, the timestamp column set to t / 1000 ms).
Both sides are then compared field by field with what the test itself computes as the newest
version of every record (docs/TYPES.md, "From documents back to CQL", says which document forms
stand for which CQL values; `norm` below reduces both sides to one form).

No fixed sleeps wait for the sync: every wait polls with a deadline and, on timeout, reports the
last difference."""
import concurrent.futures
import datetime
import decimal
import json
import random
import re
import time
import uuid

import requests

from cesync_daemon import (expected_documents, plain_decimal, same, timestamp_text, wait_until)

SYNC_TIMEOUT = 60
UTC = datetime.timezone.utc
EPOCH_UTC = datetime.datetime(1970, 1, 1, tzinfo=UTC)
SOFT_DELETE = "cesync_deleted"
# Settings of the search -> Cassandra poller for every daemon of this file (docs/CONFIG.md).
TO_CASSANDRA = {"poll_interval": "250ms"}




# ---------------------------------------------------------------------------------------------
# Helpers: time, documents, the daemon's counters


def now_ms():
    return time.time_ns() // 1_000_000


def iso(ms):
    return timestamp_text(ms)


def parse_ts(v):
    """Milliseconds since the epoch of a timestamp in a form docs/TYPES.md accepts (ISO-8601 text
    or epoch milliseconds)."""
    if isinstance(v, bool):
        raise ValueError(f"not a timestamp: {v!r}")
    if isinstance(v, int):
        return v
    if isinstance(v, datetime.datetime):
        dt = v if v.tzinfo else v.replace(tzinfo=UTC)
    else:
        s = v.strip().replace(" ", "T")
        if s.endswith("Z"):
            s = s[:-1] + "+00:00"
        dt = datetime.datetime.fromisoformat(s)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
    delta = dt - EPOCH_UTC
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _split_type(t):
    """'map<text, int>' -> ('map', ['text', 'int']); 'int' -> ('int', [])."""
    t = t.strip()
    if "<" not in t:
        return t, []
    name, inner = t[:t.index("<")], t[t.index("<") + 1:-1]
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
            continue
        depth += ch == "<"
        depth -= ch == ">"
        cur += ch
    parts.append(cur.strip())
    return name.strip(), parts


def norm(ctype, v):
    """One comparable form of a value of CQL type `ctype` written in any form docs/TYPES.md
    accepts (or as the forward mapping writes it): timestamps as ISO text with milliseconds,
    decimals as exact text, sets sorted, empty collections as null (Cassandra cannot tell them
    apart)."""
    if v is None:
        return None
    name, args = _split_type(ctype)
    if name in ("text", "varchar", "ascii"):
        return v if isinstance(v, str) else json.dumps(v)
    if name in ("int", "bigint", "smallint", "tinyint", "varint"):
        return int(v) if not isinstance(v, bool) else v
    if name in ("double", "float"):
        return float(v)
    if name == "boolean":
        return v if isinstance(v, bool) else {"true": True, "false": False}.get(v, v)
    if name == "decimal":
        return plain_decimal(decimal.Decimal(v if isinstance(v, str) else repr(v)))
    if name == "timestamp":
        return iso(parse_ts(v))
    if name in ("uuid", "timeuuid"):
        return str(uuid.UUID(str(v)))
    if name in ("list", "set"):
        items = v if isinstance(v, list) else [v]
        items = [norm(args[0], e) for e in items]
        if name == "set":
            items = sorted(set(items))
        return items or None
    if name == "map":
        kt, vt = args
        out = {norm(kt, k) if kt not in ("text", "varchar", "ascii") else k: norm(vt, e) for k, e in v.items()}
        return {str(k): e for k, e in out.items()} or None
    return v


def column_types(session, ks, table):
    rows = session.execute("SELECT column_name, type FROM system_schema.columns WHERE keyspace_name = %s"
                           " AND table_name = %s", (ks, table))
    return {r.column_name: r.type for r in rows}


def put_doc(search, index, doc_id, source, refresh=False):
    """Index (create or replace) one document as a search-side application would: no version."""
    params = {"refresh": "true"} if refresh else None
    r = search.http.put(f"{search.url}/{index}/_doc/{requests.utils.quote(doc_id, safe='')}", params=params,
                        data=json.dumps(source), headers={"Content-Type": "application/json"}, timeout=30)
    assert r.status_code in (200, 201), f"PUT {index}/{doc_id}: {r.status_code} {r.text[:500]}"
    return r.json()


def update_doc(search, index, doc_id, fields, refresh=False):
    """A partial update (`_update` with a `doc`), as applications often edit one field. `_update`
    reads then writes the document; it retries when the daemon wrote it in between."""
    params = {"retry_on_conflict": "5"}
    if refresh:
        params["refresh"] = "true"
    r = search.http.post(f"{search.url}/{index}/_update/{requests.utils.quote(doc_id, safe='')}", params=params,
                         data=json.dumps({"doc": fields}), headers={"Content-Type": "application/json"},
                         timeout=30)
    assert r.status_code == 200, f"_update {index}/{doc_id}: {r.status_code} {r.text[:500]}"
    return r.json()


def visible_ids(search, index, ids):
    """Which of `ids` a search (not a realtime GET) finds now, without refreshing."""
    r = search.http.post(f"{search.url}/{index}/_search", data=json.dumps(
        {"size": len(ids), "query": {"ids": {"values": list(ids)}}}),
        headers={"Content-Type": "application/json"}, timeout=30)
    assert r.status_code == 200, r.text
    return {h["_id"] for h in r.json()["hits"]["hits"]}


def admin_url(daemon):
    text = open(daemon.config).read()
    m = re.search(r"admin: \{listen: '([^']+)'\}", text)
    assert m, f"no admin.listen in {daemon.config}"
    return f"http://{m.group(1)}"


# Counters of the clients' own traffic: polling and the health probe move them while idle.
TRAFFIC_COUNTERS = ("cesync_cassandra_", "cesync_search_request", "cesync_search_bulk_")


def metric_counters(daemon):
    """Every counter (`*_total`) of /metrics that counts data, not the clients' traffic:
    {"name{labels}": value}."""
    r = requests.get(admin_url(daemon) + "/metrics", timeout=10)
    assert r.status_code == 200, r.text
    out = {}
    for line in r.text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        key, _, value = line.rpartition(" ")
        name = key.split("{")[0]
        if name.endswith("_total") and not name.startswith(TRAFFIC_COUNTERS):
            out[key] = float(value)
    return out


def to_cassandra_status(daemon, table):
    """The table's `to_cassandra` entry of `cesync status --json`."""
    st = daemon.table_status(table)
    assert "to_cassandra" in st, f"cesync status has no to_cassandra entry for {table}: {st}"
    return st["to_cassandra"]


def checkpoint_ms(tc):
    """The to_cassandra checkpoint of a status entry as epoch ms (None before the first)."""
    cp = tc.get("checkpoint")
    if cp is None:
        return None
    return parse_ts(cp)


def tables_cfg(*names, direction="both", timestamp_column="updated", **more):
    return [(n, {"direction": direction, "timestamp_column": timestamp_column, **more}) for n in names]


def extra_cfg():
    if not TO_CASSANDRA:
        return ""
    return "to_cassandra: {" + ", ".join(f"{k}: {v}" for k, v in TO_CASSANDRA.items()) + "}"


# ---------------------------------------------------------------------------------------------
# Helpers: both sides against the expected records


def _record_diff(types, want, got, side):
    out = []
    for col in sorted(set(want) | set(got)):
        if col not in types:
            continue
        w = norm(types[col], want.get(col))
        if col not in got:
            out.append(f"{col}: {side} has no field (expected {w!r})")
            continue
        g = norm(types[col], got[col])
        if not same(w, g):
            out.append(f"{col}: expected {w!r}, {side} has {g!r}")
    return "; ".join(out)


def side_diffs(session, search, ks, table, index, expected, limit=8, check_index=True):
    """How the table and the index differ from `expected` ({document id: {column: value}}; every
    column given, null as None). "" when both equal it: same ids, every column equal after norm.
    Index fields that are not columns (cesync_token, cesync_id, the soft-delete field) are
    ignored."""
    types = column_types(session, ks, table)
    problems = []
    rows = {i: {c: v for c, v in d.items() if c in types} for i, d in expected_documents(session, ks, table).items()}
    sides = [("table", rows)]
    if check_index:
        docs = {i: d["source"] for i, d in search.documents(index).items()}
        sides.append(("index", docs))
    for side, have in sides:
        missing = sorted(set(expected) - set(have))
        extra = sorted(set(have) - set(expected))
        diffs = []
        for i in sorted(set(expected) & set(have)):
            d = _record_diff(types, expected[i], have[i], side)
            if d:
                diffs.append(f"  {side} {i!r}: {d}")
        if missing or extra or diffs:
            problems.append(f"{side} {ks}.{table}/{index}: {len(missing)} missing, {len(extra)} extra, "
                            f"{len(diffs)} different")
            problems += [f"  {side} missing {i!r}: expected {expected[i]!r}" for i in missing[:limit]]
            problems += [f"  {side} extra {i!r}: {have[i]!r}" for i in extra[:limit]]
            problems += diffs[:limit]
    return "\n".join(problems)


def wait_both(session, search, ks, table, index, expected, daemon, what, timeout=SYNC_TIMEOUT):
    wait_until(lambda: side_diffs(session, search, ks, table, index, expected), timeout,
               f"{what}: table {ks}.{table} and index {index} to equal the expected records",
               check=daemon.assert_running, interval=0.4)


def row_of(session, ks, table, key_col, key):
    return session.execute(f"SELECT * FROM {ks}.{table} WHERE {key_col} = %s", (key,)).one()


def start(daemon):
    daemon.setup()
    daemon.start()
    return daemon


# ---------------------------------------------------------------------------------------------
# 1. Documents created and edited in the index reach the table exactly


ITEMS = ("CREATE TABLE {ks}.items (id text PRIMARY KEY, name text, qty int, big bigint, score double,"
         " active boolean, price decimal, at timestamp, ref uuid, tags set<text>, attrs map<text, int>,"
         " nums list<int>, updated timestamp)")
PAIRS = "CREATE TABLE {ks}.pairs (p text, c int, v text, updated timestamp, PRIMARY KEY (p, c))"


def _item(i, t, **over):
    doc = {"id": f"item-{i}", "name": f"name {i} ✓", "qty": i, "big": 9_000_000_000_000 + i, "score": i + 0.25,
           "active": i % 2 == 0, "price": f"{i}.10", "at": iso(1_700_000_000_000 + i),
           "ref": str(uuid.UUID(int=i + 1)), "tags": [f"t{i % 3}", "all"], "attrs": {"a": i, "é": -i},
           "nums": [i, i, 0], "updated": iso(t)}
    doc.update(over)
    return doc


def test_documents_reach_the_table_exactly(cassandra_session, search, keyspace, cesync):
    s = cassandra_session
    ks = keyspace("tc_docs")
    for ddl in (ITEMS, PAIRS):
        s.execute(ddl.format(ks=ks), timeout=60)
    items, pairs = f"{ks}_items", f"{ks}_pairs"
    daemon = start(cesync(tables_cfg(f"{ks}.items", f"{ks}.pairs"), extra=extra_cfg()))

    t0 = now_ms()
    expected = {}
    for i in range(12):
        doc = _item(i, t0 + i)
        if i == 3:
            doc.update(name=None, tags=None, attrs=None, nums=None, price="-0.001", score=-1e300)
        if i == 4:  # other accepted forms: epoch ms, numbers in strings, a lone value for a list
            doc.update(updated=t0 + i, at=1_700_000_000_004, qty="4", big="9000000000000004",
                       active="true", nums=7, ref=str(uuid.UUID(int=5)).upper())
        put_doc(search, items, doc["id"], doc, refresh=i % 2 == 0)
        expected[doc["id"]] = dict(doc, nums=[7] if i == 4 else doc["nums"])
    pairs_expected = {}
    for p, c in (("o'b ✓", 1), ("o'b ✓", 2), ("x", -5)):
        doc = {"p": p, "c": c, "v": f"{p}/{c}", "updated": iso(t0 + 100 + c)}
        doc_id = json.dumps([p, c], ensure_ascii=False, separators=(",", ":"))
        put_doc(search, pairs, doc_id, doc)
        pairs_expected[doc_id] = doc

    wait_both(s, search, ks, "items", items, expected, daemon, "documents created in the index")
    wait_both(s, search, ks, "pairs", pairs, pairs_expected, daemon, "documents with composite ids")
    # Exactly, through the driver's own types as well.
    row = row_of(s, ks, "items", "id", "item-5")
    assert row.qty == 5 and row.big == 9_000_000_000_005 and row.score == 5.25 and row.active is False, row
    assert row.price == decimal.Decimal("5.10") and str(row.price) == "5.10", row
    assert row.at == datetime.datetime(2023, 11, 14, 22, 13, 20, 5000), row
    assert row.ref == uuid.UUID(int=6) and row.tags == {"t2", "all"} and row.attrs == {"a": 5, "é": -5}, row
    assert row.nums == [5, 5, 0] and parse_ts(row.updated) == t0 + 5, row
    # The write time of every cell is the document's timestamp (ms x 1000).
    wt = s.execute(f"SELECT writetime(name), writetime(qty) FROM {ks}.items WHERE id = 'item-5'").one()
    assert tuple(wt) == ((t0 + 5) * 1000, (t0 + 5) * 1000), (tuple(wt), t0 + 5)

    # Edited again later (newer timestamps): full replacement, a partial `_update`, a column to null.
    t1 = now_ms() + 1000
    doc = _item(1, t1, name="renamed", qty=100, tags=["new"], attrs={"z": 26}, nums=[3, 2, 1], active=False)
    put_doc(search, items, "item-1", doc)
    expected["item-1"] = doc
    update_doc(search, items, "item-2", {"price": "2.50", "updated": iso(t1 + 1)})
    expected["item-2"] = dict(expected["item-2"], price="2.50", updated=iso(t1 + 1))
    put_doc(search, items, "item-6", dict(expected["item-6"], score=None, updated=iso(t1 + 2)), refresh=True)
    expected["item-6"] = dict(expected["item-6"], score=None, updated=iso(t1 + 2))
    wait_both(s, search, ks, "items", items, expected, daemon, "documents edited again")

    # An edit with an older timestamp than the row's (and within the overlap the poller re-reads)
    # must not change the row. A marker edit with the newest timestamp shows that the poller has
    # passed it.
    row_before = tuple(row_of(s, ks, "items", "id", "item-1"))
    before = to_cassandra_status(daemon, f"{ks}.items")["counts"]
    put_doc(search, items, "item-1", _item(1, t1 - 500, name="older edit", qty=-1))
    marker = _item(11, t1 + 3000, name="marker")
    put_doc(search, items, "item-11", marker)
    expected["item-11"] = marker
    wait_until(lambda: "" if row_of(s, ks, "items", "id", "item-11").name == "marker" else "marker not written yet",
               SYNC_TIMEOUT, "the marker edit", check=daemon.assert_running)
    wait_until(lambda: "" if to_cassandra_status(daemon, f"{ks}.items")["counts"]["not_newer"] > before["not_newer"]
               else f"not_newer still {before['not_newer']}", SYNC_TIMEOUT,
               "the older edit to be counted as not newer", check=daemon.assert_running)
    assert tuple(row_of(s, ks, "items", "id", "item-1")) == row_before, "an older edit changed the row"
    counts = to_cassandra_status(daemon, f"{ks}.items")["counts"]
    assert counts["dead_letters"] == 0, to_cassandra_status(daemon, f"{ks}.items")

    # The index, which now holds the older edit, must come back to the row (the newest version).
    wait_both(s, search, ks, "items", items, expected, daemon, "the index after an older edit")
    daemon.stop()


# ---------------------------------------------------------------------------------------------
# 2. Concurrent edits on both sides converge on the newest version, and then nothing moves


KV = "CREATE TABLE {ks}.kv (k int PRIMARY KEY, v text, n int, tags set<text>, updated timestamp)"


def test_concurrent_edits_converge_without_bouncing(cassandra_session, search, keyspace, cesync):
    s = cassandra_session
    ks = keyspace("tc_race")
    s.execute(KV.format(ks=ks), timeout=60)
    index = f"{ks}_kv"
    daemon = start(cesync(tables_cfg(f"{ks}.kv"), extra=extra_cfg()))
    ins = s.prepare(f"INSERT INTO {ks}.kv (k, v, n, tags, updated) VALUES (?, ?, ?, ?, ?) USING TIMESTAMP ?")

    rnd = random.Random(int(time.time()))
    seed = rnd.randrange(1 << 30)
    rnd = random.Random(seed)
    base = now_ms()
    keys = 50
    # Distinct millisecond timestamps within +-8 s of now for every version of every key.
    stamps = iter(rnd.sample(range(base - 8000, base + 8000), keys * 5))
    per_key = {}
    for k in range(keys):
        versions = [(next(stamps), rnd.choice("ci")) for _ in range(rnd.randint(2, 5))]
        # A search-side application edits a document in time order; Cassandra writes may carry
        # any timestamp (other clients, replays).
        cass = [v for v in versions if v[1] == "c"]
        rnd.shuffle(cass)
        idx = sorted(v for v in versions if v[1] == "i")
        per_key[k] = (cass, idx)
    # A random interleaving of all the writes, keeping each key's index edits in order.
    ops = []
    pending = {k: (list(c), list(i)) for k, (c, i) in per_key.items()}
    while any(c or i for c, i in pending.values()):
        k = rnd.choice([k for k, (c, i) in pending.items() if c or i])
        c, i = pending[k]
        side = rnd.choice([x for x, q in (("c", c), ("i", i)) if q])
        ops.append((k, (c if side == "c" else i).pop(0)))

    def content(k, ts, side):
        return {"k": k, "v": f"k{k} {side} {ts}", "n": ts % 100_000, "tags": sorted({side, f"m{ts % 7}"}),
                "updated": iso(ts)}

    index_edits = 0
    for k, (ts, side) in ops:
        doc = content(k, ts, side)
        if side == "c":
            micros = ts * 1000 + rnd.randrange(500)
            s.execute(ins, (k, doc["v"], doc["n"], set(doc["tags"]), ts, micros))
        else:
            if rnd.random() < 0.5:
                doc = dict(doc, updated=ts)  # epoch milliseconds instead of ISO text
            put_doc(search, index, str(k), doc, refresh=rnd.random() < 0.2)
            index_edits += 1
        time.sleep(rnd.random() * 0.03)  # pacing only: spreads the writes over a few seconds
        daemon.assert_running()

    expected = {}
    for k, (cass, idx) in per_key.items():
        ts, side = max(cass + idx)
        expected[str(k)] = content(k, ts, side)
    try:
        wait_both(s, search, ks, "kv", index, expected, daemon, f"concurrent edits (seed {seed})", timeout=90)
    except AssertionError as e:
        raise AssertionError(f"{e}\nops (key, (ms, side)) in the order written: {ops}") from None

    # Quiescence: the counters stop moving (no write bouncing between the sides). Two readings
    # 3 s apart must become equal soon after convergence, and stay so.
    def reading():
        return metric_counters(daemon), to_cassandra_status(daemon, f"{ks}.kv")["counts"]

    last = [reading()]

    def still_moving():
        time.sleep(3)  # the interval between two readings, not a wait for the sync
        now = reading()
        prev, last[0] = last[0], now
        if now == prev:
            return ""
        changed = {k: (prev[0].get(k), v) for k, v in now[0].items() if prev[0].get(k) != v}
        return f"metrics changed: {changed}; to_cassandra counts {prev[1]} -> {now[1]}"

    wait_until(still_moving, 45, "the daemon's counters to stop changing after convergence",
               check=daemon.assert_running, interval=0)
    assert still_moving() == "", "the counters moved again after being still"
    assert side_diffs(s, search, ks, "kv", index, expected) == ""
    counts = to_cassandra_status(daemon, f"{ks}.kv")["counts"]
    # Each index edit crosses to Cassandra at most once.
    assert counts["written"] <= index_edits, (counts, index_edits)
    assert counts["dead_letters"] == 0, counts
    print(f"seed {seed}: {len(ops)} writes, {index_edits} in the index; counts {counts}")
    daemon.stop()


def test_index_edit_right_after_a_cassandra_write_is_not_lost(cassandra_session, search, keyspace, cesync):
    """The race of test 2 made dense: for each of 300 keys a Cassandra write, then, after a delay
    of 0-300 ms, an index edit with a newer timestamp. The stream indexes the Cassandra row at
    about the time the edit lands; whichever order they reach the index in, the edit is the
    newest version and must end up on both sides."""
    s = cassandra_session
    ks = keyspace("tc_lost")
    s.execute("CREATE TABLE {ks}.kv (k int PRIMARY KEY, v text, updated timestamp)".format(ks=ks), timeout=60)
    index = f"{ks}_kv"
    daemon = start(cesync(tables_cfg(f"{ks}.kv"), extra=extra_cfg()))
    ins = s.prepare(f"INSERT INTO {ks}.kv (k, v, updated) VALUES (?, ?, ?) USING TIMESTAMP ?")
    expected = {}
    rnd = random.Random()
    delays = {k: rnd.random() * 0.3 for k in range(300)}

    def pair(k):
        t = now_ms()
        s.execute(ins, (k, f"cassandra {t}", t, t * 1000))
        time.sleep(delays[k])  # the spread of the race, not a wait for the sync
        t2 = max(now_ms(), t + 1)
        doc = {"k": k, "v": f"index {t2}", "updated": iso(t2)}
        put_doc(search, index, str(k), doc)
        return k, doc

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        for k, doc in pool.map(pair, range(300)):
            expected[str(k)] = doc
    try:
        wait_both(s, search, ks, "kv", index, expected, daemon, "index edits made just after Cassandra writes",
                  timeout=30)
    except AssertionError as e:
        lost = []
        for k in range(300):
            row = s.execute(f"SELECT v, writetime(v) AS wt FROM {ks}.kv WHERE k = %s", (k,)).one()
            if row.v != expected[str(k)]["v"]:
                got = search.get(index, str(k))
                lost.append(f"key {k}: edit {expected[str(k)]['v']!r} made {delays[k] * 1000:.0f} ms after the"
                            f" Cassandra write; row {row.v!r} written at {row.wt}; index document version"
                            f" {got['_version']}, seq_no {got['_seq_no']}: {got['_source']}")
        raise AssertionError(f"{e}\n" + "\n".join(lost)) from None
    daemon.stop()


# ---------------------------------------------------------------------------------------------
# 3. The bidirectional scenario: the same records on both sides, edits on each, a delete


PEOPLE = "CREATE TABLE {ks}.people (id text PRIMARY KEY, name text, age int, email text, updated timestamp)"


def test_same_records_edited_on_both_sides(cassandra_session, search, keyspace, cesync):
    s = cassandra_session
    ks = keyspace("tc_both")
    s.execute(PEOPLE.format(ks=ks), timeout=60)
    index = f"{ks}_people"
    daemon = cesync(tables_cfg(f"{ks}.people"), extra=extra_cfg())
    daemon.setup()
    ins = s.prepare(f"INSERT INTO {ks}.people (id, name, age, email, updated) VALUES (?, ?, ?, ?, ?)"
                    " USING TIMESTAMP ?")
    t0 = now_ms() - 5000
    expected = {}
    for i in range(10):
        rec = {"id": f"p{i}", "name": f"Person {i}", "age": 20 + i, "email": f"p{i}@example.com", "updated": iso(t0 + i)}
        s.execute(ins, (rec["id"], rec["name"], rec["age"], rec["email"], t0 + i, (t0 + i) * 1000))
        put_doc(search, index, rec["id"], rec)
        expected[rec["id"]] = rec
    daemon.start()
    wait_both(s, search, ks, "people", index, expected, daemon, "the same records on both sides")

    # The sides were equal from the start: wait until the daemon has seen every record both ways
    # (its saved counts), so that the edits below come after it handled the initial state.
    def handled():
        st = daemon.table_status(f"{ks}.people")
        entries, read = st["counts"]["entries"], st.get("to_cassandra", {}).get("counts", {}).get("read", 0)
        return "" if entries >= 10 and read >= 10 else f"change-log entries {entries}, documents read {read}"

    wait_until(handled, SYNC_TIMEOUT, "the daemon to handle the initial records", check=daemon.assert_running)

    t1 = now_ms()
    upd = s.prepare(f"UPDATE {ks}.people USING TIMESTAMP ? SET name = ?, updated = ? WHERE id = ?")
    for n, i in enumerate((1, 2, 3)):  # Cassandra edits
        ts = t1 + n
        s.execute(upd, (ts * 1000, f"cassandra edit {i}", ts, f"p{i}"))
        expected[f"p{i}"] = dict(expected[f"p{i}"], name=f"cassandra edit {i}", updated=iso(ts))
    for n, i in enumerate((4, 5)):  # index edits, whole documents
        ts = t1 + 10 + n
        doc = dict(expected[f"p{i}"], email=f"new{i}@example.com", age=99, updated=iso(ts))
        put_doc(search, index, f"p{i}", doc)
        expected[f"p{i}"] = doc
    update_doc(search, index, "p6", {"name": "index edit 6", "updated": t1 + 20})  # a partial edit
    expected["p6"] = dict(expected["p6"], name="index edit 6", updated=iso(t1 + 20))
    s.execute(f"DELETE FROM {ks}.people WHERE id = 'p7'")
    del expected["p7"]
    wait_both(s, search, ks, "people", index, expected, daemon, "edits on both sides and a delete")
    assert search.get(index, "p7") is None
    assert row_of(s, ks, "people", "id", "p7") is None

    wait_until(lambda: "" if to_cassandra_status(daemon, f"{ks}.people")["counts"]["written"] >= 3
               else f"counts {to_cassandra_status(daemon, f'{ks}.people')['counts']}", 20,
               "the three index edits to be counted", check=daemon.assert_running)
    daemon.stop()
    counts = to_cassandra_status(daemon, f"{ks}.people")["counts"]
    # Only the three index edits were written to Cassandra; the ten equal documents and the
    # documents the Cassandra side indexed were skipped. (One more write is allowed: p7's
    # document read after its row was deleted but before the stream removed it is written back
    # with its old timestamp, under Cassandra's newer tombstone: docs/ARCHITECTURE.md, "Known
    # gaps". The table above shows it changed nothing.)
    assert 3 <= counts["written"] <= 4, counts
    assert counts["deleted"] == 0 and counts["dead_letters"] == 0, counts
    assert side_diffs(s, search, ks, "people", index, expected) == ""


# ---------------------------------------------------------------------------------------------
# 4. Soft delete


def test_soft_delete_removes_the_row_then_the_document(cassandra_session, search, keyspace, cesync):
    s = cassandra_session
    ks = keyspace("tc_soft")
    s.execute(PEOPLE.format(ks=ks), timeout=60)
    index = f"{ks}_people"
    daemon = start(cesync(tables_cfg(f"{ks}.people"), extra=extra_cfg()))
    t0 = now_ms()
    expected = {}
    for i in range(4):
        rec = {"id": f"p{i}", "name": f"Person {i}", "age": i, "email": None, "updated": iso(t0 + i)}
        put_doc(search, index, rec["id"], rec)
        expected[rec["id"]] = rec
    wait_both(s, search, ks, "people", index, expected, daemon, "documents before the soft delete")

    # Soft-delete p1 (newer timestamp); a soft-delete field set to false deletes nothing (p2).
    t1 = now_ms() + 10
    put_doc(search, index, "p1", dict(expected["p1"], updated=iso(t1), **{SOFT_DELETE: True}))
    update_doc(search, index, "p2", {SOFT_DELETE: False, "age": 42, "updated": iso(t1 + 1)})
    del expected["p1"]
    expected["p2"] = dict(expected["p2"], age=42, updated=iso(t1 + 1))
    wait_until(lambda: "" if row_of(s, ks, "people", "id", "p1") is None else "row p1 still there",
               SYNC_TIMEOUT, "the soft delete to delete the row", check=daemon.assert_running)
    wait_until(lambda: "" if search.get(index, "p1") is None else f"document p1: {search.get(index, 'p1')}",
               SYNC_TIMEOUT, "the soft-deleted document to leave the index", check=daemon.assert_running)
    wait_both(s, search, ks, "people", index, expected, daemon, "after the soft delete")
    # The delete carries the document's timestamp: a write older than it does not bring the row back.
    s.execute(f"INSERT INTO {ks}.people (id, name) VALUES ('p1', 'too old') USING TIMESTAMP {t1 * 1000 - 1}")
    assert row_of(s, ks, "people", "id", "p1") is None
    st = to_cassandra_status(daemon, f"{ks}.people")
    assert st["counts"]["deleted"] == 1, st
    daemon.stop()


def test_soft_delete_of_a_row_already_gone_removes_the_document(cassandra_session, search, keyspace, cesync):
    """Found by the fault suite: a document soft-deleted after its row was deleted in Cassandra
    (or for a row that never existed) was skipped as "nothing to delete" and stayed in the index
    for good. The record is deleted on both sides: the document must leave the index too."""
    s = cassandra_session
    ks = keyspace("tc_soft_gone")
    s.execute(PEOPLE.format(ks=ks), timeout=60)
    index = f"{ks}_people"
    daemon = start(cesync(tables_cfg(f"{ks}.people"), extra=extra_cfg()))
    t0 = now_ms()
    s.execute(f"INSERT INTO {ks}.people (id, name, updated) VALUES ('gone', 'Gone', '{iso(t0)}') "
              f"USING TIMESTAMP {t0 * 1000}")
    wait_until(lambda: "" if search.get(index, "gone") else "document gone not indexed yet", SYNC_TIMEOUT,
               "the row to be indexed", check=daemon.assert_running)
    s.execute(f"DELETE FROM {ks}.people USING TIMESTAMP {(t0 + 1) * 1000} WHERE id = 'gone'")
    wait_until(lambda: "" if search.get(index, "gone") is None else "document gone still there", SYNC_TIMEOUT,
               "the row's delete to reach the index", check=daemon.assert_running)
    # A search-side application, which had the record, soft-deletes it now; another soft-deletes
    # a record that never had a row. Both documents must go, and no row may appear.
    t1 = now_ms() + 10
    put_doc(search, index, "gone", {"id": "gone", "name": "Gone", "updated": iso(t1), SOFT_DELETE: True})
    put_doc(search, index, "never", {"id": "never", "name": "Never", "updated": iso(t1 + 1), SOFT_DELETE: True})
    for doc_id in ("gone", "never"):
        wait_until(lambda: "" if search.get(index, doc_id) is None else f"document {doc_id}: {search.get(index, doc_id)}",
                   SYNC_TIMEOUT, f"the soft-deleted document {doc_id} to leave the index", check=daemon.assert_running)
        assert row_of(s, ks, "people", "id", doc_id) is None
    wait_both(s, search, ks, "people", index, {}, daemon, "after soft deletes of rows that are gone")
    st = to_cassandra_status(daemon, f"{ks}.people")
    assert st["counts"]["dead_letters"] == 0, st
    daemon.stop()


# ---------------------------------------------------------------------------------------------
# 5. A document that becomes visible after later ones still reaches the table


NOTES = "CREATE TABLE {ks}.notes (id text PRIMARY KEY, body text, updated timestamp)"


def _ids_on_two_shards(search, index):
    shard = {}
    for n in range(200):
        doc_id = f"doc-{n}"
        r = search.http.get(f"{search.url}/{index}/_search_shards", params={"routing": doc_id}, timeout=10)
        assert r.status_code == 200, r.text
        shard.setdefault(r.json()["shards"][0][0]["shard"], doc_id)
        if len(shard) == 2:
            return shard[0], shard[1]
    raise AssertionError(f"no ids on two shards: {shard}")


def test_late_visible_document_within_the_overlap(cassandra_session, search, keyspace, cesync):
    """Refresh disabled and two shards: document A (timestamp T) is indexed but not visible; B
    (T + 1 s) is indexed with ?refresh=true, which refreshes B's shard only. The poller passes
    T (its checkpoint moves to B); then the index is refreshed and A, older than the checkpoint
    but within the overlap, must still reach the table."""
    s = cassandra_session
    ks = keyspace("tc_late")
    s.execute(NOTES.format(ks=ks), timeout=60)
    index = f"{ks}_notes"
    daemon = cesync(tables_cfg(f"{ks}.notes", direction="to_cassandra"), extra=extra_cfg())
    out = daemon.command("mapping", "--table", f"{ks}.notes")
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    body["settings"] = {"index": {"number_of_shards": 2, "number_of_replicas": 0, "refresh_interval": "-1"}}
    search.create_index(index, body)
    start(daemon)
    a, b = _ids_on_two_shards(search, index)

    # The poller is running and has an (empty) view of the index.
    t = now_ms()
    put_doc(search, index, a, {"id": a, "body": "late", "updated": iso(t)})
    assert visible_ids(search, index, [a]) == set(), "A is visible without a refresh"
    put_doc(search, index, b, {"id": b, "body": "early", "updated": iso(t + 1000)}, refresh=True)
    assert visible_ids(search, index, [a, b]) == {b}, "B's refresh made A visible too (same shard?)"
    wait_until(lambda: "" if row_of(s, ks, "notes", "id", b) is not None else "B not in the table yet",
               SYNC_TIMEOUT, "document B", check=daemon.assert_running)
    wait_until(lambda: "" if (checkpoint_ms(to_cassandra_status(daemon, f"{ks}.notes")) or 0) >= t + 1000
               else f"checkpoint {to_cassandra_status(daemon, f'{ks}.notes').get('checkpoint')}",
               SYNC_TIMEOUT, "the checkpoint to pass A's timestamp", check=daemon.assert_running)
    a_visible = visible_ids(search, index, [a])
    assert a_visible == set(), "the daemon refreshed the index: A is visible before the test refreshes it"
    assert row_of(s, ks, "notes", "id", a) is None, "A reached the table while invisible?"

    search.refresh(index)
    wait_until(lambda: "" if row_of(s, ks, "notes", "id", a) is not None else "A not in the table yet",
               SYNC_TIMEOUT, "document A, visible late but within the overlap", check=daemon.assert_running)
    row = row_of(s, ks, "notes", "id", a)
    assert row.body == "late" and parse_ts(row.updated) == t, row
    daemon.stop()


# ---------------------------------------------------------------------------------------------
# 6. Bad documents are dead-lettered; the rest syncs


BAD = {"bad-int", "bad-frac", "bad-key"}


def test_bad_documents_are_dead_lettered(cassandra_session, search, keyspace, cesync):
    s = cassandra_session
    ks = keyspace("tc_bad")
    s.execute("CREATE TABLE {ks}.t (id text PRIMARY KEY, n int, name text, updated timestamp)".format(ks=ks))
    index = f"{ks}_t"
    daemon = cesync(tables_cfg(f"{ks}.t", direction="to_cassandra"), extra=extra_cfg())
    # The derived mapping makes n an integer, and the engine would refuse text in it. An index
    # created by hand with n as a keyword lets such a document in, as a sloppy mapping would.
    out = daemon.command("mapping", "--table", f"{ks}.t")
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    body["mappings"]["properties"]["n"] = {"type": "keyword"}
    search.create_index(index, body)
    start(daemon)
    t0 = now_ms()
    expected = {}
    for i in range(10):
        doc = {"id": f"g{i}", "n": i, "name": f"good {i}", "updated": iso(t0 + i * 2)}
        expected[doc["id"]] = doc
    docs = dict(expected)
    docs["bad-int"] = {"id": "bad-int", "n": "abc", "name": "text in an int", "updated": iso(t0 + 5)}
    docs["bad-frac"] = {"id": "bad-frac", "n": 12.5, "name": "a fraction in an int", "updated": iso(t0 + 6)}
    docs["bad-key"] = {"n": 1, "name": "no key column", "updated": iso(t0 + 7)}
    for doc_id, doc in docs.items():
        put_doc(search, index, doc_id, doc)

    wait_until(lambda: side_diffs(s, search, ks, "t", index, expected, check_index=False), SYNC_TIMEOUT,
               "the good documents", check=daemon.assert_running)

    def letters():
        tc = to_cassandra_status(daemon, f"{ks}.t")
        got = {d.get("id", d.get("key")): d for d in tc["dead_letters"]}
        return "" if BAD <= set(got) else f"dead letters so far: {tc['dead_letters']}"

    wait_until(letters, SYNC_TIMEOUT, "the bad documents' dead letters", check=daemon.assert_running)
    tc = to_cassandra_status(daemon, f"{ks}.t")
    got = {d.get("id", d.get("key")): d for d in tc["dead_letters"]}
    assert set(got) == BAD, tc
    for doc_id in ("bad-int", "bad-frac"):
        assert "column n" in got[doc_id]["reason"] and "int" in got[doc_id]["reason"], got[doc_id]
    assert "id" in got["bad-key"]["reason"], got["bad-key"]
    assert row_of(s, ks, "t", "id", "bad-int") is None and row_of(s, ks, "t", "id", "bad-frac") is None
    # Each bad document is dead-lettered once, not again at every poll that re-reads the overlap.
    time.sleep(3)  # several polls (every 250 ms), not a wait for the sync
    tc = to_cassandra_status(daemon, f"{ks}.t")
    assert tc["counts"]["dead_letters"] == len(BAD), (
        f"{tc['counts']['dead_letters']} dead letters for {len(BAD)} bad documents: {tc}")
    assert side_diffs(s, search, ks, "t", index, expected, check_index=False) == ""

    # Fixed (a newer timestamp), the document syncs like any other.
    fixed = {"id": "bad-int", "n": 12, "name": "fixed", "updated": iso(now_ms())}
    put_doc(search, index, "bad-int", fixed)
    expected["bad-int"] = fixed
    wait_until(lambda: side_diffs(s, search, ks, "t", index, expected, check_index=False), SYNC_TIMEOUT,
               "the fixed document", check=daemon.assert_running)
    daemon.stop()


# ---------------------------------------------------------------------------------------------
# Smoke test on Elasticsearch 8


def test_smoke_both_ways_on_elasticsearch(cassandra_session, elasticsearch, keyspace, cesync):
    s = cassandra_session
    es = elasticsearch
    ks = keyspace("tc_es")
    s.execute(PEOPLE.format(ks=ks), timeout=60)
    index = f"{ks}_people"
    daemon = start(cesync(tables_cfg(f"{ks}.people"), engine=es, extra=extra_cfg()))
    t0 = now_ms()
    expected = {}
    for i in range(3):
        rec = {"id": f"e{i}", "name": f"from the index {i}", "age": i, "email": None, "updated": iso(t0 + i)}
        put_doc(es, index, rec["id"], rec, refresh=i == 0)
        expected[rec["id"]] = rec
    s.execute(f"INSERT INTO {ks}.people (id, name, age, email, updated) VALUES ('c1', 'from cassandra', 7, 'c@x',"
              f" {t0 + 10}) USING TIMESTAMP {(t0 + 10) * 1000}")
    expected["c1"] = {"id": "c1", "name": "from cassandra", "age": 7, "email": "c@x", "updated": iso(t0 + 10)}
    wait_both(s, es, ks, "people", index, expected, daemon, "both directions on Elasticsearch")
    update_doc(es, index, "c1", {"name": "edited in the index", "updated": iso(t0 + 20)})
    expected["c1"] = dict(expected["c1"], name="edited in the index", updated=iso(t0 + 20))
    put_doc(es, index, "e0", dict(expected["e0"], updated=iso(t0 + 21), **{SOFT_DELETE: True}))
    del expected["e0"]
    wait_both(s, es, ks, "people", index, expected, daemon, "an edit and a soft delete on Elasticsearch")
    daemon.stop()
