"""BigCommerce error bodies: v3 objects and v2 arrays, each with the status it is sent with."""

from __future__ import annotations

from starlette.responses import JSONResponse

STATUS_DOCS = "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"
V2_MESSAGES = {
    400: "The request was invalid.",
    401: "Unauthorized. Please check your credentials.",
    403: "You don't have a required scope to access the endpoint",
    404: "The requested resource was not found.",
    413: "The specified limit exceeds the maximum allowed.",
    429: "Too many requests.",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "The store is temporarily unavailable.",
    504: "Gateway Timeout",
}


class ApiError(Exception):
    """Raised by a handler to answer with an error in the shape of the API version it serves."""

    def __init__(self, status: int, message: str | None = None, details: dict | None = None):
        super().__init__(message or V2_MESSAGES.get(status, ""))
        self.status = status
        self.message = message or V2_MESSAGES.get(status, "")
        self.details = details


def v2_error_body(status: int, message: str | None = None, details: dict | None = None) -> list[dict]:
    error = {"status": status, "message": message or V2_MESSAGES.get(status, "")}
    if details is not None:
        error["details"] = details
    return [error]


def v3_error_body(status: int, title: str = "", errors: dict | None = None) -> dict:
    return {"status": status, "title": title, "type": STATUS_DOCS, "errors": errors or {}}


def error_response(version: str, status: int, message: str | None = None, details: dict | None = None,
                   headers: dict | None = None) -> JSONResponse:
    body = (v2_error_body(status, message, details) if version == "v2"
            else v3_error_body(status, message if message is not None else V2_MESSAGES.get(status, "")))
    return JSONResponse(body, status_code=status, headers=headers)
