"""`bc-pipeline smtp-check`: prove the dotdigital transactional-email SMTP login works, and say what to enter
in BigCommerce.

dotdigital's relay takes STARTTLS on ports 25, 587 and 2525 and a separate SMTP user (not the API user). The
check refuses to log in without STARTTLS, so a password never crosses the network in clear text, and no
message here ever contains the password.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

REGION_HOSTS = {"r1": "r1-smtp.dotdigital.com", "r2": "r2-smtp.dotdigital.com", "r3": "r3-smtp.dotdigital.com"}
STARTTLS_PORTS = (25, 587, 2525)
DEFAULT_PORT = 587
PASSWORD_PLACEHOLDER = "(the SMTP password you just tested; it is not shown here)"
BIGCOMMERCE_SCREEN = ('Store setup › Store settings › Miscellaneous, "Let me specify my own SMTP server '
                      'details"')


class SmtpCheckFailed(Exception):
    """The SMTP check failed; the message says why and what to try."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    username: str


@dataclass(frozen=True)
class SmtpCheckResult:
    settings: SmtpSettings
    test_message_to: str | None


def smtp_settings(region: str | None, username: str, port: int = DEFAULT_PORT, host: str | None = None) -> SmtpSettings:
    """dotdigital's relay for `region`; `host` (a test server) replaces it and may listen on any port."""
    if host is not None:
        return SmtpSettings(host=host, port=port, username=username)
    if region not in REGION_HOSTS:
        raise SmtpCheckFailed(f"region {region!r} is not one of r1 (Europe), r2 (North America), r3 (Asia Pacific)")
    if port not in STARTTLS_PORTS:
        raise SmtpCheckFailed(f"port {port} is not one dotdigital offers for STARTTLS; use 25, 587 or 2525")
    return SmtpSettings(host=REGION_HOSTS[region], port=port, username=username)


def check_smtp(
    settings: SmtpSettings,
    password: str,
    *,
    send_test_to: str | None = None,
    cafile: str | None = None,
    timeout_s: float = 20.0,
) -> SmtpCheckResult:
    """Connect, STARTTLS, AUTH and (with `send_test_to`) send one test message; raise `SmtpCheckFailed` if any fails."""
    where = f"{settings.host}:{settings.port}"
    try:
        tls = ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise SmtpCheckFailed(f"the CA file {cafile} could not be read: {exc.strerror or exc}") from None
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=timeout_s) as smtp:
            smtp.ehlo()
            if not smtp.has_extn("starttls"):
                raise SmtpCheckFailed(
                    f"{where} does not offer STARTTLS, so logging in would send the password unencrypted; "
                    "check the host and port (dotdigital offers STARTTLS on 25, 587 and 2525)"
                )
            smtp.starttls(context=tls)
            smtp.ehlo()
            smtp.login(settings.username, password)
            if send_test_to:
                smtp.send_message(_test_message(settings, send_test_to))
    except SmtpCheckFailed:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise SmtpCheckFailed(
            f"{where} refused the username or password ({exc.smtp_code}): use the transactional email SMTP user "
            "from dotdigital (Settings › Access › SMTP users), not the API user or your login"
        ) from None
    except smtplib.SMTPNotSupportedError:
        raise SmtpCheckFailed(f"{where} does not offer SMTP AUTH after STARTTLS: is this dotdigital's relay?") from None
    except smtplib.SMTPRecipientsRefused as exc:
        codes = ", ".join(f"{code} {reply.decode(errors='replace')}" for code, reply in exc.recipients.values())
        raise SmtpCheckFailed(
            f"the login worked, but {where} refused the test recipient {send_test_to}: {codes}"
        ) from None
    except smtplib.SMTPSenderRefused as exc:
        raise SmtpCheckFailed(
            f"the login worked, but {where} refused the sender {exc.sender}: {exc.smtp_code}"
        ) from None
    except ssl.SSLCertVerificationError as exc:
        raise SmtpCheckFailed(
            f"TLS with {where} failed: its certificate could not be verified ({exc.verify_message}); "
            "for a private test server pass its CA with --cafile"
        ) from None
    except ssl.SSLError as exc:
        raise SmtpCheckFailed(f"TLS with {where} failed ({exc.reason or exc})") from None
    except ConnectionRefusedError:
        raise SmtpCheckFailed(
            f"{where} refused the connection: check the region and port, and that no firewall blocks outgoing "
            f"port {settings.port} (many networks block 25; try 587 or 2525)"
        ) from None
    except socket.gaierror:
        raise SmtpCheckFailed(f"the SMTP host {settings.host} was not found: check the region or --host") from None
    except (TimeoutError, socket.timeout):
        raise SmtpCheckFailed(
            f"{where} did not answer within {timeout_s:g} s: a firewall may be dropping outgoing port {settings.port}"
        ) from None
    except smtplib.SMTPServerDisconnected:
        raise SmtpCheckFailed(f"{where} closed the connection unexpectedly") from None
    except smtplib.SMTPResponseException as exc:
        raise SmtpCheckFailed(f"{where} answered {exc.smtp_code}: {exc.smtp_error.decode(errors='replace')}") from None
    except smtplib.SMTPException as exc:
        raise SmtpCheckFailed(f"{where}: {exc}") from None
    except OSError as exc:
        raise SmtpCheckFailed(f"could not talk to {where}: {exc.strerror or exc}") from None
    return SmtpCheckResult(settings=settings, test_message_to=send_test_to)


def _test_message(settings: SmtpSettings, to: str) -> EmailMessage:
    message = EmailMessage()
    # dotdigital replaces an unknown From with the account's default sender, so the SMTP user is a safe choice.
    message["From"] = settings.username if "@" in settings.username else f"bc-pipeline@{settings.host}"
    message["To"] = to
    message["Subject"] = "bc-pipeline: transactional email test"
    message.set_content(
        "This message was sent by `bc-pipeline smtp-check` to prove that BigCommerce can send its transactional "
        f"email through {settings.host}:{settings.port}.\n"
    )
    return message


def bigcommerce_instructions(settings: SmtpSettings) -> str:
    """What to enter in BigCommerce, with a placeholder where the password goes."""
    return "\n".join([
        f"Enter these in BigCommerce ({BIGCOMMERCE_SCREEN}):",
        f"  SMTP server:    {settings.host}",
        f"  SMTP port:      {settings.port}",
        f"  SMTP username:  {settings.username}",
        f"  SMTP password:  {PASSWORD_PLACEHOLDER}",
    ])
