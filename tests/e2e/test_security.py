"""Security (issue #11): cesync against Cassandra with PasswordAuthenticator and client TLS and a
search engine behind TLS with basic authentication.

Cassandra: the `cassandra-secure` node of the local cluster (127.0.0.2), with a login role made
for this module whose password is distinctive. Search: the `search-tls` component, nginx in front
of OpenSearch terminating TLS with a certificate of the test CA and asking for basic
authentication (user and password from `scripts/cluster env`); OpenSearch's integ-test build has
no security plugin, so the proxy is what checks the credentials.

- A `both` table syncs end to end through both secured sides: the snapshot, a change streamed
  from the trigger, and a document edited in the index brought back to Cassandra.
- A wrong search password, or none, is refused at once (exit 2) naming search.username and
  search.password; a wrong Cassandra password naming cassandra.username and cassandra.password.
- A certificate not trusted (no ca_file: the system's CAs; a ca_file of another CA; a
  server_name the certificate does not carry) is refused at once (exit 2) on both sides, naming
  the certificate and the ca_file setting.
- No secret, in any form (see test_secrets.py), appears in the logs at level trace, in
  `cesync status`, `status --json`, or the admin endpoints.

test_secrets.py covers the rest of the secret handling (every command, both log formats, API
keys, secrets from the environment, config errors)."""
import datetime
import json
import os
import signal
import subprocess
import time
import uuid

import pytest
import requests

from cesync_daemon import Search, free_port, index_table_diff, wait_until
from test_secrets import Secrets, secure_session  # noqa: F401 - a fixture of this module too
from test_secrets import assert_no_leak as _assert_no_leak

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SECURE = os.environ.get("CESYNC_CASSANDRA_SECURE", "127.0.0.2:9042")
TLS_DIR = os.environ.get("CESYNC_TLS_DIR", os.path.join(ROOT, ".cluster", "tls"))
SEARCH_URL = os.environ.get("CESYNC_OPENSEARCH", "http://127.0.0.1:9200").rstrip("/")
TLS_URL = os.environ.get("CESYNC_SEARCH_TLS", "https://127.0.0.1:9243")
TLS_USER = os.environ.get("CESYNC_SEARCH_TLS_USER", "cesync")
CA = os.path.join(TLS_DIR, "ca.pem")
SECRET_ENV = ("CESYNC_CASSANDRA_USERNAME", "CESYNC_CASSANDRA_PASSWORD", "CESYNC_SEARCH_USERNAME",
              "CESYNC_SEARCH_PASSWORD", "CESYNC_SEARCH_API_KEY", "CESYNC_LOG_LEVEL")
SYNC_TIMEOUT = 60


def assert_no_leak(text, secrets, where):
    """test_secrets' check (every form of every secret, and any Authorization, Basic or ApiKey
    header text), after dropping the status text of a 401 ("401 Authorization Required"), which
    names the header but shows none."""
    _assert_no_leak(text.replace("401 Authorization Required", "401"), secrets, where)


def tls_password():
    password = os.environ.get("CESYNC_SEARCH_TLS_PASSWORD")
    if not password:
        path = os.path.join(os.environ.get("CESYNC_CLUSTER_DIR", os.path.join(ROOT, ".cluster")),
                            "search-tls", "password")
        if os.path.exists(path):
            password = open(path).read().strip()
    return password


# ---------------------------------------------------------------------------------------------
# Fixtures: the secured sides


@pytest.fixture(scope="module")
def proxy_password():
    password = tls_password()
    if not password:
        pytest.skip("no search-tls password (scripts/cluster up search-tls; scripts/cluster env)")
    try:
        r = requests.get(TLS_URL + "/_cluster/health", verify=CA, auth=(TLS_USER, password), timeout=10)
    except requests.RequestException as e:
        pytest.skip(f"the TLS search proxy at {TLS_URL} does not answer: {e}")
    assert r.status_code == 200, r.text
    # The proxy does check: no credentials, or wrong ones, are refused.
    assert requests.get(TLS_URL + "/", verify=CA, timeout=10).status_code == 401
    assert requests.get(TLS_URL + "/", verify=CA, auth=(TLS_USER, "wrong"), timeout=10).status_code == 401
    return password


@pytest.fixture(scope="module")
def role(secure_session):
    """(name, password): a superuser login role (setup runs CREATE TRIGGER) with a distinctive
    password."""
    name = f"abuse_sec_{uuid.uuid4().hex[:8]}"
    password = f"abuse-cqlpw-{uuid.uuid4().hex}"
    secure_session.execute(f"CREATE ROLE {name} WITH PASSWORD = '{password}' AND LOGIN = true AND SUPERUSER = true")
    yield name, password
    secure_session.execute(f"DROP ROLE IF EXISTS {name}")


@pytest.fixture
def secure_keyspace(secure_session):
    ks = f"abuse_sec_{uuid.uuid4().hex[:8]}"
    secure_session.execute(
        f"CREATE KEYSPACE {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}")
    yield ks
    secure_session.execute(f"DROP KEYSPACE IF EXISTS {ks}", timeout=60)
    Search(SEARCH_URL, "opensearch").delete_indices(ks)


def q(value):
    return json.dumps(value)


def write_config(path, *, user, password, search_password, table="abuse_nowhere.t", direction="to_search",
                 cassandra_tls=None, search_tls=None, level="info", admin="", search_user=TLS_USER):
    """A config for the secured sides. `cassandra_tls`, `search_tls`: the tls settings (default:
    the test CA, names checked)."""
    cassandra_tls = {"enabled": True, "ca_file": CA} if cassandra_tls is None else cassandra_tls
    search_tls = {"ca_file": CA} if search_tls is None else search_tls
    lines = ["cassandra:", f"  contact_points: [{q(SECURE)}]", "  consistency: ONE", "  request_timeout: 5s"]
    if user is not None:
        lines += [f"  username: {q(user)}", f"  password: {q(password)}"]
    lines += ["  tls:"] + [f"    {k}: {q(v)}" for k, v in cassandra_tls.items()]
    lines += ["search:", f"  urls: [{q(TLS_URL)}]", "  request_timeout: 10s"]
    if search_user is not None:
        lines += [f"  username: {q(search_user)}", f"  password: {q(search_password)}"]
    if search_tls:
        lines += ["  tls:"] + [f"    {k}: {q(v)}" for k, v in search_tls.items()]
    lines += ["changelog:", "  replication: \"{'class': 'SimpleStrategy', 'replication_factor': 1}\"",
              "  poll_interval: 100ms", "  confidence_window: 1s", "  settle_time: 500ms",
              "  sweep_interval: 500ms",
              "to_cassandra: {poll_interval: 250ms}",
              f"state: {{path: {q(str(path.parent / 'state.db'))}}}",
              f"admin: {{listen: {q(admin)}}}",
              f"log: {{level: {level}}}",
              "tables:", f"  - table: {table}", f"    direction: {direction}"]
    if direction != "to_search":
        lines.append("    timestamp_column: updated")
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def run(cesync_bin, args, timeout=120):
    """cesync ARGS with no CESYNC_* secrets inherited; (exit code, stdout + stderr, seconds)."""
    env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV}
    started = time.monotonic()
    out = subprocess.run([cesync_bin, *args], capture_output=True, text=True, timeout=timeout, env=env,
                         errors="replace")
    return out.returncode, f"--- stdout\n{out.stdout}\n--- stderr\n{out.stderr}", time.monotonic() - started


def other_ca(tmp_path):
    """A CA that signed nothing the cluster uses."""
    key, cert = tmp_path / "other-ca-key.pem", tmp_path / "other-ca.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=not the cesync test CA", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return str(cert)


# ---------------------------------------------------------------------------------------------
# 1. End to end through both secured sides; no secret anywhere


def test_both_ways_through_tls_and_auth_with_no_secret_shown(cesync_bin, tmp_path, secure_session, role,
                                                             secure_keyspace, proxy_password):
    user, password = role
    ks = secure_keyspace
    table, index = f"{ks}.t", f"{ks}_t"
    secure_session.execute(f"CREATE TABLE {table} (id text PRIMARY KEY, v text, n int, updated timestamp)")
    t0 = int(time.time() * 1000) - 60_000
    for i in range(5):
        secure_session.execute(f"INSERT INTO {table} (id, v, n, updated) VALUES (%s, %s, %s, %s)",
                               (f"pre{i}", f"before {i}", i, datetime.datetime.fromtimestamp(
                                   (t0 + i) / 1000, tz=datetime.timezone.utc)))
    secrets = (Secrets().add("cassandra.password", password, user)
               .add("search.password", proxy_password, TLS_USER))
    port = free_port()
    cfg = write_config(tmp_path / "cesync.yaml", user=user, password=password, search_password=proxy_password,
                       table=table, direction="both", level="trace", admin=f"127.0.0.1:{port}")
    rc, out, _ = run(cesync_bin, ["setup", "--config", cfg])
    assert rc == 0, out
    assert f"index {index}: created" in out, out
    assert_no_leak(out, secrets, "cesync setup")

    env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV}
    log = tmp_path / "run.log"
    with open(log, "wb") as sink:
        proc = subprocess.Popen([cesync_bin, "run", "--config", cfg], stdout=sink, stderr=subprocess.STDOUT,
                                env=env)
    search = Search(SEARCH_URL, "opensearch")
    try:
        def alive():
            if proc.poll() is not None:
                raise AssertionError(f"cesync run exited with {proc.returncode}:\n{log.read_text(errors='replace')}")

        # The snapshot and a change through the trigger, to the index through the proxy.
        secure_session.execute(f"INSERT INTO {table} (id, v, n, updated) VALUES ('streamed', 'after', 9, %s)",
                               (datetime.datetime.now(tz=datetime.timezone.utc),))
        wait_until(lambda: index_table_diff(secure_session, search, ks, "t", index), SYNC_TIMEOUT,
                   "the table in the index, through TLS and basic auth", check=alive)
        # A document edited in the index comes back to Cassandra over TLS with the role's login.
        edited = datetime.datetime.now(tz=datetime.timezone.utc) + datetime.timedelta(seconds=1)
        r = requests.post(f"{SEARCH_URL}/{index}/_update/pre2", timeout=30,
                          json={"doc": {"v": "edited in the index",
                                        "updated": edited.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"}})
        assert r.status_code == 200, r.text

        def came_back():
            row = secure_session.execute(f"SELECT v FROM {table} WHERE id = 'pre2'").one()
            return "" if row.v == "edited in the index" else f"row pre2: {row}"

        wait_until(came_back, SYNC_TIMEOUT, "the index edit in Cassandra", check=alive)
        wait_until(lambda: None if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200
                   else requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5).text, SYNC_TIMEOUT,
                   "/readyz", check=alive)
        for path in ("/status", "/metrics", "/readyz", "/healthz"):
            r = requests.get(f"http://127.0.0.1:{port}{path}", timeout=5)
            assert r.status_code == 200, f"{path}: {r.status_code} {r.text}"
            assert_no_leak(f"{r.headers}\n{r.text}", secrets, f"GET {path}")
        status = requests.get(f"http://127.0.0.1:{port}/status", timeout=5).json()
        assert status["daemon"]["sides"]["search"]["up"] and status["daemon"]["sides"]["cassandra"]["up"], status
        for args in (["status"], ["status", "--json"]):
            rc, out, _ = run(cesync_bin, [*args, "--config", cfg])
            assert rc == 0 and table in out, out
            assert_no_leak(out, secrets, f"cesync {' '.join(args)}")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    text = log.read_text(errors="replace")
    assert proc.returncode == 0, f"cesync run exited {proc.returncode} after SIGTERM:\n{text}"
    assert_no_leak(text, secrets, "the log of cesync run at level trace")


# ---------------------------------------------------------------------------------------------
# 2. Wrong credentials


SEARCH_CREDENTIALS = {
    "wrong password": lambda right: (TLS_USER, f"abuse-wrong-{uuid.uuid4().hex}"),
    "wrong user": lambda right: (f"abuse-nobody-{uuid.uuid4().hex[:6]}", right),
    "no credentials": lambda right: (None, None),
}


@pytest.mark.parametrize("case", sorted(SEARCH_CREDENTIALS))
def test_wrong_search_credentials_are_refused(cesync_bin, tmp_path, role, proxy_password, case):
    user, password = role
    search_user, search_password = SEARCH_CREDENTIALS[case](proxy_password)
    secrets = Secrets().add("cassandra.password", password, user).add("search.password", proxy_password, TLS_USER)
    if search_password:
        secrets.add("the configured search password", search_password, search_user)
    cfg = write_config(tmp_path / "cesync.yaml", user=user, password=password, search_user=search_user,
                       search_password=search_password, level="trace")
    for args in (["setup"], ["run", "--once"], ["verify"]):
        rc, out, took = run(cesync_bin, [*args, "--config", cfg], timeout=60)
        assert rc == 2, f"cesync {' '.join(args)} with {case} exited {rc}:\n{out}"
        assert took < 20, f"cesync {' '.join(args)} took {took:.0f}s to refuse {case}"
        assert "search.username" in out and "search.password" in out, out
        assert "HTTP 401" in out, out
        assert "certificate" not in out, out
        assert_no_leak(out, secrets, f"cesync {' '.join(args)} with {case}")


def test_wrong_cassandra_password_is_refused(cesync_bin, tmp_path, role, proxy_password):
    user, right = role
    wrong = f"abuse-wrongcql-{uuid.uuid4().hex}"
    secrets = (Secrets().add("the wrong Cassandra password", wrong, user).add("cassandra.password", right, user)
               .add("search.password", proxy_password, TLS_USER))
    cfg = write_config(tmp_path / "cesync.yaml", user=user, password=wrong, search_password=proxy_password,
                       level="trace")
    for args in (["setup"], ["run", "--once"]):
        rc, out, took = run(cesync_bin, [*args, "--config", cfg], timeout=60)
        assert rc == 2 and took < 20, f"cesync {' '.join(args)}: exit {rc} after {took:.0f}s:\n{out}"
        assert "cassandra.username" in out and "cassandra.password" in out and user in out, out
        assert "certificate" not in out, out
        assert_no_leak(out, secrets, f"cesync {' '.join(args)} with a wrong Cassandra password")


# ---------------------------------------------------------------------------------------------
# 3. Certificates that are not trusted


def untrusted_cases(tmp_path):
    return {
        "no ca_file (the system's CAs)": ({}, "the system's CAs"),
        "the ca_file of another CA": ({"ca_file": other_ca(tmp_path)}, "other-ca.pem"),
        "a server_name the certificate does not carry": ({"ca_file": CA, "server_name": "wrong.example"},
                                                         "wrong.example"),
    }


@pytest.mark.parametrize("side", ["search", "cassandra"])
def test_untrusted_certificates_are_refused(cesync_bin, tmp_path, role, proxy_password, side):
    user, password = role
    secrets = Secrets().add("cassandra.password", password, user).add("search.password", proxy_password, TLS_USER)
    for case, (tls, named) in untrusted_cases(tmp_path).items():
        if side == "search":
            cfg = write_config(tmp_path / "cesync.yaml", user=user, password=password,
                               search_password=proxy_password, search_tls=tls, level="trace")
            setting = "search.tls.ca_file"
        else:
            cfg = write_config(tmp_path / "cesync.yaml", user=user, password=password,
                               search_password=proxy_password, cassandra_tls={"enabled": True, **tls},
                               level="trace")
            setting = "cassandra.tls.ca_file"
        for args in (["setup"], ["run", "--once"]):
            rc, out, took = run(cesync_bin, [*args, "--config", cfg], timeout=60)
            where = f"cesync {' '.join(args)} on the {side} side with {case}"
            assert rc == 2, f"{where} exited {rc}:\n{out}"
            assert took < 20, f"{where} took {took:.0f}s to refuse"
            assert "TLS certificate is not trusted" in out, f"{where}:\n{out}"
            assert setting in out and named in out, f"{where}: {setting!r} or {named!r} missing:\n{out}"
            assert "refused the credentials" not in out and "refused the login" not in out, out
            assert_no_leak(out, secrets, where)


def test_verify_off_accepts_any_certificate(cesync_bin, tmp_path, role, proxy_password):
    """tls.verify: false (tests only) connects to both sides without a CA."""
    user, password = role
    cfg = write_config(tmp_path / "cesync.yaml", user=user, password=password, search_password=proxy_password,
                       cassandra_tls={"enabled": True, "verify": False}, search_tls={"verify": False})
    rc, out, _ = run(cesync_bin, ["setup", "--config", cfg], timeout=60)
    # It gets past both connections: what stops it is the table that does not exist.
    assert rc == 2 and "table abuse_nowhere.t does not exist" in out, out
