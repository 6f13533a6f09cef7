"""Contact data fields: list, create (name rules, types, uniqueness) and delete."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bc_pipeline.sandbox.dotmailer.account import DataField
from bc_pipeline.sandbox.dotmailer.data_field_rules import FIELD_TYPES, InvalidValue, coerce, name_problem
from bc_pipeline.sandbox.dotmailer.errors import v2_error
from bc_pipeline.sandbox.dotmailer.http_io import json_body, lower_keys
from bc_pipeline.sandbox.dotmailer.shapes import api_data_field

VISIBILITIES = {"private": "Private", "public": "Public"}
_TYPES_BY_WORD = {field_type.casefold(): field_type for field_type in FIELD_TYPES}


async def list_fields(request: Request) -> JSONResponse:
    account = request.app.state.sandbox.account
    with account.lock:
        return JSONResponse([api_data_field(data_field) for data_field in account.data_fields.values()])


async def create_field(request: Request) -> JSONResponse:
    account = request.app.state.sandbox.account
    body = lower_keys(await json_body(request))
    name = body.get("name")
    problem = name_problem(name)
    if problem:
        raise v2_error(400, problem, "Data field names are up to 20 letters, digits, '-' or '_' and not reserved.")
    field_type = _TYPES_BY_WORD.get(str(body.get("type") or "String").casefold())
    if field_type is None:
        raise v2_error(400, "ERROR_DATAFIELD_TYPE_INVALID", "The type must be String, Numeric, Date or Boolean.")
    visibility = VISIBILITIES.get(str(body.get("visibility") or "Private").casefold())
    if visibility is None:
        raise v2_error(400, "ERROR_PARAMETER_INVALID")
    try:
        default_value = coerce(field_type, body.get("defaultvalue"))
    except InvalidValue:
        raise v2_error(400, "ERROR_DATAFIELD_DEFAULT_INVALID", "The default value does not fit the type.") from None
    with account.lock:
        if account.data_field(name) is not None:
            raise v2_error(400, "ERROR_NON_UNIQUE_DATAFIELD", "Field already exists.")
        # Dotdigital shows and matches data field names in upper case
        data_field = DataField(name.upper(), field_type, visibility, default_value)
        account.data_fields[data_field.name] = data_field
        return JSONResponse(api_data_field(data_field), status_code=201)


async def delete_field(request: Request) -> JSONResponse:
    account = request.app.state.sandbox.account
    with account.lock:
        data_field = account.data_field(request.path_params["name"])
        if data_field is None:
            raise v2_error(404, "ERROR_DATAFIELD_NOTFOUND")
        del account.data_fields[data_field.name]
        for contact in account.contacts.values():
            contact.data_fields.pop(data_field.name, None)
    return JSONResponse({"dependencies": [], "result": True})


ROUTES = [
    Route("/v2/data-fields", list_fields, methods=["GET"]),
    Route("/v2/data-fields", create_field, methods=["POST"]),
    Route("/v2/data-fields/{name}", delete_field, methods=["DELETE"]),
]
