"""The store's current state: its tables, every change made to them, and who hears about changes."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Callable

from ..clock import SandboxClock
from .config import BigCommerceSandboxConfig
from .generator import StoreGenerator
from .rows import CartRow, CustomerRow, OrderRow, ProductRow, SubscriberRow, Table

ChangeListener = Callable[[str, dict], None]


class Store:
    """Tables of rows plus the mutations the control API, activity and faults make.

    Every mutation stamps `date_modified` with the sandbox clock and tells listeners the webhook scope that fired,
    e.g. ("store/order/updated", {"type": "order", "id": 7}).
    """

    def __init__(self, config: BigCommerceSandboxConfig, clock: SandboxClock):
        self.config = config
        self.clock = clock
        self.lock = threading.RLock()
        self.base_url = "http://127.0.0.1"
        # Generated dates count back from midnight, so one seed gives one store all day long.
        anchor = clock.now().replace(hour=0, minute=0, second=0) - timedelta(seconds=1)
        self.generator = StoreGenerator(config.seed, int(anchor.timestamp()))
        self.listeners: list[ChangeListener] = []
        self.customers: Table[CustomerRow] = Table()
        self.subscribers: Table[SubscriberRow] = Table()
        self.products: Table[ProductRow] = Table()
        self.orders: Table[OrderRow] = Table()
        self.carts: dict[str, CartRow] = {}
        # Orders copy the buyer's name and email when placed; later edits or deletion of the customer must not
        # change orders already placed, so the identity at generation is kept for those customers.
        self.placed_identities: dict[int, tuple[str, str, str]] = {}
        self.generated_products = config.products
        self._generate()

    def _generate(self) -> None:
        sizes = self.config
        customers = self.generator.customers(sizes.customers)
        for row in customers:
            self.customers.put(row)
        for row in self.generator.subscribers(sizes.subscribers, customers):
            self.subscribers.put(row)
        for row in self.generator.products(sizes.products):
            self.products.put(row)
        for row in self.generator.orders(sizes.orders, sizes.customers):
            self.orders.put(row)
        for cart in self.generator.carts(max(1, sizes.customers // 50), customers, sizes.products):
            self.carts[cart.id] = cart

    def now(self) -> int:
        return int(self.clock.now().timestamp())

    def emit(self, scope: str, data: dict) -> None:
        for listener in list(self.listeners):
            listener(scope, data)

    def table(self, kind: str) -> Table:
        return {"customer": self.customers, "subscriber": self.subscribers, "product": self.products,
                "order": self.orders}[kind]

    def touch(self, kind: str, row) -> None:
        with self.lock:
            row.date_modified = max(self.now(), row.date_created)
        self.emit(f"store/{kind}/updated", {"type": kind, "id": row.id})

    def add(self, kind: str, row) -> None:
        with self.lock:
            self.table(kind).put(row)
        self.emit(f"store/{kind}/created", {"type": kind, "id": row.id})

    def keep_placed_identity(self, customer: CustomerRow) -> None:
        """Call before changing a customer's name or email."""
        with self.lock:
            self.placed_identities.setdefault(customer.id, (customer.first_name, customer.last_name, customer.email))

    def buyer_identity(self, customer_id: int) -> tuple[str, str, str] | None:
        if customer_id in self.placed_identities:
            return self.placed_identities[customer_id]
        customer = self.customers.get(customer_id)
        return None if customer is None else (customer.first_name, customer.last_name, customer.email)

    def remove(self, kind: str, row_id: int) -> None:
        with self.lock:
            if kind == "customer" and row_id in self.customers:
                self.keep_placed_identity(self.customers.get(row_id))
            removed = self.table(kind).delete(row_id)
        if removed is not None:
            self.emit(f"store/{kind}/deleted", {"type": kind, "id": row_id})

    def archive_order(self, order: OrderRow) -> None:
        """Archived orders stay listed, flagged `is_deleted`, with `date_modified` moved to the archiving time."""
        with self.lock:
            order.is_deleted = True
            order.date_modified = self.now()
        self.emit("store/order/archived", {"type": "order", "id": order.id})

    def set_order_status(self, order: OrderRow, status_id: int) -> None:
        with self.lock:
            previous_status_id, order.status_id = order.status_id, status_id
            order.date_modified = self.now()
        self.emit("store/order/updated", {"type": "order", "id": order.id})
        self.emit("store/order/statusUpdated", {"type": "order", "id": order.id, "status": {
            "previous_status_id": previous_status_id, "new_status_id": status_id}})

    def put_cart(self, cart: CartRow) -> None:
        with self.lock:
            self.carts[cart.id] = cart

    def abandon_cart(self, cart: CartRow, token: str) -> None:
        with self.lock:
            cart.abandoned_token = token
        self.emit("store/cart/abandoned", {"type": "cart", "id": cart.id, "token": token})

    def convert_cart(self, cart: CartRow, order: OrderRow) -> None:
        with self.lock:
            self.carts.pop(cart.id, None)
            self.orders.put(order)
        self.emit("store/order/created", {"type": "order", "id": order.id})
        self.emit("store/cart/converted", {"type": "cart", "id": cart.id, "orderId": order.id})

    def cart_by_token(self, token: str) -> CartRow | None:
        with self.lock:
            return next((cart for cart in self.carts.values() if cart.abandoned_token == token), None)
