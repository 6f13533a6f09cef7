"""Our extractor alone, as the measured child process: the named streams into a fresh DuckDB file.

    python -m bench.extract_child WAREHOUSE API_ROOT customers orders products

The access token comes from $BC_ACCESS_TOKEN, as it does for the pipeline.
"""

from __future__ import annotations

import os
import sys

from bc_pipeline.bigcommerce.client import BigCommerceClient
from bc_pipeline.bigcommerce.extract import extract_streams
from bc_pipeline.bigcommerce.streams import STREAMS
from bc_pipeline.warehouse import extraction_memory_limit, open_warehouse


def main(argv: list[str]) -> int:
    warehouse_path, api_root, *names = argv
    conn = open_warehouse(warehouse_path, memory_cap=extraction_memory_limit())
    with BigCommerceClient(api_root, os.environ["BC_ACCESS_TOKEN"]) as client:
        extract_streams(client, conn, [STREAMS[name] for name in names])
    conn.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
