"""Fixed pools of names, places and product words the generator draws from.

Faker is asked once, under a fixed seed, for a few hundred values per locale; the generator then picks from these
pools by index. That keeps rendering a million records cheap and every pick reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from faker import Faker

COUNTRIES = {
    "en_US": ("United States", "US"),
    "de_DE": ("Germany", "DE"),
    "fr_FR": ("France", "FR"),
    "ja_JP": ("Japan", "JP"),
    "es_ES": ("Spain", "ES"),
    "pl_PL": ("Poland", "PL"),
}

ADJECTIVES = ["Classic", "Organic", "Vintage", "Deluxe", "Compact", "Smart", "Rustic", "Premium", "Handmade", "Eco",
              "Ultra", "Mini", "Heavy-Duty", "Wireless", "Café", "Nordic", "Zen", "Über"]
MATERIALS = ["Cotton", "Oak", "Steel", "Linen", "Ceramic", "Bamboo", "Leather", "Wool", "Glass", "Copper", "Marble"]
NOUNS = ["Mug", "Chair", "Lamp", "Backpack", "Scarf", "Teapot", "Notebook", "Blanket", "Candle", "Watch", "Bowl",
         "Headphones", "Jacket", "Planter", "Sneakers", "Desk", "Kettle", "Umbrella"]
BRANDS = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Tyrell"]
EMAIL_DOMAINS = ["example.com", "example.org", "example.net", "mail.example", "shop.example"]


@dataclass(frozen=True)
class Place:
    street: str
    city: str
    state: str
    postal_code: str
    country: str
    country_code: str


@dataclass(frozen=True)
class Vocabulary:
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    companies: tuple[str, ...]
    places: tuple[Place, ...]


def _state(fake: Faker) -> str:
    for provider in ("state", "region", "prefecture", "administrative_unit"):
        if hasattr(fake, provider):
            return getattr(fake, provider)()
    return ""


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    first, last, companies, places = [], [], [], []
    for locale, (country, code) in COUNTRIES.items():
        fake = Faker(locale)
        fake.seed_instance(2024)
        first += [fake.first_name() for _ in range(70)]
        last += [fake.last_name() for _ in range(70)]
        companies += [fake.company() for _ in range(15)]
        places += [
            Place(fake.street_address(), fake.city(), _state(fake), fake.postcode(), country, code) for _ in range(40)
        ]
    return Vocabulary(tuple(first), tuple(last), tuple(companies), tuple(places))
