"""The BigCommerce streams, as data: one StreamSpec each drives the one generic extractor.

Adding a stream is adding a spec here (and its staging table in bc_pipeline.warehouse).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType

from bc_pipeline import warehouse
from bc_pipeline.bigcommerce.client import MAX_PAGE_SIZE


class Paging(Enum):
    """How a stream walks a fixed date window without skipping rows that change during the scan."""

    TWO_ENDED_ID = "id min up + id max down"        # orders, products: two keyset scans meeting in the middle
    CURSOR_V3 = "after=end_cursor"                  # v3 customers: opaque keyset cursor
    ANCHORED_OFFSET_V3 = "page + overlap anchors"   # v3 subscribers: no sort, no id range filter
    SINGLE_OBJECT = "one object"                    # /v2/store


class DateFormat(Enum):
    RFC2822 = "rfc2822"   # v2 filters and fields: "Tue, 20 Nov 2012 00:00:00 +0000"
    ISO8601 = "iso8601"   # v3 filters and fields: "2012-11-20T00:00:00Z"


@dataclass(frozen=True)
class StreamSpec:
    name: str
    path: str
    api_version: str
    primary_key: str
    cursor_field: str | None
    paging: Paging
    date_format: DateFormat
    table: warehouse.StagingTable
    child_tables: tuple[warehouse.StagingTable, ...] = ()
    # Names of the window filters and the id keyset filter, exactly as the endpoint spells them.
    modified_min_param: str | None = None
    modified_max_param: str | None = None
    keyset_param: str | None = None
    # Two-ended scans: the id filter that bounds from above, and what turns the sort order round.
    upper_keyset_param: str | None = None
    descending_params: Mapping[str, str] = field(default_factory=dict)
    includes: tuple[str, ...] = ()
    # Sent with every request: sort order and response-shape switches.
    fixed_params: Mapping[str, str] = field(default_factory=dict)
    page_size: int = MAX_PAGE_SIZE

    def __post_init__(self) -> None:
        if self.page_size > MAX_PAGE_SIZE:
            raise ValueError(f"{self.name}: page size {self.page_size} exceeds {MAX_PAGE_SIZE}")
        object.__setattr__(self, "fixed_params", MappingProxyType(dict(self.fixed_params)))
        object.__setattr__(self, "descending_params", MappingProxyType(dict(self.descending_params)))

    @property
    def base_params(self) -> dict[str, str]:
        params = dict(self.fixed_params)
        if self.includes:
            params["include"] = ",".join(self.includes)
        return params

    @property
    def records_path(self) -> str:
        """Where the records sit in a response body: v3 wraps them in `data`, v2 sends a bare array."""
        return "$.data[*]" if self.api_version == "v3" else "$[*]"

    @property
    def incremental(self) -> bool:
        return self.cursor_field is not None


CUSTOMERS = StreamSpec(
    name="customers",
    path="/v3/customers",
    api_version="v3",
    primary_key="id",
    cursor_field="date_modified",
    paging=Paging.CURSOR_V3,
    date_format=DateFormat.ISO8601,
    table=warehouse.CUSTOMERS,
    child_tables=(warehouse.CUSTOMER_ADDRESSES,),
    modified_min_param="date_modified:min",
    modified_max_param="date_modified:max",
    keyset_param="after",
    includes=("addresses", "formfields", "attributes"),
)

SUBSCRIBERS = StreamSpec(
    name="subscribers",
    path="/v3/customers/subscribers",
    api_version="v3",
    primary_key="id",
    cursor_field="date_modified",
    paging=Paging.ANCHORED_OFFSET_V3,
    date_format=DateFormat.ISO8601,
    table=warehouse.SUBSCRIBERS,
    modified_min_param="date_modified:min",
    modified_max_param="date_modified:max",
    keyset_param="page",
)

ORDERS = StreamSpec(
    name="orders",
    path="/v2/orders",
    api_version="v2",
    primary_key="id",
    cursor_field="date_modified",
    paging=Paging.TWO_ENDED_ID,
    date_format=DateFormat.RFC2822,
    table=warehouse.ORDERS,
    child_tables=(warehouse.ORDER_LINE_ITEMS,),
    modified_min_param="min_date_modified",
    modified_max_param="max_date_modified",
    keyset_param="min_id",
    upper_keyset_param="max_id",
    descending_params={"sort": "id:desc"},
    # Line items inline in each order (consignments), instead of one request per order.
    includes=("consignments.line_items",),
    fixed_params={"sort": "id:asc", "consignment_structure": "object"},
)

PRODUCTS = StreamSpec(
    name="products",
    path="/v3/catalog/products",
    api_version="v3",
    primary_key="id",
    cursor_field="date_modified",
    paging=Paging.TWO_ENDED_ID,
    date_format=DateFormat.ISO8601,
    table=warehouse.PRODUCTS,
    modified_min_param="date_modified:min",
    modified_max_param="date_modified:max",
    keyset_param="id:min",
    upper_keyset_param="id:max",
    descending_params={"direction": "desc"},
    # No is_visible filter: hidden products are staged too, so they can leave the catalogue downstream.
    includes=("images", "custom_fields"),
    fixed_params={"sort": "id", "direction": "asc"},
)

STORE = StreamSpec(
    name="store",
    path="/v2/store",
    api_version="v2",
    primary_key="id",
    cursor_field=None,
    paging=Paging.SINGLE_OBJECT,
    date_format=DateFormat.RFC2822,
    table=warehouse.STORE,
)

STREAMS: Mapping[str, StreamSpec] = MappingProxyType(
    {spec.name: spec for spec in (CUSTOMERS, SUBSCRIBERS, ORDERS, PRODUCTS, STORE)}
)
