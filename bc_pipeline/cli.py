"""The `bc-pipeline` command."""

from __future__ import annotations

from pathlib import Path

import click

from bc_pipeline.cli_connection import connect, disconnect, smtp_check, status


@click.group()
def main() -> None:
    """Keep a BigCommerce store and a dotmailer account in step."""


@main.group()
def sandbox() -> None:
    """Emulated BigCommerce and dotmailer APIs on 127.0.0.1, for the demo and the tests."""


@sandbox.command("serve")
@click.option("--bigcommerce-port", type=int, default=0, show_default=True, help="0 picks a free port.")
@click.option("--dotmailer-port", type=int, default=0, show_default=True, help="0 picks a free port.")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--customers", type=int, default=200, show_default=True)
@click.option("--orders", type=int, default=600, show_default=True)
@click.option("--products", type=int, default=60, show_default=True)
@click.option("--subscribers", type=int, default=150, show_default=True)
@click.option("--latency-ms", type=int, default=0, show_default=True)
@click.option("--quota", type=int, default=150, show_default=True, help="BigCommerce requests per window.")
@click.option("--window-ms", type=int, default=30000, show_default=True)
@click.option("--activity-per-minute", type=float, default=0.0, show_default=True)
@click.option("--env-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the env vars that point the pipeline at the sandbox here.")
def sandbox_serve(bigcommerce_port, dotmailer_port, seed, customers, orders, products, subscribers, latency_ms,
                  quota, window_ms, activity_per_minute, env_file) -> None:
    """Run both sandbox APIs in the foreground until stopped (SIGTERM/SIGINT)."""
    from bc_pipeline.sandbox.bigcommerce import BigCommerceSandboxConfig
    from bc_pipeline.sandbox.dotmailer import DotmailerSandboxConfig
    from bc_pipeline.sandbox.serve import serve_until_stopped, start_sandboxes

    pair = start_sandboxes(
        BigCommerceSandboxConfig(
            seed=seed, customers=customers, orders=orders, products=products, subscribers=subscribers,
            latency_ms=latency_ms, quota=quota, window_ms=window_ms, activity_per_minute=activity_per_minute,
        ),
        DotmailerSandboxConfig(seed=seed),
        bigcommerce_port=bigcommerce_port,
        dotmailer_port=dotmailer_port,
    )

    def announce(p) -> None:
        click.echo(f"BigCommerce sandbox: {p.bigcommerce_server.url}/stores/{p.bigcommerce.config.store_hash}/v3")
        click.echo(f"dotmailer sandbox:   {p.dotmailer_server.url}")
        if env_file:
            click.echo(f"environment written to {env_file}")

    serve_until_stopped(pair, env_file, announce)


def _print_summary(summary, book_names: dict[str, str | None]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    streams = Table(title="BigCommerce → DuckDB staging")
    for column in ("stream", "rows staged this run", "rows in staging", "requests", "429s"):
        streams.add_column(column, justify="right" if column != "stream" else "left")
    for name, meta in sorted(summary.streams.items()):
        streams.add_row(name, str(meta.get("rows_staged", "")), str(meta.get("dagster/row_count", "")),
                        str(meta.get("requests", "")), str(meta.get("rate_limited_429s", "")))
    console.print(streams)
    books = Table(title="DuckDB → dotmailer address books")
    for column in ("address book", "sent", "created", "updated", "failed", "removed"):
        books.add_column(column, justify="right" if column != "address book" else "left")
    insight = Table(title="DuckDB → dotmailer Insight")
    for column in ("collection", "sent", "imported", "deleted", "failed", "records held"):
        insight.add_column(column, justify="right" if column != "collection" else "left")
    for key, meta in sorted(summary.loads.items()):
        if key.endswith("_book"):
            label = book_names.get(key) or f"{key} (none)"
            books.add_row(label, *(str(meta.get(k, "")) for k in ("contacts_sent", "created", "updated", "failed",
                                                                   "removed_from_book")))
        elif meta.get("insight_enabled") is False:
            insight.add_row(key, "Insight is not enabled on this dotmailer account", "", "", "", "")
        else:
            insight.add_row(key, *(str(meta.get(k, "")) for k in ("sent", "imported", "deleted", "failed",
                                                                   "records_in_collection")))
    steps = Table(title="Time by step")
    steps.add_column("step")
    steps.add_column("seconds", justify="right")
    for step, seconds in summary.step_seconds.items():
        steps.add_row(step, f"{seconds:.1f}")
    console.print(books, insight, steps)


def _sync_once(full: bool, as_json: bool) -> int:
    from bc_pipeline.definitions import defs
    from bc_pipeline.settings import load_settings
    from bc_pipeline.sync_runner import run_sync

    settings = load_settings()
    summary = run_sync(defs, full=full)
    if as_json:
        import dataclasses
        import json

        # Metadata may hold timestamps; as text they still say what they are.
        click.echo(json.dumps(dataclasses.asdict(summary), default=str))
    else:
        _print_summary(summary, {"customers_book": settings.customers_address_book,
                                 "subscribers_book": settings.subscribers_address_book})
    if not summary.success:
        click.echo(f"sync failed: {summary.failure}", err=True)
        return 1
    if not as_json:
        click.echo("sync succeeded")
    return 0


@main.command()
@click.argument("switch", required=False, type=click.Choice(["on", "off"]))
@click.option("--full", is_flag=True, help="Ignore watermarks and re-read everything.")
@click.option("--json", "as_json", is_flag=True,
              help="Print what the sync moved and each step's seconds as one JSON object, for scripts and monitoring.")
def sync(switch: str | None, full: bool, as_json: bool) -> None:
    """Run one sync now, in the foreground (exit status 0 only if it succeeded); `sync on|off` switches the
    5-minute data sync instead."""
    if switch is None:
        raise SystemExit(_sync_once(full, as_json))
    _switch_data_sync(switch == "on")


def _switch_data_sync(on: bool) -> None:
    import dagster as dg

    from bc_pipeline import instigators
    from bc_pipeline.automation import SYNC_SCHEDULE
    from bc_pipeline.settings import set_data_sync, settings_path

    set_data_sync(on)
    click.echo(f"data sync is {'on' if on else 'off'} in {settings_path()}")
    if not instigators.instance_configured():
        click.echo("DAGSTER_HOME is not set: the schedule follows connector.yaml on its next tick")
        return
    with dg.DagsterInstance.get() as instance:
        change = instigators.start if on else instigators.stop
        changed = change(instance, [SYNC_SCHEDULE], [])
    if changed.schedules:
        click.echo(f"schedule {SYNC_SCHEDULE} {'started' if on else 'stopped'}")


@main.command()
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--customers", type=int, default=200, show_default=True)
@click.option("--orders", type=int, default=600, show_default=True)
@click.option("--products", type=int, default=60, show_default=True)
@click.option("--subscribers", type=int, default=150, show_default=True)
def demo(seed, customers, orders, products, subscribers) -> None:
    """Start both sandboxes, run a full sync against them, print a summary, stop them."""
    import os
    import shutil

    from bc_pipeline.paths import pipeline_home
    from bc_pipeline.sandbox.bigcommerce import BigCommerceSandboxConfig
    from bc_pipeline.sandbox.dotmailer import DotmailerSandboxConfig
    from bc_pipeline.sandbox.serve import start_sandboxes

    home = pipeline_home() / "demo"
    shutil.rmtree(home, ignore_errors=True)
    pair = start_sandboxes(
        BigCommerceSandboxConfig(seed=seed, customers=customers, orders=orders, products=products,
                                 subscribers=subscribers),
        DotmailerSandboxConfig(seed=seed, import_steps=1),
    )
    try:
        os.environ.update(pair.env())
        os.environ["BC_PIPELINE_HOME"] = str(home)
        click.echo(f"sandboxes up: BigCommerce {pair.bigcommerce_server.url}, dotmailer {pair.dotmailer_server.url}")
        status = _sync_once(full=True)
        state = pair.dotmailer.state()
        for book in state["address_books"]:
            click.echo(f"dotmailer address book '{book['name']}' now holds {len(book['contacts'])} contacts")
    finally:
        pair.stop()
    raise SystemExit(status)


@main.group()
def mapping() -> None:
    """The field mapping from BigCommerce to dotmailer data fields (connector.yaml: field_mapping)."""


@mapping.command("show")
def mapping_show() -> None:
    """Print the mapping in force and every source a mapping can use."""
    from rich.console import Console
    from rich.table import Table

    from bc_pipeline.settings import load_settings
    from bc_pipeline.transform.contact_sources import (
        ATTRIBUTE_SOURCES,
        CONTACT_SOURCES,
        FORM_FIELD_SOURCES,
        contact_source,
    )

    settings = _settings_or_exit(load_settings)
    mapped = Table(title="Field mapping (dotmailer data field ← BigCommerce source)")
    for column in ("data field", "source", "type"):
        mapped.add_column(column)
    for target, source in sorted(settings.field_mapping.items()):
        mapped.add_row(target, source, contact_source(source).data_type)
    sources = Table(title="Available sources")
    for column in ("source", "type", "what it is"):
        sources.add_column(column)
    for source in (*CONTACT_SOURCES.values(), FORM_FIELD_SOURCES, ATTRIBUTE_SOURCES):
        sources.add_row(source.name, source.data_type, source.description)
    Console().print(mapped, sources)


@mapping.command("validate")
@click.option("--offline", is_flag=True, help="Check connector.yaml only, without asking dotmailer.")
def mapping_validate(offline: bool) -> None:
    """Check the mapping, and (unless --offline) that it fits the dotmailer account's data fields."""
    from bc_pipeline.load.data_fields import check_mapping
    from bc_pipeline.settings import load_settings

    settings = _settings_or_exit(load_settings)
    click.echo(f"connector.yaml maps {len(settings.field_mapping)} data fields: names and sources are valid")
    if offline:
        return
    check = check_mapping(_dotmailer_client(), settings.field_mapping, create_missing=False)
    if check.problems:
        click.echo("the mapping does not fit this dotmailer account:", err=True)
        for problem in check.problems:
            click.echo(f"  - {problem}", err=True)
        raise SystemExit(1)
    click.echo("every mapped data field exists in dotmailer with a fitting type")


def _settings_or_exit(load):
    from bc_pipeline.settings import SettingsError

    try:
        return load()
    except SettingsError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(2) from None


def _dotmailer_client():
    import os

    from bc_pipeline.resources import DotmailerResource

    missing = [name for name in ("DOTMAILER_API_USER", "DOTMAILER_API_PASSWORD") if not os.environ.get(name)]
    if missing:
        click.echo(f"set {' and '.join(missing)} (or run `bc-pipeline connect`)", err=True)
        raise SystemExit(2)
    return DotmailerResource(
        api_user=os.environ["DOTMAILER_API_USER"], api_password=os.environ["DOTMAILER_API_PASSWORD"]
    ).client()


@main.group()
def webhooks() -> None:
    """The receiver for BigCommerce webhooks (deletes, archived orders, abandoned carts)."""


@webhooks.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8765, show_default=True)
@click.option("--certfile", type=click.Path(exists=True, dir_okay=False), default=None,
              help="TLS certificate; BigCommerce delivers only to https on port 443.")
@click.option("--keyfile", type=click.Path(exists=True, dir_okay=False), default=None)
def webhooks_serve(host: str, port: int, certfile, keyfile) -> None:
    """Receive webhooks into the inbox ($BC_PIPELINE_HOME/inbox.sqlite); needs $BC_WEBHOOK_SECRET."""
    import os

    from bc_pipeline.paths import inbox_path
    from bc_pipeline.webhooks import serve_receiver

    secret = os.environ.get("BC_WEBHOOK_SECRET")
    if not secret:
        click.echo("set BC_WEBHOOK_SECRET (written to .env by `bc-pipeline connect --webhook-url`)", err=True)
        raise SystemExit(2)
    serve_receiver(host, port, inbox_path(), secret, ssl_certfile=certfile, ssl_keyfile=keyfile)


for _command in (connect, disconnect, status, smtp_check):
    main.add_command(_command)

if __name__ == "__main__":
    main()
