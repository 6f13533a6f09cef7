"""Error bodies in the two shapes Dotdigital uses: v2 `{"message"}` and v3 `{"errorCode","description","details"}`."""

from __future__ import annotations

from starlette.responses import JSONResponse


class ApiError(Exception):
    """Raised by a handler to answer with an error; the app turns it into the right body for the path."""

    def __init__(self, status: int, code: str, message: str, details: list[dict] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []


def v2_error(status: int, code: str, text: str | None = None) -> ApiError:
    """v2 messages end with the ERROR_* code, as the real API's do (e.g. "Error: ERROR_PROGRAM_NOT_ACTIVE")."""
    message = f"{text} {code}" if text else f"Error: {code}"
    return ApiError(status, code, message)


def v3_error(status: int, code: str, description: str, details: list[dict] | None = None) -> ApiError:
    return ApiError(status, code, description, details)


def is_v3_path(path: str) -> bool:
    return path.startswith("/contacts/v3") or path.startswith("/insightData/v3")


def error_response(path: str, error: ApiError) -> JSONResponse:
    if is_v3_path(path):
        body = {"errorCode": error.code, "description": error.message}
        if error.details:
            body["details"] = error.details
    else:
        body = {"message": error.message}
    return JSONResponse(body, status_code=error.status)


def v3_code(path: str, code: str) -> str:
    """v3 error codes carry their service's name, e.g. contacts:badJson, insightData:importNotFound."""
    service = "contacts" if path.startswith("/contacts") else "insightData"
    return f"{service}:{code}"


def too_large(path: str) -> ApiError:
    return ApiError(413, v3_code(path, "requestTooLarge"), "The request is larger than the 50 MB allowed.")


def plain_error(path: str, status: int, message: str, code: str, headers: dict | None = None) -> JSONResponse:
    """An error raised outside a handler (auth, size, quota, injected faults)."""
    if is_v3_path(path):
        body = {"errorCode": v3_code(path, code), "description": message}
    else:
        body = {"message": message}
    return JSONResponse(body, status_code=status, headers=headers)
