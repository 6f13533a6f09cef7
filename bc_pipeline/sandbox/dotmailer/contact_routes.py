"""Contacts v3 bulk import with its asynchronous status, and the account's suppressions since a date."""

from __future__ import annotations

from datetime import datetime, timezone

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bc_pipeline.sandbox.dotmailer.contact_import import apply_import
from bc_pipeline.sandbox.dotmailer.errors import v2_error, v3_error
from bc_pipeline.sandbox.dotmailer.http_io import json_body, page
from bc_pipeline.sandbox.dotmailer.import_jobs import ImportJob
from bc_pipeline.sandbox.dotmailer.shapes import api_suppression

MERGE_OPTIONS = ("overwrite", "overwriteIfNotEmpty", "overwriteIfEmpty")


def _validation_error(item: str, description: str):
    return v3_error(400, "contacts:validationFailed", "The request is not valid", [{"item": item, "description": description}])


def _check_import_body(body) -> tuple[list[dict], str]:
    if not isinstance(body, dict):
        raise v3_error(400, "contacts:badJson", "The request JSON is badly formed")
    merge_option = body.get("mergeOption", "overwrite")
    if merge_option not in MERGE_OPTIONS:
        raise _validation_error("mergeOption", f"mergeOption must be one of {', '.join(MERGE_OPTIONS)}")
    contacts = body.get("contacts")
    if not isinstance(contacts, list) or not contacts:
        raise _validation_error("contacts", "contacts must be a non-empty array")
    for index, contact in enumerate(contacts):
        if not isinstance(contact, dict) or not isinstance(contact.get("identifiers"), dict):
            raise _validation_error(f"contacts[{index}].identifiers", "identifiers is required")
        if not contact.get("matchIdentifier"):
            raise _validation_error(f"contacts[{index}].matchIdentifier", "matchIdentifier is required")
        if contact.get("dataFields") is not None and not isinstance(contact["dataFields"], dict):
            raise _validation_error(f"contacts[{index}].dataFields", "dataFields must be an object")
        lists = contact.get("lists")
        if lists is not None and (not isinstance(lists, list) or len(lists) > 100):
            raise _validation_error(f"contacts[{index}].lists", "lists must be an array of at most 100 list ids")
    return contacts, merge_option


async def start_import(request: Request) -> JSONResponse:
    sandbox = request.app.state.sandbox
    contacts, merge_option = _check_import_body(await json_body(request))
    if sandbox.contact_imports.active_count() >= sandbox.config.max_active_contact_imports:
        raise v3_error(429, "contacts:tooManyActiveImports", "There are too many active imports; try again later")
    forced = None
    if sandbox.faults.fires("import_rejected"):
        forced = "RejectedByWatchdog"
    elif sandbox.faults.fires("import_failed"):
        forced = "Failed"
    job = ImportJob(
        id=sandbox.account.new_guid(),
        polls_left=sandbox.config.import_steps,
        work=lambda: apply_import(sandbox.account, contacts, merge_option).as_status(),
        forced_status=forced,
    )
    sandbox.contact_imports.submit(job)
    return JSONResponse({"importId": job.id}, status_code=202)


async def import_status(request: Request) -> JSONResponse:
    import_id = request.path_params["importId"]
    status = request.app.state.sandbox.contact_imports.poll(import_id)
    if status is None:
        raise v3_error(404, "contacts:importNotFound", f"The import request '{import_id}' could not be found!")
    return JSONResponse(status)


def _since(raw: str) -> datetime:
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise v2_error(400, "ERROR_PARAMETER_INVALID") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


async def suppressed_since(request: Request) -> JSONResponse:
    account = request.app.state.sandbox.account
    since = _since(request.path_params["date"])
    with account.lock:
        suppressions = sorted(
            (s for s in account.suppressions.values() if s.date_removed >= since), key=lambda s: (s.date_removed, s.contact_id)
        )
        body = [api_suppression(account, suppression) for suppression in suppressions]
    return JSONResponse(page(request, body))


ROUTES = [
    Route("/contacts/v3/import", start_import, methods=["PUT"]),
    Route("/contacts/v3/import/{importId}", import_status, methods=["GET"]),
    Route("/v2/contacts/suppressed-since/{date}", suppressed_since, methods=["GET"]),
]
