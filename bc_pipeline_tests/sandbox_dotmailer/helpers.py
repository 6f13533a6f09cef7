"""Small steps the tests repeat: create a book, run a contact or insight import to its end."""

from __future__ import annotations

MAX_POLLS = 20


def create_book(api, name: str) -> int:
    response = api.post("/v2/address-books", json={"name": name})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def contact(email: str, lists=None, data_fields=None, status=None) -> dict:
    item = {"matchIdentifier": "email", "identifiers": {"email": email}}
    if lists is not None:
        item["lists"] = lists
    if data_fields is not None:
        item["dataFields"] = data_fields
    if status is not None:
        item["channelProperties"] = {"email": {"status": status, "emailType": "html", "optInType": "single"}}
    return item


def finish_import(api, path: str, body: dict, pending: str) -> dict:
    response = api.put(path, json=body)
    assert response.status_code == 202, response.text
    import_id = response.json()["importId"]
    for _ in range(MAX_POLLS):
        status = api.get(f"{path}/{import_id}").json()
        if status["status"] != pending:
            return status
    raise AssertionError(f"import {import_id} never finished")


def import_contacts(api, contacts: list[dict], merge_option: str = "overwrite") -> dict:
    return finish_import(api, "/contacts/v3/import", {"mergeOption": merge_option, "contacts": contacts}, "NotFinished")


def import_insight(api, name: str, scope: str, records: list[dict], collection_type: str = "orders") -> dict:
    body = {"collectionName": name, "collectionScope": scope, "collectionType": collection_type, "records": records}
    return finish_import(api, "/insightData/v3/import", body, "Processing")


def order_record(key: str, email: str, **json_fields) -> dict:
    return {"key": key, "contactIdentity": {"identifier": "email", "value": email}, "json": {"id": key, **json_fields}}
