"""`bc-pipeline connect`, `disconnect`, `status` and `smtp-check`: the connector's life, from a terminal.

The lead registers these on the `bc-pipeline` group (`main.add_command(...)`). Secrets are read from prompts
(hidden) or options and are never echoed back.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

ENV_FILE_OPTION = click.option(
    "--env-file", type=click.Path(dir_okay=False, path_type=Path), default=Path(".env"), show_default=True,
    help="Where the credentials are kept (Dagster loads .env from its working directory).",
)


@click.command()
@click.option("--api-path", prompt="BigCommerce API path (e.g. https://api.bigcommerce.com/stores/abc123/v3/)",
              help="The API path shown with the store-level API account.")
@click.option("--client-id", prompt="BigCommerce client ID", help="The API account's client ID.")
@click.option("--access-token", prompt="BigCommerce access token", hide_input=True,
              help="The API account's access token (prompted, hidden, when not given).")
@click.option("--dotmailer-user", prompt="dotmailer API user (e.g. apiuser-…@apiconnector.com)",
              help="A dotmailer API user (Settings › Access › API users).")
@click.option("--dotmailer-password", prompt="dotmailer API password", hide_input=True,
              help="The API user's password (prompted, hidden, when not given).")
@click.option("--dotmailer-endpoint", default=None,
              help="The account's API endpoint; discovered from account-info when not given.")
@click.option("--webhook-url", default=None,
              help="Public https URL of `bc-pipeline webhooks serve`; registers the webhooks the connector uses.")
@ENV_FILE_OPTION
@click.option("--sync/--no-sync", "run_first_sync", default=True, show_default=True,
              help="Run the first full sync (order history, catalogue, contacts) once connected.")
def connect(api_path, client_id, access_token, dotmailer_user, dotmailer_password, dotmailer_endpoint,
            webhook_url, env_file: Path, run_first_sync: bool) -> None:
    """Check the BigCommerce and dotmailer credentials, store them in .env and connect the store."""
    from bc_pipeline.connection import CONNECTION_VARIABLES
    from bc_pipeline.connection import connect as connect_store
    from bc_pipeline.credential_checks import CredentialCheckFailed
    from bc_pipeline.env_file import read_env_file
    from bc_pipeline.webhook_registration import WebhookRegistrationFailed

    try:
        connected = connect_store(
            api_path, client_id, access_token, dotmailer_user, dotmailer_password,
            dotmailer_api_base_url=dotmailer_endpoint, webhook_url=webhook_url, env_path=env_file,
        )
    except CredentialCheckFailed as exc:
        click.echo(f"Not connected: {exc}. Nothing was stored.", err=True)
        raise SystemExit(1) from None
    except WebhookRegistrationFailed as exc:
        click.echo(f"The credentials were checked and stored in {env_file}, but the webhooks were not registered: "
                   f"{exc}. Run `bc-pipeline connect` again.", err=True)
        raise SystemExit(1) from None

    click.echo(f"Connected store: {connected.store.name} — {connected.store.url}")
    account = connected.dotmailer
    click.echo(f"dotmailer account: {account.name or account.id} (region {account.region_label}, "
               f"{account.api_endpoint})")
    if connected.webhooks:
        click.echo(f"Webhooks: {len(connected.webhooks)} registered to {connected.webhooks[0].destination} "
                   f"({', '.join(hook.scope for hook in connected.webhooks)}), each sending the shared secret")
    click.echo(f"Credentials saved to {env_file} (readable only by you); connector.yaml was not changed.")
    if connected.restarted:
        click.echo(f"Started again: {', '.join(connected.restarted)}")
    if account.region:
        click.echo(f"Transactional email: `bc-pipeline smtp-check --region {account.region} --username <SMTP user>`")

    if not run_first_sync:
        click.echo("Run the first full sync (order history and the visible catalogue) with: bc-pipeline sync --full")
        return
    stored = read_env_file(env_file)
    os.environ.update({name: stored[name] for name in CONNECTION_VARIABLES if name in stored})
    click.echo("Running the first full sync…")
    from bc_pipeline.cli import sync as sync_command

    click.get_current_context().invoke(sync_command, full=True)


@click.command()
@click.option("--purge", is_flag=True, help="Also delete the staged data (the DuckDB warehouse) and the webhook inbox.")
@click.option("--yes", is_flag=True, help="Do not ask before purging.")
@ENV_FILE_OPTION
def disconnect(purge: bool, yes: bool, env_file: Path) -> None:
    """Remove the connection now: stop the schedule and sensors, delete webhooks, forget the credentials."""
    from bc_pipeline.connection import disconnect as disconnect_store

    if purge and not yes:
        click.confirm("Delete the staged data and the webhook inbox as well?", abort=True)
    report = disconnect_store(purge=purge, env_path=env_file)
    click.echo("Disconnected: no further request is made to BigCommerce or dotmailer; a sync in flight stops "
               "before its next request.")
    stopped = report.stopped_schedules + report.stopped_sensors
    if stopped:
        click.echo(f"Stopped: {', '.join(stopped)}")
    elif report.instance_checked:
        click.echo("No schedule or sensor was running.")
    else:
        click.echo("DAGSTER_HOME is not set, so no Dagster schedule or sensor was touched; the disconnected "
                   "marker keeps every run from reaching the APIs.")
    if report.deleted_webhooks:
        click.echo(f"Deleted {len(report.deleted_webhooks)} webhooks.")
    if report.removed_variables:
        click.echo(f"Removed from {env_file}: {', '.join(report.removed_variables)}")
    for path in report.purged:
        click.echo(f"Deleted {path}")
    for problem in report.problems:
        click.echo(f"Warning: {problem}", err=True)
    if report.still_in_environment:
        click.echo(f"Warning: {', '.join(report.still_in_environment)} are still set in this shell's environment; "
                   "unset them.", err=True)
    click.echo("Connect again with `bc-pipeline connect`.")


@click.command()
def status() -> None:
    """Connected store, data sync on/off, last and next sync, enrolments pending, rejected rows."""
    from bc_pipeline.status import collect_status, render_status

    click.echo(render_status(collect_status()))


@click.command("smtp-check")
@click.option("--region", type=click.Choice(["r1", "r2", "r3"]), default=None,
              help="The dotdigital account's region (r1 Europe, r2 North America, r3 Asia Pacific).")
@click.option("--username", required=True, help="The transactional email SMTP user.")
@click.option("--password", prompt="SMTP password", hide_input=True, envvar="DOTDIGITAL_SMTP_PASSWORD",
              help="The SMTP user's password (prompted, hidden, when not given; or $DOTDIGITAL_SMTP_PASSWORD).")
@click.option("--port", type=click.IntRange(1, 65535), default=587, show_default=True,
              help="25, 587 or 2525 (dotdigital's STARTTLS ports); any port with --host.")
@click.option("--send-test", "send_test_to", default=None, metavar="TO", help="Send a test message to this address.")
@click.option("--host", default=None, help="Overrides the region's host (for a test server).")
@click.option("--cafile", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Trust this CA as well (for a test server's private certificate).")
def smtp_check(region, username, password, port, send_test_to, host, cafile) -> None:
    """Test the dotdigital SMTP relay (STARTTLS + AUTH) and print what to enter in BigCommerce."""
    from bc_pipeline.smtp_check import SmtpCheckFailed, bigcommerce_instructions, check_smtp, smtp_settings

    if region is None and host is None:
        raise click.UsageError("give --region (r1, r2 or r3), or --host")
    try:
        settings = smtp_settings(region, username, port, host)
        result = check_smtp(settings, password, send_test_to=send_test_to, cafile=cafile)
    except SmtpCheckFailed as exc:
        click.echo(f"SMTP check failed: {exc}", err=True)
        raise SystemExit(1) from None
    click.echo(f"SMTP check passed: {settings.host}:{settings.port} accepted STARTTLS and the login.")
    if result.test_message_to:
        click.echo(f"A test message was sent to {result.test_message_to}.")
    click.echo(bigcommerce_instructions(settings))
