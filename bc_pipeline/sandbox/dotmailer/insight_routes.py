"""Insight data v3: bulk import with status, collections, and reading, putting or deleting records by key."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bc_pipeline.sandbox.dotmailer.account import InsightCollection
from bc_pipeline.sandbox.dotmailer.errors import v3_error
from bc_pipeline.sandbox.dotmailer.http_io import json_body
from bc_pipeline.sandbox.dotmailer.import_jobs import ImportJob
from bc_pipeline.sandbox.dotmailer.insight_import import apply_insight_import, upsert_record
from bc_pipeline.sandbox.dotmailer.shapes import api_insight_record

COLLECTION_NAME = re.compile(r"^[-A-Za-z_][-A-Za-z0-9_]{1,255}$")
COLLECTION_SCOPES = ("account", "contact")
COLLECTION_TYPES = (
    "cartInsight", "catalog", "consentInsight", "custom", "easyEditorExtensions", "nostoEmailCampaigns", "orders",
    "productCategories", "webInsight", "wishList",
)
MAX_KEYS_PER_DELETE = 5000


def _require_features(sandbox, scope: str | None) -> None:
    # 400 with the v3 error body: the only refusal the spec documents for these calls
    if not sandbox.features.insight:
        raise v3_error(
            400,
            "insightData:featureNotActive",
            "ERROR_FEATURENOTACTIVE: Insight data is not enabled for this account",
            [{"item": "InsightData", "description": "Ask your account manager to enable Insight data"}],
        )
    if scope == "account" and not sandbox.features.account_insight:
        raise v3_error(
            400,
            "insightData:featureNotActive",
            "ERROR_FEATURENOTACTIVE: account-scoped Insight data (AccountInsight) is not enabled for this account",
            [{"item": "AccountInsight", "description": "Ask your account manager to enable AccountInsight"}],
        )


def _invalid(item: str, description: str):
    return v3_error(400, "insightData:validationFailed", "The request is not valid", [{"item": item, "description": description}])


def _check_import_body(sandbox, body) -> tuple[str, str, str, list[dict]]:
    if not isinstance(body, dict):
        raise v3_error(400, "insightData:badJson", "The request JSON is badly formed")
    name, scope, kind, records = (body.get(k) for k in ("collectionName", "collectionScope", "collectionType", "records"))
    if not isinstance(name, str) or not COLLECTION_NAME.match(name):
        raise v3_error(400, "insightData:invalidId", f"The collectionName value '{name}' is invalid")
    if scope not in COLLECTION_SCOPES:
        raise _invalid("collectionScope", "collectionScope must be account or contact")
    if kind not in COLLECTION_TYPES:
        raise _invalid("collectionType", f"collectionType must be one of {', '.join(COLLECTION_TYPES)}")
    _require_features(sandbox, scope)
    if not isinstance(records, list) or not records:
        raise _invalid("records", "records must be a non-empty array")
    for index, record in enumerate(records):
        if not isinstance(record, dict) or not isinstance(record.get("key"), str) or not record["key"]:
            raise _invalid(f"records[{index}].key", "key is required and must be a string")
        if not isinstance(record.get("json"), dict):
            raise _invalid(f"records[{index}].json", "json is required and must be an object")
        if scope == "contact" and not isinstance(record.get("contactIdentity"), dict):
            raise _invalid(f"records[{index}].contactIdentity", "contactIdentity is required for a contact collection")
    existing = sandbox.account.insight.get(name)
    if existing is not None and existing.scope != scope:
        raise _invalid("collectionScope", f"The collection '{name}' already exists with scope {existing.scope}")
    return name, scope, kind, records


async def start_import(request: Request) -> JSONResponse:
    sandbox = request.app.state.sandbox
    name, scope, kind, records = _check_import_body(sandbox, await json_body(request))
    if sandbox.insight_imports.active_count() >= sandbox.config.max_active_insight_imports:
        raise v3_error(429, "insightData:tooManyActiveImports", "There are too many active imports; try again later")
    job = ImportJob(
        id=sandbox.account.new_guid(),
        polls_left=sandbox.config.import_steps,
        work=lambda: apply_insight_import(sandbox.account, name, scope, kind, records),
        forced_status="Failed" if sandbox.faults.fires("import_failed") else None,
        status_fields={"collectionName": name},
    )
    sandbox.insight_imports.submit(job)
    return JSONResponse({"importId": job.id}, status_code=202)


async def import_status(request: Request) -> JSONResponse:
    sandbox = request.app.state.sandbox
    _require_features(sandbox, None)
    import_id = request.path_params["importId"]
    status = sandbox.insight_imports.poll(import_id)
    if status is None:
        raise v3_error(404, "insightData:importNotFound", f"The import request '{import_id}' could not be found!")
    return JSONResponse(status)


async def list_collections(request: Request) -> JSONResponse:
    sandbox = request.app.state.sandbox
    _require_features(sandbox, None)
    with sandbox.account.lock:
        body = [
            {
                "collectionName": c.name,
                "collectionType": c.type,
                "collectionScope": c.scope,
                "recordCount": len(c.records),
            }
            for c in sandbox.account.insight.values()
        ]
    return JSONResponse(body)


def _collection(sandbox, name: str, scope: str) -> InsightCollection:
    _require_features(sandbox, scope)
    collection = sandbox.account.insight.get(name)
    if collection is None or collection.scope != scope:
        raise v3_error(
            404, "insightData:collectionNotFound", "The collection could not be found", [{"item": name, "description": "Not found"}]
        )
    return collection


def _owner_id(sandbox, request: Request) -> int:
    identifier, value = request.path_params["identifier"], request.path_params["value"]
    contact = None
    if identifier == "email":
        contact = sandbox.account.contact_by_email(value)
    elif identifier == "contactId" and value.isdigit():
        contact = sandbox.account.contacts.get(int(value))
    if contact is None:
        raise v3_error(400, "insightData:invalidId", f"The id value '{value}' is invalid for the identifier '{identifier}'")
    return contact.id


def _record_not_found(key: str, name: str, scope: str):
    return v3_error(
        404,
        "insightData:recordNotFound",
        "The Insight data record could not be found",
        [{"item": key, "description": f"Not found in the {scope} collection '{name}'"}],
    )


async def _put_record(request: Request, scope: str, contact_identity: dict | None) -> Response:
    sandbox = request.app.state.sandbox
    name, key = request.path_params["collectionName"], request.path_params["recordId"]
    _require_features(sandbox, scope)
    if not COLLECTION_NAME.match(name):
        raise v3_error(400, "insightData:invalidId", f"The collectionName value '{name}' is invalid")
    body = await json_body(request)
    if not isinstance(body, dict):
        raise _invalid("json", "the record must be a JSON object")
    existing = sandbox.account.insight.get(name)
    if existing is not None and existing.scope != scope:
        raise _invalid("collectionName", f"The collection '{name}' already exists with scope {existing.scope}")
    record = {"key": key, "json": body, "contactIdentity": contact_identity}
    reason, details, is_new = upsert_record(sandbox.account, name, scope, record)
    if reason:
        raise v3_error(400, "insightData:validationFailed", reason, [{"item": key, "description": d} for d in details])
    return Response(status_code=201 if is_new else 204)


async def account_record(request: Request) -> Response:
    sandbox = request.app.state.sandbox
    name, key = request.path_params["collectionName"], request.path_params["recordId"]
    if request.method == "PUT":
        return await _put_record(request, "account", None)
    with sandbox.account.lock:
        collection = _collection(sandbox, name, "account")
        record = collection.records.get(key)
        if record is None:
            raise _record_not_found(key, name, "account")
        if request.method == "DELETE":
            del collection.records[key]
            return Response(status_code=204)
        return JSONResponse(api_insight_record(record))


async def contact_record(request: Request) -> Response:
    sandbox = request.app.state.sandbox
    name, key = request.path_params["collectionName"], request.path_params["recordId"]
    if request.method == "PUT":
        identity = {"identifier": request.path_params["identifier"], "value": request.path_params["value"]}
        return await _put_record(request, "contact", identity)
    with sandbox.account.lock:
        collection = _collection(sandbox, name, "contact")
        owner = _owner_id(sandbox, request)
        record = collection.records.get(key)
        if record is None or record.owner_contact_id != owner:
            raise _record_not_found(key, name, "contacts")
        if request.method == "DELETE":
            del collection.records[key]
            return Response(status_code=204)
        return JSONResponse(api_insight_record(record))


async def _keys(request: Request) -> list[str]:
    body = await json_body(request)
    keys = body.get("keys") if isinstance(body, dict) else None
    if not isinstance(keys, list) or not keys or len(keys) > MAX_KEYS_PER_DELETE:
        raise v3_error(
            400, "insightData:noRecordsSpecified", "You must speify the keys for the records to be deleted from the collection."
        )
    return [str(key) for key in keys]


def _delete_keys(collection: InsightCollection, keys: list[str], owner: int | None) -> dict:
    not_found = []
    for key in keys:
        record = collection.records.get(key)
        if record is None or (owner is not None and record.owner_contact_id != owner):
            not_found.append(key)
        else:
            del collection.records[key]
    return {
        "summary": {"totalRecords": len(keys), "totalDeleted": len(keys) - len(not_found), "totalNotFound": len(not_found)},
        "notFound": not_found,
        "failures": [],
    }


async def delete_account_records(request: Request) -> JSONResponse:
    sandbox = request.app.state.sandbox
    keys = await _keys(request)
    with sandbox.account.lock:
        collection = _collection(sandbox, request.path_params["collectionName"], "account")
        return JSONResponse(_delete_keys(collection, keys, None))


async def delete_contact_records(request: Request) -> JSONResponse:
    sandbox = request.app.state.sandbox
    keys = await _keys(request)
    with sandbox.account.lock:
        collection = _collection(sandbox, request.path_params["collectionName"], "contact")
        return JSONResponse(_delete_keys(collection, keys, _owner_id(sandbox, request)))


ROUTES = [
    Route("/insightData/v3/import", start_import, methods=["PUT"]),
    Route("/insightData/v3/import/{importId}", import_status, methods=["GET"]),
    Route("/insightData/v3/collections", list_collections, methods=["GET"]),
    Route("/insightData/v3/accounts/{collectionName}/deleteRecords", delete_account_records, methods=["DELETE"]),
    Route("/insightData/v3/account/{collectionName}/{recordId}", account_record, methods=["GET", "PUT", "DELETE"]),
    Route(
        "/insightData/v3/contacts/{identifier}/{value}/{collectionName}/deleteRecords",
        delete_contact_records,
        methods=["DELETE"],
    ),
    Route(
        "/insightData/v3/contacts/{identifier}/{value}/{collectionName}/{recordId}",
        contact_record,
        methods=["GET", "PUT", "DELETE"],
    ),
]
