"""Primary keys round-trip exactly: the serialized parts in an entry bind straight back into a
SELECT (as the daemon binds them) and find the very row that was written."""
import datetime
import decimal
import uuid

from cassandra.cqltypes import lookup_casstype

from changelog_support import bind_raw, composite, expected_shard, wait_for

NASTY = [
    "o'brien",
    'say "hi"',
    "unicode é✓😀 中文",
    "sep : | , ; / \\ \t\n",
    "''--",
    "{'a': [1, 2]}",
    "nul\x00byte",
]

KEY_COLUMNS = [  # (name, cql type, cassandra marshal type)
    ("a", "text", "UTF8Type"),
    ("b", "int", "Int32Type"),
    ("c", "text", "UTF8Type"),
    ("d", "text", "UTF8Type"),
    ("e", "blob", "BytesType"),
    ("f", "timestamp", "TimestampType"),
    ("g", "uuid", "UUIDType"),
    ("h", "decimal", "DecimalType"),
    ("i", "frozen<tuple<text, int>>", "TupleType(UTF8Type, Int32Type)"),
    ("j", "frozen<map<text, int>>", "MapType(UTF8Type, Int32Type)"),
]
PARTITION = 3  # a, b, c


def marshal(name):
    return lookup_casstype(f"org.apache.cassandra.db.marshal.{name}")


def rows_to_write():
    rows = []
    for n, s in enumerate(NASTY):
        rows.append((s, n, s[::-1], s, s.encode("utf-8"),
                     datetime.datetime(2024, 1, 2, 3, 4, 5, 6000 * n),
                     uuid.UUID(int=n * 7919), decimal.Decimal(f"-{n}.0{n}"), (s, -n), {s: n}))
    # Empty values where Cassandra allows them (clustering columns).
    rows.append(("p", 0, "q", "", b"", datetime.datetime(1970, 1, 1), uuid.UUID(int=0),
                 decimal.Decimal("0"), ("", 0), {}))
    return rows


def test_composite_keys_round_trip(make_table, session):
    cols = ", ".join(f"{name} {cql}" for name, cql, _ in KEY_COLUMNS)
    names = [name for name, _, _ in KEY_COLUMNS]
    pk = ", ".join(names[:PARTITION])
    ck = ", ".join(names[PARTITION:])
    t = make_table(f"{cols}, v text, PRIMARY KEY (({pk}), {ck})")
    insert = session.prepare(f"INSERT INTO {t.fq} ({', '.join(names)}, v) "
                             f"VALUES ({', '.join('?' * len(names))}, ?)")
    written = rows_to_write()
    for n, row in enumerate(written):
        session.execute(insert, (*row, f"row {n}"))

    entries = wait_for(lambda: (lambda r: r if len(r) >= len(written) else None)(t.entries()),
                       "one entry per written row")
    assert len(entries) == len(written)
    where = " AND ".join(f"{name} = ?" for name in names)
    select = f"SELECT {', '.join(names)}, v FROM {t.fq} WHERE {where}"
    found = []
    for e in entries:
        assert e.kind == "upsert"
        assert len(e.pk) == PARTITION and len(e.ck) == len(KEY_COLUMNS) - PARTITION
        assert e.shard == expected_shard(list(e.pk))
        parts = list(e.pk) + list(e.ck)
        # Each part is the CQL serialization of that column's value ...
        values = tuple(normalize(
            [marshal(m).deserialize(p, 5) for (_, _, m), p in zip(KEY_COLUMNS, parts)]))
        assert values in [tuple(normalize(r)) for r in written]
        # ... and the parts, bound as they are, select exactly that row.
        got = bind_raw(session, select, parts).all()
        assert len(got) == 1
        assert tuple(normalize(got[0][:len(names)])) == values
        found.append(got[0].v)
    assert sorted(found) == sorted(f"row {n}" for n in range(len(written)))


def normalize(row):
    """Driver values in a comparable form (maps as sorted item tuples; empty ones read as None)."""
    out = list(row)
    j = [name for name, _, _ in KEY_COLUMNS].index("j")
    out[j] = dict(out[j] or {})
    out[j] = tuple(sorted(out[j].items()))
    return out


def test_key_text_is_a_where_clause_for_the_row(make_table, session):
    t = make_table("a text, b int, c text, d text, v text, PRIMARY KEY ((a, b), c, d)")
    insert = session.prepare(f"INSERT INTO {t.fq} (a, b, c, d, v) VALUES (?, ?, ?, ?, ?)")
    texts = [s for s in NASTY if "\x00" not in s]
    for n, s in enumerate(texts):
        session.execute(insert, (s, n, s, "", str(n)))
    entries = wait_for(lambda: (lambda r: r if len(r) >= len(texts) else None)(t.entries()),
                       "one entry per written row")
    assert len(entries) == len(texts)
    for e in entries:
        row = session.execute(f"SELECT a, b, c, d, v FROM {t.fq} WHERE {e.key_text}").one()
        assert row is not None, e.key_text
        assert [row.a.encode(), row.b.to_bytes(4, "big")] == list(e.pk)
        assert [row.c.encode(), row.d.encode()] == list(e.ck)


def test_shard_is_the_murmur3_token_of_the_partition_key(make_table, session):
    t = make_table("a text, b bigint, c int, PRIMARY KEY ((a, b), c)")
    keys = [(f"key {n}", n * 1_000_003, n) for n in range(40)]
    for a, b, c in keys:
        session.execute(f"INSERT INTO {t.fq} (a, b, c) VALUES (%s, %s, %s)", (a, b, c))
    entries = wait_for(lambda: (lambda r: r if len(r) >= len(keys) else None)(t.entries()),
                       "one entry per written row")
    tokens = {}
    for r in session.execute(f"SELECT token(a, b) AS tk, a, b FROM {t.fq}"):
        tokens[(r.a, r.b)] = r.tk
    shards_seen = set()
    for e in entries:
        a = e.pk[0].decode()
        b = int.from_bytes(e.pk[1], "big", signed=True)
        assert e.shard == tokens[(a, b)] % 8  # the node's own token for the key
        assert e.shard == expected_shard(list(e.pk))
        assert composite(list(e.pk))  # non-empty composite form
        shards_seen.add(e.shard)
    assert len(shards_seen) > 1
