"""The official Python driver doing what cql_point_reads does: prepared point reads of
cesync_bench.kv with N in flight (run cql_point_reads first, it creates the data).

    py_point_reads.py [host] [port] [in_flight] [seconds]
"""
import random
import sys
import threading
import time

from cassandra import ConsistencyLevel
from cassandra.cluster import Cluster


def main():
    host = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 9042
    window = int(sys.argv[3]) if len(sys.argv) > 3 else 128
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 10.0
    cluster = Cluster([host], port=port)
    session = cluster.connect()
    ps = session.prepare("SELECT v FROM cesync_bench.kv WHERE k = ?")
    ps.consistency_level = ConsistencyLevel.ONE
    slots = threading.Semaphore(window)
    lock = threading.Lock()
    counts = {"done": 0, "errors": 0}
    rng = random.Random(1)

    def finished(rows, ok):
        with lock:
            counts["done"] += 1
            if not ok or len(rows) != 1:
                counts["errors"] += 1
        slots.release()

    start = time.monotonic()
    end = start + seconds
    while time.monotonic() < end:
        slots.acquire()
        f = session.execute_async(ps, [rng.randrange(10000)])
        f.add_callbacks(lambda rows: finished(rows, True), lambda exc: finished([], False))
    for _ in range(window):
        slots.acquire()
    elapsed = time.monotonic() - start
    print("python driver: %d reads in %.1f s = %.0f reads/s, in flight %d, errors %d"
          % (counts["done"], elapsed, counts["done"] / elapsed, window, counts["errors"]))
    cluster.shutdown()


if __name__ == "__main__":
    main()
