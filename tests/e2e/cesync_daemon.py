"""Helpers for the end-to-end tests of `cesync run`: the daemon as a process, the search engines
through plain HTTP, and the oracle that computes, from what the official Python driver reads, the
document docs/TYPES.md says each row must become.

The oracle is deliberately independent of cesync's code: it reads the table with cassandra-driver,
converts every value by the rules of docs/TYPES.md, and compares ids and sources exactly."""
import base64
import datetime
import decimal
import ipaddress
import json
import math
import os
import signal
import socket
import struct
import subprocess
import time
import uuid

import requests
from cassandra import cqltypes
from cassandra.concurrent import execute_concurrent_with_args
from cassandra.util import Date, Duration, Time

# ---------------------------------------------------------------------------------------------
# Waiting


def wait_until(fn, timeout, what, check=None, interval=0.25):
    """Call fn() until it returns a falsy difference (None, "", []); fn returns a description of
    what still differs. On timeout fail with `what` and the last difference. `check` runs every
    round (e.g. the daemon is still alive) and may fail at once."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        if check is not None:
            check()
        last = fn()
        if not last:
            return
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last difference:\n{last}")
        time.sleep(interval)


# ---------------------------------------------------------------------------------------------
# Search engines through HTTP (the same code for OpenSearch and Elasticsearch 8)


class Search:
    def __init__(self, url, flavour):
        self.url = url.rstrip("/")
        self.flavour = flavour  # "opensearch" or "elasticsearch"
        self.http = requests.Session()

    def __repr__(self):
        return f"Search({self.flavour} at {self.url})"

    def _req(self, method, path, body=None, ok=(200, 201), **params):
        r = self.http.request(method, self.url + path, params=params or None,
                              data=None if body is None else json.dumps(body),
                              headers={"Content-Type": "application/json"}, timeout=60)
        if r.status_code not in ok:
            raise AssertionError(f"{method} {path}: {r.status_code} {r.text[:2000]}")
        return r.json() if r.content else None

    def exists(self, index):
        return self.http.head(f"{self.url}/{index}", timeout=30).status_code == 200

    def create_index(self, index, body):
        return self._req("PUT", f"/{index}", body)

    def delete_index(self, index):
        self._req("DELETE", f"/{index}", ok=(200, 404))

    def delete_indices(self, prefix):
        listing = self._req("GET", f"/_cat/indices/{prefix}*", ok=(200, 404), format="json") or []
        for entry in listing:
            if isinstance(entry, dict) and entry.get("index", "").startswith(prefix):
                self.delete_index(entry["index"])

    def refresh(self, index):
        self._req("POST", f"/{index}/_refresh")

    def mapping(self, index):
        return self._req("GET", f"/{index}/_mapping")[index]["mappings"]

    def get(self, index, doc_id):
        """The document as {"_source":..., "_version":...}, or None."""
        r = self.http.get(f"{self.url}/{index}/_doc/{requests.utils.quote(doc_id, safe='')}", timeout=30)
        if r.status_code == 404:
            return None
        assert r.status_code == 200, r.text
        return r.json()

    def documents(self, index, page=5000):
        """Every document of the index after a refresh: {id: {"source": ..., "version": ...}}.
        Pages with search_after on cesync_id (a keyword; _id cannot be sorted on in ES 8)."""
        self.refresh(index)
        docs = {}
        after = None
        while True:
            body = {"size": page, "query": {"match_all": {}}, "version": True,
                    "sort": [{"cesync_id": {"order": "asc", "unmapped_type": "keyword"}}]}
            if after is not None:
                body["search_after"] = after
            hits = self._req("POST", f"/{index}/_search", body)["hits"]["hits"]
            for h in hits:
                docs[h["_id"]] = {"source": h["_source"], "version": h.get("_version")}
            if len(hits) < page:
                return docs
            after = hits[-1]["sort"]


# ---------------------------------------------------------------------------------------------
# The oracle: CQL values (as the driver returns them) to JSON values (docs/TYPES.md)

_TEXT = {"ascii", "text", "varchar"}
_INTEGER = {"tinyint", "smallint", "int", "bigint", "counter"}
_STRING_FORM = {"timestamp", "date", "time", "uuid", "timeuuid", "inet", "blob"}


_FLT_MAX = struct.unpack("<f", b"\xff\xff\x7f\x7f")[0]


def _to_float32(v):
    """v rounded to the nearest 32-bit float (as its bytes); beyond the largest finite float by
    less than half a unit in the last place it rounds to that float, as a C cast does."""
    try:
        return struct.pack("<f", v)
    except OverflowError:
        if abs(v) < _FLT_MAX + 2.0 ** 103:
            return struct.pack("<f", math.copysign(_FLT_MAX, v))
        return struct.pack("<f", math.copysign(math.inf, v))


def float32_shortest(x):
    """The shortest decimal text that reads back as the same 32-bit float."""
    target = _to_float32(x)
    for digits in range(1, 10):
        text = f"{x:.{digits}g}"
        if _to_float32(float(text)) == target:
            return text
    return repr(x)


def plain_decimal(d):
    """Exact plain notation keeping the scale: Decimal('1.10') -> '1.10', 4.5E+4 -> '45000'."""
    sign, digits, exponent = d.as_tuple()
    text = "".join(map(str, digits))
    if exponent >= 0:
        if text != "0":
            text += "0" * exponent
    else:
        scale = -exponent
        if len(text) <= scale:
            text = "0" * (scale - len(text) + 1) + text
        text = text[:-scale] + "." + text[-scale:]
    return ("-" if sign else "") + text


def _iso_year(year):
    if 0 <= year <= 9999:
        return f"{year:04d}"
    return f"{'-' if year < 0 else '+'}{abs(year):04d}"


def _civil_from_days(days):
    """Proleptic Gregorian (year, month, day) for days since 1970-01-01, any year."""
    try:
        d = datetime.date(1970, 1, 1) + datetime.timedelta(days=days)
        return d.year, d.month, d.day
    except OverflowError:
        pass
    # Outside Python's date range: step whole 400-year cycles (146097 days) into it.
    cycles = 0
    while not (-719162 <= days + cycles * 146097 <= 2932896):
        cycles += 1 if days < 0 else -1
    d = datetime.date(1970, 1, 1) + datetime.timedelta(days=days + cycles * 146097)
    return d.year - cycles * 400, d.month, d.day


def date_text(days):
    y, m, d = _civil_from_days(days)
    return f"{_iso_year(y)}-{m:02d}-{d:02d}"


def timestamp_text(millis):
    days, ms = divmod(millis, 86_400_000)
    return (f"{date_text(days)}T{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:"
            f"{ms // 1000 % 60:02d}.{ms % 1000:03d}Z")


def _timestamp_millis(v):
    if isinstance(v, datetime.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        delta = v - datetime.datetime(1970, 1, 1)
        return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
    return int(v)


def time_text(nanos):
    return (f"{nanos // 3_600_000_000_000:02d}:{nanos // 60_000_000_000 % 60:02d}:"
            f"{nanos // 1_000_000_000 % 60:02d}.{nanos % 1_000_000_000:09d}")


def inet_text(v):
    addr = ipaddress.ip_address(v)
    if addr.version == 6 and addr.ipv4_mapped is not None:
        return f"::ffff:{addr.ipv4_mapped}"  # RFC 5952 section 5
    return addr.compressed


def _typename(ctype):
    if isinstance(ctype, type) and issubclass(ctype, cqltypes.UserType):
        return "udt"
    if isinstance(ctype, type) and issubclass(ctype, cqltypes.VectorType):
        return "vector"
    return ctype.typename


def doc_value(ctype, v):
    """The JSON value (as Python) of one CQL value of type ctype (a cassandra.cqltypes class)."""
    if v is None:
        return None
    name = _typename(ctype)
    if name in _TEXT:
        return v
    if name == "boolean":
        return bool(v)
    if name in _INTEGER:
        return int(v)
    if name == "float":
        return None if not math.isfinite(v) else float(float32_shortest(v))
    if name == "double":
        return None if not math.isfinite(v) else float(v)
    if name == "varint":
        return str(v)
    if name == "decimal":
        return plain_decimal(v)
    if name == "timestamp":
        return timestamp_text(_timestamp_millis(v))
    if name == "date":
        days = v.days_from_epoch if isinstance(v, Date) else (v - datetime.date(1970, 1, 1)).days
        return date_text(days)
    if name == "time":
        nanos = v.nanosecond_time if isinstance(v, Time) else (
            ((v.hour * 60 + v.minute) * 60 + v.second) * 1_000_000_000 + v.microsecond * 1000)
        return time_text(nanos)
    if name == "duration":
        assert isinstance(v, Duration)
        return {"months": v.months, "days": v.days, "nanoseconds": v.nanoseconds}
    if name in ("uuid", "timeuuid"):
        return str(uuid.UUID(str(v)))
    if name == "inet":
        return inet_text(v)
    if name == "blob":
        return base64.b64encode(bytes(v)).decode("ascii")
    if name in ("list", "set"):
        return [doc_value(ctype.subtypes[0], e) for e in v]
    if name == "vector":
        return [doc_value(ctype.subtype, e) for e in v]
    if name == "tuple":
        return [doc_value(t, e) for t, e in zip(ctype.subtypes, v)]
    if name == "map":
        ktype, vtype = ctype.subtypes
        return {text_form(ktype, k): doc_value(vtype, e) for k, e in v.items()}
    if name == "udt":
        values = list(v)
        return {f: doc_value(t, values[i] if i < len(values) else None)
                for i, (f, t) in enumerate(zip(ctype.fieldnames, ctype.subtypes))}
    raise AssertionError(f"the oracle has no rule for CQL type {ctype}")


def _number_text(x):
    """A double the way C++ std::to_chars prints it (shortest digits; fixed or scientific,
    whichever is shorter, fixed on a tie)."""
    if x == 0:
        return "-0" if math.copysign(1, x) < 0 else "0"
    sign, digits, exponent = decimal.Decimal(repr(x)).normalize().as_tuple()
    ds = "".join(map(str, digits))
    neg = "-" if sign else ""
    point = len(ds) + exponent  # digits before the decimal point
    if exponent >= 0:
        fixed = ds + "0" * exponent
    elif point > 0:
        fixed = ds[:point] + "." + ds[point:]
    else:
        fixed = "0." + "0" * (-point) + ds
    sci_exp = point - 1
    sci = (ds[0] + ("." + ds[1:] if len(ds) > 1 else "") +
           f"e{'-' if sci_exp < 0 else '+'}{abs(sci_exp):02d}")
    return neg + (fixed if len(fixed) <= len(sci) else sci)


def _json_string(s):
    out = ['"']
    for ch in s:
        c = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch in "\n\r\t\b\f":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}[ch])
        elif c < 0x20:
            out.append(f"\\u{c:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def compact_json(value):
    """Compact JSON of a doc_value() result, unicode unescaped, numbers as cesync prints them."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _number_text(value)
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, list):
        return "[" + ",".join(compact_json(e) for e in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(_json_string(k) + ":" + compact_json(e) for k, e in value.items()) + "}"
    raise AssertionError(f"not a JSON value: {value!r}")


def text_form(ctype, v):
    """The text form of docs/TYPES.md (document ids, map keys)."""
    name = _typename(ctype)
    if v is None:
        return "null"
    if name in _TEXT:
        return v
    if name in _INTEGER or name == "varint":
        return str(int(v))
    if name == "boolean":
        return "true" if v else "false"
    if name == "decimal" or name in _STRING_FORM:
        return doc_value(ctype, v)
    return compact_json(doc_value(ctype, v))


def same(a, b):
    """Exact JSON equality: true is not 1, but 3 and 3.0 are the same number."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def _quote(name):
    return '"' + name.replace('"', '""') + '"'


def load_table(session, ks, table, schema, columns, rows, values=None, concurrency=64):
    """CREATE TABLE ks.table (schema) and INSERT every row (a tuple of `columns`, or of the
    markers in `values` when given); returns the table's index name, ks_table."""
    session.execute(f"CREATE TABLE {ks}.{table} ({schema})")
    marks = values or ", ".join("?" * len(columns))
    insert = session.prepare(f"INSERT INTO {ks}.{table} ({', '.join(columns)}) VALUES ({marks})")
    execute_concurrent_with_args(session, insert, rows, concurrency=concurrency,
                                 raise_on_first_error=True)
    return f"{ks}_{table}"


def table_columns(session, ks, table):
    """(partition key names, clustering names, all column names) in key order."""
    rows = list(session.execute(
        "SELECT column_name, kind, position FROM system_schema.columns WHERE keyspace_name = %s AND table_name = %s",
        (ks, table)))
    assert rows, f"table {ks}.{table} does not exist"
    pk = [r.column_name for r in sorted((r for r in rows if r.kind == "partition_key"), key=lambda r: r.position)]
    ck = [r.column_name for r in sorted((r for r in rows if r.kind == "clustering"), key=lambda r: r.position)]
    return pk, ck, [r.column_name for r in rows]


def expected_documents(session, ks, table):
    """{document id: source} for every row of the table, per docs/TYPES.md."""
    pk, ck, columns = table_columns(session, ks, table)
    keys = pk + ck
    alias = "cesync_oracle_token"
    query = (f"SELECT token({', '.join(map(_quote, pk))}) AS {alias}, {', '.join(map(_quote, columns))} "
             f"FROM {_quote(ks)}.{_quote(table)}")
    stmt = session.prepare(query)
    rs = session.execute(stmt)
    types = dict(zip(rs.column_names, rs.column_types))
    names = rs.column_names
    docs = {}
    for row in rs:
        values = dict(zip(names, row))
        if len(keys) == 1:
            doc_id = text_form(types[keys[0]], values[keys[0]])
        else:
            doc_id = compact_json([doc_value(types[k], values[k]) for k in keys])
        source = {c: doc_value(types[c], values[c]) for c in columns}
        source["cesync_token"] = values[alias]
        source["cesync_id"] = doc_id
        assert doc_id not in docs, f"two rows with the document id {doc_id!r}"
        docs[doc_id] = source
    return docs


def _field_diff(expected, actual):
    fields = sorted(set(expected) | set(actual))
    out = []
    for f in fields:
        if f not in actual:
            out.append(f"{f}: missing (expected {expected[f]!r})")
        elif f not in expected:
            out.append(f"{f}: unexpected {actual[f]!r}")
        elif not same(expected[f], actual[f]):
            out.append(f"{f}: expected {expected[f]!r}, index has {actual[f]!r}")
    return "; ".join(out)


def index_table_diff(session, search, ks, table, index, exclude=(), limit=8):
    """A description of how the index differs from the table (missing, extra and different
    documents), or "" when they are equal. Ids in `exclude` are left out on both sides."""
    expected = expected_documents(session, ks, table)
    actual = {i: d["source"] for i, d in search.documents(index).items()}
    for doc_id in exclude:
        expected.pop(doc_id, None)
        actual.pop(doc_id, None)
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    different = sorted(i for i in set(expected) & set(actual) if not same(expected[i], actual[i]))
    if not (missing or extra or different):
        return ""
    lines = [f"{ks}.{table} ({len(expected)} rows) vs index {index} ({len(actual)} documents): "
             f"{len(missing)} missing, {len(extra)} extra, {len(different)} different"]
    lines += [f"  missing {i!r}: {expected[i]!r}" for i in missing[:limit]]
    lines += [f"  extra {i!r}: {actual[i]!r}" for i in extra[:limit]]
    lines += [f"  different {i!r}: {_field_diff(expected[i], actual[i])}" for i in different[:limit]]
    return "\n".join(lines)


def assert_index_equals_table(session, search, ks, table, index, exclude=()):
    diff = index_table_diff(session, search, ks, table, index, exclude)
    assert not diff, diff


def wait_index_equals_table(session, search, ks, table, index, timeout=60, daemon=None, exclude=()):
    wait_until(lambda: index_table_diff(session, search, ks, table, index, exclude), timeout,
               f"index {index} to equal table {ks}.{table}",
               check=daemon.assert_running if daemon is not None else None, interval=0.3)


# ---------------------------------------------------------------------------------------------
# The cesync process


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(path, state_path, tables, search_url, extra="", changelog=None):
    """A config for the local cluster. `tables`: list of "ks.t" or (ks.t, {key: value});
    `changelog`: more changelog.* settings (docs/CONFIG.md), e.g. {"confidence_window": "3s"}."""
    cassandra = os.environ.get("CESYNC_CASSANDRA", "127.0.0.1:9042")
    log_settings = {"replication": "\"{'class': 'SimpleStrategy', 'replication_factor': 1}\"",
                    "poll_interval": "100ms", **(changelog or {})}
    lines = [
        f"cassandra: {{contact_points: ['{cassandra}'], consistency: ONE}}",
        f"search: {{urls: ['{search_url}']}}",
        "changelog: {" + ", ".join(f"{k}: {v}" for k, v in log_settings.items()) + "}",
        f"state: {{path: '{state_path}'}}",
        f"admin: {{listen: '127.0.0.1:{free_port()}'}}",
        "log: {level: debug}",
    ]
    if extra:
        lines.append(extra.rstrip("\n"))
    lines.append("tables:")
    for t in tables:
        name, opts = (t, {}) if isinstance(t, str) else t
        lines.append(f"  - table: {name}")
        lines += [f"    {k}: {v}" for k, v in opts.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


class Daemon:
    """One cesync configuration: its one-shot commands and the `cesync run` process. Every run's
    stdout and stderr go to a numbered log file under `workdir`."""

    def __init__(self, binary, config, workdir):
        self.binary = binary
        self.config = str(config)
        self.workdir = workdir
        self.proc = None
        self.logs = []
        self._log = None

    def _logfile(self, what):
        path = self.workdir / f"cesync-{len(self.logs) + 1:02d}-{what}.log"
        self.logs.append(path)
        return path

    def command(self, *args, timeout=180):
        """Run `cesync ARGS --config FILE` to completion; its output is logged too."""
        out = subprocess.run([self.binary, *args, "--config", self.config], capture_output=True,
                             text=True, timeout=timeout)
        path = self._logfile(args[0])
        path.write_text(f"$ cesync {' '.join(args)}\nexit {out.returncode}\n--- stdout\n{out.stdout}\n"
                        f"--- stderr\n{out.stderr}")
        return out

    def setup(self):
        out = self.command("setup")
        assert out.returncode == 0, f"cesync setup failed ({out.returncode}):\n{out.stdout}\n{out.stderr}"
        return out

    def status(self):
        out = self.command("status", "--json", timeout=60)
        assert out.returncode == 0, f"cesync status failed ({out.returncode}):\n{out.stderr}"
        return json.loads(out.stdout)

    def table_status(self, table):
        tables = {t["table"]: t for t in self.status()["tables"]}
        assert table in tables, f"cesync status has no {table}: {sorted(tables)}"
        return tables[table]

    def run_once(self, timeout=180):
        path = self._logfile("run-once")
        with open(path, "wb") as log:
            try:
                return subprocess.run([self.binary, "run", "--config", self.config, "--once"],
                                      stdout=log, stderr=subprocess.STDOUT, timeout=timeout).returncode
            except subprocess.TimeoutExpired:
                raise AssertionError(f"cesync run --once did not exit within {timeout}s:\n{self.tail()}")

    def start(self):
        assert self.proc is None or self.proc.poll() is not None, "the daemon already runs"
        path = self._logfile("run")
        self._log = open(path, "wb")
        self.proc = subprocess.Popen([self.binary, "run", "--config", self.config],
                                     stdout=self._log, stderr=subprocess.STDOUT)
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def assert_running(self):
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"cesync run exited on its own with {self.proc.returncode}:\n{self.tail()}")

    def stop(self, timeout=60):
        """SIGTERM, wait for the drain; the exit status must be 0."""
        assert self.running(), f"the daemon is not running:\n{self.tail()}"
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"cesync run did not exit within {timeout}s of SIGTERM:\n{self.tail()}")
        finally:
            self._close_log()
        assert rc == 0, f"cesync run exited with {rc} after SIGTERM:\n{self.tail()}"

    def kill(self):
        assert self.running(), f"the daemon is not running:\n{self.tail()}"
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self._close_log()

    def _close_log(self):
        if self._log is not None:
            self._log.close()
            self._log = None

    def close(self):
        if self.running():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._close_log()

    def log_text(self):
        return "\n".join(f"===== {p.name}\n{p.read_text(errors='replace')}" for p in self.logs if p.exists())

    def tail(self, lines=80):
        if not self.logs:
            return "(no cesync output)"
        p = self.logs[-1]
        text = p.read_text(errors="replace").splitlines() if p.exists() else []
        return f"===== last {lines} lines of {p}\n" + "\n".join(text[-lines:])
