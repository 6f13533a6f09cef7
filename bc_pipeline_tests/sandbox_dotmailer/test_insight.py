"""Insight data v3: imports with status, schema typing, missing contacts, record deletes, limits, features."""

from __future__ import annotations

from .helpers import contact, import_contacts, import_insight, order_record


def test_a_contact_scoped_import_completes_and_lands_in_state(live):
    import_contacts(live.api, [contact("ann@example.com")])
    status = import_insight(live.api, "Orders", "contact", [order_record("1001", "ANN@example.com", total=12.5)])
    assert status["status"] == "Complete"
    assert status["summary"] == {"totalRecords": 1, "totalImported": 1, "totalRejected": 0}
    assert "failures" not in status
    assert live.sandbox.state()["insight"] == {
        "Orders": [
            {
                "key": "1001",
                "contactIdentity": {"identifier": "email", "value": "ANN@example.com"},
                "json": {"id": "1001", "total": 12.5},
            }
        ]
    }


def test_import_progresses_asynchronously(make_sandbox):
    live = make_sandbox(import_steps=1)
    body = {
        "collectionName": "Catalog_Default",
        "collectionScope": "account",
        "collectionType": "catalog",
        "records": [{"key": "7", "json": {"name": "Mug"}}],
    }
    import_id = live.api.put("/insightData/v3/import", json=body).json()["importId"]
    assert live.api.get(f"/insightData/v3/import/{import_id}").json()["status"] == "Processing"
    assert live.sandbox.state()["insight"] == {}
    assert live.api.get(f"/insightData/v3/import/{import_id}").json()["status"] == "Complete"
    assert [r["key"] for r in live.sandbox.state()["insight"]["Catalog_Default"]] == ["7"]


def test_records_for_missing_contacts_and_retyped_values_are_rejected(live):
    import_contacts(live.api, [contact("ann@example.com")])
    import_insight(live.api, "Orders", "contact", [order_record("1", "ann@example.com", total=10.0, lines=[{"qty": 1}])])
    status = import_insight(
        live.api,
        "Orders",
        "contact",
        [
            order_record("2", "ghost@example.com", total=5.0),
            order_record("3", "ann@example.com", total="5.00"),
            order_record("4", "ann@example.com", total=7, lines=[{"qty": "two"}]),
            order_record("5", "ann@example.com", total=9, coupon="NEW"),
        ],
    )
    reasons = {f["key"]: f["failureReason"] for f in status["failures"]}
    assert reasons == {
        "2": "ContactEmailDoesNotExist",
        "3": "JsonValueIncompatibleWithSchema",
        "4": "JsonValueIncompatibleWithSchema",
    }
    retyped = next(f for f in status["failures"] if f["key"] == "3")
    assert retyped["details"] == ["Field 'total' is expected to be a number"]
    assert retyped["collectionOwner"] == {
        "ownerType": "contact", "contactIdentity": {"identifier": "email", "value": "ann@example.com"},
    }
    assert status["summary"] == {"totalRecords": 4, "totalImported": 1, "totalRejected": 3}
    assert sorted(r["key"] for r in live.sandbox.state()["insight"]["Orders"]) == ["1", "5"]



def test_records_dotmailer_cannot_store_are_rejected_with_every_reason(live):
    long_key, long_text = "k" * 129, "x" * 5001
    status = import_insight(
        live.api,
        "Catalog_Default",
        "account",
        [
            {"key": "1", "json": {"name": "Mug", "sizes": [[1, 2]]}},
            {"key": "2", "json": {"name": long_text, "tags": ["ok", long_text]}},
            {"key": "3", "json": {"variants": [{long_key: 1, "sku": "A"}, [3]], "name": "Cup"}},
            {"key": "4", "json": {"name": "Bowl", "price": 3.5, "tags": ["a"], "stock": {"count": 2}}},
        ],
        collection_type="catalog",
    )
    failures = {f["key"]: (f["failureReason"], f["details"]) for f in status["failures"]}
    assert failures == {
        "1": ("JsonContainsNestedArray", ["Field 'sizes' contains an array inside an array"]),
        "2": ("JsonValueTooLong", ["Field 'name' is longer than 5000 characters",
                                   "Field 'tags[]' is longer than 5000 characters"]),
        "3": ("JsonKeyTooLong", [f"Field '{long_key[:40]}…' is longer than 128 characters",
                                 "Field 'variants' contains an array inside an array"]),
    }
    assert [r["key"] for r in live.sandbox.state()["insight"]["Catalog_Default"]] == ["4"]
    typed = import_insight(live.api, "Catalog_Default", "account", [
        {"key": "5", "json": {"name": "Jug", "price": "3.50", "tags": [1], "stock": {"count": True}}},
    ], collection_type="catalog")
    assert typed["failures"][0]["details"] == [
        "Field 'price' is expected to be a number", "Field 'tags[]' is expected to be a string",
        "Field 'stock.count' is expected to be a number",
    ]

def test_records_are_replaced_by_key_and_deleted(live):
    import_contacts(live.api, [contact("ann@example.com")])
    catalog = [{"key": str(k), "json": {"name": f"P{k}"}} for k in (1, 2, 3)]
    import_insight(live.api, "Catalog_Default", "account", catalog, "catalog")
    import_insight(live.api, "Catalog_Default", "account", [{"key": "1", "json": {"name": "P1 renamed"}}], "catalog")
    assert live.api.get("/insightData/v3/account/Catalog_Default/1").json()["json"] == {"name": "P1 renamed"}

    assert live.api.delete("/insightData/v3/account/Catalog_Default/1").status_code == 204
    assert live.api.delete("/insightData/v3/account/Catalog_Default/1").status_code == 404
    bulk = live.api.delete("/insightData/v3/accounts/Catalog_Default/deleteRecords", json={"keys": ["2", "9"]}).json()
    assert bulk["summary"] == {"totalRecords": 2, "totalDeleted": 1, "totalNotFound": 1}
    assert bulk["notFound"] == ["9"]
    assert [r["key"] for r in live.sandbox.state()["insight"]["Catalog_Default"]] == ["3"]

    import_insight(live.api, "Orders", "contact", [order_record("10", "ann@example.com", total=1)])
    assert live.api.delete("/insightData/v3/contacts/email/ann@example.com/Orders/10").status_code == 204
    assert live.sandbox.state()["insight"]["Orders"] == []


def test_at_most_five_insight_imports_are_active(make_sandbox):
    live = make_sandbox(import_steps=1)
    body = {"collectionName": "Catalog_Default", "collectionScope": "account", "collectionType": "catalog",
            "records": [{"key": "1", "json": {"name": "x"}}]}
    for _ in range(5):
        assert live.api.put("/insightData/v3/import", json=body).status_code == 202
    refused = live.api.put("/insightData/v3/import", json=body)
    assert (refused.status_code, refused.json()["errorCode"]) == (429, "insightData:tooManyActiveImports")


def test_features_switched_off_are_refused_plainly_and_contacts_carry_on(live):
    live.sandbox.set_feature(account_insight=False)
    account_scoped = live.api.put(
        "/insightData/v3/import",
        json={"collectionName": "Catalog_Default", "collectionScope": "account", "collectionType": "catalog",
              "records": [{"key": "1", "json": {"name": "x"}}]},
    )
    assert account_scoped.status_code == 400
    assert account_scoped.json()["errorCode"] == "insightData:featureNotActive"
    assert "AccountInsight" in account_scoped.json()["description"]

    import_contacts(live.api, [contact("ann@example.com")])
    assert import_insight(live.api, "Orders", "contact", [order_record("1", "ann@example.com")])["status"] == "Complete"

    live.control("POST", "/_sandbox/features", json={"insight": False})
    refused = live.api.put(
        "/insightData/v3/import",
        json={"collectionName": "Orders", "collectionScope": "contact", "collectionType": "orders",
              "records": [order_record("2", "ann@example.com")]},
    )
    assert (refused.status_code, refused.json()["errorCode"]) == (400, "insightData:featureNotActive")
    assert "ERROR_FEATURENOTACTIVE" in refused.json()["description"]
    assert import_contacts(live.api, [contact("bob@example.com")])["status"] == "Finished"

    live.control("POST", "/_sandbox/features", json={"insight": True, "account_insight": True})
    assert import_insight(live.api, "Orders", "contact", [order_record("2", "ann@example.com")])["status"] == "Complete"


def test_single_records_are_put_by_key_with_the_same_typing(live):
    import_contacts(live.api, [contact("ann@example.com")])
    cart = "/insightData/v3/contacts/email/ann@example.com/CartInsight/cart-1"
    assert live.api.put(cart, json={"cartId": "cart-1", "total": 9.5}).status_code == 201
    assert live.api.put(cart, json={"cartId": "cart-1", "total": 12.0}).status_code == 204
    retyped = live.api.put(cart, json={"cartId": "cart-1", "total": "12.00"})
    assert (retyped.status_code, retyped.json()["description"]) == (400, "JsonValueIncompatibleWithSchema")
    ghost = live.api.put("/insightData/v3/contacts/email/ghost@example.com/CartInsight/cart-2", json={"cartId": "2"})
    assert ghost.status_code == 400
    assert live.api.put("/insightData/v3/account/Catalog_Default/5", json={"name": "Mug"}).status_code == 201
    state = live.sandbox.state()["insight"]
    assert state["CartInsight"] == [
        {
            "key": "cart-1",
            "contactIdentity": {"identifier": "email", "value": "ann@example.com"},
            "json": {"cartId": "cart-1", "total": 12.0},
        }
    ]
    assert state["Catalog_Default"] == [{"key": "5", "contactIdentity": None, "json": {"name": "Mug"}}]
