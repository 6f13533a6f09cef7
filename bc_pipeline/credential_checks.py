"""Checks of the credentials a store owner gives `bc-pipeline connect`, before anything is stored.

BigCommerce: the API path names the store, `GET /v2/store` proves the token, and one read per scope the
connector needs proves each scope (a 403 there means the API account lacks it). dotmailer: account-info proves
the API user and names the account's region. Messages are for a store owner and never carry a credential.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from bc_pipeline.bigcommerce.client import (
    AuthenticationFailed,
    BigCommerceClient,
    BigCommerceError,
    RequestRejected,
    ScopeMissing,
)
from bc_pipeline.dotmailer.account import account_info
from bc_pipeline.dotmailer.client import DotmailerClient, require_secure_url
from bc_pipeline.dotmailer.errors import DotmailerAuthError, DotmailerError
from bc_pipeline.loopback import is_loopback

_API_PATH = re.compile(r"^/stores/(?P<hash>[A-Za-z0-9_-]+)(?:/v[23])?/?$")
_REGION = re.compile(r"^r(?P<number>\d+)-api\.", re.IGNORECASE)
REGION_NAMES = {"r1": "Europe", "r2": "North America", "r3": "Asia Pacific"}


class CredentialCheckFailed(ValueError):
    """A credential or API path did not pass its check; the message says what to fix."""


@dataclass(frozen=True)
class ScopeProbe:
    """One read that only succeeds with `scope`; any answer but 401/403 proves the scope is granted."""

    scope: str
    path: str
    params: dict


# The read-only scopes the connector needs besides Information & settings (which `GET /v2/store` proves), by
# their names on BigCommerce's API account screen. A probe of a record that cannot exist (order 0, the nil
# cart id) answers 404 when the scope is granted and 403 when it is not.
SCOPE_PROBES: tuple[ScopeProbe, ...] = (
    ScopeProbe("Customers", "/v3/customers", {"limit": 1}),
    # Subscribers v3 is governed by Customers (subscribers.v3.yml), not Marketing; probed as well, to be sure.
    ScopeProbe("Customers", "/v3/customers/subscribers", {"limit": 1}),
    ScopeProbe("Marketing", "/v2/coupons", {"limit": 1}),
    ScopeProbe("Orders", "/v2/orders", {"limit": 1}),
    ScopeProbe("Order transactions", "/v3/orders/0/transactions", {}),
    ScopeProbe("Products", "/v3/catalog/products", {"limit": 1}),
    ScopeProbe("Content", "/v3/content/widgets", {"limit": 1}),
    ScopeProbe("Carts", f"/v3/carts/{uuid.UUID(int=0)}", {}),
)


@dataclass(frozen=True)
class StoreApi:
    """Where a store's API is: `base_url` (e.g. https://api.bigcommerce.com) and the store hash."""

    base_url: str
    store_hash: str

    @property
    def api_root(self) -> str:
        return f"{self.base_url}/stores/{self.store_hash}"


@dataclass(frozen=True)
class StoreIdentity:
    name: str
    url: str


@dataclass(frozen=True)
class DotmailerAccount:
    id: int | None
    name: str | None
    api_endpoint: str
    region: str | None

    @property
    def region_label(self) -> str:
        if not self.region:
            return "unknown region"
        return f"{self.region} ({REGION_NAMES[self.region]})" if self.region in REGION_NAMES else self.region


def parse_api_path(api_path: str) -> StoreApi:
    """Split the API path shown with a store-level API account into its base URL and store hash."""
    parts = urlsplit(api_path.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CredentialCheckFailed(
            f"the API path {api_path!r} is not a URL; copy it from the API account, "
            "e.g. https://api.bigcommerce.com/stores/abc123/v3/"
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise CredentialCheckFailed(
            f"the API path must use https (plain http is accepted only for a local sandbox on 127.0.0.1): "
            f"{parts.hostname} would receive the access token unencrypted"
        )
    match = _API_PATH.match(parts.path)
    if not match:
        raise CredentialCheckFailed(
            f"the API path {api_path!r} does not name a store; it looks like "
            "https://api.bigcommerce.com/stores/abc123/v3/"
        )
    return StoreApi(f"{parts.scheme}://{parts.netloc}", match["hash"])


def _bigcommerce_client(store: StoreApi, access_token: str) -> BigCommerceClient:
    # A check that waits minutes on retries helps nobody: one retry, then say what failed.
    return BigCommerceClient(store.api_root, access_token, timeout=(10.0, 30.0), max_attempts=2,
                             max_rate_limited=3, backoff_base_s=0.5, backoff_cap_s=2.0)


def check_store(store: StoreApi, access_token: str) -> StoreIdentity:
    """The store's name and URL from `GET /v2/store`, after proving every required scope."""
    if not access_token.strip():
        raise CredentialCheckFailed("the BigCommerce access token is empty")
    with _bigcommerce_client(store, access_token.strip()) as client:
        try:
            info = client.get("/v2/store").body or {}
        except AuthenticationFailed:
            raise CredentialCheckFailed(
                "BigCommerce did not accept the access token (401): copy the access token of this store's API "
                "account (not the client secret), or create a new API account if it was deleted"
            ) from None
        except ScopeMissing:
            raise CredentialCheckFailed(
                f"BigCommerce refused to show store {store.store_hash!r} (403): either the store hash in the API "
                "path is wrong or the API account lacks the scope Information & settings (read-only)"
            ) from None
        except BigCommerceError as exc:
            raise CredentialCheckFailed(f"BigCommerce could not be reached to check the store: {exc}") from None
        missing = list(dict.fromkeys(probe.scope for probe in SCOPE_PROBES if not _scope_granted(client, probe)))
    if missing:
        raise CredentialCheckFailed(
            f"the API account lacks {'this scope' if len(missing) == 1 else 'these scopes'}: "
            f"{', '.join(missing)}. BigCommerce cannot add scopes to an existing API account: create a new one "
            "(Settings › API › Store-level API accounts) with read-only access to Content, Customers, "
            "Information & settings, Marketing, Orders, Order transactions, Products and Carts, then connect "
            "with its token"
        )
    return StoreIdentity(name=str(info.get("name") or store.store_hash),
                         url=str(info.get("secure_url") or info.get("domain") or ""))


def _scope_granted(client: BigCommerceClient, probe: ScopeProbe) -> bool:
    try:
        client.get(probe.path, probe.params)
    except ScopeMissing:
        return False
    except RequestRejected:
        return True
    except BigCommerceError as exc:
        raise CredentialCheckFailed(
            f"BigCommerce could not be reached to check the scope {probe.scope}: {exc}"
        ) from None
    return True


def region_of(api_endpoint: str) -> str | None:
    match = _REGION.match(urlsplit(api_endpoint).hostname or "")
    return f"r{match['number']}" if match else None


def check_dotmailer(api_user: str, api_password: str, base_url: str | None = None) -> DotmailerAccount:
    """The dotmailer account behind the API user, and its regional endpoint (discovered through r1 if not given)."""
    if not api_user.strip() or not api_password:
        raise CredentialCheckFailed("the dotmailer API user and its password are both required")
    try:
        client = DotmailerClient(api_user.strip(), api_password, base_url=base_url, max_retries=2,
                                 max_rate_limit_waits=3, backoff_base=0.5, backoff_cap=2.0, read_timeout=30.0)
    except DotmailerError as exc:
        raise CredentialCheckFailed(str(exc)) from None
    with client:
        try:
            info = account_info(client)
            endpoint = client.base_url
        except DotmailerAuthError as exc:
            if exc.status == 403:
                raise CredentialCheckFailed(
                    "dotmailer refused the API user at this endpoint (403): it is probably another region's; "
                    "leave the dotmailer endpoint unset so it is discovered"
                ) from None
            raise CredentialCheckFailed(
                "dotmailer did not accept the API user or its password: use an API user "
                "(Settings › Access › API users, e.g. apiuser-…@apiconnector.com), not your login"
            ) from None
        except DotmailerError as exc:
            raise CredentialCheckFailed(f"dotmailer could not be reached to check the API user: {exc}") from None
    try:
        endpoint = require_secure_url(info.api_endpoint or endpoint)
    except DotmailerError as exc:
        raise CredentialCheckFailed(str(exc)) from None
    return DotmailerAccount(id=info.id, name=info.name, api_endpoint=endpoint, region=region_of(endpoint))
