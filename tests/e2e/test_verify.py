"""`cesync verify`: a table and its index compared in token order, with the index corrupted behind
cesync's back (documents deleted, strays added with and without a token, documents overwritten
with old content); verify must report exactly those, each in its category."""
import json

from cesync_daemon import load_table

PARTITIONS = 300
ROWS_PER_PARTITION = 10


def doc_id(k, c):
    return json.dumps([k, c], separators=(",", ":"))


def verify(daemon, *args):
    out = daemon.command("verify", "--recheck-after", "0.2", *args, timeout=120)
    assert out.returncode in (0, 1), f"cesync verify failed ({out.returncode}):\n{out.stdout}\n{out.stderr}"
    return out


def ids(table, kind):
    return {e["id"] for e in table["examples"][kind]}


def test_verify_finds_exactly_the_corruptions(cesync, keyspace, search, cassandra_session):
    s = cassandra_session
    ks = keyspace("verify")
    rows = [(f"p{p}", c, f"v{p}-{c}", p * c) for p in range(PARTITIONS) for c in range(ROWS_PER_PARTITION)]
    index = load_table(s, ks, "kv", "k text, c int, v text, n int, PRIMARY KEY (k, c)", ["k", "c", "v", "n"], rows)
    daemon = cesync([f"{ks}.kv"])
    daemon.setup()
    assert daemon.run_once() == 0, daemon.tail()

    out = verify(daemon, "--json")
    assert out.returncode == 0, out.stdout
    report = json.loads(out.stdout)
    assert report["in_sync"] is True
    [table] = report["tables"]
    assert (table["rows"], table["documents"]) == (len(rows), len(rows))
    assert (table["missing"], table["extra"], table["stale"]) == (0, 0, 0)
    assert table["versions_compared"] is True

    def source(k, c):
        return search.get(index, doc_id(k, c))["_source"]

    # Deleted documents: missing.
    deleted = {doc_id("p1", 1), doc_id("p7", 0), doc_id("p42", 9), doc_id("p299", 5)}
    for i in deleted:
        search._req("DELETE", f"/{index}/_doc/{requests_quote(i)}")
    # Strays with a token (another partition's) and without one: extra.
    token = source("p3", 0)["cesync_token"]
    extra = {doc_id("zz1", 1), doc_id("zz2", 2), "stray-a", "stray-b", doc_id("p5", 99)}
    for i in (doc_id("zz1", 1), doc_id("zz2", 2), doc_id("p5", 99)):
        search._req("PUT", f"/{index}/_doc/{requests_quote(i)}",
                    {"k": "zz", "c": 1, "v": "stray", "n": 0, "cesync_token": token, "cesync_id": i})
    for i in ("stray-a", "stray-b"):
        search._req("PUT", f"/{index}/_doc/{i}", {"v": "no token"})
    # Overwritten with old content by a plain write (a higher internal version): stale by content.
    stale_content = {doc_id("p10", 2), doc_id("p11", 3), doc_id("p250", 0)}
    for i in stale_content:
        k, c = json.loads(i)
        old = source(k, c)
        old["v"] = "old"
        search._req("PUT", f"/{index}/_doc/{requests_quote(i)}", old)
    # Overwritten without the token field: stale as well (found by id), not also extra.
    no_token = doc_id("p20", 4)
    old = source("p20", 4)
    del old["cesync_token"]
    search._req("PUT", f"/{index}/_doc/{requests_quote(no_token)}", old)
    # A row's document given another partition's token: stale (found by id), not also extra.
    wrong_token = doc_id("p60", 1)
    moved = source("p60", 1)
    moved["cesync_token"] = token
    search._req("PUT", f"/{index}/_doc/{requests_quote(wrong_token)}", moved)
    # The row rewritten with the same value after its document was written (the daemon is not
    # running): the document's version is older than the row's write time, its content the same.
    older = doc_id("p30", 6)
    version_before = search.get(index, older)["_version"]
    s.execute(f"UPDATE {ks}.kv USING TIMESTAMP %s SET n = %s WHERE k = 'p30' AND c = 6",
              (version_before + 1000, 30 * 6))
    search.refresh(index)

    out = verify(daemon, "--json")
    assert out.returncode == 1, out.stdout
    report = json.loads(out.stdout)
    assert report["in_sync"] is False
    [table] = report["tables"]
    assert ids(table, "missing") == deleted
    assert ids(table, "extra") == extra
    assert ids(table, "stale") == stale_content | {no_token, wrong_token, older}
    assert (table["missing"], table["extra"], table["stale"]) == (len(deleted), len(extra), len(stale_content) + 3)
    assert table["rows"] == len(rows)
    assert table["documents"] == len(rows) - len(deleted) + len(extra)
    reasons = {e["id"]: e["reason"] for e in table["examples"]["stale"]}
    assert reasons[older] == "version"
    assert all(reasons[i] == "content" for i in stale_content | {no_token, wrong_token})
    by_id = {e["id"]: e for e in table["examples"]["stale"]}
    assert by_id[older]["document_version"] == version_before
    assert by_id[older]["row_write_time"] == version_before + 1000

    text = verify(daemon)
    assert text.returncode == 1
    assert "differences found" in text.stdout
    assert f"{len(deleted)} missing, {len(extra)} extra, {len(stale_content) + 3} stale" in text.stdout

    # One table named; an unknown one is an error.
    assert verify(daemon, "--table", f"{ks}.kv", "--json").returncode == 1
    bad = daemon.command("verify", "--table", f"{ks}.nope")
    assert bad.returncode == 2, bad.stderr


def requests_quote(doc):
    import requests
    return requests.utils.quote(doc, safe="")


def test_verify_compares_only_content_of_tables_synced_both_ways(cesync, keyspace, search, cassandra_session):
    s = cassandra_session
    ks = keyspace("verifyboth")
    index = load_table(s, ks, "item", "id int PRIMARY KEY, name text, updated timestamp",
                       ["id", "name", "updated"], [(i, f"n{i}") for i in range(200)],
                       values="?, ?, toTimestamp(now())")
    daemon = cesync([(f"{ks}.item", {"direction": "both", "timestamp_column": "updated"})])
    daemon.setup()
    assert daemon.run_once() == 0, daemon.tail()

    out = verify(daemon, "--json")
    assert out.returncode == 0, out.stdout
    [table] = json.loads(out.stdout)["tables"]
    assert table["versions_compared"] is False
    assert (table["rows"], table["documents"], table["stale"]) == (200, 200, 0)

    # Content edited behind cesync's back (same timestamp): stale; a deleted document: missing.
    doc = search.get(index, "7")["_source"]
    doc["name"] = "edited"
    search._req("PUT", f"/{index}/_doc/7", doc)
    search._req("DELETE", f"/{index}/_doc/8")
    search.refresh(index)
    out = verify(daemon, "--json")
    assert out.returncode == 1, out.stdout
    [table] = json.loads(out.stdout)["tables"]
    assert ids(table, "stale") == {"7"} and ids(table, "missing") == {"8"} and table["extra"] == 0
    assert "content compared; versions are internal" in verify(daemon).stdout
