#!/usr/bin/env python3
"""A generated write workload on demo.product, through the official Cassandra driver.

About `--rate` writes a second on a bounded set of ids (p0001..p0200 by default), a mix of:
  insert       a whole row (new, or overwriting one)
  update       some columns of a row (price, stock, name; a row is created if missing)
  tags         a collection update: add to or remove from the tags set
  clear        a column deleted (DELETE tags / stock FROM ...)
  delete       a whole row deleted
Prints a line every `--report` seconds; stops on SIGTERM or SIGINT (or after `--seconds`) and
prints its totals. Cassandra: CESYNC_CASSANDRA (host:port, default 127.0.0.1:9042).
"""
import argparse
import collections
import datetime
import random
import signal
import sys
import time
from decimal import Decimal

from demo_db import KEYSPACE, TABLE, connect

T = f"{KEYSPACE}.{TABLE}"
NAMES = ["chair", "table", "lamp", "desk", "shelf", "sofa", "rug", "stool", "bench", "mirror"]
COLOURS = ["oak", "black", "white", "walnut", "steel", "blue", "green", "red"]
TAGS = ["new", "sale", "eco", "outdoor", "kids", "office", "limited", "bestseller"]
MIX = [("insert", 35), ("update", 30), ("tags", 20), ("clear", 5), ("delete", 10)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20, help="writes per second (default 20)")
    parser.add_argument("--ids", type=int, default=200, help="size of the id space (default 200)")
    parser.add_argument("--report", type=float, default=5, help="seconds between progress lines")
    parser.add_argument("--seconds", type=float, default=0, help="stop after this long (0 = never)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    args = parser.parse_args()

    stop = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.append(True))

    rnd = random.Random(args.seed)
    cluster, session = connect()
    ps = {
        "insert": session.prepare(
            f"INSERT INTO {T} (id, name, price, tags, stock, updated) VALUES (?, ?, ?, ?, ?, ?)"),
        "price": session.prepare(f"UPDATE {T} SET price = ?, updated = ? WHERE id = ?"),
        "stock": session.prepare(f"UPDATE {T} SET stock = ?, updated = ? WHERE id = ?"),
        "name": session.prepare(f"UPDATE {T} SET name = ?, updated = ? WHERE id = ?"),
        "tag+": session.prepare(f"UPDATE {T} SET tags = tags + ?, updated = ? WHERE id = ?"),
        "tag-": session.prepare(f"UPDATE {T} SET tags = tags - ?, updated = ? WHERE id = ?"),
        "clear tags": session.prepare(f"DELETE tags FROM {T} WHERE id = ?"),
        "clear stock": session.prepare(f"DELETE stock FROM {T} WHERE id = ?"),
        "delete": session.prepare(f"DELETE FROM {T} WHERE id = ?"),
    }
    kinds, weights = zip(*MIX)

    def name():
        return f"{rnd.choice(COLOURS)} {rnd.choice(NAMES)}"

    def price():
        return Decimal(rnd.randint(199, 99999)).scaleb(-2)  # 1.99 .. 999.99, scale 2

    def write(kind, key, now):
        if kind == "insert":
            tags = set(rnd.sample(TAGS, rnd.randint(0, 3)))
            session.execute(ps["insert"], (key, name(), price(), tags, rnd.randint(0, 500), now))
        elif kind == "update":
            column = rnd.choice(["price", "stock", "name"])
            value = {"price": price, "stock": lambda: rnd.randint(0, 500), "name": name}[column]()
            session.execute(ps[column], (value, now, key))
        elif kind == "tags":
            session.execute(ps[rnd.choice(["tag+", "tag-"])], ({rnd.choice(TAGS)}, now, key))
        elif kind == "clear":
            session.execute(ps[rnd.choice(["clear tags", "clear stock"])], (key,))
        else:
            session.execute(ps["delete"], (key,))

    counts, errors = collections.Counter(), 0
    total_at_report, start = 0, time.monotonic()
    next_report = start + args.report
    print(f"writer: writing about {args.rate:g}/s to {T} (ids p0001..p{args.ids:04d}); "
          f"mix {', '.join(f'{k} {w}%' for k, w in MIX)}", flush=True)
    n = 0
    while not stop and not (args.seconds and time.monotonic() - start >= args.seconds):
        due = start + n / args.rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
            continue
        if delay < -1:  # fell behind (a slow node): carry on at the rate rather than burst
            start -= delay
        n += 1
        kind = rnd.choices(kinds, weights)[0]
        key = f"p{rnd.randint(1, args.ids):04d}"
        try:
            write(kind, key, datetime.datetime.now(datetime.timezone.utc))
            counts[kind] += 1
        except Exception as e:  # a timeout or an unavailable node: say so and go on
            errors += 1
            print(f"writer: {kind} {key} failed: {e}", file=sys.stderr, flush=True)
        now = time.monotonic()
        if now >= next_report:
            total = sum(counts.values())
            print(f"writer: {total} writes ({total - total_at_report} in the last "
                  f"{args.report:g}s): {', '.join(f'{k} {counts[k]}' for k in kinds)}"
                  + (f"; {errors} failed" if errors else ""), flush=True)
            total_at_report, next_report = total, now + args.report
    cluster.shutdown()
    total = sum(counts.values())
    print(f"writer: stopped after {total} writes in {time.monotonic() - start:.1f}s: "
          f"{', '.join(f'{k} {counts[k]}' for k in kinds)}" + (f"; {errors} failed" if errors else ""),
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
