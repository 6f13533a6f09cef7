"""Where the pipeline keeps its local state: $BC_PIPELINE_HOME, by default .bc_pipeline/ in the working directory.

It imports nothing from the package, so the API clients' disconnect check can use it without an import cycle.
"""

from __future__ import annotations

import os
from pathlib import Path

WAREHOUSE_FILE = "warehouse.duckdb"
INBOX_FILE = "inbox.sqlite"


def pipeline_home() -> Path:
    return Path(os.environ.get("BC_PIPELINE_HOME", ".bc_pipeline"))


def inbox_path() -> Path:
    """The webhook inbox that `bc-pipeline webhooks serve` writes and the pipeline reads."""
    return pipeline_home() / INBOX_FILE
