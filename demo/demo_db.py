#!/usr/bin/env python3
"""The demo's table and index, seen through the official drivers (not through cesync).

  demo_db.py reset [--fresh]    create demo.product (schema.cql) if missing (--fresh: drop it first,
                                rows and all), delete the index demo_product
  demo_db.py compare [--wait S] compare the table with the index until they are equal or S seconds
                                pass; prints one "summary:" line, exit 0 when equal

Addresses: CESYNC_CASSANDRA (host:port, default 127.0.0.1:9042) and CESYNC_OPENSEARCH (default
http://127.0.0.1:9200), the variables `scripts/cluster env` prints.
"""
import argparse
import logging
import os
import pathlib
import sys
import time

import requests
from cassandra.cluster import Cluster

KEYSPACE, TABLE, INDEX = "demo", "product", "demo_product"
COLUMNS = ("id", "name", "price", "tags", "stock", "updated")
SEARCH = os.environ.get("CESYNC_OPENSEARCH", "http://127.0.0.1:9200").rstrip("/")
HERE = pathlib.Path(__file__).resolve().parent


def connect():
    """A session on the demo's Cassandra node (the driver's own INFO/WARNING chatter silenced)."""
    logging.getLogger("cassandra").setLevel(logging.ERROR)
    host, _, port = os.environ.get("CESYNC_CASSANDRA", "127.0.0.1:9042").rpartition(":")
    cluster = Cluster([host or "127.0.0.1"], port=int(port or 9042), protocol_version=5)
    return cluster, cluster.connect()


def reset(fresh):
    cluster, session = connect()
    try:
        if fresh:
            session.execute(f"DROP KEYSPACE IF EXISTS {KEYSPACE}", timeout=60)
        ks = session.cluster.metadata.keyspaces.get(KEYSPACE)
        exists = not fresh and ks is not None and TABLE in ks.tables
        text = "\n".join(line for line in (HERE / "schema.cql").read_text().splitlines()
                         if not line.lstrip().startswith("--"))
        for statement in filter(None, (s.strip() for s in text.split(";"))):
            session.execute(statement, timeout=60)  # IF NOT EXISTS: keeps what is there
        rows = session.execute(f"SELECT COUNT(*) FROM {KEYSPACE}.{TABLE}", timeout=60).one()[0]
    finally:
        cluster.shutdown()
    r = requests.delete(f"{SEARCH}/{INDEX}", timeout=30)
    if r.status_code not in (200, 404):
        sys.exit(f"deleting index {INDEX}: HTTP {r.status_code} {r.text[:300]}")
    if exists:
        print(f"demo: {KEYSPACE}.{TABLE} kept from an earlier run, {rows} rows "
              f"(cesync run copies them first: the snapshot); index {INDEX} deleted")
    else:
        print(f"demo: {KEYSPACE}.{TABLE} created, empty; index {INDEX} deleted")


def as_document(row):
    """A row in the document form of docs/TYPES.md."""
    doc = {"id": row.id, "name": row.name, "stock": row.stock,
           "price": None if row.price is None else format(row.price, "f"),
           "tags": sorted(row.tags) if row.tags else None, "updated": None}
    if row.updated is not None:
        t = row.updated
        doc["updated"] = t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
    return doc


def table_rows(session):
    rows = session.execute(f"SELECT {', '.join(COLUMNS)} FROM {KEYSPACE}.{TABLE}", timeout=60)
    return {row.id: as_document(row) for row in rows}


def index_documents():
    """Every document of the index (the demo's key space is bounded, so one page holds them)."""
    requests.post(f"{SEARCH}/{INDEX}/_refresh", timeout=30).raise_for_status()
    r = requests.post(f"{SEARCH}/{INDEX}/_search", timeout=30, json={
        "size": 10000, "track_total_hits": True, "_source": list(COLUMNS),
        "query": {"match_all": {}}})
    r.raise_for_status()
    body = r.json()
    total = body["hits"]["total"]["value"]
    docs = {}
    for hit in body["hits"]["hits"]:
        src = hit["_source"]
        doc = {c: src.get(c) for c in COLUMNS}
        doc["tags"] = sorted(doc["tags"]) if doc["tags"] else None
        docs[hit["_id"]] = doc
    return total, docs


def differences(rows, docs):
    missing = sorted(set(rows) - set(docs))
    extra = sorted(set(docs) - set(rows))
    differ = sorted(k for k in set(rows) & set(docs) if rows[k] != docs[k])
    return missing, extra, differ


def compare(wait_seconds):
    cluster, session = connect()
    start = time.monotonic()
    deadline = start + wait_seconds
    next_note = start + 5
    try:
        while True:
            rows = table_rows(session)
            total, docs = index_documents()
            missing, extra, differ = differences(rows, docs)
            equal = not (missing or extra or differ) and total == len(rows)
            if equal or time.monotonic() >= deadline:
                break
            if time.monotonic() >= next_note:
                print(f"waiting for the index: {len(rows)} rows, {total} documents, "
                      f"{len(missing) + len(extra) + len(differ)} to go", file=sys.stderr, flush=True)
                next_note = time.monotonic() + 5
            time.sleep(0.5)
    finally:
        cluster.shutdown()
    head = f"summary: {len(rows)} rows in {KEYSPACE}.{TABLE}, {total} documents in {INDEX}"
    waited = time.monotonic() - start
    if equal:
        print(f"{head}: in sync, every document equal to its row (after {waited:.1f}s)")
        return 0
    print(f"{head}: NOT in sync after {waited:.0f}s ({len(missing)} rows without a document, "
          f"{len(extra)} documents without a row, {len(differ)} documents differing from their row)")
    for key in missing[:3]:
        print(f"  no document for row {rows[key]}")
    for key in extra[:3]:
        print(f"  no row for document {docs[key]}")
    for key in differ[:3]:
        print(f"  row      {rows[key]}\n  document {docs[key]}")
    return 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rst = sub.add_parser("reset")
    rst.add_argument("--fresh", action="store_true", help="drop the table and its rows first")
    cmp = sub.add_parser("compare")
    cmp.add_argument("--wait", type=float, default=0, help="seconds to wait for the index to catch up")
    args = parser.parse_args()
    if args.command == "reset":
        reset(args.fresh)
        return 0
    return compare(args.wait)


if __name__ == "__main__":
    sys.exit(main())
