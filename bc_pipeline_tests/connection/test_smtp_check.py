"""`bc-pipeline smtp-check` against a real local SMTP server (aiosmtpd) with STARTTLS and AUTH."""

from __future__ import annotations

import ssl

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from click.testing import CliRunner

from bc_pipeline.cli_connection import smtp_check
from bc_pipeline.smtp_check import SmtpCheckFailed, smtp_settings
from bc_pipeline_tests.ports import free_port

SMTP_USER = "smtp-user@apiconnector.com"
SMTP_PASSWORD = "smtp-Pw-SECRET-8812"


class Mailbox:
    """The test server's handler: keeps every message it accepts."""

    def __init__(self):
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


def _authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        SMTP_USER.encode(), SMTP_PASSWORD.encode())
    # handled=False makes aiosmtpd answer 535 itself, as a real relay does.
    return AuthResult(success=ok, handled=False)


@pytest.fixture(scope="module")
def certificate_authority(tmp_path_factory):
    ca = trustme.CA()
    cafile = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    return ca, str(cafile)


def _start_server(tls_context):
    mailbox = Mailbox()
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=free_port(), tls_context=tls_context,
        require_starttls=tls_context is not None, authenticator=_authenticate, auth_required=tls_context is not None,
        auth_require_tls=tls_context is not None,
    )
    controller.start()
    return controller, mailbox


@pytest.fixture
def smtp_server(certificate_authority):
    ca, cafile = certificate_authority
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(tls)
    controller, mailbox = _start_server(tls)
    yield controller, mailbox, cafile
    controller.stop()


def _check(*args: str):
    return CliRunner().invoke(smtp_check, list(args))


def test_the_check_logs_in_over_starttls_sends_a_test_and_prints_the_bigcommerce_settings(smtp_server):
    controller, mailbox, cafile = smtp_server

    port = str(controller.port)
    result = _check("--region", "r1", "--host", "127.0.0.1", "--port", port, "--username", SMTP_USER,
                    "--password", SMTP_PASSWORD, "--cafile", cafile, "--send-test", "owner@shop.example")

    assert result.exit_code == 0, result.output
    assert "accepted STARTTLS and the login" in result.output
    assert "A test message was sent to owner@shop.example" in result.output
    assert "Let me specify my own SMTP server details" in result.output
    assert "SMTP server:    127.0.0.1" in result.output
    assert f"SMTP port:      {port}" in result.output
    assert f"SMTP username:  {SMTP_USER}" in result.output
    assert SMTP_PASSWORD not in result.output
    assert [envelope.rcpt_tos for envelope in mailbox.messages] == [["owner@shop.example"]]
    assert b"Subject: bc-pipeline: transactional email test" in mailbox.messages[0].content


def test_the_region_picks_dotdigitals_host_and_only_its_starttls_ports():
    assert smtp_settings("r2", SMTP_USER).host == "r2-smtp.dotdigital.com"
    assert smtp_settings("r3", SMTP_USER, 2525).port == 2525
    with pytest.raises(SmtpCheckFailed, match="use 25, 587 or 2525"):
        smtp_settings("r1", SMTP_USER, 465)


def test_a_wrong_password_is_reported_plainly(smtp_server):
    controller, mailbox, cafile = smtp_server

    result = _check("--host", "127.0.0.1", "--port", str(controller.port), "--username", SMTP_USER,
                    "--password", "not-it", "--cafile", cafile, "--send-test", "owner@shop.example")

    assert result.exit_code == 1
    assert "refused the username or password (535)" in result.output
    assert "not-it" not in result.output
    assert mailbox.messages == []


def test_a_refused_connection_is_reported_plainly():
    result = _check("--host", "127.0.0.1", "--port", str(free_port()), "--username", SMTP_USER,
                    "--password", SMTP_PASSWORD)

    assert result.exit_code == 1
    assert "refused the connection" in result.output


def test_an_untrusted_certificate_is_a_tls_failure(smtp_server):
    controller, _, _ = smtp_server
    result = _check("--host", "127.0.0.1", "--port", str(controller.port), "--username", SMTP_USER,
                    "--password", SMTP_PASSWORD)

    assert result.exit_code == 1
    assert "certificate could not be verified" in result.output
    assert "--cafile" in result.output


def test_a_server_without_starttls_is_refused_before_the_login():
    controller, _ = _start_server(None)
    try:
        result = _check("--host", "127.0.0.1", "--port", str(controller.port), "--username", SMTP_USER,
                        "--password", SMTP_PASSWORD)
    finally:
        controller.stop()

    assert result.exit_code == 1
    assert "does not offer STARTTLS" in result.output
