"""Registering and deleting the store's webhooks that feed the receiver (`bc-pipeline webhooks serve`).

Every hook carries the shared secret in a custom header, which BigCommerce sends back with each callback; the
receiver refuses callbacks without it. Hooks are visible only to the token that created them, and ours are
recognised by that header, so deleting them never touches another app's hooks.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import requests

from bc_pipeline.connection_marker import ensure_connected
from bc_pipeline.credential_checks import CredentialCheckFailed, StoreApi
from bc_pipeline.loopback import is_loopback
from bc_pipeline.webhooks import DEFAULT_SECRET_HEADER, DELETION_SCOPES, WEBHOOK_PATH
from bc_pipeline.webhooks.events import CART_ABANDONED, CART_CONVERTED, CART_DELETED

WEBHOOK_SCOPES: tuple[str, ...] = (*DELETION_SCOPES.values(), CART_ABANDONED, CART_CONVERTED, CART_DELETED)
_TIMEOUT = (10.0, 30.0)


class WebhookRegistrationFailed(RuntimeError):
    """BigCommerce refused to create, list or delete a hook; the message names the call, never the headers."""


@dataclass(frozen=True)
class RegisteredHook:
    id: int
    scope: str
    destination: str


def new_shared_secret() -> str:
    return secrets.token_urlsafe(32)


def checked_destination(webhook_url: str) -> str:
    """The receiver's URL: https on port 443 as BigCommerce requires (plain http only on loopback, for tests)."""
    parts = urlsplit(webhook_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CredentialCheckFailed(f"the webhook URL {webhook_url!r} is not an http(s) URL")
    local = is_loopback(parts.hostname)
    if parts.scheme == "http" and not local:
        raise CredentialCheckFailed("the webhook URL must use https: BigCommerce delivers webhooks only over https")
    if not local and parts.port not in (None, 443):
        raise CredentialCheckFailed(
            f"the webhook URL uses port {parts.port}, but BigCommerce delivers webhooks only to port 443"
        )
    path = parts.path if parts.path not in ("", "/") else WEBHOOK_PATH
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


class HookRegistry:
    """`/v3/hooks` of one store, as seen by one access token."""

    def __init__(self, store: StoreApi, access_token: str):
        self._root = f"{store.api_root}/v3/hooks"
        self._session = requests.Session()
        self._session.headers.update({"X-Auth-Token": access_token, "Accept": "application/json"})

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> HookRegistry:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _send(self, method: str, path: str, action: str, **kwargs) -> dict | None:
        ensure_connected()
        try:
            response = self._session.request(method, self._root + path, timeout=_TIMEOUT, **kwargs)
        except requests.RequestException:
            raise WebhookRegistrationFailed(f"could not {action}: BigCommerce did not answer") from None
        if response.status_code >= 400:
            raise WebhookRegistrationFailed(f"could not {action}: {method} /v3/hooks{path} returned HTTP "
                                            f"{response.status_code}")
        try:
            return response.json() if response.content else None
        except ValueError:
            raise WebhookRegistrationFailed(f"could not {action}: BigCommerce answered with a malformed body") from None

    def ours(self, secret_header: str = DEFAULT_SECRET_HEADER) -> list[RegisteredHook]:
        body = self._send("GET", "", "list the store's webhooks") or {}
        return [
            RegisteredHook(int(hook["id"]), str(hook.get("scope")), str(hook.get("destination")))
            for hook in body.get("data") or []
            if secret_header.lower() in {str(name).lower() for name in (hook.get("headers") or {})}
        ]

    def register(self, destination: str, shared_secret: str,
                 secret_header: str = DEFAULT_SECRET_HEADER) -> list[RegisteredHook]:
        """Replace our hooks with one per scope the connector uses, each sending the shared secret."""
        self.delete_ours(secret_header)
        created = []
        for scope in WEBHOOK_SCOPES:
            body = {"scope": scope, "destination": destination, "is_active": True,
                    "headers": {secret_header: shared_secret}}
            hook = (self._send("POST", "", f"register the webhook {scope}", json=body) or {}).get("data") or {}
            created.append(RegisteredHook(int(hook.get("id", 0)), scope, destination))
        return created

    def delete_ours(self, secret_header: str = DEFAULT_SECRET_HEADER) -> list[RegisteredHook]:
        hooks = self.ours(secret_header)
        for hook in hooks:
            self._send("DELETE", f"/{hook.id}", f"delete the webhook {hook.scope}")
        return hooks
