"""Connecting the connector to a store and a dotmailer account, and removing that connection.

`connect` checks every credential before storing anything, then keeps the secrets in `.env` (owner-only) and
what is not secret about the connection (store name and URL, dotmailer region) in
$BC_PIPELINE_HOME/connection.json. `disconnect` takes effect at once: it writes the disconnected marker that
every API client checks before each request, then stops the schedule and sensors, deletes the webhooks and
forgets the secrets.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg

from bc_pipeline import instigators
from bc_pipeline.connection_marker import (
    Disconnected,
    allow_requests_while_disconnected,
    ensure_connected,
    read_marker,
    remove_marker,
    write_marker,
)
from bc_pipeline.credential_checks import (
    CredentialCheckFailed,
    DotmailerAccount,
    StoreApi,
    StoreIdentity,
    check_dotmailer,
    check_store,
    parse_api_path,
)
from bc_pipeline.env_file import read_env_file, update_env_file
from bc_pipeline.paths import INBOX_FILE, WAREHOUSE_FILE, pipeline_home
from bc_pipeline.webhook_registration import (
    HookRegistry,
    RegisteredHook,
    WebhookRegistrationFailed,
    checked_destination,
    new_shared_secret,
)

__all__ = [
    "CONNECTION_VARIABLES",
    "Connected",
    "CredentialCheckFailed",
    "Disconnected",
    "DisconnectReport",
    "connect",
    "disconnect",
    "ensure_connected",
    "read_connection_record",
]

CONNECTION_FILE = "connection.json"
# Everything `connect` writes to .env; `disconnect` removes all of it.
CONNECTION_VARIABLES = (
    "BC_API_BASE_URL",
    "BC_STORE_HASH",
    "BC_ACCESS_TOKEN",
    "BC_CLIENT_ID",
    "DOTMAILER_API_BASE_URL",
    "DOTMAILER_API_USER",
    "DOTMAILER_API_PASSWORD",
    "BC_WEBHOOK_SECRET",
)
STAGED_DATA = (WAREHOUSE_FILE, f"{WAREHOUSE_FILE}.wal", INBOX_FILE, f"{INBOX_FILE}-wal", f"{INBOX_FILE}-shm")


@dataclass(frozen=True)
class Connected:
    store: StoreIdentity
    store_api: StoreApi
    dotmailer: DotmailerAccount
    env_path: Path
    webhooks: list[RegisteredHook] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)


@dataclass
class DisconnectReport:
    stopped_schedules: list[str] = field(default_factory=list)
    stopped_sensors: list[str] = field(default_factory=list)
    # False when $DAGSTER_HOME is unset: there was no instance whose schedule and sensors could be stopped.
    instance_checked: bool = False
    deleted_webhooks: list[RegisteredHook] = field(default_factory=list)
    removed_variables: list[str] = field(default_factory=list)
    purged: list[Path] = field(default_factory=list)
    # What could not be done, in words a store owner can act on.
    problems: list[str] = field(default_factory=list)
    # Connection variables still set in this process's environment (exported by the shell, not from .env).
    still_in_environment: list[str] = field(default_factory=list)


def _home(home: Path | None) -> Path:
    return home if home is not None else pipeline_home()


def read_connection_record(home: Path | None = None) -> dict | None:
    """What `connect` recorded about the store and the dotmailer account (nothing secret), if anything."""
    try:
        return json.loads((_home(home) / CONNECTION_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None


def _write_connection_record(home: Path, store: StoreIdentity, store_api: StoreApi, account: DotmailerAccount,
                             hooks: list[RegisteredHook]) -> None:
    record = {
        "connected_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "store_name": store.name,
        "store_url": store.url,
        "store_hash": store_api.store_hash,
        "api_base_url": store_api.base_url,
        "dotmailer_account": account.name,
        "dotmailer_region": account.region,
        "dotmailer_api_endpoint": account.api_endpoint,
        "webhook_destination": hooks[0].destination if hooks else None,
        "webhook_scopes": [hook.scope for hook in hooks],
    }
    home.mkdir(parents=True, exist_ok=True)
    tmp = home / f".{CONNECTION_FILE}.tmp"
    tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, home / CONNECTION_FILE)


def connect(
    api_path: str,
    client_id: str,
    access_token: str,
    dotmailer_api_user: str,
    dotmailer_api_password: str,
    *,
    dotmailer_api_base_url: str | None = None,
    webhook_url: str | None = None,
    env_path: Path = Path(".env"),
    home: Path | None = None,
) -> Connected:
    """Check the credentials, store them in `env_path`, register webhooks (with `webhook_url`) and reconnect.

    Raises `CredentialCheckFailed` (nothing stored) or `WebhookRegistrationFailed` (credentials stored, webhooks
    not: run connect again) with a message that names what to fix.
    """
    home = _home(home)
    store_api = parse_api_path(api_path)
    client_id, access_token, dotmailer_api_user = client_id.strip(), access_token.strip(), dotmailer_api_user.strip()
    if not client_id:
        raise CredentialCheckFailed("the BigCommerce client ID is empty: copy it from the store's API account")
    destination = checked_destination(webhook_url) if webhook_url else None
    with allow_requests_while_disconnected():
        store = check_store(store_api, access_token)
        account = check_dotmailer(dotmailer_api_user, dotmailer_api_password, dotmailer_api_base_url)

    variables = {
        "BC_API_BASE_URL": store_api.base_url,
        "BC_STORE_HASH": store_api.store_hash,
        "BC_ACCESS_TOKEN": access_token,
        "BC_CLIENT_ID": client_id,
        "DOTMAILER_API_BASE_URL": account.api_endpoint,
        "DOTMAILER_API_USER": dotmailer_api_user,
        "DOTMAILER_API_PASSWORD": dotmailer_api_password,
    }
    shared_secret = new_shared_secret() if destination else None
    if shared_secret:
        variables["BC_WEBHOOK_SECRET"] = shared_secret
    update_env_file(env_path, variables)

    hooks: list[RegisteredHook] = []
    if destination and shared_secret:
        with allow_requests_while_disconnected(), HookRegistry(store_api, access_token) as registry:
            hooks = registry.register(destination, shared_secret)

    _write_connection_record(home, store, store_api, account, hooks)
    stopped_at_disconnect = (read_marker(home) or {}).get("stopped") or {}
    remove_marker(home)
    return Connected(store, store_api, account, env_path, hooks, _restart(stopped_at_disconnect))


def _restart(stopped: dict) -> list[str]:
    """Start again what the last disconnect stopped, so reconnecting restores the sync as it was."""
    schedules, sensors = list(stopped.get("schedules") or []), list(stopped.get("sensors") or [])
    if not (schedules or sensors) or not instigators.instance_configured():
        return []
    with dg.DagsterInstance.get() as instance:
        started = instigators.start(instance, schedules, sensors)
    return started.schedules + started.sensors


def disconnect(purge: bool = False, *, env_path: Path = Path(".env"), home: Path | None = None) -> DisconnectReport:
    """Remove the connection with immediate effect; with `purge` also delete the staged data and the inbox."""
    home = _home(home)
    report = DisconnectReport()
    # The marker goes first: from this instant no run, in any process, makes another API request. A repeated
    # disconnect keeps the first one's time and what it stopped, so the next connect restarts all of it.
    marker = {"stopped": {"schedules": [], "sensors": []}, **(read_marker(home) or {})}
    write_marker(marker, home)
    marker = read_marker(home) or marker

    report.instance_checked = instigators.instance_configured()
    if report.instance_checked:
        try:
            with dg.DagsterInstance.get() as instance:
                now_stopped = instigators.stop_all(instance)
        except Exception as exc:  # the instance is optional to disconnecting; say what was left running
            report.problems.append(
                f"the schedule and sensors could not be stopped in the Dagster instance ({type(exc).__name__}: "
                f"{exc}); no API request is made anyway. Stop them in the Dagster UI"
            )
        else:
            report.stopped_schedules, report.stopped_sensors = now_stopped.schedules, now_stopped.sensors
            stopped = marker["stopped"]
            marker["stopped"] = {
                "schedules": sorted(set(stopped.get("schedules") or []) | set(now_stopped.schedules)),
                "sensors": sorted(set(stopped.get("sensors") or []) | set(now_stopped.sensors)),
            }
            write_marker(marker, home)

    stored = {**{k: v for k, v in os.environ.items() if k in CONNECTION_VARIABLES}, **read_env_file(env_path)}
    report.deleted_webhooks = _delete_webhooks(stored, report)

    present = set(read_env_file(env_path))
    report.removed_variables = [name for name in CONNECTION_VARIABLES if name in present]
    if env_path.exists():
        update_env_file(env_path, remove=CONNECTION_VARIABLES)
    report.still_in_environment = [name for name in CONNECTION_VARIABLES if name in os.environ]

    if purge:
        report.purged = _purge(home)
    return report


def _delete_webhooks(stored: dict[str, str], report: DisconnectReport) -> list[RegisteredHook]:
    token, store_hash = stored.get("BC_ACCESS_TOKEN"), stored.get("BC_STORE_HASH")
    if not token or not store_hash:
        return []
    try:
        store_api = parse_api_path(f"{stored.get('BC_API_BASE_URL') or 'https://api.bigcommerce.com'}"
                                   f"/stores/{store_hash}/v3/")
        with allow_requests_while_disconnected(), HookRegistry(store_api, token) as registry:
            return registry.delete_ours()
    except (CredentialCheckFailed, WebhookRegistrationFailed) as exc:
        report.problems.append(
            f"the store's webhooks could not be deleted ({exc}); the receiver refuses them once its secret is "
            "gone, and BigCommerce deactivates them after 48 hours of failed deliveries"
        )
        return []


def _purge(home: Path) -> list[Path]:
    removed = []
    for name in (*STAGED_DATA, CONNECTION_FILE):
        path = home / name
        if path.exists():
            path.unlink()
            removed.append(path)
    return removed
