"""Both sandboxes for the reliability tests, sized so every stream spans pages, and the `--chaos-full` switch."""

from __future__ import annotations

import pytest

from bc_pipeline_tests.reliability.harness import Pipeline, start_pipeline_in


def pytest_addoption(parser):
    parser.addoption("--chaos-full", action="store_true", default=False,
                     help="Run the whole fault matrix (every fault kind of both sandboxes, alone and mixed).")


@pytest.fixture
def start_pipeline(monkeypatch, tmp_path):
    """Factory: start_pipeline(bigcommerce=..., dotmailer=...) with sandbox config overrides; stopped after the test."""
    started: list[Pipeline] = []

    def start(bigcommerce: dict | None = None, dotmailer: dict | None = None) -> Pipeline:
        pipeline = start_pipeline_in(tmp_path, bigcommerce, dotmailer)
        started.append(pipeline)
        for name, value in pipeline.env().items():
            monkeypatch.setenv(name, value)
        return pipeline

    yield start
    for pipeline in started:
        pipeline.stop()
