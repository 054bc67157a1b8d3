"""Operating a running daemon (docs/OPERATIONS.md): JSON logs, readiness bounds, the live /status,
every declared metric, the canary row, SIGHUP reloads and a bounded SIGTERM."""
import json
import re
import signal
import time

import requests

from cesync_daemon import wait_index_equals_table, wait_until

SYNC_TIMEOUT = 60


def admin_url(daemon):
    text = open(daemon.config).read()
    return "http://" + re.search(r"admin: \{listen: '([^']+)'\}", text).group(1)


def get(daemon, path):
    """The answer, or the exception when the admin server does not answer (yet)."""
    try:
        return requests.get(admin_url(daemon) + path, timeout=5)
    except requests.RequestException as e:
        return e


def metrics(daemon):
    return getattr(get(daemon, "/metrics"), "text", "")


def metric(text, name, labels=""):
    m = re.search(rf"^{re.escape(name + (('{' + labels + '}') if labels else ''))} (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def wait_ready(daemon):
    def ready():
        r = get(daemon, "/readyz")
        return None if getattr(r, "status_code", None) == 200 else getattr(r, "text", str(r))
    wait_until(ready, SYNC_TIMEOUT, "/readyz to answer 200", check=daemon.assert_running)


def use_json_logs(daemon):
    path = daemon.config
    text = open(path).read().replace("log: {level: debug}", "log: {level: debug, format: json}")
    open(path, "w").write(text)


def test_json_logs_readiness_status_and_metrics(cassandra_session, search, keyspace, cesync):
    s = cassandra_session
    ks = keyspace("ops")
    s.execute(f"CREATE TABLE {ks}.t (k int PRIMARY KEY, v text)")
    daemon = cesync([f"{ks}.t"])
    use_json_logs(daemon)
    daemon.setup()
    daemon.start()
    wait_ready(daemon)
    for k in range(30):
        s.execute(f"INSERT INTO {ks}.t (k, v) VALUES ({k}, 'v{k}')")
    wait_index_equals_table(s, search, ks, "t", f"{ks}_t", SYNC_TIMEOUT, daemon)

    # /status: the state file's view plus the daemon's live one.
    status = get(daemon, "/status").json()
    live = status["daemon"]
    assert live["ready"] is True and live["reasons"] == [], live
    assert live["sides"]["cassandra"]["up"] and live["sides"]["search"]["up"], live
    assert set(live["retries"]) >= {"stream_cycles_failed", "search_bulk_requests_retried"}
    (table,) = [t for t in live["tables"] if t["table"] == f"{ks}.t"]
    assert table["to_search"]["lag_seconds"] < SYNC_TIMEOUT
    assert set(table["to_search"]["rates_per_second"]) == {"entries", "indexed", "deleted"}
    assert [t["table"] for t in status["tables"]] == [f"{ks}.t"]

    # /metrics: every family of docs/OPERATIONS.md that has a series without traffic-specific
    # labels is present; the sides are up, the daemon ready, the version labelled.
    # A flush counts its writes once they are acknowledged, a moment after they are visible.
    wait_until(lambda: "" if (metric(metrics(daemon), "cesync_documents_indexed_total", f'table="{ks}.t"') or 0) >= 30
               else "not all 30 writes counted yet", SYNC_TIMEOUT, "the indexed count",
               check=daemon.assert_running)
    text = metrics(daemon)
    assert metric(text, "cesync_ready") == 1
    assert metric(text, "cesync_side_up", 'side="cassandra"') == 1
    assert metric(text, "cesync_side_up", 'side="search"') == 1
    assert re.search(r'^cesync_build_info\{version="[^"]+"\} 1$', text, re.M)
    assert metric(text, "cesync_documents_indexed_total", f'table="{ks}.t"') >= 30
    assert metric(text, "cesync_search_bulk_requests_total") >= 1
    assert metric(text, "cesync_cassandra_requests_total") >= 1
    assert metric(text, "cesync_checkpoint_timestamp_seconds") > time.time() - 3600
    documented = set(re.findall(r"^\| `(\w+)` \|", open("docs/OPERATIONS.md").read(), re.M))
    exposed = set(re.findall(r"^# TYPE (\w+) ", text, re.M))
    assert exposed <= documented, f"undocumented metrics: {exposed - documented}"

    daemon.stop()
    # Every line of a JSON-format run is one JSON object with the documented fields.
    lines = [ln for ln in daemon.logs[-1].read_text().splitlines() if ln.strip()]
    assert lines
    events = []
    for line in lines:
        obj = json.loads(line)
        assert {"ts", "level", "event", "msg"} <= set(obj), obj
        events.append(obj["event"])
    for expected in ("starting", "admin_listening", "streaming", "stopping", "stopped"):
        assert expected in events, (expected, events)


def test_readiness_fails_when_lag_is_over_its_bound(cassandra_session, search, keyspace, cesync):
    s = cassandra_session
    ks = keyspace("opslag")
    s.execute(f"CREATE TABLE {ks}.t (k int PRIMARY KEY, v text)")
    # Lag never drops under the change log's settle time (about 1 s): a 100 ms bound always fails.
    daemon = cesync([(f"{ks}.t", {"max_lag": "100ms"})])
    daemon.setup()
    daemon.start()

    def not_ready_for_lag():
        r = get(daemon, "/readyz")
        if getattr(r, "status_code", None) == 503 and f"{ks}.t: lag" in r.text:
            return None
        return getattr(r, "text", str(r))
    wait_until(not_ready_for_lag, SYNC_TIMEOUT, "/readyz to fail on the lag bound",
               check=daemon.assert_running)
    assert metric(metrics(daemon), "cesync_ready") == 0
    # The stream itself is fine: writes still arrive.
    s.execute(f"INSERT INTO {ks}.t (k, v) VALUES (1, 'one')")
    wait_index_equals_table(s, search, ks, "t", f"{ks}_t", SYNC_TIMEOUT, daemon)


def test_canary_row_is_timed_end_to_end(cassandra_session, search, keyspace, cesync):
    s = cassandra_session
    ks = keyspace("canary")
    s.execute(f"CREATE TABLE {ks}.t (k text, c int, v text, PRIMARY KEY (k, c))")
    s.execute(f"INSERT INTO {ks}.t (k, c, v) VALUES ('cesync-canary', -1, 'kept')")
    daemon = cesync([(f"{ks}.t", {"canary_key": "['cesync-canary', '-1']"})],
                    extra="sync: {canary_interval: 1s}")
    daemon.setup()
    daemon.start()

    def latency():
        text = metrics(daemon)
        value = metric(text, "cesync_canary_latency_seconds", f'table="{ks}.t"')
        return None if value is not None else "no canary latency yet"
    wait_until(latency, SYNC_TIMEOUT, "a canary latency", check=daemon.assert_running)
    text = metrics(daemon)
    assert 0 < metric(text, "cesync_canary_latency_seconds", f'table="{ks}.t"') < SYNC_TIMEOUT
    assert metric(text, "cesync_canary_writes_total", f'table="{ks}.t"') >= 1
    # The canary only wrote its key: the row's other values are as they were.
    row = s.execute(f"SELECT v FROM {ks}.t WHERE k = 'cesync-canary' AND c = -1").one()
    assert row.v == "kept"
    wait_index_equals_table(s, search, ks, "t", f"{ks}_t", SYNC_TIMEOUT, daemon)


def test_sighup_reloads_the_table_list(cassandra_session, search, keyspace, cesync):
    s = cassandra_session
    ks = keyspace("reload")
    s.execute(f"CREATE TABLE {ks}.a (k int PRIMARY KEY, v text)")
    s.execute(f"CREATE TABLE {ks}.b (k int PRIMARY KEY, v text)")
    s.execute(f"INSERT INTO {ks}.b (k, v) VALUES (0, 'there before')")
    both = cesync([f"{ks}.a", f"{ks}.b"])
    both.setup()  # trigger and index for both tables
    daemon = cesync([f"{ks}.a"])
    daemon.start()
    wait_ready(daemon)

    # A list naming a table that does not exist is refused; the daemon keeps its table.
    config = open(daemon.config).read()
    open(daemon.config, "w").write(config + f"  - table: {ks}.missing\n")
    daemon.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: None if (metric(metrics(daemon),
                                       "cesync_config_reload_failures_total") or 0) >= 1
               else "no refusal yet", SYNC_TIMEOUT, "the bad reload to be refused",
               check=daemon.assert_running)
    s.execute(f"INSERT INTO {ks}.a (k, v) VALUES (1, 'a1')")
    wait_index_equals_table(s, search, ks, "a", f"{ks}_a", SYNC_TIMEOUT, daemon)

    # The good list: b is snapshotted, then streamed, without a restart.
    open(daemon.config, "w").write(config + f"  - table: {ks}.b\n")
    daemon.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: None if (metric(metrics(daemon), "cesync_config_reloads_total")
                                or 0) >= 1 else "not reloaded yet",
               SYNC_TIMEOUT, "the reload", check=daemon.assert_running)
    s.execute(f"INSERT INTO {ks}.b (k, v) VALUES (1, 'b1')")
    s.execute(f"INSERT INTO {ks}.a (k, v) VALUES (2, 'a2')")
    wait_index_equals_table(s, search, ks, "b", f"{ks}_b", SYNC_TIMEOUT, daemon)
    wait_index_equals_table(s, search, ks, "a", f"{ks}_a", SYNC_TIMEOUT, daemon)
    wait_ready(daemon)
    log = daemon.logs[-1].read_text()
    assert "new table list was refused" in log and f"{ks}.missing" in log
    assert f"added: {ks}.b" in log
    daemon.stop()


def test_sigterm_drains_and_exits_within_its_bound(cassandra_session, search, keyspace, cesync):
    s = cassandra_session
    ks = keyspace("term")
    s.execute(f"CREATE TABLE {ks}.t (k int PRIMARY KEY, v text)")
    daemon = cesync([f"{ks}.t"], extra="sync: {shutdown_timeout: 5s}")
    daemon.setup()
    daemon.start()
    wait_ready(daemon)
    for k in range(200):
        s.execute(f"INSERT INTO {ks}.t (k, v) VALUES ({k}, 'v{k}')")
    started = time.monotonic()
    daemon.stop(timeout=15)  # asserts exit status 0
    assert time.monotonic() - started < 10
    assert "stopped; checkpoint saved" in daemon.logs[-1].read_text()
    # Whatever was not written before the stop is written after the restart.
    daemon.start()
    wait_index_equals_table(s, search, ks, "t", f"{ks}_t", SYNC_TIMEOUT, daemon)
