"""What DuckDB holds in memory, as the memory tests read it."""


def cached_table_bytes(conn) -> int:
    """Bytes of table blocks DuckDB keeps in its buffer pool."""
    return conn.execute("SELECT memory_usage_bytes FROM duckdb_memory() WHERE tag = 'BASE_TABLE'").fetchone()[0]


def index_bytes(conn) -> int:
    """Bytes DuckDB holds for the indexes of primary keys."""
    return conn.execute("SELECT memory_usage_bytes FROM duckdb_memory() WHERE tag = 'ART_INDEX'").fetchone()[0]
