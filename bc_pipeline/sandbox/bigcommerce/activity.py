"""Live activity: random changes to the store, as shoppers and staff make them."""

from __future__ import annotations

import random
import threading
import uuid

from .rows import CustomerRow, OrderRow, ProductRow, SubscriberRow


class ActivityMaker:
    """Draws each change from a random stream seeded by the store seed, so a sequence of calls replays."""

    def __init__(self, store, seed: int):
        self.store = store
        self.rng = random.Random(f"{seed}/activity")
        self.changes = (
            (self.new_customer, 10), (self.edit_customer, 10), (self.delete_customer, 2),
            (self.new_subscriber, 6), (self.toggle_consent, 8), (self.delete_subscriber, 2),
            (self.new_order, 20), (self.order_status, 12), (self.archive_order, 2),
            (self.new_product, 3), (self.edit_product, 6), (self.hide_product, 2), (self.delete_product, 1),
            (self.abandon_cart, 8), (self.convert_cart, 4),
        )

    def run(self, count: int) -> int:
        makers, weights = zip(*self.changes)
        for _ in range(count):
            self.rng.choices(makers, weights)[0]()
        return count

    def _pick(self, table):
        if not len(table):
            return None
        with self.store.lock:
            # Pick by id range so the choice is cheap and reproducible; gaps fall to the next row.
            upper = table.next_id()
            return next(table.ascending(self.rng.randrange(1, upper)), None) or next(table.ascending(), None)

    def new_customer(self) -> None:
        store = self.store
        customer_id = store.customers.next_id()
        first, last, email = store.generator.person(self.rng, customer_id, allow_empty=False)
        now = store.now()
        store.add("customer", CustomerRow(customer_id, email, first, last, now, now))

    def edit_customer(self) -> None:
        customer = self._pick(self.store.customers)
        if customer is not None:
            self.store.keep_placed_identity(customer)
            customer.last_name = self.rng.choice(self.store.generator.words.last_names)
            self.store.touch("customer", customer)

    def delete_customer(self) -> None:
        customer = self._pick(self.store.customers)
        if customer is not None:
            self.store.remove("customer", customer.id)

    def new_subscriber(self) -> None:
        store = self.store
        subscriber_id = store.subscribers.next_id()
        first, last, email = store.generator.person(self.rng, 800_000_000 + subscriber_id, allow_empty=True)
        now = store.now()
        store.add("subscriber", SubscriberRow(subscriber_id, email, first, last, ("marketing_newsletter",),
                                              "storefront", None, now, now))

    def toggle_consent(self) -> None:
        subscriber = self._pick(self.store.subscribers)
        if subscriber is not None:
            subscriber.consents = () if "marketing_newsletter" in subscriber.consents else ("marketing_newsletter",)
            self.store.touch("subscriber", subscriber)

    def delete_subscriber(self) -> None:
        subscriber = self._pick(self.store.subscribers)
        if subscriber is not None:
            self.store.remove("subscriber", subscriber.id)

    def new_order(self) -> None:
        store = self.store
        customer = self._pick(store.customers) if self.rng.random() > 0.2 else None
        now = store.now()
        billing = {"first_name": customer.first_name, "last_name": customer.last_name,
                   "email": customer.email} if customer else None
        order = OrderRow(store.orders.next_id(), customer.id if customer else 0,
                         self.rng.choice((11, 11, 10, 1, 0)), now, now,
                         fields={"billing_address": billing} if billing else None)
        store.add("order", order)

    def order_status(self) -> None:
        order = self._pick(self.store.orders)
        if order is not None:
            self.store.set_order_status(order, self.rng.choice((2, 10, 5, 4, 9)))

    def archive_order(self) -> None:
        order = self._pick(self.store.orders)
        if order is not None and not order.is_deleted:
            self.store.archive_order(order)

    def new_product(self) -> None:
        store = self.store
        product_id = store.products.next_id()
        name, price_cents, _ = store.generator.product_identity(product_id)
        now = store.now()
        store.add("product", ProductRow(product_id, name, price_cents, True, now, now))

    def edit_product(self) -> None:
        product = self._pick(self.store.products)
        if product is not None:
            product.price_cents = max(99, product.price_cents + self.rng.randrange(-500, 500))
            self.store.touch("product", product)

    def hide_product(self) -> None:
        product = self._pick(self.store.products)
        if product is not None:
            product.is_visible = not product.is_visible
            self.store.touch("product", product)

    def delete_product(self) -> None:
        product = self._pick(self.store.products)
        if product is not None:
            self.store.remove("product", product.id)

    def abandon_cart(self) -> None:
        store = self.store
        customers = [self._pick(store.customers)] if len(store.customers) else []
        cart = store.generator.cart(self.rng, [c for c in customers if c], max(1, len(store.products)),
                                    store.now() - 3600)
        store.put_cart(cart)
        store.abandon_cart(cart, uuid.UUID(int=self.rng.getrandbits(128), version=4).hex)

    def convert_cart(self) -> None:
        store = self.store
        with store.lock:
            carts = sorted(store.carts)
        if not carts:
            return
        cart = store.carts.get(self.rng.choice(carts))
        if cart is None:
            return
        now = store.now()
        order = OrderRow(store.orders.next_id(), cart.customer_id, 11, now, now,
                         fields={"cart_id": cart.id, "billing_address": {"email": cart.email}})
        store.convert_cart(cart, order)


class ActivityTicker:
    """Makes `per_minute` changes a minute on a background thread until stopped."""

    def __init__(self, run_changes, per_minute: int):
        self._run_changes = run_changes
        self._interval = 60.0 / per_minute
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._tick, daemon=True, name="bc-sandbox-activity")
        self._thread.start()

    def _tick(self) -> None:
        while not self._stopped.wait(self._interval):
            self._run_changes(1)

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)
