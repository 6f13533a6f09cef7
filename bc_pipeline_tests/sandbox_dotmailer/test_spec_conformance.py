"""Every endpoint the sandbox serves answers as the official Dotdigital documents say (openapi-core)."""

from __future__ import annotations

from .helpers import contact, create_book, import_contacts, import_insight, order_record


def test_every_endpoint_validates_against_the_official_specs(live):
    api = live.api
    api.get("/v2/account-info")
    book_id = create_book(api, "Store customers")
    api.get("/v2/address-books", params={"select": 10, "skip": 0})
    api.post("/v2/data-fields", json={"name": "ORDER_COUNT", "type": "Numeric", "visibility": "Private"})
    api.get("/v2/data-fields")
    status = import_contacts(
        api,
        [
            contact("ann@example.com", [book_id], {"FIRSTNAME": "Ann", "ORDER_COUNT": 2}),
            contact("bob@example.com", [book_id], {"FIRSTNAME": "Bob", "ORDER_COUNT": "many"}),
            contact("not-an-email", [book_id]),
        ],
    )
    ann_id, bob_id = (created["contactId"] for created in status["created"])
    api.get(f"/v2/address-books/{book_id}/contacts", params={"withFullData": "true"})
    api.get(f"/v2/address-books/{book_id}/contacts", params={"withFullData": "false", "select": 1, "skip": 1})
    api.post(f"/v2/address-books/{book_id}/contacts/unsubscribe", json={"email": "bob@example.com"})
    deletion = api.post(f"/v2/address-books/{book_id}/contacts/delete", json=[ann_id]).json()
    api.get(f"/v2/contacts/deletion/{deletion['id']}")
    api.get(f"/v2/address-books/{book_id}")
    api.delete(f"/v2/address-books/{book_id}/contacts/{ann_id}")
    live.sandbox.suppress("ann@example.com")
    api.get("/v2/contacts/suppressed-since/2000-01-01T00:00:00Z")
    api.delete("/v2/data-fields/ORDER_COUNT")

    programs = api.get("/v2/programs").json()
    api.get(f"/v2/programs/{programs[0]['id']}")
    enrolment = api.post("/v2/programs/enrolments", json={"programId": programs[0]["id"], "contacts": [bob_id]}).json()
    api.get(f"/v2/programs/enrolments/{enrolment['id']}/report-faults")
    api.get(f"/v2/programs/enrolments/{enrolment['id']}")
    api.get("/v2/programs/enrolments/Finished")
    api.post("/v2/programs/enrolments", json={"programId": programs[3]["id"], "contacts": [bob_id]})
    api.post("/v2/programs/enrolments", json={"programId": 1, "contacts": [bob_id]})

    import_insight(api, "Orders", "contact", [order_record("1", "bob@example.com", total=1.5)])
    import_insight(api, "Orders", "contact", [order_record("2", "nobody@example.com", total=1.5)])
    import_insight(api, "Catalog_Default", "account", [{"key": "7", "json": {"name": "Mug"}}], "catalog")
    api.put("/insightData/v3/account/Catalog_Default/8", json={"name": "Cup"})
    api.put("/insightData/v3/contacts/email/bob@example.com/CartInsight/c1", json={"cartId": "c1"})
    api.put("/insightData/v3/contacts/email/bob@example.com/CartInsight/c1", json={"cartId": "c1"})
    api.get("/insightData/v3/collections")
    api.get("/insightData/v3/account/Catalog_Default/7")
    api.delete("/insightData/v3/account/Catalog_Default/7")
    api.delete("/insightData/v3/accounts/Catalog_Default/deleteRecords", json={"keys": ["7"]})
    api.get("/insightData/v3/contacts/email/bob@example.com/Orders/1")
    api.delete("/insightData/v3/contacts/email/bob@example.com/Orders/deleteRecords", json={"keys": ["1", "9"]})
    api.get("/insightData/v3/import/no-such-import")
    api.get("/contacts/v3/import/no-such-import")
    api.put("/contacts/v3/import", json={"contacts": []})

    unvalidated = [call for call in api.validated if not call[3]]
    assert unvalidated == [], f"calls no official document describes: {unvalidated}"
    assert {call[2] for call in api.validated} >= {200, 201, 202, 204, 400, 404, 422}


def test_wrong_credentials_get_the_real_refusal(live):
    response = live.api.get("/v2/account-info", auth=("apiuser-sandbox@apiconnector.com", "wrong"))
    assert response.status_code == 401
    assert response.json() == {"message": "Authorization has been denied for this request."}
    assert live.control("GET", "/v2/address-books").status_code == 401


def test_account_info_points_at_the_sandbox_itself(live):
    properties = {p["name"]: p["value"] for p in live.api.get("/v2/account-info").json()["properties"]}
    assert properties["ApiEndpoint"].rstrip("/") == live.url
