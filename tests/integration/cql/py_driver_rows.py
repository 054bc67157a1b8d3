"""The official Python driver's side of the type round-trip check.

    py_driver_rows.py write HOST PORT KEYSPACE TABLE ID   writes the reference row with id ID
    py_driver_rows.py read HOST PORT KEYSPACE TABLE       prints every row, one line per row

Each line is "id|col=value|col=value..." in the canonical text the C++ Value::toString uses, so
the two drivers can be compared byte for byte.
"""
import calendar
import decimal
import ipaddress
import sys
import uuid
from collections import namedtuple

from cassandra.cluster import Cluster
from cassandra.util import Date, Duration, Time

COLUMNS = ["a", "bi", "bl", "bo", "d", "dec", "dur", "f", "i", "ine", "si", "t", "ti", "tim",
           "ts", "tu", "u", "vi", "da", "l", "s", "m", "tup", "ud", "nest", "vec", "vect"]


def reference_row(addr):
    return [
        "ascii text", -1234567890123, b"\x00\xff\x10", True, 3.141592653589793,
        decimal.Decimal("-12345.678"), Duration(1, 2, 3000000004), 1.5, -42,
        ipaddress.ip_address("::1"), -300, "h\u00e9llo", -7, Time(45296000000789),
        1700000000123, uuid.UUID("e4c00b02-5a3c-11ef-8000-000000000001"),
        uuid.UUID("00112233-4455-6677-8899-aabbccddeeff"), 123456789012345678901234567890,
        Date(19000), [1, 2, 3], {"x", "y"}, {"k1": 1, "k2": 2}, (7, "seven"),
        addr("main", 12), [{"a": [1, 2]}, {"b": []}], [0.5, -1.25, 3.0], ["p", "qr"],
    ]


def fmt(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "%.17g" % v
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(v, (bytes, bytearray)):
        return "0x" + bytes(v).hex()
    if isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, decimal.Decimal):
        sign, digits, exp = v.as_tuple()
        unscaled = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
        return "%de%d" % (unscaled, exp)
    if isinstance(v, Duration):
        return "%dmo%dd%dns" % (v.months, v.days, v.nanoseconds)
    if isinstance(v, Date):
        return str(v.days_from_epoch)
    if isinstance(v, Time):
        return str(v.nanosecond_time)
    if hasattr(v, "utctimetuple"):
        return str(calendar.timegm(v.utctimetuple()) * 1000 + v.microsecond // 1000)
    if isinstance(v, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return str(v)
    if isinstance(v, dict) or hasattr(v, "items"):
        return "{" + ", ".join(fmt(k) + ": " + fmt(x) for k, x in v.items()) + "}"
    if hasattr(v, "_fields"):
        return "{" + ", ".join(f + ": " + fmt(getattr(v, f)) for f in v._fields) + "}"
    if isinstance(v, tuple):
        return "(" + ", ".join(fmt(x) for x in v) + ")"
    if isinstance(v, list):
        return "[" + ", ".join(fmt(x) for x in v) + "]"
    if isinstance(v, (set, frozenset)) or hasattr(v, "__iter__"):
        return "{" + ", ".join(fmt(x) for x in v) + "}"
    return repr(v)


def main():
    mode, host, port, ks, table = sys.argv[1:6]
    cluster = Cluster([host], port=int(port))
    session = cluster.connect(ks)
    session.row_factory = lambda names, rows: [dict(zip(names, r)) for r in rows]
    Addr = namedtuple("addr", ["street", "num"])
    cluster.register_user_type(ks, "addr", Addr)
    if mode == "write":
        rid = int(sys.argv[6])
        placeholders = ", ".join(["?"] * (len(COLUMNS) + 1))
        ps = session.prepare("INSERT INTO %s (id, %s) VALUES (%s)"
                             % (table, ", ".join(COLUMNS), placeholders))
        session.execute(ps, [rid] + reference_row(Addr))
    else:
        for r in sorted(session.execute("SELECT * FROM %s" % table), key=lambda r: r["id"]):
            # The driver hands inet columns back as plain strings.
            cells = [(c, str(r[c]) if c == "ine" else fmt(r[c])) for c in COLUMNS]
            print("|".join([str(r["id"])] + ["%s=%s" % cell for cell in cells]))
    cluster.shutdown()


if __name__ == "__main__":
    main()
