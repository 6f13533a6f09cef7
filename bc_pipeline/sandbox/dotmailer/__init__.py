"""A loopback dotmailer (Dotdigital) account that answers as the official specs say and misbehaves on demand.

    sb = DotmailerSandbox(DotmailerSandboxConfig(seed=7), clock=SandboxClock())
    server = serve_in_thread(sb.app)
"""

from __future__ import annotations

from dataclasses import dataclass

from bc_pipeline.sandbox.clock import SandboxClock
from bc_pipeline.sandbox.dotmailer.account import Account
from bc_pipeline.sandbox.dotmailer.app import build_app
from bc_pipeline.sandbox.dotmailer.config import DotmailerSandboxConfig
from bc_pipeline.sandbox.dotmailer.enrolment_rules import EnrolmentAllowance
from bc_pipeline.sandbox.dotmailer.faults import FAULT_KINDS, FaultInjector
from bc_pipeline.sandbox.dotmailer.import_jobs import ImportJobs
from bc_pipeline.sandbox.dotmailer.request_quota import RequestQuota
from bc_pipeline.sandbox.dotmailer.request_stats import RequestStats
from bc_pipeline.sandbox.dotmailer.snapshot import account_state

__all__ = ["DotmailerSandbox", "DotmailerSandboxConfig", "FAULT_KINDS"]

SUPPRESSION_REASONS = (
    "Unsubscribed", "SoftBounced", "HardBounced", "IspComplained", "MailBlocked", "DirectComplaint", "Deleted",
    "SharedSuppression", "Suppressed", "NotAllowed", "DomainSuppression", "NoMxRecord",
)

PROGRAM_STATUSES = ("Draft", "Active", "Deactivated", "ReadOnly")


@dataclass
class AccountFeatures:
    insight: bool
    account_insight: bool


class DotmailerSandbox:
    def __init__(self, config: DotmailerSandboxConfig | None = None, clock: SandboxClock | None = None):
        self.config = config or DotmailerSandboxConfig()
        self.clock = clock or SandboxClock()
        self.account = Account(self.config.seed, self.clock)
        self.features = AccountFeatures(self.config.insight_enabled, self.config.account_insight_enabled)
        self.faults = FaultInjector(self.config.seed)
        self.quota = RequestQuota(self.config.rate_limit_per_minute, self.config.rate_limit_window_s)
        self.request_stats = RequestStats()
        self.enrolment_allowance = EnrolmentAllowance(self.config.enrolment_calls_per_hour)
        self.contact_imports = ImportJobs(pending_status="NotFinished", done_status="Finished")
        self.insight_imports = ImportJobs(pending_status="Processing", done_status="Complete")
        self.app = build_app(self)

    def state(self) -> dict:
        return account_state(self.account)

    def suppress(self, email: str, reason: str = "Unsubscribed") -> None:
        """Suppress an email account-wide, as an unsubscribe link, a bounce or a complaint would."""
        if reason not in SUPPRESSION_REASONS:
            raise ValueError(f"unknown suppression reason {reason!r}; expected one of {', '.join(SUPPRESSION_REASONS)}")
        with self.account.lock:
            contact = self.account.contact_by_email(email) or self.account.add_contact(email)
            self.account.suppress(contact, reason)

    def set_fault(self, kind: str, rate: float = 1.0, count: int | None = None) -> None:
        self.faults.set(kind, rate, count)

    def clear_faults(self) -> None:
        self.faults.clear()

    def stats(self) -> dict:
        return self.request_stats.as_dict(self.faults.served)

    def set_program_status(self, program_id: int, status: str) -> None:
        """Draft, Active, Deactivated or ReadOnly, as the account owner would switch it in the app."""
        if status not in PROGRAM_STATUSES:
            raise ValueError(f"unknown program status {status!r}; expected one of {', '.join(PROGRAM_STATUSES)}")
        with self.account.lock:
            if program_id not in self.account.programs:
                raise ValueError(f"no program has the id {program_id}")
            self.account.programs[program_id].status = status

    def set_feature(self, insight: bool | None = None, account_insight: bool | None = None) -> AccountFeatures:
        if insight is not None:
            self.features.insight = insight
        if account_insight is not None:
            self.features.account_insight = account_insight
        return self.features
