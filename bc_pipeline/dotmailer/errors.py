"""Exceptions raised by the dotmailer client.

Every message names the operation and dotmailer's own error code so a store owner or data engineer can act on
it; none carries credentials, the Authorization header or request bodies.
"""

from __future__ import annotations


class DotmailerError(Exception):
    """Base class for everything the dotmailer client raises."""


class InsecureEndpoint(DotmailerError, ValueError):
    """An API base URL that would send the API password in clear text."""


class DotmailerApiError(DotmailerError):
    """dotmailer refused a request (4xx other than 429).

    `code` is dotmailer's `ERROR_*` code (v2) or `errorCode` (v3, e.g. `contacts:badJson`) when the response
    carried one.
    """

    def __init__(self, operation: str, status: int, code: str | None, description: str):
        self.operation = operation
        self.status = status
        self.code = code
        self.description = description
        code_part = f" {code}" if code else ""
        super().__init__(f"dotmailer {operation} failed (HTTP {status}{code_part}): {description}")


class DotmailerAuthError(DotmailerApiError):
    """The API user or password was rejected, or the account is on another region."""


class DotmailerUnavailable(DotmailerError):
    """dotmailer kept failing (5xx, timeouts, resets, 429) after every retry allowed."""


class RateLimited(DotmailerError):
    """HTTP 429 for a caller that asked not to wait; `reset_seconds` is dotmailer's announced wait, if any."""

    def __init__(self, operation: str, reset_seconds: float | None):
        self.operation = operation
        self.reset_seconds = reset_seconds
        super().__init__(f"dotmailer {operation}: rate limited (HTTP 429)")


class InsightNotEnabled(DotmailerApiError):
    """Insight data (or account Insight) is not enabled on the dotmailer account."""

    def __init__(self, operation: str, status: int, code: str | None, description: str):
        super().__init__(
            operation,
            status,
            code,
            f"{description} (Insight data is not enabled on this dotmailer account: ask your Dotdigital account "
            "manager to enable Insight data and account Insight (AccountInsight))",
        )


class EnrolmentRefused(DotmailerApiError):
    """An enrolment dotmailer refused for now.

    `enrolled` holds the enrolments accepted before the refusal and `pending_contact_ids` the contacts still to
    enrol, so the caller can record what went through and try the rest later.
    """

    def __init__(self, operation: str, status: int, code: str | None, description: str):
        super().__init__(operation, status, code, description)
        self.enrolled: list = []
        self.pending_contact_ids: list[int] = []


class ProgramNotActive(EnrolmentRefused):
    """The program exists but is not Active, so it accepts no enrolment; retry once it is activated."""


class EnrolmentAllowanceExceeded(EnrolmentRefused):
    """The account used its 20 program-enrolment calls for this hour; retry in the next window."""


class InvalidDataField(DotmailerError, ValueError):
    """A data field definition dotmailer would refuse (name, reserved name or type)."""


class InvalidAddressBookName(DotmailerError, ValueError):
    """An address book name dotmailer reserves or refuses."""
