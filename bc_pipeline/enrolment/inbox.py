"""Where the webhook receiver keeps its inbox: $BC_PIPELINE_HOME/inbox.sqlite, as `bc-pipeline webhooks serve`."""

from __future__ import annotations

from bc_pipeline.paths import inbox_path
from bc_pipeline.webhooks.inbox import Inbox


def open_inbox() -> Inbox | None:
    """The inbox, or None while no webhook receiver has created one."""
    path = inbox_path()
    return Inbox(path) if path.exists() else None
