"""BigCommerce webhooks: a receiver that appends callbacks to a SQLite inbox, and the inbox the pipeline reads."""

from bc_pipeline.webhooks.events import (
    DELETION_SCOPES,
    DeletionKind,
    InboxEvent,
    InvalidCallback,
    WebhookEvent,
    parse_callback,
)
from bc_pipeline.webhooks.inbox import AbandonedCart, Inbox
from bc_pipeline.webhooks.receiver import DEFAULT_SECRET_HEADER, WEBHOOK_PATH, create_receiver_app, serve_receiver

__all__ = [
    "DEFAULT_SECRET_HEADER",
    "DELETION_SCOPES",
    "WEBHOOK_PATH",
    "AbandonedCart",
    "DeletionKind",
    "Inbox",
    "InboxEvent",
    "InvalidCallback",
    "WebhookEvent",
    "create_receiver_app",
    "parse_callback",
    "serve_receiver",
]
