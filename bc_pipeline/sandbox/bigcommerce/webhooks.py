"""Webhooks: the `/v3/hooks` registry and delivery of store events to active hooks, off the request path."""

from __future__ import annotations

import hashlib
import json
import queue
import threading

import requests
from starlette.requests import Request
from starlette.routing import Route

from .errors import ApiError
from .responses import api_json, sandbox_of

DELIVERY_TIMEOUT_SECONDS = 5


class HookRegistry:
    def __init__(self, store_id: str):
        self.store = None
        self.store_id = store_id
        self._lock = threading.Lock()
        self._hooks: dict[int, dict] = {}
        self._next_id = 1
        self._outbox: queue.Queue = queue.Queue()
        self._sender = threading.Thread(target=self._deliver_forever, daemon=True, name="bc-sandbox-webhooks")
        self._sender.start()

    def watch(self, store) -> None:
        """Deliver the changes of `store` (a reset sandbox swaps in a fresh store)."""
        self.store = store
        store.listeners.append(self.on_change)

    def clear(self) -> None:
        with self._lock:
            self._hooks.clear()

    def create(self, body: dict) -> dict:
        """Any destination is accepted (BigCommerce wants https on 443) so tests can receive on loopback."""
        if not body.get("scope") or not body.get("destination"):
            raise ApiError(422, "scope and destination are required")
        now = self.store.now()
        with self._lock:
            hook = {"id": self._next_id, "client_id": "sandbox", "store_hash": self.store.config.store_hash,
                    "scope": body["scope"], "destination": body["destination"],
                    "is_active": bool(body.get("is_active", True)), "headers": body.get("headers") or {},
                    "created_at": now, "updated_at": now}
            self._hooks[hook["id"]] = hook
            self._next_id += 1
            return dict(hook)

    def list(self) -> list[dict]:
        with self._lock:
            return [dict(hook) for hook in self._hooks.values()]

    def get(self, hook_id: int) -> dict:
        with self._lock:
            if hook_id not in self._hooks:
                raise ApiError(404, "Hook not found")
            return dict(self._hooks[hook_id])

    def update(self, hook_id: int, body: dict) -> dict:
        with self._lock:
            if hook_id not in self._hooks:
                raise ApiError(404, "Hook not found")
            hook = self._hooks[hook_id]
            hook.update({key: body[key] for key in ("scope", "destination", "is_active", "headers") if key in body})
            hook["updated_at"] = self.store.now()
            return dict(hook)

    def delete(self, hook_id: int) -> dict:
        with self._lock:
            if hook_id not in self._hooks:
                raise ApiError(404, "Hook not found")
            return self._hooks.pop(hook_id)

    def on_change(self, scope: str, data: dict) -> None:
        for hook in self.list():
            if hook["is_active"] and _matches(hook["scope"], scope):
                self._outbox.put((hook, self.payload(scope, data)))

    def payload(self, scope: str, data: dict) -> dict:
        created_at = self.store.now()
        digest = hashlib.sha1(json.dumps([scope, data, created_at], sort_keys=True).encode()).hexdigest()
        return {"scope": scope, "store_id": self.store_id, "data": data, "hash": digest, "created_at": created_at,
                "producer": f"stores/{self.store.config.store_hash}"}

    def _deliver_forever(self) -> None:
        session = requests.Session()
        while True:
            hook, payload = self._outbox.get()
            headers = {"Content-Type": "application/json", **hook["headers"]}
            try:
                session.post(hook["destination"], json=payload, headers=headers, timeout=DELIVERY_TIMEOUT_SECONDS)
            except requests.RequestException:
                # A receiver that is down misses the event, as it would after BigCommerce's retries ran out.
                pass


def _matches(hook_scope: str, event_scope: str) -> bool:
    if hook_scope.endswith("/*"):
        return event_scope.startswith(hook_scope[:-1])
    return hook_scope == event_scope


def _hook_id(request: Request) -> int:
    try:
        return int(request.path_params["hook_id"])
    except ValueError as error:
        raise ApiError(404, "Hook not found") from error


async def _body(request: Request) -> dict:
    try:
        return json.loads(await request.body() or b"{}")
    except ValueError as error:
        raise ApiError(400, "Body is not JSON") from error


async def list_hooks(request: Request):
    return api_json(request, {"data": sandbox_of(request).hooks.list(), "meta": {}})


async def create_hook(request: Request):
    return api_json(request, {"data": sandbox_of(request).hooks.create(await _body(request)), "meta": {}})


async def get_hook(request: Request):
    return api_json(request, {"data": sandbox_of(request).hooks.get(_hook_id(request)), "meta": {}})


async def update_hook(request: Request):
    hook = sandbox_of(request).hooks.update(_hook_id(request), await _body(request))
    return api_json(request, {"data": hook, "meta": {}})


async def delete_hook(request: Request):
    return api_json(request, {"data": sandbox_of(request).hooks.delete(_hook_id(request)), "meta": {}})


ROUTES = [
    Route("/hooks", list_hooks, methods=["GET"]),
    Route("/hooks", create_hook, methods=["POST"]),
    Route("/hooks/{hook_id}", get_hook, methods=["GET"]),
    Route("/hooks/{hook_id}", update_hook, methods=["PUT"]),
    Route("/hooks/{hook_id}", delete_hook, methods=["DELETE"]),
]
