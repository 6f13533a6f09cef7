"""Markdown tables for the Dagster UI's metadata, read straight from DuckDB."""

import duckdb

from bc_pipeline.assets.preview import markdown_table, table_preview


def test_a_preview_leaves_out_the_raw_json_and_cuts_long_text():
    conn = duckdb.connect()
    conn.execute("CREATE TABLE t (id INTEGER, note VARCHAR, raw JSON)")
    assert table_preview(conn, "t") == "_no rows_"
    conn.execute("INSERT INTO t VALUES (1, ?, '{\"secret\": 1}'), (2, NULL, '{}')", ["x" * 50])

    header, rule, *rows = table_preview(conn, "t", width=10).splitlines()

    assert [cell.strip() for cell in header.strip("|").split("|")] == ["id", "note"]
    assert set(rule) <= set("|-: ")
    assert "xxxxxxxxxx…" in rows[0] and "x" * 11 not in rows[0]
    assert "secret" not in "\n".join(rows)


def test_counts_by_reason_become_a_markdown_table():
    conn = duckdb.connect()
    conn.execute("CREATE TABLE rejected (reason VARCHAR)")
    conn.execute("INSERT INTO rejected VALUES ('no email'), ('no email'), ('invalid email')")

    reasons = conn.execute(
        "SELECT reason, count(*) AS contacts FROM rejected GROUP BY reason ORDER BY 2 DESC").fetchall()
    table = markdown_table(["reason", "contacts"], reasons)

    header, _, first, second = table.splitlines()
    assert [cell.strip() for cell in header.strip("|").split("|")] == ["reason", "contacts"]
    assert [cell.strip() for cell in first.strip("|").split("|")] == ["no email", "2"]
    assert [cell.strip() for cell in second.strip("|").split("|")] == ["invalid email", "1"]
