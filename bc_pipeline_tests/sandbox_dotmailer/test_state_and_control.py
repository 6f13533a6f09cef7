"""The control API's shapes, which outside checks rely on."""

from __future__ import annotations

from .helpers import contact, create_book, import_contacts, import_insight, order_record


def test_state_has_exactly_the_documented_shape(live):
    book_id = create_book(live.api, "Store customers")
    created = import_contacts(live.api, [contact("ann@example.com", [book_id], {"FIRSTNAME": "Ann"})])["created"]
    import_insight(live.api, "Orders", "contact", [order_record("1", "ann@example.com", total=1)])
    program_id = live.api.get("/v2/programs").json()[0]["id"]
    live.api.post("/v2/programs/enrolments", json={"programId": program_id, "contacts": [created[0]["contactId"]]})
    live.control("POST", "/_sandbox/suppress", json={"email": "gone@example.com"})

    state = live.control("GET", "/_sandbox/state").json()
    assert set(state) == {"address_books", "contacts", "insight", "programs", "enrolments", "suppressions"}
    customers = next(b for b in state["address_books"] if b["name"] == "Store customers")
    assert set(customers) == {"id", "name", "contacts"}
    assert customers["contacts"] == [
        {"id": created[0]["contactId"], "email": "ann@example.com", "status": "Subscribed", "dataFields": {"FIRSTNAME": "Ann"}}
    ]
    assert {c["email"]: c["status"] for c in state["contacts"]} == {
        "ann@example.com": "Subscribed", "gone@example.com": "Unsubscribed",
    }
    assert set(state["insight"]["Orders"][0]) == {"key", "contactIdentity", "json"}
    assert all(set(p) == {"id", "name", "status"} for p in state["programs"])
    assert set(state["enrolments"][0]) == {"id", "programId", "contacts", "status"}
    assert [set(s) for s in state["suppressions"]] == [{"email", "dateRemoved", "reason"}]
    assert state == live.sandbox.state()


def test_the_account_starts_with_the_real_defaults(live):
    fields = {f["name"]: f["type"] for f in live.api.get("/v2/data-fields").json()}
    assert fields == {
        "FIRSTNAME": "String", "LASTNAME": "String", "FULLNAME": "String", "GENDER": "String", "POSTCODE": "String",
        "LASTSUBSCRIBED": "Date",
    }
    assert [b["name"] for b in live.api.get("/v2/address-books").json()] == ["Test"]


def test_data_field_name_rules(live):
    def create(name, field_type="String"):
        return live.api.post("/v2/data-fields", json={"name": name, "type": field_type})

    assert create("TOTAL_SPEND", "Numeric").status_code == 201
    assert create("total_spend", "Numeric").json() == {"message": "Field already exists. ERROR_NON_UNIQUE_DATAFIELD"}
    assert create("A" * 21).status_code == 400
    assert create("has space").status_code == 400
    assert create("email").json()["message"].endswith("ERROR_DATAFIELD_NAME_RESERVED")
    assert create("FLAG", "Colour").status_code == 400
    assert live.api.delete("/v2/data-fields/TOTAL_SPEND").json() == {"dependencies": [], "result": True}
    assert live.api.delete("/v2/data-fields/TOTAL_SPEND").status_code == 404


def test_address_book_rules_and_paging(live):
    for name in ("One", "Two", "Three"):
        create_book(live.api, name)
    duplicate = live.api.post("/v2/address-books", json={"name": "one"})
    assert duplicate.json()["message"].endswith("ERROR_ADDRESSBOOK_DUPLICATE")
    assert live.api.post("/v2/address-books", json={"name": "Test"}).status_code == 400
    names = [b["name"] for b in live.api.get("/v2/address-books", params={"select": 2, "skip": 1}).json()]
    assert names == ["One", "Two"]
    assert live.api.get("/v2/address-books", params={"select": 1001}).status_code == 400
    test_book = next(b["id"] for b in live.api.get("/v2/address-books").json() if b["name"] == "Test")
    refused = live.api.post(f"/v2/address-books/{test_book}/contacts/delete", json=[1])
    assert refused.json()["message"].endswith("ERROR_ADDRESSBOOK_NOTWRITABLE")


def test_removing_contacts_from_a_book_one_or_many(live):
    book_id = create_book(live.api, "Store customers")
    ids = [c["contactId"] for c in import_contacts(
        live.api, [contact(f"{n}@example.com", [book_id]) for n in ("a", "b", "c")]
    )["created"]]
    assert live.api.delete(f"/v2/address-books/{book_id}/contacts/{ids[0]}").status_code == 204
    deletion = live.api.post(f"/v2/address-books/{book_id}/contacts/delete", json=ids[1:2])
    assert (deletion.status_code, deletion.json()["status"]) == (202, "Started")
    assert live.api.get(f"/v2/contacts/deletion/{deletion.json()['id']}").json()["status"] == "Completed"
    assert live.api.get(f"/v2/address-books/{book_id}").json()["contacts"] == 1
    members = live.api.get(f"/v2/address-books/{book_id}/contacts", params={"withFullData": "true"}).json()
    assert [m["email"] for m in members] == ["c@example.com"]
    assert len(live.sandbox.state()["contacts"]) == 3
