"""A seeded synthetic store: the same seed and sizes always give the same store.

Rows are built in one pass from one random stream per table. Details no filter needs (addresses, line items,
descriptions) are drawn later from a random stream keyed by (seed, kind, id), so any record renders identically at
any time without the whole store being kept as objects.

Names are drawn from several locales (so many are not ASCII). Empty names appear where the specs allow them
(subscribers, guest billing addresses); customers v3 require at least one character, so customers always have one.
About 1.5% of emails are invalid, and some guests type a registered customer's email in upper case.
"""

from __future__ import annotations

import random
import unicodedata
import uuid
from functools import lru_cache

from .rows import CartRow, CustomerRow, OrderRow, ProductRow, SubscriberRow
from .vocabulary import ADJECTIVES, BRANDS, EMAIL_DOMAINS, MATERIALS, NOUNS, vocabulary

TWO_YEARS = 730 * 86400
CURRENCIES = (("USD", 1, "1.0000000000"), ("EUR", 2, "0.9200000000"), ("GBP", 3, "0.7900000000"),
              ("CAD", 4, "1.3600000000"), ("JPY", 5, "151.0000000000"))
CURRENCY_RATES = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79, "CAD": 1.36, "JPY": 151.0}
# Most orders are complete; a few are incomplete (0), refunded, cancelled or still in progress.
STATUS_WEIGHTS = ((10, 50), (2, 15), (11, 8), (9, 5), (1, 5), (0, 5), (5, 4), (4, 3), (3, 2), (7, 2), (14, 1))
GUEST_SHARE = 0.2
ARCHIVED_SHARE = 0.02


def detail_rng(seed: int, kind: str, record_id) -> random.Random:
    return random.Random(f"{seed}/{kind}/{record_id}")


# Seeding a record's stream costs more than the whole rest of drawing these, and renderings ask for them again
# and again: an order's line items and its header each ask for its currency, line items name the same products.
@lru_cache(maxsize=1024)
def _order_currency(seed: int, order_id: int) -> tuple[str, int, str]:
    rng = detail_rng(seed, "order-currency", order_id)
    return CURRENCIES[0] if rng.random() < 0.7 else rng.choice(CURRENCIES[1:])


@lru_cache(maxsize=16384)
def _product_identity(seed: int, product_id: int) -> tuple[str, int, str]:
    rng = detail_rng(seed, "product", product_id)
    name = f"{rng.choice(ADJECTIVES)} {rng.choice(MATERIALS)} {rng.choice(NOUNS)} #{product_id}"
    return name, rng.randrange(199, 49999), f"SKU-{product_id:06d}"


def ascii_slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "".join(ch for ch in folded if ch.isalnum())


def _weighted_status(rng: random.Random) -> int:
    statuses, weights = zip(*STATUS_WEIGHTS)
    return rng.choices(statuses, weights)[0]


class StoreGenerator:
    """Builds rows and renders generated details for one (seed, anchor) pair.

    `anchor` is the epoch second every generated date is measured back from, so two stores built with the same
    seed and anchor are identical.
    """

    def __init__(self, seed: int, anchor: int):
        self.seed = seed
        self.anchor = anchor
        self.words = vocabulary()

    def rng(self, kind: str, record_id) -> random.Random:
        return detail_rng(self.seed, kind, record_id)

    def person(self, rng: random.Random, record_id: int, allow_empty: bool) -> tuple[str, str, str]:
        first = rng.choice(self.words.first_names)
        last = rng.choice(self.words.last_names)
        if allow_empty and rng.random() < 0.03:
            first, last = "", ""
        local = ".".join(part for part in (ascii_slug(first), ascii_slug(last)) if part) or "shopper"
        domain = rng.choice(EMAIL_DOMAINS)
        roll = rng.random()
        if roll < 0.01:
            email = f"{local}{record_id}.{domain}"
        elif roll < 0.015:
            email = f"{local}{record_id}@"
        else:
            email = f"{local}{record_id}@{domain}"
        return first, last, email

    def _span(self, rng: random.Random) -> tuple[int, int]:
        created = self.anchor - rng.randrange(TWO_YEARS)
        modified = min(self.anchor, created + int(rng.expovariate(1 / (45 * 86400))))
        return created, modified

    def customers(self, count: int) -> list[CustomerRow]:
        rng = random.Random(f"{self.seed}/customers")
        rows = []
        for customer_id in range(1, count + 1):
            first, last, email = self.person(rng, customer_id, allow_empty=False)
            created, modified = self._span(rng)
            rows.append(CustomerRow(customer_id, email, first, last, created, modified))
        return rows

    def subscribers(self, count: int, customers: list[CustomerRow]) -> list[SubscriberRow]:
        rng = random.Random(f"{self.seed}/subscribers")
        from_customers = rng.sample(customers, min(len(customers), int(count * 0.7)))
        rows = []
        for subscriber_id in range(1, count + 1):
            if subscriber_id <= len(from_customers):
                customer = from_customers[subscriber_id - 1]
                first, last, email = customer.first_name, customer.last_name, customer.email
            else:
                first, last, email = self.person(rng, 900_000_000 + subscriber_id, allow_empty=True)
            roll = rng.random()
            consents = (("marketing_newsletter",) if roll < 0.6 else
                        ("marketing_newsletter", "abandoned_cart") if roll < 0.7 else ())
            source = rng.choice(("storefront", "storefront", "order", "custom"))
            created, modified = self._span(rng)
            rows.append(SubscriberRow(subscriber_id, email, first, last, consents, source, None, created, modified))
        return rows

    def product_identity(self, product_id: int) -> tuple[str, int, str]:
        return _product_identity(self.seed, product_id)

    def products(self, count: int) -> list[ProductRow]:
        rng = random.Random(f"{self.seed}/products")
        rows = []
        for product_id in range(1, count + 1):
            name, price_cents, _ = self.product_identity(product_id)
            created, modified = self._span(rng)
            rows.append(ProductRow(product_id, name, price_cents, rng.random() >= 0.1, created, modified))
        return rows

    def orders(self, count: int, customer_count: int) -> list[OrderRow]:
        rng = random.Random(f"{self.seed}/orders")
        rows = []
        for order_id in range(1, count + 1):
            guest = customer_count == 0 or rng.random() < GUEST_SHARE
            # Squaring skews buyers: a few customers order often, many once, some never.
            customer_id = 0 if guest else 1 + int(customer_count * rng.random() ** 2)
            created, modified = self._span(rng)
            status_id = _weighted_status(rng)
            archived = rng.random() < ARCHIVED_SHARE
            if archived:
                modified = min(self.anchor, modified + rng.randrange(86400 * 30))
            rows.append(OrderRow(order_id, customer_id, status_id, created, modified, archived))
        return rows

    def carts(self, count: int, customers: list[CustomerRow], product_count: int) -> list[CartRow]:
        rng = random.Random(f"{self.seed}/carts")
        return [self.cart(rng, customers, product_count, self.anchor - rng.randrange(86400 * 20))
                for _ in range(count)]

    def cart(self, rng: random.Random, customers: list, product_count: int, when: int) -> CartRow:
        customer = rng.choice(customers) if customers and rng.random() < 0.7 else None
        email = customer.email if customer else self.person(rng, rng.randrange(10**6), allow_empty=False)[2]
        items = [(1 + rng.randrange(max(1, product_count)), 1 + rng.randrange(3)) for _ in range(1 + rng.randrange(4))]
        cart_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        return CartRow(cart_id, customer.id if customer else 0, email, "USD", when, when, items)

    def order_currency(self, order_id: int) -> tuple[str, int, str]:
        return _order_currency(self.seed, order_id)

    def line_item_count(self, rng: random.Random) -> int:
        roll = rng.random()
        if roll < 0.002:
            return rng.randrange(100, 301)
        if roll < 0.02:
            return rng.randrange(6, 60)
        return 1 + min(4, int(rng.expovariate(0.9)))

    def brand(self, product_id: int) -> str:
        return BRANDS[product_id % len(BRANDS)]
