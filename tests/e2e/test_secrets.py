"""Secrets never appear in cesync's output (issue #8).

Passwords and API keys, given in the configuration file or through the environment, must not show
in anything cesync prints, at every log level and in both log formats: stdout and stderr of
`config check`, `config print-defaults`, `setup`, `run --once`, `run`, `status` and `status --json`,
error messages (a wrong Cassandra password included), and the bodies of the admin endpoints.

Cassandra: the secure node of the local cluster (PasswordAuthenticator and client TLS), with a
role made for this module. Search: OpenSearch without its security plugin, which ignores the
Authorization header; a small recording proxy in front of it checks that cesync does send the
configured credentials, so "nothing leaked" is not true merely because nothing was used.

Every secret carries its own random hex token: the token is searched for as well as the secret, so
the secret is also caught quoted, escaped or URL-encoded, and its first 12 hex digits catch it
cut short. Base64 forms (a Basic header's value, the SASL PLAIN token, an encoded API key) are
searched for too, and so is any Authorization, Basic or ApiKey header text.

Not covered: `${VAR}` in the file (the loader does not expand it); the CESYNC_* variables are the
way to give secrets through the environment."""
import base64
import json
import os
import re
import signal
import ssl
import subprocess
import threading
import time
import urllib.parse
import uuid

import pytest
import requests
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster

from cesync_daemon import Search, free_port, index_table_diff, wait_until
from http_proxy import ForwardingProxy

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SECURE = os.environ.get("CESYNC_CASSANDRA_SECURE", "127.0.0.2:9042")
TLS_DIR = os.environ.get("CESYNC_TLS_DIR", os.path.join(ROOT, ".cluster", "tls"))
SEARCH_URL = os.environ.get("CESYNC_OPENSEARCH", "http://127.0.0.1:9200").rstrip("/")

LEVELS = ("trace", "debug", "info")
FORMATS = ("text", "json")
# Characters that need quoting or escaping in YAML, JSON, CQL and shells.
SPECIAL = "-q\"u'o\\b:c #{x}%s,[y]&*!|>"
SECRET_ENV = ("CESYNC_CASSANDRA_USERNAME", "CESYNC_CASSANDRA_PASSWORD", "CESYNC_SEARCH_USERNAME",
              "CESYNC_SEARCH_PASSWORD", "CESYNC_SEARCH_API_KEY", "CESYNC_LOG_LEVEL")


# ---------------------------------------------------------------------------------------------
# Secrets and the search for them


def new_secret(kind, special=False):
    """A distinctive secret: s3cr3t-<kind>-<32 hex digits>, with YAML/JSON/CQL-special characters
    after it when `special`."""
    return f"s3cr3t-{kind}-{uuid.uuid4().hex}" + (SPECIAL if special else "")


def _b64(text):
    return base64.b64encode(text.encode()).decode()


class Secrets:
    """The secrets of one scenario and every form in which one of them could leak."""

    def __init__(self):
        self.needles = {}  # text to look for -> what it is

    def add(self, what, value, user=None):
        if not value:
            return self
        self.needles[value] = what
        self.needles[json.dumps(value)[1:-1]] = f"{what} (JSON-escaped)"
        self.needles[urllib.parse.quote(value, safe="")] = f"{what} (URL-encoded)"
        self.needles[_b64(value)] = f"{what} (base64)"
        token = re.search(r"[0-9a-f]{32}", value)
        if token:
            self.needles[token.group(0)] = f"{what}'s random part"
            self.needles[token.group(0)[:12]] = f"the start of {what}'s random part"
        if user is not None:
            self.needles[_b64(f"{user}:{value}")] = f"base64 of user:{what} (a Basic header's value)"
            self.needles[_b64(f"\0{user}\0{value}")] = f"base64 of the SASL PLAIN token with {what}"
        return self


HEADER_TEXT = [
    (re.compile(r"authorization", re.I), "an Authorization header"),
    (re.compile(r"\bBasic\s+[A-Za-z0-9+/]{6,}"), "a Basic credential"),
    (re.compile(r"\bApiKey\s+[A-Za-z0-9+/]{6,}"), "an ApiKey credential"),
]


def leaks(text, secrets):
    found = []
    for needle, what in secrets.needles.items():
        at = text.find(needle)
        if at >= 0:
            found.append(f"{what}: ...{text[max(0, at - 120):at + len(needle) + 40]!r}...")
    for pattern, what in HEADER_TEXT:
        m = pattern.search(text)
        if m:
            found.append(f"{what}: ...{text[max(0, m.start() - 120):m.end() + 40]!r}...")
    return found


def assert_no_leak(text, secrets, where):
    found = leaks(text, secrets)
    assert not found, f"secret leaked in {where}:\n  " + "\n  ".join(found)


# ---------------------------------------------------------------------------------------------
# Running cesync


def run(cesync_bin, args, env=None, timeout=120):
    """cesync ARGS with only `env` added to a clean environment (no CESYNC_* secrets inherited).
    Returns (exit code, stdout + stderr)."""
    full = {k: v for k, v in os.environ.items() if k not in SECRET_ENV}
    full.update(env or {})
    out = subprocess.run([cesync_bin, *args], capture_output=True, text=True, timeout=timeout,
                         env=full, errors="replace")
    return out.returncode, f"--- stdout\n{out.stdout}\n--- stderr\n{out.stderr}"


def q(value):
    """A YAML double-quoted scalar (JSON strings are YAML)."""
    return json.dumps(value)


def write_config(path, *, level="info", fmt="text", cassandra=None, search=None, tables=(),
                 state=None, admin="", search_url=SEARCH_URL, tls=True, contact_point=SECURE):
    """A config for the secure node. `cassandra` and `search`: dicts of extra settings (username,
    password, api_key), written double-quoted."""
    lines = ["cassandra:", f"  contact_points: [{q(contact_point)}]", "  consistency: ONE",
             "  request_timeout: 5s"]
    lines += [f"  {k}: {q(v)}" for k, v in (cassandra or {}).items()]
    if tls:
        lines += ["  tls:", "    enabled: true", f"    ca_file: {q(os.path.join(TLS_DIR, 'ca.pem'))}",
                  f"    cert_file: {q(os.path.join(TLS_DIR, 'client.pem'))}",
                  f"    key_file: {q(os.path.join(TLS_DIR, 'client-key.pem'))}"]
    lines += ["search:", f"  urls: [{q(search_url)}]"]
    lines += [f"  {k}: {q(v)}" for k, v in (search or {}).items()]
    lines += ["changelog:", "  replication: \"{'class': 'SimpleStrategy', 'replication_factor': 1}\"",
              "  poll_interval: 100ms", "  confidence_window: 1s", "  settle_time: 500ms",
              "  sweep_interval: 500ms",
              f"state: {{path: {q(str(state or path.parent / 'state.db'))}}}",
              f"admin: {{listen: {q(admin)}}}",
              f"log: {{level: {level}, format: {fmt}}}",
              "tables:"]
    lines += [f"  - table: {t}" for t in tables] or ["  - table: ks.t"]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


# ---------------------------------------------------------------------------------------------
# A recording proxy in front of the search engine


class RecordingProxy(ForwardingProxy):
    """Forwards HTTP requests to the search engine and records each request's Authorization
    header (None when there was none)."""

    def __init__(self, target):
        self.authorizations = []
        super().__init__(target, on_request=lambda handler: self.authorizations.append(
            handler.headers.get("Authorization")))


@pytest.fixture
def proxy():
    p = RecordingProxy(SEARCH_URL)
    yield p
    p.close()


def expected_authorization(search_auth):
    if "api_key" in search_auth:
        key = search_auth["api_key"]
        return "ApiKey " + (_b64(key) if ":" in key else key)
    return "Basic " + _b64(f"{search_auth['username']}:{search_auth['password']}")


# ---------------------------------------------------------------------------------------------
# The secure Cassandra node: a superuser session, a role and a table for this module


def _hostport(value):
    host, _, port = value.rpartition(":")
    return host, int(port)


def _ssl_context():
    ctx = ssl.create_default_context(cafile=os.path.join(TLS_DIR, "ca.pem"))
    ctx.check_hostname = False
    return ctx


@pytest.fixture(scope="module")
def secure_session():
    host, port = _hostport(SECURE)
    if not os.path.exists(os.path.join(TLS_DIR, "ca.pem")):
        pytest.skip(f"no test CA in {TLS_DIR} (scripts/cluster up cassandra-secure)")
    cluster = Cluster([host], port=port, protocol_version=5, ssl_context=_ssl_context(),
                      auth_provider=PlainTextAuthProvider("cassandra", "cassandra"))
    try:
        session = cluster.connect()
    except Exception as e:  # noqa: BLE001 - any failure means the node is not there
        cluster.shutdown()
        pytest.skip(f"the secure Cassandra node at {SECURE} does not answer: {e}")
    session.default_timeout = 60
    yield session
    cluster.shutdown()


@pytest.fixture(scope="module")
def role(secure_session):
    """(name, password) of a login role made for this module; its password has YAML/JSON/CQL-special
    characters. A superuser: `cesync setup` runs CREATE TRIGGER, which only superusers may."""
    name = f"e2e_secrets_{uuid.uuid4().hex[:8]}"
    password = new_secret("cqlpw", special=True)
    cql_password = password.replace("'", "''")
    secure_session.execute(
        f"CREATE ROLE {name} WITH PASSWORD = '{cql_password}' AND LOGIN = true AND SUPERUSER = true")
    try:
        secure_session.execute(f"GRANT ALL PERMISSIONS ON ALL KEYSPACES TO {name}")
    except Exception as e:  # noqa: BLE001
        # The local node runs AllowAllAuthorizer (every role may do everything), which refuses GRANT.
        if "not supported by AllowAllAuthorizer" not in str(e):
            raise
    # The role works with the driver, over TLS, with that password.
    host, port = _hostport(SECURE)
    check = Cluster([host], port=port, protocol_version=5, ssl_context=_ssl_context(),
                    auth_provider=PlainTextAuthProvider(name, password))
    try:
        check.connect().execute("SELECT release_version FROM system.local")
    finally:
        check.shutdown()
    yield name, password
    secure_session.execute(f"DROP ROLE IF EXISTS {name}")


@pytest.fixture(scope="module")
def secure_table(secure_session):
    """(keyspace, table, index): a small table on the secure node, with rows written before any
    trigger (copied by the snapshot)."""
    ks = f"e2e_secrets_{uuid.uuid4().hex[:8]}"
    secure_session.execute(
        f"CREATE KEYSPACE {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}")
    secure_session.execute(f"CREATE TABLE {ks}.t (k int PRIMARY KEY, v text)")
    for k in range(5):
        secure_session.execute(f"INSERT INTO {ks}.t (k, v) VALUES ({k}, 'before {k}')")
    index = f"{ks}_t"
    yield ks, "t", index
    secure_session.execute(f"DROP KEYSPACE IF EXISTS {ks}", timeout=60)
    Search(SEARCH_URL, "opensearch").delete_indices(ks)


def secure_env_and_settings(source, user, password, search_auth):
    """(environment, cassandra settings, search settings) with the secrets in the file or in the
    environment."""
    if source == "file":
        return {}, {"username": user, "password": password}, dict(search_auth)
    env = {"CESYNC_CASSANDRA_USERNAME": user, "CESYNC_CASSANDRA_PASSWORD": password}
    env.update({f"CESYNC_SEARCH_{k.upper()}": v for k, v in search_auth.items()})
    return env, {}, {}


def search_auth_of(kind):
    if kind == "basic":
        return {"username": f"searchuser-{uuid.uuid4().hex[:6]}", "password": new_secret("searchpw", special=True)}
    return {"api_key": f"keyid-{uuid.uuid4().hex[:6]}:{new_secret('apikey')}"}


def secrets_of(user, password, search_auth):
    s = Secrets().add("cassandra.password", password, user)
    if "api_key" in search_auth:
        s.add("search.api_key", search_auth["api_key"])
        s.add("search.api_key's key", search_auth["api_key"].split(":", 1)[1])
    else:
        s.add("search.password", search_auth["password"], search_auth["username"])
    return s


# ---------------------------------------------------------------------------------------------
# Configuration commands


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("level", LEVELS)
def test_config_check_and_print_defaults(cesync_bin, tmp_path, level, fmt):
    cass_pw, search_pw, api_key = (new_secret("cpw", special=True), new_secret("spw", special=True),
                                   new_secret("key"))
    secrets = (Secrets().add("cassandra.password", cass_pw, "alice")
               .add("search.password", search_pw, "bob").add("search.api_key", api_key))

    # Secrets in the file.
    cfg = write_config(tmp_path / "file.yaml", level=level, fmt=fmt,
                       cassandra={"username": "alice", "password": cass_pw},
                       search={"username": "bob", "password": search_pw, "api_key": api_key})
    rc, out = run(cesync_bin, ["config", "check", "--config", cfg])
    assert rc == 0, out
    assert "ok, 1 table" in out, out
    assert_no_leak(out, secrets, "config check (secrets in the file)")

    # Secrets in the environment.
    env = {"CESYNC_CASSANDRA_USERNAME": "alice", "CESYNC_CASSANDRA_PASSWORD": cass_pw,
           "CESYNC_SEARCH_USERNAME": "bob", "CESYNC_SEARCH_PASSWORD": search_pw,
           "CESYNC_SEARCH_API_KEY": api_key, "CESYNC_LOG_LEVEL": level}
    cfg = write_config(tmp_path / "env.yaml", level=level, fmt=fmt)
    rc, out = run(cesync_bin, ["config", "check", "--config", cfg], env)
    assert rc == 0, out
    assert_no_leak(out, secrets, "config check (secrets in the environment)")

    # print-defaults shows the empty defaults, never the values of the environment.
    rc, out = run(cesync_bin, ["config", "print-defaults"], env)
    assert rc == 0, out
    assert_no_leak(out, secrets, "config print-defaults")
    for key in ("password", "api_key"):
        assert re.search(rf'^\s+{key}: ""$', out, re.M), f'print-defaults shows no `{key}: ""`:\n{out}'


BROKEN = {
    # What is wrong -> (cassandra settings as YAML lines, search settings as YAML lines, key the
    # error must name).
    "misspelt password key": (["username: \"alice\"", "pasword: {cpw}"], [], "cassandra.pasword"),
    "password as a list": (["username: \"alice\"", "password: [{cpw}]"], [], "cassandra.password"),
    "password as a mapping": (["username: \"alice\"", "password: {{{cpw}: 1}}"], [], "cassandra.password"),
    "password without username": (["password: {cpw}"], [], "cassandra.password"),
    "api_key as a list": ([], ["api_key: [{key}]"], "search.api_key"),
    "misspelt search password key": ([], ["username: \"bob\"", "passwrd: {spw}"], "search.passwrd"),
    "bad value beside the secrets": (["username: \"alice\"", "password: {cpw}", "max_in_flight: lots"],
                                     ["username: \"bob\"", "password: {spw}", "api_key: {key}"],
                                     "cassandra.max_in_flight"),
    "unclosed quote after the password": (["username: \"alice\"", "password: {cpw}", "local_dc: \"dc1"],
                                          [], "not valid YAML"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_config_errors_do_not_echo_secrets(cesync_bin, tmp_path, case):
    cpw, spw, key = new_secret("cpw", special=True), new_secret("spw", special=True), new_secret("key")
    secrets = (Secrets().add("cassandra.password", cpw, "alice").add("search.password", spw, "bob")
               .add("search.api_key", key))
    cass_lines, search_lines, named = BROKEN[case]
    fill = {"cpw": q(cpw), "spw": q(spw), "key": q(key)}
    text = ("cassandra:\n" + "".join(f"  {line.format(**fill)}\n" for line in cass_lines or ["consistency: ONE"])
            + f"search:\n  urls: [{q(SEARCH_URL)}]\n" + "".join(f"  {line.format(**fill)}\n" for line in search_lines)
            + f"state: {{path: {q(str(tmp_path / 'state.db'))}}}\nlog: {{level: trace, format: json}}\n"
            + "tables:\n  - table: ks.t\n")
    cfg = tmp_path / "broken.yaml"
    cfg.write_text(text)
    for args in (["config", "check"], ["run", "--once"], ["setup"], ["status", "--json"]):
        rc, out = run(cesync_bin, [*args, "--config", str(cfg)], timeout=60)
        assert rc == 2, f"cesync {' '.join(args)} accepted a broken config ({case}):\n{out}"
        assert named in out, f"cesync {' '.join(args)}: the error does not name {named!r}:\n{out}"
        assert_no_leak(out, secrets, f"cesync {' '.join(args)} on a config with {case}")


# ---------------------------------------------------------------------------------------------
# setup, run --once and status against the secure node

SYNC_CASES = [
    # level, format, search auth, where the secrets are
    ("trace", "text", "basic", "file"),
    ("trace", "json", "api_key", "env"),
    ("debug", "text", "api_key", "file"),
    ("debug", "json", "basic", "env"),
    ("info", "text", "basic", "env"),
    ("info", "json", "api_key", "file"),
]


@pytest.mark.parametrize("level,fmt,auth,source", SYNC_CASES)
def test_setup_run_and_status_show_no_secret(cesync_bin, tmp_path, secure_session, role,
                                             secure_table, proxy, level, fmt, auth, source):
    user, password = role
    ks, table, index = secure_table
    search_auth = search_auth_of(auth)
    secrets = secrets_of(user, password, search_auth)
    env, cass, srch = secure_env_and_settings(source, user, password, search_auth)
    cfg = write_config(tmp_path / "cesync.yaml", level=level, fmt=fmt, cassandra=cass, search=srch,
                       tables=[f"{ks}.{table}"], search_url=proxy.url)

    rc, out = run(cesync_bin, ["setup", "--config", cfg], env)
    assert rc == 0, f"cesync setup failed:\n{out}"
    assert_no_leak(out, secrets, "cesync setup")

    # A change through the trigger, then a run that copies the table and streams the change.
    tag = uuid.uuid4().hex[:8]
    secure_session.execute(f"INSERT INTO {ks}.{table} (k, v) VALUES (100, 'after {tag}')")
    rc, out = run(cesync_bin, ["run", "--once", "--config", cfg], env)
    assert rc == 0, f"cesync run --once failed:\n{out}"
    assert_no_leak(out, secrets, "cesync run --once")
    search = Search(SEARCH_URL, "opensearch")
    diff = index_table_diff(secure_session, search, ks, table, index)
    assert not diff, f"cesync run --once did not sync with these credentials:\n{diff}\n{out}"

    for args in (["status"], ["status", "--json"]):
        rc, out = run(cesync_bin, [*args, "--config", cfg], env)
        assert rc == 0, out
        assert f"{ks}.{table}" in out, out
        assert_no_leak(out, secrets, f"cesync {' '.join(args)}")

    # The credentials were sent, on every request.
    sent = set(proxy.authorizations)
    assert sent == {expected_authorization(search_auth)}, \
        f"cesync did not send the configured search credentials on every request: {sent}"


# ---------------------------------------------------------------------------------------------
# A wrong Cassandra password


@pytest.mark.parametrize("fmt", FORMATS)
def test_wrong_cassandra_password_is_clear_and_not_echoed(cesync_bin, tmp_path, role, secure_table, fmt):
    user, right = role
    ks, table, _ = secure_table
    wrong = new_secret("wrongpw", special=True)
    search_auth = search_auth_of("basic")
    secrets = secrets_of(user, wrong, search_auth).add("the role's right password", right, user)
    cfg = write_config(tmp_path / "cesync.yaml", level="trace", fmt=fmt,
                       cassandra={"username": user, "password": wrong}, search=search_auth,
                       tables=[f"{ks}.{table}"])
    for args in (["setup"], ["run", "--once"], ["snapshot"]):
        started = time.monotonic()
        rc, out = run(cesync_bin, [*args, "--config", cfg], timeout=60)
        took = time.monotonic() - started
        assert_no_leak(out, secrets, f"cesync {' '.join(args)} with a wrong Cassandra password")
        assert rc == 2, f"cesync {' '.join(args)} with a wrong password exited {rc} after {took:.1f}s:\n{out}"
        assert "authentication" in out.lower(), \
            f"cesync {' '.join(args)}: the error does not say authentication failed:\n{out}"
        assert user in out, f"cesync {' '.join(args)}: the error does not name the user {user}:\n{out}"
        assert "cassandra.password" in out, \
            f"cesync {' '.join(args)}: the error does not name the setting to fix:\n{out}"


# ---------------------------------------------------------------------------------------------
# The admin endpoints of a running daemon, secrets from the environment


@pytest.mark.parametrize("fmt", FORMATS)
def test_admin_endpoints_of_a_running_daemon_show_no_secret(cesync_bin, tmp_path, secure_session, role,
                                                           secure_table, proxy, fmt):
    user, password = role
    ks, table, index = secure_table
    search_auth = search_auth_of("basic" if fmt == "text" else "api_key")
    secrets = secrets_of(user, password, search_auth)
    env, _, _ = secure_env_and_settings("env", user, password, search_auth)
    env["CESYNC_LOG_LEVEL"] = "trace"
    port = free_port()
    cfg = write_config(tmp_path / "cesync.yaml", level="info", fmt=fmt, tables=[f"{ks}.{table}"],
                       search_url=proxy.url, admin=f"127.0.0.1:{port}")
    rc, out = run(cesync_bin, ["setup", "--config", cfg], env)
    assert rc == 0, out
    assert_no_leak(out, secrets, "cesync setup")

    full = {k: v for k, v in os.environ.items() if k not in SECRET_ENV}
    full.update(env)
    log = tmp_path / "run.log"
    with open(log, "wb") as sink:
        proc = subprocess.Popen([cesync_bin, "run", "--config", cfg], stdout=sink, stderr=subprocess.STDOUT,
                                env=full)
    try:
        url = f"http://127.0.0.1:{port}"

        def alive():
            if proc.poll() is not None:
                raise AssertionError(f"cesync run exited with {proc.returncode}:\n"
                                     f"{log.read_text(errors='replace')}")

        def status_of(path):
            try:
                return requests.get(url + path, timeout=5).status_code
            except requests.RequestException as e:
                return str(e)

        wait_until(lambda: None if status_of("/readyz") == 200 else f"/readyz: {status_of('/readyz')}",
                   30, "/readyz of the running daemon", check=alive)
        tag = uuid.uuid4().hex[:8]
        secure_session.execute(f"INSERT INTO {ks}.{table} (k, v) VALUES (200, 'running {tag}')")
        search = Search(SEARCH_URL, "opensearch")
        wait_until(lambda: index_table_diff(secure_session, search, ks, table, index), 30,
                   "the running daemon to sync the table", check=alive)

        for path in ("/metrics", "/status", "/readyz", "/healthz", "/no-such-page"):
            r = requests.get(url + path, timeout=5)
            assert r.status_code == (404 if path == "/no-such-page" else 200), f"{path}: {r.status_code} {r.text}"
            assert_no_leak(f"{r.headers}\n{r.text}", secrets, f"GET {path}")
        for args in (["status"], ["status", "--json"]):
            rc, out = run(cesync_bin, [*args, "--config", cfg], env)
            assert rc == 0, out
            assert_no_leak(out, secrets, f"cesync {' '.join(args)} while the daemon runs")
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
    assert_no_leak(text, secrets, "the output of cesync run (log level trace from CESYNC_LOG_LEVEL)")
    assert set(proxy.authorizations) == {expected_authorization(search_auth)}, set(proxy.authorizations)
