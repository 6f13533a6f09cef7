"""The dotmailer account: `GET /v2/account-info`, which also names the account's regional API endpoint."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bc_pipeline.dotmailer.client import DotmailerClient


@dataclass(frozen=True)
class AccountInfo:
    id: int | None
    name: str | None
    api_endpoint: str | None
    properties: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def from_payload(cls, payload: Any) -> AccountInfo:
        raw_properties = payload.get("properties") if isinstance(payload, dict) else None
        properties = {
            str(item.get("name")): item.get("value")
            for item in raw_properties or []
            if isinstance(item, dict) and item.get("name")
        }
        return cls(
            id=payload.get("id") if isinstance(payload, dict) else None,
            name=properties.get("Name"),
            api_endpoint=properties.get("ApiEndpoint"),
            properties=properties,
        )


def account_info(client: DotmailerClient) -> AccountInfo:
    """The account's id, name, regional endpoint and every other property dotmailer reports."""
    return AccountInfo.from_payload(client.call("GET", "/v2/account-info", operation="get account info"))
