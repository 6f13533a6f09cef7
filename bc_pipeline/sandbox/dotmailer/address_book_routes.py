"""Address books: list, read, create, members, removing members (one or many, with the bulk job's progress)
and unsubscribing from a book."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bc_pipeline.sandbox.dotmailer.account import Account, AddressBook
from bc_pipeline.sandbox.dotmailer.errors import v2_error
from bc_pipeline.sandbox.dotmailer.http_io import bool_param, json_body, lower_keys, page
from bc_pipeline.sandbox.dotmailer.shapes import api_address_book, api_contact, iso

MAX_BOOK_NAME_LENGTH = 128
# Names the account reserves for its own books.
RESERVED_BOOK_NAMES = {"test", "all contacts"}
VISIBILITIES = {"private": "Private", "public": "Public"}


def _book(account: Account, request: Request, writable: bool = False) -> AddressBook:
    try:
        book = account.books.get(int(request.path_params["addressBookId"]))
    except ValueError:
        raise v2_error(400, "ERROR_PARAMETER_INVALID") from None
    if book is None:
        raise v2_error(404, "ERROR_ADDRESSBOOK_NOT_FOUND")
    if writable and not book.writable:
        raise v2_error(400, "ERROR_ADDRESSBOOK_NOTWRITABLE", "This address book cannot be written to.")
    return book


async def list_books(request: Request) -> JSONResponse:
    account = request.app.state.sandbox.account
    with account.lock:
        books = [api_address_book(book) for book in account.books.values()]
    return JSONResponse(page(request, books))


async def create_book(request: Request) -> JSONResponse:
    account = request.app.state.sandbox.account
    body = lower_keys(await json_body(request))
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_BOOK_NAME_LENGTH:
        raise v2_error(400, "ERROR_ADDRESSBOOK_INVALID", "The address book name is not valid.")
    visibility = VISIBILITIES.get(str(body.get("visibility") or "Private").casefold())
    if visibility is None:
        raise v2_error(400, "ERROR_PARAMETER_INVALID")
    with account.lock:
        if name.strip().casefold() in RESERVED_BOOK_NAMES or account.book_named(name) is not None:
            raise v2_error(400, "ERROR_ADDRESSBOOK_DUPLICATE", "An address book with this name already exists.")
        book = account.add_book(name.strip(), visibility)
        return JSONResponse(api_address_book(book), status_code=201)


async def book_contacts(request: Request) -> JSONResponse:
    account = request.app.state.sandbox.account
    full = bool_param(request, "withFullData")
    with account.lock:
        book = _book(account, request)
        contacts = [api_contact(account, account.contacts[member], full) for member in book.members]
    return JSONResponse(page(request, contacts))


async def remove_contact(request: Request) -> Response:
    account = request.app.state.sandbox.account
    with account.lock:
        book = _book(account, request, writable=True)
        try:
            contact_id = int(request.path_params["contactId"])
        except ValueError:
            raise v2_error(400, "ERROR_PARAMETER_INVALID") from None
        if contact_id not in account.contacts:
            raise v2_error(404, "ERROR_CONTACT_NOT_FOUND")
        book.members.pop(contact_id, None)
    return Response(status_code=204)


async def remove_contacts(request: Request) -> JSONResponse:
    account = request.app.state.sandbox.account
    contact_ids = await json_body(request)
    if not isinstance(contact_ids, list) or any(isinstance(i, bool) or not isinstance(i, int) for i in contact_ids):
        raise v2_error(400, "ERROR_PARAMETER_INVALID")
    with account.lock:
        book = _book(account, request, writable=True)
        for contact_id in contact_ids:
            book.members.pop(contact_id, None)
        deletion_id = account.new_guid()
        account.book_deletions.add(deletion_id)
    # The real call is asynchronous; the sandbox removes at once, reports the job started, and completed when asked.
    return JSONResponse({"id": deletion_id, "status": "Started"}, status_code=202)


async def deletion_progress(request: Request) -> JSONResponse:
    account = request.app.state.sandbox.account
    deletion_id = request.path_params["deletionRequestId"]
    if deletion_id not in account.book_deletions:
        raise v2_error(404, "ERROR_DELETION_REQUEST_NOT_FOUND")
    return JSONResponse({"id": deletion_id, "status": "Completed"})


async def get_book(request: Request) -> JSONResponse:
    account = request.app.state.sandbox.account
    with account.lock:
        return JSONResponse(api_address_book(_book(account, request)))


async def unsubscribe_from_book(request: Request) -> JSONResponse:
    account = request.app.state.sandbox.account
    body = lower_keys(await json_body(request))
    email = body.get("email")
    if not isinstance(email, str) or not email.strip():
        raise v2_error(400, "ERROR_CONTACT_INVALID")
    with account.lock:
        book = _book(account, request, writable=True)
        contact = account.contact_by_email(email)
        if contact is None or contact.id not in book.members:
            raise v2_error(404, "ERROR_CONTACT_NOT_FOUND")
        del book.members[contact.id]
        return JSONResponse(
            {
                "suppressedContact": api_contact(account, contact, with_full_data=False),
                "dateRemoved": iso(account.clock.now()),
                "reason": "Unsubscribed",
            }
        )


ROUTES = [
    Route("/v2/address-books", list_books, methods=["GET"]),
    Route("/v2/address-books", create_book, methods=["POST"]),
    Route("/v2/address-books/{addressBookId}", get_book, methods=["GET"]),
    Route("/v2/address-books/{addressBookId}/contacts", book_contacts, methods=["GET"]),
    Route("/v2/address-books/{addressBookId}/contacts/delete", remove_contacts, methods=["POST"]),
    Route("/v2/address-books/{addressBookId}/contacts/unsubscribe", unsubscribe_from_book, methods=["POST"]),
    Route("/v2/address-books/{addressBookId}/contacts/{contactId}", remove_contact, methods=["DELETE"]),
    Route("/v2/contacts/deletion/{deletionRequestId}", deletion_progress, methods=["GET"]),
]
