"""A load reads what it sends a range of keys at a time: every row once, a repeated key's rows in one range."""

import duckdb

from bc_pipeline.load.key_ranges import in_range, key_ranges


def test_ranges_hold_every_matching_row_once_and_a_repeated_key_whole():
    conn = duckdb.connect()
    conn.execute("CREATE TABLE pending (book VARCHAR, key VARCHAR)")
    conn.execute("INSERT INTO pending SELECT 'customers', 'k' || i FROM range(1000) t(i)")
    conn.execute("INSERT INTO pending SELECT 'customers', 'k500' FROM range(29)")
    conn.execute("INSERT INTO pending SELECT 'subscribers', 'k' || i FROM range(1000) t(i)")

    read = []
    for params in key_ranges(conn, "pending", "key", "book = $book", {"book": "customers"}, 100):
        rows = conn.execute(f"SELECT key FROM pending WHERE book = $book AND {in_range('key')}", params).fetchall()
        read.append(sorted(key for (key,) in rows))

    assert sorted(key for batch in read for key in batch) == sorted(
        key for (key,) in conn.execute("SELECT key FROM pending WHERE book = 'customers'").fetchall())
    # Ranges of 100 rows but the last; the one holding k500 has all 30 of its rows, and may go past 100 for them.
    assert all(len(batch) >= 100 for batch in read[:-1])
    assert all(len(batch) <= 100 for batch in read if "k500" not in batch)
    assert [batch.count("k500") for batch in read if "k500" in batch] == [30]


def test_no_matching_row_makes_no_range():
    conn = duckdb.connect()
    conn.execute("CREATE TABLE pending (book VARCHAR, key VARCHAR)")
    conn.execute("INSERT INTO pending VALUES ('subscribers', 'k1')")

    assert list(key_ranges(conn, "pending", "key", "book = $book", {"book": "customers"}, 100)) == []
