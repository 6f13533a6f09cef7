"""The warehouse connection caps DuckDB's memory and threads; the cap can be raised, and a bad value is refused.
The extraction, the SQL transforms and the dotmailer loads run under shares of the warehouse's cap. What DuckDB spills
goes beside the warehouse."""

import pytest

from bc_pipeline import warehouse
from bc_pipeline.warehouse import (
    MEMORY_LIMIT_VARIABLE,
    extraction_memory_limit,
    load_memory_limit,
    open_warehouse,
    release_cached_blocks,
    transform_memory_limit,
)
from bc_pipeline_tests.duckdb_memory import cached_table_bytes


def _settings(conn) -> tuple[str, int]:
    return conn.execute("SELECT current_setting('memory_limit'), current_setting('threads')").fetchone()


def test_duckdb_is_capped_by_default(tmp_path, monkeypatch):
    monkeypatch.delenv(MEMORY_LIMIT_VARIABLE, raising=False)
    with open_warehouse(tmp_path / "w.duckdb") as conn:
        assert _settings(conn) == ("244.1 MiB", 2)


def test_the_memory_cap_can_be_raised(tmp_path, monkeypatch):
    monkeypatch.setenv(MEMORY_LIMIT_VARIABLE, "2GB")
    with open_warehouse(tmp_path / "w.duckdb") as conn:
        assert _settings(conn) == ("1.8 GiB", 2)


@pytest.mark.parametrize("value", ["lots", "512", "-1GB", "1 PB"])
def test_a_memory_cap_that_is_not_a_size_is_refused_by_name(tmp_path, monkeypatch, value):
    monkeypatch.setenv(MEMORY_LIMIT_VARIABLE, value)
    with pytest.raises(ValueError, match=MEMORY_LIMIT_VARIABLE):
        open_warehouse(tmp_path / "w.duckdb")


@pytest.mark.parametrize(("step_cap", "warehouse_cap", "cap", "reported"), [
    # The extraction, the transforms and the loads: shares of the warehouse's, which rise with it.
    (load_memory_limit, None, "96MB", "91.5 MiB"), (load_memory_limit, "2GB", "750MB", "715.2 MiB"),
    (load_memory_limit, "64MB", "24MB", "22.8 MiB"),
    (extraction_memory_limit, None, "128MB", "122.0 MiB"), (extraction_memory_limit, "1GB", "500MB", "476.8 MiB"),
    (extraction_memory_limit, "64MB", "32MB", "30.5 MiB"),
    (transform_memory_limit, None, "128MB", "122.0 MiB"), (transform_memory_limit, "1GB", "500MB", "476.8 MiB"),
    (transform_memory_limit, "64MB", "32MB", "30.5 MiB"),
])
def test_the_steps_take_caps_of_their_own_from_the_warehouse(tmp_path, monkeypatch, step_cap, warehouse_cap, cap,
                                                             reported):
    if warehouse_cap:
        monkeypatch.setenv(MEMORY_LIMIT_VARIABLE, warehouse_cap)
    else:
        monkeypatch.delenv(MEMORY_LIMIT_VARIABLE, raising=False)
    assert step_cap() == cap
    with open_warehouse(tmp_path / "w.duckdb", memory_cap=step_cap()) as conn:
        assert _settings(conn) == (reported, 2)


def test_what_spills_goes_beside_the_warehouse_not_into_the_working_directory(tmp_path, monkeypatch):
    working = tmp_path / "cwd"
    working.mkdir()
    monkeypatch.chdir(working)
    path = tmp_path / "home" / "warehouse.duckdb"
    conn = open_warehouse(path, memory_cap="64MB")
    try:
        conn.execute("CREATE TEMP TABLE wide AS SELECT range AS i, md5(range::VARCHAR) AS s FROM range(3000000)")
        [(spilled,)] = conn.execute("SELECT sum(temporary_storage_bytes) FROM duckdb_memory()").fetchall()
        assert spilled > 0
        assert any((tmp_path / "home" / "warehouse.duckdb.tmp").iterdir())
        assert list(working.iterdir()) == []
    finally:
        conn.close()


def test_cached_blocks_are_released_even_while_a_query_holds_more_than_the_floor(tmp_path, monkeypatch):
    path = tmp_path / "w.duckdb"
    with open_warehouse(path) as conn:
        conn.execute("CREATE TABLE wide AS SELECT range AS i, md5(range::VARCHAR) || md5((-range)::VARCHAR) AS s "
                     "FROM range(400000)")
    conn = open_warehouse(path, memory_cap="128MB")
    conn.execute("SELECT sum(length(s)) FROM wide").fetchall()
    cached = cached_table_bytes(conn)
    # A result still being read holds its join's hash table, about 30 MB here, far above the floor.
    reader = conn.cursor()
    reader.execute("SELECT i FROM wide WHERE s IN (SELECT s FROM wide)")
    reader.fetchmany(10)
    monkeypatch.setattr(warehouse, "RELEASED_CACHE_LIMIT", "1MB")

    release_cached_blocks(conn)

    assert cached > 20 * 2**20 and cached_table_bytes(conn) < cached / 4
    assert conn.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "122.0 MiB"
    assert len(reader.fetchall()) == 400000 - 10
