"""Programs and program enrolments."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bc_pipeline.sandbox.dotmailer.enrolment_rules import enrol
from bc_pipeline.sandbox.dotmailer.errors import v2_error
from bc_pipeline.sandbox.dotmailer.http_io import json_body, lower_keys, page
from bc_pipeline.sandbox.dotmailer.shapes import api_enrolment, api_program

ENROLMENT_STATUSES = ("Processing", "Finished")


async def list_programs(request: Request) -> JSONResponse:
    account = request.app.state.sandbox.account
    with account.lock:
        programs = [api_program(program) for program in account.programs.values()]
    return JSONResponse(page(request, programs))


async def get_program(request: Request) -> JSONResponse:
    account = request.app.state.sandbox.account
    try:
        program = account.programs.get(int(request.path_params["id"]))
    except ValueError:
        raise v2_error(400, "ERROR_PARAMETER_INVALID") from None
    if program is None:
        raise v2_error(404, "ERROR_PROGRAM_NOT_FOUND")
    return JSONResponse(api_program(program))


async def create_enrolment(request: Request) -> JSONResponse:
    sandbox = request.app.state.sandbox
    enrolment = enrol(sandbox.account, sandbox.enrolment_allowance, lower_keys(await json_body(request)))
    return JSONResponse(api_enrolment(enrolment), status_code=201)


async def get_enrolment(request: Request) -> JSONResponse:
    account = request.app.state.sandbox.account
    key = request.path_params["enrolmentId"]
    if key in ENROLMENT_STATUSES:
        with account.lock:
            matching = [api_enrolment(e) for e in account.enrolments.values() if e.status == key]
        return JSONResponse(page(request, matching))
    with account.lock:
        enrolment = account.enrolments.get(key)
        if enrolment is None:
            raise v2_error(404, "ERROR_ENROLMENT_NOT_FOUND")
        body = api_enrolment(enrolment)
        # processing takes one look: the next read finds it finished
        enrolment.status = "Finished"
    return JSONResponse(body)


async def enrolment_faults(request: Request) -> Response:
    account = request.app.state.sandbox.account
    with account.lock:
        enrolment = account.enrolments.get(request.path_params["enrolmentId"])
        if enrolment is None:
            raise v2_error(404, "ERROR_ENROLMENT_NOT_FOUND")
        if enrolment.status == "Processing":
            raise v2_error(400, "ERROR_ENROLMENT_IS_PROCESSING")
        # "Unsubcribed" is the real report's spelling
        rows = [f"{contact_id},{account.contacts[contact_id].email},,Unsubcribed" for contact_id in enrolment.unsubscribed]
    return Response("\n".join(["Id,Email,TelephoneNumber,Reason", *rows]) + "\n", media_type="text/csv")


ROUTES = [
    Route("/v2/programs", list_programs, methods=["GET"]),
    Route("/v2/programs/enrolments", create_enrolment, methods=["POST"]),
    Route("/v2/programs/enrolments/{enrolmentId}", get_enrolment, methods=["GET"]),
    Route("/v2/programs/enrolments/{enrolmentId}/report-faults", enrolment_faults, methods=["GET"]),
    Route("/v2/programs/{id}", get_program, methods=["GET"]),
]
