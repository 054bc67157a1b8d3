"""The admin endpoints of a running daemon (admin.listen): /healthz, /readyz, /metrics, /status."""
import re

import requests

from cesync_daemon import wait_index_equals_table, wait_until

SYNC_TIMEOUT = 60


def admin_url(daemon):
    text = open(daemon.config).read()
    return "http://" + re.search(r"admin: \{listen: '([^']+)'\}", text).group(1)


def metric(text, name, table):
    m = re.search(rf'^{name}\{{table="{re.escape(table)}"\}} (\S+)$', text, re.M)
    return float(m.group(1)) if m else None


def test_endpoints_of_a_running_daemon(cassandra_session, search, keyspace, cesync):
    s = cassandra_session
    ks = keyspace("admin")
    s.execute(f"CREATE TABLE {ks}.t (k int PRIMARY KEY, v text)")
    daemon = cesync([f"{ks}.t"])
    daemon.setup()
    daemon.start()
    url = admin_url(daemon)

    def get(path):
        try:
            return requests.get(url + path, timeout=5)
        except requests.RequestException as e:
            return e

    wait_until(lambda: None if getattr(get("/healthz"), "status_code", None) == 200 else "no /healthz yet",
               SYNC_TIMEOUT, "/healthz", check=daemon.assert_running)
    wait_until(lambda: None if get("/readyz").status_code == 200 else get("/readyz").text,
               SYNC_TIMEOUT, "/readyz once streaming", check=daemon.assert_running)

    for k in range(20):
        s.execute(f"INSERT INTO {ks}.t (k, v) VALUES ({k}, 'v{k}')")
    s.execute(f"DELETE FROM {ks}.t WHERE k = 3")
    wait_index_equals_table(s, search, ks, "t", f"{ks}_t", SYNC_TIMEOUT, daemon)

    table = f"{ks}.t"

    def counted():
        text = get("/metrics").text
        indexed = metric(text, "cesync_documents_indexed_total", table)
        deleted = metric(text, "cesync_documents_deleted_total", table)
        entries = metric(text, "cesync_changelog_entries_total", table)
        if indexed is None or indexed < 19 or deleted is None or deleted < 1 or (entries or 0) < 21:
            return f"metrics so far: indexed {indexed}, deleted {deleted}, entries {entries}"
        return None

    wait_until(counted, SYNC_TIMEOUT, "the writes counted in /metrics", check=daemon.assert_running)
    text = get("/metrics").text
    assert "# TYPE cesync_lag_seconds gauge" in text
    assert metric(text, "cesync_lag_seconds", table) >= 0
    assert metric(text, "cesync_dead_letters_total", table) == 0

    status = get("/status").json()
    [entry] = [t for t in status["tables"] if t["table"] == table]
    assert entry["snapshot"]["state"] == "done", entry
    assert entry["index"] == f"{ks}_t"
    assert entry["checkpoint"] is not None

    daemon.stop()
    # Stopped: nothing answers any more.
    assert isinstance(get("/healthz"), requests.RequestException)
