"""Settings of one sandbox dotmailer account: credentials, seed and the limits it enforces."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DotmailerSandboxConfig:
    api_user: str = "apiuser-sandbox@apiconnector.com"
    api_password: str = "sandbox-password"
    seed: int = 7
    # How many status polls an import answers "not finished" before it finishes (0 = finished at once).
    import_steps: int = 1
    # None = unlimited; otherwise 429 past N requests in a rolling window of real time.
    rate_limit_per_minute: int | None = None
    rate_limit_window_s: float = 60.0
    enrolment_calls_per_hour: int = 20
    insight_enabled: bool = True
    account_insight_enabled: bool = True
    max_active_contact_imports: int = 25
    max_active_insight_imports: int = 5
    max_request_bytes: int = 50 * 1024 * 1024
