"""Fixtures shared by the whole suite: the official API specs and sandbox servers on 127.0.0.1."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def _specs_dir() -> Path:
    # CI lays shared/ beside the clone; the project never copies the official documents.
    configured = os.environ.get("BC_PIPELINE_SPECS_DIR")
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "specs"


@pytest.fixture(scope="session")
def specs_dir() -> Path:
    path = _specs_dir()
    if not (path / "bigcommerce").is_dir() or not (path / "dotdigital").is_dir():
        pytest.fail(f"official API specs not found at {path}: set BC_PIPELINE_SPECS_DIR")
    return path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The slow tests each take minutes on their own. Collected first, and kept first by xdist (`make test` passes
    # --no-loadscope-reorder, which otherwise sends the files with the most tests first), they start at once beside
    # the short ones instead of lengthening the run's tail after them.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


# The connected-pipeline fixture (`sandboxes`) is shared by several test folders.
from bc_pipeline_tests.pipeline.conftest import sandboxes  # noqa: E402,F401
