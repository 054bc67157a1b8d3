"""Histories of tables synced both ways that once left the two sides different for good: documents
created on the search side, then deleted in Cassandra by a partition or range delete. Each test
writes the history with the official driver and plain index requests, then polls until both sides
equal what the test computes (test_to_cassandra.side_diffs is the oracle).

No fixed sleeps: every wait polls with a deadline."""
import json

from test_to_cassandra import extra_cfg, iso, now_ms, put_doc, start, tables_cfg, wait_both


def doc_id(p, c):
    return json.dumps([p, c], separators=(",", ":"))


def test_search_created_documents_go_with_a_partition_or_range_delete(cassandra_session, search, keyspace,
                                                                      cesync):
    """A document created on the search side never carried cesync_token, by which a partition's
    documents are found: a partition or range delete in Cassandra left it in the index, both when
    it had reached the table already and when the delete came first."""
    s = cassandra_session
    ks = keyspace("both_ck")
    s.execute(f"CREATE TABLE {ks}.t (p text, c int, v text, updated timestamp, PRIMARY KEY (p, c))",
              timeout=60)
    index = f"{ks}_t"
    daemon = start(cesync(tables_cfg(f"{ks}.t"), extra=extra_cfg()))
    t0 = now_ms()
    expected = {}
    for p in ("a", "b"):
        for c in (1, 2, 3):
            rec = {"p": p, "c": c, "v": f"{p}{c}", "updated": iso(t0 + c)}
            put_doc(search, index, doc_id(p, c), rec)
            expected[doc_id(p, c)] = rec
    wait_both(s, search, ks, "t", index, expected, daemon, "documents created on the search side")

    # Deleted in Cassandra after the documents' times: partition a, and rows c >= 2 of b.
    at = (now_ms() + 100) * 1000
    s.execute(f"DELETE FROM {ks}.t USING TIMESTAMP {at} WHERE p = 'a'")
    s.execute(f"DELETE FROM {ks}.t USING TIMESTAMP {at} WHERE p = 'b' AND c >= 2")
    expected = {doc_id("b", 1): expected[doc_id("b", 1)]}
    wait_both(s, search, ks, "t", index, expected, daemon, "a partition delete and a range delete")

    # Created and deleted at once: the delete (newer) can come before the document reaches the
    # table, which then keeps nothing of it.
    t1 = now_ms()
    for c in (1, 2):
        put_doc(search, index, doc_id("w", c), {"p": "w", "c": c, "v": "w", "updated": iso(t1)})
    s.execute(f"DELETE FROM {ks}.t USING TIMESTAMP {(t1 + 1000) * 1000} WHERE p = 'w'")
    wait_both(s, search, ks, "t", index, expected, daemon, "documents deleted as they were created")
    daemon.stop()
